#include "access/guard/anomaly.h"

#include <algorithm>
#include <optional>

#include "access/store/access_store.h"
#include "access/store/sessions.h"
#include "audit/audit_log.h"

namespace switchboard::access {

namespace {

constexpr Micros kMicrosPerHour = 3600 * kMicrosPerSecond;

std::int64_t HourOf(Micros t) {
  return t >= 0 ? t / kMicrosPerHour : -((-t + kMicrosPerHour - 1) / kMicrosPerHour);
}

// "12, 40, 97"
std::string JoinIds(const std::vector<MemberId>& ids) {
  std::string s;
  for (MemberId id : ids) {
    if (!s.empty()) s += ", ";
    s += id.ToString();
  }
  return s;
}

// One decimal place, for a mean given as tenths.
std::string Tenths(std::int64_t tenths) {
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

struct Raised {
  const char* rule;
  const char* severity;
  std::string detail;
};

Result<Alert> RaiseAlert(store::Tx& tx, const Observation& obs,
                         const std::vector<MemberId>& members, const Raised& r) {
  Alert a;
  a.account = obs.account;
  a.rule = r.rule;
  a.severity = r.severity;
  a.at = obs.now;
  a.detail = r.detail;
  a.request_id = obs.request_id;
  SB_RETURN_IF_ERROR(tx.Query(
      "INSERT INTO alerts (account_id, rule, severity, at, detail, request_id) VALUES ($1, $2, "
      "$3, $4, $5, $6) RETURNING id",
      {obs.account.value(), a.rule, a.severity, a.at, a.detail,
       obs.request_id.empty() ? store::Value() : store::Value(obs.request_id)},
      [&](const store::Row& row) {
        a.id = AlertId(row.Int(0));
        return false;
      }));
  audit::Event e;
  e.at = obs.now;
  e.actor = obs.account.value();
  e.action = "alert.raised";
  e.rule = a.rule;
  for (MemberId m : members) e.members.push_back(m.value());
  e.request_id = obs.request_id;
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, std::move(e)).status());
  return a;
}

// Suspends the account (unless it is not active any more) and ends all its
// sessions, for the severe rule `rule`.
Status Suspend(store::Tx& tx, const Observation& obs, const Alert& alert) {
  SB_ASSIGN_OR_RETURN(Account account, GetAccount(tx, obs.account));
  const std::string reason = "suspended by " + alert.rule + " (alert " + alert.id.ToString() + ")";
  if (account.state == AccountState::kActive) {
    SB_RETURN_IF_ERROR(SetAccountState(tx, obs.account, AccountState::kSuspended, reason, obs.now));
    audit::Event e;
    e.at = obs.now;
    e.on_behalf_of = obs.account.value();
    e.action = "account.suspend";
    e.decision = "allow";
    e.rule = alert.rule;
    e.request_id = obs.request_id;
    SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, std::move(e)).status());
  }
  return RevokeAccountSessions(tx, obs.account, reason, obs.now).status();
}

// The rate rule, after `touches` (this hour's count, including this request).
Result<std::optional<Raised>> CheckRate(store::Tx& tx, const Policy& policy, const Observation& obs,
                                        std::int64_t hour, std::int64_t touches) {
  if (touches <= policy.anomaly_rate_floor_per_hour) return std::optional<Raised>();
  std::int64_t last_alert = -1;
  SB_RETURN_IF_ERROR(tx.Query("SELECT rate_alert_hour FROM anomaly_state WHERE account_id = $1",
                              {obs.account.value()}, [&](const store::Row& r) {
                                last_alert = r.Int(0);
                                return false;
                              }));
  if (last_alert == hour) return std::optional<Raised>();
  const std::int64_t hours = std::int64_t{policy.anomaly_baseline_days} * 24;
  SB_ASSIGN_OR_RETURN(std::int64_t sum,
                      tx.QueryInt("SELECT COALESCE(SUM(touches), 0) FROM anomaly_hours WHERE "
                                  "account_id = $1 AND hour >= $2 AND hour < $3",
                                  {obs.account.value(), hour - hours, hour}));
  // touches > factor x (sum / hours), in integers.
  if (touches * hours <= std::int64_t{policy.anomaly_rate_factor} * sum) {
    return std::optional<Raised>();
  }
  SB_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO anomaly_state (account_id, rate_alert_hour) VALUES ($1, $2) ON "
              "CONFLICT (account_id) DO UPDATE SET rate_alert_hour = excluded.rate_alert_hour",
              {obs.account.value(), hour})
          .status());
  return std::optional<Raised>(Raised{
      "anomaly.rate", "warning",
      std::to_string(touches) + " record touches in the hour from " +
          FormatTimestamp(hour * kMicrosPerHour) + "; own baseline " + Tenths(sum * 10 / hours) +
          " per hour over " + std::to_string(policy.anomaly_baseline_days) + " days; factor " +
          std::to_string(policy.anomaly_rate_factor) + ", floor " +
          std::to_string(policy.anomaly_rate_floor_per_hour)});
}

}  // namespace

Result<std::vector<MemberId>> Canaries(store::Tx& tx, const std::vector<MemberId>& members) {
  std::vector<MemberId> canaries;
  if (members.empty()) return canaries;
  // One primary-key look-up per member, in one statement.
  std::string sql = "SELECT member_id FROM canaries WHERE member_id IN (";
  std::vector<store::Value> params;
  for (MemberId m : members) {
    params.emplace_back(m.value());
    if (params.size() > 1) sql += ", ";
    sql += "$" + std::to_string(params.size());
  }
  sql += ") ORDER BY member_id";
  SB_RETURN_IF_ERROR(tx.Query(sql, params, [&](const store::Row& r) {
    canaries.emplace_back(r.Int(0));
    return true;
  }));
  return canaries;
}

Result<AnomalyOutcome> Observe(store::Tx& tx, const Policy& policy, const Observation& obs) {
  if (!obs.account.valid()) return Status::InvalidArgument("an observation needs an account");
  std::vector<MemberId> members = obs.members;
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  const std::int64_t hour = HourOf(obs.now);
  std::vector<Raised> raised;
  bool severe = false;

  if (obs.kind == Observation::kAllowed) {
    if (!members.empty()) {
      SB_ASSIGN_OR_RETURN(std::vector<MemberId> canaries, Canaries(tx, members));

      const auto n = static_cast<std::int64_t>(members.size());
      SB_ASSIGN_OR_RETURN(
          std::int64_t touches,
          tx.QueryInt("INSERT INTO anomaly_hours (account_id, hour, touches) VALUES ($1, $2, $3) "
                      "ON CONFLICT (account_id, hour) DO UPDATE SET touches = "
                      "anomaly_hours.touches + excluded.touches RETURNING touches",
                      {obs.account.value(), hour, n}));
      if (touches == n) {  // the account's first touches this hour: prune the old hours
        SB_RETURN_IF_ERROR(
            tx.Exec("DELETE FROM anomaly_hours WHERE account_id = $1 AND hour < $2",
                    {obs.account.value(), hour - std::int64_t{policy.anomaly_baseline_days} * 24})
                .status());
      }
      SB_ASSIGN_OR_RETURN(std::optional<Raised> rate, CheckRate(tx, policy, obs, hour, touches));
      if (rate) raised.push_back(std::move(*rate));
      if (!canaries.empty()) {
        severe = true;
        raised.push_back({"anomaly.canary", "severe",
                          std::string(canaries.size() == 1 ? "canary member " : "canary members ") +
                              JoinIds(canaries) + " touched through " + obs.capability});
      }
    }
  } else {
    // The window opens at the first refusal counted; one that has closed
    // starts again at this refusal.
    const Micros window = std::int64_t{policy.anomaly_probe_window_minutes} * 60 * kMicrosPerSecond;
    SB_ASSIGN_OR_RETURN(
        std::int64_t run,
        tx.QueryInt("INSERT INTO anomaly_state (account_id, probe_run, probe_since) VALUES ($1, 1, "
                    "$2) ON CONFLICT (account_id) DO UPDATE SET probe_run = CASE WHEN "
                    "anomaly_state.probe_since > $3 THEN anomaly_state.probe_run + 1 ELSE 1 END, "
                    "probe_since = CASE WHEN anomaly_state.probe_since > $3 THEN "
                    "anomaly_state.probe_since ELSE $2 END RETURNING probe_run",
                    {obs.account.value(), obs.now, obs.now - window}));
    if (run >= policy.anomaly_probe_run) {
      SB_RETURN_IF_ERROR(tx.Exec("UPDATE anomaly_state SET probe_run = 0, probe_since = 0 WHERE "
                                 "account_id = $1",
                                 {obs.account.value()})
                             .status());
      severe = true;
      raised.push_back({"anomaly.probing", "severe",
                        std::to_string(run) + " denials or not-founds within " +
                            std::to_string(policy.anomaly_probe_window_minutes) +
                            " minutes; the last: " + obs.capability +
                            (obs.kind == Observation::kDenied ? " (denied)" : " (not found)")});
    }
  }

  AnomalyOutcome out;
  for (const Raised& r : raised) {
    SB_ASSIGN_OR_RETURN(Alert a, RaiseAlert(tx, obs, members, r));
    out.alerts.push_back(std::move(a));
  }
  if (severe) {
    // The severe alert is the last one raised.
    SB_RETURN_IF_ERROR(Suspend(tx, obs, out.alerts.back()));
    out.suspended = true;
  }
  return out;
}

Result<std::vector<AlertCount>> CountAlerts(store::Tx& tx) {
  std::vector<AlertCount> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT rule, severity, COUNT(*), COALESCE(SUM(CASE WHEN acknowledged_at IS NULL THEN 1 "
      "ELSE 0 END), 0) FROM alerts GROUP BY rule, severity ORDER BY rule, severity",
      {}, [&](const store::Row& r) {
        out.push_back({std::string(r.Text(0)), std::string(r.Text(1)), r.Int(2), r.Int(3)});
        return true;
      }));
  return out;
}

Result<Alert> RaiseCanaryTouch(store::Tx& tx, AccountId requester, std::string_view detail,
                               std::string_view request_id, Micros now) {
  Observation obs;
  obs.account = requester;
  obs.capability = "member.export";
  obs.now = now;
  obs.request_id = std::string(request_id);
  return RaiseAlert(tx, obs, {}, Raised{"export.canary_touch", "severe", std::string(detail)});
}

Result<std::vector<Alert>> ListAlerts(store::Tx& tx, const AlertFilter& filter) {
  std::string sql =
      "SELECT id, account_id, rule, severity, at, detail, request_id, acknowledged_at, "
      "acknowledged_by, acknowledge_note FROM alerts WHERE 1 = 1";
  std::vector<store::Value> params;
  if (filter.open_only) sql += " AND acknowledged_at IS NULL";
  if (filter.account.valid()) {
    params.emplace_back(filter.account.value());
    sql += " AND account_id = $" + std::to_string(params.size());
  }
  params.emplace_back(std::int64_t{std::max(filter.limit, 0)});
  sql += " ORDER BY at DESC, id DESC LIMIT $" + std::to_string(params.size());
  std::vector<Alert> out;
  SB_RETURN_IF_ERROR(tx.Query(sql, params, [&](const store::Row& r) {
    Alert a;
    a.id = AlertId(r.Int(0));
    a.account = AccountId(r.Int(1));
    a.rule = std::string(r.Text(2));
    a.severity = std::string(r.Text(3));
    a.at = r.Int(4);
    a.detail = std::string(r.Text(5));
    a.request_id = r.TextOr(6);
    a.acknowledged_at = r.IntOr(7, 0);
    a.acknowledged_by = AccountId(r.IntOr(8, 0));
    a.acknowledge_note = r.TextOr(9);
    out.push_back(std::move(a));
    return true;
  }));
  return out;
}

Status AcknowledgeAlert(store::Tx& tx, AlertId alert, AccountId by, std::string_view note,
                        Micros now) {
  if (note.empty()) return Status::InvalidArgument("acknowledging an alert needs a note");
  if (note.size() > 2000) return Status::InvalidArgument("a note is at most 2000 characters");
  std::optional<std::int64_t> account;
  std::string rule;
  bool acknowledged = false;
  SB_RETURN_IF_ERROR(tx.Query("SELECT account_id, rule, acknowledged_at FROM alerts WHERE id = $1",
                              {alert.value()}, [&](const store::Row& r) {
                                account = r.Int(0);
                                rule = std::string(r.Text(1));
                                acknowledged = !r.IsNull(2);
                                return false;
                              }));
  if (!account) return Status::NotFound("no alert " + alert.ToString());
  if (acknowledged) {
    return Status::FailedPrecondition("alert " + alert.ToString() + " was acknowledged already");
  }
  SB_RETURN_IF_ERROR(
      tx.Exec("UPDATE alerts SET acknowledged_at = $2, acknowledged_by = $3, "
              "acknowledge_note = $4 WHERE id = $1",
              {alert.value(), now, by.valid() ? store::Value(by.value()) : store::Value(), note})
          .status());
  audit::Event e;
  e.at = now;
  if (by.valid()) e.actor = by.value();
  e.on_behalf_of = *account;
  e.action = "alert.acknowledge";
  e.decision = "allow";
  e.rule = rule;
  return audit::AuditLog::Append(tx, std::move(e)).status();
}

}  // namespace switchboard::access
