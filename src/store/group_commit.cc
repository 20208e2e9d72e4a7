#include "store/internal/group_commit.h"

#include <vector>

namespace switchboard::store {

Result<std::int64_t> Tx::QueryInt(std::string_view sql, std::initializer_list<Value> params) {
  std::int64_t out = 0;
  bool found = false;
  SB_RETURN_IF_ERROR(Query(sql, params, [&](const Row& row) {
    found = true;
    out = row.IsNull(0) ? 0 : row.Int(0);
    return false;
  }));
  if (!found) return Status::NotFound("query returned no row");
  return out;
}

namespace internal {

bool Connection::IsTransactionControl(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && (sql[i] == ' ' || sql[i] == '\n' || sql[i] == '\t')) ++i;
  auto starts = [&](std::string_view word) {
    if (sql.size() - i < word.size()) return false;
    for (size_t k = 0; k < word.size(); ++k) {
      char c = sql[i + k];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != word[k]) return false;
    }
    return true;
  };
  return starts("BEGIN") || starts("COMMIT") || starts("END") || starts("ROLLBACK") ||
         starts("ABORT") || starts("START");
}

Status Connection::Savepoint(std::string_view name) {
  std::string sql = "SAVEPOINT ";
  sql += name;
  return Exec(sql).status();
}
Status Connection::Release(std::string_view name) {
  std::string sql = "RELEASE SAVEPOINT ";
  sql += name;
  return Exec(sql).status();
}
Status Connection::RollbackTo(std::string_view name) {
  std::string sql = "ROLLBACK TO SAVEPOINT ";
  sql += name;
  return Exec(sql).status();
}

GroupCommitWriter::GroupCommitWriter(std::unique_ptr<Connection> conn, int max_group)
    : conn_(std::move(conn)), max_group_(max_group < 1 ? 1 : max_group) {
  answer_thread_ = std::thread([this] { Answer(); });
  thread_ = std::thread([this] { Run(); });
}

GroupCommitWriter::~GroupCommitWriter() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  thread_.join();  // the writer has handed off every group
  {
    MutexLock lock(answer_mu_);
    answer_stopping_ = true;
  }
  answer_cv_.SignalAll();
  answer_thread_.join();
}

void GroupCommitWriter::Enqueue(Op op) {
  bool queued = false;
  {
    MutexLock lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(op));
      queued = true;
    }
  }
  if (queued) {
    cv_.Signal();
    return;
  }
  // Not queued: the store is shutting down.
  const Status closed = Status::Unavailable("the store is shutting down");
  if (op.waiter) {
    op.waiter->result = closed;
    op.waiter->done.store(1, std::memory_order_release);
  } else if (op.then) {
    op.then(closed);
  } else {
    op.promise->set_value(closed);
  }
}

Status GroupCommitWriter::Write(TxFn fn) {
  auto waiter = std::make_shared<Waiter>();
  Enqueue(Op{std::move(fn), waiter, std::nullopt, nullptr, Status()});
  while (waiter->done.load(std::memory_order_acquire) == 0) waiter->done.wait(0);
  return std::move(waiter->result);
}

std::future<Status> GroupCommitWriter::Submit(TxFn fn) {
  std::promise<Status> promise;
  auto fut = promise.get_future();
  Enqueue(Op{std::move(fn), nullptr, std::move(promise), nullptr, Status()});
  return fut;
}

void GroupCommitWriter::Then(TxFn fn, std::function<void(Status)> then) {
  Enqueue(Op{std::move(fn), nullptr, std::nullopt, std::move(then), Status()});
}

StoreStats GroupCommitWriter::stats() const {
  return {groups_.load(), ops_.load(), failures_.load()};
}

void GroupCommitWriter::HandOff(std::vector<Op>& group) {
  {
    MutexLock lock(answer_mu_);
    answers_.push_back(std::move(group));
    // Vectors go back and forth and keep their capacity: no reallocation
    // (nor the heap growing and shrinking) for every group.
    if (!spare_.empty()) {
      group = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  answer_cv_.Signal();
  group.clear();
}

void GroupCommitWriter::Answer() {
  std::vector<std::vector<Op>> batch;
  for (;;) {
    {
      MutexLock lock(answer_mu_);
      while (!answer_stopping_ && answers_.empty()) answer_cv_.Wait(answer_mu_);
      if (answers_.empty() && answer_stopping_) return;
      batch.swap(answers_);
    }
    for (auto& group : batch) {
      for (Op& op : group) {
        if (op.waiter) {
          op.waiter->result = std::move(op.result);
          op.waiter->done.store(1, std::memory_order_release);
          op.waiter->done.notify_one();
        } else if (op.then) {
          op.then(std::move(op.result));
        } else {
          op.promise->set_value(std::move(op.result));
        }
      }
      group.clear();
    }
    {
      MutexLock lock(answer_mu_);
      for (auto& group : batch) {
        if (spare_.size() < 4) spare_.push_back(std::move(group));
      }
    }
    batch.clear();
  }
}

void GroupCommitWriter::Run() {
  std::vector<Op> group;
  for (;;) {
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) cv_.Wait(mu_);
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && static_cast<int>(group.size()) < max_group_) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const bool committed = RunGroup(group);
    std::uint64_t failed = 0;
    for (const Op& op : group) failed += op.result.ok() ? 0 : 1;
    // Counted before answering, so a caller's stats() include its own write.
    groups_ += committed ? 1 : 0;
    ops_ += group.size() - failed;
    failures_ += failed;
    HandOff(group);
  }
}

bool GroupCommitWriter::RunGroup(std::vector<Op>& group) {
  Status begin = conn_->Begin();
  if (!begin.ok()) {
    for (Op& op : group) op.result = begin;
    return false;
  }
  // Optimistic pass: every operation straight in the transaction, no
  // savepoints. Almost every group gets through it whole.
  size_t failed = group.size();
  for (size_t i = 0; i < group.size(); ++i) {
    Status st = group[i].fn(*conn_);
    // A statement error the callback swallowed leaves PostgreSQL's
    // transaction aborted (and a few SQLite errors roll it back): that is
    // this operation's failure, not the next one's.
    if (st.ok() && conn_->TransactionBroken()) {
      st = Status::Aborted(
          "a statement failed earlier in this write, which was rolled back (the callback went "
          "on)");
    }
    if (!st.ok()) {
      group[i].result = std::move(st);
      failed = i;
      break;
    }
  }
  if (failed == group.size()) return CommitGroup(group);

  // Operation `failed` failed, and its effects cannot be undone alone: roll
  // the whole transaction back and run the group again with each operation
  // in its own savepoint, leaving out the one that failed (its result
  // stands: an error whose effects were rolled back).
  Status retry = conn_->Rollback();
  if (retry.ok()) retry = conn_->Begin();
  if (!retry.ok()) {
    retry = retry.WithContext("starting over to isolate a failed write");
    for (size_t i = 0; i < group.size(); ++i) {
      if (i != failed) group[i].result = retry;
    }
    conn_->Rollback().IgnoreError();
    return false;
  }
  Status fatal;  // a failure that poisons the whole transaction
  for (size_t i = 0; i < group.size(); ++i) {
    if (i == failed) continue;
    Op& op = group[i];
    if (!fatal.ok()) {
      op.result = fatal;
      continue;
    }
    Status sp = conn_->Savepoint("sb_op");
    if (!sp.ok()) {
      fatal = sp;
      op.result = sp;
      continue;
    }
    Status st = op.fn(*conn_);
    if (st.ok()) {
      // As above; here PostgreSQL refuses the release.
      Status rel = conn_->Release("sb_op");
      if (!rel.ok()) st = rel.WithContext("an earlier statement failed");
    }
    op.result = st;
    if (!st.ok()) {
      Status rb = conn_->RollbackTo("sb_op");
      if (rb.ok()) rb = conn_->Release("sb_op");
      if (!rb.ok()) fatal = rb;
    }
  }
  if (!fatal.ok()) {
    conn_->Rollback().IgnoreError();
    return false;
  }
  return CommitGroup(group);
}

bool GroupCommitWriter::CommitGroup(std::vector<Op>& group) {
  Status commit = conn_->Commit();
  if (commit.ok()) return true;
  conn_->Rollback().IgnoreError();
  for (Op& op : group) {
    if (op.result.ok()) op.result = commit.WithContext("commit failed");
  }
  return false;
}

}  // namespace internal
}  // namespace switchboard::store
