#include "audit/checkpoint.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "crypto/keyring.h"
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
  // c2sp.org/tlog-checkpoint: origin, size, root, then extension lines.
  EXPECT_EQ(cp.Encode(),
            "switchboard/audit/0123456789abcdef\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
            "time 1764000000000000\nprevious 5\n");
  EXPECT_EQ(cp.EncodeLegacy(),
            "switchboard-audit/v1\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
            "1764000000000000\n5\n0123456789abcdef\n");
}

// The note and the verifier key as c2sp.org/signed-note defines them,
// computed here from the specification rather than through the code's helpers.
TEST(CheckpointTest, SignedNoteAndVerifierKeyFollowTheSpecification) {
  auto key = SigningKey::Generate();
  const VerifyKey& vk = key->verify_key();
  const std::string name = "switchboard/audit/" + key->key_id();
  const std::string pk(reinterpret_cast<const char*>(vk.public_key().data()), 32);
  const Hash h = Sha256(name + "\n" + std::string(1, '\x01') + pk);
  const std::string key_hash(reinterpret_cast<const char*>(h.data()), 4);
  EXPECT_EQ(vk.note_name(), name);
  EXPECT_EQ(vk.note_key_hash(), key_hash);
  EXPECT_EQ(vk.VKey(), name + "+" + crypto::ToHex(key_hash) + "+" + Base64("\x01" + pk));

  const SignedCheckpoint s = key->Sign(Sample());
  const std::string note = FormatSignedNote(s);
  const std::string body = s.checkpoint.Encode();
  EXPECT_EQ(note, body + "\n\xE2\x80\x94 " + name + " " + Base64(key_hash + s.signature) + "\n");
  // The signature is Ed25519 over the body alone.
  EXPECT_EQ(crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(s.signature.data()),
                                        reinterpret_cast<const unsigned char*>(body.data()),
                                        body.size(), vk.public_key().data()),
            0);
  auto parsed = ParseSignedNote(note);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  EXPECT_TRUE(vk.Verify(*parsed).ok());
  EXPECT_EQ(FormatSignedNote(*parsed), note);
  // A witness's cosignature after ours is allowed and ignored.
  auto cosigned = ParseSignedNote(note + "\xE2\x80\x94 witness.example.org AAAAAAAA\n");
  ASSERT_TRUE(cosigned.has_value()) << cosigned.error().ToString();
  EXPECT_TRUE(vk.Verify(*cosigned).ok());

  auto vk2 = VerifyKey::Parse(vk.VKey());
  ASSERT_TRUE(vk2.has_value()) << vk2.error().ToString();
  EXPECT_EQ(vk2->key_id(), key->key_id());
  std::string wrong_hash = vk.VKey();
  wrong_hash[name.size() + 1] = wrong_hash[name.size() + 1] == '0' ? '1' : '0';
  EXPECT_FALSE(VerifyKey::Parse(wrong_hash).has_value());
}

TEST(CheckpointTest, TamperedNotesAreRefused) {
  auto key = SigningKey::Generate();
  const VerifyKey& vk = key->verify_key();
  const std::string note = FormatSignedNote(key->Sign(Sample()));
  auto verifies = [&](std::string text) {
    auto p = ParseSignedNote(text);
    return p.has_value() && vk.Verify(*p).ok();
  };
  EXPECT_TRUE(verifies(note));
  std::string size = note;
  size[size.find("\n8\n") + 1] = '9';
  EXPECT_FALSE(verifies(size));
  std::string time = note;
  time[time.find("time ") + 6] ^= 1;
  EXPECT_FALSE(verifies(time));
  EXPECT_FALSE(verifies(note.substr(0, note.size() - 1)));        // no final newline
  EXPECT_FALSE(verifies("x" + note));                             // another origin
  EXPECT_FALSE(verifies(note.substr(0, note.find("\n\n") + 2)));  // no signature
  std::string spaced = note;
  spaced.insert(spaced.find("\n8\n") + 1, "0");  // leading zero
  EXPECT_FALSE(verifies(spaced));
  // Signed by another key under our name: the key hash gives it away.
  auto other = SigningKey::Generate();
  SignedCheckpoint forged = other->Sign(Sample());
  forged.checkpoint.key_id = key->key_id();
  EXPECT_FALSE(vk.Verify(forged).ok());
  // A legacy checkpoint verifies as legacy only.
  SignedCheckpoint legacy = key->SignLegacyForTesting(Sample());
  EXPECT_TRUE(vk.Verify(legacy).ok());
  legacy.format = CheckpointFormat::kSignedNote;
  legacy.key_hash = vk.note_key_hash();
  EXPECT_FALSE(vk.Verify(legacy).ok());
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
  // Three notes of eight lines each (five, a blank, a signature, a blank).
  EXPECT_NE(bad.error().message().find(":25:"), std::string::npos) << bad.error().message();
}

// Checkpoints at sizes 10, 20, ... signed by `key` (legacy: as before
// signed notes).
std::vector<SignedCheckpoint> Chain(const SigningKey& key, int n, bool legacy = false) {
  std::vector<SignedCheckpoint> out;
  for (int i = 1; i <= n; ++i) {
    Checkpoint cp = Sample();
    cp.tree_size = static_cast<std::uint64_t>(i * 10);
    cp.previous_size = static_cast<std::uint64_t>((i - 1) * 10);
    out.push_back(legacy ? key.SignLegacyForTesting(cp) : key.Sign(cp));
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
  const auto cps = Chain(*key, 3, /*legacy=*/true);
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
  const auto cps = Chain(*key, 2, /*legacy=*/true);
  Write(path, FormatWitnessLine(cps[0]));
  auto read = ReadWitnessFileFully(path);
  ASSERT_TRUE(read.has_value());
  EXPECT_FALSE(read->torn_tail);
  EXPECT_EQ(read->checkpoints.size(), 1u);
  EXPECT_EQ((*ReadLastWitnessLine(path))->checkpoint.tree_size, 10u);
  ASSERT_TRUE(AppendToWitnessFile(path, {cps[1]}, "# not written: the file exists\n").ok());
  EXPECT_EQ(Slurp(path), FormatWitnessLine(cps[0]) + "\n" + FormatWitnessLine(cps[1]) + "\n");
}

TEST(CheckpointTest, TornLastNoteIsIgnoredThenCutOff) {
  auto dir = ScopedTempDir::Create("sb-audit-witness");
  ASSERT_TRUE(dir.has_value());
  const std::string path = dir->Join("log");
  auto key = SigningKey::Generate();
  const auto old = Chain(*key, 2, /*legacy=*/true);
  const auto cps = Chain(*key, 5);
  // An upgraded log: legacy lines, then notes.
  ASSERT_TRUE(AppendToWitnessFile(path, {old[0], old[1]}, "# header\n").ok());
  ASSERT_TRUE(AppendToWitnessFile(path, {cps[2], cps[3]}).ok());
  const std::string whole = Slurp(path);
  EXPECT_EQ(whole, "# header\n" + FormatWitnessEntry(old[0]) + FormatWitnessEntry(old[1]) +
                       FormatWitnessEntry(cps[2]) + FormatWitnessEntry(cps[3]));
  auto read = ReadWitnessFileFully(path);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  ASSERT_EQ(read->checkpoints.size(), 4u);
  for (const auto& cp : read->checkpoints) EXPECT_TRUE(key->verify_key().Verify(cp).ok());
  EXPECT_EQ(read->checkpoints[0].format, CheckpointFormat::kLegacy);
  EXPECT_EQ(read->checkpoints[3].format, CheckpointFormat::kSignedNote);
  const std::string fifth = FormatWitnessEntry(cps[4]);
  for (size_t cut : {size_t{20}, fifth.find("\n\n") + 1, fifth.size() - 10, fifth.size() - 2}) {
    Write(path, whole + fifth.substr(0, cut));  // cut short by a crash
    auto torn = ReadWitnessFileFully(path);
    ASSERT_TRUE(torn.has_value()) << cut << ": " << torn.error().ToString();
    EXPECT_TRUE(torn->torn_tail) << cut;
    EXPECT_EQ(torn->checkpoints.size(), 4u);
    auto last = ReadLastWitnessLine(path);
    ASSERT_TRUE(last.has_value()) << last.error().ToString();
    EXPECT_EQ((*last)->checkpoint.tree_size, 40u);
    ASSERT_TRUE(AppendToWitnessFile(path, {cps[4]}).ok());
    EXPECT_EQ(Slurp(path), whole + fifth) << cut;
  }
  // A note without its signature, followed by more, is damage.
  Write(path, whole + fifth.substr(0, fifth.find("\n\n") + 2) + fifth);
  EXPECT_EQ(ReadWitnessFileFully(path).error().code(), StatusCode::kDataLoss);
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
