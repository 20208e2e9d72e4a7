// DKIM signing (RFC 6376, RFC 8463): relaxed/relaxed, rsa-sha256 and
// ed25519-sha256, our own signer on OpenSSL's EVP API.
//
// A DkimSigner holds one domain and one or two keys (an RSA key, and
// optionally an Ed25519 key beside it, each under its own selector), parsed
// once when it is made. Sign adds one DKIM-Signature field per key (RSA
// first, topmost), each covering the same header fields, so a receiver that
// knows only rsa-sha256 still finds a signature it can check (RFC 8463 §5:
// sign with both). Sign may be called from any number of threads at once:
// the parsed keys are only read, and every signature has its own OpenSSL
// context. Movable, not copyable; OpenSSL wipes the keys when it goes away.
// Nothing is logged.
//
// Signed header fields (those present; h= lists them, top to bottom): From,
// Sender, Reply-To, To, Cc, Subject, Date, Message-ID, MIME-Version,
// Content-Type, Content-Transfer-Encoding, List-Id, List-Unsubscribe,
// List-Unsubscribe-Post, X-Switchboard-Message. Over-signed (h= names one
// more instance than present, so a relay cannot add one without breaking the
// signature): From, To, Subject, Date, Message-ID, Reply-To,
// List-Unsubscribe, List-Unsubscribe-Post. Tags: v, a, c, d, s, t, bh, h, b
// (no l=, no x=, no i=).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace switchboard::mail {

namespace dkim {

// One parsed private key, for signing canonicalised header data (see
// dkim_canon.h). Thread-safe: Sign may run in many threads at once.
class SigningKey {
 public:
  // kInvalidArgument for a PEM that is not an unencrypted RSA (≥ 1024 bits)
  // or Ed25519 private key.
  static Result<SigningKey> FromPem(std::string_view pem);

  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  ~SigningKey();

  bool is_ed25519() const { return ed25519_; }
  // "rsa-sha256" or "ed25519-sha256".
  std::string_view algorithm() const;
  // The TXT record's k= and p= ("k=rsa; p=<DER SubjectPublicKeyInfo>" or
  // "k=ed25519; p=<the 32-byte public key>", base64).
  std::string PublicKeyTags() const;
  // The b= value, unfolded: RSASSA-PKCS1-v1_5 over SHA-256 of `data`, or
  // (RFC 8463 §3) PureEd25519 over the 32-byte SHA-256 of `data`.
  Result<std::string> Sign(std::string_view data) const;

 private:
  struct Pkey;
  SigningKey(std::unique_ptr<Pkey> key, bool ed25519);
  std::unique_ptr<Pkey> key_;
  bool ed25519_ = false;
};

}  // namespace dkim

// One key as configured: its selector (s=) and its unencrypted PEM private key.
struct DkimKeySpec {
  std::string selector;
  std::string private_key_pem;
};

// What to publish for one key.
struct DkimPublicKey {
  std::string algorithm;  // "rsa-sha256" or "ed25519-sha256"
  std::string selector;
  std::string dns_name;    // "<selector>._domainkey.<domain>"
  std::string txt_record;  // "v=DKIM1; k=rsa; p=..." or "v=DKIM1; k=ed25519; p=..."
};

class DkimSigner {
 public:
  // `domain` (d=) and each selector are host names. Keys: one RSA key of at
  // least 1024 bits (2048 recommended; PEM, PKCS#8 "BEGIN PRIVATE KEY" or
  // PKCS#1 "BEGIN RSA PRIVATE KEY"), and optionally one Ed25519 key (PKCS#8
  // PEM, as `openssl genpkey -algorithm ed25519` writes). kInvalidArgument
  // for a bad name or key, two keys of one kind, two keys under one
  // selector, or no RSA key (the message never contains key material).
  static Result<DkimSigner> Create(std::string domain, std::vector<DkimKeySpec> keys);
  // One RSA key.
  static Result<DkimSigner> Create(std::string domain, std::string selector,
                                   std::string private_key_pem);
  // Create with the key read by ReadDkimPrivateKey(key_path).
  static Result<DkimSigner> FromKeyFile(std::string domain, std::string selector,
                                        const std::string& key_path);
  // Keys as (selector, key file) pairs, each read by ReadDkimPrivateKey.
  static Result<DkimSigner> FromKeyFiles(
      std::string domain, const std::vector<std::pair<std::string, std::string>>& keys);

  DkimSigner(DkimSigner&&) noexcept;
  DkimSigner& operator=(DkimSigner&&) noexcept;
  DkimSigner(const DkimSigner&) = delete;
  DkimSigner& operator=(const DkimSigner&) = delete;
  ~DkimSigner();

  // `message` (as from RenderMessage: a header block, an empty line, the
  // body) with one "DKIM-Signature: ..." field per key prepended (folded,
  // CRLF), t= now. Bare LFs in the input become CRLF in the output, which is
  // what is signed and what must be sent. kInvalidArgument when the input
  // has a bare CR, no header/body separator, a malformed header line, no
  // From field, or is over kMaxSignedBytes; kInternal when OpenSSL fails.
  Result<std::string> Sign(std::string_view message) const;
  // The same with t=`unix_seconds`.
  Result<std::string> Sign(std::string_view message, int64_t unix_seconds) const;

  const std::string& domain() const { return domain_; }
  // The RSA key's selector, name and record (the first of PublicKeys()).
  const std::string& selector() const;
  std::string DnsName() const;
  const std::string& DnsTxtRecord() const;
  // Every key, RSA first.
  const std::vector<DkimPublicKey>& PublicKeys() const { return public_keys_; }

  static constexpr size_t kMaxSignedBytes = 16 * 1024 * 1024;

 private:
  DkimSigner(std::string domain, std::vector<dkim::SigningKey> keys,
             std::vector<DkimPublicKey> public_keys);

  std::string domain_;
  std::vector<dkim::SigningKey> keys_;  // RSA first, as public_keys_
  std::vector<DkimPublicKey> public_keys_;
};

// Reads a DKIM private key file with crypto::ReadSecretFile: kNotFound when
// missing, kFailedPrecondition when group or others may read it (chmod 600).
Result<std::string> ReadDkimPrivateKey(const std::string& path);

}  // namespace switchboard::mail
