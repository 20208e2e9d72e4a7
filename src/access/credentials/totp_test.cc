#include "access/credentials/totp.h"

#include <gtest/gtest.h>

#include <string>

namespace switchboard::access {
namespace {

Micros Seconds(std::int64_t s) { return s * kMicrosPerSecond; }

// RFC 6238 Appendix B: 8 digits, 30-second steps, the seed repeated to the
// hash's block-friendly length for each algorithm.
const std::string kSeed20 = "12345678901234567890";
const std::string kSeed32 = "12345678901234567890123456789012";
const std::string kSeed64 = "1234567890123456789012345678901234567890123456789012345678901234";

struct Rfc6238Vector {
  std::int64_t time;
  const char* sha1;
  const char* sha256;
  const char* sha512;
};
constexpr Rfc6238Vector kRfc6238[] = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {20000000000, "65353130", "77737706", "47863826"},
};

TEST(TotpTest, Rfc6238AppendixBVectors) {
  for (const auto& v : kRfc6238) {
    SCOPED_TRACE(v.time);
    TotpParams p;
    p.digits = 8;
    p.algorithm = TotpAlgorithm::kSha1;
    EXPECT_EQ(GenerateTotp(kSeed20, Seconds(v.time), p).value(), v.sha1);
    p.algorithm = TotpAlgorithm::kSha256;
    EXPECT_EQ(GenerateTotp(kSeed32, Seconds(v.time), p).value(), v.sha256);
    p.algorithm = TotpAlgorithm::kSha512;
    EXPECT_EQ(GenerateTotp(kSeed64, Seconds(v.time), p).value(), v.sha512);
  }
}

TEST(TotpTest, Rfc6238VectorsVerify) {
  TotpParams p;
  p.digits = 8;
  for (const auto& v : kRfc6238) {
    std::int64_t last = -1;
    EXPECT_TRUE(VerifyTotp(kSeed20, v.sha1, Seconds(v.time), 0, &last, p).value()) << v.time;
    EXPECT_EQ(last, v.time / 30);
  }
}

TEST(TotpTest, SixDigitsIsTheLastSixOfEight) {
  // Dynamic truncation is mod 10^digits, so the 6-digit code is a suffix.
  EXPECT_EQ(GenerateTotp(kSeed20, Seconds(59)).value(), "287082");
  EXPECT_EQ(GenerateTotp(kSeed20, Seconds(1111111109)).value(), "081804");
}

TEST(TotpTest, WindowAcceptsNeighbouringStepsOnly) {
  const std::string secret = GenerateTotpSecret();
  const Micros t = Seconds(1'800'000'000);
  const std::string previous = GenerateTotp(secret, t - Seconds(30)).value();
  const std::string next = GenerateTotp(secret, t + Seconds(30)).value();
  const std::string two_back = GenerateTotp(secret, t - Seconds(60)).value();
  std::int64_t last = -1;
  EXPECT_TRUE(VerifyTotp(secret, previous, t, kDefaultTotpWindow, &last).value());
  EXPECT_EQ(last, TotpStep(t) - 1);
  last = -1;
  EXPECT_TRUE(VerifyTotp(secret, next, t, kDefaultTotpWindow, &last).value());
  EXPECT_EQ(last, TotpStep(t) + 1);
  last = -1;
  EXPECT_FALSE(VerifyTotp(secret, two_back, t, kDefaultTotpWindow, &last).value());
  EXPECT_EQ(last, -1);
  EXPECT_TRUE(VerifyTotp(secret, two_back, t, 2, &last).value());
  last = -1;
  EXPECT_FALSE(VerifyTotp(secret, previous, t, 0, &last).value());
}

TEST(TotpTest, RefusesReplayOfAUsedStep) {
  const std::string secret = GenerateTotpSecret();
  const Micros t = Seconds(1'800'000'010);
  const std::string code = GenerateTotp(secret, t).value();
  std::int64_t last = kNoTotpStepUsed;
  ASSERT_TRUE(VerifyTotp(secret, code, t, 1, &last).value());
  EXPECT_EQ(last, TotpStep(t));
  // Same code again, now and 20 seconds later (still inside the window).
  EXPECT_FALSE(VerifyTotp(secret, code, t, 1, &last).value());
  EXPECT_FALSE(VerifyTotp(secret, code, t + Seconds(20), 1, &last).value());
  // An older code is refused too once a newer step was used.
  const std::string older = GenerateTotp(secret, t - Seconds(30)).value();
  EXPECT_FALSE(VerifyTotp(secret, older, t, 1, &last).value());
  // The next step's code works.
  const std::string next = GenerateTotp(secret, t + Seconds(30)).value();
  EXPECT_TRUE(VerifyTotp(secret, next, t + Seconds(30), 1, &last).value());
  EXPECT_EQ(last, TotpStep(t) + 1);
}

TEST(TotpTest, RejectsMalformedCodes) {
  const std::string secret = GenerateTotpSecret();
  std::int64_t last = -1;
  EXPECT_EQ(VerifyTotp(secret, "12345", Seconds(100), 1, &last).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyTotp(secret, "12a456", Seconds(100), 1, &last).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyTotp("", "123456", Seconds(100), 1, &last).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyTotp(secret, "123456", Seconds(100), 11, &last).error().code(),
            StatusCode::kInvalidArgument);
  // Spaces are allowed ("123 456").
  std::string code = GenerateTotp(secret, Seconds(100)).value();
  code.insert(3, " ");
  EXPECT_TRUE(VerifyTotp(secret, code, Seconds(100), 1, &last).value());
  EXPECT_EQ(last, -1 + 1 + 3);
}

TEST(TotpTest, SecretsAreRandomAndTwentyBytes) {
  const std::string a = GenerateTotpSecret();
  EXPECT_EQ(a.size(), kTotpSecretBytes);
  EXPECT_NE(a, GenerateTotpSecret());
}

TEST(Base32Test, Rfc4648Section10Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "MY"},
      {"fo", "MZXQ"},
      {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base32Encode(plain), encoded);
    EXPECT_EQ(Base32Decode(encoded).value(), plain);
  }
  // The RFC's padded forms decode too, as does lower case.
  EXPECT_EQ(Base32Decode("MZXW6YQ=").value(), "foob");
  EXPECT_EQ(Base32Decode("MY======").value(), "f");
  EXPECT_EQ(Base32Decode("mzxw6ytboi").value(), "foobar");
  EXPECT_EQ(Base32Decode("MZXW 6YTB OI").value(), "foobar");
}

TEST(Base32Test, RoundTripsRandomBytesAndRejectsGarbage) {
  for (int i = 0; i < 50; ++i) {
    const std::string s = GenerateTotpSecret().substr(0, static_cast<size_t>(i % 21));
    EXPECT_EQ(Base32Decode(Base32Encode(s)).value(), s);
  }
  EXPECT_EQ(Base32Encode(kSeed20), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_FALSE(Base32Decode("MZXW1").has_value());  // '1' is not base32
  EXPECT_FALSE(Base32Decode("M").has_value());      // impossible length
  EXPECT_FALSE(Base32Decode("MZX").has_value());
  EXPECT_FALSE(Base32Decode("MZXW6Y").has_value());
}

TEST(OtpauthUriTest, Shape) {
  EXPECT_EQ(OtpauthUri("Switchboard", "alice@example.org", kSeed20),
            "otpauth://totp/Switchboard:alice%40example.org"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Switchboard"
            "&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(OtpauthUri("Green Party", "a b", "f"),
            "otpauth://totp/Green%20Party:a%20b?secret=MY&issuer=Green%20Party"
            "&algorithm=SHA1&digits=6&period=30");
}

int CountOf(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(QrTest, SvgIsWellFormedWithQuietZone) {
  const std::string uri = OtpauthUri("Switchboard", "alice@example.org", GenerateTotpSecret());
  const int width = QrWidth(uri).value();
  // A QR symbol of version v is 17 + 4v modules wide.
  EXPECT_EQ((width - 17) % 4, 0);
  EXPECT_GE(width, 21);
  EXPECT_LE(width, 177);
  const std::string svg = QrSvg(uri, 4).value();
  const std::string dim = std::to_string((width + 8) * 4);
  EXPECT_TRUE(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_NE(svg.find("viewBox=\"0 0 " + dim + " " + dim + "\""), std::string::npos);
  EXPECT_TRUE(svg.ends_with("</svg>\n"));
  EXPECT_EQ(CountOf(svg, "<rect"), CountOf(svg, "/>"));
  EXPECT_GT(CountOf(svg, "<rect"), width);  // background plus many dark runs
  EXPECT_EQ(CountOf(svg, "<g"), 1);
  EXPECT_EQ(CountOf(svg, "</g>"), 1);
  // The top-left finder pattern starts at the quiet zone's edge, 7 modules wide.
  EXPECT_NE(svg.find("<rect x=\"16\" y=\"16\" width=\"28\" height=\"4\"/>"), std::string::npos);
}

TEST(QrTest, TextUsesHalfBlocks) {
  const std::string uri = OtpauthUri("Switchboard", "bob", GenerateTotpSecret());
  const int width = QrWidth(uri).value();
  const std::string text = QrText(uri).value();
  const int rows = CountOf(text, "\n");
  EXPECT_EQ(rows, (width + 4 + 1) / 2);
  // The first line is quiet zone above quiet zone: all full blocks.
  const std::string first = text.substr(0, text.find('\n'));
  EXPECT_EQ(CountOf(first, "\u2588"), width + 4);
  EXPECT_GT(CountOf(text, "\u2580") + CountOf(text, "\u2584"), 0);
}

TEST(QrTest, RejectsUnencodableInput) {
  EXPECT_FALSE(QrSvg(std::string(8000, 'x')).has_value());
  EXPECT_FALSE(QrSvg(std::string("a\0b", 3)).has_value());
  EXPECT_FALSE(QrSvg("x", 0).has_value());
}

}  // namespace
}  // namespace switchboard::access
