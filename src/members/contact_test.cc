#include "members/contact.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace switchboard::members {
namespace {

// Fixtures use only numbers from Ofcom's drama ranges and the fictional
// North American 555-01xx block, and only reserved email domains.

// True when `s` has two digits in a row: a fixed reason has none ("UTF-8" has
// one), so this catches any echo of a number.
bool ContainsDigits(const std::string& s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      return true;
    }
  }
  return false;
}

TEST(PhoneTest, AcceptsDramaNumbersInManyWrittenForms) {
  for (const char* written :
       {"07700 900123", "07700900123", "+44 7700 900123", "+447700900123", "0044 7700 900123",
        "+44 (0)7700 900123", "(07700) 900123", "07700-900-123", "07700 900 123", "7700 900123",
        "  07700 900123\t", "07700\u00A0900123", "07700\u2013900123"}) {
    Result<Phone> phone = NormalisePhone(written);
    ASSERT_TRUE(phone.has_value()) << written << ": " << phone.error().message();
    EXPECT_EQ(phone->e164, "+447700900123") << written;
    EXPECT_EQ(phone->kind, PhoneKind::kMobile) << written;
    EXPECT_TRUE(phone->reserved_drama_range) << written;
  }
}

TEST(PhoneTest, AcceptsEveryDramaRange) {
  struct Case {
    const char* written;
    const char* e164;
    PhoneKind kind;
  };
  const std::vector<Case> cases = {
      {"07700 900000", "+447700900000", PhoneKind::kMobile},
      {"07700 900999", "+447700900999", PhoneKind::kMobile},
      {"0113 496 0000", "+441134960000", PhoneKind::kFixed},
      {"0114 496 0123", "+441144960123", PhoneKind::kFixed},
      {"0115 496 0123", "+441154960123", PhoneKind::kFixed},
      {"0116 496 0123", "+441164960123", PhoneKind::kFixed},
      {"0117 496 0123", "+441174960123", PhoneKind::kFixed},
      {"0118 496 0123", "+441184960123", PhoneKind::kFixed},
      {"0121 496 0123", "+441214960123", PhoneKind::kFixed},
      {"0131 496 0123", "+441314960123", PhoneKind::kFixed},
      {"0141 496 0123", "+441414960123", PhoneKind::kFixed},
      {"0151 496 0123", "+441514960123", PhoneKind::kFixed},
      {"0161 496 0999", "+441614960999", PhoneKind::kFixed},
      {"0191 498 0123", "+441914980123", PhoneKind::kFixed},
      {"020 7946 0018", "+442079460018", PhoneKind::kFixed},
      {"+44 20 7946 0999", "+442079460999", PhoneKind::kFixed},
      {"028 9649 6000", "+442896496000", PhoneKind::kFixed},
      {"028 9649 6999", "+442896496999", PhoneKind::kFixed},
      {"029 2018 0123", "+442920180123", PhoneKind::kFixed},
      {"01632 960123", "+441632960123", PhoneKind::kFixed},
      {"0306 999 0123", "+443069990123", PhoneKind::kOther},
      {"0808 157 0123", "+448081570123", PhoneKind::kOther},
      {"0909 879 0123", "+449098790123", PhoneKind::kOther},
  };
  for (const Case& c : cases) {
    Result<Phone> phone = NormalisePhone(c.written);
    ASSERT_TRUE(phone.has_value()) << c.written << ": " << phone.error().message();
    EXPECT_EQ(phone->e164, c.e164);
    EXPECT_EQ(phone->kind, c.kind) << c.written;
    EXPECT_TRUE(phone->reserved_drama_range) << c.written;
    EXPECT_TRUE(IsOfcomDramaNumber(c.e164));
  }
}

TEST(PhoneTest, DramaRangeEdges) {
  EXPECT_TRUE(IsOfcomDramaNumber("+447700900000"));
  EXPECT_TRUE(IsOfcomDramaNumber("+447700900999"));
  // Mobile numbers just outside 07700 900xxx could belong to real people, so
  // the outer edges are checked on geographic ranges only.
  EXPECT_FALSE(IsOfcomDramaNumber("+441134961000"));
  EXPECT_FALSE(IsOfcomDramaNumber("+442896495999"));
  EXPECT_FALSE(IsOfcomDramaNumber("+44770090012"));    // too short
  EXPECT_FALSE(IsOfcomDramaNumber("+4477009001234"));  // too long
  EXPECT_FALSE(IsOfcomDramaNumber("07700900123"));     // not E.164
  EXPECT_FALSE(IsOfcomDramaNumber("+447700900x23"));
  EXPECT_FALSE(IsOfcomDramaNumber(""));
}

TEST(PhoneTest, AcceptsAValidNumberOutsideTheDramaRanges) {
  // 555-01xx is reserved for fiction in the North American plan.
  Result<Phone> phone = NormalisePhone("+1 202 555 0143");
  ASSERT_TRUE(phone.has_value()) << phone.error().message();
  EXPECT_EQ(phone->e164, "+12025550143");
  EXPECT_FALSE(phone->reserved_drama_range);
  EXPECT_EQ(phone->kind, PhoneKind::kOther);  // the plan does not say fixed or mobile

  phone = NormalisePhone("(202) 555-0143", "us");
  ASSERT_TRUE(phone.has_value()) << phone.error().message();
  EXPECT_EQ(phone->e164, "+12025550143");
}

TEST(PhoneTest, RejectsWithReasonsThatDoNotRepeatTheInput) {
  struct Case {
    const char* input;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"12", "too short to be a phone number"},
      {"not a number", "contains letters"},
      {"0770090012345678", "too long to be a phone number"},
      {"", "empty"},
      {"   ", "empty"},
      {"0800 FLOWERS", "contains letters"},
      {"07700 900123 ext 4", "contains letters"},
      {"07700 900123#", "contains characters that are not part of a phone number"},
      {"07700 900123 +1", "has a plus sign that is not at the start"},
      {"()", "contains no digits"},
      {"07700 900123 / 07700 900124", "too long to be a phone number"},
      {"020 7946 001", "not a valid number for its region"},
      {"+999 7700 900123", "has an unknown country code"},
      {"07700 \377900123", "not valid UTF-8"},
      {"\xD9\xA0\xD9\xA1\xD9\xA2", "contains characters that are not part of a phone number"},
  };
  for (const Case& c : cases) {
    Result<Phone> phone = NormalisePhone(c.input);
    ASSERT_FALSE(phone.has_value()) << c.input;
    EXPECT_EQ(phone.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(phone.error().message(), c.reason) << c.input;
    EXPECT_FALSE(ContainsDigits(phone.error().message())) << c.input;
  }
  Result<Phone> no_region = NormalisePhone("07700 900123", "ZZ");
  ASSERT_FALSE(no_region.has_value());
  EXPECT_EQ(no_region.error().message(), "has no country code and no usable default region");
  EXPECT_FALSE(NormalisePhone(std::string(200, '1')).has_value());
}

TEST(PhoneTest, NormalisedNumbersReadBackUnchanged) {
  for (const char* written : {"07700 900123", "+1 202 555 0143", "0909 879 0123"}) {
    Result<Phone> phone = NormalisePhone(written);
    ASSERT_TRUE(phone.has_value());
    Result<Phone> again = NormalisePhone(phone->e164);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->e164, phone->e164);
  }
}

TEST(EmailTest, AcceptsAddresses) {
  for (const char* address :
       {"ann@example.org", "ann.lee+members@example.com", "o'brien@mail.example.net",
        "x@example.test", "a_b-c@sub-domain.example.org", "user@xn--exmple-cua.org",
        "jos\xC3\xA9@example.org", "\"john..doe\"@example.org", "\"a@b\"@example.org",
        "\"esc\\\"aped\"@example.org", "1@example.invalid"}) {
    Result<Email> email = NormaliseEmail(address);
    ASSERT_TRUE(email.has_value()) << address << ": " << email.error().message();
    EXPECT_EQ(email->address, address);
  }
}

TEST(EmailTest, TrimsAndBuildsAMatchKey) {
  Result<Email> email = NormaliseEmail("  Ann.Lee+Tag@Example.ORG \t");
  ASSERT_TRUE(email.has_value());
  EXPECT_EQ(email->address, "Ann.Lee+Tag@Example.ORG");
  EXPECT_EQ(email->match_key, "ann.lee+tag@example.org");
}

TEST(EmailTest, KeepsInternationalisedDomainsAsGiven) {
  Result<Email> email = NormaliseEmail("user@ex\xC3\xA4mple.org");  // exämple
  ASSERT_TRUE(email.has_value()) << email.error().message();
  EXPECT_EQ(email->address, "user@ex\xC3\xA4mple.org");
  EXPECT_EQ(email->match_key, "user@ex\xC3\xA4mple.org");

  email = NormaliseEmail("User@EX\xC3\x84MPLE.org");  // EXÄMPLE
  ASSERT_TRUE(email.has_value()) << email.error().message();
  EXPECT_EQ(email->address, "User@EX\xC3\x84MPLE.org");
  EXPECT_EQ(email->match_key, "user@ex\xC3\xA4mple.org");
}

TEST(EmailTest, RejectsWithReasonsThatDoNotRepeatTheInput) {
  struct Case {
    std::string input;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"", "empty"},
      {"  ", "empty"},
      {"zqxj", "has no @"},
      {"zqxj@zqxj@example.org", "contains more than one @"},
      {"@example.org", "has nothing before the @"},
      {"\"\"@example.org", "has nothing before the @"},
      {"zqxj@", "has nothing after the @"},
      {"zqxj@localhost", "has no dot in its domain"},
      {".zqxj@example.org", "has a dot at the start or end of the part before the @"},
      {"zqxj.@example.org", "has a dot at the start or end of the part before the @"},
      {"zq..xj@example.org", "has two dots in a row before the @"},
      {"zqxj(x)@example.org", "has a character that is not allowed before the @"},
      {"zq,xj@example.org", "has a character that is not allowed before the @"},
      {"zq xj@example.org", "contains spaces"},
      {"zqxj@exa mple.org", "contains spaces"},
      {"zqxj@example\xC2\xA0.org", "contains spaces"},
      {"zqxj\x01@example.org", "contains control characters"},
      {"zqxj\xE2\x80\x8B@example.org", "contains invisible formatting characters"},
      {"zqxj\xFF@example.org", "not valid UTF-8"},
      {"zqxj@-example.org", "has a domain part that starts or ends with a hyphen"},
      {"zqxj@example-.org", "has a domain part that starts or ends with a hyphen"},
      {"zqxj@example..org", "has an empty part in its domain"},
      {"zqxj@.example.org", "has an empty part in its domain"},
      {"zqxj@example.org.", "has an empty part in its domain"},
      {"zqxj@exam_ple.org", "has a character that is not allowed in its domain"},
      {"zqxj@ex\xE2\x98\x83mple.org", "has a character that is not allowed in its domain"},
      {"zqxj@192.0.2.1", "has a top-level domain made of digits"},
      {"zqxj@[192.0.2.1]", "has an address literal instead of a domain"},
      {"\"zqxj@example.org", "has a quote that is never closed"},
      {"\"zq\"xj@example.org", "has characters between the closing quote and the @"},
      {std::string(65, 'z') + "@example.org", "has more than 64 bytes before the @"},
      {"zqxj@" + std::string(64, 'z') + ".example.org", "has a domain part longer than 63 bytes"},
      {std::string(64, 'z') + "@" + std::string(190, 'z') + ".org", "longer than 254 bytes"},
  };
  for (const Case& c : cases) {
    Result<Email> email = NormaliseEmail(c.input);
    ASSERT_FALSE(email.has_value()) << c.input;
    EXPECT_EQ(email.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(email.error().message(), c.reason) << c.input;
    EXPECT_EQ(email.error().message().find("zq"), std::string::npos);
    EXPECT_EQ(email.error().message().find("example"), std::string::npos);
  }
}

TEST(NameTest, NormalisesSpacingAndForm) {
  EXPECT_EQ(NormaliseName("  Zo\xC3\xAB   \xC3\x89lise ").value(), "Zo\xC3\xAB \xC3\x89lise");
  EXPECT_EQ(NormaliseName("Zoe\xCC\x88").value(), "Zo\xC3\xAB");  // decomposed -> NFC
  EXPECT_EQ(NormaliseName("Mary\u00A0Ann\t\nJones").value(), "Mary Ann Jones");
  EXPECT_EQ(NormaliseName("O'Brien-Smith").value(), "O'Brien-Smith");
  EXPECT_EQ(NormaliseName("\xE6\x9D\x8E\xE5\xB0\x8F\xE9\xBE\x8D").value(),
            "\xE6\x9D\x8E\xE5\xB0\x8F\xE9\xBE\x8D");
  EXPECT_EQ(NormaliseName("Henry VIII").value(), "Henry VIII");
  EXPECT_EQ(NormaliseName("Ann 2").value(), "Ann 2");
  // A zero-width joiner is part of spelling in some scripts.
  EXPECT_TRUE(NormaliseName("\xE0\xB6\x9A\xE0\xB7\x8A\xE2\x80\x8D\xE0\xB6\xBB").has_value());
}

TEST(NameTest, LengthLimitCountsCharacters) {
  std::string hundred;
  for (int i = 0; i < 100; ++i) hundred += "\xC3\xA9";  // é: 2 bytes, 1 character
  EXPECT_TRUE(NormaliseName(hundred).has_value());
  Result<std::string> too_long = NormaliseName(hundred + "e");
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().message(), "longer than 100 characters");
  EXPECT_FALSE(NormaliseName(std::string(100'000, 'a')).has_value());
}

TEST(NameTest, RejectsWithReasonsThatDoNotRepeatTheInput) {
  struct Case {
    const char* input;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"", "empty"},
      {" \t\xE2\x80\x83 ", "empty"},
      {"12345", "contains only digits"},
      {"12 34", "contains only digits"},
      {"--- ...", "contains no letters"},
      {"Zqxj\x01", "contains control characters"},
      {"Zqxj\xC2\x85", "contains control characters"},
      {"Zqxj\u202EjxqZ", "contains invisible formatting characters"},
      {"Zqxj\xFF", "not valid UTF-8"},
  };
  for (const Case& c : cases) {
    Result<std::string> name = NormaliseName(c.input);
    ASSERT_FALSE(name.has_value()) << c.input;
    EXPECT_EQ(name.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(name.error().message(), c.reason) << c.input;
    EXPECT_EQ(name.error().message().find("qxj"), std::string::npos);
  }
}

TEST(PostcodeTest, Normalises) {
  EXPECT_EQ(NormalisePostcode("sw1a1aa").value(), "SW1A 1AA");
  EXPECT_EQ(NormalisePostcode("  SW1A   1AA ").value(), "SW1A 1AA");
  EXPECT_EQ(NormalisePostcode("m1 1ae").value(), "M1 1AE");      // A9
  EXPECT_EQ(NormalisePostcode("b338th").value(), "B33 8TH");     // A99
  EXPECT_EQ(NormalisePostcode("CR2 6XH").value(), "CR2 6XH");    // AA9
  EXPECT_EQ(NormalisePostcode("dn55 1pt").value(), "DN55 1PT");  // AA99
  EXPECT_EQ(NormalisePostcode("w1a 0ax").value(), "W1A 0AX");    // A9A
  EXPECT_EQ(NormalisePostcode("ec1a 1bb").value(), "EC1A 1BB");  // AA9A
  EXPECT_EQ(NormalisePostcode("gir0aa").value(), "GIR 0AA");
}

TEST(PostcodeTest, RejectsWithReasonsThatDoNotRepeatTheInput) {
  struct Case {
    const char* input;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"", "empty"},
      {"   ", "empty"},
      {"SW1A-1AA", "contains characters that are not in a postcode"},
      {"SW1A 1A\xC3\x81", "contains characters that are not in a postcode"},
      {"SW1A 1AAA", "too long to be a postcode"},
      {"SW1", "too short to be a postcode"},
      {"SW1A 1CA", "not shaped like a UK postcode"},  // C never in the inward code
      {"SW1A 1AV", "not shaped like a UK postcode"},
      {"1W1A 1AA", "not shaped like a UK postcode"},
      {"SW1A AAA", "not shaped like a UK postcode"},
      {"SWAA 1AA", "not shaped like a UK postcode"},
      {"S1AA 1AA", "not shaped like a UK postcode"},
      {"GIR 0AB", "not shaped like a UK postcode"},
  };
  for (const Case& c : cases) {
    Result<std::string> postcode = NormalisePostcode(c.input);
    ASSERT_FALSE(postcode.has_value()) << c.input;
    EXPECT_EQ(postcode.error().message(), c.reason) << c.input;
    EXPECT_FALSE(ContainsDigits(postcode.error().message()));
  }
}

TEST(PostcodeTest, District) {
  EXPECT_EQ(PostcodeDistrict("SW1A 1AA"), "SW1A");
  EXPECT_EQ(PostcodeDistrict("M1 1AE"), "M1");
  EXPECT_EQ(PostcodeDistrict("GIR 0AA"), "GIR");
  EXPECT_EQ(PostcodeDistrict("sw1a1aa"), "SW1A");
  EXPECT_EQ(PostcodeDistrict("nonsense"), "");
  EXPECT_EQ(PostcodeDistrict(""), "");
}

}  // namespace
}  // namespace switchboard::members
