// ParseJson: the one way Switchboard reads JSON it did not just write itself
// (request bodies, stored campaign columns, audit bodies read back).
//
// nlohmann's parser is iterative, but much of what follows a parse is not:
// dump(), copies and comparisons recurse once per nesting level, so a value
// nested 70,000 deep exhausts a thread's stack. ParseJson therefore builds the
// value itself from nlohmann's SAX events and refuses, before anything
// recurses, input that breaks a limit or a rule:
//   - nesting deeper than `max_depth` arrays/objects, more than `max_values`
//     values in all, or more than `max_bytes` of text;
//   - a key repeated in one object (parsers disagree on which copy wins, so a
//     proxy and this server could read two different requests);
//   - a number that is not finite or lies outside the signed 64-bit range,
//     whatever its form (1e400, 99999999999999999999): every number the
//     product reads is an id, a count or a small setting, and converting an
//     out-of-range double to an integer is undefined behaviour;
//   - a string or key containing U+0000 (no field may hold it, and
//     PostgreSQL refuses it in text).
// Syntax errors, lone surrogates ("\ud800") and ill-formed UTF-8 are refused
// by nlohmann's lexer. Every refusal names the byte offset, never the text.
//
// Thread-safe; no shared state.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace switchboard {

struct JsonLimits {
  // Arrays and objects inside one another; the top-level value is depth 1.
  int max_depth = 32;
  // Values of every kind (scalars, arrays, objects), keys not counted.
  std::size_t max_values = 100'000;
  // Size of the text.
  std::size_t max_bytes = 8u << 20;
};

enum class JsonFault {
  kNone,
  kSyntax,            // not JSON (includes lone surrogates, bad UTF-8)
  kTooLarge,          // more than max_bytes
  kTooDeep,           // nesting beyond max_depth
  kTooManyValues,     // more than max_values
  kDuplicateKey,      // a key twice in one object
  kNumberOutOfRange,  // not finite, or beyond the signed 64-bit range
  kNulCharacter,      // U+0000 in a string or key
};

// A stable machine-readable name for each fault, used as the API's error code:
// "invalid_json", "json_too_large", "json_too_deep", "json_too_many_values",
// "json_duplicate_key", "json_number_out_of_range", "json_nul_character".
std::string_view JsonFaultCode(JsonFault fault);

struct JsonError {
  JsonFault fault = JsonFault::kNone;
  std::size_t offset = 0;  // byte offset where the parse stopped
  std::string message;     // names the rule or limit and the offset
};

// Parses `text` as one JSON value under `limits` and the rules above. On
// failure returns kInvalidArgument with a message naming the rule or limit and
// the byte offset and, when `error` is given, fills it in.
Result<nlohmann::json> ParseJson(std::string_view text, const JsonLimits& limits = {},
                                 JsonError* error = nullptr);

}  // namespace switchboard
