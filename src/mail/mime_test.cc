#include "mail/mime.h"

#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/testing/status_matchers.h"
#include "mail/testing/peers.h"

namespace switchboard::mail {
namespace {

using nlohmann::json;

Micros At(std::string_view iso) { return ParseTimestamp(iso).value(); }

OutgoingMessage Sample() {
  OutgoingMessage m;
  m.from = {"Ward 5 Organisers", "ward5@example.org"};
  m.to = {"Alex Example", "alex@example.com"};
  m.subject = "Branch meeting on Thursday";
  m.text_body = "Hello Alex,\n\nThe branch meets on Thursday at 7pm.\n";
  m.message_id = "<abc.123@mail.example.org>";
  m.date = At("2026-11-24T18:45:54Z");
  m.extra_headers = {
      {"List-Unsubscribe",
       "<https://example.org/u/tok123>, <mailto:unsub@example.org?subject=tok123>"},
      {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
      {"X-Switchboard-Message", "m-42"},
  };
  return m;
}

json Inspect(const std::string& message) {
  Result<std::string> out = testing::InspectMessage(message);
  EXPECT_OK(out);
  if (!out.has_value()) return json::object();
  return json::parse(*out);
}

// The decoded value of the first header called `name` (any case).
std::string Header(const json& j, std::string_view name) {
  for (const auto& h : j["headers"]) {
    std::string n = h[0].get<std::string>();
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return h[1].get<std::string>();
    }
  }
  return "<missing>";
}

// The raw header block (up to the empty line).
std::string HeaderBlock(const std::string& message) {
  return message.substr(0, message.find("\r\n\r\n") + 2);
}

void ExpectOnlyCrlf(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') {
      ASSERT_TRUE(i > 0 && s[i - 1] == '\r') << "bare LF at " << i;
    }
    if (s[i] == '\r') {
      ASSERT_TRUE(i + 1 < s.size() && s[i + 1] == '\n') << "bare CR at " << i;
    }
  }
}

void ExpectLinesAtMost(const std::string& s, size_t limit) {
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find("\r\n", start);
    if (end == std::string::npos) end = s.size();
    ASSERT_LE(end - start, limit) << "line at " << start;
    start = end + 2;
  }
}

TEST(MimeTest, RendersAPlainMessage) {
  Result<std::string> out = RenderMessage(Sample());
  ASSERT_OK(out);
  ExpectOnlyCrlf(*out);
  const std::string headers = HeaderBlock(*out);
  EXPECT_NE(headers.find("From: Ward 5 Organisers <ward5@example.org>\r\n"), std::string::npos);
  EXPECT_NE(headers.find("To: Alex Example <alex@example.com>\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Subject: Branch meeting on Thursday\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Date: Tue, 24 Nov 2026 18:45:54 +0000\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Message-Id: <abc.123@mail.example.org>\r\n"), std::string::npos);
  EXPECT_NE(headers.find("MIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  EXPECT_NE(headers.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            std::string::npos);
  EXPECT_EQ(headers.find("Sender:"), std::string::npos);
  EXPECT_EQ(headers.find("Reply-To:"), std::string::npos);

  const json j = Inspect(*out);
  EXPECT_EQ(j["defects"], json::array());
  EXPECT_EQ(j["from"], json::parse(R"([["Ward 5 Organisers", "ward5@example.org"]])"));
  EXPECT_EQ(j["to"], json::parse(R"([["Alex Example", "alex@example.com"]])"));
  EXPECT_EQ(Header(j, "List-Unsubscribe"), Sample().extra_headers[0].second);
  EXPECT_EQ(Header(j, "X-Switchboard-Message"), "m-42");
  ASSERT_EQ(j["parts"].size(), 1u);
  EXPECT_EQ(j["parts"][0]["content_type"], "text/plain");
  EXPECT_EQ(j["parts"][0]["charset"], "utf-8");
  EXPECT_EQ(j["parts"][0]["text"], Sample().text_body);
}

TEST(MimeTest, MessageIdWithOrWithoutBrackets) {
  OutgoingMessage m = Sample();
  m.message_id = "abc.123@mail.example.org";
  Result<std::string> bare = RenderMessage(m);
  ASSERT_OK(bare);
  EXPECT_EQ(*bare, *RenderMessage(Sample()));
  for (const char* bad : {"", "<>", "<abc@example.org", "abc", "a b@example.org",
                          "<a@b@example.org>", "a..b@example.org", "<a@example.org>x"}) {
    m.message_id = bad;
    Result<std::string> r = RenderMessage(m);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(r.error().message().starts_with("message_id ")) << r.error().message();
  }
}

TEST(MimeTest, SenderAndReplyTo) {
  OutgoingMessage m = Sample();
  m.from = {"Sam Candidate", "sam@example.org"};
  m.sender = Mailbox{"Switchboard", "noreply@mail.example.org"};
  m.reply_to = Mailbox{"", "replies@example.org"};
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  const json j = Inspect(*out);
  EXPECT_EQ(j["defects"], json::array());
  EXPECT_EQ(j["sender"], json::parse(R"([["Switchboard", "noreply@mail.example.org"]])"));
  EXPECT_EQ(j["reply_to"], json::parse(R"([["", "replies@example.org"]])"));
  EXPECT_EQ(j["from"], json::parse(R"([["Sam Candidate", "sam@example.org"]])"));
}

TEST(MimeTest, NonAsciiDisplayNamesAndSubjectRoundTrip) {
  OutgoingMessage m = Sample();
  m.from = {"Zoë Ångström-Łukasiewicz", "zoe@example.org"};
  m.to = {"Renée \"Rae\" O'Connor, Esq.", "rae@example.com"};
  m.reply_to = Mailbox{"Θεόδωρος 山田 <nobody@example.net>", "theo@example.net"};
  m.subject =
      "Réunion du comité — 5 décembre ✓: a subject long enough that GMime has to fold it "
      "over more than one line, with ünïcödé throughout 日本語のテキスト";
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  ExpectOnlyCrlf(*out);
  ExpectLinesAtMost(*out, 78 + 20);
  const std::string headers = HeaderBlock(*out);
  // Encoded as UTF-8 encoded-words, nothing else non-ASCII in the header.
  EXPECT_NE(headers.find("=?UTF-8?"), std::string::npos);
  for (char c : headers) ASSERT_LT(static_cast<unsigned char>(c), 0x80);

  const json j = Inspect(*out);
  EXPECT_EQ(j["defects"], json::array());
  EXPECT_EQ(Header(j, "Subject"), m.subject);
  EXPECT_EQ(j["from"][0][0], m.from.display_name);
  EXPECT_EQ(j["from"][0][1], m.from.address);
  EXPECT_EQ(j["to"][0][0], m.to.display_name);
  EXPECT_EQ(j["to"][0][1], m.to.address);
  // The '<...>' inside the name stays inside the name.
  ASSERT_EQ(j["reply_to"].size(), 1u);
  EXPECT_EQ(j["reply_to"][0][0], m.reply_to->display_name);
  EXPECT_EQ(j["reply_to"][0][1], "theo@example.net");
}

// A display name over 45 bytes takes several encoded-words. Python's email
// package keeps the folding between them as a space (RFC 2047 6.2 says to
// drop it), so GMime, which follows the RFC, reads these back. GMime also
// joins adjacent base64 words before decoding, so a word padded in the middle
// would lose the rest: none is.
TEST(MimeTest, LongNonAsciiTextReadsBackWhole) {
  OutgoingMessage m = Sample();
  m.from.display_name =
      "Organisation des adhérents de la circonscription — Ωмéga 山田 ✓✓✓ 🙂🙂";
  m.to.display_name = std::string(60, 'a') + "é" + std::string(60, 'b') + "\t" + "ü";
  m.subject = "[[[[[[[[[[[[[[[[[[ªƨ)[ª[[[[[[ƨ)[ªƨ[¨[ªzƨ)[[[[ and then " + std::string(200, 'x') +
              " 🙂 done";
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  ExpectLinesAtMost(*out, 80);
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(out->data(), out->size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* parsed = g_mime_parser_construct_message(parser, nullptr);
  ASSERT_NE(parsed, nullptr);
  EXPECT_STREQ(g_mime_message_get_subject(parsed), m.subject.c_str());
  auto name = [](InternetAddressList* list) {
    return std::string(internet_address_get_name(internet_address_list_get_address(list, 0)));
  };
  EXPECT_EQ(name(g_mime_message_get_from(parsed)), m.from.display_name);
  EXPECT_EQ(name(g_mime_message_get_to(parsed)), m.to.display_name);
  g_object_unref(parsed);
  g_object_unref(parser);
  g_object_unref(stream);
  // Python reads the subject (unstructured) exactly.
  EXPECT_EQ(Header(Inspect(*out), "Subject"), m.subject);
}

TEST(MimeTest, AsciiDisplayNamesAreAtomsOrQuoted) {
  OutgoingMessage m = Sample();
  m.from.display_name = "Smith, John \"JJ\" \\ (chair) <x@example.net>";
  m.to.display_name = "KK" + std::string(90, 'D') + "K@5?@?=.O";
  m.reply_to = Mailbox{" leading  and\ttrailing ", "r@example.org"};
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  const std::string headers = HeaderBlock(*out);
  EXPECT_NE(headers.find("From: \"Smith, John \\\"JJ\\\" \\\\ (chair) <x@example.net>\" "
                         "<ward5@example.org>\r\n"),
            std::string::npos)
      << headers;
  EXPECT_EQ(headers.find("=?"), std::string::npos) << headers;
  const json j = Inspect(*out);
  EXPECT_EQ(j["defects"], json::array());
  EXPECT_EQ(j["from"][0][0], m.from.display_name);
  EXPECT_EQ(j["from"][0][1], "ward5@example.org");
  EXPECT_EQ(j["to"][0][0], m.to.display_name);
  EXPECT_EQ(j["reply_to"][0][0], m.reply_to->display_name);
}

TEST(MimeTest, QuotedLocalPartRoundTrips) {
  OutgoingMessage m = Sample();
  m.to = {"", "\"john doe\"@example.com"};
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  const json j = Inspect(*out);
  EXPECT_EQ(j["to"][0][1], "\"john doe\"@example.com");
}

TEST(MimeTest, MultipartAlternativeTextThenHtml) {
  OutgoingMessage m = Sample();
  m.text_body = "Hello Zoë,\r\nplain text\rwith every kind of line break\n";
  m.html_body = "<p>Hello Zoë,</p>\n<p>HTML text</p>";
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  ExpectOnlyCrlf(*out);
  const std::string headers = HeaderBlock(*out);
  EXPECT_NE(headers.find("Content-Type: multipart/alternative; boundary="), std::string::npos);
  EXPECT_EQ(headers.find("Content-Transfer-Encoding"), std::string::npos);
  const json j = Inspect(*out);
  EXPECT_EQ(j["defects"], json::array());
  EXPECT_EQ(j["content_type"], "multipart/alternative");
  ASSERT_EQ(j["parts"].size(), 2u);
  EXPECT_EQ(j["parts"][0]["content_type"], "text/plain");
  EXPECT_EQ(j["parts"][0]["charset"], "utf-8");
  EXPECT_EQ(j["parts"][0]["cte"], "quoted-printable");
  EXPECT_EQ(j["parts"][0]["text"], "Hello Zoë,\nplain text\nwith every kind of line break\n");
  EXPECT_EQ(j["parts"][1]["content_type"], "text/html");
  EXPECT_EQ(j["parts"][1]["charset"], "utf-8");
  EXPECT_EQ(j["parts"][1]["text"], "<p>Hello Zoë,</p>\n<p>HTML text</p>\n");
}

TEST(MimeTest, Base64WhenMostlyNonLatin) {
  OutgoingMessage m = Sample();
  m.text_body =
      "Здравствуйте! Собрание отделения состоится в четверг в 19:00.\n"
      "Καλησπέρα σας. 会議は木曜日の午後7時です。\n";
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  ExpectOnlyCrlf(*out);
  EXPECT_NE(HeaderBlock(*out).find("Content-Transfer-Encoding: base64\r\n"), std::string::npos);
  const json j = Inspect(*out);
  // Base64 carries text in its canonical form, CRLF line breaks (RFC 2045
  // 6.8), which Python's email module hands back as they are.
  std::string crlf;
  for (char c : m.text_body) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_EQ(j["parts"][0]["text"], crlf);
}

TEST(MimeTest, BodyLinesStayShortAndDotsArePreserved) {
  OutgoingMessage m = Sample();
  m.text_body = std::string(5000, 'a') + "\n.\n.leading dot\n..two dots\nFrom the start\n" +
                "trailing space \n=?utf-8?q?not-a-header?=\n";
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  ExpectLinesAtMost(*out, 78);
  const json j = Inspect(*out);
  EXPECT_EQ(j["parts"][0]["text"], m.text_body);
}

TEST(MimeTest, LongExtraHeaderIsFoldedNotEncoded) {
  OutgoingMessage m = Sample();
  const std::string value = "<https://example.org/unsubscribe/" + std::string(120, 't') +
                            ">, <mailto:unsubscribe@example.org?subject=" + std::string(40, 't') +
                            ">";
  m.extra_headers = {{"List-Unsubscribe", value}};
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  const std::string headers = HeaderBlock(*out);
  EXPECT_EQ(headers.find("=?"), std::string::npos);
  EXPECT_NE(headers.find("List-Unsubscribe: <https://example.org/unsubscribe/"), std::string::npos);
  EXPECT_NE(headers.find(">,\r\n <mailto:"), std::string::npos);
  EXPECT_EQ(Header(Inspect(*out), "List-Unsubscribe"), value);
}

TEST(MimeTest, DateComesFromTheCaller) {
  OutgoingMessage m = Sample();
  m.date = At("1999-12-31T23:59:59Z") + 999'999;  // sub-second part is dropped
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  EXPECT_NE(out->find("Date: Fri, 31 Dec 1999 23:59:59 +0000\r\n"), std::string::npos);
  m.date = -1;
  EXPECT_EQ(RenderMessage(m).error().message(), "date is outside the years 1970..9999");
  m.date = At("9999-12-31T23:59:59Z") + kMicrosPerSecond;
  EXPECT_FALSE(RenderMessage(m).has_value());
}

// Header injection: every way a CR, LF or NUL could reach the header block is
// refused, naming the field and never echoing the value.
TEST(MimeTest, RefusesHeaderInjection) {
  const std::string evil = "x\r\nBcc: victim@example.net";
  struct Case {
    const char* field;
    void (*apply)(OutgoingMessage&, const std::string&);
  };
  const Case cases[] = {
      {"subject", [](OutgoingMessage& m, const std::string& v) { m.subject = v; }},
      {"from.display_name",
       [](OutgoingMessage& m, const std::string& v) { m.from.display_name = v; }},
      {"from.address", [](OutgoingMessage& m, const std::string& v) { m.from.address = v; }},
      {"to.display_name", [](OutgoingMessage& m, const std::string& v) { m.to.display_name = v; }},
      {"to.address", [](OutgoingMessage& m, const std::string& v) { m.to.address = v; }},
      {"sender.display_name",
       [](OutgoingMessage& m, const std::string& v) {
         m.sender = Mailbox{v, "s@example.org"};
       }},
      {"reply_to.address",
       [](OutgoingMessage& m, const std::string& v) {
         m.reply_to = Mailbox{"R", v};
       }},
      {"message_id", [](OutgoingMessage& m, const std::string& v) { m.message_id = v; }},
      {"extra_headers[1].name",
       [](OutgoingMessage& m, const std::string& v) { m.extra_headers[1].first = v; }},
      {"extra_headers[2].value",
       [](OutgoingMessage& m, const std::string& v) { m.extra_headers[2].second = v; }},
  };
  for (const std::string& value :
       {evil, std::string("x\nBcc: victim@example.net"), std::string("x\rBcc: victim@example.net"),
        std::string("x\0Bcc: victim@example.net", 25)}) {
    for (const Case& c : cases) {
      OutgoingMessage m = Sample();
      c.apply(m, value);
      Result<std::string> out = RenderMessage(m);
      ASSERT_FALSE(out.has_value()) << c.field;
      EXPECT_EQ(out.error().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(out.error().message(), std::string(c.field) + " contains a line break or NUL");
      EXPECT_EQ(out.error().message().find("victim"), std::string::npos);
    }
  }
}

// GMime copies text shaped like an encoded-word as if it were one, so a
// reader would see something other than what was written (and approved):
// subjects and display names with "=?" are encoded whole.
TEST(MimeTest, TextShapedLikeEncodedWords) {
  OutgoingMessage m = Sample();
  for (const char* subject :
       {"Approved text =?utf-8?b?c29tZXRoaW5nIGVsc2U=?=", "=?UTF-8?Q?Someone_else?=",
        "Quiz: 2+2=? and x=?y or =?? =?a?c?d?= done",
        "=?62!!!is empty text_body is emptyGGGGGGGGGGGGGGGGGGGGGGGGG[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[O",
        "  Zoë's  =?  double  spaces\tand a tab  "}) {
    m.subject = subject;
    Result<std::string> out = RenderMessage(m);
    ASSERT_OK(out);
    ExpectLinesAtMost(*out, 78);
    EXPECT_EQ(Header(Inspect(*out), "Subject"), m.subject);
  }
  m = Sample();
  m.from.display_name = "=?UTF-8?Q?Someone_else?=";
  m.to.display_name = "Who=?";
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  const json j = Inspect(*out);
  EXPECT_EQ(j["from"][0][0], m.from.display_name);
  EXPECT_EQ(j["to"][0][0], "Who=?");
}

TEST(MimeTest, RefusesControlCharactersAndInvalidUtf8) {
  OutgoingMessage m = Sample();
  m.subject = "bell\a";
  EXPECT_EQ(RenderMessage(m).error().message(), "subject contains a control character");
  m.subject = "tab\tis fine";
  EXPECT_OK(RenderMessage(m));
  m = Sample();
  m.to.display_name = "bad \xff utf-8";
  EXPECT_EQ(RenderMessage(m).error().message(), "to.display_name is not valid UTF-8");
  m = Sample();
  m.text_body = "bad \xc3\x28";
  EXPECT_EQ(RenderMessage(m).error().message(), "text_body is not valid UTF-8");
  m = Sample();
  m.html_body = std::string("nul \0 inside", 12);
  EXPECT_EQ(RenderMessage(m).error().message(), "html_body contains NUL");
  m = Sample();
  m.extra_headers[0].second = "caf\xc3\xa9";
  EXPECT_EQ(RenderMessage(m).error().message(), "extra_headers[0].value is not ASCII");
  m.extra_headers[0].second = "esc\x1b";
  EXPECT_EQ(RenderMessage(m).error().message(),
            "extra_headers[0].value contains a control character");
}

TEST(MimeTest, ExtraHeadersCannotReplaceOurs) {
  for (const char* name :
       {"From", "to", "SUBJECT", "Date", "Message-ID", "MIME-Version", "Content-Type",
        "content-transfer-encoding", "Content-Anything", "DKIM-Signature", "Sender", "Reply-To",
        "Cc", "Bcc", "Return-Path", "Received", "Resent-From"}) {
    OutgoingMessage m = Sample();
    m.extra_headers.push_back({name, "x"});
    Result<std::string> out = RenderMessage(m);
    ASSERT_FALSE(out.has_value()) << name;
    EXPECT_EQ(out.error().message(),
              "extra_headers[3].name would replace a header the renderer writes");
  }
  for (const char* name : {"", "Bad Name", "X:Y", "Ünïcode", "X-\x7f"}) {
    OutgoingMessage m = Sample();
    m.extra_headers.push_back({name, "x"});
    Result<std::string> out = RenderMessage(m);
    ASSERT_FALSE(out.has_value()) << name;
    EXPECT_TRUE(
        out.error().message().starts_with("extra_headers[3].name is not a header field name"))
        << out.error().message();
  }
  OutgoingMessage m = Sample();
  m.extra_headers.push_back({"list-unsubscribe", "<https://example.org/other>"});
  EXPECT_EQ(RenderMessage(m).error().message(), "extra_headers[3].name repeats an earlier one");
}

TEST(MimeTest, RefusesOversizedInput) {
  OutgoingMessage m = Sample();
  m.subject = std::string(999, 's');
  EXPECT_EQ(RenderMessage(m).error().message(), "subject is longer than 998 bytes");
  // 990 ASCII bytes fit but not once "Subject: " is added.
  m.subject = std::string(990, 's');
  EXPECT_EQ(RenderMessage(m).error().message(), "subject is longer than 998 bytes once encoded");
  // Under the raw limit, over it once RFC 2047-encoded.
  m.subject.clear();
  while (m.subject.size() < 700) m.subject += "é";
  EXPECT_EQ(RenderMessage(m).error().message(), "subject is longer than 998 bytes once encoded");
  // GMime folds at spaces; a word too long for one line it encodes in chunks,
  // so a long unbroken subject grows.
  m.subject.clear();
  while (m.subject.size() < 900) m.subject += "word ";
  EXPECT_OK(RenderMessage(m));
  m.subject = std::string(900, 's');
  EXPECT_EQ(RenderMessage(m).error().message(), "subject is longer than 998 bytes once encoded");

  m = Sample();
  m.to.display_name = std::string(257, 'n');
  EXPECT_EQ(RenderMessage(m).error().message(), "to.display_name is longer than 256 bytes");
  m.to.display_name = std::string(256, 'n');
  EXPECT_OK(RenderMessage(m));

  m = Sample();
  m.text_body = std::string(kMaxBodyBytes + 1, 'b');
  EXPECT_EQ(RenderMessage(m).error().message(), "text_body is larger than 2 MiB");
  m.text_body = "ok";
  m.html_body = std::string(kMaxBodyBytes + 1, 'h');
  EXPECT_EQ(RenderMessage(m).error().message(), "html_body is larger than 2 MiB");
  m.html_body.clear();
  m.text_body = std::string(kMaxBodyBytes, 'b');
  EXPECT_OK(RenderMessage(m));

  m = Sample();
  m.extra_headers[0].second = std::string(990, 'v');
  EXPECT_EQ(RenderMessage(m).error().message(),
            "extra_headers[0] is longer than 998 bytes once encoded");
  m = Sample();
  m.extra_headers.clear();
  for (int i = 0; i < 33; ++i) m.extra_headers.push_back({"X-H" + std::to_string(i), "v"});
  EXPECT_EQ(RenderMessage(m).error().message(), "extra_headers has more than 32 entries");
  m.extra_headers.pop_back();
  EXPECT_OK(RenderMessage(m));
}

TEST(MimeTest, RefusesEmptyTextBody) {
  OutgoingMessage m = Sample();
  m.text_body.clear();
  m.html_body = "<p>only html</p>";
  EXPECT_EQ(RenderMessage(m).error().message(), "text_body is empty");
}

// GMime parses our output back to the same addresses and subject.
TEST(MimeTest, GMimeParsesItBack) {
  OutgoingMessage m = Sample();
  m.subject = "Ünïcödé subject";
  m.html_body = "<p>x</p>";
  Result<std::string> out = RenderMessage(m);
  ASSERT_OK(out);
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(out->data(), out->size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* parsed = g_mime_parser_construct_message(parser, nullptr);
  ASSERT_NE(parsed, nullptr);
  EXPECT_STREQ(g_mime_message_get_subject(parsed), m.subject.c_str());
  EXPECT_STREQ(g_mime_message_get_message_id(parsed), "abc.123@mail.example.org");
  InternetAddressList* to = g_mime_message_get_to(parsed);
  ASSERT_EQ(internet_address_list_length(to), 1);
  EXPECT_STREQ(internet_address_mailbox_get_addr(
                   INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(to, 0))),
               "alex@example.com");
  EXPECT_TRUE(GMIME_IS_MULTIPART(g_mime_message_get_mime_part(parsed)));
  g_object_unref(parsed);
  g_object_unref(parser);
  g_object_unref(stream);
}

// Many threads render at once (GMime initialised by whichever comes first);
// single-part output is deterministic, so each must equal the serial result.
TEST(MimeTest, RendersFromManyThreadsAtOnce) {
  std::vector<OutgoingMessage> messages;
  for (int i = 0; i < 8; ++i) {
    OutgoingMessage m = Sample();
    m.to = {"Member " + std::to_string(i) + " Zoë", "member" + std::to_string(i) + "@example.com"};
    m.subject = "Réunion " + std::to_string(i);
    m.text_body =
        std::string(static_cast<size_t>(i) * 1000, 'x') + "\nΚαλησπέρα " + std::to_string(i) + "\n";
    m.message_id = "<m" + std::to_string(i) + "@mail.example.org>";
    messages.push_back(std::move(m));
  }
  std::vector<std::string> expected;
  for (const auto& m : messages) expected.push_back(RenderMessage(m).value());

  std::atomic<int> mismatches{0};
  std::atomic<int> multipart_failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 150; ++round) {
        const size_t i = static_cast<size_t>((t + round) % 8);
        Result<std::string> out = RenderMessage(messages[i]);
        if (!out.has_value() || *out != expected[i]) ++mismatches;
        OutgoingMessage alt = messages[i];
        alt.html_body = "<p>" + alt.subject + "</p>";
        Result<std::string> multi = RenderMessage(alt);
        if (!multi.has_value() || multi->find("multipart/alternative") == std::string::npos) {
          ++multipart_failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(multipart_failures.load(), 0);
}

}  // namespace
}  // namespace switchboard::mail
