// Anomaly rules (RULEBOOK §5): after every request that touched (or tried to
// touch) member data, the HTTP layer reports what happened with Observe(), in
// the same store transaction as the request itself. Three rules, with
// thresholds from the policy's [anomaly] section:
//
//   anomaly.rate     (warning) record touches in the current clock hour above
//                    rate_factor x the account's own mean hourly touches over
//                    the previous baseline_days days, and above
//                    rate_floor_per_hour. At most one alert per account per
//                    hour. A new account has a baseline of 0: the floor alone
//                    applies.
//   anomaly.probing  (severe) probe_run denials or not-founds within
//                    probe_window_minutes of the first of them; allowed
//                    requests in between do not reset the count (a scraper
//                    would interleave them), the alert does.
//   anomaly.canary   (severe) an allowed request touched a member listed in
//                    the `canaries` table. Normal phone-bank assignment never
//                    hands out canaries, so a canary reached through search or
//                    view is misuse.
//
// "Touched" means the member records an allowed request returned: the
// members of a denied or not-found observation count toward probing only,
// never toward the rate or the canary rule (nothing was read).
//
// Every alert is a row in `alerts` (the DPO's queue) and an audit event
// (action "alert.raised", rule = the rule, actor = the account, members = the
// members of the observation). A severe alert also suspends the account
// (unless it is already suspended or disabled), writing an "account.suspend"
// event with the rule's name, and ends every open session of the account. All
// of it commits with the request that triggered it, or not at all. Alert
// details hold ids and counts only, never personal data.
//
// Reinstatement after an anomaly suspension is a person's decision: an
// operator or DPO uses AccessService::SetState (access/store/access_service.h)
// with kActive and a reason, which is audited. Sessions ended by the
// suspension stay ended; the person signs in again.
//
// Storage (migration 5): anomaly_hours(account_id, hour, touches) counts
// touches per clock hour (rows older than the baseline window are pruned when
// an account starts a new hour); anomaly_state(account_id, probe_run,
// rate_alert_hour); alerts(...). Observe() costs one or two indexed
// statements for an ordinary request (the canary look-up by primary key and
// the hour counter, or the probing counter); the baseline is summed only when
// an hour crosses the floor.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "access/policy/policy.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::access {

using AlertId = Id<struct AlertIdTag>;

struct Observation {
  enum Kind { kAllowed, kDenied, kNotFound };
  AccountId account;
  std::string capability;  // e.g. "member.view"
  Kind kind = kAllowed;
  std::vector<MemberId> members;  // records returned (allowed) or asked for
  Micros now = 0;
  std::string request_id;  // as in the audit log; may be empty
};

struct Alert {
  AlertId id;
  AccountId account;
  std::string rule;      // "anomaly.rate", "anomaly.probing", "anomaly.canary"
  std::string severity;  // "warning" or "severe"
  Micros at = 0;
  std::string detail;  // ids and counts only
  std::string request_id;
  Micros acknowledged_at = 0;  // 0 = open
  AccountId acknowledged_by;
  std::string acknowledge_note;
};

struct AnomalyOutcome {
  std::vector<Alert> alerts;  // raised by this observation
  bool suspended = false;     // a severe rule fired: the account is not active now
};

// Which of `members` are canary records (RULEBOOK §5), in ascending order.
Result<std::vector<MemberId>> Canaries(store::Tx& tx, const std::vector<MemberId>& members);

// Records `obs` and applies the rules, inside the caller's transaction.
Result<AnomalyOutcome> Observe(store::Tx& tx, const Policy& policy, const Observation& obs);

struct AlertFilter {
  bool open_only = false;  // only alerts not yet acknowledged
  AccountId account;       // invalid = every account
  int limit = 100;
};

// A contact point of an export's canary was reached (docs/privacy.md,
// "Exports and leak tracing"): a mail sent or received, or a call made, to
// an address or number that exists only in one exported file. Raises a
// severe "export.canary_touch" alert against `requester` (the account that
// made the export) with `detail` (ids only, naming the export) and an
// "alert.raised" audit event. It does not suspend: the file may have been
// taken from the requester; the DPO decides.
Result<Alert> RaiseCanaryTouch(store::Tx& tx, AccountId requester, std::string_view detail,
                               std::string_view request_id, Micros now);

// Alerts matching `filter`, newest first.
Result<std::vector<Alert>> ListAlerts(store::Tx& tx, const AlertFilter& filter);

// Alerts raised since the database began, and those still open, by rule.
struct AlertCount {
  std::string rule;
  std::string severity;
  std::int64_t raised = 0;
  std::int64_t open = 0;
};
Result<std::vector<AlertCount>> CountAlerts(store::Tx& tx);

// Marks an alert as dealt with by `by` (the DPO), with a note (required), and
// records an "alert.acknowledge" audit event. kNotFound for no such alert,
// kFailedPrecondition when it was acknowledged already, kInvalidArgument for
// an empty note. Acknowledging does not reinstate a suspended account.
Status AcknowledgeAlert(store::Tx& tx, AlertId alert, AccountId by, std::string_view note,
                        Micros now);

}  // namespace switchboard::access
