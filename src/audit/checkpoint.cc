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

constexpr std::string_view kLegacyOrigin = "switchboard-audit/v1";
constexpr std::string_view kOriginPrefix = "switchboard/audit/";
// A signed note's signature lines start with an em dash and a space.
constexpr std::string_view kSignatureMark = "\xE2\x80\x94 ";

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

std::string CheckpointOrigin(std::string_view key_id) {
  return std::string(kOriginPrefix) + std::string(key_id);
}

std::string Checkpoint::Encode() const {
  std::string s = CheckpointOrigin(key_id);
  s += '\n';
  s += std::to_string(tree_size);
  s += '\n';
  s += Base64(std::string_view(reinterpret_cast<const char*>(root.data()), root.size()));
  s += "\ntime ";
  s += std::to_string(time);
  s += "\nprevious ";
  s += std::to_string(previous_size);
  s += '\n';
  return s;
}

std::string SignedCheckpoint::SignedText() const {
  return format == CheckpointFormat::kLegacy ? checkpoint.EncodeLegacy() : checkpoint.Encode();
}

std::string FormatSignedNote(const SignedCheckpoint& cp) {
  return cp.checkpoint.Encode() + "\n" + std::string(kSignatureMark) +
         CheckpointOrigin(cp.checkpoint.key_id) + " " + Base64(cp.key_hash + cp.signature) + "\n";
}

Result<SignedCheckpoint> ParseSignedNote(std::string_view note) {
  auto bad = [](const std::string& why) {
    return Status::InvalidArgument("not a signed checkpoint note: " + why);
  };
  const size_t split = note.find("\n\n");
  if (split == std::string_view::npos) return bad("no blank line before the signatures");
  const std::string_view body = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < body.size();) {
    const size_t nl = body.find('\n', pos);
    lines.push_back(body.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.size() != 5) return bad("expected origin, size, root, time and previous lines");
  SignedCheckpoint out;
  Checkpoint& cp = out.checkpoint;
  if (lines[0].rfind(kOriginPrefix, 0) != 0 || lines[0].size() == kOriginPrefix.size()) {
    return bad("the origin is not " + std::string(kOriginPrefix) + "<key id>");
  }
  cp.key_id = std::string(lines[0].substr(kOriginPrefix.size()));
  auto root = FromBase64(lines[2]);
  std::optional<Hash> hash;
  if (root) {
    if (auto h = HashFromBytes(*root)) hash = *h;
  }
  if (!ParseInt(lines[1], cp.tree_size) || !hash || lines[3].rfind("time ", 0) != 0 ||
      !ParseInt(lines[3].substr(5), cp.time) || lines[4].rfind("previous ", 0) != 0 ||
      !ParseInt(lines[4].substr(9), cp.previous_size)) {
    return bad("a size, root or time is malformed");
  }
  cp.root = *hash;
  // One spelling only: what we would have written.
  if (cp.Encode() != body) return bad("the body is not in canonical form");
  const std::string name = CheckpointOrigin(cp.key_id);
  if (sigs.empty() || sigs.back() != '\n') return bad("the last line lacks its newline");
  bool found = false;
  while (!sigs.empty()) {
    const size_t nl = sigs.find('\n');
    const std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (line.rfind(kSignatureMark, 0) != 0) return bad("a signature line lacks its em dash");
    const auto words = SplitSpaces(line.substr(kSignatureMark.size()));
    if (words.size() != 2) return bad("a signature line is not '<name> <signature>'");
    if (words[0] != name || found) continue;  // a witness's cosignature, say
    auto raw = FromBase64(words[1]);
    if (!raw || raw->size() != 4 + kSignatureBytes) {
      return bad("the signature is not 4 + 64 bytes of base64");
    }
    out.key_hash = raw->substr(0, 4);
    out.signature = raw->substr(4);
    found = true;
  }
  if (!found) return bad("no signature by " + name);
  out.format = CheckpointFormat::kSignedNote;
  return out;
}

std::string Checkpoint::EncodeLegacy() const {
  std::string s(kLegacyOrigin);
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
  k.note_name_ = CheckpointOrigin(k.key_id_);
  // signed-note: SHA-256(key name || 0x0A || signature type 0x01 || key).
  std::string keyed = k.note_name_;
  keyed += '\n';
  keyed += '\x01';
  keyed.append(public_key);
  const Hash kh = Sha256(keyed);
  k.note_key_hash_.assign(reinterpret_cast<const char*>(kh.data()), 4);
  return k;
}

std::string VerifyKey::VKey() const {
  std::string typed = "\x01";
  typed.append(reinterpret_cast<const char*>(pk_.data()), pk_.size());
  return note_name_ + "+" + crypto::ToHex(note_key_hash_) + "+" + Base64(typed);
}

Result<VerifyKey> VerifyKey::Parse(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.find(' ') == std::string_view::npos && text.find('+') != std::string_view::npos) {
    // The signed-note form: name+hash+key.
    const size_t a = text.find('+'), b = text.find('+', a + 1);
    if (b == std::string_view::npos) return Status::InvalidArgument("expected name+hash+key");
    auto typed = FromBase64(text.substr(b + 1));
    if (!typed || typed->size() != 1 + kPublicKeyBytes || (*typed)[0] != '\x01') {
      return Status::InvalidArgument("the verifier key is not an Ed25519 key (type 0x01)");
    }
    SB_ASSIGN_OR_RETURN(VerifyKey k, FromBytes(std::string_view(*typed).substr(1)));
    if (k.note_name_ != text.substr(0, a) ||
        crypto::ToHex(k.note_key_hash_) != text.substr(a + 1, b - a - 1)) {
      return Status::InvalidArgument("the verifier key's name or hash does not fit its key");
    }
    return k;
  }
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
  if (signed_cp.format == CheckpointFormat::kSignedNote && signed_cp.key_hash != note_key_hash_) {
    return Status::DataLoss(where + ": its note names another key hash");
  }
  crypto::EnsureSodium();
  const std::string text = signed_cp.SignedText();
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
  return SignedCheckpoint{std::move(checkpoint), std::move(sig), CheckpointFormat::kSignedNote,
                          verify_.note_key_hash()};
}

SignedCheckpoint SigningKey::SignLegacyForTesting(Checkpoint checkpoint) const {
  checkpoint.key_id = key_id();
  const std::string text = checkpoint.EncodeLegacy();
  std::string sig(kSignatureBytes, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                       sk_.data());
  return SignedCheckpoint{std::move(checkpoint), std::move(sig), CheckpointFormat::kLegacy, ""};
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
  if (scp.format == CheckpointFormat::kSignedNote) {
    std::string note = FormatSignedNote(scp);
    note.pop_back();
    return note;
  }
  const Checkpoint& cp = scp.checkpoint;
  return std::to_string(cp.tree_size) + " " +
         Base64(std::string_view(reinterpret_cast<const char*>(cp.root.data()), cp.root.size())) +
         " " + std::to_string(cp.time) + " " + std::to_string(cp.previous_size) + " " + cp.key_id +
         " " + Base64(scp.signature);
}

std::string FormatWitnessEntry(const SignedCheckpoint& cp) {
  return FormatWitnessLine(cp) + (cp.format == CheckpointFormat::kSignedNote ? "\n\n" : "\n");
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
  out.format = CheckpointFormat::kLegacy;
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

// The checkpoints of `text`, a witness file from its start or from a record
// boundary (RecordStart). A last entry cut short by a crash is not an error:
// torn_tail is set and *torn_at is where it begins.
Result<WitnessFile> ParseWitnessText(std::string_view text, const std::string& path,
                                     size_t* torn_at = nullptr) {
  WitnessFile out;
  int lineno = 0;
  size_t pos = 0;
  auto next_line = [&](std::string_view* line, bool* unterminated) {
    const size_t nl = text.find('\n', pos);
    *unterminated = nl == std::string_view::npos;
    *line = text.substr(pos, *unterminated ? text.size() - pos : nl - pos);
    pos = *unterminated ? text.size() : nl + 1;
    ++lineno;
  };
  auto torn = [&](size_t start) {
    out.torn_tail = true;
    if (torn_at) *torn_at = start;
  };
  while (pos < text.size()) {
    const size_t start = pos;
    const int first_line = lineno + 1;
    std::string_view line;
    bool unterminated = false;
    next_line(&line, &unterminated);
    if (IsBlankOrComment(line)) continue;
    if (line.rfind(kOriginPrefix, 0) == 0) {
      // A signed note: body lines, a blank line, signature lines.
      bool blank = false;
      while (pos < text.size() && !unterminated) {
        next_line(&line, &unterminated);
        if (line.empty()) {
          blank = true;
          break;
        }
      }
      size_t end = pos;
      bool signed_line = false;
      while (blank && pos < text.size() && !unterminated) {
        const size_t before = pos;
        const int before_line = lineno;
        next_line(&line, &unterminated);
        if (line.rfind(kSignatureMark, 0) != 0) {
          pos = before;
          lineno = before_line;
          break;
        }
        signed_line = true;
        end = pos;
      }
      if (!signed_line || unterminated) {
        if (pos >= text.size()) {
          torn(start);
          break;
        }
        return Status::DataLoss(path + ":" + std::to_string(first_line) +
                                ": a signed note without a signature");
      }
      auto cp = ParseSignedNote(text.substr(start, end - start));
      if (!cp) {
        return Status::DataLoss(path + ":" + std::to_string(first_line) + ": " +
                                cp.error().message());
      }
      out.checkpoints.push_back(std::move(cp).value());
      continue;
    }
    auto cp = ParseWitnessLine(line);
    if (!cp) {
      if (unterminated) {
        torn(start);
        break;
      }
      return Status::DataLoss(path + ":" + std::to_string(lineno) + ": " + cp.error().message());
    }
    out.checkpoints.push_back(std::move(cp).value());
  }
  return out;
}

// Where the first whole entry starts in `chunk`, the end of a file from some
// offset inside it: after a blank line and any signature lines that follow
// it (the end of a note); failing that, after the first newline (a file of
// legacy lines).
size_t RecordStart(std::string_view chunk) {
  size_t at = chunk.find("\n\n");
  if (at == std::string_view::npos) {
    const size_t nl = chunk.find('\n');
    return nl == std::string_view::npos ? chunk.size() : nl + 1;
  }
  at += 2;
  while (at < chunk.size()) {
    const std::string_view rest = chunk.substr(at);
    if (rest.rfind(kSignatureMark, 0) != 0 && rest[0] != '\n') break;
    const size_t nl = chunk.find('\n', at);
    if (nl == std::string_view::npos) return chunk.size();
    at = nl + 1;
  }
  return at;
}

// The end of a witness file: the text from a record boundary, and its offset.
struct Tail {
  std::string text;
  off_t offset = 0;
};

Result<Tail> ReadTail(int fd, off_t size, const std::string& path) {
  Tail t;
  const off_t begin = std::max<off_t>(0, size - static_cast<off_t>(kTailChunk));
  SB_RETURN_IF_ERROR(ReadAt(fd, begin, static_cast<size_t>(size - begin), t.text, path));
  t.offset = begin;
  if (begin > 0) {
    const size_t skip = RecordStart(t.text);
    t.text.erase(0, skip);
    t.offset += static_cast<off_t>(skip);
  }
  return t;
}

}  // namespace

Status AppendToWitnessFile(const std::string& path, const std::vector<SignedCheckpoint>& cps,
                           std::string_view header) {
  std::string text;
  for (const auto& cp : cps) text += FormatWitnessEntry(cp);
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
    auto tail = ReadTail(fd, info.st_size, path);
    if (!tail) return fail(tail.error());
    size_t torn_at = 0;
    auto parsed = ParseWitnessText(tail->text, path, &torn_at);
    if (!parsed) return fail(parsed.error());
    if (parsed->torn_tail) {
      const off_t cut = tail->offset + static_cast<off_t>(torn_at);
      if (::ftruncate(fd, cut) != 0) {
        return fail(Status::Unavailable("cannot cut the torn last entry of " + path + ": " +
                                        std::strerror(errno)));
      }
    } else if (!tail->text.empty() && tail->text.back() != '\n') {
      text.insert(0, "\n");  // a whole checkpoint that only lacks its newline
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
  Status st = Lock(fd, LOCK_SH, path);
  struct stat info;
  if (st.ok() && ::fstat(fd, &info) != 0) {
    st = Status::Unavailable("cannot stat " + path + ": " + std::strerror(errno));
  }
  Result<Tail> tail = Tail{};
  if (st.ok()) tail = ReadTail(fd, info.st_size, path);
  ::close(fd);
  SB_RETURN_IF_ERROR(st);
  if (!tail) return tail.error();
  auto parsed = ParseWitnessText(tail->text, path);
  if (!parsed) {
    return Status::DataLoss(path +
                            ": its last checkpoint is malformed: " + parsed.error().message());
  }
  std::optional<SignedCheckpoint> last;
  if (!parsed->checkpoints.empty()) last = std::move(parsed->checkpoints.back());
  if (!last && tail->offset > 0) {
    // No checkpoint in the last chunk: read everything.
    SB_ASSIGN_OR_RETURN(WitnessFile file, ReadWitnessFileFully(path));
    if (!file.checkpoints.empty()) last = std::move(file.checkpoints.back());
  }
  return last;
}

}  // namespace switchboard::audit
