// Validation and normalisation of the contact points and names people type
// into membership files: phone numbers (libphonenumber, plus Ofcom's ranges
// reserved for drama), email addresses, names and UK postcodes.
//
// All functions are pure and thread-safe. These values are personal data:
// failure reasons are fixed phrases that never repeat the input, so a Status
// from here is safe to log or to write into a rejects file beside the row's
// line number. Phone and Email have no formatter; never log one.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace switchboard::members {

enum class PhoneKind { kMobile, kFixed, kOther };

struct Phone {
  std::string e164;                    // "+447700900123"
  PhoneKind kind = PhoneKind::kOther;  // kOther also when a region does not say
  bool reserved_drama_range = false;   // inside an Ofcom range reserved for drama
};

// Parses a phone number written by a person ("07700 900123", "+44 20 7946
// 0018", "0044 7700 900123"), reading it in `default_region` (ISO 3166 code)
// when it has no country code. Accepts a number that libphonenumber calls
// possible and that is either valid or inside an Ofcom drama range. Fails with
// kInvalidArgument and a reason such as "contains letters", "too short to be a
// phone number", "too long to be a phone number" or "not a valid number for
// its region"; the reason never repeats the input.
Result<Phone> NormalisePhone(std::string_view input, std::string_view default_region = "GB");

// True when `e164` (as produced by NormalisePhone) lies in one of the UK
// ranges Ofcom reserves for TV, radio and film, such as 07700 900xxx.
bool IsOfcomDramaNumber(std::string_view e164);

struct Email {
  std::string address;    // as given, without surrounding whitespace
  std::string match_key;  // case-folded address, for finding duplicates
};

// Validates an email address: surrounding whitespace is trimmed; one '@'
// (outside a quoted local part); a local part of 1..64 bytes without spaces or
// control characters, and for an unquoted local part no leading, trailing or
// doubled dots; a domain of at most 253 bytes with at least two labels of
// 1..63 bytes, each letters, digits and inner hyphens, or an internationalised
// label kept as given; a top-level domain that is not all digits. Fails with
// kInvalidArgument and a reason that never repeats the input.
Result<Email> NormaliseEmail(std::string_view input);

// A person's name: valid UTF-8 in NFC with whitespace (Unicode spaces
// included) collapsed to single spaces and trimmed, 1..100 characters, without
// control or invisible formatting characters, and containing at least one
// letter (so digits or punctuation alone are rejected). Fails with
// kInvalidArgument and a reason that never repeats the input.
Result<std::string> NormaliseName(std::string_view input);

// A UK postcode in upper case with one space before the inward code
// ("sw1a1aa" -> "SW1A 1AA"; "GIR 0AA" is accepted). Checks the shape (outward
// code A9, A99, AA9, AA99, A9A or AA9A; inward code 9AA without the letters
// C, I, K, M, O or V), not that the postcode exists. Fails with
// kInvalidArgument and a reason that never repeats the input.
Result<std::string> NormalisePostcode(std::string_view input);

// The outward code (postcode district) of a postcode: "SW1A 1AA" -> "SW1A".
// Returns "" when `normalised_postcode` is not a postcode NormalisePostcode
// accepts.
std::string PostcodeDistrict(std::string_view normalised_postcode);

}  // namespace switchboard::members
