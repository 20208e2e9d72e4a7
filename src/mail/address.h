// Syntax checks shared by the MIME renderer and the SMTP client: an address
// (RFC 5322 addr-spec, ASCII only) and a domain name. Pure and thread-safe.
// Failures are kInvalidArgument naming the field, never repeating the value
// (an address is personal data).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace switchboard::mail {

// Longest address accepted (RFC 5321: 64-byte local part, 254 in all).
inline constexpr size_t kMaxAddressBytes = 254;

// `address` is local-part "@" domain with:
//  - local-part a dot-atom (RFC 5322 atext, single inner dots) or a quoted
//    string of printable ASCII and spaces (with \" and \\ escapes), 1..64 bytes;
//  - domain a host name (letters, digits and inner hyphens per label, labels
//    1..63 bytes, 253 in all) or an address literal in brackets ("[192.0.2.1]");
//  - ASCII only: an internationalised domain must be given as A-labels
//    ("xn--..."); non-ASCII local parts (SMTPUTF8) are not supported.
// `field` names the address in the error ("to.address").
Status ValidateAddress(std::string_view address, std::string_view field);

// The form of a member's address that SMTP without the SMTPUTF8 extension
// can carry: an internationalised domain converted to A-labels (IDNA2008
// with UTS #46 mapping, libidn2: "bücher.example" -> "xn--bcher-kva.example"),
// the local part unchanged. Then checked by ValidateAddress. Errors never
// repeat the address:
//  - kFailedPrecondition when the local part is not ASCII: such an address
//    (RFC 6531) needs SMTPUTF8 end to end, which delivery does not use;
//  - kInvalidArgument when the domain is not a valid IDN or the result is not
//    a valid address.
Result<std::string> ToSmtpAddress(std::string_view address);

// True when `name` is a host name as above (one or more labels), e.g. for a
// DKIM domain, selector or the EHLO name.
bool IsHostName(std::string_view name);

// RFC 5322 atext: letters, digits and !#$%&'*+-/=?^_`{|}~.
bool IsAtext(char c);

// RFC 5322 dot-atom-text: atext runs joined by single dots.
bool IsDotAtom(std::string_view s);

}  // namespace switchboard::mail
