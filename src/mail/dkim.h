// DKIM signing (RFC 6376) with libopendkim: rsa-sha256, relaxed/relaxed.
//
// A DkimSigner holds one domain, selector and private key and one DKIM_LIB;
// each Sign call makes its own DKIM handle, so Sign may be called from any
// number of threads at once. Movable, not copyable; the key is wiped from
// memory when the signer goes away. Nothing is logged.
//
// Signed header fields (those present; h= lists them): From, Sender,
// Reply-To, To, Cc, Subject, Date, Message-ID, MIME-Version, Content-Type,
// Content-Transfer-Encoding, List-Id, List-Unsubscribe, List-Unsubscribe-Post,
// X-Switchboard-Message. Over-signed (h= names one more instance than present,
// so a relay cannot add one without breaking the signature): From, To,
// Subject, Date, Message-ID, Reply-To, List-Unsubscribe, List-Unsubscribe-Post.
// The signature's t= is libopendkim's wall clock (it offers no per-call time).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

struct dkim_lib;  // libopendkim's DKIM_LIB

namespace switchboard::mail {

class DkimSigner {
 public:
  // `domain` (d=) and `selector` (s=) are host names; `private_key_pem` an RSA
  // private key of at least 1024 bits (2048 recommended) in PEM, PKCS#8
  // ("BEGIN PRIVATE KEY") or PKCS#1 ("BEGIN RSA PRIVATE KEY"). kInvalidArgument
  // for a bad name or key (the message never contains key material);
  // kInternal if libopendkim cannot start.
  static Result<DkimSigner> Create(std::string domain, std::string selector,
                                   std::string private_key_pem);
  // Create with the key read by ReadDkimPrivateKey(key_path).
  static Result<DkimSigner> FromKeyFile(std::string domain, std::string selector,
                                        const std::string& key_path);

  DkimSigner(DkimSigner&&) noexcept;
  DkimSigner& operator=(DkimSigner&&) noexcept;
  DkimSigner(const DkimSigner&) = delete;
  DkimSigner& operator=(const DkimSigner&) = delete;
  ~DkimSigner();

  // `rendered_message` (as from RenderMessage: CRLF line endings, a header
  // block, an empty line, the body) with "DKIM-Signature: ..." prepended as
  // its first header field (folded, CRLF). kInvalidArgument when the input
  // has a bare CR or LF, no header/body separator, no From field, or is over
  // kMaxSignedBytes; kInternal when libopendkim fails.
  Result<std::string> Sign(std::string_view rendered_message) const;

  const std::string& domain() const { return domain_; }
  const std::string& selector() const { return selector_; }
  // Where the public key is published: "<selector>._domainkey.<domain>".
  std::string DnsName() const;
  // The TXT record to publish there: "v=DKIM1; k=rsa; p=<base64 DER SubjectPublicKeyInfo>".
  const std::string& DnsTxtRecord() const { return txt_record_; }

  static constexpr size_t kMaxSignedBytes = 16 * 1024 * 1024;

 private:
  struct LibClose {
    void operator()(dkim_lib* lib) const;
  };
  DkimSigner(std::string domain, std::string selector, std::string key, std::string txt_record,
             std::unique_ptr<dkim_lib, LibClose> lib);

  std::string domain_;
  std::string selector_;
  std::string key_;  // PEM; wiped in the destructor
  std::string txt_record_;
  std::unique_ptr<dkim_lib, LibClose> lib_;
};

// Reads a DKIM private key file with crypto::ReadSecretFile: kNotFound when
// missing, kFailedPrecondition when group or others may read it (chmod 600).
Result<std::string> ReadDkimPrivateKey(const std::string& path);

}  // namespace switchboard::mail
