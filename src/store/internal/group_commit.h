// GroupCommitWriter: the single writer thread behind Store::Write. It drains
// the queue into one transaction (up to max_group operations), runs each
// operation inside a savepoint, commits once, then answers every caller.
// Thread-safe Submit(); the writer owns its Connection.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "store/internal/connection.h"

namespace switchboard::store::internal {

class GroupCommitWriter {
 public:
  GroupCommitWriter(std::unique_ptr<Connection> conn, int max_group);
  ~GroupCommitWriter();  // drains the queue, then stops
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  std::future<Status> Submit(TxFn fn);
  StoreStats stats() const;

 private:
  struct Op {
    TxFn fn;
    std::promise<Status> done;
  };
  void Run();

  std::unique_ptr<Connection> conn_;
  const int max_group_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;   // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::atomic<std::uint64_t> groups_{0}, ops_{0}, failures_{0};
  std::thread thread_;
};

}  // namespace switchboard::store::internal
