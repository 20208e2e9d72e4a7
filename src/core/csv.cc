#include "core/csv.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace switchboard::csv {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Bits of Reader::classes_.
constexpr uint8_t kEndsUnquoted = 1;  // delimiter, quote, CR, LF, NUL
constexpr uint8_t kEndsQuoted = 2;    // quote, CR, LF, NUL

// Field buffers larger than this are released rather than reused, so a file
// of huge fields in different columns cannot pin max_fields huge buffers.
constexpr size_t kKeepFieldCapacity = size_t{16} * 1024;

bool IsLineEndByte(char c) { return c == '\n' || c == '\r'; }

// strerror_r comes in an XSI (int) and a GNU (char*) flavour; accept either.
[[maybe_unused]] const char* ErrnoMessage(int result, const char* buffer) {
  return result == 0 ? buffer : "unknown error";
}
[[maybe_unused]] const char* ErrnoMessage(const char* result, const char* /*buffer*/) {
  return result;
}

std::string ErrnoText(int err) {
  char buffer[256] = {};
  return ErrnoMessage(strerror_r(err, buffer, sizeof buffer), buffer);
}

}  // namespace

Status ValidateOptions(const Options& options) {
  char d = options.delimiter;
  if (d == '"' || d == '\r' || d == '\n' || d == '\0') {
    return Status::InvalidArgument("the CSV delimiter cannot be a quote, a line end or NUL");
  }
  if (options.max_record_bytes == 0) {
    return Status::InvalidArgument("the CSV record size limit must be at least 1 byte");
  }
  if (options.max_fields == 0) {
    return Status::InvalidArgument("the CSV field limit must be at least 1");
  }
  return Status::Ok();
}

Reader::Reader(std::string_view data, Options options) : data_(data), options_(options) {
  SB_CHECK(ValidateOptions(options_).ok());
  for (unsigned char c : {'"', '\r', '\n', '\0'}) classes_[c] = kEndsUnquoted | kEndsQuoted;
  classes_[static_cast<unsigned char>(options_.delimiter)] = kEndsUnquoted;
  if (data_.substr(0, kBom.size()) == kBom) {
    pos_ = kBom.size();
    line_start_ = pos_;
  }
}

bool Reader::IsLineEnd(size_t pos) const { return IsLineEndByte(data_[pos]); }

void Reader::ConsumeLineEnd() {
  SB_DCHECK(pos_ < data_.size() && IsLineEnd(pos_));
  if (data_[pos_] == '\r' && pos_ + 1 < data_.size() && data_[pos_ + 1] == '\n') ++pos_;
  ++pos_;
  ++line_;
  line_start_ = pos_;
}

uint64_t Reader::ColumnOf(size_t pos) const {
  uint64_t column = 1;
  for (size_t i = line_start_; i < pos; ++i) {
    auto byte = static_cast<unsigned char>(data_[i]);
    if (byte < 0x80 || byte > 0xBF) ++column;  // not a UTF-8 continuation byte
  }
  return column;
}

void Reader::Fail(size_t pos, std::string_view what) {
  storing_ = false;
  // Report the earliest problem. Problems are found in order except for an
  // unclosed quote, found only after scanning past later ones.
  if (bad_ && pos >= error_pos_) return;
  bad_ = true;
  error_pos_ = pos;
  if (error_ == nullptr) return;
  *error_ = "line " + std::to_string(line_) + ", column " + std::to_string(ColumnOf(pos)) + ": ";
  error_->append(what);
}

size_t Reader::FindLineEnd(size_t from) const {
  while (from < data_.size() && !IsLineEnd(from)) ++from;
  return from;
}

Reader::Stop Reader::Abandon(size_t pos, std::string_view what) {
  Fail(pos, what);
  // A bad record ends with the line its problem is on, so a problem cannot
  // pull following lines into the record.
  pos_ = FindLineEnd(pos);
  return Stop::kRecordEnd;
}

Reader::Stop Reader::OverLimit(size_t pos) {
  return Abandon(
      pos, "the record is longer than " + std::to_string(options_.max_record_bytes) + " bytes");
}

Reader::Stop Reader::ReadUnquoted(std::string* field) {
  const char* d = data_.data();
  size_t p = pos_;
  while (p < limit_ && (classes_[static_cast<unsigned char>(d[p])] & kEndsUnquoted) == 0) ++p;
  field->assign(d + pos_, p - pos_);
  if (p == limit_) {
    if (p == data_.size() || IsLineEnd(p)) {
      pos_ = p;
      return Stop::kRecordEnd;
    }
    return OverLimit(p);
  }
  char c = d[p];
  if (c == options_.delimiter) {
    pos_ = p + 1;
    return Stop::kFieldEnd;
  }
  if (IsLineEndByte(c)) {
    pos_ = p;
    return Stop::kRecordEnd;
  }
  return Abandon(p, c == '"' ? "a quote inside an unquoted field" : "a NUL byte");
}

Reader::Stop Reader::ReadQuoted(std::string* field) {
  const size_t quote = pos_;
  if (quote >= limit_) return OverLimit(quote);
  const uint64_t quote_line = line_;
  const size_t quote_line_start = line_start_;
  const char* d = data_.data();
  field->clear();
  size_t p = quote + 1;
  for (;;) {
    size_t run = p;
    while (p < limit_ && (classes_[static_cast<unsigned char>(d[p])] & kEndsQuoted) == 0) ++p;
    if (p >= limit_) break;  // not closed in time
    if (storing_) field->append(d + run, p - run);
    char c = d[p];
    if (c == '"') {
      if (p + 1 < data_.size() && d[p + 1] == '"') {
        if (p + 1 >= limit_) break;
        if (storing_) field->push_back('"');
        p += 2;
        continue;
      }
      pos_ = p + 1;
      return AfterQuoted();
    }
    if (c == '\0') {
      Fail(p, "a NUL byte");
      ++p;
      continue;
    }
    // A line end inside the field: part of the value, and a new physical line.
    size_t next = p + 1;
    if (c == '\r' && next < data_.size() && d[next] == '\n') ++next;
    if (next > limit_) break;
    if (storing_) field->append(d + p, next - p);
    p = next;
    ++line_;
    line_start_ = p;
  }
  // The quote is not closed before the end of the input or the record limit.
  // End the bad record at the line where the quote was opened and resume on
  // the next one, so a stray quote costs one record rather than the file.
  line_ = quote_line;
  line_start_ = quote_line_start;
  if (limit_ == data_.size()) {
    Fail(quote, "quote opened here is never closed");
  } else {
    Fail(quote, "quote opened here is never closed (the record would be longer than " +
                    std::to_string(options_.max_record_bytes) + " bytes)");
  }
  pos_ = FindLineEnd(quote);
  return Stop::kRecordEnd;
}

Reader::Stop Reader::AfterQuoted() {
  if (pos_ == data_.size() || IsLineEnd(pos_)) return Stop::kRecordEnd;
  if (bad_) {  // a NUL inside the field
    pos_ = FindLineEnd(pos_);
    return Stop::kRecordEnd;
  }
  if (data_[pos_] != options_.delimiter) return Abandon(pos_, "characters after a closing quote");
  if (pos_ >= limit_) return OverLimit(pos_);
  ++pos_;
  return Stop::kFieldEnd;
}

Next Reader::Read(Record* record, std::string* error) {
  SB_CHECK(record != nullptr);
  while (pos_ < data_.size() && IsLineEnd(pos_)) ConsumeLineEnd();  // blank lines
  if (pos_ >= data_.size()) return Next::kEnd;

  limit_ = data_.size() - pos_ > options_.max_record_bytes ? pos_ + options_.max_record_bytes
                                                           : data_.size();
  storing_ = true;
  bad_ = false;
  error_ = error;
  record->line = line_;

  std::vector<std::string>& fields = record->fields;
  size_t count = 0;  // fields read in full before any problem
  for (;;) {
    if (count == options_.max_fields) {
      Abandon(pos_, "more than " + std::to_string(options_.max_fields) + " fields");
      break;
    }
    if (count == fields.size()) fields.emplace_back();
    std::string* field = &fields[count];
    // Keep small buffers for the next record, not ones a huge field grew.
    if (field->capacity() > kKeepFieldCapacity) *field = std::string();
    bool quoted = pos_ < data_.size() && data_[pos_] == '"';
    Stop stop = quoted ? ReadQuoted(field) : ReadUnquoted(field);
    if (storing_) ++count;
    if (stop == Stop::kRecordEnd) break;
  }
  fields.resize(count);

  record->end_line = line_;
  if (pos_ < data_.size()) ConsumeLineEnd();
  return bad_ ? Next::kBadRecord : Next::kRecord;
}

Result<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string message = "cannot open " + path + ": " + ErrnoText(err);
    if (err == ENOENT || err == ENOTDIR) return Status::NotFound(std::move(message));
    return Status::FailedPrecondition(std::move(message));
  }
  struct stat st = {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FailedPrecondition("cannot stat " + path + ": " + ErrnoText(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("cannot map " + path + ": not a regular file");
  }
  auto size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return std::unique_ptr<MappedFile>(new MappedFile(nullptr, 0));
  }
  void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int err = errno;
  ::close(fd);
  if (address == MAP_FAILED) {
    return Status::FailedPrecondition("cannot map " + path + ": " + ErrnoText(err));
  }
  ::madvise(address, size, MADV_SEQUENTIAL);
  return std::unique_ptr<MappedFile>(new MappedFile(address, size));
}

MappedFile::~MappedFile() {
  if (address_ != nullptr) ::munmap(address_, size_);
}

namespace {

bool StartsFormula(std::string_view field) {
  return !field.empty() &&
         std::string_view("=+-@\t\r").find(field.front()) != std::string_view::npos;
}

}  // namespace

bool NeedsNeutralising(std::string_view field) {
  // A value that already starts with apostrophes before a formula character
  // gets one more, so that Unneutralise gives it back exactly.
  const size_t quotes = field.find_first_not_of('\'');
  return quotes != std::string_view::npos && StartsFormula(field.substr(quotes));
}

std::string_view Unneutralise(std::string_view field) {
  if (!field.empty() && field.front() == '\'' && NeedsNeutralising(field)) field.remove_prefix(1);
  return field;
}

std::string FormatField(std::string_view field) {
  const bool neutralise = NeedsNeutralising(field);
  if (!neutralise && field.find_first_of(",\"\r\n") == std::string_view::npos) {
    return std::string(field);
  }
  std::string out;
  out.reserve(field.size() + 4);
  out += '"';
  if (neutralise) out += '\'';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void AppendRow(std::string* out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) *out += ',';
    *out += FormatField(fields[i]);
  }
  *out += "\r\n";
}

}  // namespace switchboard::csv
