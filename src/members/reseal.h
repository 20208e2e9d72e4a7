// Key rotation for the sealed columns this module owns: contact_points (contact data).
// `switchboard keys reseal` calls ResealBatch in one transaction per batch,
// with its audit event; `keys retire` counts with CountSealedUnderKey.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::members {

// Re-seals up to `limit` values sealed under a key other than the active
// one; returns how many (crypto/reseal.h).
Result<std::int64_t> ResealBatch(store::Tx& tx, const crypto::Sealer& sealer, std::int64_t limit);
// How many of this module's sealed values use key `key_id`.
Result<std::int64_t> CountSealedUnderKey(store::Tx& tx, std::uint32_t key_id);

}  // namespace switchboard::members
