#include "server/status.h"

#include "messaging/outbox.h"

namespace switchboard::server {

Result<StatusReport> CollectStatus(App& app, const StatusOptions& options) {
  StatusReport r;
  r.store = app.store().Describe();
  r.store_kind = r.store.rfind("postgresql", 0) == 0 ? "postgresql" : "sqlite";
  SB_ASSIGN_OR_RETURN(r.schema_version, app.store().SchemaVersion());
  r.now = app.clock().Now();
  SB_RETURN_IF_ERROR(app.store().Read([&](store::Tx& tx) -> Status {
    if (options.full) {
      SB_ASSIGN_OR_RETURN(r.register_counts, members::CountRegister(tx));
    } else {
      SB_ASSIGN_OR_RETURN(r.register_counts.members, members::CountMembers(tx));
      r.register_counts.units = static_cast<std::int64_t>(app.tree().size());
    }
    SB_ASSIGN_OR_RETURN(r.audit_events, audit::AuditLog::Size(tx));
    SB_ASSIGN_OR_RETURN(r.audit_checkpointed, audit::AuditLog::CheckpointedSize(tx));
    SB_ASSIGN_OR_RETURN(r.last_checkpoint, audit::AuditLog::LatestCheckpoint(tx));
    SB_ASSIGN_OR_RETURN(r.outbox, messaging::CountOutbox(tx, /*pending_only=*/!options.full));
    SB_ASSIGN_OR_RETURN(r.alerts, access::CountAlerts(tx));
    return Status::Ok();
  }));
  return r;
}

namespace {

constexpr const char* kOutboxStates[] = {"queued",     "handed",    "deferred", "sent",
                                         "suppressed", "cancelled", "failed"};
constexpr const char* kPendingStates[] = {"queued", "handed", "deferred"};

std::int64_t Count(const std::map<std::string, std::int64_t>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

nlohmann::json StatusJson(const StatusReport& r) {
  nlohmann::json outbox = nlohmann::json::object();
  for (const char* s : kOutboxStates) outbox[s] = Count(r.outbox, s);
  std::int64_t pending = 0;
  for (const char* s : kPendingStates) pending += Count(r.outbox, s);
  outbox["pending"] = pending;
  nlohmann::json alerts = nlohmann::json::array();
  std::int64_t open = 0;
  for (const access::AlertCount& a : r.alerts) {
    alerts.push_back(
        {{"rule", a.rule}, {"severity", a.severity}, {"raised", a.raised}, {"open", a.open}});
    open += a.open;
  }
  nlohmann::json checkpoint = nullptr;
  if (r.last_checkpoint) {
    checkpoint = {{"tree_size", r.last_checkpoint->tree_size},
                  {"at", FormatTimestamp(r.last_checkpoint->at)},
                  {"age_seconds", (r.now - r.last_checkpoint->at) / kMicrosPerSecond}};
  }
  return {{"store", {{"kind", r.store_kind}, {"location", r.store}}},
          {"schema_version", r.schema_version},
          {"units", r.register_counts.units},
          {"members", r.register_counts.members},
          {"contact_points", r.register_counts.contact_points},
          {"canaries", r.register_counts.canaries},
          {"audit",
           {{"events", r.audit_events},
            {"checkpointed", r.audit_checkpointed},
            {"unsigned", r.audit_events - r.audit_checkpointed},
            {"last_checkpoint", checkpoint}}},
          {"outbox", outbox},
          {"alerts", {{"open", open}, {"by_rule", alerts}}}};
}

std::string StatusMetrics(const StatusReport& r) {
  std::string out;
  auto add = [&](const std::string& line) { out += line + "\n"; };
  add("# HELP switchboard_audit_events Events in the audit log.");
  add("# TYPE switchboard_audit_events gauge");
  add("switchboard_audit_events " + std::to_string(r.audit_events));
  add("# HELP switchboard_audit_unsigned_events Events not yet under a signed checkpoint.");
  add("# TYPE switchboard_audit_unsigned_events gauge");
  add("switchboard_audit_unsigned_events " + std::to_string(r.audit_events - r.audit_checkpointed));
  if (r.last_checkpoint) {
    add("# HELP switchboard_audit_checkpoint_age_seconds Seconds since the newest checkpoint "
        "was signed.");
    add("# TYPE switchboard_audit_checkpoint_age_seconds gauge");
    add("switchboard_audit_checkpoint_age_seconds " +
        std::to_string(static_cast<double>(r.now - r.last_checkpoint->at) / kMicrosPerSecond));
  }
  add("# HELP switchboard_outbox_depth E-mails waiting to be delivered, by state.");
  add("# TYPE switchboard_outbox_depth gauge");
  for (const char* s : kPendingStates) {
    add(std::string("switchboard_outbox_depth{state=\"") + s + "\"} " +
        std::to_string(Count(r.outbox, s)));
  }
  add("# HELP switchboard_alerts_raised Anomaly alerts raised, by rule and severity.");
  add("# TYPE switchboard_alerts_raised gauge");
  for (const access::AlertCount& a : r.alerts) {
    add("switchboard_alerts_raised{rule=\"" + a.rule + "\",severity=\"" + a.severity + "\"} " +
        std::to_string(a.raised));
  }
  add("# HELP switchboard_alerts_open Anomaly alerts not yet acknowledged, by rule and severity.");
  add("# TYPE switchboard_alerts_open gauge");
  for (const access::AlertCount& a : r.alerts) {
    add("switchboard_alerts_open{rule=\"" + a.rule + "\",severity=\"" + a.severity + "\"} " +
        std::to_string(a.open));
  }
  add("# HELP switchboard_members Members in the register.");
  add("# TYPE switchboard_members gauge");
  add("switchboard_members " + std::to_string(r.register_counts.members));
  return out;
}

}  // namespace switchboard::server
