// Builds an outgoing email as RFC 5322 / MIME text with GMime 3.
//
// RenderMessage validates every field first and refuses rather than repairs:
// a header value that could smuggle a second header, an address that is not
// an addr-spec, input over the size limits. Errors are kInvalidArgument and
// name the field ("to.display_name", "extra_headers[1].value"), never its
// value, which may be personal data.
//
// Thread-safe: GMime is initialised once (std::call_once) on first use and
// each call builds its own objects, so any number of threads may render at
// once. Nothing is logged.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace switchboard::mail {

struct Mailbox {
  std::string display_name;  // any UTF-8 without control characters; may be empty
  std::string address;       // addr-spec, ASCII (see mail/address.h)
};

struct OutgoingMessage {
  Mailbox from;                     // From:
  std::optional<Mailbox> sender;    // Sender: the real sending account when From is
                                    // someone on whose behalf it is sent
  Mailbox to;                       // To: exactly one recipient
  std::optional<Mailbox> reply_to;  // Reply-To:
  std::string subject;              // UTF-8; RFC 2047-encoded when not ASCII; may be empty
  std::string text_body;            // required, UTF-8
  std::string html_body;            // optional (empty: none); when present the message is
                                    // multipart/alternative, text first, then HTML
  // Message-ID chosen by the caller (stable per recipient so a retry is the
  // same message), with or without the angle brackets: "<abc.123@mail.example.org>".
  // Both sides of the '@' are dot-atoms. Never generated here.
  std::string message_id;
  Micros date = 0;  // Date: (UTC, seconds precision) from the caller's Clock
  // Further header fields in this order, e.g. List-Unsubscribe,
  // List-Unsubscribe-Post, List-Id, X-Switchboard-Message. Names are RFC 5322
  // field names, unique (ignoring case), and not one of kReservedHeaderNames
  // nor starting with "Content-" or "Resent-". Values are printable ASCII
  // (URIs, ids, tokens: nothing here is RFC 2047-encoded), written as given
  // and folded at spaces.
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

// Limits. A longer input is refused, never truncated.
inline constexpr size_t kMaxBodyBytes = 2 * 1024 * 1024;  // each of text_body and html_body
inline constexpr size_t kMaxDisplayNameBytes = 256;       // UTF-8 bytes, before encoding
inline constexpr size_t kMaxSubjectBytes = 998;           // UTF-8 bytes, before encoding
inline constexpr size_t kMaxHeaderFieldBytes = 998;       // any header field once encoded
                                                          // and unfolded, name included
inline constexpr size_t kMaxExtraHeaders = 32;
inline constexpr size_t kMaxMessageIdBytes = 250;

// Header names only RenderMessage writes (compared ignoring case); extra
// headers may not use them, nor any name starting with "Content-" or "Resent-".
inline constexpr const char* kReservedHeaderNames[] = {
    "From",     "Sender",      "Reply-To",       "To",         "Cc",
    "Bcc",      "Subject",     "Date",           "Message-ID", "MIME-Version",
    "Received", "Return-Path", "DKIM-Signature",
};

// Renders `m` as the bytes to submit: CRLF line endings, header lines folded
// (none over 998 bytes), display names and a subject that are not ASCII or
// contain "=?" as RFC 2047 UTF-8 base64 encoded-words (written here, not by
// GMime: see docs/email.md), bodies in UTF-8 (bare CR and LF become line breaks)
// quoted-printable, or base64 when that is shorter (mostly non-Latin text).
// Header order: Date, From, Reply-To, Subject, Sender, To, Message-Id, the
// extra headers, MIME-Version, Content-Type (and Content-Transfer-Encoding for
// a single part).
//
// Fails with kInvalidArgument naming the field when:
//  - any display name, address, subject, extra header name or value contains
//    CR, LF or NUL (header injection), or another control character;
//  - text is not valid UTF-8, an address is not a valid addr-spec, the
//    message id is not id-left@id-right, the date is before 1970 or after 9999;
//  - text_body is empty, a body contains NUL or exceeds kMaxBodyBytes;
//  - a display name or subject exceeds its limit, or any header field would
//    exceed kMaxHeaderFieldBytes once encoded (e.g. a long non-ASCII subject);
//  - an extra header name is invalid, reserved or repeated, or there are more
//    than kMaxExtraHeaders.
// kInternal if GMime fails or its output breaks the rules above (a bug).
Result<std::string> RenderMessage(const OutgoingMessage& m);

}  // namespace switchboard::mail
