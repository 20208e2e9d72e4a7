#include "mail/mime.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string_view>

#include "core/text.h"
#include "mail/address.h"

namespace switchboard::mail {
namespace {

// The latest time GLib formats (9999-12-31T23:59:59Z), in seconds.
constexpr std::int64_t kLastSecond = 253402300799;
constexpr size_t kFoldWidth = 78;
constexpr size_t kMaxHeaderNameBytes = 76;

void InitGMimeOnce() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

struct GObjectUnref {
  void operator()(gpointer p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct FormatOptionsFree {
  void operator()(GMimeFormatOptions* p) const { g_mime_format_options_free(p); }
};
struct DateTimeUnref {
  void operator()(GDateTime* p) const { g_date_time_unref(p); }
};

Status Invalid(std::string_view field, std::string_view why) {
  return Status::InvalidArgument(std::string(field) + " " + std::string(why));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// Text for a header (display name, subject): no CR, LF or NUL first of all,
// then UTF-8 without other control characters (TAB is allowed).
Status CheckHeaderText(std::string_view s, std::string_view field) {
  if (HasLineBreakOrNul(s)) return Invalid(field, "contains a line break or NUL");
  if (!text::IsValidUtf8(s)) return Invalid(field, "is not valid UTF-8");
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return Invalid(field, "contains a control character");
  }
  return Status::Ok();
}

Status CheckMailbox(const Mailbox& box, std::string_view field) {
  const std::string f(field);
  SB_RETURN_IF_ERROR(CheckHeaderText(box.display_name, f + ".display_name"));
  if (box.display_name.size() > kMaxDisplayNameBytes) {
    return Invalid(f + ".display_name", "is longer than 256 bytes");
  }
  return ValidateAddress(box.address, f + ".address");
}

// Returns the message id without angle brackets.
Result<std::string> CheckMessageId(std::string_view id) {
  constexpr std::string_view kField = "message_id";
  if (HasLineBreakOrNul(id)) return Invalid(kField, "contains a line break or NUL");
  if (!id.empty() && id.front() == '<') {
    if (id.size() < 2 || id.back() != '>') return Invalid(kField, "has an unbalanced '<'");
    id = id.substr(1, id.size() - 2);
  }
  if (id.empty()) return Invalid(kField, "is empty");
  if (id.size() > kMaxMessageIdBytes) return Invalid(kField, "is longer than 250 bytes");
  const size_t at = id.find('@');
  if (at == std::string_view::npos) return Invalid(kField, "has no '@'");
  if (!IsDotAtom(id.substr(0, at)) || !IsDotAtom(id.substr(at + 1))) {
    return Invalid(kField, "is not id-left@id-right (dot-atoms)");
  }
  return std::string(id);
}

bool IsFieldName(std::string_view name) {
  if (name.empty() || name.size() > kMaxHeaderNameBytes) return false;
  for (char c : name) {
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

bool IsReservedName(std::string_view name) {
  const std::string lower = Lower(name);
  for (const char* reserved : kReservedHeaderNames) {
    if (lower == Lower(reserved)) return true;
  }
  return lower.starts_with("content-") || lower.starts_with("resent-");
}

Status CheckExtraHeaders(const OutgoingMessage& m) {
  if (m.extra_headers.size() > kMaxExtraHeaders) {
    return Status::InvalidArgument("extra_headers has more than 32 entries");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < m.extra_headers.size(); ++i) {
    const auto& [name, value] = m.extra_headers[i];
    const std::string field = "extra_headers[" + std::to_string(i) + "]";
    if (HasLineBreakOrNul(name)) return Invalid(field + ".name", "contains a line break or NUL");
    if (!IsFieldName(name)) {
      return Invalid(field + ".name", "is not a header field name (1..76 printable ASCII, no ':')");
    }
    if (IsReservedName(name)) {
      return Invalid(field + ".name", "would replace a header the renderer writes");
    }
    if (!seen.insert(Lower(name)).second) return Invalid(field + ".name", "repeats an earlier one");
    if (HasLineBreakOrNul(value)) return Invalid(field + ".value", "contains a line break or NUL");
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x80) return Invalid(field + ".value", "is not ASCII");
      if ((u < 0x20 && u != '\t') || u == 0x7f) {
        return Invalid(field + ".value", "contains a control character");
      }
    }
  }
  return Status::Ok();
}

Status CheckBody(std::string_view body, std::string_view field) {
  if (body.size() > kMaxBodyBytes) return Invalid(field, "is larger than 2 MiB");
  if (body.find('\0') != std::string_view::npos) return Invalid(field, "contains NUL");
  if (!text::IsValidUtf8(body)) return Invalid(field, "is not valid UTF-8");
  return Status::Ok();
}

Status CheckInput(const OutgoingMessage& m) {
  SB_RETURN_IF_ERROR(CheckMailbox(m.from, "from"));
  if (m.sender) SB_RETURN_IF_ERROR(CheckMailbox(*m.sender, "sender"));
  SB_RETURN_IF_ERROR(CheckMailbox(m.to, "to"));
  if (m.reply_to) SB_RETURN_IF_ERROR(CheckMailbox(*m.reply_to, "reply_to"));
  SB_RETURN_IF_ERROR(CheckHeaderText(m.subject, "subject"));
  if (m.subject.size() > kMaxSubjectBytes) return Invalid("subject", "is longer than 998 bytes");
  if (m.text_body.empty()) return Invalid("text_body", "is empty");
  SB_RETURN_IF_ERROR(CheckBody(m.text_body, "text_body"));
  SB_RETURN_IF_ERROR(CheckBody(m.html_body, "html_body"));
  if (m.date < 0 || m.date / kMicrosPerSecond > kLastSecond) {
    return Invalid("date", "is outside the years 1970..9999");
  }
  return CheckExtraHeaders(m);
}

// `text` with every CRLF, CR and LF replaced by `newline`, ending with one.
std::string NormaliseNewlines(std::string_view text, std::string_view newline) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += newline;
    } else if (c == '\n') {
      out += newline;
    } else {
      out += c;
    }
  }
  if (!out.ends_with(newline)) out += newline;
  return out;
}

void SetContent(GMimePart* part, std::string_view bytes) {
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
  GPtr<GMimeDataWrapper> wrapper(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part, wrapper.get());
}

// A text/<subtype> part in UTF-8, quoted-printable unless GMime finds base64
// better. Line breaks are LF inside GMime (the writer turns them into CRLF);
// base64 encodes the canonical CRLF form, as RFC 2045 asks for text.
GPtr<GMimeObject> MakeTextPart(const char* subtype, std::string_view body) {
  GMimeTextPart* text_part = g_mime_text_part_new_with_subtype(subtype);
  GPtr<GMimeObject> object(GMIME_OBJECT(text_part));
  GMimePart* part = GMIME_PART(text_part);
  g_mime_object_set_content_type_parameter(object.get(), "charset", "utf-8");
  SetContent(part, NormaliseNewlines(body, "\n"));
  GMimeContentEncoding encoding =
      g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT);
  if (encoding == GMIME_CONTENT_ENCODING_BASE64) {
    SetContent(part, NormaliseNewlines(body, "\r\n"));
  } else {
    // Never 7bit, even for short ASCII lines: quoted-printable escapes '=',
    // so no body line can ever look like the multipart boundary ("--=-...").
    encoding = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
  }
  g_mime_part_set_content_encoding(part, encoding);
  return object;
}

// Header text GMime must not encode itself: non-ASCII text, which its encoder
// may split into base64 words padded in the middle that its own decoder (and
// so GMime-based mail clients) then truncates; and text with "=?", which it
// copies as if it were an encoded-word already, so a reader would see the
// decoded form instead of what was written and approved.
bool NeedsOwnEncoding(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return text.find("=?") != std::string_view::npos;
}

bool IsUtf8Boundary(std::string_view text, size_t i) {
  return i >= text.size() || (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
}

// `text` as RFC 2047 encoded-words in UTF-8 carrying at most `chunk` bytes
// each (45 keeps a word within RFC 2047's 75 characters), never splitting a
// UTF-8 sequence. Base64 words carry a multiple of 3 bytes except the last,
// so none but the last is padded (decoders that join adjacent words before
// decoding, GMime's among them, lose text after padding); where no such split
// exists within a word's room, a short Q-encoded word (only letters and
// digits literal, safe in a phrase) bridges. A display name up to 45 bytes is
// one word: some decoders (Python's email package) wrongly keep the folding
// between adjacent words of a phrase as a space.
std::vector<std::string> EncodeWords(std::string_view text, size_t chunk) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    size_t n = std::min(chunk, text.size() - i);
    if (i + n < text.size()) {
      while (n >= 3 && !(n % 3 == 0 && IsUtf8Boundary(text, i + n))) --n;
    }
    if (n >= 3 || i + n == text.size()) {
      gchar* b64 = g_base64_encode(reinterpret_cast<const guchar*>(text.data() + i), n);
      words.push_back(std::string("=?UTF-8?B?") + b64 + "?=");
      g_free(b64);
    } else {
      n = std::min<size_t>(20, text.size() - i);
      while (n > 1 && !IsUtf8Boundary(text, i + n)) --n;
      std::string q = "=?UTF-8?Q?";
      for (size_t k = i; k < i + n; ++k) {
        const auto c = static_cast<unsigned char>(text[k]);
        if (std::isalnum(c)) {
          q += static_cast<char>(c);
        } else if (c == ' ') {
          q += '_';
        } else {
          q += '=';
          q += kHex[c >> 4];
          q += kHex[c & 0xF];
        }
      }
      words.push_back(q + "?=");
    }
    i += n;
  }
  return words;
}

// A GMime raw header value: the words one per line, then `tail` if any.
std::string RawFolded(const std::vector<std::string>& words, std::string_view tail = {}) {
  std::string out;
  for (const std::string& word : words) out += " " + word + "\n";
  if (!tail.empty()) out += " " + std::string(tail) + "\n";
  return out;
}

// True for a display name that can stand as it is: atoms (RFC 5322 atext)
// separated by single spaces.
bool IsPlainPhrase(std::string_view name) {
  if (name.empty() || name.front() == ' ' || name.back() == ' ') return false;
  char prev = 0;
  for (char c : name) {
    if (c == ' ' ? prev == ' ' : !IsAtext(c)) return false;
    prev = c;
  }
  return true;
}

// Adds `box` as the one mailbox of the header `name`. GMime keeps the
// address list; the header's text is written here: the address alone, or a
// display name (atoms as they are, other ASCII as a quoted string, anything
// else as our encoded-words) and the address in angle brackets. GMime's own
// phrase encoder writes a long ASCII word with '=' as a broken Q-encoded word.
Status AddMailbox(GMimeMessage* message, GMimeAddressType type, const char* name,
                  const Mailbox& box) {
  InternetAddress* address = internet_address_mailbox_new(
      box.display_name.empty() ? nullptr : box.display_name.c_str(), box.address.c_str());
  internet_address_set_charset(address, "utf-8");
  internet_address_list_add(g_mime_message_get_addresses(message, type), address);
  g_object_unref(address);
  GMimeHeader* header =
      g_mime_header_list_get_header(g_mime_object_get_header_list(GMIME_OBJECT(message)), name);
  if (!header) return Status::Internal("GMime lost an address header");

  const std::string angle = "<" + box.address + ">";
  std::string raw;
  if (box.display_name.empty()) {
    raw = " " + box.address + "\n";
  } else if (NeedsOwnEncoding(box.display_name)) {
    raw = RawFolded(EncodeWords(box.display_name, 45), angle);
  } else {
    std::string phrase;
    if (IsPlainPhrase(box.display_name)) {
      phrase = box.display_name;
    } else {
      phrase = "\"";
      for (char c : box.display_name) {
        if (c == '"' || c == '\\') phrase += '\\';
        phrase += c;
      }
      phrase += '"';
    }
    const size_t line = std::strlen(name) + 2 + phrase.size() + 1 + angle.size();
    raw = line <= kFoldWidth ? " " + phrase + " " + angle + "\n" : RawFolded({phrase}, angle);
  }
  g_mime_header_set_raw_value(header, raw.c_str());
  return Status::Ok();
}

// " value\n" folded before runs of spaces so lines stay within kFoldWidth
// where the words allow; `used` is the length of "Name:".
std::string FoldRawValue(size_t used, std::string_view value) {
  std::string out = " ";
  size_t line = used + 1;
  size_t i = 0;
  bool first = true;
  while (i < value.size()) {
    // One token: a run of blanks and the word after it.
    size_t j = i;
    while (j < value.size() && (value[j] == ' ' || value[j] == '\t')) ++j;
    const bool has_word = j < value.size();
    while (j < value.size() && value[j] != ' ' && value[j] != '\t') ++j;
    const std::string_view token = value.substr(i, j - i);
    if (!first && has_word && line + token.size() > kFoldWidth) {
      out += '\n';
      line = 0;
    }
    out += token;
    line += token.size();
    first = false;
    i = j;
  }
  out += '\n';
  return out;
}

std::string FieldForHeader(std::string_view name, const OutgoingMessage& m) {
  const std::string lower = Lower(name);
  if (lower == "subject") return "subject";
  if (lower == "from") return "from";
  if (lower == "to") return "to";
  if (lower == "sender") return "sender";
  if (lower == "reply-to") return "reply_to";
  for (size_t i = 0; i < m.extra_headers.size(); ++i) {
    if (Lower(m.extra_headers[i].first) == lower) {
      return "extra_headers[" + std::to_string(i) + "]";
    }
  }
  return {};
}

// The rules RenderMessage promises, checked on GMime's output: only CRLF line
// breaks, no NUL, no line over 998 bytes, and the header block holds exactly
// the fields we wrote, each within kMaxHeaderFieldBytes.
Status CheckRendered(std::string_view out, const OutgoingMessage& m) {
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (c == '\0' || (c == '\r' && (i + 1 >= out.size() || out[i + 1] != '\n')) ||
        (c == '\n' && (i == 0 || out[i - 1] != '\r'))) {
      return Status::Internal("rendered message has a bare CR, LF or a NUL");
    }
  }
  std::vector<std::string> expected = {"date",       "from",         "to",          "subject",
                                       "message-id", "mime-version", "content-type"};
  if (m.sender) expected.push_back("sender");
  if (m.reply_to) expected.push_back("reply-to");
  if (m.html_body.empty()) expected.push_back("content-transfer-encoding");
  for (const auto& header : m.extra_headers) expected.push_back(Lower(header.first));
  std::set<std::string> want(expected.begin(), expected.end());

  size_t pos = 0;
  std::string current;  // the field being read
  size_t field_bytes = 0;
  auto finish_field = [&]() -> Status {
    if (current.empty()) return Status::Ok();
    if (field_bytes > kMaxHeaderFieldBytes) {
      const std::string field = FieldForHeader(current, m);
      if (field.empty()) return Status::Internal("a rendered header field is too long");
      return Invalid(field, "is longer than 998 bytes once encoded");
    }
    return Status::Ok();
  };
  bool in_headers = true;
  while (pos < out.size()) {
    const size_t eol = out.find("\r\n", pos);
    if (eol == std::string_view::npos) break;  // a final line without CRLF
    const std::string_view line = out.substr(pos, eol - pos);
    pos = eol + 2;
    if (!in_headers) {
      if (line.size() > 998) return Status::Internal("rendered body has a line over 998 bytes");
      continue;
    }
    if (line.empty()) {
      SB_RETURN_IF_ERROR(finish_field());
      in_headers = false;
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (current.empty()) return Status::Internal("rendered message starts with a continuation");
      field_bytes += line.size();  // so a line over 998 bytes makes its field too long
      continue;
    }
    SB_RETURN_IF_ERROR(finish_field());
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Status::Internal("rendered header has no colon");
    current = Lower(line.substr(0, colon));
    field_bytes = line.size();
    if (want.erase(current) != 1) {
      return Status::Internal("rendered message has an unexpected or repeated header");
    }
  }
  if (in_headers) return Status::Internal("rendered message has no body");
  if (!want.empty()) return Status::Internal("rendered message lacks a header");
  return Status::Ok();
}

}  // namespace

Result<std::string> RenderMessage(const OutgoingMessage& m) {
  SB_RETURN_IF_ERROR(CheckInput(m));
  SB_ASSIGN_OR_RETURN(const std::string message_id, CheckMessageId(m.message_id));
  InitGMimeOnce();

  GPtr<GMimeMessage> message(g_mime_message_new(TRUE));
  GMimeObject* object = GMIME_OBJECT(message.get());
  SB_RETURN_IF_ERROR(AddMailbox(message.get(), GMIME_ADDRESS_TYPE_FROM, "From", m.from));
  if (m.sender) {
    SB_RETURN_IF_ERROR(AddMailbox(message.get(), GMIME_ADDRESS_TYPE_SENDER, "Sender", *m.sender));
  }
  SB_RETURN_IF_ERROR(AddMailbox(message.get(), GMIME_ADDRESS_TYPE_TO, "To", m.to));
  if (m.reply_to) {
    SB_RETURN_IF_ERROR(
        AddMailbox(message.get(), GMIME_ADDRESS_TYPE_REPLY_TO, "Reply-To", *m.reply_to));
  }
  g_mime_message_set_subject(message.get(), m.subject.c_str(), "utf-8");
  if (NeedsOwnEncoding(m.subject)) {
    GMimeHeader* subject =
        g_mime_header_list_get_header(g_mime_object_get_header_list(object), "Subject");
    if (!subject) return Status::Internal("GMime lost the Subject header");
    g_mime_header_set_raw_value(subject, RawFolded(EncodeWords(m.subject, 42)).c_str());
  }
  {
    std::unique_ptr<GDateTime, DateTimeUnref> date(
        g_date_time_new_from_unix_utc(m.date / kMicrosPerSecond));
    if (!date) return Status::Internal("GLib cannot represent the date");
    g_mime_message_set_date(message.get(), date.get());
  }
  g_mime_message_set_message_id(message.get(), message_id.c_str());

  // Extra headers carry their value as written (GMime would RFC 2047-encode
  // a long URI to fold it), so set the raw value directly.
  GMimeHeaderList* headers = g_mime_object_get_header_list(object);
  for (const auto& [name, value] : m.extra_headers) {
    g_mime_object_append_header(object, name.c_str(), "", nullptr);
    GMimeHeader* header =
        g_mime_header_list_get_header_at(headers, g_mime_header_list_get_count(headers) - 1);
    if (!header) return Status::Internal("GMime lost a header");
    g_mime_header_set_raw_value(header, FoldRawValue(name.size() + 1, value).c_str());
  }

  if (m.html_body.empty()) {
    GPtr<GMimeObject> text = MakeTextPart("plain", m.text_body);
    g_mime_message_set_mime_part(message.get(), text.get());
  } else {
    GPtr<GMimeMultipart> alternative(g_mime_multipart_new_with_subtype("alternative"));
    GPtr<GMimeObject> text = MakeTextPart("plain", m.text_body);
    GPtr<GMimeObject> html = MakeTextPart("html", m.html_body);
    g_mime_multipart_add(alternative.get(), text.get());
    g_mime_multipart_add(alternative.get(), html.get());
    g_mime_message_set_mime_part(message.get(), GMIME_OBJECT(alternative.get()));
  }

  std::unique_ptr<GMimeFormatOptions, FormatOptionsFree> options(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
  GPtr<GMimeStream> stream(g_mime_stream_mem_new());
  if (g_mime_object_write_to_stream(object, options.get(), stream.get()) < 0) {
    return Status::Internal("GMime could not write the message");
  }
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream.get()));
  std::string out(reinterpret_cast<const char*>(bytes->data), bytes->len);
  SB_RETURN_IF_ERROR(CheckRendered(out, m));
  return out;
}

}  // namespace switchboard::mail
