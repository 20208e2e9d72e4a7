#include "mail/dkim.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/check.h"
#include "core/testing/status_matchers.h"
#include "mail/dkim_canon.h"
#include "mail/mime.h"
#include "mail/testing/opendkim.h"
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

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// An Ed25519 key made by `openssl genpkey`, and its public key as the
// openssl command prints it (the last 32 bytes of the DER SubjectPublicKeyInfo).
struct Ed25519Pair {
  std::string private_pem;
  std::string public_base64;
};
const Ed25519Pair& EdKeys() {
  static const Ed25519Pair* keys = [] {
    auto dir = testing::TempDir::Create().value();
    const std::string path = dir->Join("ed.pem");
    SB_CHECK(
        testing::RunProgram({"/usr/bin/openssl", "genpkey", "-algorithm", "ed25519", "-out", path})
            .has_value());
    std::string pub = testing::RunProgram({"/bin/sh", "-c",
                                           "/usr/bin/openssl pkey -in '" + path +
                                               "' -pubout -outform DER | tail -c 32 | base64"})
                          .value();
    while (!pub.empty() && pub.back() == '\n') pub.pop_back();
    return new Ed25519Pair{ReadAll(path), pub};
  }();
  return *keys;
}

std::string EdTxtRecord() { return "v=DKIM1; k=ed25519; p=" + EdKeys().public_base64; }

DkimSigner MakeDualSigner() {
  std::vector<DkimKeySpec> keys;
  keys.push_back({"ed2026", EdKeys().private_pem});
  keys.push_back({"sb2026", Keys().private_pem});
  return DkimSigner::Create("example.org", std::move(keys)).value();
}

std::vector<std::pair<std::string, std::string>> DualRecords() {
  return {{"sb2026._domainkey.example.org", TxtRecord()},
          {"ed2026._domainkey.example.org", EdTxtRecord()}};
}

// The tags of the DKIM-Signature field at the top of `message`, unfolded.
std::map<std::string, std::string> FieldTags(std::string_view message, size_t index = 0) {
  auto split = dkim::SplitMessage(message).value();
  std::string value;
  for (const auto& f : split.fields) {
    if (f.name != "dkim-signature") continue;
    if (index-- == 0) {
      value = std::string(f.raw.substr(f.raw.find(':') + 1));
      break;
    }
  }
  std::string unfolded;
  for (char c : value) {
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t') unfolded += c;
  }
  std::map<std::string, std::string> tags;
  size_t start = 0;
  while (start < unfolded.size()) {
    size_t end = unfolded.find(';', start);
    if (end == std::string::npos) end = unfolded.size();
    const std::string tag = unfolded.substr(start, end - start);
    const size_t eq = tag.find('=');
    if (eq != std::string::npos) tags[tag.substr(0, eq)] = tag.substr(eq + 1);
    start = end + 1;
  }
  return tags;
}

std::string LowerCase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

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
  Result<int> opendkim =
      testing::OpendkimVerify(*signed_message, {{signer.DnsName(), TxtRecord()}});
  ASSERT_OK(opendkim);
  EXPECT_EQ(*opendkim, 1);
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
            "the DKIM private key is neither an RSA nor an Ed25519 key");

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
  EXPECT_EQ(signer.Sign("From: a@example.org\rSubject: x\r\n\r\nbody\r\n").error().message(),
            "the message to sign has a bare CR");
  EXPECT_EQ(signer.Sign("From: a@example.org\r\nSubject: x\r\nbody\r\n").error().message(),
            "the message to sign has a header line without a name");
  EXPECT_EQ(signer.Sign("From: a@example.org\r\nSubject: x\r\n").error().message(),
            "the message to sign has no header block");
  EXPECT_EQ(signer.Sign(" From: a@example.org\r\n\r\nbody\r\n").error().message(),
            "the message to sign starts with a continuation line");
  EXPECT_EQ(signer.Sign(std::string(DkimSigner::kMaxSignedBytes + 1, 'x')).error().message(),
            "the message to sign is larger than 16 MiB");
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
  const DkimSigner signer = MakeDualSigner();
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
      Result<int> python = testing::VerifyDkimAll(s, DualRecords());
      EXPECT_OK(python);
      if (python.has_value()) {
        EXPECT_EQ(*python, 2);
      }
      ++verified;
    }
  }
  EXPECT_EQ(verified, kThreads * 2);
}

TEST(DkimTest, RefusesKeySetsItCannotUse) {
  auto make = [](std::vector<DkimKeySpec> keys) {
    return DkimSigner::Create("example.org", std::move(keys));
  };
  EXPECT_EQ(make({}).error().message(),
            "DKIM signing takes one RSA key and at most one Ed25519 key");
  EXPECT_EQ(make({{"a", Keys().private_pem}, {"b", Keys().private_pem}}).error().message(),
            "DKIM signing takes one RSA key and at most one Ed25519 key");
  EXPECT_EQ(make({{"a", EdKeys().private_pem}, {"b", EdKeys().private_pem}}).error().message(),
            "DKIM signing takes one RSA key and at most one Ed25519 key");
  EXPECT_EQ(make({{"a", EdKeys().private_pem}}).error().message(),
            "DKIM signing needs an RSA key (receivers that do not know Ed25519 check that one)");
  EXPECT_EQ(make({{"a", Keys().private_pem}, {"a", EdKeys().private_pem}}).error().message(),
            "two DKIM keys have the same selector");
  EXPECT_EQ(make({{"a", Keys().private_pem}, {"b c", EdKeys().private_pem}}).error().message(),
            "the DKIM selector is not a host name label list");
}

TEST(DkimTest, PublishesBothRecordsRsaFirst) {
  DkimSigner signer = MakeDualSigner();
  ASSERT_EQ(signer.PublicKeys().size(), 2u);
  EXPECT_EQ(signer.PublicKeys()[0].algorithm, "rsa-sha256");
  EXPECT_EQ(signer.PublicKeys()[0].dns_name, "sb2026._domainkey.example.org");
  EXPECT_EQ(signer.PublicKeys()[0].txt_record, TxtRecord());
  EXPECT_EQ(signer.PublicKeys()[1].algorithm, "ed25519-sha256");
  EXPECT_EQ(signer.PublicKeys()[1].dns_name, "ed2026._domainkey.example.org");
  EXPECT_EQ(signer.PublicKeys()[1].txt_record, EdTxtRecord());
  EXPECT_EQ(signer.selector(), "sb2026");
  EXPECT_EQ(signer.DnsTxtRecord(), TxtRecord());

  const std::string out = signer.Sign(RenderMessage(Sample()).value(), 1'790'000'000).value();
  std::map<std::string, std::string> rsa = FieldTags(out, 0);
  std::map<std::string, std::string> ed = FieldTags(out, 1);
  EXPECT_EQ(rsa["a"], "rsa-sha256");
  EXPECT_EQ(ed["a"], "ed25519-sha256");
  EXPECT_EQ(rsa["s"], "sb2026");
  EXPECT_EQ(ed["s"], "ed2026");
  EXPECT_EQ(rsa["t"], "1790000000");
  EXPECT_EQ(rsa["bh"], ed["bh"]);
  EXPECT_EQ(rsa["h"], ed["h"]);
  EXPECT_EQ(ed["b"].size(), 88u);  // 64 bytes
  EXPECT_EQ(testing::OpendkimVerify(out, DualRecords()).value(), 2);
  EXPECT_EQ(testing::VerifyDkimAll(out, DualRecords()).value(), 2);
}

// The header set, over-signing and tags are libopendkim's, as configured
// before we signed ourselves: the same tags, the same h= (names compared
// case-insensitively), and the same body hash.
TEST(DkimTest, SignsWhatLibopendkimSigned) {
  const std::string rendered = RenderMessage(Sample()).value();
  const std::string ours = MakeSigner().Sign(rendered).value();
  auto old_signer = testing::OpendkimSigner::Create("example.org", "sb2026", Keys().private_pem);
  ASSERT_OK(old_signer);
  const std::string theirs = old_signer->Sign(rendered).value();
  std::map<std::string, std::string> a = FieldTags(ours);
  std::map<std::string, std::string> b = FieldTags(theirs);
  std::vector<std::string> a_names, b_names;
  for (const auto& [k, v] : a) a_names.push_back(k);
  for (const auto& [k, v] : b) b_names.push_back(k);
  EXPECT_EQ(a_names, b_names);
  for (const char* tag : {"v", "a", "c", "d", "s", "bh"}) EXPECT_EQ(a[tag], b[tag]) << tag;
  EXPECT_EQ(LowerCase(a["h"]), LowerCase(b["h"]));
  EXPECT_EQ(a.count("l"), 0u);
  // Each verifies with the other implementation too.
  EXPECT_EQ(testing::OpendkimVerify(ours, {{"sb2026._domainkey.example.org", TxtRecord()}}).value(),
            1);
  EXPECT_OK(testing::VerifyDkim(theirs, "sb2026._domainkey.example.org", TxtRecord()));
}

// Messages with the awkward shapes canonicalisation must get right, signed
// with both keys; libopendkim and Python's dkim must verify both signatures.
TEST(DkimTest, TrickyMessagesVerifyWithBothVerifiers) {
  std::vector<std::pair<std::string, std::string>> corpus;
  corpus.emplace_back("gmime sample", RenderMessage(Sample()).value());
  {
    OutgoingMessage m = Sample();
    m.subject =
        "Ça va? Ünïcödé sübject, long enough that GMime has to fold it over several "
        "lines of encoded words: ☎ 📞 — “quotes” and a tab\there";
    m.to = {"Zoë «Ü» Ex'ample, Jr.", "zoe@example.com"};
    m.text_body = std::string(3000, 'x') + "\n" + "trailing blanks   \n\n\n\n";
    m.html_body = "<p>" + std::string(2500, 'y') + "</p>";
    corpus.emplace_back("gmime utf-8 and long lines", RenderMessage(m).value());
  }
  {
    OutgoingMessage m = Sample();
    m.html_body.clear();
    m.text_body = "\n \n\t\n\n";  // the renderer refuses an empty body
    corpus.emplace_back("gmime body of blank lines", RenderMessage(m).value());
  }
  const std::string from = "From: Ward 5 <ward5@example.org>\r\n";
  corpus.emplace_back("folded headers and blank runs",
                      from +
                          "Subject:   folded\r\n\t  over \t\r\n   three lines  \r\n"
                          "To:\tzoe@example.com  \r\nX-Other: not signed\r\n"
                          "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\n"
                          "a  b\t\tc   \r\n \t \r\n  lead\r\n");
  corpus.emplace_back("trailing empty lines", from + "Subject: x\r\n\r\nbody\r\n\r\n\r\n\r\n");
  corpus.emplace_back("empty body", from + "Subject: x\r\n\r\n");
  corpus.emplace_back("body of empty and blank lines", from + "Subject: x\r\n\r\n\r\n  \r\n\t\r\n");
  corpus.emplace_back("no final CRLF", from + "Subject: x\r\n\r\nlast line  ");
  corpus.emplace_back("LF input",
                      "From: a@example.org\nSubject: lf\n folded\n\nline 1\nline 2 \n\n");
  corpus.emplace_back("mixed line ends", "From: a@example.org\r\nSubject: m\n\r\nx\ny\r\n");
  corpus.emplace_back("many To and Cc",
                      from +
                          "To: a@example.com\r\nTo: b@example.com\r\nCc: c@example.com\r\n"
                          "To: d@example.com,\r\n e@example.com\r\nCc: f@example.com\r\n"
                          "Subject: many\r\n\r\nhi\r\n");
  corpus.emplace_back("8-bit raw", from + "Subject: Zo\xc3\xab \xe2\x98\x8e\r\n\r\nZo\xc3\xab\r\n");
  corpus.emplace_back("odd case names",
                      "fRoM: a@example.org\r\nSUBJECT: x\r\nmessage-ID: <a@b>\r\n"
                      "\r\nbody\r\n");
  corpus.emplace_back("long lines", from + "Subject: " + std::string(1500, 's') + "\r\n\r\n" +
                                        std::string(10000, 'b') + "\r\n");
  corpus.emplace_back("dot lines", from + "Subject: x\r\n\r\n.\r\n..\r\n.x\r\n");
  corpus.emplace_back("empty header value", from + "Subject:\r\nReply-To:   \r\n\r\nb\r\n");

  const DkimSigner signer = MakeDualSigner();
  for (const auto& [name, message] : corpus) {
    SCOPED_TRACE(name);
    Result<std::string> out = signer.Sign(message);
    ASSERT_OK(out);
    // What follows the signatures is the input with CRLF line ends.
    std::string crlf;
    for (size_t i = 0; i < message.size(); ++i) {
      if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) crlf += '\r';
      crlf += message[i];
    }
    if (!crlf.ends_with("\r\n")) crlf += "\r\n";
    EXPECT_TRUE(out->ends_with(crlf));
    EXPECT_TRUE(out->starts_with("DKIM-Signature: v=1; a=rsa-sha256; "));
    Result<int> opendkim = testing::OpendkimVerify(*out, DualRecords());
    EXPECT_OK(opendkim);
    if (opendkim.has_value()) {
      EXPECT_EQ(*opendkim, 2);
    }
    Result<int> python = testing::VerifyDkimAll(*out, DualRecords());
    EXPECT_OK(python);
    if (python.has_value()) {
      EXPECT_EQ(*python, 2);
    }
  }
}

// RFC 8463 Appendix A: its keys (A.1), records (A.2) and signed message
// (A.3), as published.
constexpr const char* kRfcEd25519Seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
constexpr const char* kRfcRsaKey =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";
constexpr const char* kRfcEd25519Record =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr const char* kRfcRsaRecord =
    "v=DKIM1; k=rsa; "
    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5"
    "bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pz"
    "oxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
constexpr const char* kRfcEd25519Field =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n";
constexpr const char* kRfcRsaField =
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n";
constexpr const char* kRfcUnsigned =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

// The Ed25519 seed as a PKCS#8 PEM key, as an operator would store it.
std::string RfcEd25519Pem() {
  std::string seed(64, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(seed.data()),
                                reinterpret_cast<const unsigned char*>(kRfcEd25519Seed), 44);
  SB_CHECK(n == 33);  // 32 bytes and the padding's zero
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), 32);
  SB_CHECK(key != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  SB_CHECK(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

// Signs the published signature's own header data with the RFC's key: the
// same b= must come out (Ed25519 and RSASSA-PKCS1-v1_5 are deterministic).
void ExpectSameSignature(const dkim::SigningKey& key, std::string_view field) {
  const std::string message = std::string(field) + kRfcUnsigned;
  dkim::SplitMessageResult split = dkim::SplitMessage(message).value();
  const size_t b_at = field.find(" b=");
  ASSERT_NE(b_at, std::string_view::npos);
  const std::string without_b = std::string(field.substr(0, b_at + 3));
  const std::vector<std::string> h = {"from",       "to",   "subject", "date",
                                      "message-id", "from", "subject", "date"};
  Result<std::string> b = key.Sign(dkim::SignedHeaderData(split.fields, h, without_b));
  ASSERT_OK(b);
  EXPECT_EQ(*b, FieldTags(message)["b"]);
  EXPECT_EQ(dkim::BodyHash(split.body), FieldTags(message)["bh"]);
}

TEST(DkimTest, Rfc8463AppendixA) {
  const std::string ed_pem = RfcEd25519Pem();
  dkim::SigningKey ed = dkim::SigningKey::FromPem(ed_pem).value();
  dkim::SigningKey rsa = dkim::SigningKey::FromPem(kRfcRsaKey).value();
  // The keys are the ones the records publish.
  EXPECT_EQ("v=DKIM1; " + ed.PublicKeyTags(), kRfcEd25519Record);
  EXPECT_EQ("v=DKIM1; " + rsa.PublicKeyTags(), kRfcRsaRecord);
  EXPECT_EQ(dkim::BodyHash(std::string_view(kRfcUnsigned)
                               .substr(std::string_view(kRfcUnsigned).find("\r\n\r\n") + 4)),
            "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  ExpectSameSignature(ed, kRfcEd25519Field);
  ExpectSameSignature(rsa, kRfcRsaField);

  const std::vector<std::pair<std::string, std::string>> records = {
      {"brisbane._domainkey.football.example.com", kRfcEd25519Record},
      {"test._domainkey.football.example.com", kRfcRsaRecord}};
  // The published message verifies with both verifiers.
  const std::string published = std::string(kRfcEd25519Field) + kRfcRsaField + kRfcUnsigned;
  EXPECT_EQ(testing::OpendkimVerify(published, records).value(), 2);
  EXPECT_EQ(testing::VerifyDkimAll(published, records).value(), 2);
  // A changed byte does not.
  std::string changed = published;
  changed.replace(changed.find("hungry"), 6, "hungri");
  EXPECT_FALSE(testing::OpendkimVerify(changed, records).has_value());
  EXPECT_FALSE(testing::VerifyDkimAll(changed, records).has_value());

  // Our signer with the RFC's keys: the same body hash, and both verify.
  std::vector<DkimKeySpec> keys;
  keys.push_back({"brisbane", ed_pem});
  keys.push_back({"test", kRfcRsaKey});
  DkimSigner signer = DkimSigner::Create("football.example.com", std::move(keys)).value();
  const std::string ours = signer.Sign(kRfcUnsigned, 1528637909).value();
  EXPECT_EQ(FieldTags(ours, 0)["bh"], "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  EXPECT_EQ(FieldTags(ours, 1)["bh"], "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  EXPECT_EQ(FieldTags(ours, 1)["t"], "1528637909");
  EXPECT_EQ(testing::OpendkimVerify(ours, records).value(), 2);
  EXPECT_EQ(testing::VerifyDkimAll(ours, records).value(), 2);
}

}  // namespace
}  // namespace switchboard::mail
