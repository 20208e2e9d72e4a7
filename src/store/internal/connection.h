// Connection: one backend connection as the generic parts of the store see it
// (the group-commit writer, the migration runner). Not thread-safe: one owner.
#pragma once

#include <string_view>

#include "store/store.h"

namespace switchboard::store::internal {

class Connection : public Tx {
 public:
  using Tx::Exec;
  using Tx::Query;

  virtual Status Begin() = 0;  // a write transaction
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  // True inside a transaction that can no longer commit: PostgreSQL's after
  // a failed statement, or one that SQLite rolled back itself after an error.
  virtual bool TransactionBroken() const = 0;
  // Savepoints, named by the caller (plain identifiers).
  Status Savepoint(std::string_view name);
  Status Release(std::string_view name);
  Status RollbackTo(std::string_view name);
};

}  // namespace switchboard::store::internal
