#include "phonebank/reseal.h"

#include "crypto/reseal.h"

namespace switchboard::phonebank {
namespace {

constexpr crypto::SealedColumn kSealed[] = {
    {"caller_endpoints", "key_id", "sealed", "account_id", "", "caller-endpoint", ""},
    {"sip_legs", "key_id", "sealed", "call_id", "leg", "sip-leg", ""},
};

}  // namespace

Result<std::int64_t> ResealBatch(store::Tx& tx, const crypto::Sealer& sealer, std::int64_t limit) {
  return crypto::ResealSome(tx, sealer, kSealed, limit);
}

Result<std::int64_t> CountSealedUnderKey(store::Tx& tx, std::uint32_t key_id) {
  return crypto::CountSealedUnder(tx, kSealed, key_id);
}

}  // namespace switchboard::phonebank
