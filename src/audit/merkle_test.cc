#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace switchboard::audit {
namespace {

// The reference inputs and answers published with certificate-transparency's
// merkle_tree_test.cc and Trillian's merkle/rfc6962 and proof tests.
const std::vector<std::string> kLeaves = {
    std::string(""),
    std::string("\x00", 1),
    std::string("\x10"),
    std::string("\x20\x21"),
    std::string("\x30\x31"),
    std::string("\x40\x41\x42\x43"),
    std::string("\x50\x51\x52\x53\x54\x55\x56\x57"),
    std::string("\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"),
};

const char* const kRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  // size 0
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",  // size 8
};

struct ProofVector {
  std::uint64_t a;  // inclusion: 1-based leaf number; consistency: old size
  std::uint64_t b;  // tree size / new size
  std::vector<const char*> proof;
};

const std::vector<ProofVector> kInclusion = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {3, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {2,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

const std::vector<ProofVector> kConsistency = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

std::vector<Hash> LeafHashes() {
  std::vector<Hash> out;
  for (const auto& l : kLeaves) out.push_back(LeafHash(l));
  return out;
}

std::vector<std::string> Hexes(const std::vector<Hash>& hs) {
  std::vector<std::string> out;
  for (const Hash& h : hs) out.push_back(ToHex(h));
  return out;
}

std::vector<std::string> Strings(const std::vector<const char*>& v) {
  return std::vector<std::string>(v.begin(), v.end());
}

Hash H(const char* hex) { return HashFromHex(hex).value(); }

std::vector<Hash> Hashes(const std::vector<const char*>& v) {
  std::vector<Hash> out;
  for (const char* s : v) out.push_back(H(s));
  return out;
}

TEST(MerkleTest, EmptyRootIsSha256OfNothing) {
  EXPECT_EQ(ToHex(EmptyRoot()), kRoots[0]);
  EXPECT_EQ(ToHex(RootOf({})), kRoots[0]);
  EXPECT_EQ(ToHex(CompactTree().Root()), kRoots[0]);
}

TEST(MerkleTest, ReferenceRoots) {
  const auto leaves = LeafHashes();
  CompactTree tree;
  for (size_t n = 1; n <= leaves.size(); ++n) {
    tree.Append(leaves[n - 1]);
    EXPECT_EQ(ToHex(RootOf(std::span(leaves).first(n))), kRoots[n]) << "size " << n;
    EXPECT_EQ(ToHex(tree.Root()), kRoots[n]) << "size " << n;
    EXPECT_EQ(tree.size(), n);
  }
}

TEST(MerkleTest, ReferenceInclusionProofs) {
  const auto leaves = LeafHashes();
  for (const auto& v : kInclusion) {
    auto proof = InclusionProof(leaves, v.a - 1, v.b);
    ASSERT_TRUE(proof.has_value());
    EXPECT_EQ(Hexes(*proof), Strings(v.proof)) << "leaf " << v.a << " of " << v.b;
    EXPECT_TRUE(
        VerifyInclusion(leaves[v.a - 1], v.a - 1, v.b, Hashes(v.proof), H(kRoots[v.b])).ok())
        << "leaf " << v.a << " of " << v.b;
  }
}

TEST(MerkleTest, ReferenceConsistencyProofs) {
  const auto leaves = LeafHashes();
  for (const auto& v : kConsistency) {
    auto proof = ConsistencyProof(leaves, v.a, v.b);
    ASSERT_TRUE(proof.has_value());
    EXPECT_EQ(Hexes(*proof), Strings(v.proof)) << v.a << " -> " << v.b;
    EXPECT_TRUE(VerifyConsistency(v.a, v.b, H(kRoots[v.a]), H(kRoots[v.b]), Hashes(v.proof)).ok())
        << v.a << " -> " << v.b;
  }
}

TEST(MerkleTest, RejectsOutOfRangeRequests) {
  const auto leaves = LeafHashes();
  EXPECT_FALSE(InclusionProof(leaves, 8, 8).has_value());
  EXPECT_FALSE(InclusionProof(leaves, 0, 9).has_value());
  EXPECT_FALSE(ConsistencyProof(leaves, 5, 4).has_value());
  EXPECT_FALSE(VerifyInclusion(leaves[0], 1, 1, {}, leaves[0]).ok());
  EXPECT_FALSE(VerifyConsistency(5, 4, EmptyRoot(), EmptyRoot(), {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 8, EmptyRoot(), H(kRoots[8]), {}).ok());
  EXPECT_FALSE(VerifyConsistency(3, 3, H(kRoots[3]), H(kRoots[4]), {}).ok());
}

Hash FlipBit(Hash h, size_t bit) {
  h[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  return h;
}

// Random trees: every proof verifies; any one-bit change in the leaf, a proof
// element or a root, or a truncated proof, makes it fail.
TEST(MerkleTest, PropertyEveryProofVerifiesAndEveryBitFlipFails) {
  std::mt19937_64 rng(6962);
  std::vector<Hash> leaves;
  for (int i = 0; i < 300; ++i) leaves.push_back(LeafHash("leaf " + std::to_string(i)));
  std::vector<Hash> roots;  // roots[n] = MTH of the first n
  CompactTree tree;
  roots.push_back(tree.Root());
  for (const Hash& l : leaves) {
    tree.Append(l);
    roots.push_back(tree.Root());
  }
  for (size_t n = 0; n < roots.size(); n += 7) {
    ASSERT_EQ(roots[n], RootOf(std::span(leaves).first(n))) << n;
  }
  for (int trial = 0; trial < 200; ++trial) {
    const std::uint64_t n = 1 + rng() % leaves.size();
    const std::uint64_t i = rng() % n;
    auto proof = InclusionProof(leaves, i, n);
    ASSERT_TRUE(proof.has_value());
    ASSERT_TRUE(VerifyInclusion(leaves[i], i, n, *proof, roots[n]).ok()) << i << "/" << n;
    const size_t bit = rng() % 256;
    EXPECT_FALSE(VerifyInclusion(FlipBit(leaves[i], bit), i, n, *proof, roots[n]).ok());
    EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, *proof, FlipBit(roots[n], bit)).ok());
    for (size_t k = 0; k < proof->size(); ++k) {
      auto bad = *proof;
      bad[k] = FlipBit(bad[k], bit);
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, bad, roots[n]).ok()) << i << "/" << n;
    }
    // (A different index or size is not always detectable: proofs whose
    // paths have the same shape compute the same hashes.)
    if (n > 1) {
      EXPECT_FALSE(
          VerifyInclusion(leaves[i], i, n, std::span(*proof).first(proof->size() - 1), roots[n])
              .ok());
    }

    const std::uint64_t m = rng() % (n + 1);
    auto cproof = ConsistencyProof(leaves, m, n);
    ASSERT_TRUE(cproof.has_value());
    ASSERT_TRUE(VerifyConsistency(m, n, roots[m], roots[n], *cproof).ok()) << m << "->" << n;
    if (m > 0 && m < n) {
      EXPECT_FALSE(VerifyConsistency(m, n, FlipBit(roots[m], bit), roots[n], *cproof).ok());
      EXPECT_FALSE(VerifyConsistency(m, n, roots[m], FlipBit(roots[n], bit), *cproof).ok());
      for (size_t k = 0; k < cproof->size(); ++k) {
        auto bad = *cproof;
        bad[k] = FlipBit(bad[k], bit);
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], bad).ok()) << m << "->" << n;
      }
      EXPECT_FALSE(
          VerifyConsistency(m, n, roots[m], roots[n], std::span(*cproof).first(cproof->size() - 1))
              .ok());
    }
  }
}

// The index gives exactly the proofs and roots of the direct functions, for
// every size, leaf and old size of trees up to 70 leaves (every shape of
// frontier up to 2^6), and the published reference answers.
TEST(MerkleTest, ProofIndexMatchesTheDirectProofsEverywhere) {
  std::vector<Hash> leaves;
  for (int i = 0; i < 70; ++i) leaves.push_back(LeafHash("leaf " + std::to_string(i)));
  const ProofIndex index(leaves);
  ASSERT_EQ(index.size(), leaves.size());
  for (std::uint64_t n = 0; n <= leaves.size(); ++n) {
    ASSERT_EQ(*index.Root(n), RootOf(std::span(leaves).first(n))) << n;
    for (std::uint64_t i = 0; i < n; ++i) {
      ASSERT_EQ(*index.Inclusion(i, n), *InclusionProof(leaves, i, n)) << i << "/" << n;
    }
    for (std::uint64_t m = 0; m <= n; ++m) {
      ASSERT_EQ(*index.Consistency(m, n), *ConsistencyProof(leaves, m, n)) << m << "->" << n;
    }
  }
  EXPECT_FALSE(index.Root(71).has_value());
  EXPECT_FALSE(index.Inclusion(70, 70).has_value());
  EXPECT_FALSE(index.Inclusion(0, 71).has_value());
  EXPECT_FALSE(index.Consistency(5, 4).has_value());
  EXPECT_FALSE(index.Consistency(1, 71).has_value());

  const ProofIndex reference(LeafHashes());
  for (std::uint64_t n = 0; n <= kLeaves.size(); ++n) {
    EXPECT_EQ(ToHex(*reference.Root(n)), kRoots[n]) << n;
  }
  EXPECT_EQ(ProofIndex().size(), 0u);
  EXPECT_EQ(*ProofIndex().Root(0), EmptyRoot());
}

TEST(MerkleTest, HexAndBytesRoundTrip) {
  const Hash h = LeafHash("x");
  EXPECT_EQ(*HashFromHex(ToHex(h)), h);
  EXPECT_EQ(*HashFromBytes(AsBytes(h)), h);
  EXPECT_FALSE(HashFromHex("zz").has_value());
  EXPECT_FALSE(HashFromBytes("short").has_value());
}

// The prefix hashed first, the suffix later: the same hash as in one go, for
// every split across SHA-256's 64-byte blocks.
TEST(MerkleTest, APartialLeafHashFinishesAsTheWholeOne) {
  std::string bytes;
  for (int i = 0; i < 200; ++i) bytes += static_cast<char>('a' + i % 26);
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    const std::string_view all(bytes);
    const PartialLeafHash partial(all.substr(0, cut));
    EXPECT_EQ(partial.Finish(all.substr(cut)), LeafHash(all)) << cut;
    EXPECT_EQ(partial.Finish(all.substr(cut)), LeafHash(all)) << cut;  // reusable
  }
}

}  // namespace
}  // namespace switchboard::audit
