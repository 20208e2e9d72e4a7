// The message-handling half of DKIM (RFC 6376): splitting a message into
// header fields and body, relaxed canonicalisation (§3.4.2, §3.4.4), and the
// bytes a signature covers (§3.7). No keys and no I/O; pure functions, safe
// from any thread. DkimSigner (mail/dkim.h) is built on these.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace switchboard::mail::dkim {

// One header field as written: `raw` runs from the first byte of the name to
// the end of its last line, folding included, without the final CRLF.
struct HeaderField {
  std::string_view raw;
  std::string name;  // lower-cased, blanks before the colon dropped
};

struct SplitMessageResult {
  std::vector<HeaderField> fields;  // top to bottom
  std::string_view body;            // after the empty line
};

// Splits a message at CRLFs (a lone CR or LF is an ordinary byte).
// kInvalidArgument when a line in the header block has no colon, an empty
// name or a name that is not printable ASCII, the block starts with a
// continuation line, or there is no empty line ending the block.
Result<SplitMessageResult> SplitMessage(std::string_view crlf_message);

// Appends the field relaxed (§3.4.2): "name:value\r\n" with the name
// lower-cased, the value unfolded, runs of blanks made one space and blanks
// at both ends of the value (and before the colon) removed.
void AppendRelaxedHeader(std::string_view raw_field, std::string* out);

// Appends the body relaxed (§3.4.4): blanks at line ends removed, runs of
// blanks made one space, empty lines at the end removed, a last line without
// CRLF given one (its trailing blanks, not being at a line end, stay as one
// space, as libopendkim and Python's dkim have it). An empty body (or one of
// empty lines only) stays empty.
// Lines end at CRLF; a lone CR or LF is an ordinary byte.
void AppendRelaxedBody(std::string_view body, std::string* out);

// The bytes a signature covers (§3.7): the fields `h` names (lower-case),
// each name taking the next unused instance from the bottom of the block
// and contributing nothing when none is left, relaxed; then
// `signature_field` (the DKIM-Signature field with an empty b= value),
// relaxed and without its final CRLF.
std::string SignedHeaderData(const std::vector<HeaderField>& fields,
                             const std::vector<std::string>& h, std::string_view signature_field);

// Base64 (RFC 4648, with padding) of SHA-256 of the relaxed body: the bh= value.
std::string BodyHash(std::string_view body);

// RFC 4648 base64 with padding, no line breaks.
std::string Base64(std::string_view bytes);

}  // namespace switchboard::mail::dkim
