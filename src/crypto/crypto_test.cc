#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "crypto/keyring.h"
#include "crypto/sealer.h"

namespace switchboard::crypto {
namespace {

class TempPath {
 public:
  TempPath() {
    char tmpl[] = "/tmp/sb-crypto-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~TempPath() { std::filesystem::remove_all(dir_); }
  std::string file(const char* name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

TEST(SealerTest, RoundTripAndRandomNonce) {
  auto k = Keyring::Generate();
  Sealer s(*k);
  Sealed a = s.Seal("jo@example.org", "email");
  Sealed b = s.Seal("jo@example.org", "email");
  EXPECT_NE(a.bytes, b.bytes);  // fresh nonce each time
  EXPECT_EQ(a.bytes.find("jo@example.org"), std::string::npos);
  auto opened = s.Open(a, "email");
  ASSERT_TRUE(opened) << opened.error().ToString();
  EXPECT_EQ(*opened, "jo@example.org");
}

TEST(SealerTest, WrongPurposeOrTamperFails) {
  auto k = Keyring::Generate();
  Sealer s(*k);
  Sealed a = s.Seal("+447700900123", "phone");
  EXPECT_EQ(s.Open(a, "email").error().code(), StatusCode::kDataLoss);
  Sealed t = a;
  t.bytes[30] ^= 1;
  EXPECT_EQ(s.Open(t, "phone").error().code(), StatusCode::kDataLoss);
  Sealed u = a;
  u.key_id = 99;
  EXPECT_EQ(s.Open(u, "phone").error().code(), StatusCode::kDataLoss);
  Sealed v = a;
  v.bytes.resize(10);
  EXPECT_FALSE(s.Open(v, "phone"));
}

TEST(SealerTest, RotationKeepsOldValuesReadable) {
  auto k = Keyring::Generate();
  Sealer s(*k);
  Sealed old = s.Seal("x", "email");
  EXPECT_EQ(old.key_id, 1u);
  EXPECT_EQ(k->Rotate(), 2u);
  Sealed fresh = s.Seal("y", "email");
  EXPECT_EQ(fresh.key_id, 2u);
  EXPECT_EQ(*s.Open(old, "email"), "x");
  EXPECT_EQ(*s.Open(fresh, "email"), "y");
}

TEST(SealerTest, BlindIndexIsKeyedAndDeterministic) {
  auto k1 = Keyring::Generate();
  auto k2 = Keyring::Generate();
  Sealer s1(*k1), s2(*k2);
  EXPECT_EQ(s1.BlindIndex("email", "a@example.org"), s1.BlindIndex("email", "a@example.org"));
  EXPECT_EQ(s1.BlindIndex("email", "a@example.org").size(), kBlindIndexBytes);
  EXPECT_NE(s1.BlindIndex("email", "a@example.org"), s1.BlindIndex("phone", "a@example.org"));
  EXPECT_NE(s1.BlindIndex("email", "a@example.org"), s2.BlindIndex("email", "a@example.org"));
  // Domain separation: ("ab","c") differs from ("a","bc").
  EXPECT_NE(s1.BlindIndex("ab", "c"), s1.BlindIndex("a", "bc"));
}

TEST(SealerTest, DerivedKeysAreStablePerPurposeAndKeyring) {
  auto k1 = Keyring::Generate();
  auto k2 = Keyring::Generate();
  Sealer s1(*k1), s2(*k2);
  EXPECT_EQ(s1.DeriveKey("recovery-codes"), s1.DeriveKey("recovery-codes"));
  EXPECT_NE(s1.DeriveKey("recovery-codes"), s1.DeriveKey("other"));
  EXPECT_NE(s1.DeriveKey("recovery-codes"), s2.DeriveKey("recovery-codes"));
  EXPECT_NE(s1.DeriveKey("recovery-codes"), k1->blind_index_key());
}

// A running server swaps its keyring (after `keys rotate`, on SIGHUP): new
// values take the new active key, old ones still open; another deployment's
// keyring is refused and the one in use kept.
TEST(SealerTest, ReloadSwapsTheKeyringAndRefusesAnother) {
  TempPath tmp;
  std::shared_ptr<const Keyring> first = Keyring::Generate();
  ASSERT_TRUE(first->Save(tmp.file("keyring")).ok());
  Sealer s(first);
  const Sealed old = s.Seal("x", "email");
  auto rotated = Keyring::Load(tmp.file("keyring"));
  ASSERT_TRUE(rotated);
  EXPECT_EQ((*rotated)->Rotate(), 2u);
  ASSERT_TRUE(s.Reload(std::move(rotated).value()).ok());
  const Sealed fresh = s.Seal("y", "email");
  EXPECT_EQ(fresh.key_id, 2u);
  EXPECT_EQ(*s.Open(old, "email"), "x");
  EXPECT_EQ(*s.Open(fresh, "email"), "y");
  EXPECT_EQ(s.keyring()->Fingerprint(), first->Fingerprint());
  const Status other = s.Reload(Keyring::Generate());
  EXPECT_EQ(other.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.Seal("z", "email").key_id, 2u);
}

TEST(KeyringTest, SaveReplacingAndRetire) {
  TempPath tmp;
  const std::string path = tmp.file("keyring");
  auto k = Keyring::Generate();
  ASSERT_TRUE(k->Save(path).ok());
  EXPECT_EQ(k->Rotate(), 2u);
  EXPECT_EQ(k->Retire(2).code(), StatusCode::kFailedPrecondition);  // the active key
  EXPECT_EQ(k->Retire(7).code(), StatusCode::kNotFound);
  ASSERT_TRUE(k->SaveReplacing(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".new"));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = Keyring::Load(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)->key_ids(), (std::vector<std::uint32_t>{1, 2}));
  ASSERT_TRUE(k->Retire(1).ok());
  ASSERT_TRUE(k->SaveReplacing(path).ok());
  loaded = Keyring::Load(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)->key_ids(), (std::vector<std::uint32_t>{2}));
  EXPECT_EQ((*loaded)->active_key_id(), 2u);
  EXPECT_EQ((*loaded)->Fingerprint(), k->Fingerprint());
}

TEST(KeyringTest, SaveLoadRoundTripWithMode0600) {
  TempPath tmp;
  auto k = Keyring::Generate();
  k->Rotate();
  ASSERT_TRUE(k->Save(tmp.file("keyring")).ok());
  struct stat st;
  ASSERT_EQ(stat(tmp.file("keyring").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = Keyring::Load(tmp.file("keyring"));
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  EXPECT_EQ((*loaded)->active_key_id(), 2u);
  EXPECT_EQ((*loaded)->Fingerprint(), k->Fingerprint());
  Sealer a(*k), b(**loaded);
  EXPECT_EQ(*b.Open(a.Seal("v", "ad"), "ad"), "v");
  EXPECT_EQ(k->Save(tmp.file("keyring")).code(), StatusCode::kAlreadyExists);
}

TEST(KeyringTest, RefusesReadableByOthers) {
  TempPath tmp;
  auto k = Keyring::Generate();
  ASSERT_TRUE(k->Save(tmp.file("keyring")).ok());
  ASSERT_EQ(chmod(tmp.file("keyring").c_str(), 0644), 0);
  auto loaded = Keyring::Load(tmp.file("keyring"));
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(loaded.error().message().find("chmod 600"), std::string::npos);
}

TEST(KeyringTest, MissingAndCorruptFiles) {
  TempPath tmp;
  EXPECT_EQ(Keyring::Load(tmp.file("nope")).error().code(), StatusCode::kNotFound);
  const std::string p = tmp.file("bad");
  FILE* f = fopen(p.c_str(), "w");
  fputs("version 1\nactive 1\nenc 1 abcd\n", f);
  fclose(f);
  chmod(p.c_str(), 0600);
  auto loaded = Keyring::Load(p);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message().find(":3:"), std::string::npos) << loaded.error().message();
}

TEST(HexTest, RoundTrip) {
  EXPECT_EQ(ToHex(std::string("\x00\xff", 2)), "00ff");
  EXPECT_EQ(*FromHex("00ff"), std::string("\x00\xff", 2));
  EXPECT_FALSE(FromHex("0g"));
  EXPECT_FALSE(FromHex("abc"));
}

}  // namespace
}  // namespace switchboard::crypto
