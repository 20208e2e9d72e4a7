// P6, per message and in process: what delivering one personalised message
// costs before it reaches the SMTP connection. Rendering the MIME message
// (GMime: headers, RFC 2047, multipart/alternative) and DKIM-signing it,
// relaxed/relaxed, 2048-bit RSA key: with our signer (mail/dkim.h, key parsed
// once), with our signer adding an Ed25519 signature beside the RSA one, and
// with libopendkim as Switchboard signed before (mail/testing/opendkim.h,
// kept for this comparison), against the floor for the signature itself: one
// RSA-2048 signature of a SHA-256 digest with the key already parsed
// (OpenSSL's EVP API).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <vector>

#include "core/check.h"
#include "mail/dkim.h"
#include "mail/mime.h"
#include "mail/testing/opendkim.h"

namespace switchboard::mail {
namespace {

std::string NewKeyPem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  SB_CHECK(key != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  SB_CHECK(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

const std::string& KeyPem() {
  static const std::string pem = NewKeyPem();
  return pem;
}

std::string NewEd25519Pem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  SB_CHECK(key != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  SB_CHECK(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

OutgoingMessage Sample(int i) {
  OutgoingMessage m;
  m.from = {"Aldershot branch", "members@example.org"};
  m.to = {"", "member." + std::to_string(i) + "@example.org"};
  m.subject = "Your Aldershot branch";
  const std::string link = "https://members.example.org/u/" + std::string(43, 'x');
  m.text_body =
      "Dear Zoë,\n\nThe Aldershot branch meets on Thursday at 7pm. Your membership "
      "card for next year is on its way.\n\nChange what we send you: " +
      link + "\n\n-- \nSent by Sam Officer (officer) for the Aldershot branch.\n";
  m.html_body =
      "<p>Dear Zoë,</p><p>The <b>Aldershot</b> branch meets on Thursday at 7pm. Your "
      "membership card for next year is on its way.</p><p><a href=\"" +
      link + "\">Change what we send you</a></p>";
  m.message_id = "<1." + std::to_string(i) + "@example.org>";
  m.date = 1'790'000'000'000'000;
  m.extra_headers = {{"List-Unsubscribe", "<" + link + ">"},
                     {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
                     {"List-Id", "Example Party members <members.example.org>"},
                     {"X-Switchboard-Message", "1"}};
  return m;
}

void BM_RenderMessage(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    auto out = RenderMessage(Sample(i++));
    SB_CHECK(out.has_value());
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderMessage)->ThreadRange(1, 2)->UseRealTime();

// Signs `msg` with `signer` in every iteration.
template <typename Signer>
void SignLoop(benchmark::State& state, const Signer& signer) {
  const std::string msg = RenderMessage(Sample(1)).value();
  for (auto _ : state) {
    auto out = signer.Sign(msg);
    SB_CHECK(out.has_value());
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(msg.size());
}

// Ours, RSA-SHA256 only (what production signs with one key).
void BM_DkimSign(benchmark::State& state) {
  static const DkimSigner* signer = [] {
    auto s = DkimSigner::Create("example.org", "sb2026", KeyPem());
    SB_CHECK(s.has_value());
    return new DkimSigner(std::move(*s));
  }();
  SignLoop(state, *signer);
}
BENCHMARK(BM_DkimSign)->ThreadRange(1, 2)->UseRealTime();

// Ours, RSA-SHA256 and Ed25519-SHA256 on the same message.
void BM_DkimSignDual(benchmark::State& state) {
  static const DkimSigner* signer = [] {
    std::vector<DkimKeySpec> keys = {{"sb2026", KeyPem()}, {"ed2026", NewEd25519Pem()}};
    auto s = DkimSigner::Create("example.org", std::move(keys));
    SB_CHECK(s.has_value());
    return new DkimSigner(std::move(*s));
  }();
  SignLoop(state, *signer);
}
BENCHMARK(BM_DkimSignDual)->ThreadRange(1, 2)->UseRealTime();

// The signer before: libopendkim, the PEM key parsed for every message.
void BM_OpendkimSign(benchmark::State& state) {
  static const testing::OpendkimSigner* signer = [] {
    auto s = testing::OpendkimSigner::Create("example.org", "sb2026", KeyPem());
    SB_CHECK(s.has_value());
    return new testing::OpendkimSigner(std::move(*s));
  }();
  SignLoop(state, *signer);
}
BENCHMARK(BM_OpendkimSign)->ThreadRange(1, 2)->UseRealTime();

// Baseline: the RSA signature alone, key parsed once.
void BM_RsaSha256SignBaseline(benchmark::State& state) {
  BIO* bio = BIO_new_mem_buf(KeyPem().data(), static_cast<int>(KeyPem().size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  SB_CHECK(key != nullptr);
  const std::string data(300, 'h');  // a canonicalised header block's size
  unsigned char sig[512];
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = sizeof sig;
    SB_CHECK(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1);
    SB_CHECK(EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(data.data()),
                            data.size()) == 1);
    EVP_MD_CTX_free(ctx);
    benchmark::DoNotOptimize(sig);
  }
  EVP_PKEY_free(key);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RsaSha256SignBaseline)->ThreadRange(1, 2)->UseRealTime();

}  // namespace
}  // namespace switchboard::mail

BENCHMARK_MAIN();
