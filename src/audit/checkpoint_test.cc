#include "audit/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "store/testing/temp_dir.h"

namespace switchboard::audit {
namespace {

using ::switchboard::store::testing::ScopedTempDir;

Checkpoint Sample() {
  Checkpoint cp;
  cp.tree_size = 8;
  cp.root = HashFromHex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328").value();
  cp.time = 1'764'000'000'000'000;
  cp.previous_size = 5;
  return cp;
}

TEST(CheckpointTest, CanonicalText) {
  Checkpoint cp = Sample();
  cp.key_id = "0123456789abcdef";
  EXPECT_EQ(cp.Encode(),
            "switchboard-audit/v1\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
            "1764000000000000\n5\n0123456789abcdef\n");
}

TEST(CheckpointTest, SignAndVerify) {
  auto key = SigningKey::Generate();
  const SignedCheckpoint s = key->Sign(Sample());
  EXPECT_EQ(s.checkpoint.key_id, key->key_id());
  EXPECT_EQ(s.signature.size(), kSignatureBytes);
  EXPECT_TRUE(key->verify_key().Verify(s).ok());

  auto other = SigningKey::Generate();
  EXPECT_FALSE(other->verify_key().Verify(s).ok());  // wrong key id
  SignedCheckpoint forged = other->Sign(Sample());
  forged.checkpoint.key_id = key->key_id();
  EXPECT_FALSE(key->verify_key().Verify(forged).ok());
}

TEST(CheckpointTest, EveryFieldIsSigned) {
  auto key = SigningKey::Generate();
  const SignedCheckpoint s = key->Sign(Sample());
  const VerifyKey& vk = key->verify_key();
  auto changed = [&](auto mutate) {
    SignedCheckpoint c = s;
    mutate(c);
    return vk.Verify(c);
  };
  EXPECT_FALSE(changed([](SignedCheckpoint& c) { c.checkpoint.tree_size++; }).ok());
  EXPECT_FALSE(changed([](SignedCheckpoint& c) { c.checkpoint.root[31] ^= 1; }).ok());
  EXPECT_FALSE(changed([](SignedCheckpoint& c) { c.checkpoint.time++; }).ok());
  EXPECT_FALSE(changed([](SignedCheckpoint& c) { c.checkpoint.previous_size = 4; }).ok());
  EXPECT_FALSE(changed([](SignedCheckpoint& c) { c.signature[0] ^= 1; }).ok());
  EXPECT_FALSE(changed([](SignedCheckpoint& c) { c.signature.pop_back(); }).ok());
}

TEST(CheckpointTest, VerifyKeyRoundTrip) {
  auto key = SigningKey::Generate();
  const std::string text = key->verify_key().ToString();
  auto vk = VerifyKey::Parse(text);
  ASSERT_TRUE(vk.has_value()) << vk.error().ToString();
  EXPECT_EQ(vk->key_id(), key->key_id());
  EXPECT_TRUE(vk->Verify(key->Sign(Sample())).ok());
  EXPECT_FALSE(VerifyKey::Parse("ffffffffffffffff " + text.substr(17)).has_value());
  EXPECT_FALSE(VerifyKey::Parse("nonsense").has_value());
}

TEST(CheckpointTest, KeyFileIsPrivate) {
  auto dir = ScopedTempDir::Create("sb-audit-key");
  ASSERT_TRUE(dir.has_value());
  const std::string path = dir->Join("audit.key");
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key->Save(path).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(key->Save(path).code(), StatusCode::kAlreadyExists);

  auto loaded = SigningKey::Load(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  EXPECT_EQ((*loaded)->key_id(), key->key_id());
  EXPECT_TRUE(key->verify_key().Verify((*loaded)->Sign(Sample())).ok());

  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  auto refused = SigningKey::Load(path);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("chmod 600"), std::string::npos);
  EXPECT_EQ(SigningKey::Load(dir->Join("missing")).error().code(), StatusCode::kNotFound);
}

TEST(CheckpointTest, WitnessFileRoundTrip) {
  auto dir = ScopedTempDir::Create("sb-audit-witness");
  ASSERT_TRUE(dir.has_value());
  const std::string path = dir->Join("witness");
  auto key = SigningKey::Generate();
  std::vector<SignedCheckpoint> cps;
  for (int i = 1; i <= 3; ++i) {
    Checkpoint cp = Sample();
    cp.tree_size = static_cast<std::uint64_t>(i * 10);
    cp.previous_size = static_cast<std::uint64_t>((i - 1) * 10);
    cps.push_back(key->Sign(cp));
  }
  ASSERT_TRUE(AppendToWitnessFile(path, {cps[0], cps[1]}).ok());
  ASSERT_TRUE(AppendToWitnessFile(path, {cps[2]}).ok());
  auto read = ReadWitnessFile(path);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  ASSERT_EQ(read->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*read)[i].checkpoint.Encode(), cps[i].checkpoint.Encode());
    EXPECT_EQ((*read)[i].signature, cps[i].signature);
    EXPECT_TRUE(key->verify_key().Verify((*read)[i]).ok());
  }
  {
    std::ofstream out(path, std::ios::app);
    out << "10 not-base64 1 0 abc def\n";
  }
  auto bad = ReadWitnessFile(path);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find(":4:"), std::string::npos) << bad.error().message();
}

// Checkpoints at sizes 10, 20, ... signed by `key`.
std::vector<SignedCheckpoint> Chain(const SigningKey& key, int n) {
  std::vector<SignedCheckpoint> out;
  for (int i = 1; i <= n; ++i) {
    Checkpoint cp = Sample();
    cp.tree_size = static_cast<std::uint64_t>(i * 10);
    cp.previous_size = static_cast<std::uint64_t>((i - 1) * 10);
    out.push_back(key.Sign(cp));
  }
  return out;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

TEST(CheckpointTest, TornLastLineIsIgnoredThenCutOff) {
  auto dir = ScopedTempDir::Create("sb-audit-witness");
  ASSERT_TRUE(dir.has_value());
  const std::string path = dir->Join("log");
  auto key = SigningKey::Generate();
  const auto cps = Chain(*key, 3);
  ASSERT_TRUE(AppendToWitnessFile(path, {cps[0], cps[1]}, "# header\n").ok());
  const std::string whole = Slurp(path);
  EXPECT_EQ(whole,
            "# header\n" + FormatWitnessLine(cps[0]) + "\n" + FormatWitnessLine(cps[1]) + "\n");
  const std::string third = FormatWitnessLine(cps[2]);
  Write(path, whole + third.substr(0, third.size() - 10));  // cut short by a crash
  auto read = ReadWitnessFileFully(path);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_TRUE(read->torn_tail);
  ASSERT_EQ(read->checkpoints.size(), 2u);
  auto last = ReadLastWitnessLine(path);
  ASSERT_TRUE(last.has_value()) << last.error().ToString();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->checkpoint.tree_size, 20u);
  ASSERT_TRUE(AppendToWitnessFile(path, {cps[2]}, "# header\n").ok());
  EXPECT_EQ(Slurp(path), whole + third + "\n");
  // The same fragment anywhere but last is damage, not a crash.
  Write(path, whole + third.substr(0, 30) + "\n" + third + "\n");
  auto bad = ReadWitnessFileFully(path);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kDataLoss);
  EXPECT_NE(bad.error().message().find(":4:"), std::string::npos) << bad.error().message();
  Write(path, whole + third.substr(0, 30) + "\n");
  EXPECT_EQ(ReadLastWitnessLine(path).error().code(), StatusCode::kDataLoss);
}

TEST(CheckpointTest, AWholeLastLineWithoutItsNewlineIsKept) {
  auto dir = ScopedTempDir::Create("sb-audit-witness");
  ASSERT_TRUE(dir.has_value());
  const std::string path = dir->Join("log");
  auto key = SigningKey::Generate();
  const auto cps = Chain(*key, 2);
  Write(path, FormatWitnessLine(cps[0]));
  auto read = ReadWitnessFileFully(path);
  ASSERT_TRUE(read.has_value());
  EXPECT_FALSE(read->torn_tail);
  EXPECT_EQ(read->checkpoints.size(), 1u);
  EXPECT_EQ((*ReadLastWitnessLine(path))->checkpoint.tree_size, 10u);
  ASSERT_TRUE(AppendToWitnessFile(path, {cps[1]}, "# not written: the file exists\n").ok());
  EXPECT_EQ(Slurp(path), FormatWitnessLine(cps[0]) + "\n" + FormatWitnessLine(cps[1]) + "\n");
}

TEST(CheckpointTest, ReadLastWitnessLineReadsTheEnd) {
  auto dir = ScopedTempDir::Create("sb-audit-witness");
  ASSERT_TRUE(dir.has_value());
  const std::string path = dir->Join("log");
  EXPECT_EQ(ReadLastWitnessLine(path).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadWitnessFileFully(path).error().code(), StatusCode::kNotFound);
  ASSERT_TRUE(AppendToWitnessFile(path, {}, "# only a header\n").ok());
  auto none = ReadLastWitnessLine(path);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
  // Longer than the chunk read from the end.
  auto key = SigningKey::Generate();
  const auto cps = Chain(*key, 500);
  ASSERT_TRUE(AppendToWitnessFile(path, cps).ok());
  ASSERT_GT(Slurp(path).size(), 8u * 1024);
  auto last = ReadLastWitnessLine(path);
  ASSERT_TRUE(last.has_value()) << last.error().ToString();
  EXPECT_EQ((*last)->checkpoint.tree_size, 5000u);
  EXPECT_EQ(ReadWitnessFile(path)->size(), 500u);
  // A comment after the last checkpoint is skipped.
  Write(path, Slurp(path) + "# trailing comment\n\n");
  EXPECT_EQ((*ReadLastWitnessLine(path))->checkpoint.tree_size, 5000u);
}

TEST(CheckpointTest, Base64) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*FromBase64("Zm9vYg=="), "foob");
  EXPECT_FALSE(FromBase64("Zm9v!").has_value());
}

}  // namespace
}  // namespace switchboard::audit
