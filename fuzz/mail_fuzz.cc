// Fuzzes mail::RenderMessage with arbitrary display names, addresses,
// subjects, message ids, dates, extra headers and bodies. Besides not
// crashing, a rendered message must keep the header-injection promise,
// checked here independently of the renderer's own check:
//  - only CRLF line breaks, no NUL, no line over 998 bytes;
//  - the header block holds exactly the fields we asked for, each once, and
//    continuation lines only; a multipart body holds exactly two parts whose
//    headers are Content-Type and Content-Transfer-Encoding only;
//  - GMime parses From, To, Sender and Reply-To back to one mailbox each
//    with the given address and display name, and the subject back to the
//    given text (both up to blanks).
// Failure reasons are fixed phrases (one built from the input would grow the
// set without bound, and would echo personal data).
#include <fuzzer/FuzzedDataProvider.h>
#include <gmime/gmime.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mail/mime.h"

namespace {

using switchboard::Result;
using switchboard::mail::Mailbox;
using switchboard::mail::OutgoingMessage;
using switchboard::mail::RenderMessage;

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "mail_fuzz: %s\n", what);
    std::abort();
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// `s` without spaces, tabs, CRs and LFs. GMime drops blanks at the ends of a
// header's text, and its parser leaves the folding inside a phrase of
// several quoted strings in the display name; everything else must come back
// as given.
std::string Blanks(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out += c;
  }
  return out;
}

void NoteReason(const std::string& message) {
  static std::set<std::string>* reasons = new std::set<std::string>();
  std::string shape = message;
  for (char& c : shape) {
    if (std::isdigit(static_cast<unsigned char>(c))) c = '#';
  }
  reasons->insert(shape);
  Require(reasons->size() < 100, "failure reasons depend on the input");
}

const char* const kAddresses[] = {"a@example.org", "first.last+tag@mail.example.com",
                                  "\"john doe\"@example.net", "x@[192.0.2.1]",
                                  "o'brien@example.com"};
const char* const kHeaderNames[] = {
    "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "X-Switchboard-Message", "X-Test",
    "Subject",          "content-type"};

std::string Address(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return in.ConsumeRandomLengthString(80);
  return kAddresses[in.ConsumeIntegralInRange<size_t>(0, std::size(kAddresses) - 1)];
}

Mailbox MakeMailbox(FuzzedDataProvider& in) {
  Mailbox box;
  box.display_name = in.ConsumeRandomLengthString(300);
  box.address = Address(in);
  return box;
}

// Splits `s` into CRLF-terminated lines (the last may lack one).
std::vector<std::string_view> Lines(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find("\r\n", start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

// Checks a header block (lines up to an empty one) against `expected`
// (lower-case names, each exactly once); returns the index after the empty
// line and fills `values` with the unfolded raw values.
size_t CheckHeaders(const std::vector<std::string_view>& lines, size_t i,
                    std::multiset<std::string> expected,
                    std::map<std::string, std::string>* values) {
  std::string current;
  for (; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {
      Require(!current.empty(), "a header block starts with a continuation line");
      (*values)[current] += line;
      continue;
    }
    const size_t colon = line.find(':');
    Require(colon != std::string_view::npos && colon > 0, "a header line without a name");
    current = Lower(line.substr(0, colon));
    auto it = expected.find(current);
    Require(it != expected.end(), "a header field we did not write, or one twice");
    expected.erase(it);
    (*values)[current] = std::string(line.substr(colon + 1));
  }
  Require(i < lines.size(), "a header block without an end");
  Require(expected.empty(), "a header field is missing");
  return i + 1;
}

std::string BoundaryOf(const std::string& content_type) {
  const size_t at = content_type.find("boundary=\"");
  Require(at != std::string::npos, "multipart without a quoted boundary");
  const size_t end = content_type.find('"', at + 10);
  Require(end != std::string::npos, "unterminated boundary");
  return content_type.substr(at + 10, end - at - 10);
}

void CheckParsedBack(const std::string& out, const OutgoingMessage& m) {
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(out.data(), out.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* parsed = g_mime_parser_construct_message(parser, nullptr);
  Require(parsed != nullptr, "GMime cannot parse the output");
  auto only_mailbox = [](InternetAddressList* list, const Mailbox& box, const char* what) {
    Require(list != nullptr && internet_address_list_length(list) == 1, what);
    InternetAddress* ia = internet_address_list_get_address(list, 0);
    Require(INTERNET_ADDRESS_IS_MAILBOX(ia), what);
    const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
    Require(addr != nullptr && box.address == addr, what);
    const char* name = internet_address_get_name(ia);
    Require(Blanks(box.display_name) == Blanks(name ? name : ""), what);
  };
  only_mailbox(g_mime_message_get_from(parsed), m.from, "From is not the one mailbox given");
  only_mailbox(g_mime_message_get_to(parsed), m.to, "To is not the one mailbox given");
  if (m.sender) {
    only_mailbox(g_mime_message_get_sender(parsed), *m.sender, "Sender is not the one given");
  }
  if (m.reply_to) {
    only_mailbox(g_mime_message_get_reply_to(parsed), *m.reply_to, "Reply-To is not the one given");
  }
  const char* subject = g_mime_message_get_subject(parsed);
  Require(Blanks(m.subject) == Blanks(subject ? subject : ""),
          "the subject does not decode to the one given");
  g_object_unref(parsed);
  g_object_unref(parser);
  g_object_unref(stream);
}

void CheckRendered(const std::string& out, const OutgoingMessage& m) {
  for (size_t i = 0; i < out.size(); ++i) {
    Require(out[i] != '\0', "NUL in the output");
    if (out[i] == '\r') Require(i + 1 < out.size() && out[i + 1] == '\n', "bare CR");
    if (out[i] == '\n') Require(i > 0 && out[i - 1] == '\r', "bare LF");
  }
  const std::vector<std::string_view> lines = Lines(out);
  for (std::string_view line : lines) Require(line.size() <= 998, "a line over 998 bytes");

  const bool multipart = !m.html_body.empty();
  std::multiset<std::string> expected = {"date",       "from",         "to",          "subject",
                                         "message-id", "mime-version", "content-type"};
  if (m.sender) expected.insert("sender");
  if (m.reply_to) expected.insert("reply-to");
  if (!multipart) expected.insert("content-transfer-encoding");
  for (const auto& header : m.extra_headers) expected.insert(Lower(header.first));
  std::map<std::string, std::string> values;
  size_t i = CheckHeaders(lines, 0, expected, &values);
  if (!multipart) return;

  const std::string boundary = BoundaryOf(values["content-type"]);
  const std::string delimiter = "--" + boundary;
  int parts = 0;
  bool closed = false;
  for (; i < lines.size(); ++i) {
    if (lines[i] == delimiter + "--") {
      closed = true;
      Require(i + 1 == lines.size(), "text after the closing boundary");
      break;
    }
    if (lines[i] != delimiter) {
      Require(!lines[i].starts_with(delimiter), "a body line looks like the boundary");
      Require(parts > 0 || lines[i].empty(), "a preamble before the first part");
      continue;
    }
    ++parts;
    std::map<std::string, std::string> part_values;
    i = CheckHeaders(lines, i + 1, {"content-type", "content-transfer-encoding"}, &part_values) - 1;
  }
  Require(closed && parts == 2, "multipart/alternative without exactly two parts");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  FuzzedDataProvider in(bytes, size);
  OutgoingMessage m;
  m.from = MakeMailbox(in);
  if (in.ConsumeBool()) m.sender = MakeMailbox(in);
  m.to = MakeMailbox(in);
  if (in.ConsumeBool()) m.reply_to = MakeMailbox(in);
  m.subject = in.ConsumeRandomLengthString(1200);
  m.message_id = in.ConsumeBool() ? in.ConsumeRandomLengthString(60) : "<a.1@mail.example.org>";
  m.date = in.ConsumeBool() ? in.ConsumeIntegral<int64_t>() : 1'795'000'000'000'000;
  const size_t extras = in.ConsumeIntegralInRange<size_t>(0, 5);
  for (size_t i = 0; i < extras; ++i) {
    std::string name =
        in.ConsumeBool()
            ? in.ConsumeRandomLengthString(20)
            : kHeaderNames[in.ConsumeIntegralInRange<size_t>(0, std::size(kHeaderNames) - 1)];
    m.extra_headers.emplace_back(std::move(name), in.ConsumeRandomLengthString(300));
  }
  m.html_body = in.ConsumeBool() ? in.ConsumeRandomLengthString(4000) : "";
  m.text_body = in.ConsumeRemainingBytesAsString();

  Result<std::string> out = RenderMessage(m);
  if (!out.has_value()) {
    Require(out.error().code() != switchboard::StatusCode::kInternal,
            "the renderer broke its own rules (kInternal)");
    NoteReason(out.error().message());
    return 0;
  }
  CheckRendered(*out, m);
  CheckParsedBack(*out, m);
  return 0;
}
