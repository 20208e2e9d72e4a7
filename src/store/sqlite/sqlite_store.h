// SqliteStore: the embedded default backend. One database file in WAL mode;
// a group-commit writer connection, a dedicated connection for WriteNow, and a
// pool of read-only connections for concurrent snapshot reads.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace switchboard::store {

// Opens (creating if needed) the SQLite database at `path` and applies
// pending migrations. Fails with kUnavailable if the file cannot be opened.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                               const StoreOptions& options = {});

}  // namespace switchboard::store
