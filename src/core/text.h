// Unicode text helpers built on utf8proc: UTF-8 validation, NFC normalisation,
// case folding and the folded form used to match names.
//
// All functions are pure and thread-safe. Functions returning std::string never
// fail: where the input is not valid UTF-8 each invalid byte is replaced by
// U+FFFD first, so callers that must reject invalid input check IsValidUtf8 or
// use NormaliseNfc. Whitespace here means ASCII whitespace (space, \t, \n, \v,
// \f, \r) unless a function says otherwise.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace switchboard::text {

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// The offset of the first byte that does not start a well-formed UTF-8
// sequence, or std::string_view::npos when `s` is valid.
size_t FirstInvalidUtf8Byte(std::string_view s);

// `s` in Unicode Normalisation Form C. Fails with kInvalidArgument (naming the
// byte offset, never the text) when `s` is not valid UTF-8.
Result<std::string> NormaliseNfc(std::string_view s);

// Full Unicode case folding, in NFC ("Straße" -> "strasse").
std::string CaseFold(std::string_view s);

// The key two spellings of a name share when a person would call them the
// same: case folded, compatibility-decomposed with accents and other combining
// marks removed, Unicode spaces and dashes mapped to ASCII, default-ignorable
// characters dropped, whitespace collapsed and trimmed ("Zoë  ÉLISE " ->
// "zoe elise").
std::string FoldForMatch(std::string_view s);

// `s` without leading and trailing ASCII whitespace.
std::string Trim(std::string_view s);

// `s` safe inside HTML text and quoted attribute values: & < > " ' escaped.
std::string EscapeHtml(std::string_view s);

// `s` with each run of ASCII whitespace replaced by one space, and leading and
// trailing whitespace removed ("  a \t b " -> "a b").
std::string CollapseSpaces(std::string_view s);

}  // namespace switchboard::text
