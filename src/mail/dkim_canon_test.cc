#include "mail/dkim_canon.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/testing/status_matchers.h"

namespace switchboard::mail::dkim {
namespace {

std::string Header(std::string_view raw) {
  std::string out;
  AppendRelaxedHeader(raw, &out);
  return out;
}

std::string Body(std::string_view body) {
  std::string out;
  AppendRelaxedBody(body, &out);
  return out;
}

// RFC 6376 §3.4.5, the worked example of relaxed canonicalisation.
TEST(DkimCanonTest, Rfc6376Example) {
  EXPECT_EQ(Header("A: X"), "a:X\r\n");
  EXPECT_EQ(Header("B : Y\t\r\n\tZ  "), "b:Y Z\r\n");
  EXPECT_EQ(Body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
}

TEST(DkimCanonTest, HeaderEdgeCases) {
  EXPECT_EQ(Header("Subject:  a\r\n\t b  \t"), "subject:a b\r\n");
  EXPECT_EQ(Header("SUBJECT \t: x"), "subject:x\r\n");
  EXPECT_EQ(Header("X-Empty:"), "x-empty:\r\n");
  EXPECT_EQ(Header("X-Empty:   \r\n \t"), "x-empty:\r\n");
  EXPECT_EQ(Header("To: a@example.org,\r\n b@example.org,\r\n\tc@example.org"),
            "to:a@example.org, b@example.org, c@example.org\r\n");
  // Only the name is lower-cased; 8-bit bytes pass through.
  EXPECT_EQ(Header("Subject: Zo\xc3\xab  Ab"), "subject:Zo\xc3\xab Ab\r\n");
  EXPECT_EQ(Header("DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb="),
            "dkim-signature:v=1; a=rsa-sha256; b=\r\n");
}

TEST(DkimCanonTest, BodyEdgeCases) {
  EXPECT_EQ(Body(""), "");
  EXPECT_EQ(Body("\r\n"), "");
  EXPECT_EQ(Body("\r\n\r\n \t\r\n"), "");
  EXPECT_EQ(Body("x"), "x\r\n");
  EXPECT_EQ(Body("x  "), "x \r\n");
  EXPECT_EQ(Body(" \t"), " \r\n");
  EXPECT_EQ(Body("\r\nx\r\n"), "\r\nx\r\n");
  EXPECT_EQ(Body("  \r\n x \t\r\n\r\n \r\n"), "\r\n x\r\n");
  EXPECT_EQ(Body("a\t\tb   c\r\n\r\nd\r\n\r\n"), "a b c\r\n\r\nd\r\n");
  // Only CRLF ends a line.
  EXPECT_EQ(Body("a \nb \r\n"), "a \nb\r\n");
  // SHA-256 of nothing, and of "\r\n".
  EXPECT_EQ(BodyHash(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(BodyHash("\r\n\r\n"), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(BodyHash("x"), BodyHash("x \t\r\n\r\n"));
}

TEST(DkimCanonTest, SplitsFieldsAndBody) {
  Result<SplitMessageResult> m =
      SplitMessage("From: a@example.org\r\nSubject: one\r\n two\r\nTo : b\r\n\r\nbody\r\n");
  ASSERT_OK(m);
  ASSERT_EQ(m->fields.size(), 3u);
  EXPECT_EQ(m->fields[0].name, "from");
  EXPECT_EQ(m->fields[1].raw, "Subject: one\r\n two");
  EXPECT_EQ(m->fields[2].name, "to");
  EXPECT_EQ(m->body, "body\r\n");

  Result<SplitMessageResult> no_body = SplitMessage("From: a\r\n\r\n");
  ASSERT_OK(no_body);
  EXPECT_EQ(no_body->body, "");

  EXPECT_EQ(SplitMessage("From: a\r\nno colon\r\n\r\n").error().message(),
            "the message to sign has a header line without a name");
  EXPECT_EQ(SplitMessage(": no name\r\n\r\n").error().message(),
            "the message to sign has a header line without a name");
  EXPECT_EQ(SplitMessage("From: a\r\nX\n\tY: b\r\n\r\n").error().message(),
            "the message to sign has a header field name that is not printable ASCII");
  EXPECT_EQ(SplitMessage("Fr\xc3\xb6m: a\r\n\r\n").error().message(),
            "the message to sign has a header field name that is not printable ASCII");
  EXPECT_EQ(SplitMessage(" From: a\r\n\r\n").error().message(),
            "the message to sign starts with a continuation line");
  EXPECT_EQ(SplitMessage("From: a\r\n").error().message(),
            "the message to sign has no header block");
  EXPECT_EQ(SplitMessage("\r\nbody").error().message(), "the message to sign has no header block");
}

TEST(DkimCanonTest, SignedDataTakesInstancesFromTheBottom) {
  Result<SplitMessageResult> m =
      SplitMessage("To: one\r\nFrom: f\r\nTo: two\r\nTO:   three\r\n\r\n");
  ASSERT_OK(m);
  // Two "to"s take the bottom two; the third "from" finds nothing.
  const std::string data =
      SignedHeaderData(m->fields, {"to", "from", "to", "from"}, "DKIM-Signature: a=1;\r\n b=");
  EXPECT_EQ(data, "to:three\r\nfrom:f\r\nto:two\r\ndkim-signature:a=1; b=");
}

}  // namespace
}  // namespace switchboard::mail::dkim
