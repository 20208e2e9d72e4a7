#include "contest/text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace switchboard::contest {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("SB_SOURCE_DIR");
  return dir ? dir : SB_SOURCE_DIR_DEFAULT;
}

void AppendUtf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// words.tsv's escapes: \n \r \t \\ and \u{HEX}.
std::string Unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char e = s[++i];
    if (e == 'n') {
      out += '\n';
    } else if (e == 'r') {
      out += '\r';
    } else if (e == 't') {
      out += '\t';
    } else if (e == '\\') {
      out += '\\';
    } else if (e == 'u' && i + 1 < s.size() && s[i + 1] == '{') {
      std::size_t close = s.find('}', i);
      EXPECT_NE(close, std::string::npos) << s;
      AppendUtf8(static_cast<char32_t>(std::stoul(s.substr(i + 2, close - i - 2), nullptr, 16)),
                 out);
      i = close;
    } else {
      ADD_FAILURE() << "unknown escape \\" << e << " in " << s;
    }
  }
  return out;
}

struct WordCase {
  int line;
  int expected;
  std::string text;
};

std::vector<WordCase> ReadWordCases() {
  std::ifstream in(SourceDir() + "/src/contest/testdata/words.tsv");
  EXPECT_TRUE(in.good()) << "cannot open words.tsv";
  std::vector<WordCase> cases;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::size_t tab = line.find('\t');
    EXPECT_NE(tab, std::string::npos) << "words.tsv:" << n << ": no tab";
    if (tab == std::string::npos) continue;
    cases.push_back({n, std::stoi(line.substr(0, tab)), Unescape(line.substr(tab + 1))});
  }
  return cases;
}

TEST(CountWordsTest, MethodName) { EXPECT_EQ(kWordsMethod, "words-v1"); }

TEST(CountWordsTest, Corpus) {
  std::vector<WordCase> cases = ReadWordCases();
  ASSERT_GE(cases.size(), 100u);
  bool fifty = false;
  bool fifty_one = false;
  for (const WordCase& c : cases) {
    Result<int> n = CountWords(c.text);
    ASSERT_TRUE(n.has_value()) << "words.tsv:" << c.line << ": " << n.error().ToString();
    EXPECT_EQ(*n, c.expected) << "words.tsv:" << c.line << ": " << c.text;
    fifty = fifty || c.expected == 50;
    fifty_one = fifty_one || c.expected == 51;
  }
  EXPECT_TRUE(fifty && fifty_one) << "the corpus needs a 50- and a 51-word statement";
}

TEST(CountWordsTest, RefusesInvalidUtf8) {
  Result<int> n = CountWords("good \xC3\x28 bad");
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(n.error().message(), "the statement is not valid UTF-8 (byte 5)");
  EXPECT_FALSE(CountWords("\xED\xA0\x80").has_value());  // a surrogate
  EXPECT_FALSE(CountWords("\xC0\xAF").has_value());      // overlong
}

TEST(CountWordsTest, SizeLimit) {
  std::string at_limit(kMaxTextBytes, 'a');
  for (std::size_t i = 1; i < at_limit.size(); i += 2) at_limit[i] = ' ';
  Result<int> n = CountWords(at_limit);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, static_cast<int>(kMaxTextBytes / 2));
  Result<int> over = CountWords(at_limit + "a");
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(over.error().message().find("limit is 1048576"), std::string::npos);
}

TEST(CountWordsTest, LongRunsOfLinkLookalikesStayLinear) {
  // Each start inside a failed e-mail or URL candidate must not rescan it.
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "a.";
  Result<int> n = CountWords(text);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 200000);
}

// ---------------------------------------------------------------- names

// The candidates of the name cases.
std::vector<NameEntry> Candidates() {
  return {
      {"rlb", {"Rebecca Long-Bailey", "Long-Bailey", "RLB"}},
      {"ks", {"Keir Starmer", "Starmer", "Keir"}},
      {"ln", {"Lisa Nandy", "Nandy"}},
      {"tw", {"Tom"}},
  };
}

struct Expected {
  std::string candidate;
  std::string name;
};

struct NameCase {
  std::string text;  // expected spans marked with [[ and ]]
  std::vector<Expected> found;
};

// Strips the [[ ]] markers: the text and each marked span, in order.
std::pair<std::string, std::vector<std::pair<std::size_t, std::size_t>>> Unmark(
    const std::string& marked) {
  std::string text;
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  for (std::size_t i = 0; i < marked.size();) {
    if (marked.compare(i, 2, "[[") == 0) {
      spans.push_back({text.size(), 0});
      i += 2;
    } else if (marked.compare(i, 2, "]]") == 0) {
      spans.back().second = text.size();
      i += 2;
    } else {
      text += marked[i++];
    }
  }
  return {text, spans};
}

const NameCase kNameCases[] = {
    // hyphens, spaces and punctuation between the parts
    {"I back [[Long-Bailey]].", {{"rlb", "Long-Bailey"}}},
    {"[[Long Bailey]] for leader", {{"rlb", "Long-Bailey"}}},
    {"[[LONG\u2011BAILEY]]", {{"rlb", "Long-Bailey"}}},  // non-breaking hyphen
    {"[[Long\u2010Bailey]]", {{"rlb", "Long-Bailey"}}},  // U+2010 hyphen
    {"[[Long\u2013Bailey]]", {{"rlb", "Long-Bailey"}}},  // en dash
    {"[[Long\u00A0Bailey]]", {{"rlb", "Long-Bailey"}}},  // no-break space
    {"[[long_bailey]]", {{"rlb", "Long-Bailey"}}},
    {"[[Long \u2014 Bailey]]", {{"rlb", "Long-Bailey"}}},
    {"[[LongBailey]]", {{"rlb", "Long-Bailey"}}},  // joined: documented to match
    {"#[[LongBailey]]", {{"rlb", "Long-Bailey"}}},
    {"[[Long\u2014Bailey]]", {{"rlb", "Long-Bailey"}}},  // em dash
    // possessives and apostrophes
    {"[[long bailey]]'s plan", {{"rlb", "Long-Bailey"}}},
    {"[[Long-Bailey]]\u2019s plan", {{"rlb", "Long-Bailey"}}},
    {"[[Keir Starmer]]'s team", {{"ks", "Keir Starmer"}}},
    {"[[Starmer]]'s", {{"ks", "Starmer"}}},
    // the longest of a candidate's overlapping names
    {"[[Rebecca Long-Bailey]]", {{"rlb", "Rebecca Long-Bailey"}}},
    {"[[Rebecca\nLong-Bailey]]", {{"rlb", "Rebecca Long-Bailey"}}},
    // word boundaries: inside another word is no match
    {"Starmerite policies", {}},
    {"the Starmers", {}},
    {"Long-Baileys", {}},
    {"belong bailey", {}},
    {"Keira and Nandyism", {}},
    {"Long or Bailey, Rebecca", {}},
    {"Star-x-mer", {}},
    {"RLBs", {}},
    {"[[rlb]]2", {{"rlb", "RLB"}}},
    {"#[[Starmer]]4Leader", {{"ks", "Starmer"}}},
    // case and accents
    {"the [[starmer]] era", {{"ks", "Starmer"}}},
    {"[[STARMER]] STARMERITE", {{"ks", "Starmer"}}},
    {"[[N\u00E1ndy]]", {{"ln", "Nandy"}}},
    {"[[Na\u0301ndy]]", {{"ln", "Nandy"}}},  // decomposed accent
    {"[[N\u00C1NDY]]!", {{"ln", "Nandy"}}},
    // invisible characters inside the name
    {"[[Star\u200Bmer]]", {{"ks", "Starmer"}}},
    {"[[Star\u00ADmer]]", {{"ks", "Starmer"}}},
    {"[[Sta\u200Drmer]]", {{"ks", "Starmer"}}},
    {"[[Long\u2060-\u2060Bailey]]", {{"rlb", "Long-Bailey"}}},
    {"\uFEFF[[Starmer]]", {{"ks", "Starmer"}}},
    // look-alike letters
    {"[[\u0405tarmer]]", {{"ks", "Starmer"}}},                // Cyrillic DZE
    {"[[St\u0430rm\u0435r]]", {{"ks", "Starmer"}}},           // Cyrillic a, ie
    {"[[L\u03BFng-Baile\u0443]]", {{"rlb", "Long-Bailey"}}},  // Greek omicron, Cyrillic u
    {"[[\uFF33\uFF54\uFF41\uFF52\uFF4D\uFF45\uFF52]]", {{"ks", "Starmer"}}},  // fullwidth
    {"[[T0m]] and [[R1B]]", {{"tw", "Tom"}, {"rlb", "RLB"}}},
    {"[[Starrner]]", {{"ks", "Starmer"}}},  // "rn" for "m" in a long name
    {"I was torn", {}},                     // but not for a short one
    {"[[S t a r m e r]]", {{"ks", "Starmer"}}},
    // initials and aliases: whole tokens only
    {"[[RLB]] will win", {{"rlb", "RLB"}}},
    {"[[R.L.B]].", {{"rlb", "RLB"}}},
    {"[[\uFF32\uFF2C\uFF22]]", {{"rlb", "RLB"}}},
    {"a rib and a herb", {}},
    // several candidates, and lines
    {"[[Starmer]] and [[Nandy]] debated [[Long-Bailey]]",
     {{"ks", "Starmer"}, {"ln", "Nandy"}, {"rlb", "Long-Bailey"}}},
    {"[[Nandy]], [[Nandy]]", {{"ln", "Nandy"}, {"ln", "Nandy"}}},
    {"[[Tom]] [[Keir]]", {{"tw", "Tom"}, {"ks", "Keir"}}},
    {"", {}},
    {"no candidates here at all", {}},
};

class NameCaseTest : public testing::TestWithParam<NameCase> {};

TEST_P(NameCaseTest, FindsExactlyTheMarkedSpans) {
  const NameCase& c = GetParam();
  auto [text, spans] = Unmark(c.text);
  ASSERT_EQ(spans.size(), c.found.size()) << "a bad case: " << c.text;
  Result<NameMatcher> m = NameMatcher::Build(Candidates());
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  Result<std::vector<NameMatch>> found = m->Find(text);
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  ASSERT_EQ(found->size(), c.found.size()) << text;
  for (std::size_t i = 0; i < c.found.size(); ++i) {
    const NameMatch& f = (*found)[i];
    EXPECT_EQ(f.candidate, c.found[i].candidate) << text;
    EXPECT_EQ(f.name, c.found[i].name) << text;
    EXPECT_EQ(f.begin, spans[i].first) << text;
    EXPECT_EQ(f.end, spans[i].second) << text;
    EXPECT_EQ(f.line, 1 + std::count(text.begin(), text.begin() + spans[i].first, '\n'));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, NameCaseTest, testing::ValuesIn(kNameCases),
                         [](const testing::TestParamInfo<NameCase>& info) {
                           return "Case" + std::to_string(info.index);
                         });

TEST(NameMatcherTest, LineOfEachMatch) {
  Result<NameMatcher> m = NameMatcher::Build(Candidates());
  ASSERT_TRUE(m.has_value());
  std::string text = "Dear members,\n\nVote for Lisa\nNandy.\r\nOr Starmer.";
  Result<std::vector<NameMatch>> found = m->Find(text);
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].name, "Lisa Nandy");
  EXPECT_EQ((*found)[0].line, 3);
  EXPECT_EQ(text.substr((*found)[0].begin, (*found)[0].end - (*found)[0].begin), "Lisa\nNandy");
  EXPECT_EQ((*found)[1].name, "Starmer");
  EXPECT_EQ((*found)[1].line, 5);
}

TEST(NameMatcherTest, DifferentCandidatesMayOverlap) {
  Result<NameMatcher> m =
      NameMatcher::Build({{"a", {"Ann Lee"}}, {"b", {"Lee Smith"}}, {"c", {"Lee"}}});
  ASSERT_TRUE(m.has_value());
  Result<std::vector<NameMatch>> found = m->Find("Ann Lee Smith");
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->size(), 3u);
  EXPECT_EQ((*found)[0].candidate, "a");
  EXPECT_EQ((*found)[0].begin, 0u);
  EXPECT_EQ((*found)[0].end, 7u);
  EXPECT_EQ((*found)[1].candidate, "c");
  EXPECT_EQ((*found)[1].begin, 4u);
  EXPECT_EQ((*found)[1].end, 7u);
  EXPECT_EQ((*found)[2].candidate, "b");
  EXPECT_EQ((*found)[2].begin, 4u);
  EXPECT_EQ((*found)[2].end, 13u);
}

TEST(NameMatcherTest, RefusesBadText) {
  Result<NameMatcher> m = NameMatcher::Build(Candidates());
  ASSERT_TRUE(m.has_value());
  Result<std::vector<NameMatch>> bad = m->Find("Starmer \xFF");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "the text is not valid UTF-8 (byte 8)");
  Result<std::vector<NameMatch>> big = m->Find(std::string(kMaxTextBytes + 1, 'a'));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), StatusCode::kInvalidArgument);
}

TEST(NameMatcherTest, RefusesTooManyMatches) {
  Result<NameMatcher> m = NameMatcher::Build(Candidates());
  ASSERT_TRUE(m.has_value());
  std::string text;
  for (std::size_t i = 0; i < kMaxNameMatches; ++i) text += "Nandy ";
  Result<std::vector<NameMatch>> found = m->Find(text);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->size(), kMaxNameMatches);
  Result<std::vector<NameMatch>> over = m->Find(text + "Nandy");
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(over.error().message(), "the text names candidates more than 10000 times");
}

TEST(NameMatcherTest, RefusesBadNames) {
  auto error = [](std::vector<NameEntry> entries) {
    Result<NameMatcher> m = NameMatcher::Build(entries);
    return m.has_value() ? std::string("built") : m.error().message();
  };
  EXPECT_EQ(error({{"a", {""}}}), "candidate 'a' name 1 is empty");
  EXPECT_EQ(error({{"a", {"Ann", "  "}}}), "candidate 'a' name 2 is empty");
  EXPECT_EQ(error({{"a", {"--- 2020"}}}), "candidate 'a' name 1 has no letters");
  EXPECT_EQ(error({{"a", {"\xC3"}}}), "candidate 'a' name 1 is not valid UTF-8 (byte 0)");
  EXPECT_EQ(error({{"a", {std::string(201, 'x')}}}),
            "candidate 'a' name 1 is 201 bytes; the limit is 200");
  EXPECT_EQ(error({{"a", {std::string(200, 'x')}}}), "built");
  std::vector<NameEntry> many(2);
  many[0] = {"a", std::vector<std::string>(500, "Ann")};
  many[1] = {"b", std::vector<std::string>(500, "Bea")};
  EXPECT_EQ(error(many), "built");
  many[1].names.push_back("Bee");
  EXPECT_EQ(error(many), "the candidates have 1001 names and aliases; the limit is 1000");
}

TEST(NameMatcherTest, MovedMatcherStillWorks) {
  Result<NameMatcher> built = NameMatcher::Build(Candidates());
  ASSERT_TRUE(built.has_value());
  NameMatcher m = std::move(built).value();
  NameMatcher other = std::move(m);
  Result<std::vector<NameMatch>> found = other.Find("Nandy");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->size(), 1u);
}

// Arbitrary bytes and arbitrary code points: only the documented errors, and
// spans that lie inside the text on character boundaries.
TEST(TextRobustnessTest, ArbitraryInput) {
  Result<NameMatcher> m = NameMatcher::Build(Candidates());
  ASSERT_TRUE(m.has_value());
  std::mt19937 rng(15);
  const char32_t kInteresting[] = {'a',    'm',    'r',    'n',     '-',    '\'',   '@',
                                   '.',    ',',    ':',    '/',     ' ',    '\n',   'w',
                                   '0',    '1',    0x2019, 0x2011,  0x200B, 0x00AD, 0x0301,
                                   0x0405, 0x0430, 0x4E00, 0x1F600, 0xFF33, 0xFEFF, 0x0E31};
  for (int round = 0; round < 2000; ++round) {
    std::string bytes;
    int len = static_cast<int>(rng() % 64);
    if (round % 2 == 0) {
      for (int i = 0; i < len; ++i) bytes += static_cast<char>(rng() & 0xFF);
    } else {
      for (int i = 0; i < len; ++i) {
        char32_t c = rng() % 3 == 0 ? kInteresting[rng() % std::size(kInteresting)]
                                    : static_cast<char32_t>(rng() % 0x30000);
        if (c >= 0xD800 && c <= 0xDFFF) c = 'x';
        AppendUtf8(c, bytes);
      }
      if (round % 4 == 1) bytes = "Starmer " + bytes + " Long-Bailey";
    }
    Result<int> words = CountWords(bytes);
    if (!words.has_value()) {
      EXPECT_EQ(words.error().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(round % 2, 0) << "valid UTF-8 was refused";
    } else {
      EXPECT_GE(*words, 0);
    }
    Result<std::vector<NameMatch>> found = m->Find(bytes);
    EXPECT_EQ(found.has_value(), words.has_value());
    if (!found.has_value()) {
      EXPECT_EQ(found.error().code(), StatusCode::kInvalidArgument);
      continue;
    }
    if (round % 4 == 1) {
      EXPECT_GE(found->size(), 2u) << "the names around the noise";
    }
    for (const NameMatch& f : *found) {
      ASSERT_LT(f.begin, f.end);
      ASSERT_LE(f.end, bytes.size());
      EXPECT_NE(static_cast<unsigned char>(bytes[f.begin]) & 0xC0, 0x80);
      if (f.end < bytes.size()) {
        EXPECT_NE(static_cast<unsigned char>(bytes[f.end]) & 0xC0, 0x80);
      }
    }
  }
}

}  // namespace
}  // namespace switchboard::contest
