#include "audit/merkle.h"

#include "crypto/keyring.h"

// The low-level SHA256_* calls are deprecated in OpenSSL 3 in favour of EVP,
// but they run the same assembly (SHA-NI when present) without EVP's
// per-call dispatch: bench/audit_bench.cc measures them at about 2x the
// one-shot SHA256() and a little faster than a reused EVP context.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <bit>
#include <cstring>

namespace switchboard::audit {

namespace {

constexpr std::uint8_t kLeafPrefix = 0x00;
constexpr std::uint8_t kNodePrefix = 0x01;

// The largest power of two strictly less than n (n >= 2).
std::uint64_t SplitPoint(std::uint64_t n) { return std::bit_floor(n - 1); }

Hash RootRange(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyRoot();
  if (leaves.size() == 1) return leaves[0];
  const std::uint64_t k = SplitPoint(leaves.size());
  return NodeHash(RootRange(leaves.first(k)), RootRange(leaves.subspan(k)));
}

// RFC 6962 §2.1.1 PATH(m, D[n]), appended to `out` from the leaf upwards.
void Path(std::uint64_t m, std::span<const Hash> leaves, std::vector<Hash>& out) {
  const std::uint64_t n = leaves.size();
  if (n <= 1) return;
  const std::uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, leaves.first(k), out);
    out.push_back(RootRange(leaves.subspan(k)));
  } else {
    Path(m - k, leaves.subspan(k), out);
    out.push_back(RootRange(leaves.first(k)));
  }
}

// RFC 6962 §2.1.2 SUBPROOF(m, D[n], b).
void SubProof(std::uint64_t m, std::span<const Hash> leaves, bool whole, std::vector<Hash>& out) {
  const std::uint64_t n = leaves.size();
  if (m == n) {
    if (!whole) out.push_back(RootRange(leaves));
    return;
  }
  const std::uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, leaves.first(k), whole, out);
    out.push_back(RootRange(leaves.subspan(k)));
  } else {
    SubProof(m - k, leaves.subspan(k), false, out);
    out.push_back(RootRange(leaves.first(k)));
  }
}

}  // namespace

Hash Sha256(std::string_view bytes) {
  Hash h;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, bytes.data(), bytes.size());
  SHA256_Final(h.data(), &ctx);
  return h;
}

Hash LeafHash(std::string_view bytes) {
  Hash h;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, &kLeafPrefix, 1);
  SHA256_Update(&ctx, bytes.data(), bytes.size());
  SHA256_Final(h.data(), &ctx);
  return h;
}

static_assert(sizeof(SHA256_CTX) == 112 && alignof(SHA256_CTX) <= 8);

PartialLeafHash::PartialLeafHash(std::string_view prefix) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, &kLeafPrefix, 1);
  SHA256_Update(&ctx, prefix.data(), prefix.size());
  std::memcpy(state_.data(), &ctx, sizeof ctx);
}

Hash PartialLeafHash::Finish(std::string_view suffix) const {
  SHA256_CTX ctx;
  std::memcpy(&ctx, state_.data(), sizeof ctx);
  SHA256_Update(&ctx, suffix.data(), suffix.size());
  Hash h;
  SHA256_Final(h.data(), &ctx);
  return h;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  unsigned char buf[1 + 2 * kHashBytes];
  buf[0] = kNodePrefix;
  std::memcpy(buf + 1, left.data(), kHashBytes);
  std::memcpy(buf + 1 + kHashBytes, right.data(), kHashBytes);
  Hash h;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, buf, sizeof buf);
  SHA256_Final(h.data(), &ctx);
  return h;
}

Hash EmptyRoot() {
  static const Hash kEmpty = Sha256("");
  return kEmpty;
}

std::string ToHex(const Hash& h) { return crypto::ToHex(h.data(), h.size()); }

Result<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != 2 * kHashBytes) return Status::InvalidArgument("a hash is 64 hex digits");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Hash h;
  for (size_t i = 0; i < kHashBytes; ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("a hash is 64 hex digits");
    h[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return h;
}

std::string AsBytes(const Hash& h) { return std::string(h.begin(), h.end()); }

Result<Hash> HashFromBytes(std::string_view bytes) {
  if (bytes.size() != kHashBytes) {
    return Status::DataLoss("a stored hash has " + std::to_string(bytes.size()) +
                            " bytes instead of 32");
  }
  Hash h;
  std::memcpy(h.data(), bytes.data(), kHashBytes);
  return h;
}

Hash RootOf(std::span<const Hash> leaf_hashes) { return RootRange(leaf_hashes); }

Result<std::vector<Hash>> InclusionProof(std::span<const Hash> leaf_hashes, std::uint64_t index,
                                         std::uint64_t size) {
  if (size > leaf_hashes.size() || index >= size) {
    return Status::InvalidArgument("no leaf " + std::to_string(index) + " in a tree of size " +
                                   std::to_string(size));
  }
  std::vector<Hash> out;
  Path(index, leaf_hashes.first(size), out);
  return out;
}

Result<std::vector<Hash>> ConsistencyProof(std::span<const Hash> leaf_hashes, std::uint64_t m,
                                           std::uint64_t n) {
  if (n > leaf_hashes.size() || m > n) {
    return Status::InvalidArgument("no consistency proof from size " + std::to_string(m) +
                                   " to size " + std::to_string(n));
  }
  std::vector<Hash> out;
  if (m == 0 || m == n) return out;
  SubProof(m, leaf_hashes.first(n), true, out);
  return out;
}

Status VerifyInclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                       std::span<const Hash> proof, const Hash& root) {
  if (index >= size) {
    return Status::DataLoss("leaf index " + std::to_string(index) + " is beyond tree size " +
                            std::to_string(size));
  }
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Status::DataLoss("the inclusion proof is too long");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::DataLoss("the inclusion proof is too short");
  if (r != root) return Status::DataLoss("the inclusion proof does not lead to the root");
  return Status::Ok();
}

Status VerifyConsistency(std::uint64_t m, std::uint64_t n, const Hash& root_m, const Hash& root_n,
                         std::span<const Hash> proof) {
  if (m > n) return Status::DataLoss("the old tree is larger than the new one");
  if (m == n) {
    if (!proof.empty()) return Status::DataLoss("a proof between equal sizes must be empty");
    if (root_m != root_n) return Status::DataLoss("equal sizes with different roots");
    return Status::Ok();
  }
  if (m == 0) {
    if (!proof.empty()) return Status::DataLoss("a proof from the empty tree must be empty");
    return Status::Ok();
  }
  if (proof.empty()) return Status::DataLoss("the consistency proof is empty");
  // RFC 9162 §2.1.4.2: when m is a power of two the old root starts the path.
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(m)) path.push_back(root_m);
  path.insert(path.end(), proof.begin(), proof.end());
  std::uint64_t fn = m - 1;
  std::uint64_t sn = n - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Status::DataLoss("the consistency proof is too long");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::DataLoss("the consistency proof is too short");
  if (fr != root_m) return Status::DataLoss("the consistency proof does not lead to the old root");
  if (sr != root_n) return Status::DataLoss("the consistency proof does not lead to the new root");
  return Status::Ok();
}

ProofIndex::ProofIndex(std::vector<Hash> leaf_hashes) {
  levels_.push_back(std::move(leaf_hashes));
  while (levels_.back().size() >= 2) {
    const std::vector<Hash>& below = levels_.back();
    std::vector<Hash> up(below.size() / 2);
    for (size_t j = 0; j < up.size(); ++j) up[j] = NodeHash(below[2 * j], below[2 * j + 1]);
    levels_.push_back(std::move(up));
  }
}

Hash ProofIndex::Range(std::uint64_t begin, std::uint64_t end) const {
  const std::uint64_t n = end - begin;
  if (n == 0) return EmptyRoot();
  if (std::has_single_bit(n)) {
    const int k = std::countr_zero(n);
    if (begin % n == 0 && static_cast<size_t>(k) < levels_.size()) return levels_[k][begin >> k];
  }
  if (n == 1) return levels_[0][begin];
  const std::uint64_t k = SplitPoint(n);
  return NodeHash(Range(begin, begin + k), Range(begin + k, end));
}

void ProofIndex::Path(std::uint64_t m, std::uint64_t begin, std::uint64_t end,
                      std::vector<Hash>& out) const {
  const std::uint64_t n = end - begin;
  if (n <= 1) return;
  const std::uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, begin, begin + k, out);
    out.push_back(Range(begin + k, end));
  } else {
    Path(m - k, begin + k, end, out);
    out.push_back(Range(begin, begin + k));
  }
}

void ProofIndex::SubProof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool whole,
                          std::vector<Hash>& out) const {
  const std::uint64_t n = end - begin;
  if (m == n) {
    if (!whole) out.push_back(Range(begin, end));
    return;
  }
  const std::uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, begin, begin + k, whole, out);
    out.push_back(Range(begin + k, end));
  } else {
    SubProof(m - k, begin + k, end, false, out);
    out.push_back(Range(begin, begin + k));
  }
}

Result<Hash> ProofIndex::Root(std::uint64_t size) const {
  if (size > this->size()) {
    return Status::InvalidArgument("no tree of size " + std::to_string(size) + " in " +
                                   std::to_string(this->size()) + " leaves");
  }
  return Range(0, size);
}

Result<std::vector<Hash>> ProofIndex::Inclusion(std::uint64_t index, std::uint64_t size) const {
  if (size > this->size() || index >= size) {
    return Status::InvalidArgument("no leaf " + std::to_string(index) + " in a tree of size " +
                                   std::to_string(size));
  }
  std::vector<Hash> out;
  Path(index, 0, size, out);
  return out;
}

Result<std::vector<Hash>> ProofIndex::Consistency(std::uint64_t m, std::uint64_t n) const {
  if (n > size() || m > n) {
    return Status::InvalidArgument("no consistency proof from size " + std::to_string(m) +
                                   " to size " + std::to_string(n));
  }
  std::vector<Hash> out;
  if (m == 0 || m == n) return out;
  SubProof(m, 0, n, true, out);
  return out;
}

void CompactTree::Append(const Hash& leaf_hash) {
  Hash h = leaf_hash;
  // Each trailing one bit of the old size is a perfect subtree that the new
  // leaf completes: merge it in.
  for (std::uint64_t s = size_; s & 1; s >>= 1) {
    h = NodeHash(frontier_.back(), h);
    frontier_.pop_back();
  }
  frontier_.push_back(h);
  ++size_;
}

Hash CompactTree::Root() const {
  if (frontier_.empty()) return EmptyRoot();
  Hash r = frontier_.back();
  for (size_t i = frontier_.size() - 1; i-- > 0;) r = NodeHash(frontier_[i], r);
  return r;
}

}  // namespace switchboard::audit
