#include "server/sequencer.h"

#include "core/log.h"

namespace switchboard::server {

void CheckpointSequencer::Start() {
  std::lock_guard lock(mu_);
  if (running_) return;
  running_ = true;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

Result<audit::SignedCheckpoint> CheckpointSequencer::CheckpointNow() {
  auto cp = log_.Checkpoint(store_, key_, clock_);
  std::lock_guard lock(mu_);
  if (!cp) {
    ++failures_;
    return cp;
  }
  if (cp->checkpoint.tree_size != last_size_) {
    last_size_ = cp->checkpoint.tree_size;
    ++made_;
  }
  return cp;
}

void CheckpointSequencer::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    // Wake every interval; sign only when the log grew (Checkpoint returns
    // the previous checkpoint unchanged otherwise).
    cv_.wait_for(lock, interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    auto cp = CheckpointNow();
    if (!cp) {
      log::Error("audit", "checkpoint failed", {{"error", cp.error().ToString()}});
    }
    lock.lock();
  }
}

Status CheckpointSequencer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return Status::Ok();
    stop_ = true;
    running_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  auto cp = CheckpointNow();
  if (!cp) return cp.error();
  log::Info("audit", "final checkpoint",
            {{"tree_size", static_cast<std::int64_t>(cp->checkpoint.tree_size)}});
  return Status::Ok();
}

std::uint64_t CheckpointSequencer::checkpoints_made() const {
  std::lock_guard lock(mu_);
  return made_;
}

std::uint64_t CheckpointSequencer::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

}  // namespace switchboard::server
