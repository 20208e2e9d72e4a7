#include "access/store/reseal.h"

#include "crypto/reseal.h"

namespace switchboard::access {
namespace {

constexpr crypto::SealedColumn kSealed[] = {
    {"accounts", "totp_key_id", "totp_secret", "id", "", "totp", ""},
    {"account_links", "address_key_id", "address_sealed", "id", "", "account-address", ""},
    {"account_addresses", "key_id", "sealed", "account_id", "", "account-address", ""},
    {"account_mail", "key_id", "sealed", "id", "", "account-mail", ""},
};

}  // namespace

Result<std::int64_t> ResealBatch(store::Tx& tx, const crypto::Sealer& sealer, std::int64_t limit) {
  return crypto::ResealSome(tx, sealer, kSealed, limit);
}

Result<std::int64_t> CountSealedUnderKey(store::Tx& tx, std::uint32_t key_id) {
  return crypto::CountSealedUnder(tx, kSealed, key_id);
}

}  // namespace switchboard::access
