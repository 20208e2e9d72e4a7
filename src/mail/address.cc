#include "mail/address.h"

#include <idn2.h>

#include <algorithm>
#include <memory>
#include <string>

namespace switchboard::mail {
namespace {

// '"' *(printable ASCII except '"' and '\' | SP | '\' printable-or-SP) '"'
bool IsQuotedString(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;  // the escape would eat the closing quote
      const char n = s[++i];
      if (n < 0x20 || n > 0x7e) return false;
    } else if (c == '"' || c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

bool IsLabel(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

// "[" dtext "]" with dtext printable ASCII except '[', ']' and '\'.
bool IsAddressLiteral(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    const char c = s[i];
    if (c < 0x21 || c > 0x7e || c == '[' || c == ']' || c == '\\') return false;
  }
  return true;
}

Status Invalid(std::string_view field, std::string_view why) {
  return Status::InvalidArgument(std::string(field) + " " + std::string(why));
}

}  // namespace

bool IsAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsDotAtom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!IsAtext(c)) {
      return false;
    }
    prev = c;
  }
  return true;
}

bool IsHostName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!IsLabel(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

Status ValidateAddress(std::string_view address, std::string_view field) {
  if (address.empty()) return Invalid(field, "is empty");
  for (char c : address) {
    if (c == '\r' || c == '\n' || c == '\0') return Invalid(field, "contains a line break or NUL");
  }
  for (char c : address) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      return Invalid(field, "is not ASCII (give an internationalised domain as A-labels)");
    }
    if (u < 0x20 || u == 0x7f) return Invalid(field, "contains a control character");
  }
  if (address.size() > kMaxAddressBytes) return Invalid(field, "is longer than 254 bytes");
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos) return Invalid(field, "has no '@'");
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.empty() || local.size() > 64) return Invalid(field, "has a local part not 1..64 bytes");
  if (!IsDotAtom(local) && !IsQuotedString(local)) {
    return Invalid(field, "has an invalid local part");
  }
  if (!IsHostName(domain) && !IsAddressLiteral(domain)) {
    return Invalid(field, "has an invalid domain");
  }
  return Status::Ok();
}

Result<std::string> ToSmtpAddress(std::string_view address) {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) {
    return Status::InvalidArgument("the address has no local part or no domain");
  }
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  for (char c : local) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return Status::FailedPrecondition(
          "the address has a non-ASCII local part, which needs SMTPUTF8 (RFC 6531); delivery "
          "does not use it");
    }
  }
  std::string out(local);
  out += '@';
  const bool ascii = std::all_of(domain.begin(), domain.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii || (domain.size() > 1 && domain.front() == '[')) {
    out += domain;
  } else {
    const std::string input(domain);
    char* converted = nullptr;
    const int rc =
        idn2_to_ascii_8z(input.c_str(), &converted, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    std::unique_ptr<char, decltype(&idn2_free)> owned(converted, &idn2_free);
    if (rc != IDN2_OK || converted == nullptr) {
      return Status::InvalidArgument(std::string("the address's domain is not a valid "
                                                 "internationalised domain name (") +
                                     idn2_strerror(rc) + ")");
    }
    out += converted;
  }
  SB_RETURN_IF_ERROR(ValidateAddress(out, "address"));
  return out;
}

}  // namespace switchboard::mail
