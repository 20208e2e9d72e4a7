// Re-sealing under the active key after a rotation (`switchboard keys
// reseal`, docs/operations.md "Key rotation"). Each module names its own
// sealed columns (SealedColumn) and calls these in the caller's transaction;
// the SQL is built for that module's table only.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/status.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::crypto {

// One sealed column: its table, the key-id and value columns, the row's key
// (an integer column, and optionally a second, text one), and the associated
// data it was sealed with: `purpose`, or the value of `purpose_column`.
struct SealedColumn {
  std::string_view table;
  std::string_view key_id_column;
  std::string_view sealed_column;
  std::string_view id_column;
  std::string_view id2_column = {};  // a text column, or empty
  std::string_view purpose = {};
  std::string_view purpose_column = {};
};

// Opens and seals again, under the active key, up to `limit` values of the
// columns that use another key; returns how many it re-sealed. A row changed
// since it was read is left for the next batch; an empty value (emptied
// after use) only gets the active key id. kDataLoss names the table and row
// of a value that does not open.
Result<std::int64_t> ResealSome(store::Tx& tx, const Sealer& sealer,
                                std::span<const SealedColumn> columns, std::int64_t limit);

// How many values of the columns use key `key_id`.
Result<std::int64_t> CountSealedUnder(store::Tx& tx, std::span<const SealedColumn> columns,
                                      std::uint32_t key_id);

}  // namespace switchboard::crypto
