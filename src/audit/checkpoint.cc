#include "audit/checkpoint.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
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

namespace {

constexpr size_t kTailChunk = 8 * 1024;

bool IsBlankOrComment(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos || line[0] == '#';
}

Status OpenError(const std::string& path) {
  if (errno == ENOENT) return Status::NotFound("there is no file " + path);
  return Status::Unavailable("cannot open " + path + ": " + std::strerror(errno));
}

// flock() that retries when a signal interrupts it.
Status Lock(int fd, int op, const std::string& path) {
  while (::flock(fd, op) != 0) {
    if (errno != EINTR)
      return Status::Unavailable("cannot lock " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

// pread() of exactly `n` bytes at `off` into `out`.
Status ReadAt(int fd, off_t off, size_t n, std::string& out, const std::string& path) {
  out.resize(n);
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, out.data() + done, n - done, off + static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      return Status::Unavailable("cannot read " + path + ": " +
                                 (r < 0 ? std::strerror(errno) : "the file shrank"));
    }
    done += static_cast<size_t>(r);
  }
  return Status::Ok();
}

// The offset just after the last '\n' of the first `size` bytes (0 if none).
Result<off_t> EndOfLastLine(int fd, off_t size, const std::string& path) {
  std::string chunk;
  off_t end = size;
  while (end > 0) {
    const off_t begin = std::max<off_t>(0, end - static_cast<off_t>(kTailChunk));
    SB_RETURN_IF_ERROR(ReadAt(fd, begin, static_cast<size_t>(end - begin), chunk, path));
    const size_t nl = chunk.rfind('\n');
    if (nl != std::string::npos) return begin + static_cast<off_t>(nl) + 1;
    end = begin;
  }
  return off_t{0};
}

Status SyncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::Unavailable("cannot open " + dir + ": " + std::strerror(errno));
  const bool ok = ::fsync(dfd) == 0;
  const int e = errno;
  ::close(dfd);
  if (!ok) return Status::Unavailable("cannot sync " + dir + ": " + std::strerror(e));
  return Status::Ok();
}

// The checkpoints of `text`, the whole content of a witness file.
Result<WitnessFile> ParseWitnessText(std::string_view text, const std::string& path) {
  WitnessFile out;
  int lineno = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++lineno;
    const size_t nl = text.find('\n', pos);
    const bool last_unterminated = nl == std::string_view::npos;
    const std::string_view line =
        text.substr(pos, last_unterminated ? text.size() - pos : nl - pos);
    pos = last_unterminated ? text.size() : nl + 1;
    if (IsBlankOrComment(line)) continue;
    auto cp = ParseWitnessLine(line);
    if (!cp) {
      if (last_unterminated) {
        out.torn_tail = true;
        break;
      }
      return Status::DataLoss(path + ":" + std::to_string(lineno) + ": " + cp.error().message());
    }
    out.checkpoints.push_back(std::move(cp).value());
  }
  return out;
}

}  // namespace

Status AppendToWitnessFile(const std::string& path, const std::vector<SignedCheckpoint>& cps,
                           std::string_view header) {
  std::string text;
  for (const auto& cp : cps) text += FormatWitnessLine(cp) + "\n";
  bool created = true;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) {
    return Status::Unavailable("cannot create or open " + path + ": " + std::strerror(errno));
  }
  auto fail = [&](Status st) {
    ::close(fd);
    return st;
  };
  if (Status st = Lock(fd, LOCK_EX, path); !st.ok()) return fail(st);
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    return fail(Status::Unavailable("cannot stat " + path + ": " + std::strerror(errno)));
  }
  if (info.st_size == 0) {
    text.insert(0, header);
  } else {
    auto line_end = EndOfLastLine(fd, info.st_size, path);
    if (!line_end) return fail(line_end.error());
    if (*line_end < info.st_size) {
      std::string fragment;
      if (Status st =
              ReadAt(fd, *line_end, static_cast<size_t>(info.st_size - *line_end), fragment, path);
          !st.ok()) {
        return fail(st);
      }
      if (ParseWitnessLine(fragment).has_value()) {
        text.insert(0, "\n");  // a whole checkpoint that only lacks its newline
      } else if (::ftruncate(fd, *line_end) != 0) {
        return fail(Status::Unavailable("cannot cut the torn last line of " + path + ": " +
                                        std::strerror(errno)));
      }
    }
  }
  SB_RETURN_IF_ERROR(WriteAllSyncAndClose(fd, text, path));
  if (created) return SyncDirectoryOf(path);
  return Status::Ok();
}

Result<WitnessFile> ReadWitnessFileFully(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OpenError(path);
  std::string text;
  Status st = Lock(fd, LOCK_SH, path);
  struct stat info;
  if (st.ok() && ::fstat(fd, &info) != 0) {
    st = Status::Unavailable("cannot stat " + path + ": " + std::strerror(errno));
  }
  if (st.ok()) st = ReadAt(fd, 0, static_cast<size_t>(info.st_size), text, path);
  ::close(fd);
  SB_RETURN_IF_ERROR(st);
  return ParseWitnessText(text, path);
}

Result<std::vector<SignedCheckpoint>> ReadWitnessFile(const std::string& path) {
  SB_ASSIGN_OR_RETURN(WitnessFile file, ReadWitnessFileFully(path));
  return std::move(file.checkpoints);
}

Result<std::optional<SignedCheckpoint>> ReadLastWitnessLine(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OpenError(path);
  std::string tail;
  off_t begin = 0;
  Status st = Lock(fd, LOCK_SH, path);
  struct stat info;
  if (st.ok() && ::fstat(fd, &info) != 0) {
    st = Status::Unavailable("cannot stat " + path + ": " + std::strerror(errno));
  }
  if (st.ok()) {
    begin = std::max<off_t>(0, info.st_size - static_cast<off_t>(kTailChunk));
    st = ReadAt(fd, begin, static_cast<size_t>(info.st_size - begin), tail, path);
  }
  ::close(fd);
  SB_RETURN_IF_ERROR(st);
  std::string_view text = tail;
  if (begin > 0) {
    // The chunk starts inside a line: drop that part.
    const size_t nl = text.find('\n');
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  std::vector<std::string_view> lines;
  bool torn_possible = false;  // the last line has no newline
  for (size_t pos = 0; pos < text.size();) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(pos));
      torn_possible = true;
      break;
    }
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  std::optional<SignedCheckpoint> last;
  for (size_t i = lines.size(); i-- > 0;) {
    if (IsBlankOrComment(lines[i])) continue;
    auto cp = ParseWitnessLine(lines[i]);
    if (cp) {
      last = std::move(cp).value();
      break;
    }
    if (torn_possible && i + 1 == lines.size()) continue;  // a write cut short by a crash
    return Status::DataLoss(path +
                            ": its last checkpoint line is malformed: " + cp.error().message());
  }
  if (!last && begin > 0) {
    // No checkpoint in the last chunk: read everything.
    SB_ASSIGN_OR_RETURN(WitnessFile file, ReadWitnessFileFully(path));
    if (!file.checkpoints.empty()) last = std::move(file.checkpoints.back());
  }
  return last;
}

}  // namespace switchboard::audit
