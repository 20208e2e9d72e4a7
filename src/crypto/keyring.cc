#include "crypto/keyring.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "crypto/secret_file.h"

namespace switchboard::crypto {

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  SB_CHECK(ok);
}

std::string ToHex(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.pop_back();
  return out;
}

std::string ToHex(const void* data, size_t size) {
  return ToHex(std::string_view(static_cast<const char*>(data), size));
}

Result<std::string> FromHex(std::string_view hex) {
  std::string out(hex.size() / 2 + 1, '\0');
  size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                     hex.size(), nullptr, &len, nullptr) != 0 ||
      len * 2 != hex.size()) {
    return Status::InvalidArgument("not a hexadecimal string");
  }
  out.resize(len);
  return out;
}

Keyring::~Keyring() {
  for (auto& [id, k] : keys_) sodium_memzero(k.data(), k.size());
  sodium_memzero(blind_.data(), blind_.size());
}

std::unique_ptr<Keyring> Keyring::Generate() {
  EnsureSodium();
  std::unique_ptr<Keyring> k(new Keyring());
  k->Rotate();
  randombytes_buf(k->blind_.data(), k->blind_.size());
  return k;
}

std::uint32_t Keyring::Rotate() {
  EnsureSodium();
  const std::uint32_t id = keys_.empty() ? 1 : keys_.rbegin()->first + 1;
  Key key;
  crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
  keys_[id] = key;
  sodium_memzero(key.data(), key.size());
  active_ = id;
  return id;
}

const Key* Keyring::encryption_key(std::uint32_t id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

std::string Keyring::Fingerprint() const {
  unsigned char out[8];
  static const char kLabel[] = "switchboard keyring fingerprint";
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(kLabel),
                     sizeof kLabel - 1, blind_.data(), blind_.size());
  return ToHex(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

Status Keyring::Retire(std::uint32_t id) {
  auto it = keys_.find(id);
  if (it == keys_.end()) return Status::NotFound("the keyring has no key " + std::to_string(id));
  if (id == active_) {
    return Status::FailedPrecondition("key " + std::to_string(id) +
                                      " is the active key; rotate first");
  }
  sodium_memzero(it->second.data(), it->second.size());
  keys_.erase(it);
  return Status::Ok();
}

std::vector<std::uint32_t> Keyring::key_ids() const {
  std::vector<std::uint32_t> out;
  for (const auto& [id, k] : keys_) out.push_back(id);
  return out;
}

Status Keyring::SaveReplacing(const std::string& path) const {
  const std::string tmp = path + ".new";
  ::unlink(tmp.c_str());  // left by a crash before its rename: never the keyring in use
  SB_RETURN_IF_ERROR(Save(tmp));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return Status::Unavailable("cannot replace " + path + ": " + std::strerror(e));
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    return Status::Unavailable("cannot sync the directory of " + path);
  }
  ::close(fd);
  return Status::Ok();
}

Status Keyring::Save(const std::string& path) const {
  std::string text =
      "# Switchboard keyring. Keep secret; back it up separately from the database.\n";
  text += "# Without this file, encrypted contact data cannot be read.\n";
  text += "version 1\n";
  text += "active " + std::to_string(active_) + "\n";
  for (const auto& [id, k] : keys_) {
    text += "enc " + std::to_string(id) + " " +
            ToHex(std::string_view(reinterpret_cast<const char*>(k.data()), k.size())) + "\n";
  }
  text += "blind " +
          ToHex(std::string_view(reinterpret_cast<const char*>(blind_.data()), blind_.size())) +
          "\n";
  return WriteSecretFile(path, text, "keyring");
}

Result<std::unique_ptr<Keyring>> Keyring::Load(const std::string& path) {
  EnsureSodium();
  SB_ASSIGN_OR_RETURN(std::string text,
                      ReadSecretFile(path, "keyring", "(run `switchboard init` first)"));
  std::istringstream in(text);
  sodium_memzero(text.data(), text.size());
  std::unique_ptr<Keyring> k(new Keyring());
  bool have_blind = false;
  std::string line;
  int lineno = 0;
  auto bad = [&](const std::string& what) {
    return Status::DataLoss(path + ":" + std::to_string(lineno) + ": " + what);
  };
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string word;
    ls >> word;
    if (word == "version") {
      int v = 0;
      ls >> v;
      if (v != 1) return bad("unsupported keyring version");
    } else if (word == "active") {
      ls >> k->active_;
    } else if (word == "enc" || word == "blind") {
      std::uint32_t id = 0;
      if (word == "enc") ls >> id;
      std::string hex;
      ls >> hex;
      auto bytes = FromHex(hex);
      if (!bytes || bytes->size() != kKeyBytes) return bad("a key must be 64 hexadecimal digits");
      Key key;
      std::memcpy(key.data(), bytes->data(), kKeyBytes);
      sodium_memzero(bytes->data(), bytes->size());
      if (word == "enc") {
        if (id == 0 || k->keys_.count(id)) return bad("duplicate or zero key id");
        k->keys_[id] = key;
      } else {
        k->blind_ = key;
        have_blind = true;
      }
      sodium_memzero(key.data(), key.size());
    } else {
      return bad("unknown entry '" + word + "'");
    }
  }
  if (!have_blind) return Status::DataLoss(path + ": no blind-index key");
  if (!k->encryption_key(k->active_)) return Status::DataLoss(path + ": the active key is missing");
  return k;
}

}  // namespace switchboard::crypto
