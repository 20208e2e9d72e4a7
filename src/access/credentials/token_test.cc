#include "access/credentials/token.h"

#include <gtest/gtest.h>

#include <set>

namespace switchboard::access {
namespace {

TEST(TokenTest, IssuedTokensAreBase64UrlAndHashed) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const IssuedToken t = IssueToken();
    EXPECT_EQ(t.secret.size(), kTokenChars);
    EXPECT_TRUE(LooksLikeToken(t.secret)) << t.secret;
    EXPECT_EQ(t.hash, HashToken(t.secret));
    EXPECT_EQ(t.hash.size(), 64u);
    EXPECT_NE(t.hash, t.secret);
    EXPECT_TRUE(seen.insert(t.secret).second);
  }
}

TEST(TokenTest, HashIsSha256OfTheText) {
  // FIPS 180-2 / NIST example vector for "abc".
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashToken(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(TokenTest, LooksLikeToken) {
  EXPECT_TRUE(LooksLikeToken(std::string(43, 'A')));
  EXPECT_TRUE(LooksLikeToken(std::string(42, '-') + "_"));
  EXPECT_FALSE(LooksLikeToken(std::string(42, 'A')));
  EXPECT_FALSE(LooksLikeToken(std::string(44, 'A')));
  EXPECT_FALSE(LooksLikeToken(std::string(42, 'A') + "+"));
  EXPECT_FALSE(LooksLikeToken(std::string(42, 'A') + "="));
}

TEST(TokenTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

}  // namespace
}  // namespace switchboard::access
