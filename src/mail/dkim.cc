#include "mail/dkim.h"

// libopendkim's header is C and spells bool "_Bool", which is no C++ type.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <cstring>
#include <utility>

#include "crypto/secret_file.h"
#include "mail/address.h"

namespace switchboard::mail {
namespace {

constexpr std::string_view kHeaderName = "DKIM-Signature: ";

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

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct DkimFree {
  void operator()(DKIM* d) const { dkim_free(d); }
};

// Refuses to prompt for a passphrase: an encrypted key simply fails to load.
int NoPassphrase(char*, int, int, void*) { return 0; }

// Parses the key and returns the DNS TXT record for its public half.
Result<std::string> CheckKeyAndMakeTxt(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("OpenSSL could not allocate a buffer");
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (!key) {
    return Status::InvalidArgument("the DKIM private key is not an unencrypted PEM private key");
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return Status::InvalidArgument("the DKIM private key is not an RSA key");
  }
  if (EVP_PKEY_get_bits(key.get()) < 1024) {
    return Status::InvalidArgument("the DKIM private key has fewer than 1024 bits");
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_PUBKEY(key.get(), &der);
  if (der_len <= 0) {
    ERR_clear_error();
    return Status::Internal("OpenSSL could not encode the DKIM public key");
  }
  std::string b64(4 * ((static_cast<size_t>(der_len) + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), der, der_len);
  OPENSSL_free(der);
  b64.resize(static_cast<size_t>(n));
  return "v=DKIM1; k=rsa; p=" + b64;
}

bool StartsWithIgnoringCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

Status CheckMessage(std::string_view m) {
  if (m.size() > DkimSigner::kMaxSignedBytes) {
    return Status::InvalidArgument("the message to sign is larger than 16 MiB");
  }
  for (size_t i = 0; i < m.size(); ++i) {
    if ((m[i] == '\r' && (i + 1 >= m.size() || m[i + 1] != '\n')) ||
        (m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))) {
      return Status::InvalidArgument("the message to sign has a bare CR or LF");
    }
  }
  const size_t end = m.find("\r\n\r\n");
  if (end == std::string_view::npos || m.starts_with("\r\n")) {
    return Status::InvalidArgument("the message to sign has no header block");
  }
  const std::string_view headers = m.substr(0, end + 2);
  for (size_t pos = 0; pos < headers.size();) {
    if (StartsWithIgnoringCase(headers.substr(pos), "from:")) return Status::Ok();
    pos = headers.find("\r\n", pos) + 2;
  }
  return Status::InvalidArgument("the message to sign has no From field");
}

// `s` with every bare LF made CRLF.
std::string ToCrlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

Status DkimError(std::string_view what, DKIM_STAT status) {
  const char* name = dkim_getresultstr(status);
  return Status::Internal("DKIM " + std::string(what) +
                          " failed: " + (name ? name : std::to_string(status)));
}

}  // namespace

void DkimSigner::LibClose::operator()(dkim_lib* lib) const { dkim_close(lib); }

DkimSigner::DkimSigner(std::string domain, std::string selector, std::string key,
                       std::string txt_record, std::unique_ptr<dkim_lib, LibClose> lib)
    : domain_(std::move(domain)),
      selector_(std::move(selector)),
      key_(std::move(key)),
      txt_record_(std::move(txt_record)),
      lib_(std::move(lib)) {}

DkimSigner::DkimSigner(DkimSigner&& other) noexcept = default;

DkimSigner& DkimSigner::operator=(DkimSigner&& other) noexcept {
  if (this != &other) {
    OPENSSL_cleanse(key_.data(), key_.size());
    domain_ = std::move(other.domain_);
    selector_ = std::move(other.selector_);
    key_ = std::move(other.key_);
    txt_record_ = std::move(other.txt_record_);
    lib_ = std::move(other.lib_);
  }
  return *this;
}

DkimSigner::~DkimSigner() { OPENSSL_cleanse(key_.data(), key_.size()); }

Result<DkimSigner> DkimSigner::Create(std::string domain, std::string selector,
                                      std::string private_key_pem) {
  struct Wipe {
    std::string& s;
    ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
  } wipe{private_key_pem};
  if (!IsHostName(domain)) return Status::InvalidArgument("the DKIM domain is not a host name");
  if (!IsHostName(selector)) {
    return Status::InvalidArgument("the DKIM selector is not a host name label list");
  }
  SB_ASSIGN_OR_RETURN(std::string txt, CheckKeyAndMakeTxt(private_key_pem));

  std::unique_ptr<dkim_lib, LibClose> lib(dkim_init(nullptr, nullptr));
  if (!lib) return Status::Internal("libopendkim could not start");
  DKIM_STAT st = dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
                              const_cast<char**>(kSignedHeaders), sizeof(char**));
  if (st != DKIM_STAT_OK) return DkimError("header list", st);
  st = dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
                    const_cast<char**>(kOversignedHeaders), sizeof(char**));
  if (st != DKIM_STAT_OK) return DkimError("over-signed header list", st);

  DkimSigner signer(std::move(domain), std::move(selector), std::move(private_key_pem),
                    std::move(txt), std::move(lib));
  // libopendkim parses the key only when signing: prove it can.
  Result<std::string> probe = signer.Sign("From: a@example.org\r\nSubject: probe\r\n\r\nprobe\r\n");
  if (!probe.has_value()) return probe.error().WithContext("the DKIM private key is unusable");
  return signer;
}

Result<DkimSigner> DkimSigner::FromKeyFile(std::string domain, std::string selector,
                                           const std::string& key_path) {
  SB_ASSIGN_OR_RETURN(std::string pem, ReadDkimPrivateKey(key_path));
  return Create(std::move(domain), std::move(selector), std::move(pem));
}

std::string DkimSigner::DnsName() const { return selector_ + "._domainkey." + domain_; }

Result<std::string> DkimSigner::Sign(std::string_view rendered_message) const {
  SB_RETURN_IF_ERROR(CheckMessage(rendered_message));
  DKIM_STAT st = DKIM_STAT_OK;
  std::unique_ptr<DKIM, DkimFree> dkim(
      dkim_sign(lib_.get(), reinterpret_cast<const unsigned char*>("switchboard"), nullptr,
                reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(key_.data())),
                reinterpret_cast<const unsigned char*>(selector_.c_str()),
                reinterpret_cast<const unsigned char*>(domain_.c_str()), DKIM_CANON_RELAXED,
                DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st));
  if (!dkim) return DkimError("start", st);
  // libopendkim only reads the buffer it is given.
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

Result<std::string> ReadDkimPrivateKey(const std::string& path) {
  return crypto::ReadSecretFile(path, "DKIM private key",
                                "(generate one with: openssl genpkey -algorithm RSA "
                                "-pkeyopt rsa_keygen_bits:2048 -out KEYFILE)");
}

}  // namespace switchboard::mail
