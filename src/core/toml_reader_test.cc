#include "core/toml_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace switchboard {
namespace {

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

Status ParseStatus(const std::string& text) {
  return TomlReader("policy.toml").Parse(text).status();
}

// Each of these made toml++ overflow the stack (a crash, not an error) before
// the reader checked key depth; arrays and inline tables it limits itself.
TEST(TomlReader, RefusesEveryKindOfNestingAMillionDeep) {
  constexpr size_t kDeep = 1'000'000;
  const std::string cases[] = {
      Repeat("a.", kDeep) + "b = 1\n",                           // dotted key
      "[" + Repeat("a.", kDeep) + "b]\nc = 1\n",                 // table header
      "[[" + Repeat("a.", kDeep) + "b]]\nc = 1\n",               // array of tables
      "x = {" + Repeat("a.", kDeep) + "b = 1}\n",                // dotted key in an inline table
      "x = " + Repeat("[", kDeep) + "1" + Repeat("]", kDeep),    // arrays
      "x = " + Repeat("{b=", kDeep) + "1" + Repeat("}", kDeep),  // inline tables
  };
  for (const std::string& text : cases) {
    Status st = ParseStatus(text);
    ASSERT_FALSE(st.ok()) << text.substr(0, 20);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("policy.toml:1:"), std::string::npos) << st.message();
  }
  EXPECT_NE(ParseStatus(Repeat("a.", kDeep) + "b = 1\n").message().find("deeper than 32 levels"),
            std::string::npos);
}

TEST(TomlReader, AcceptsKeysUpToTheLimitAndDotsElsewhere) {
  EXPECT_TRUE(ParseStatus(Repeat("a.", 31) + "b = 1\n").ok());
  EXPECT_FALSE(ParseStatus(Repeat("a.", 32) + "b = 1\n").ok());
  EXPECT_TRUE(ParseStatus("[" + Repeat("a.", 31) + "b]\n").ok());
  // Dots in strings, comments, numbers and times are not key levels.
  const std::string many = Repeat(".", 500);
  EXPECT_TRUE(ParseStatus("s = \"" + many + "\"\n").ok());
  EXPECT_TRUE(ParseStatus("s = '" + many + "'\n").ok());
  EXPECT_TRUE(ParseStatus("s = \"\"\"\n" + many + "\n" + many + "\"\"\"\n").ok());
  EXPECT_TRUE(ParseStatus("s = '''\n" + many + "\n'''\n").ok());
  EXPECT_TRUE(ParseStatus("s = \"a\\\"" + many + "\"\n").ok());  // an escaped quote
  EXPECT_TRUE(ParseStatus("# " + many + "\nx = 1\n").ok());
  EXPECT_TRUE(ParseStatus("f = [" + Repeat("1.5, ", 100) + "2.5]\nt = 07:32:00.999\n").ok());
  EXPECT_TRUE(ParseStatus("\"a.b\".\"c.d\" = 1\n").ok());
}

TEST(TomlReader, NamesTheLineOfADeepKey) {
  Status st =
      ParseStatus("x = 1\ns = \"\"\"\nmulti\nline\n\"\"\"\n" + Repeat("k.", 40) + "v = 2\n");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("policy.toml:6:"), std::string::npos) << st.message();
}

TEST(TomlReader, RefusesAFileTooLargeBeforeParsing) {
  Status st = ParseStatus("# " + std::string(TomlReader::kMaxBytes, 'x') + "\n");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace switchboard
