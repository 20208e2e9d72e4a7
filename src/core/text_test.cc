#include "core/text.h"

#include <gtest/gtest.h>

#include <string>

namespace switchboard::text {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii, long enough to use the word-at-a-time path"));
  EXPECT_TRUE(IsValidUtf8("Zo\xC3\xAB"));            // U+00EB
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));          // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));      // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));  // NUL is valid UTF-8
  EXPECT_EQ(FirstInvalidUtf8Byte("Zo\xC3\xAB"), std::string_view::npos);
}

TEST(Utf8Test, FindsTheFirstBadByte) {
  EXPECT_EQ(FirstInvalidUtf8Byte("abc\xFF"), 3u);
  EXPECT_EQ(FirstInvalidUtf8Byte("abcdefghijkl\x80mn"), 12u);  // stray continuation byte
  EXPECT_EQ(FirstInvalidUtf8Byte("ab\xC3"), 2u);               // truncated sequence
  EXPECT_EQ(FirstInvalidUtf8Byte("\xC3\x28"), 0u);             // bad continuation
  EXPECT_EQ(FirstInvalidUtf8Byte("\xC0\xAF"), 0u);             // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8Byte("\xE0\x80\xAF"), 0u);         // overlong, 3 bytes
  EXPECT_EQ(FirstInvalidUtf8Byte("x\xED\xA0\x80"), 1u);        // surrogate U+D800
  EXPECT_EQ(FirstInvalidUtf8Byte("\xF4\x90\x80\x80"), 0u);     // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8Byte("\xF5\x80\x80\x80"), 0u);
  EXPECT_FALSE(IsValidUtf8("\xFE"));
}

TEST(NormaliseNfcTest, ComposesDecomposedText) {
  Result<std::string> nfc = NormaliseNfc("Zoe\xCC\x88");  // e + combining diaeresis
  ASSERT_TRUE(nfc.has_value());
  EXPECT_EQ(*nfc, "Zo\xC3\xAB");
  EXPECT_EQ(NormaliseNfc("already ascii").value(), "already ascii");
  EXPECT_EQ(NormaliseNfc("").value(), "");
  // Hangul syllable from jamo.
  EXPECT_EQ(NormaliseNfc("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB").value(), "\xED\x95\x9C");
}

TEST(NormaliseNfcTest, RejectsInvalidUtf8WithoutQuotingIt) {
  Result<std::string> nfc = NormaliseNfc("secret\xFF");
  ASSERT_FALSE(nfc.has_value());
  EXPECT_EQ(nfc.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(nfc.error().message(), "invalid UTF-8 at byte 6");
}

TEST(CaseFoldTest, FoldsCaseInNfc) {
  EXPECT_EQ(CaseFold("Hello WORLD"), "hello world");
  EXPECT_EQ(CaseFold("Stra\u00DFe"), "strasse");                                // ß
  EXPECT_EQ(CaseFold("\xC3\x89LISE"), "\xC3\xA9lise");                          // É -> é
  EXPECT_EQ(CaseFold("E\xCC\x81LISE"), "\xC3\xA9lise");                         // decomposed É
  EXPECT_EQ(CaseFold("\xCE\xA3\xCE\x9F\xCE\xA6"), "\xCF\x83\xCE\xBF\xCF\x86");  // ΣΟΦ
  EXPECT_EQ(CaseFold(""), "");
}

TEST(CaseFoldTest, ReplacesInvalidBytes) { EXPECT_EQ(CaseFold("A\377B\u00C9"), "a\uFFFDb\u00E9"); }

TEST(FoldForMatchTest, StripsAccentsCaseAndSpacing) {
  EXPECT_EQ(FoldForMatch("Zo\xC3\xAB \xC3\x89LISE"), "zoe elise");
  EXPECT_EQ(FoldForMatch("  Zoe\xCC\x88 \t\n  E\xCC\x81lise  "), "zoe elise");
  EXPECT_EQ(FoldForMatch("Fran\xC3\xA7ois"), "francois");
  EXPECT_EQ(FoldForMatch("S\xC3\xB8ren"), "s\xC3\xB8ren");           // ø has no decomposition
  EXPECT_EQ(FoldForMatch("\xEF\xBC\xA1\xEF\xBC\xA2"), "ab");         // fullwidth AB
  EXPECT_EQ(FoldForMatch("Mary\u00A0Ann"), "mary ann");              // no-break space
  EXPECT_EQ(FoldForMatch("Smith\xE2\x80\x90Jones"), "smith-jones");  // U+2010 hyphen
  EXPECT_EQ(FoldForMatch("Ann\u00ADa"), "anna");                     // soft hyphen dropped
  EXPECT_EQ(FoldForMatch("   "), "");
  EXPECT_EQ(FoldForMatch("O'Brien  SMITH"), "o'brien smith");
}

TEST(FoldForMatchTest, MatchesEquivalentSpellings) {
  EXPECT_EQ(FoldForMatch("JOS\xC3\x89"), FoldForMatch("jose"));
  EXPECT_EQ(FoldForMatch("Jos\xC3\xA9"), FoldForMatch("Jose\xCC\x81"));
  EXPECT_NE(FoldForMatch("Jose"), FoldForMatch("Josie"));
}

TEST(TrimTest, TrimsAsciiWhitespaceOnly) {
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim(" \t "), "");
  EXPECT_EQ(Trim("\xC2\xA0x\xC2\xA0"), "\xC2\xA0x\xC2\xA0");  // no-break space is kept
  EXPECT_EQ(Trim("\vx\f"), "x");
}

TEST(CollapseSpacesTest, CollapsesRunsAndTrims) {
  EXPECT_EQ(CollapseSpaces("  a \t\n b   c "), "a b c");
  EXPECT_EQ(CollapseSpaces("abc"), "abc");
  EXPECT_EQ(CollapseSpaces(""), "");
  EXPECT_EQ(CollapseSpaces("\r\n"), "");
}

}  // namespace
}  // namespace switchboard::text

namespace switchboard::text {
namespace {
TEST(EscapeHtmlTest, EscapesWhatHtmlNeeds) {
  EXPECT_EQ(EscapeHtml("a<b>&\"c'/d"), "a&lt;b&gt;&amp;&quot;c&#39;/d");
  EXPECT_EQ(EscapeHtml("https://example.org/u/x"), "https://example.org/u/x");
}
}  // namespace
}  // namespace switchboard::text
