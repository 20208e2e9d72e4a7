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

Status FaultyStore::WriteNow(const TxFn& fn) {
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
