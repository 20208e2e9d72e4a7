#include "members/contact.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <utf8proc.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/text.h"

namespace switchboard::members {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// Every failure goes through here with a fixed phrase: reasons never carry
// any part of the input.
Status Reject(const char* reason) { return Status::InvalidArgument(reason); }

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAsciiLetter(char c) { return IsAsciiUpper(c) || (c >= 'a' && c <= 'z'); }
bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
char AsciiUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// Decodes the code point at s[*i] and advances *i; s must be valid UTF-8.
int32_t NextCodePoint(std::string_view s, size_t* i) {
  utf8proc_int32_t cp = 0;
  utf8proc_ssize_t len = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data()) + *i,
                                          static_cast<utf8proc_ssize_t>(s.size() - *i), &cp);
  *i += len > 0 ? static_cast<size_t>(len) : 1;
  return len > 0 ? cp : 0xFFFD;
}

// Unicode general categories as the groups the checks below care about.
enum class CharClass { kLetter, kMark, kDigit, kNumber, kSpace, kControl, kInvisible, kOther };

CharClass Classify(int32_t cp) {
  if (cp < 0x80) {
    char c = static_cast<char>(cp);
    if (IsAsciiLetter(c)) return CharClass::kLetter;
    if (IsAsciiDigit(c)) return CharClass::kDigit;
    if (IsAsciiSpace(c)) return CharClass::kSpace;
    if (cp < 0x20 || cp == 0x7F) return CharClass::kControl;
    return CharClass::kOther;
  }
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return CharClass::kLetter;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      return CharClass::kMark;
    case UTF8PROC_CATEGORY_ND:
      return CharClass::kDigit;
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return CharClass::kNumber;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return CharClass::kSpace;
    case UTF8PROC_CATEGORY_CC:
      return CharClass::kControl;
    case UTF8PROC_CATEGORY_CF:
      // Zero-width (non-)joiners are part of spelling in several scripts.
      return (cp == 0x200C || cp == 0x200D) ? CharClass::kMark : CharClass::kInvisible;
    default:
      return CharClass::kOther;
  }
}

// ---------------------------------------------------------------------------
// Phones

struct DramaRange {
  const char* national_prefix;  // the national significant number's first 7 digits
  PhoneKind kind;
};

// Ofcom's numbers for drama: each range is these 7 digits followed by any 3.
constexpr std::array<DramaRange, 20> kDramaRanges = {{
    {"7700900", PhoneKind::kMobile},  // 07700 900000-900999
    {"1134960", PhoneKind::kFixed},   // 0113 496 0xxx (Leeds)
    {"1144960", PhoneKind::kFixed},   // 0114 496 0xxx (Sheffield)
    {"1154960", PhoneKind::kFixed},   // 0115 496 0xxx (Nottingham)
    {"1164960", PhoneKind::kFixed},   // 0116 496 0xxx (Leicester)
    {"1174960", PhoneKind::kFixed},   // 0117 496 0xxx (Bristol)
    {"1184960", PhoneKind::kFixed},   // 0118 496 0xxx (Reading)
    {"1214960", PhoneKind::kFixed},   // 0121 496 0xxx (Birmingham)
    {"1314960", PhoneKind::kFixed},   // 0131 496 0xxx (Edinburgh)
    {"1414960", PhoneKind::kFixed},   // 0141 496 0xxx (Glasgow)
    {"1514960", PhoneKind::kFixed},   // 0151 496 0xxx (Liverpool)
    {"1614960", PhoneKind::kFixed},   // 0161 496 0xxx (Manchester)
    {"1914980", PhoneKind::kFixed},   // 0191 498 0xxx (Tyneside)
    {"2079460", PhoneKind::kFixed},   // 020 7946 0xxx (London)
    {"2896496", PhoneKind::kFixed},   // 028 9649 6xxx (Belfast)
    {"2920180", PhoneKind::kFixed},   // 029 2018 0xxx (Cardiff)
    {"1632960", PhoneKind::kFixed},   // 01632 960xxx (no area)
    {"3069990", PhoneKind::kOther},   // 0306 999 0xxx (non-geographic)
    {"8081570", PhoneKind::kOther},   // 0808 157 0xxx (freephone)
    {"9098790", PhoneKind::kOther},   // 0909 879 0xxx (premium rate)
}};

std::optional<PhoneKind> DramaKind(std::string_view e164) {
  constexpr std::string_view kUk = "+44";
  if (e164.size() != kUk.size() + 10 || e164.substr(0, kUk.size()) != kUk) return std::nullopt;
  std::string_view national = e164.substr(kUk.size());
  for (char c : national) {
    if (!IsAsciiDigit(c)) return std::nullopt;
  }
  for (const DramaRange& range : kDramaRanges) {
    if (national.substr(0, 7) == range.national_prefix) return range.kind;
  }
  return std::nullopt;
}

// Longest input worth handing to libphonenumber; written numbers with spacing
// and a country code stay far below it.
constexpr size_t kMaxPhoneInputBytes = 64;
// More digits than any number with an international prefix can have.
constexpr int kMaxPhoneDigits = 20;

// Reduces a written number to the ASCII digits, '+' and separators
// libphonenumber reads, or says why it is not one. Letters are refused rather
// than read as a keypad ("0800 FLOWERS").
Result<std::string> CleanPhoneInput(std::string_view input) {
  std::string clean;
  int digits = 0;
  size_t i = 0;
  while (i < input.size()) {
    int32_t cp = NextCodePoint(input, &i);
    if (cp >= '0' && cp <= '9') {
      clean.push_back(static_cast<char>(cp));
      ++digits;
      continue;
    }
    if (cp == '+') {
      if (!clean.empty()) return Reject("has a plus sign that is not at the start");
      clean.push_back('+');
      continue;
    }
    if (cp == '-' || cp == '(' || cp == ')' || cp == '.' || cp == '/') {
      clean.push_back(static_cast<char>(cp));
      continue;
    }
    switch (Classify(cp)) {
      case CharClass::kSpace:
        clean.push_back(' ');
        continue;
      case CharClass::kLetter:
        return Reject("contains letters");
      default:
        if (cp >= 0x80 && utf8proc_category(cp) == UTF8PROC_CATEGORY_PD) {  // dashes
          clean.push_back('-');
          continue;
        }
        return Reject("contains characters that are not part of a phone number");
    }
  }
  if (digits == 0) return Reject("contains no digits");
  if (digits > kMaxPhoneDigits) return Reject("too long to be a phone number");
  return clean;
}

// ---------------------------------------------------------------------------
// Emails

constexpr size_t kMaxEmailBytes = 254;
constexpr size_t kMaxLocalBytes = 64;
constexpr size_t kMaxDomainBytes = 253;
constexpr size_t kMaxLabelBytes = 63;

// RFC 5322 atext, the characters of an unquoted local part besides '.'.
bool IsAtext(char c) {
  if (IsAsciiLetter(c) || IsAsciiDigit(c)) return true;
  std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
  return specials.find(c) != std::string_view::npos;
}

Status CheckLocalPart(std::string_view local, bool quoted) {
  if (local.empty() || (quoted && local.size() == 2)) return Reject("has nothing before the @");
  if (local.size() > kMaxLocalBytes) return Reject("has more than 64 bytes before the @");
  if (quoted) {
    // Printable ASCII (no space: see the whole-address check), any non-ASCII,
    // and '"' or '\' only when escaped.
    for (size_t i = 1; i + 1 < local.size(); ++i) {
      char c = local[i];
      if (c == '\\') {
        ++i;  // the closing quote search guarantees a character follows
      } else if (c == '"') {
        return Reject("has a character that is not allowed before the @");
      }
    }
    return Status::Ok();
  }
  for (char c : local) {
    if (c != '.' && !IsAtext(c) && static_cast<unsigned char>(c) < 0x80) {
      return Reject("has a character that is not allowed before the @");
    }
  }
  if (local.front() == '.' || local.back() == '.') {
    return Reject("has a dot at the start or end of the part before the @");
  }
  if (local.find("..") != std::string_view::npos) {
    return Reject("has two dots in a row before the @");
  }
  return Status::Ok();
}

Status CheckDomain(std::string_view domain) {
  if (domain.empty()) return Reject("has nothing after the @");
  if (domain.front() == '[') return Reject("has an address literal instead of a domain");
  if (domain.size() > kMaxDomainBytes) return Reject("has a domain longer than 253 bytes");
  size_t labels = 0;
  std::string_view last;
  size_t start = 0;
  for (;;) {
    size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return Reject("has an empty part in its domain");
    if (label.size() > kMaxLabelBytes) return Reject("has a domain part longer than 63 bytes");
    if (label.front() == '-' || label.back() == '-') {
      return Reject("has a domain part that starts or ends with a hyphen");
    }
    size_t i = 0;
    while (i < label.size()) {
      int32_t cp = NextCodePoint(label, &i);
      if (cp == '-') continue;
      CharClass kind = Classify(cp);
      bool ok = kind == CharClass::kLetter || kind == CharClass::kDigit ||
                (cp >= 0x80 && (kind == CharClass::kMark || kind == CharClass::kNumber));
      if (!ok) return Reject("has a character that is not allowed in its domain");
    }
    ++labels;
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (labels < 2) return Reject("has no dot in its domain");
  bool all_digits = true;
  for (char c : last) all_digits = all_digits && IsAsciiDigit(c);
  if (all_digits) return Reject("has a top-level domain made of digits");
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Names and postcodes

constexpr size_t kMaxNameChars = 100;
// Anything longer cannot be 100 characters even with combining marks.
constexpr size_t kMaxNameInputBytes = 4096;

bool IsPostcodeLetter(char c) { return IsAsciiUpper(c); }

// The two letters of the inward code never use C, I, K, M, O or V.
bool IsInwardLetter(char c) {
  return IsAsciiUpper(c) && std::string_view("CIKMOV").find(c) == std::string_view::npos;
}

// A9, A99, AA9, AA99, A9A or AA9A.
bool IsOutwardCode(std::string_view s) {
  auto letter = [&](size_t i) { return IsPostcodeLetter(s[i]); };
  auto digit = [&](size_t i) { return IsAsciiDigit(s[i]); };
  switch (s.size()) {
    case 2:
      return letter(0) && digit(1);
    case 3:
      return letter(0) && ((digit(1) && (digit(2) || letter(2))) || (letter(1) && digit(2)));
    case 4:
      return letter(0) && letter(1) && digit(2) && (digit(3) || letter(3));
    default:
      return false;
  }
}

}  // namespace

bool IsOfcomDramaNumber(std::string_view e164) { return DramaKind(e164).has_value(); }

Result<Phone> NormalisePhone(std::string_view input, std::string_view default_region) {
  std::string trimmed = text::Trim(input);
  if (trimmed.empty()) return Reject("empty");
  if (trimmed.size() > kMaxPhoneInputBytes) return Reject("too long to be a phone number");
  if (!text::IsValidUtf8(trimmed)) return Reject("not valid UTF-8");
  SB_ASSIGN_OR_RETURN(std::string clean, CleanPhoneInput(trimmed));

  std::string region;
  for (char c : default_region) region.push_back(AsciiUpper(c));

  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  switch (util.Parse(clean, region, &number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return Reject(clean[0] == '+' ? "has an unknown country code"
                                    : "has no country code and no usable default region");
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return Reject("too short to be a phone number");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return Reject("too long to be a phone number");
    default:
      return Reject("not a phone number");
  }
  if (number.has_extension()) return Reject("has an extension");

  switch (util.IsPossibleNumberWithReason(number)) {
    case PhoneNumberUtil::IS_POSSIBLE:
      break;
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
    case PhoneNumberUtil::TOO_SHORT:
      return Reject("too short to be a phone number");
    case PhoneNumberUtil::TOO_LONG:
      return Reject("too long to be a phone number");
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      return Reject("has an unknown country code");
    default:
      return Reject("the wrong length for a phone number in its region");
  }

  Phone phone;
  util.Format(number, PhoneNumberUtil::E164, &phone.e164);
  std::optional<PhoneKind> drama = DramaKind(phone.e164);
  if (drama.has_value()) {
    phone.kind = *drama;
    phone.reserved_drama_range = true;
    return phone;
  }
  if (!util.IsValidNumber(number)) return Reject("not a valid number for its region");
  switch (util.GetNumberType(number)) {
    case PhoneNumberUtil::MOBILE:
      phone.kind = PhoneKind::kMobile;
      break;
    case PhoneNumberUtil::FIXED_LINE:
      phone.kind = PhoneKind::kFixed;
      break;
    default:  // includes FIXED_LINE_OR_MOBILE, where the plan does not tell them apart
      phone.kind = PhoneKind::kOther;
      break;
  }
  return phone;
}

Result<Email> NormaliseEmail(std::string_view input) {
  std::string address = text::Trim(input);
  if (address.empty()) return Reject("empty");
  if (address.size() > kMaxEmailBytes) return Reject("longer than 254 bytes");
  if (!text::IsValidUtf8(address)) return Reject("not valid UTF-8");
  size_t i = 0;
  while (i < address.size()) {
    switch (Classify(NextCodePoint(address, &i))) {
      case CharClass::kSpace:
        return Reject("contains spaces");
      case CharClass::kControl:
        return Reject("contains control characters");
      case CharClass::kInvisible:
        return Reject("contains invisible formatting characters");
      default:
        break;
    }
  }

  std::string_view s = address;
  bool quoted = s.front() == '"';
  size_t at = std::string_view::npos;
  if (quoted) {
    for (size_t j = 1; j < s.size(); ++j) {
      if (s[j] == '\\' && j + 1 < s.size()) {
        ++j;
      } else if (s[j] == '"') {
        at = j + 1;
        break;
      }
    }
    if (at == std::string_view::npos) return Reject("has a quote that is never closed");
    if (at >= s.size() || s[at] != '@') {
      return Reject("has characters between the closing quote and the @");
    }
  } else {
    at = s.find('@');
    if (at == std::string_view::npos) return Reject("has no @");
  }
  if (s.find('@', at + 1) != std::string_view::npos) return Reject("contains more than one @");

  SB_RETURN_IF_ERROR(CheckLocalPart(s.substr(0, at), quoted));
  SB_RETURN_IF_ERROR(CheckDomain(s.substr(at + 1)));
  Email email;
  email.match_key = text::CaseFold(address);
  email.address = std::move(address);
  return email;
}

Result<std::string> NormaliseName(std::string_view input) {
  if (input.size() > kMaxNameInputBytes) return Reject("longer than 100 characters");
  if (!text::IsValidUtf8(input)) return Reject("not valid UTF-8");
  std::string spaced;
  spaced.reserve(input.size());
  bool has_letter = false;
  bool only_digits = true;
  size_t i = 0;
  while (i < input.size()) {
    size_t start = i;
    int32_t cp = NextCodePoint(input, &i);
    switch (Classify(cp)) {
      case CharClass::kSpace:
        spaced.push_back(' ');
        continue;
      case CharClass::kControl:
        return Reject("contains control characters");
      case CharClass::kInvisible:
        return Reject("contains invisible formatting characters");
      case CharClass::kLetter:
        has_letter = true;
        only_digits = false;
        break;
      case CharClass::kDigit:
        break;
      default:
        only_digits = false;
        break;
    }
    spaced.append(input.substr(start, i - start));
  }
  SB_ASSIGN_OR_RETURN(std::string name, text::NormaliseNfc(text::CollapseSpaces(spaced)));
  if (name.empty()) return Reject("empty");
  size_t chars = 0;
  for (char c : name) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  if (chars > kMaxNameChars) return Reject("longer than 100 characters");
  if (!has_letter) return Reject(only_digits ? "contains only digits" : "contains no letters");
  return name;
}

Result<std::string> NormalisePostcode(std::string_view input) {
  std::string compact;
  for (char c : input) {
    if (IsAsciiSpace(c)) continue;
    if (!IsAsciiLetter(c) && !IsAsciiDigit(c)) {
      return Reject("contains characters that are not in a postcode");
    }
    if (compact.size() == 7) return Reject("too long to be a postcode");
    compact.push_back(AsciiUpper(c));
  }
  if (compact.empty()) return Reject("empty");
  if (compact.size() < 5) return Reject("too short to be a postcode");
  std::string_view outward = std::string_view(compact).substr(0, compact.size() - 3);
  std::string_view inward = std::string_view(compact).substr(compact.size() - 3);
  bool shaped = (outward == "GIR" && inward == "0AA") ||
                (IsOutwardCode(outward) && IsAsciiDigit(inward[0]) && IsInwardLetter(inward[1]) &&
                 IsInwardLetter(inward[2]));
  if (!shaped) return Reject("not shaped like a UK postcode");
  std::string postcode(outward);
  postcode.push_back(' ');
  postcode.append(inward);
  return postcode;
}

std::string PostcodeDistrict(std::string_view normalised_postcode) {
  Result<std::string> postcode = NormalisePostcode(normalised_postcode);
  if (!postcode.has_value()) return std::string();
  return postcode->substr(0, postcode->find(' '));
}

}  // namespace switchboard::members
