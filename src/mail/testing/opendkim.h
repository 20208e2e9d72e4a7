// libopendkim as an independent second party for DKIM: a verifier for the
// tests (beside Python's dkim, tests/mail/dkim_verify.py), and the signer
// Switchboard used before it signed on its own, kept only so that
// bench/mail_bench can measure both in one run. Not for production use.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

struct dkim_lib;  // libopendkim's DKIM_LIB

namespace switchboard::mail::testing {

// Verifies every DKIM-Signature of `message` with libopendkim, answering key
// queries from `records` (DNS name, TXT record) instead of DNS. Returns how
// many signatures verified; kFailedPrecondition naming the first one that
// did not (by its a= and libopendkim's reason), or when there is none.
Result<int> OpendkimVerify(std::string_view message,
                           const std::vector<std::pair<std::string, std::string>>& records);

// Whether this libopendkim was built with Ed25519.
bool OpendkimHasEd25519();

// The libopendkim signer (rsa-sha256, relaxed/relaxed, the same header set
// and over-signing as mail::DkimSigner). It parses the PEM key again for
// every message, which is why it was replaced. Thread-safe like DkimSigner.
class OpendkimSigner {
 public:
  static Result<OpendkimSigner> Create(std::string domain, std::string selector,
                                       std::string private_key_pem);
  OpendkimSigner(OpendkimSigner&&) noexcept;
  OpendkimSigner& operator=(OpendkimSigner&&) noexcept;
  ~OpendkimSigner();
  // As DkimSigner::Sign, CRLF input only.
  Result<std::string> Sign(std::string_view rendered_message) const;

 private:
  struct LibClose {
    void operator()(dkim_lib* lib) const;
  };
  OpendkimSigner(std::string domain, std::string selector, std::string key,
                 std::unique_ptr<dkim_lib, LibClose> lib);
  std::string domain_;
  std::string selector_;
  std::string key_;
  std::unique_ptr<dkim_lib, LibClose> lib_;
};

}  // namespace switchboard::mail::testing
