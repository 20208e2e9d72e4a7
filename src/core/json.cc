#include "core/json.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <vector>

namespace switchboard {

namespace {

using json = nlohmann::json;

// A byte iterator that records how far the lexer has read, so a refusal made
// in a SAX callback can name its offset.
class CountingIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator() = default;
  CountingIterator(const char* p, const char** furthest) : p_(p), furthest_(furthest) {}
  reference operator*() const { return *p_; }
  CountingIterator& operator++() {
    ++p_;
    if (p_ > *furthest_) *furthest_ = p_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator& o) const { return p_ == o.p_; }
  bool operator!=(const CountingIterator& o) const { return p_ != o.p_; }

 private:
  const char* p_ = nullptr;
  const char** furthest_ = nullptr;
};

// Builds the value from SAX events (as nlohmann's own DOM builder does),
// checking the limits and rules as it goes; returning false stops the parse.
class Builder {
 public:
  Builder(json& root, const JsonLimits& limits) : root_(root), limits_(limits) {}

  JsonFault fault() const { return fault_; }
  std::size_t syntax_offset() const { return syntax_offset_; }

  bool null() { return Value(nullptr); }
  bool boolean(bool v) { return Value(v); }
  bool number_integer(json::number_integer_t v) { return Value(v); }
  bool number_unsigned(json::number_unsigned_t v) {
    if (v > static_cast<json::number_unsigned_t>(std::numeric_limits<std::int64_t>::max())) {
      return Fail(JsonFault::kNumberOutOfRange);
    }
    return Value(v);
  }
  bool number_float(json::number_float_t v, const json::string_t&) {
    // 2^63: the first magnitude no signed 64-bit integer holds.
    constexpr double kLimit = 9223372036854775808.0;
    if (!std::isfinite(v) || std::fabs(v) >= kLimit) return Fail(JsonFault::kNumberOutOfRange);
    return Value(v);
  }
  bool string(json::string_t& v) {
    if (std::memchr(v.data(), 0, v.size())) return Fail(JsonFault::kNulCharacter);
    return Value(std::move(v));
  }
  bool binary(json::binary_t&) { return Fail(JsonFault::kSyntax); }  // never from JSON text
  bool start_object(std::size_t) { return Start(json::value_t::object); }
  bool start_array(std::size_t) { return Start(json::value_t::array); }
  bool end_object() { return End(); }
  bool end_array() { return End(); }
  bool key(json::string_t& k) {
    if (std::memchr(k.data(), 0, k.size())) return Fail(JsonFault::kNulCharacter);
    json& object = *stack_.back();
    if (object.find(k) != object.end()) return Fail(JsonFault::kDuplicateKey);
    slot_ = &object[std::move(k)];
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) {
    syntax_offset_ = position;
    // 406: a number the lexer read but no double can hold (1e400).
    if (fault_ == JsonFault::kNone) {
      fault_ = ex.id == 406 ? JsonFault::kNumberOutOfRange : JsonFault::kSyntax;
    }
    return false;
  }

 private:
  bool Fail(JsonFault f) {
    fault_ = f;
    return false;
  }
  bool Count() {
    if (++values_ > limits_.max_values) return Fail(JsonFault::kTooManyValues);
    return true;
  }
  // Places `v` where the next value goes; returns where it went.
  json* Place(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.get_ref<json::array_t&>().emplace_back(std::move(v));
      return &parent.get_ref<json::array_t&>().back();
    }
    *slot_ = std::move(v);
    return slot_;
  }
  template <typename T>
  bool Value(T&& v) {
    if (!Count()) return false;
    Place(json(std::forward<T>(v)));
    return true;
  }
  bool Start(json::value_t type) {
    if (static_cast<int>(stack_.size()) + 1 > limits_.max_depth) return Fail(JsonFault::kTooDeep);
    if (!Count()) return false;
    stack_.push_back(Place(json(type)));
    return true;
  }
  bool End() {
    stack_.pop_back();
    return true;
  }

  json& root_;
  const JsonLimits& limits_;
  std::vector<json*> stack_;
  json* slot_ = nullptr;  // the object member the next value fills
  std::size_t values_ = 0;
  JsonFault fault_ = JsonFault::kNone;
  std::size_t syntax_offset_ = 0;
};

std::string Describe(JsonFault f, const JsonLimits& limits, std::size_t offset) {
  const std::string at = " (at byte " + std::to_string(offset) + ")";
  switch (f) {
    case JsonFault::kNone:
      return "";
    case JsonFault::kSyntax:
      return "is not valid JSON" + at;
    case JsonFault::kTooLarge:
      return "is larger than " + std::to_string(limits.max_bytes) + " bytes";
    case JsonFault::kTooDeep:
      return "nests arrays and objects deeper than " + std::to_string(limits.max_depth) +
             " levels" + at;
    case JsonFault::kTooManyValues:
      return "holds more than " + std::to_string(limits.max_values) + " values" + at;
    case JsonFault::kDuplicateKey:
      return "repeats a key within one object" + at;
    case JsonFault::kNumberOutOfRange:
      return "holds a number outside the signed 64-bit range" + at;
    case JsonFault::kNulCharacter:
      return "holds a string with the NUL character (\\u0000)" + at;
  }
  return "";
}

}  // namespace

std::string_view JsonFaultCode(JsonFault fault) {
  switch (fault) {
    case JsonFault::kNone:
      return "ok";
    case JsonFault::kSyntax:
      return "invalid_json";
    case JsonFault::kTooLarge:
      return "json_too_large";
    case JsonFault::kTooDeep:
      return "json_too_deep";
    case JsonFault::kTooManyValues:
      return "json_too_many_values";
    case JsonFault::kDuplicateKey:
      return "json_duplicate_key";
    case JsonFault::kNumberOutOfRange:
      return "json_number_out_of_range";
    case JsonFault::kNulCharacter:
      return "json_nul_character";
  }
  return "invalid_json";
}

Result<nlohmann::json> ParseJson(std::string_view text, const JsonLimits& limits,
                                 JsonError* error) {
  JsonFault fault = JsonFault::kNone;
  std::size_t offset = 0;
  json out;
  if (text.size() > limits.max_bytes) {
    fault = JsonFault::kTooLarge;
  } else {
    const char* furthest = text.data();
    Builder b(out, limits);
    const bool ok = json::sax_parse(CountingIterator(text.data(), &furthest),
                                    CountingIterator(text.data() + text.size(), &furthest), &b);
    if (!ok) {
      fault = b.fault() == JsonFault::kNone ? JsonFault::kSyntax : b.fault();
      offset = b.syntax_offset() != 0 ? b.syntax_offset()
                                      : static_cast<std::size_t>(furthest - text.data());
    }
  }
  if (fault == JsonFault::kNone) return out;
  JsonError e{fault, offset, Describe(fault, limits, offset)};
  Status st = Status::InvalidArgument("the JSON " + e.message);
  if (error) *error = std::move(e);
  return st;
}

}  // namespace switchboard
