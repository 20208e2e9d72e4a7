#include "audit/checkpoint.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/file.h"
#include "crypto/keyring.h"
#include "crypto/secret_file.h"

namespace switchboard::audit {

namespace {

constexpr std::string_view kOrigin = "switchboard-audit/v1";

template <typename Int>
bool ParseInt(std::string_view s, Int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> SplitSpaces(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::string Checkpoint::Encode() const {
  std::string s(kOrigin);
  s += '\n';
  s += std::to_string(tree_size);
  s += '\n';
  s += Base64(std::string_view(reinterpret_cast<const char*>(root.data()), root.size()));
  s += '\n';
  s += std::to_string(time);
  s += '\n';
  s += std::to_string(previous_size);
  s += '\n';
  s += key_id;
  s += '\n';
  return s;
}

std::string Base64(std::string_view bytes) {
  crypto::EnsureSodium();
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<std::string> FromBase64(std::string_view text) {
  crypto::EnsureSodium();
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return Status::InvalidArgument("not standard base64");
  }
  out.resize(len);
  return out;
}

// ---- VerifyKey ----

Result<VerifyKey> VerifyKey::FromBytes(std::string_view public_key) {
  if (public_key.size() != kPublicKeyBytes) {
    return Status::InvalidArgument("an Ed25519 public key is 32 bytes");
  }
  VerifyKey k;
  std::memcpy(k.pk_.data(), public_key.data(), kPublicKeyBytes);
  const Hash h = Sha256(public_key);
  k.key_id_ = crypto::ToHex(h.data(), 8);
  return k;
}

Result<VerifyKey> VerifyKey::Parse(std::string_view text) {
  const auto words = SplitSpaces(text);
  if (words.size() != 2) return Status::InvalidArgument("expected '<key id> <public key hex>'");
  SB_ASSIGN_OR_RETURN(std::string pk, crypto::FromHex(words[1]));
  SB_ASSIGN_OR_RETURN(VerifyKey k, FromBytes(pk));
  if (k.key_id_ != words[0]) {
    return Status::InvalidArgument("the key id " + std::string(words[0]) +
                                   " does not belong to this public key");
  }
  return k;
}

std::string VerifyKey::ToString() const {
  return key_id_ + " " + crypto::ToHex(pk_.data(), pk_.size());
}

Status VerifyKey::Verify(const SignedCheckpoint& signed_cp) const {
  const Checkpoint& cp = signed_cp.checkpoint;
  const std::string where = "checkpoint at size " + std::to_string(cp.tree_size);
  if (cp.key_id != key_id_) {
    return Status::DataLoss(where + " is signed by key " + cp.key_id + ", not by " + key_id_);
  }
  if (signed_cp.signature.size() != kSignatureBytes) {
    return Status::DataLoss(where + " has a malformed signature");
  }
  crypto::EnsureSodium();
  const std::string text = cp.Encode();
  if (crypto_sign_verify_detached(
          reinterpret_cast<const unsigned char*>(signed_cp.signature.data()),
          reinterpret_cast<const unsigned char*>(text.data()), text.size(), pk_.data()) != 0) {
    return Status::DataLoss(where + ": the signature does not verify");
  }
  return Status::Ok();
}

// ---- SigningKey ----

SigningKey::SigningKey(const std::array<std::uint8_t, 64>& sk, VerifyKey vk)
    : sk_(sk), verify_(std::move(vk)) {}

SigningKey::~SigningKey() { sodium_memzero(sk_.data(), sk_.size()); }

std::unique_ptr<SigningKey> SigningKey::Generate() {
  crypto::EnsureSodium();
  std::array<std::uint8_t, 64> sk;
  std::array<std::uint8_t, kPublicKeyBytes> pk;
  crypto_sign_keypair(pk.data(), sk.data());
  auto vk = VerifyKey::FromBytes(std::string_view(reinterpret_cast<char*>(pk.data()), pk.size()));
  SB_CHECK(vk.has_value());
  std::unique_ptr<SigningKey> k(new SigningKey(sk, std::move(vk).value()));
  sodium_memzero(sk.data(), sk.size());
  return k;
}

SignedCheckpoint SigningKey::Sign(Checkpoint checkpoint) const {
  checkpoint.key_id = key_id();
  const std::string text = checkpoint.Encode();
  std::string sig(kSignatureBytes, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                       sk_.data());
  return SignedCheckpoint{std::move(checkpoint), std::move(sig)};
}

Status SigningKey::Save(const std::string& path) const {
  // The seed is the first half of libsodium's secret key.
  std::string text = "# Switchboard audit signing key (Ed25519). Keep secret.\n";
  text += "version 1\n";
  text += "ed25519-seed " + crypto::ToHex(sk_.data(), crypto_sign_SEEDBYTES) + "\n";
  text += "public " + verify_.ToString() + "\n";
  return crypto::WriteSecretFile(path, text, "audit signing key");
}

Result<std::unique_ptr<SigningKey>> SigningKey::Load(const std::string& path) {
  crypto::EnsureSodium();
  SB_ASSIGN_OR_RETURN(std::string text, crypto::ReadSecretFile(path, "audit signing key"));
  std::istringstream in(text);
  sodium_memzero(text.data(), text.size());
  std::string line;
  int lineno = 0;
  std::string seed;
  auto bad = [&](const std::string& what) {
    return Status::DataLoss(path + ":" + std::to_string(lineno) + ": " + what);
  };
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    const auto words = SplitSpaces(line);
    if (words[0] == "version") {
      if (words.size() != 2 || words[1] != "1") return bad("unsupported key file version");
    } else if (words[0] == "ed25519-seed") {
      if (words.size() != 2) return bad("expected 'ed25519-seed <hex>'");
      auto bytes = crypto::FromHex(words[1]);
      if (!bytes || bytes->size() != crypto_sign_SEEDBYTES) {
        return bad("the seed must be 64 hexadecimal digits");
      }
      seed = std::move(bytes).value();
    } else if (words[0] == "public") {
      // Informational; recomputed from the seed.
    } else {
      return bad("unknown entry '" + std::string(words[0]) + "'");
    }
    sodium_memzero(line.data(), line.size());
  }
  if (seed.empty()) return Status::DataLoss(path + ": no ed25519-seed line");
  std::array<std::uint8_t, 64> sk;
  std::array<std::uint8_t, kPublicKeyBytes> pk;
  crypto_sign_seed_keypair(pk.data(), sk.data(),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  sodium_memzero(seed.data(), seed.size());
  auto vk = VerifyKey::FromBytes(std::string_view(reinterpret_cast<char*>(pk.data()), pk.size()));
  SB_CHECK(vk.has_value());
  std::unique_ptr<SigningKey> k(new SigningKey(sk, std::move(vk).value()));
  sodium_memzero(sk.data(), sk.size());
  return k;
}

// ---- witness files ----

std::string FormatWitnessLine(const SignedCheckpoint& scp) {
  const Checkpoint& cp = scp.checkpoint;
  return std::to_string(cp.tree_size) + " " +
         Base64(std::string_view(reinterpret_cast<const char*>(cp.root.data()), cp.root.size())) +
         " " + std::to_string(cp.time) + " " + std::to_string(cp.previous_size) + " " + cp.key_id +
         " " + Base64(scp.signature);
}

Result<SignedCheckpoint> ParseWitnessLine(std::string_view line) {
  const auto w = SplitSpaces(line);
  if (w.size() != 6) {
    return Status::InvalidArgument(
        "expected '<size> <root> <time> <previous size> <key id> <signature>'");
  }
  SignedCheckpoint out;
  Checkpoint& cp = out.checkpoint;
  if (!ParseInt(w[0], cp.tree_size) || !ParseInt(w[2], cp.time) ||
      !ParseInt(w[3], cp.previous_size)) {
    return Status::InvalidArgument("a size or a time is not a number");
  }
  auto root = FromBase64(w[1]);
  if (!root) return Status::InvalidArgument("the root is not base64");
  auto hash = HashFromBytes(*root);
  if (!hash) return Status::InvalidArgument("the root is not 32 bytes");
  cp.root = *hash;
  cp.key_id = std::string(w[4]);
  auto sig = FromBase64(w[5]);
  if (!sig || sig->size() != kSignatureBytes) {
    return Status::InvalidArgument("the signature is not 64 bytes of base64");
  }
  out.signature = std::move(sig).value();
  return out;
}

Status AppendToWitnessFile(const std::string& path, const std::vector<SignedCheckpoint>& cps) {
  std::string text;
  for (const auto& cp : cps) text += FormatWitnessLine(cp) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Unavailable("cannot open " + path + ": " + std::strerror(errno));
  return WriteAllSyncAndClose(fd, text, path);
}

Result<std::vector<SignedCheckpoint>> ReadWitnessFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read the witness file " + path);
  std::vector<SignedCheckpoint> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    auto cp = ParseWitnessLine(line);
    if (!cp)
      return Status::DataLoss(path + ":" + std::to_string(lineno) + ": " + cp.error().message());
    out.push_back(std::move(cp).value());
  }
  return out;
}

}  // namespace switchboard::audit
