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
  thread_ = std::thread([this] { Run(); });
}

GroupCommitWriter::~GroupCommitWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::future<Status> GroupCommitWriter::Submit(TxFn fn) {
  Op op{std::move(fn), {}};
  auto fut = op.done.get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      op.done.set_value(Status::Unavailable("the store is shutting down"));
      return fut;
    }
    queue_.push_back(std::move(op));
  }
  cv_.notify_one();
  return fut;
}

StoreStats GroupCommitWriter::stats() const {
  return {groups_.load(), ops_.load(), failures_.load()};
}

void GroupCommitWriter::Run() {
  std::vector<Op> group;
  std::vector<Status> results;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && static_cast<int>(group.size()) < max_group_) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    results.assign(group.size(), Status());
    Status begin = conn_->Begin();
    if (!begin.ok()) {
      failures_ += group.size();
      for (auto& op : group) op.done.set_value(begin);
      group.clear();
      continue;
    }
    Status fatal;  // a failure that poisons the whole transaction
    for (size_t i = 0; i < group.size(); ++i) {
      if (!fatal.ok()) {
        results[i] = fatal;
        continue;
      }
      Status sp = conn_->Savepoint("sb_op");
      if (!sp.ok()) {
        fatal = sp;
        results[i] = sp;
        continue;
      }
      Status st = group[i].fn(*conn_);
      if (st.ok()) {
        // A statement error the callback swallowed leaves PostgreSQL's
        // transaction aborted: the release fails. Fail only this operation.
        Status rel = conn_->Release("sb_op");
        if (!rel.ok()) st = rel.WithContext("an earlier statement failed");
      }
      if (!st.ok()) {
        results[i] = st;
        Status rb = conn_->RollbackTo("sb_op");
        if (rb.ok()) rb = conn_->Release("sb_op");
        if (!rb.ok()) fatal = rb;
      }
    }
    Status commit = fatal.ok() ? conn_->Commit() : fatal;
    if (!commit.ok()) {
      conn_->Rollback().IgnoreError();
      for (auto& r : results)
        if (r.ok()) r = commit.WithContext("commit failed");
    }
    std::uint64_t failed = 0;
    for (const Status& r : results) failed += r.ok() ? 0 : 1;
    // Counted before answering, so a caller's stats() include its own write.
    groups_ += commit.ok() ? 1 : 0;
    ops_ += group.size() - failed;
    failures_ += failed;
    for (size_t i = 0; i < group.size(); ++i) group[i].done.set_value(std::move(results[i]));
    group.clear();
  }
}

}  // namespace internal
}  // namespace switchboard::store
