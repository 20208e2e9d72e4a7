// FaultyStore: a Store decorator that makes chosen writes fail, for tests
// proving that a failure leaves no half-written state. Reads, SchemaVersion()
// and stats() pass straight through to the wrapped store.
//
// Writes (Write, WriteAsync and WriteNow alike) are numbered 1, 2, 3, ... in
// the order they reach the decorator; a planned fault hits one of them:
//   kBeforeCallback  fails with kUnavailable without running the callback;
//   kAfterCallback   runs the callback inside the real transaction, then fails
//                    it with kUnavailable, so the store must roll it back;
//   kAfterCommit     lets the write commit, then reports kUnavailable anyway
//                    (a lost acknowledgement: the caller cannot tell).
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
  // Cancels any planned fault.
  void Clear();

  // Writes seen, and faults injected, since construction.
  std::uint64_t writes() const { return writes_.load(); }
  std::uint64_t faults() const { return faults_.load(); }

  Store& base() { return base_; }

  Dialect dialect() const override { return base_.dialect(); }
  std::string Describe() const override { return "faulty(" + base_.Describe() + ")"; }
  Status Read(const TxFn& fn) override { return base_.Read(fn); }
  Status Write(TxFn fn) override;
  std::future<Status> WriteAsync(TxFn fn) override;
  Status WriteNow(const TxFn& fn) override;
  Result<int> SchemaVersion() override { return base_.SchemaVersion(); }
  StoreStats stats() const override { return base_.stats(); }

 private:
  enum class Plan { kNone, kNth, kAll };
  // Counts one write; returns whether it fails and how.
  bool NextWriteFails(FaultMode* mode);

  Store& base_;
  Mutex mu_;
  Plan plan_ SB_GUARDED_BY(mu_) = Plan::kNone;
  FaultMode mode_ SB_GUARDED_BY(mu_) = FaultMode::kBeforeCallback;
  std::uint64_t target_ SB_GUARDED_BY(mu_) = 0;  // the write number to fail
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> faults_{0};
};

}  // namespace switchboard::store::testing
