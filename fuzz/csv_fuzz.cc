// Fuzzes csv::Reader: any input must be read to the end without a crash, with
// progress on every call and the limits kept. The first two bytes pick the
// options (small limits, so the limit paths are reached often; corpus files
// start with two such bytes) and the rest is the CSV data.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/csv.h"

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  namespace csv = switchboard::csv;
  if (size < 2) return 0;
  csv::Options options;
  options.max_record_bytes = 1 + bytes[0] % 128;
  options.max_fields = 1 + bytes[1] % 16;
  if (bytes[1] & 0x80) options.delimiter = ';';
  if (bytes[0] & 0x80) options.max_record_bytes = size_t{1} << 20;
  std::string_view data(reinterpret_cast<const char*>(bytes) + 2, size - 2);

  csv::Reader reader(data, options);
  csv::Record record;
  std::string error;
  uint64_t consumed = 0;
  uint64_t end_line = 0;
  for (;;) {
    csv::Next next = reader.Read(&record, &error);
    if (next == csv::Next::kEnd) break;
    Require(reader.bytes_consumed() > consumed);
    consumed = reader.bytes_consumed();
    Require(record.line > end_line && record.line <= record.end_line);
    end_line = record.end_line;
    Require(record.fields.size() <= options.max_fields);
    size_t field_bytes = 0;
    for (const std::string& field : record.fields) field_bytes += field.size();
    Require(field_bytes <= options.max_record_bytes);
    if (next == csv::Next::kBadRecord) Require(error.rfind("line ", 0) == 0);
  }
  Require(reader.bytes_consumed() == data.size());
  return 0;
}
