#include "access/credentials/recovery_codes.h"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <set>

namespace switchboard::access {
namespace {

std::array<unsigned char, kRecoveryPepperBytes> Pepper(unsigned char fill) {
  std::array<unsigned char, kRecoveryPepperBytes> p;
  p.fill(fill);
  return p;
}

TEST(RecoveryCodesTest, GeneratesDistinctGroupedCodes) {
  const auto pepper = Pepper(7);
  const RecoveryCodes rc = GenerateRecoveryCodes(pepper);
  ASSERT_EQ(rc.codes.size(), kDefaultRecoveryCodeCount);
  ASSERT_EQ(rc.hashes.size(), rc.codes.size());
  std::set<std::string> distinct(rc.codes.begin(), rc.codes.end());
  EXPECT_EQ(distinct.size(), rc.codes.size());
  for (size_t i = 0; i < rc.codes.size(); ++i) {
    const std::string& code = rc.codes[i];
    ASSERT_EQ(code.size(), kRecoveryCodeChars + 1);
    EXPECT_EQ(code[5], '-');
    for (char c : code) {
      EXPECT_EQ(std::string_view("01ilo").find(c), std::string_view::npos) << code;
    }
    EXPECT_EQ(rc.hashes[i], HashRecoveryCode(code, pepper));
    EXPECT_EQ(rc.hashes[i].size(), 64u);
    EXPECT_EQ(rc.hashes[i].find(code.substr(0, 5)), std::string::npos);
  }
  EXPECT_EQ(GenerateRecoveryCodes(pepper, 3).codes.size(), 3u);
}

TEST(RecoveryCodesTest, ConsumeFindsTheIndexOnce) {
  const auto pepper = Pepper(1);
  RecoveryCodes rc = GenerateRecoveryCodes(pepper);
  std::optional<size_t> i = ConsumeRecoveryCode(rc.codes[4], rc.hashes, pepper);
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(*i, 4u);
  rc.hashes[*i].clear();  // the caller removes it
  EXPECT_FALSE(ConsumeRecoveryCode(rc.codes[4], rc.hashes, pepper).has_value());
  EXPECT_EQ(ConsumeRecoveryCode(rc.codes[9], rc.hashes, pepper), 9u);
}

TEST(RecoveryCodesTest, TypingIsForgiving) {
  const auto pepper = Pepper(2);
  const RecoveryCodes rc = GenerateRecoveryCodes(pepper);
  std::string typed = rc.codes[0];
  for (char& c : typed) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  typed.erase(5, 1);
  typed.insert(3, " ");
  EXPECT_EQ(ConsumeRecoveryCode(typed, rc.hashes, pepper), 0u);
}

TEST(RecoveryCodesTest, WrongCodeOrPepperFails) {
  const auto pepper = Pepper(3);
  const RecoveryCodes rc = GenerateRecoveryCodes(pepper);
  EXPECT_FALSE(ConsumeRecoveryCode("abcde-fghjk", rc.hashes, pepper).has_value());
  EXPECT_FALSE(ConsumeRecoveryCode("", rc.hashes, pepper).has_value());
  EXPECT_FALSE(ConsumeRecoveryCode(rc.codes[0], rc.hashes, Pepper(4)).has_value());
  EXPECT_FALSE(ConsumeRecoveryCode(rc.codes[0], {}, pepper).has_value());
}

}  // namespace
}  // namespace switchboard::access
