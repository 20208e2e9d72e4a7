#include "mail/address.h"

#include <gtest/gtest.h>

#include <string>

namespace switchboard::mail {
namespace {

TEST(AddressTest, AcceptsAddrSpecs) {
  for (const char* address :
       {"a@example.org", "first.last+tag@mail.example.com", "o'brien@example.net",
        "x!#$%&'*+-/=?^_`{|}~@example.org", "\"john doe\"@example.com",
        "\"quoted\\\"quote\"@example.com", "postmaster@localhost", "user@[192.0.2.1]",
        "user@xn--bcher-kva.example"}) {
    EXPECT_TRUE(ValidateAddress(address, "to.address").ok()) << address;
  }
}

TEST(AddressTest, RefusesWithoutRepeatingTheValue) {
  for (const char* address : {"",
                              "no-at.example.org",
                              "@example.org",
                              "a@",
                              "a..b@example.org",
                              ".a@example.org",
                              "a.@example.org",
                              "a b@example.org",
                              "a@exa mple.org",
                              "a@-example.org",
                              "a@example-.org",
                              "a@example..org",
                              "a@example.org.",
                              "\"unterminated@example.org",
                              "\"a\\\"@example.org",
                              "zoë@example.org",
                              "a@exämple.org",
                              "a<b@example.org",
                              "a@example.org>",
                              "a,b@example.org"}) {
    const Status st = ValidateAddress(address, "to.address");
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << address;
    EXPECT_TRUE(st.message().starts_with("to.address ")) << st.message();
    if (*address) {
      EXPECT_EQ(st.message().find(address), std::string::npos) << st.message();
    }
  }
}

TEST(AddressTest, LineBreaksAndNulAreNamedAsSuch) {
  for (std::string address : {std::string("a@example.org\r\nBcc: b@example.org"),
                              std::string("a@example.org\n"), std::string("a\0@example.org", 15)}) {
    const Status st = ValidateAddress(address, "rcpt");
    EXPECT_EQ(st.message(), "rcpt contains a line break or NUL");
  }
}

TEST(AddressTest, Lengths) {
  EXPECT_TRUE(ValidateAddress(std::string(64, 'a') + "@example.org", "x").ok());
  EXPECT_FALSE(ValidateAddress(std::string(65, 'a') + "@example.org", "x").ok());
  std::string domain;
  while (domain.size() < 250) domain += std::string(9, 'd') + ".";
  domain += "org";
  EXPECT_FALSE(ValidateAddress("a@" + domain, "x").ok());
}

TEST(AddressTest, HostNames) {
  EXPECT_TRUE(IsHostName("example.org"));
  EXPECT_TRUE(IsHostName("mail"));
  EXPECT_TRUE(IsHostName("sel-2026._domainkey") == false);  // '_' is not a host name character
  EXPECT_FALSE(IsHostName(""));
  EXPECT_FALSE(IsHostName("a..b"));
  EXPECT_FALSE(IsHostName("a;b"));
  EXPECT_FALSE(IsHostName(std::string(64, 'a') + ".org"));
}

TEST(AddressTest, SmtpFormOfInternationalisedDomains) {
  EXPECT_EQ(ToSmtpAddress("plain@example.org").value(), "plain@example.org");
  EXPECT_EQ(ToSmtpAddress("idn.test@b\u00fccher.example").value(),
            "idn.test@xn--bcher-kva.example");
  // UTS #46 mapping: upper-case and full-width forms of a domain fold.
  EXPECT_EQ(ToSmtpAddress("a@B\u00dcCHER.example").value(), "a@xn--bcher-kva.example");
  EXPECT_EQ(ToSmtpAddress("a@[192.0.2.1]").value(), "a@[192.0.2.1]");
}

TEST(AddressTest, SmtpFormRefusesWhatItCannotCarryWithoutRepeatingIt) {
  const std::string eai = "t\u00ebst.person@example.org";
  auto r = ToSmtpAddress(eai);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("SMTPUTF8"), std::string::npos);
  EXPECT_EQ(r.error().message().find("person"), std::string::npos);

  // A disallowed code point in the domain (U+2615, a symbol: not IDNA2008).
  auto bad = ToSmtpAddress("secret.person@caf\u2615.example");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message().find("secret"), std::string::npos);
  EXPECT_FALSE(ToSmtpAddress("no-at-sign").has_value());
  EXPECT_FALSE(ToSmtpAddress("@example.org").has_value());
}

}  // namespace
}  // namespace switchboard::mail
