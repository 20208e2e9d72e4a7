#include "privacy/reseal.h"

#include "crypto/reseal.h"

namespace switchboard::privacy {
namespace {

constexpr crypto::SealedColumn kSealed[] = {
    {"export_canaries", "key_id", "sealed", "id", "", "export-canary", ""},
};

}  // namespace

Result<std::int64_t> ResealBatch(store::Tx& tx, const crypto::Sealer& sealer, std::int64_t limit) {
  return crypto::ResealSome(tx, sealer, kSealed, limit);
}

Result<std::int64_t> CountSealedUnderKey(store::Tx& tx, std::uint32_t key_id) {
  return crypto::CountSealedUnder(tx, kSealed, key_id);
}

}  // namespace switchboard::privacy
