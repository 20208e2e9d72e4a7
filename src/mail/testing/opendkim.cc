#include "mail/testing/opendkim.h"

// libopendkim's header is C and spells bool "_Bool", which is no C++ type.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool
#include <openssl/crypto.h>

#include <fstream>

#include "mail/testing/peers.h"

namespace switchboard::mail::testing {
namespace {

const char* const kSignedHeaders[] = {
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "x-switchboard-message",
    nullptr,
};
const char* const kOversignedHeaders[] = {
    "from",       "to",       "subject",          "date",
    "message-id", "reply-to", "list-unsubscribe", "list-unsubscribe-post",
    nullptr,
};

constexpr std::string_view kHeaderName = "DKIM-Signature: ";

struct DkimFree {
  void operator()(DKIM* d) const { dkim_free(d); }
};
struct LibFree {
  void operator()(DKIM_LIB* l) const { dkim_close(l); }
};

Status DkimError(std::string_view what, DKIM_STAT status) {
  const char* name = dkim_getresultstr(status);
  return Status::Internal("libopendkim " + std::string(what) +
                          " failed: " + (name ? name : std::to_string(status)));
}

std::string ToCrlf(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

}  // namespace

bool OpendkimHasEd25519() {
  std::unique_ptr<DKIM_LIB, LibFree> lib(dkim_init(nullptr, nullptr));
  return lib && dkim_libfeature(lib.get(), DKIM_FEATURE_ED25519);
}

Result<int> OpendkimVerify(std::string_view message,
                           const std::vector<std::pair<std::string, std::string>>& records) {
  SB_ASSIGN_OR_RETURN(std::unique_ptr<TempDir> dir, TempDir::Create("sb-opendkim"));
  const std::string keys = dir->Join("keys");
  {
    std::ofstream out(keys);
    for (const auto& [name, txt] : records) out << name << ' ' << txt << '\n';
    if (!out) return Status::Internal("cannot write the key file for libopendkim");
  }
  std::unique_ptr<DKIM_LIB, LibFree> lib(dkim_init(nullptr, nullptr));
  if (!lib) return Status::Internal("libopendkim could not start");
  dkim_query_t method = DKIM_QUERY_FILE;
  DKIM_STAT st =
      dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &method, sizeof method);
  if (st != DKIM_STAT_OK) return DkimError("query method", st);
  st = dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, const_cast<char*>(keys.c_str()),
                    keys.size());
  if (st != DKIM_STAT_OK) return DkimError("query file", st);

  std::unique_ptr<DKIM, DkimFree> dkim(
      dkim_verify(lib.get(), reinterpret_cast<const unsigned char*>("test"), nullptr, &st));
  if (!dkim) return DkimError("start", st);
  auto* bytes = reinterpret_cast<unsigned char*>(const_cast<char*>(message.data()));
  st = dkim_chunk(dkim.get(), bytes, message.size());
  if (st == DKIM_STAT_OK) st = dkim_chunk(dkim.get(), nullptr, 0);
  if (st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG) return DkimError("reading the message", st);
  st = dkim_eom(dkim.get(), nullptr);
  DKIM_SIGINFO** sigs = nullptr;
  int nsigs = 0;
  if (dkim_getsiglist(dkim.get(), &sigs, &nsigs) != DKIM_STAT_OK || nsigs == 0) {
    return Status::FailedPrecondition("libopendkim found no DKIM signature");
  }
  int good = 0;
  for (int i = 0; i < nsigs; ++i) {
    DKIM_SIGINFO* sig = sigs[i];
    if ((dkim_sig_getflags(sig) & DKIM_SIGFLAG_PROCESSED) == 0) {
      (void)dkim_sig_process(dkim.get(), sig);
    }
    if (DKIM_SIG_CHECK(sig)) {
      ++good;
      continue;
    }
    dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
    (void)dkim_sig_getsignalg(sig, &alg);
    const char* reason = dkim_sig_geterrorstr(dkim_sig_geterror(sig));
    return Status::FailedPrecondition(
        "libopendkim: signature " + std::to_string(i) + " (" +
        (alg == DKIM_SIGN_ED25519SHA256 ? "ed25519-sha256" : "rsa-sha256") +
        ") does not verify: " + (reason ? reason : "unknown") +
        (dkim_sig_getbh(sig) != DKIM_SIGBH_MATCH ? " (body hash mismatch)" : "") + " [eom " +
        std::to_string(st) + "]");
  }
  return good;
}

void OpendkimSigner::LibClose::operator()(dkim_lib* lib) const { dkim_close(lib); }

OpendkimSigner::OpendkimSigner(std::string domain, std::string selector, std::string key,
                               std::unique_ptr<dkim_lib, LibClose> lib)
    : domain_(std::move(domain)),
      selector_(std::move(selector)),
      key_(std::move(key)),
      lib_(std::move(lib)) {}
OpendkimSigner::OpendkimSigner(OpendkimSigner&&) noexcept = default;
OpendkimSigner& OpendkimSigner::operator=(OpendkimSigner&&) noexcept = default;
OpendkimSigner::~OpendkimSigner() { OPENSSL_cleanse(key_.data(), key_.size()); }

Result<OpendkimSigner> OpendkimSigner::Create(std::string domain, std::string selector,
                                              std::string private_key_pem) {
  std::unique_ptr<dkim_lib, LibClose> lib(dkim_init(nullptr, nullptr));
  if (!lib) return Status::Internal("libopendkim could not start");
  DKIM_STAT st = dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
                              const_cast<char**>(kSignedHeaders), sizeof(char**));
  if (st != DKIM_STAT_OK) return DkimError("header list", st);
  st = dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
                    const_cast<char**>(kOversignedHeaders), sizeof(char**));
  if (st != DKIM_STAT_OK) return DkimError("over-signed header list", st);
  OpendkimSigner signer(std::move(domain), std::move(selector), std::move(private_key_pem),
                        std::move(lib));
  Result<std::string> probe = signer.Sign("From: a@example.org\r\nSubject: probe\r\n\r\nprobe\r\n");
  if (!probe.has_value()) return probe.error();
  return signer;
}

Result<std::string> OpendkimSigner::Sign(std::string_view rendered_message) const {
  DKIM_STAT st = DKIM_STAT_OK;
  std::unique_ptr<DKIM, DkimFree> dkim(
      dkim_sign(lib_.get(), reinterpret_cast<const unsigned char*>("switchboard"), nullptr,
                reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(key_.data())),
                reinterpret_cast<const unsigned char*>(selector_.c_str()),
                reinterpret_cast<const unsigned char*>(domain_.c_str()), DKIM_CANON_RELAXED,
                DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st));
  if (!dkim) return DkimError("start", st);
  auto* bytes = reinterpret_cast<unsigned char*>(const_cast<char*>(rendered_message.data()));
  st = dkim_chunk(dkim.get(), bytes, rendered_message.size());
  if (st == DKIM_STAT_OK) st = dkim_chunk(dkim.get(), nullptr, 0);
  if (st != DKIM_STAT_OK) return DkimError("reading the message", st);
  st = dkim_eom(dkim.get(), nullptr);
  if (st != DKIM_STAT_OK) return DkimError("signing", st);
  unsigned char* header = nullptr;
  size_t header_len = 0;
  st = dkim_getsighdr_d(dkim.get(), kHeaderName.size(), &header, &header_len);
  if (st != DKIM_STAT_OK || header == nullptr) return DkimError("formatting the signature", st);
  std::string out;
  out.reserve(kHeaderName.size() + header_len + 2 + rendered_message.size());
  out += kHeaderName;
  out += ToCrlf(std::string_view(reinterpret_cast<const char*>(header), header_len));
  out += "\r\n";
  out += rendered_message;
  return out;
}

}  // namespace switchboard::mail::testing
