#include "store/testing/faulty_store.h"

#include <utility>

namespace switchboard::store::testing {
namespace {

Status Injected(std::string_view when) {
  return Status::Unavailable(std::string(FaultyStore::kInjectedFault) + " (" + std::string(when) +
                             ")");
}

// Runs `fn`, then fails the transaction unless `fn` already did.
TxFn FailAfter(TxFn fn) {
  return [fn = std::move(fn)](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(fn(tx));
    return Injected("after the callback ran");
  };
}

}  // namespace

// Forwards to the real transaction, failing the statements planned to fail.
class FaultyStore::WatchedTx final : public Tx {
 public:
  WatchedTx(Tx& base, FaultyStore& owner) : base_(base), owner_(owner) {}
  Dialect dialect() const override { return base_.dialect(); }
  using Tx::Exec;
  using Tx::Query;
  Result<std::int64_t> Exec(std::string_view sql, Params params) override {
    SB_RETURN_IF_ERROR(owner_.CheckStatement(sql));
    return base_.Exec(sql, params);
  }
  Status Query(std::string_view sql, Params params, const RowFn& fn) override {
    SB_RETURN_IF_ERROR(owner_.CheckStatement(sql));
    return base_.Query(sql, params, fn);
  }
  std::optional<std::int64_t> GetMemo(Memo m) const override { return base_.GetMemo(m); }
  void SetMemo(Memo m, std::int64_t v) override { base_.SetMemo(m, v); }

 private:
  Tx& base_;
  FaultyStore& owner_;
};

TxFn FaultyStore::Watched(TxFn fn) {
  return [this, fn = std::move(fn)](Tx& tx) {
    WatchedTx watched(tx, *this);
    return fn(watched);
  };
}

Status FaultyStore::CheckStatement(std::string_view sql) {
  MutexLock lock(mu_);
  if (statement_.empty() || sql.find(statement_) == std::string_view::npos) return Status::Ok();
  if (statement_which_ == StatementFault::kFirst) statement_.clear();
  ++faults_;
  ++statement_faults_;
  return Injected("in a statement");
}

void FaultyStore::FailStatements(std::string sql_part, StatementFault which) {
  MutexLock lock(mu_);
  statement_ = std::move(sql_part);
  statement_which_ = which;
}

Status FaultyStore::Read(const TxFn& fn) {
  return base_.Read([&](Tx& tx) {
    WatchedTx watched(tx, *this);
    return fn(watched);
  });
}

void FaultyStore::FailNthWrite(int n, FaultMode mode) {
  MutexLock lock(mu_);
  plan_ = Plan::kNth;
  mode_ = mode;
  target_ = writes_.load() + static_cast<std::uint64_t>(n < 1 ? 1 : n);
}

void FaultyStore::FailAllWrites(FaultMode mode) {
  MutexLock lock(mu_);
  plan_ = Plan::kAll;
  mode_ = mode;
}

void FaultyStore::Clear() {
  MutexLock lock(mu_);
  plan_ = Plan::kNone;
  statement_.clear();
}

bool FaultyStore::NextWriteFails(FaultMode* mode) {
  MutexLock lock(mu_);
  const std::uint64_t number = ++writes_;
  bool fail = plan_ == Plan::kAll;
  if (plan_ == Plan::kNth && number == target_) {
    fail = true;
    plan_ = Plan::kNone;
  }
  if (fail) {
    *mode = mode_;
    ++faults_;
  }
  return fail;
}

Status FaultyStore::Write(TxFn fn) {
  fn = Watched(std::move(fn));
  FaultMode mode;
  if (!NextWriteFails(&mode)) return base_.Write(std::move(fn));
  switch (mode) {
    case FaultMode::kBeforeCallback:
      return Injected("before the callback");
    case FaultMode::kAfterCallback:
      return base_.Write(FailAfter(std::move(fn)));
    case FaultMode::kAfterCommit:
      SB_RETURN_IF_ERROR(base_.Write(std::move(fn)));
      return Injected("after the commit");
  }
  return Status::Internal("unknown fault mode");
}

std::future<Status> FaultyStore::WriteAsync(TxFn fn) {
  fn = Watched(std::move(fn));
  FaultMode mode;
  if (!NextWriteFails(&mode)) return base_.WriteAsync(std::move(fn));
  switch (mode) {
    case FaultMode::kBeforeCallback: {
      std::promise<Status> failed;
      failed.set_value(Injected("before the callback"));
      return failed.get_future();
    }
    case FaultMode::kAfterCallback:
      return base_.WriteAsync(FailAfter(std::move(fn)));
    case FaultMode::kAfterCommit:
      // A thread waits for the real commit and then reports the fault.
      return std::async(std::launch::async,
                        [committed = base_.WriteAsync(std::move(fn))]() mutable {
                          Status st = committed.get();
                          return st.ok() ? Injected("after the commit") : st;
                        });
  }
  std::promise<Status> bad;
  bad.set_value(Status::Internal("unknown fault mode"));
  return bad.get_future();
}

Status FaultyStore::WriteNow(const TxFn& given) {
  const TxFn fn = Watched(given);
  FaultMode mode;
  if (!NextWriteFails(&mode)) return base_.WriteNow(fn);
  switch (mode) {
    case FaultMode::kBeforeCallback:
      return Injected("before the callback");
    case FaultMode::kAfterCallback:
      return base_.WriteNow(FailAfter(fn));
    case FaultMode::kAfterCommit:
      SB_RETURN_IF_ERROR(base_.WriteNow(fn));
      return Injected("after the commit");
  }
  return Status::Internal("unknown fault mode");
}

}  // namespace switchboard::store::testing
