// FaultyStore: a Store decorator that makes chosen writes fail, for tests
// proving that a failure leaves no half-written state. Reads (but for
// statement faults, below), SchemaVersion() and stats() pass straight through
// to the wrapped store.
//
// Writes (Write, WriteAsync and WriteNow alike) are numbered 1, 2, 3, ... in
// the order they reach the decorator; a planned fault hits one of them:
//   kBeforeCallback  fails with kUnavailable without running the callback;
//   kAfterCallback   runs the callback inside the real transaction, then fails
//                    it with kUnavailable, so the store must roll it back;
//   kAfterCommit     lets the write commit, then reports kUnavailable anyway
//                    (a lost acknowledgement: the caller cannot tell).
//
// Statement faults reach inside the transaction instead: with
// FailStatements("INSERT INTO audit_events"), every statement (Exec, Query,
// QueryInt) whose SQL contains that text, in any transaction run through the
// decorator (reads too), fails with kUnavailable before reaching the
// database. The callback sees the error as from the real store and, when it
// passes it on, the store rolls the whole transaction back: how tests prove
// that an action and its audit event commit together or not at all.
// Thread-safe. The wrapped store is borrowed and must outlive the decorator.
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <string>

#include "core/mutex.h"
#include "store/store.h"

namespace switchboard::store::testing {

enum class FaultMode { kBeforeCallback, kAfterCallback, kAfterCommit };
// Which of the statements matching a statement fault fail.
enum class StatementFault { kEvery, kFirst };

class FaultyStore final : public Store {
 public:
  // Every injected failure is kUnavailable with a message starting with this.
  static constexpr const char* kInjectedFault = "injected fault";

  explicit FaultyStore(Store& base) : base_(base) {}
  FaultyStore(const FaultyStore&) = delete;
  FaultyStore& operator=(const FaultyStore&) = delete;

  // Fails the `n`th write from now (1: the next one) in `mode`; replaces any
  // earlier plan.
  void FailNthWrite(int n, FaultMode mode = FaultMode::kBeforeCallback);
  // Fails every write from now on, until Clear().
  void FailAllWrites(FaultMode mode = FaultMode::kBeforeCallback);
  // Fails the statements whose SQL contains `sql_part` (case-sensitive): every
  // one from now on until Clear(), or only the first; replaces any earlier
  // statement fault. Independent of the write faults above.
  void FailStatements(std::string sql_part, StatementFault which = StatementFault::kEvery);
  // Cancels any planned fault, of writes and of statements.
  void Clear();

  // Writes seen, and faults injected (of writes and of statements), since
  // construction.
  std::uint64_t writes() const { return writes_.load(); }
  std::uint64_t faults() const { return faults_.load(); }
  // Statements failed by FailStatements, since construction.
  std::uint64_t statement_faults() const { return statement_faults_.load(); }

  Store& base() { return base_; }

  Dialect dialect() const override { return base_.dialect(); }
  std::string Describe() const override { return "faulty(" + base_.Describe() + ")"; }
  Status Read(const TxFn& fn) override;
  Status Write(TxFn fn) override;
  std::future<Status> WriteAsync(TxFn fn) override;
  Status WriteNow(const TxFn& fn) override;
  Result<int> SchemaVersion() override { return base_.SchemaVersion(); }
  StoreStats stats() const override { return base_.stats(); }
  Status Scrub() override { return base_.Scrub(); }

 private:
  class WatchedTx;
  // `fn`, run on a Tx that applies the statement faults.
  TxFn Watched(TxFn fn);
  // The injected error if the statement `sql` fails, else OK.
  Status CheckStatement(std::string_view sql);

  enum class Plan { kNone, kNth, kAll };
  // Counts one write; returns whether it fails and how.
  bool NextWriteFails(FaultMode* mode);

  Store& base_;
  Mutex mu_;
  Plan plan_ SB_GUARDED_BY(mu_) = Plan::kNone;
  FaultMode mode_ SB_GUARDED_BY(mu_) = FaultMode::kBeforeCallback;
  std::uint64_t target_ SB_GUARDED_BY(mu_) = 0;  // the write number to fail
  std::string statement_ SB_GUARDED_BY(mu_);     // empty: no statement fault
  StatementFault statement_which_ SB_GUARDED_BY(mu_) = StatementFault::kEvery;
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> faults_{0};
  std::atomic<std::uint64_t> statement_faults_{0};
};

}  // namespace switchboard::store::testing
