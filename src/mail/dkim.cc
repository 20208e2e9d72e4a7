#include "mail/dkim.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <ctime>
#include <utility>

#include "crypto/secret_file.h"
#include "mail/address.h"
#include "mail/dkim_canon.h"

namespace switchboard::mail {
namespace dkim {

struct SigningKey::Pkey {
  EVP_PKEY* key = nullptr;
  ~Pkey() { EVP_PKEY_free(key); }
};

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// Refuses to prompt for a passphrase: an encrypted key simply fails to load.
int NoPassphrase(char*, int, int, void*) { return 0; }

}  // namespace

SigningKey::SigningKey(std::unique_ptr<Pkey> key, bool ed25519)
    : key_(std::move(key)), ed25519_(ed25519) {}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

Result<SigningKey> SigningKey::FromPem(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("OpenSSL could not allocate a buffer");
  auto key = std::make_unique<Pkey>();
  key->key = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  ERR_clear_error();
  if (key->key == nullptr) {
    return Status::InvalidArgument("the DKIM private key is not an unencrypted PEM private key");
  }
  const int type = EVP_PKEY_get_base_id(key->key);
  if (type == EVP_PKEY_ED25519) return SigningKey(std::move(key), true);
  if (type != EVP_PKEY_RSA) {
    return Status::InvalidArgument("the DKIM private key is neither an RSA nor an Ed25519 key");
  }
  if (EVP_PKEY_get_bits(key->key) < 1024) {
    return Status::InvalidArgument("the DKIM private key has fewer than 1024 bits");
  }
  return SigningKey(std::move(key), false);
}

std::string_view SigningKey::algorithm() const {
  return ed25519_ ? "ed25519-sha256" : "rsa-sha256";
}

std::string SigningKey::PublicKeyTags() const {
  if (ed25519_) {
    unsigned char raw[32];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key_->key, raw, &len) != 1 || len != sizeof raw) {
      ERR_clear_error();
      return {};
    }
    return "k=ed25519; p=" + Base64(std::string_view(reinterpret_cast<const char*>(raw), len));
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_PUBKEY(key_->key, &der);
  if (der_len <= 0) {
    ERR_clear_error();
    return {};
  }
  std::string out = "k=rsa; p=" + Base64(std::string_view(reinterpret_cast<const char*>(der),
                                                          static_cast<size_t>(der_len)));
  OPENSSL_free(der);
  return out;
}

Result<std::string> SigningKey::Sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return Status::Internal("OpenSSL could not allocate a signing context");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  const unsigned char* input = reinterpret_cast<const unsigned char*>(data.data());
  size_t input_len = data.size();
  if (ed25519_) {
    // RFC 8463 §3: Ed25519 signs the SHA-256 hash, not the data itself.
    SHA256(input, input_len, digest);
    input = digest;
    input_len = sizeof digest;
  }
  unsigned char sig[1024];  // RSA up to 8192 bits
  size_t sig_len = 0;
  bool ok = EVP_DigestSignInit_ex(ctx.get(), nullptr, ed25519_ ? nullptr : "SHA256", nullptr,
                                  nullptr, key_->key, nullptr) == 1 &&
            EVP_DigestSign(ctx.get(), nullptr, &sig_len, input, input_len) == 1 &&
            sig_len <= sizeof sig &&
            EVP_DigestSign(ctx.get(), sig, &sig_len, input, input_len) == 1;
  if (!ok) {
    ERR_clear_error();
    return Status::Internal("OpenSSL could not make the DKIM signature");
  }
  return Base64(std::string_view(reinterpret_cast<const char*>(sig), sig_len));
}

}  // namespace dkim

namespace {

constexpr std::string_view kSignedHeaders[] = {
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
};
constexpr std::string_view kOversignedHeaders[] = {
    "from",       "to",       "subject",          "date",
    "message-id", "reply-to", "list-unsubscribe", "list-unsubscribe-post",
};

bool IsSigned(std::string_view name) {
  for (std::string_view s : kSignedHeaders) {
    if (s == name) return true;
  }
  return false;
}

// The message with every bare LF made CRLF; kInvalidArgument for a bare CR.
// Empty `*converted` when the input is CRLF already.
Status NormaliseLineEnds(std::string_view m, std::string* converted) {
  size_t bare_lf = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r' && (i + 1 >= m.size() || m[i + 1] != '\n')) {
      return Status::InvalidArgument("the message to sign has a bare CR");
    }
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) ++bare_lf;
  }
  if (bare_lf == 0) return Status::Ok();
  if (m.size() + bare_lf > DkimSigner::kMaxSignedBytes) {
    return Status::InvalidArgument("the message to sign is larger than 16 MiB");
  }
  converted->reserve(m.size() + bare_lf);
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) *converted += '\r';
    *converted += m[i];
  }
  return Status::Ok();
}

// Appends `tag` (e.g. "h=from:to") to a field being folded at 78 columns,
// breaking only where `tag` allows (after a ':' in it), preceded by "; "
// or a fold. `column` is the current line's length.
void AppendTag(std::string_view tag, bool last, std::string* out, size_t* column) {
  const size_t needed = tag.size() + (last ? 0 : 1);
  if (*column + 1 + needed > 78) {
    *out += "\r\n\t";
    *column = 1;
  } else {
    *out += ' ';
    ++*column;
  }
  size_t start = 0;
  while (*column + (tag.size() - start) + (last ? 0 : 1) > 78) {
    // Break after the last ':' that fits; a piece with none stays whole.
    const size_t room = 78 - *column;
    size_t cut = tag.rfind(':', start + room - 1);
    if (cut == std::string_view::npos || cut < start) {
      cut = tag.find(':', start);
      if (cut == std::string_view::npos) break;
    }
    *out += tag.substr(start, cut + 1 - start);
    *out += "\r\n\t";
    *column = 1;
    start = cut + 1;
  }
  *out += tag.substr(start);
  *column += tag.size() - start;
  if (!last) {
    *out += ';';
    ++*column;
  }
}

}  // namespace

DkimSigner::DkimSigner(std::string domain, std::vector<dkim::SigningKey> keys,
                       std::vector<DkimPublicKey> public_keys)
    : domain_(std::move(domain)), keys_(std::move(keys)), public_keys_(std::move(public_keys)) {}

DkimSigner::DkimSigner(DkimSigner&& other) noexcept = default;
DkimSigner& DkimSigner::operator=(DkimSigner&& other) noexcept = default;
DkimSigner::~DkimSigner() = default;

Result<DkimSigner> DkimSigner::Create(std::string domain, std::vector<DkimKeySpec> keys) {
  struct Wipe {
    std::vector<DkimKeySpec>& keys;
    ~Wipe() {
      for (DkimKeySpec& k : keys)
        OPENSSL_cleanse(k.private_key_pem.data(), k.private_key_pem.size());
    }
  } wipe{keys};
  if (!IsHostName(domain)) return Status::InvalidArgument("the DKIM domain is not a host name");
  if (keys.empty() || keys.size() > 2) {
    return Status::InvalidArgument("DKIM signing takes one RSA key and at most one Ed25519 key");
  }
  std::vector<dkim::SigningKey> parsed;
  std::vector<DkimPublicKey> published;
  for (const DkimKeySpec& spec : keys) {
    if (!IsHostName(spec.selector)) {
      return Status::InvalidArgument("the DKIM selector is not a host name label list");
    }
    for (const DkimPublicKey& other : published) {
      if (other.selector == spec.selector) {
        return Status::InvalidArgument("two DKIM keys have the same selector");
      }
    }
    SB_ASSIGN_OR_RETURN(dkim::SigningKey key, dkim::SigningKey::FromPem(spec.private_key_pem));
    for (const dkim::SigningKey& other : parsed) {
      if (other.is_ed25519() == key.is_ed25519()) {
        return Status::InvalidArgument(
            "DKIM signing takes one RSA key and at most one Ed25519 key");
      }
    }
    const std::string tags = key.PublicKeyTags();
    if (tags.empty()) return Status::Internal("OpenSSL could not encode the DKIM public key");
    DkimPublicKey pub{std::string(key.algorithm()), spec.selector,
                      spec.selector + "._domainkey." + domain, "v=DKIM1; " + tags};
    // RSA first.
    if (key.is_ed25519()) {
      parsed.push_back(std::move(key));
      published.push_back(std::move(pub));
    } else {
      parsed.insert(parsed.begin(), std::move(key));
      published.insert(published.begin(), std::move(pub));
    }
  }
  if (parsed.front().is_ed25519()) {
    return Status::InvalidArgument(
        "DKIM signing needs an RSA key (receivers that do not know Ed25519 check that one)");
  }
  DkimSigner signer(std::move(domain), std::move(parsed), std::move(published));
  // Prove every key signs before the first real message.
  Result<std::string> probe = signer.Sign("From: a@example.org\r\nSubject: probe\r\n\r\nprobe\r\n");
  if (!probe.has_value()) return probe.error().WithContext("the DKIM private key is unusable");
  return signer;
}

Result<DkimSigner> DkimSigner::Create(std::string domain, std::string selector,
                                      std::string private_key_pem) {
  std::vector<DkimKeySpec> keys;
  keys.push_back({std::move(selector), std::move(private_key_pem)});
  return Create(std::move(domain), std::move(keys));
}

Result<DkimSigner> DkimSigner::FromKeyFile(std::string domain, std::string selector,
                                           const std::string& key_path) {
  SB_ASSIGN_OR_RETURN(std::string pem, ReadDkimPrivateKey(key_path));
  return Create(std::move(domain), std::move(selector), std::move(pem));
}

Result<DkimSigner> DkimSigner::FromKeyFiles(
    std::string domain, const std::vector<std::pair<std::string, std::string>>& key_files) {
  std::vector<DkimKeySpec> keys;
  for (const auto& [selector, path] : key_files) {
    Result<std::string> pem = ReadDkimPrivateKey(path);
    if (!pem.has_value()) {
      for (DkimKeySpec& k : keys)
        OPENSSL_cleanse(k.private_key_pem.data(), k.private_key_pem.size());
      return pem.error();
    }
    keys.push_back({selector, std::move(*pem)});
  }
  return Create(std::move(domain), std::move(keys));
}

const std::string& DkimSigner::selector() const { return public_keys_.front().selector; }
std::string DkimSigner::DnsName() const { return public_keys_.front().dns_name; }
const std::string& DkimSigner::DnsTxtRecord() const { return public_keys_.front().txt_record; }

Result<std::string> DkimSigner::Sign(std::string_view message) const {
  return Sign(message, static_cast<int64_t>(std::time(nullptr)));
}

Result<std::string> DkimSigner::Sign(std::string_view input, int64_t unix_seconds) const {
  if (input.size() > kMaxSignedBytes) {
    return Status::InvalidArgument("the message to sign is larger than 16 MiB");
  }
  std::string converted;
  SB_RETURN_IF_ERROR(NormaliseLineEnds(input, &converted));
  // SMTP ends the data with CRLF anyway: add it here, so that it is signed.
  const std::string_view crlf = converted.empty() ? input : std::string_view(converted);
  if (!crlf.ends_with("\r\n") && crlf.find("\r\n\r\n") != std::string_view::npos) {
    if (converted.empty()) converted = std::string(input);
    converted += "\r\n";
  }
  const std::string_view message = converted.empty() ? input : std::string_view(converted);
  SB_ASSIGN_OR_RETURN(dkim::SplitMessageResult split, dkim::SplitMessage(message));

  std::vector<std::string> h;
  bool has_from = false;
  for (const dkim::HeaderField& f : split.fields) {
    if (f.name == "from") has_from = true;
    if (IsSigned(f.name)) h.push_back(f.name);
  }
  if (!has_from) return Status::InvalidArgument("the message to sign has no From field");
  for (std::string_view name : kOversignedHeaders) h.emplace_back(name);
  std::string h_tag = "h=";
  for (size_t i = 0; i < h.size(); ++i) {
    if (i > 0) h_tag += ':';
    h_tag += h[i];
  }
  const std::string bh_tag = "bh=" + dkim::BodyHash(split.body);
  const std::string t_tag = "t=" + std::to_string(unix_seconds);

  std::string out;
  out.reserve(message.size() + keys_.size() * 700);
  for (size_t k = 0; k < keys_.size(); ++k) {
    const dkim::SigningKey& key = keys_[k];
    const size_t field_start = out.size();
    out += "DKIM-Signature:";
    size_t column = out.size() - field_start;
    AppendTag("v=1", false, &out, &column);
    AppendTag("a=" + std::string(key.algorithm()), false, &out, &column);
    AppendTag("c=relaxed/relaxed", false, &out, &column);
    AppendTag("d=" + domain_, false, &out, &column);
    AppendTag("s=" + public_keys_[k].selector, false, &out, &column);
    AppendTag(t_tag, false, &out, &column);
    AppendTag(bh_tag, false, &out, &column);
    AppendTag(h_tag, false, &out, &column);
    out += "\r\n\tb=";
    column = 3;
    const std::string data =
        dkim::SignedHeaderData(split.fields, h, std::string_view(out).substr(field_start));
    SB_ASSIGN_OR_RETURN(std::string b, key.Sign(data));
    for (size_t at = 0; at < b.size();) {
      const size_t n = std::min(b.size() - at, 78 - column);
      out.append(b, at, n);
      at += n;
      if (at < b.size()) {
        out += "\r\n\t";
        column = 1;
      }
    }
    out += "\r\n";
  }
  out += message;
  return out;
}

Result<std::string> ReadDkimPrivateKey(const std::string& path) {
  return crypto::ReadSecretFile(path, "DKIM private key",
                                "(generate one with: openssl genpkey -algorithm RSA "
                                "-pkeyopt rsa_keygen_bits:2048 -out KEYFILE, or for "
                                "Ed25519: openssl genpkey -algorithm ed25519 -out KEYFILE)");
}

}  // namespace switchboard::mail
