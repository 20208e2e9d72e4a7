#include "mail/dkim.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/testing/status_matchers.h"
#include "mail/mime.h"
#include "mail/testing/peers.h"

namespace switchboard::mail {
namespace {

// One key pair per test process (openssl genpkey takes a moment).
const testing::RsaKeyPair& Keys() {
  static const testing::RsaKeyPair* keys =
      new testing::RsaKeyPair(testing::GenerateRsaKeyPair().value());
  return *keys;
}

std::string TxtRecord() { return "v=DKIM1; k=rsa; p=" + Keys().public_der_base64; }

OutgoingMessage Sample() {
  OutgoingMessage m;
  m.from = {"Ward 5 Organisers", "ward5@example.org"};
  m.to = {"Zoë Example", "zoe@example.com"};
  m.subject = "Réunion on Thursday";
  m.text_body = "Hello Zoë,\n\nThe branch meets on Thursday.\n.\n";
  m.html_body = "<p>Hello Zoë,</p>";
  m.message_id = "<abc.123@mail.example.org>";
  m.date = ParseTimestamp("2026-11-24T18:45:54Z").value();
  m.extra_headers = {
      {"List-Unsubscribe", "<https://example.org/u/tok123>, <mailto:unsub@example.org>"},
      {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
      {"X-Switchboard-Message", "m-42"},
  };
  return m;
}

DkimSigner MakeSigner() {
  return DkimSigner::Create("example.org", "sb2026", Keys().private_pem).value();
}

// The tag=value lines dkim_verify.py printed, as a map.
std::map<std::string, std::string> Tags(const std::string& lines) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    const std::string line = lines.substr(start, end - start);
    const size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    start = end + 1;
  }
  return out;
}

TEST(DkimTest, PublishesTheMatchingTxtRecord) {
  DkimSigner signer = MakeSigner();
  EXPECT_EQ(signer.DnsName(), "sb2026._domainkey.example.org");
  EXPECT_EQ(signer.DnsTxtRecord(), TxtRecord());
}

TEST(DkimTest, SignatureVerifiesWithAnIndependentVerifier) {
  DkimSigner signer = MakeSigner();
  const std::string rendered = RenderMessage(Sample()).value();
  Result<std::string> signed_message = signer.Sign(rendered);
  ASSERT_OK(signed_message);
  ASSERT_TRUE(signed_message->starts_with("DKIM-Signature: "));
  ASSERT_TRUE(signed_message->ends_with(rendered));
  const std::string header = signed_message->substr(0, signed_message->size() - rendered.size());
  ASSERT_TRUE(header.ends_with("\r\n"));
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == '\n') {
      ASSERT_EQ(header[i - 1], '\r');
      if (i + 1 < header.size()) {
        ASSERT_TRUE(header[i + 1] == '\t' || header[i + 1] == ' ');
      }
    }
  }

  Result<std::string> verified =
      testing::VerifyDkim(*signed_message, signer.DnsName(), TxtRecord());
  ASSERT_OK(verified);
  std::map<std::string, std::string> tags = Tags(*verified);
  EXPECT_EQ(tags["a"], "rsa-sha256");
  EXPECT_EQ(tags["c"], "relaxed/relaxed");
  EXPECT_EQ(tags["d"], "example.org");
  EXPECT_EQ(tags["s"], "sb2026");
  std::string h = tags["h"];
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* name :
       {"from", "to", "subject", "date", "message-id", "mime-version", "content-type",
        "list-unsubscribe", "list-unsubscribe-post", "x-switchboard-message"}) {
    EXPECT_NE((":" + h + ":").find(std::string(":") + name + ":"), std::string::npos)
        << name << " not in h=" << h;
  }
  // Over-signed: h= names From and List-Unsubscribe twice though the message
  // has one of each, and Reply-To though it has none.
  auto count = [&h](const std::string& name) {
    int n = 0;
    const std::string padded = ":" + h + ":";
    for (size_t at = padded.find(":" + name + ":"); at != std::string::npos;
         at = padded.find(":" + name + ":", at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("from"), 2) << h;
  EXPECT_EQ(count("list-unsubscribe"), 2) << h;
  EXPECT_EQ(count("reply-to"), 1) << h;
  EXPECT_EQ(count("sender"), 0) << h;
}

TEST(DkimTest, TamperingBreaksTheSignature) {
  DkimSigner signer = MakeSigner();
  std::string signed_message = signer.Sign(RenderMessage(Sample()).value()).value();
  ASSERT_OK(testing::VerifyDkim(signed_message, signer.DnsName(), TxtRecord()));

  std::string changed_subject = signed_message;
  const size_t at = changed_subject.find("\r\nSubject: ");
  ASSERT_NE(at, std::string::npos);
  changed_subject.insert(at + 11, "X");
  EXPECT_EQ(testing::VerifyDkim(changed_subject, signer.DnsName(), TxtRecord()).error().code(),
            StatusCode::kFailedPrecondition);

  // A second List-Unsubscribe added by a relay is caught by over-signing.
  std::string added = signed_message;
  added.insert(added.find("\r\n\r\n") + 2, "List-Unsubscribe: <https://example.net/evil>\r\n");
  EXPECT_FALSE(testing::VerifyDkim(added, signer.DnsName(), TxtRecord()).has_value());

  std::string body = signed_message;
  body.replace(body.find("Thursday."), 9, "Friday...");
  EXPECT_FALSE(testing::VerifyDkim(body, signer.DnsName(), TxtRecord()).has_value());

  // Relaxed canonicalisation tolerates re-folding and whitespace changes.
  std::string refolded = signed_message;
  const size_t date = refolded.find("\r\nDate: ");
  refolded.replace(date, 8, "\r\nDate:   \r\n\t");
  EXPECT_OK(testing::VerifyDkim(refolded, signer.DnsName(), TxtRecord()));
}

TEST(DkimTest, RefusesBadKeysAndNames) {
  EXPECT_EQ(DkimSigner::Create("example.org", "sel", "not a key").error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DkimSigner::Create("exa mple.org", "sel", Keys().private_pem).error().message(),
            "the DKIM domain is not a host name");
  EXPECT_EQ(DkimSigner::Create("example.org", "sel;x=y", Keys().private_pem).error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DkimSigner::Create("example.org", "", Keys().private_pem).error().code(),
            StatusCode::kInvalidArgument);

  Result<std::unique_ptr<testing::TempDir>> dir = testing::TempDir::Create();
  ASSERT_OK(dir);
  const std::string ec = (*dir)->Join("ec.pem");
  ASSERT_OK(testing::RunProgram({"/usr/bin/openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                                 "ec_paramgen_curve:prime256v1", "-out", ec}));
  std::ifstream ec_in(ec);
  std::string ec_pem((std::istreambuf_iterator<char>(ec_in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(DkimSigner::Create("example.org", "sel", ec_pem).error().message(),
            "the DKIM private key is not an RSA key");

  const std::string small = (*dir)->Join("small.pem");
  ASSERT_OK(testing::RunProgram({"/usr/bin/openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                                 "rsa_keygen_bits:768", "-out", small}));
  std::ifstream small_in(small);
  std::string small_pem((std::istreambuf_iterator<char>(small_in)),
                        std::istreambuf_iterator<char>());
  EXPECT_EQ(DkimSigner::Create("example.org", "sel", small_pem).error().message(),
            "the DKIM private key has fewer than 1024 bits");

  // An encrypted key fails without prompting for a passphrase.
  const std::string enc = (*dir)->Join("enc.pem");
  ASSERT_OK(testing::RunProgram({"/usr/bin/openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                                 "rsa_keygen_bits:1024", "-aes-128-cbc", "-pass", "pass:secret",
                                 "-out", enc}));
  std::ifstream enc_in(enc);
  std::string enc_pem((std::istreambuf_iterator<char>(enc_in)), std::istreambuf_iterator<char>());
  Result<DkimSigner> encrypted = DkimSigner::Create("example.org", "sel", enc_pem);
  ASSERT_FALSE(encrypted.has_value());
  EXPECT_EQ(encrypted.error().message().find("secret"), std::string::npos);
}

TEST(DkimTest, RefusesMessagesItCannotSignFaithfully) {
  DkimSigner signer = MakeSigner();
  EXPECT_EQ(signer.Sign("From: a@example.org\nSubject: x\n\nbody\n").error().message(),
            "the message to sign has a bare CR or LF");
  EXPECT_EQ(signer.Sign("From: a@example.org\r\nSubject: x\r\nbody\r\n").error().message(),
            "the message to sign has no header block");
  EXPECT_EQ(signer.Sign("\r\n\r\nbody\r\n").error().message(),
            "the message to sign has no header block");
  EXPECT_EQ(
      signer.Sign("To: a@example.org\r\nX-From: b@example.org\r\n\r\nbody\r\n").error().message(),
      "the message to sign has no From field");
}

TEST(DkimTest, KeyFileMustBePrivate) {
  Result<std::unique_ptr<testing::TempDir>> dir = testing::TempDir::Create();
  ASSERT_OK(dir);
  const std::string path = (*dir)->Join("dkim.pem");
  EXPECT_EQ(DkimSigner::FromKeyFile("example.org", "sel", path).error().code(),
            StatusCode::kNotFound);
  {
    std::ofstream out(path);
    out << Keys().private_pem;
  }
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  Result<DkimSigner> readable = DkimSigner::FromKeyFile("example.org", "sel", path);
  ASSERT_FALSE(readable.has_value());
  EXPECT_EQ(readable.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(readable.error().message().find("chmod 600"), std::string::npos);
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  EXPECT_EQ(DkimSigner::FromKeyFile("example.org", "sel", path).error().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  Result<DkimSigner> signer = DkimSigner::FromKeyFile("example.org", "sel", path);
  ASSERT_OK(signer);
  EXPECT_EQ(signer->DnsTxtRecord(), TxtRecord());
}

// One signer, many threads signing different messages at once: every
// signature is good (checked with the independent verifier on a sample, and
// all are checked to sign the message they were given).
TEST(DkimTest, SignsFromManyThreadsAtOnce) {
  const DkimSigner signer = MakeSigner();
  constexpr int kThreads = 8;
  constexpr int kRounds = 40;
  std::vector<std::string> rendered;
  for (int i = 0; i < kThreads; ++i) {
    OutgoingMessage m = Sample();
    m.to = {"Member " + std::to_string(i), "member" + std::to_string(i) + "@example.com"};
    m.text_body += std::string(static_cast<size_t>(i) * 3000, 'x') + "\n";
    m.message_id = "<m" + std::to_string(i) + "@mail.example.org>";
    rendered.push_back(RenderMessage(m).value());
  }
  std::vector<std::vector<std::string>> results(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const size_t i = static_cast<size_t>((t + r) % kThreads);
        Result<std::string> s = signer.Sign(rendered[i]);
        if (!s.has_value() || !s->ends_with(rendered[i])) {
          ++failures;
          continue;
        }
        if (r < 2) results[static_cast<size_t>(t)].push_back(*s);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  int verified = 0;
  for (const auto& per_thread : results) {
    for (const auto& s : per_thread) {
      EXPECT_OK(testing::VerifyDkim(s, signer.DnsName(), TxtRecord()));
      ++verified;
    }
  }
  EXPECT_EQ(verified, kThreads * 2);
}

}  // namespace
}  // namespace switchboard::mail
