// Connection: one backend connection as the generic parts of the store see it
// (the group-commit writer, the migration runner). Not thread-safe: one owner.
#pragma once

#include <array>
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
  // Also true outside a transaction.
  virtual bool TransactionBroken() const = 0;
  // Savepoints, named by the caller (plain identifiers).
  Status Savepoint(std::string_view name);
  Status Release(std::string_view name);
  Status RollbackTo(std::string_view name);

  // Memos (store.h): kept only inside a transaction that can still commit.
  std::optional<std::int64_t> GetMemo(Memo m) const final {
    if (TransactionBroken()) return std::nullopt;
    return memos_[static_cast<size_t>(m)];
  }
  void SetMemo(Memo m, std::int64_t v) final {
    if (!TransactionBroken()) memos_[static_cast<size_t>(m)] = v;
  }

 protected:
  // Every backend calls this before running a statement: BEGIN, COMMIT, END
  // and ROLLBACK (whole or to a savepoint), whoever sends them, forget the
  // memos.
  void BeforeStatement(std::string_view sql) {
    if (!sql.empty() && IsTransactionControl(sql)) ForgetMemos();
  }
  void ForgetMemos() { memos_.fill(std::nullopt); }

 private:
  static bool IsTransactionControl(std::string_view sql);

  std::array<std::optional<std::int64_t>, static_cast<size_t>(Memo::kCount)> memos_;
};

}  // namespace switchboard::store::internal
