#include "server/sequencer.h"

#include "core/log.h"

namespace switchboard::server {

Status CheckpointSequencer::Start() {
  MutexLock lock(mu_);
  if (running_) return Status::Ok();
  SB_RETURN_IF_ERROR(log_.Check(store_, key_.verify_key()));
  running_ = true;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

namespace {
// Nothing to sign yet is not a failure.
bool NothingYet(const Status& st, const audit::AuditLog& log) {
  return st.code() == StatusCode::kFailedPrecondition && log.size() == 0;
}
}  // namespace

Result<audit::SignedCheckpoint> CheckpointSequencer::CheckpointNow() {
  auto cp = log_.Checkpoint(store_, key_, clock_);
  MutexLock lock(mu_);
  if (!cp) {
    if (!NothingYet(cp.error(), log_)) ++failures_;
    return cp;
  }
  if (cp->checkpoint.tree_size != last_size_) {
    last_size_ = cp->checkpoint.tree_size;
    ++made_;
  }
  return cp;
}

void CheckpointSequencer::Run() {
  MutexLock lock(mu_);
  while (!stop_) {
    // Wake every interval; sign only when the log grew (Checkpoint returns
    // the previous checkpoint unchanged otherwise).
    const auto wake = std::chrono::steady_clock::now() + interval_;
    while (!stop_ && cv_.WaitUntil(mu_, wake)) continue;
    if (stop_) break;
    mu_.Unlock();
    auto cp = CheckpointNow();
    mu_.Lock();
    if (!cp && NothingYet(cp.error(), log_)) continue;
    if (!cp && cp.error().ToString() != last_error_) {
      last_error_ = cp.error().ToString();
      log::Error("audit", "checkpoint failed", {{"error", last_error_}});
    } else if (cp) {
      last_error_.clear();
    }
  }
}

Status CheckpointSequencer::Stop() {
  {
    MutexLock lock(mu_);
    if (!running_) return Status::Ok();
    stop_ = true;
    running_ = false;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
  auto cp = CheckpointNow();
  if (!cp && NothingYet(cp.error(), log_)) return Status::Ok();
  if (!cp) return cp.error();
  log::Info("audit", "final checkpoint",
            {{"tree_size", static_cast<std::int64_t>(cp->checkpoint.tree_size)}});
  return Status::Ok();
}

std::uint64_t CheckpointSequencer::checkpoints_made() const {
  MutexLock lock(mu_);
  return made_;
}

std::uint64_t CheckpointSequencer::failures() const {
  MutexLock lock(mu_);
  return failures_;
}

}  // namespace switchboard::server
