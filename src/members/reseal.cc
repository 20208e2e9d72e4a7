#include "members/reseal.h"

#include "crypto/reseal.h"

namespace switchboard::members {
namespace {

constexpr crypto::SealedColumn kSealed[] = {
    {"contact_points", "key_id", "sealed", "id", "", "", "kind"},
};

}  // namespace

Result<std::int64_t> ResealBatch(store::Tx& tx, const crypto::Sealer& sealer, std::int64_t limit) {
  return crypto::ResealSome(tx, sealer, kSealed, limit);
}

Result<std::int64_t> CountSealedUnderKey(store::Tx& tx, std::uint32_t key_id) {
  return crypto::CountSealedUnder(tx, kSealed, key_id);
}

}  // namespace switchboard::members
