// The settings table: a few named values the database keeps about itself
// (the keyring's fingerprint, the hash of the policy last recorded).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "store/store.h"

namespace switchboard::store {

// The value named `name`; "" when none is stored.
Result<std::string> GetSetting(Tx& tx, std::string_view name);
// Stores `value` under `name`; an existing value is replaced only with
// `replace`.
Status PutSetting(Tx& tx, std::string_view name, std::string_view value, bool replace);

}  // namespace switchboard::store
