// An RFC 4180 CSV reader over an in-memory buffer, and a read-only mapping of
// a file to give it one.
//
// The reader splits records and fields and nothing more: it hands back field
// bytes as they are in the file (invalid UTF-8 included; checking text is the
// caller's job). It is built for untrusted input: it never buffers more than
// Options::max_record_bytes of one record, reports a malformed record with the
// line and column of the problem and carries on with the next record, and
// makes progress on every call. A Reader is not thread-safe; it borrows the
// buffer, which must outlive it.
//
// Accepted: an optional UTF-8 byte order mark at the start; LF, CRLF or lone CR
// line ends; quoted fields with "" escapes and embedded line ends; a final
// record without a line end. Blank lines are skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace switchboard::csv {

struct Options {
  // The byte separating fields. Must not be '"', '\r', '\n' or '\0'.
  char delimiter = ',';
  // A record (excluding its line end) longer than this many bytes is reported
  // as bad and skipped without being buffered. At least 1.
  size_t max_record_bytes = 1 << 20;
  // A record with more fields than this is reported as bad. At least 1.
  size_t max_fields = 512;
};

// OK, or kInvalidArgument saying which option is unusable. Check options that
// come from outside the program before constructing a Reader, which treats
// invalid options as a bug.
Status ValidateOptions(const Options& options);

struct Record {
  std::vector<std::string> fields;  // unquoted values, bytes as in the file
  uint64_t line = 0;                // 1-based physical line where the record starts
  uint64_t end_line = 0;            // physical line where it ends (quoted line ends)
};

enum class Next { kRecord, kBadRecord, kEnd };

class Reader {
 public:
  // `data` must outlive the reader; `options` must pass ValidateOptions.
  explicit Reader(std::string_view data, Options options = {});

  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Reads the next record into *record, reusing its strings' storage.
  //  kRecord: *record is filled.
  //  kBadRecord: record->line and end_line are set, record->fields holds the
  //    fields split before the problem (possibly none), and *error (if not
  //    null) says what is wrong and where, e.g. "line 12, column 7: a quote
  //    inside an unquoted field"; columns count characters from 1. The bad
  //    record ends with the line its problem is on (for a NUL inside a quoted
  //    field, the line where that field closes), and a quote not closed before
  //    the end of the input or within max_record_bytes ends it at the line
  //    where the quote was opened; reading resumes on the next line, so one
  //    stray quote costs one record, not the rest of the file.
  //  kEnd: no more input; bytes_consumed() == data.size().
  // *error is left alone for kRecord and kEnd. Messages quote no field data.
  Next Read(Record* record, std::string* error);

  // How many bytes of the buffer have been consumed (for progress reports).
  uint64_t bytes_consumed() const { return pos_; }

 private:
  enum class Stop : uint8_t { kFieldEnd, kRecordEnd };

  bool IsLineEnd(size_t pos) const;
  // The first line end at or after `from`, or the end of the data.
  size_t FindLineEnd(size_t from) const;
  // Consumes the line end at pos_ (LF, CRLF or CR) and counts the new line.
  void ConsumeLineEnd();
  // The 1-based character column of `pos`, which is on the current line.
  uint64_t ColumnOf(size_t pos) const;
  // Marks the record bad and stops storing its fields; the message names the
  // earliest problem found in the record.
  void Fail(size_t pos, std::string_view what);
  // Fail(), then ends the record at the end of the line holding `pos`.
  Stop Abandon(size_t pos, std::string_view what);
  Stop OverLimit(size_t pos);

  // Each reads one field starting at pos_ into *field and leaves pos_ after
  // the delimiter (kFieldEnd) or at the record's line end or the end of the
  // data (kRecordEnd).
  Stop ReadUnquoted(std::string* field);
  Stop ReadQuoted(std::string* field);
  Stop AfterQuoted();

  std::string_view data_;
  Options options_;
  size_t pos_ = 0;
  uint64_t line_ = 1;          // physical line of pos_
  size_t line_start_ = 0;      // offset where that line starts
  uint8_t classes_[256] = {};  // which bytes end a run of field data

  // State of the record being read.
  size_t limit_ = 0;  // offset of the first byte past max_record_bytes (or the end)
  bool storing_ = true;
  bool bad_ = false;
  size_t error_pos_ = 0;  // where the reported problem is
  std::string* error_ = nullptr;
};

// A whole file mapped read-only into memory. Empty files work (data() is
// empty). The file must not be truncated while mapped. Thread-safe to read.
// Writing. Every CSV the product writes goes through AppendRow, which quotes
// fields as RFC 4180 needs and neutralises spreadsheet formulas (OWASP, "CSV
// Injection"): a field that begins with '=', '+', '-', '@', a tab or a
// carriage return is written with an apostrophe before it, so a spreadsheet
// shows it as text instead of running it (=HYPERLINK(...) would otherwise
// send data to another site when clicked). A field that already starts with
// apostrophes before such a character gets one more, so the change can always
// be undone; such fields are always quoted. Readers undo it with Unneutralise.

// The field as it goes into a file: neutralised, then quoted when needed.
std::string FormatField(std::string_view field);
// Appends the fields, comma-separated, and "\r\n" (RFC 4180's line end).
void AppendRow(std::string* out, const std::vector<std::string>& fields);
// Whether FormatField puts an apostrophe before `field`: it starts, after any
// apostrophes, with one of = + - @ tab CR.
bool NeedsNeutralising(std::string_view field);
// `field` without the apostrophe FormatField added ("'=1" -> "=1", "''=1" ->
// "'=1"); any other field unchanged.
std::string_view Unneutralise(std::string_view field);

class MappedFile {
 public:
  // Fails with kNotFound when the path does not exist, kInvalidArgument when
  // it is not a regular file, and otherwise kFailedPrecondition; messages name
  // the path and the system's reason.
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view data() const { return {static_cast<const char*>(address_), size_}; }

 private:
  MappedFile(void* address, size_t size) : address_(address), size_(size) {}

  void* address_ = nullptr;
  size_t size_ = 0;
};

}  // namespace switchboard::csv
