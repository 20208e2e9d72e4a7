// CheckpointSequencer: signs audit checkpoints while the server runs
// (RULEBOOK §9): whenever events were appended, at most `interval` after the
// first of them, and once more on Stop() so a clean shutdown leaves every
// event under a signed checkpoint. Each is also appended to the audit log's
// checkpoint log (AuditLog::SetCheckpointLog): one fsync per checkpoint, not
// per event. One sequencer per database: a second one finds the stored
// checkpoints ahead of its tree and reports it.
//
// Start() first checks the stored log against the checkpoint log
// (AuditLog::Check): the one read of every event body that the first
// checkpoint needs anyway, done before serving instead of a second later.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "core/clock.h"
#include "core/mutex.h"
#include "store/store.h"

namespace switchboard::server {

class CheckpointSequencer {
 public:
  CheckpointSequencer(store::Store& store, audit::AuditLog& log, const audit::SigningKey& key,
                      const Clock& clock, std::chrono::milliseconds interval)
      : store_(store), log_(log), key_(key), clock_(clock), interval_(interval) {}
  ~CheckpointSequencer() { (void)Stop(); }
  CheckpointSequencer(const CheckpointSequencer&) = delete;
  CheckpointSequencer& operator=(const CheckpointSequencer&) = delete;

  // Checks the log (see above) and starts signing; the check's error, and
  // nothing started, when it fails.
  Status Start() SB_EXCLUDES(mu_);
  // Stops the thread and makes a last checkpoint; returns its outcome.
  Status Stop() SB_EXCLUDES(mu_);
  // One checkpoint now (when anything was appended since the last one).
  Result<audit::SignedCheckpoint> CheckpointNow() SB_EXCLUDES(mu_);

  std::uint64_t checkpoints_made() const;
  std::uint64_t failures() const;

 private:
  void Run();

  store::Store& store_;
  audit::AuditLog& log_;
  const audit::SigningKey& key_;
  const Clock& clock_;
  const std::chrono::milliseconds interval_;
  mutable Mutex mu_;
  CondVar cv_;
  bool stop_ SB_GUARDED_BY(mu_) = false;
  bool running_ SB_GUARDED_BY(mu_) = false;
  std::uint64_t made_ SB_GUARDED_BY(mu_) = 0;
  std::uint64_t failures_ SB_GUARDED_BY(mu_) = 0;
  std::uint64_t last_size_ SB_GUARDED_BY(mu_) = 0;
  std::string last_error_ SB_GUARDED_BY(mu_);  // logged once, not every interval
  std::thread thread_;
};

}  // namespace switchboard::server
