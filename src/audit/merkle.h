// RFC 6962 (Certificate Transparency) Merkle tree hashing over SHA-256.
//
//   leaf hash  = SHA-256(0x00 || bytes)
//   node hash  = SHA-256(0x01 || left || right)
//   MTH({})    = SHA-256("")
//   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
//
// Proof generation follows RFC 6962 §2.1.1 (PATH) and §2.1.2 (SUBPROOF) over a
// span of leaf hashes; the verifiers are the RFC 9162 §2.1.3.2 and §2.1.4.2
// algorithms, which need only the proof and the two sizes. CompactTree is the
// append-only "frontier" form: one subtree hash per set bit of the size, so an
// append costs amortised one node hash and the root O(log n) hashes.
//
// Everything here is pure computation and thread-compatible; SHA-256 comes from
// OpenSSL (which uses SHA-NI / ARMv8 crypto instructions when present).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace switchboard::audit {

constexpr size_t kHashBytes = 32;
using Hash = std::array<std::uint8_t, kHashBytes>;

// Plain SHA-256.
Hash Sha256(std::string_view bytes);
// SHA-256(0x00 || bytes).
Hash LeafHash(std::string_view bytes);
// LeafHash(prefix + suffix) in two steps: the prefix hashed when it is known
// (on the thread that prepares an audit event), the suffix and the final
// block later (on the writer, once the seq is known). A value type.
class PartialLeafHash {
 public:
  explicit PartialLeafHash(std::string_view prefix);
  Hash Finish(std::string_view suffix) const;

 private:
  alignas(8) std::array<std::uint8_t, 112> state_;  // OpenSSL's SHA256_CTX
};
// SHA-256(0x01 || left || right).
Hash NodeHash(const Hash& left, const Hash& right);
// The root of the empty tree, SHA-256("") = e3b0c442...
Hash EmptyRoot();

// Lower-case hex of a hash, and its inverse (kInvalidArgument unless 64 hex digits).
std::string ToHex(const Hash& h);
Result<Hash> HashFromHex(std::string_view hex);
// The hash as a byte string (for BLOB columns), and back (kDataLoss unless 32 bytes).
std::string AsBytes(const Hash& h);
Result<Hash> HashFromBytes(std::string_view bytes);

// MTH over leaf hashes (RFC 6962 §2.1).
Hash RootOf(std::span<const Hash> leaf_hashes);

// The audit path for leaf `index` in the tree made of the first `size` leaves
// (RFC 6962 §2.1.1). kInvalidArgument unless index < size <= leaf_hashes.size().
Result<std::vector<Hash>> InclusionProof(std::span<const Hash> leaf_hashes, std::uint64_t index,
                                         std::uint64_t size);
// The consistency proof between the trees of the first m and first n leaves
// (RFC 6962 §2.1.2); empty when m == 0 or m == n. kInvalidArgument unless
// m <= n <= leaf_hashes.size().
Result<std::vector<Hash>> ConsistencyProof(std::span<const Hash> leaf_hashes, std::uint64_t m,
                                           std::uint64_t n);

// OK when `proof` shows that `leaf_hash` is leaf `index` of the tree of `size`
// leaves with root `root`; kDataLoss (with the reason) otherwise.
Status VerifyInclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                       std::span<const Hash> proof, const Hash& root);
// OK when `proof` shows that the tree of size m (root_m) is a prefix of the
// tree of size n (root_n); kDataLoss otherwise. Size 0 is consistent with
// everything (with an empty proof).
Status VerifyConsistency(std::uint64_t m, std::uint64_t n, const Hash& root_m, const Hash& root_n,
                         std::span<const Hash> proof);

// The leaves of a tree with every perfect, aligned subtree hashed once (about
// as many node hashes as leaves), for many proofs from one read of the log:
// each proof then costs O(log^2 n) hashes instead of hashing the whole tree.
// Proofs and roots are those of the functions above for any size up to the
// number of leaves held. A value type.
class ProofIndex {
 public:
  ProofIndex() = default;
  explicit ProofIndex(std::vector<Hash> leaf_hashes);

  std::uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  const Hash& leaf(std::uint64_t index) const { return levels_[0][index]; }

  // MTH of the first `size` leaves; kInvalidArgument beyond size().
  Result<Hash> Root(std::uint64_t size) const;
  // As InclusionProof() and ConsistencyProof() over the leaves held.
  Result<std::vector<Hash>> Inclusion(std::uint64_t index, std::uint64_t size) const;
  Result<std::vector<Hash>> Consistency(std::uint64_t m, std::uint64_t n) const;

 private:
  Hash Range(std::uint64_t begin, std::uint64_t end) const;
  void Path(std::uint64_t m, std::uint64_t begin, std::uint64_t end, std::vector<Hash>& out) const;
  void SubProof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool whole,
                std::vector<Hash>& out) const;

  // levels_[k][j]: the root of leaves [j * 2^k, (j + 1) * 2^k).
  std::vector<std::vector<Hash>> levels_;
};

// An append-only Merkle tree that keeps only its frontier. A value type.
class CompactTree {
 public:
  CompactTree() = default;

  void Append(const Hash& leaf_hash);
  // MTH of all leaves appended so far (EmptyRoot() when none).
  Hash Root() const;
  std::uint64_t size() const { return size_; }

 private:
  // frontier_[i] is the root of a perfect subtree; sizes strictly decrease
  // and match the set bits of size_, highest first.
  std::vector<Hash> frontier_;
  std::uint64_t size_ = 0;
};

}  // namespace switchboard::audit
