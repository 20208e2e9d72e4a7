// What a data directory holds and how its queues stand: `switchboard status`
// prints it and /metrics exports the parts a monitor watches. Read through the
// modules that own the tables, in one read transaction; no member data.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "access/guard/anomaly.h"
#include "audit/audit_log.h"
#include "core/status.h"
#include "members/register.h"
#include "server/app.h"

namespace switchboard::server {

struct StatusReport {
  std::string store_kind;  // "sqlite" or "postgresql"
  std::string store;       // the store's description (no password)
  int schema_version = 0;
  members::RegisterCounts register_counts;
  std::int64_t audit_events = 0;        // events in the log
  std::int64_t audit_checkpointed = 0;  // events under a signed checkpoint
  std::optional<audit::AuditLog::LatestCheckpointInfo> last_checkpoint;
  std::map<std::string, std::int64_t> outbox;  // rows by state
  std::vector<access::AlertCount> alerts;
  Micros now = 0;
};

struct StatusOptions {
  // Count members, contact points and every outbox state (a command's
  // status); otherwise only what a scrape needs, each an index lookup.
  bool full = true;
};

Result<StatusReport> CollectStatus(App& app, const StatusOptions& options = {});

// The report as `switchboard status --json` prints it.
nlohmann::json StatusJson(const StatusReport& report);

// The report's gauges in Prometheus text format (checkpoint age, unsigned
// events, outbox depth by state, alerts raised and open by rule).
std::string StatusMetrics(const StatusReport& report);

}  // namespace switchboard::server
