// GroupCommitWriter: the single writer thread behind Store::Write. It drains
// the queue into one transaction (up to max_group operations), runs them
// (without savepoints unless one fails: see store.h), commits once, then
// hands the group to a second thread that answers every caller, so that
// waking hundreds of waiting threads does not hold up the next group. A
// caller still learns its outcome only after its group committed.
// Thread-safe Write()/Submit(); the writer owns its Connection.
#pragma once

#include <atomic>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "store/internal/connection.h"

namespace switchboard::store::internal {

class GroupCommitWriter {
 public:
  GroupCommitWriter(std::unique_ptr<Connection> conn, int max_group);
  ~GroupCommitWriter();  // drains the queue, then stops
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Queues `fn` and waits for its outcome (Store::Write).
  Status Write(TxFn fn);
  // Queues `fn`; the future holds its outcome (Store::WriteAsync).
  std::future<Status> Submit(TxFn fn);
  // Queues `fn`; `then` gets its outcome on the answering thread
  // (Store::WriteThen).
  void Then(TxFn fn, std::function<void(Status)> then);
  StoreStats stats() const;

 private:
  // Where a Write() caller waits: cheaper than a promise (no call_once, and
  // a process-private futex), shared so that the answering thread may still
  // touch it after the caller has gone. std::atomic::wait spins and yields
  // briefly before it sleeps; with hundreds of callers on two cores that
  // measured faster than a condition variable (many answers then need no
  // futex wake at all).
  struct Waiter {
    std::atomic<std::uint32_t> done{0};
    Status result;
  };
  struct Op {
    TxFn fn;
    std::shared_ptr<Waiter> waiter;               // Write()
    std::optional<std::promise<Status>> promise;  // Submit()
    std::function<void(Status)> then;             // Then()
    Status result;
  };
  void Enqueue(Op op);
  void Run();
  // Runs one group in one transaction and sets each operation's result;
  // true if it committed.
  bool RunGroup(std::vector<Op>& group);
  bool CommitGroup(std::vector<Op>& group);
  void Answer();                         // the answering thread
  void HandOff(std::vector<Op>& group);  // from the writer, after commit

  std::unique_ptr<Connection> conn_;
  const int max_group_;
  Mutex mu_;
  CondVar cv_;
  std::deque<Op> queue_ SB_GUARDED_BY(mu_);
  bool stopping_ SB_GUARDED_BY(mu_) = false;
  std::atomic<std::uint64_t> groups_{0}, ops_{0}, failures_{0};
  Mutex answer_mu_;
  CondVar answer_cv_;
  std::vector<std::vector<Op>> answers_ SB_GUARDED_BY(answer_mu_);  // finished groups
  std::vector<std::vector<Op>> spare_ SB_GUARDED_BY(answer_mu_);    // answered, empty
  bool answer_stopping_ SB_GUARDED_BY(answer_mu_) = false;
  std::thread answer_thread_;
  std::thread thread_;
};

}  // namespace switchboard::store::internal
