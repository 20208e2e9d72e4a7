// Fuzzes our DKIM signer (mail/dkim.h) and its relaxed canonicalisation
// (mail/dkim_canon.h) with arbitrary bytes as the message. Besides not
// crashing:
//  - the relaxed body (of the input with a final CRLF) and each relaxed
//    header field have no tab, no run of spaces, no blank before a CRLF; a
//    body ends in one CRLF or is empty; canonicalising a canonical form
//    again changes nothing;
//  - Sign either refuses the input as kInvalidArgument or returns the input
//    (bare LFs made CRLF, a final CRLF added) under two DKIM-Signature
//    fields, RSA then Ed25519, whose bh= is the hash of the body that
//    follows and whose b= verifies under the public key (OpenSSL's
//    EVP_DigestVerify over the header data rebuilt from h=), as a receiver
//    would check it.
// Failure reasons are fixed phrases.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mail/dkim.h"
#include "mail/dkim_canon.h"

namespace {

namespace dkim = switchboard::mail::dkim;
using switchboard::mail::DkimKeySpec;
using switchboard::mail::DkimSigner;

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "dkim_fuzz: %s\n", what);
    std::abort();
  }
}

std::string Pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  Require(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "cannot write a key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

struct Fixture {
  EVP_PKEY* rsa = nullptr;
  EVP_PKEY* ed = nullptr;
  const DkimSigner* signer = nullptr;
};

const Fixture& Keys() {
  static const Fixture* f = [] {
    auto* out = new Fixture;
    out->rsa = EVP_RSA_gen(1024);  // small: the fuzzer signs every input
    out->ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    Require(out->rsa != nullptr && out->ed != nullptr, "cannot make keys");
    std::vector<DkimKeySpec> keys = {{"r", Pem(out->rsa)}, {"e", Pem(out->ed)}};
    auto s = DkimSigner::Create("example.org", std::move(keys));
    Require(s.has_value(), "cannot make the signer");
    out->signer = new DkimSigner(std::move(*s));
    return out;
  }();
  return *f;
}

void CheckCanonical(std::string_view c) {
  Require(c.find('\t') == std::string_view::npos, "a tab survives canonicalisation");
  Require(c.find("  ") == std::string_view::npos, "a run of spaces survives canonicalisation");
  Require(c.find(" \r\n") == std::string_view::npos, "a blank before CRLF survives");
}

std::map<std::string, std::string> Tags(std::string_view raw_field) {
  std::string v;
  for (char c : raw_field.substr(raw_field.find(':') + 1)) {
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t') v += c;
  }
  std::map<std::string, std::string> tags;
  size_t start = 0;
  while (start < v.size()) {
    size_t end = v.find(';', start);
    if (end == std::string::npos) end = v.size();
    const std::string tag = v.substr(start, end - start);
    const size_t eq = tag.find('=');
    Require(eq != std::string::npos, "a tag without '='");
    tags[tag.substr(0, eq)] = tag.substr(eq + 1);
    start = end + 1;
  }
  return tags;
}

std::string Unbase64(const std::string& b64) {
  std::string out(b64.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  Require(n >= 0, "b= is not base64");
  size_t len = static_cast<size_t>(n);
  for (size_t i = b64.size(); i > 0 && b64[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

void CheckSignature(const dkim::SplitMessageResult& m, size_t index, EVP_PKEY* key, bool ed) {
  const std::string_view raw = m.fields[index].raw;
  std::map<std::string, std::string> tags = Tags(raw);
  Require(tags["a"] == (ed ? "ed25519-sha256" : "rsa-sha256"), "wrong a=");
  Require(tags["bh"] == dkim::BodyHash(m.body), "bh= is not the body's hash");
  std::vector<std::string> h;
  size_t start = 0;
  const std::string& hv = tags["h"];
  while (start <= hv.size()) {
    size_t end = hv.find(':', start);
    if (end == std::string::npos) end = hv.size();
    h.push_back(hv.substr(start, end - start));
    start = end + 1;
  }
  const size_t b_at = raw.rfind("b=");
  Require(b_at != std::string_view::npos, "no b=");
  // The signature fields themselves are not in h=; rebuild without them.
  std::vector<dkim::HeaderField> fields(m.fields.begin() + 2, m.fields.end());
  const std::string data = dkim::SignedHeaderData(fields, h, raw.substr(0, b_at + 2));
  const std::string sig = Unbase64(tags["b"]);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  const unsigned char* in = reinterpret_cast<const unsigned char*>(data.data());
  size_t in_len = data.size();
  if (ed) {
    SHA256(in, in_len, digest);
    in = digest;
    in_len = sizeof digest;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit_ex(ctx, nullptr, ed ? nullptr : "SHA256", nullptr, nullptr,
                                          key, nullptr) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()),
                                   sig.size(), in, in_len) == 1;
  EVP_MD_CTX_free(ctx);
  Require(ok, "a signature does not verify");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);

  // A last line without CRLF keeps its trailing blanks (as one space), as the
  // verifiers have it; the signer adds the CRLF. The strict checks run on
  // the input with that CRLF added.
  std::string raw_body;
  dkim::AppendRelaxedBody(input, &raw_body);
  Require(raw_body.empty() || raw_body.ends_with("\r\n"), "a relaxed body without a final CRLF");
  const std::string terminated = std::string(input) + (input.ends_with("\r\n") ? "" : "\r\n");
  std::string body;
  dkim::AppendRelaxedBody(terminated, &body);
  CheckCanonical(body);
  Require(body.empty() || body.ends_with("\r\n"), "a relaxed body without a final CRLF");
  Require(!body.ends_with("\r\n\r\n") && body != "\r\n", "a relaxed body ends in an empty line");
  std::string again;
  dkim::AppendRelaxedBody(body, &again);
  Require(again == body, "relaxed body canonicalisation is not idempotent");

  auto split = dkim::SplitMessage(input);
  if (split.has_value()) {
    for (const dkim::HeaderField& f : split->fields) {
      std::string c;
      dkim::AppendRelaxedHeader(f.raw, &c);
      Require(c.ends_with("\r\n"), "a relaxed header without CRLF");
      const std::string_view line(c.data(), c.size() - 2);
      Require(line.find("\r\n") == std::string_view::npos, "a relaxed header still folded");
      Require(line.starts_with(f.name + ":"), "a relaxed header with the wrong name");
      CheckCanonical(line);
      std::string twice;
      dkim::AppendRelaxedHeader(line, &twice);
      Require(twice == c, "relaxed header canonicalisation is not idempotent");
    }
  }

  const Fixture& keys = Keys();
  auto out = keys.signer->Sign(input, 1'790'000'000);
  if (!out.has_value()) {
    Require(out.error().code() == switchboard::StatusCode::kInvalidArgument,
            "Sign failed other than with kInvalidArgument");
    return 0;
  }
  auto signed_split = dkim::SplitMessage(*out);
  Require(signed_split.has_value(), "the signed message does not split");
  Require(signed_split->fields.size() >= 3, "fewer fields than two signatures and From");
  Require(signed_split->fields[0].name == "dkim-signature" &&
              signed_split->fields[1].name == "dkim-signature",
          "the signatures are not the first two fields");
  CheckSignature(*signed_split, 0, keys.rsa, false);
  CheckSignature(*signed_split, 1, keys.ed, true);
  return 0;
}
