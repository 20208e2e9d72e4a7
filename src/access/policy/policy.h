// Policy: the deployment's access rules, from one TOML file (policy.toml in
// the data directory): roles (capabilities and the field classes each may
// see), the longest grant each role may receive, per-role quotas, session
// timeouts and calling hours. Parsed and validated once; errors name the line.
// Immutable after loading and safe to share between threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace switchboard::access {

// Every capability the platform knows: one verb on one kind of object.
using NameSet = std::set<std::string, std::less<>>;  // looks up by string_view
const NameSet& KnownCapabilities();
// The field classes a role may be allowed to see.
const std::set<std::string>& KnownFieldClasses();

struct Quota {
  std::int64_t per_day = 0;   // 0 = unlimited by day
  std::int64_t per_hour = 0;  // 0 = unlimited by hour
};

struct Role {
  std::string name;
  NameSet capabilities;
  std::set<std::string> fields;
  // Longest grant of this role, in days.
  int max_grant_days = 365;
  // Needs a second approver to grant and a second factor to use. True when
  // the file says so or when the role can export or view contact data.
  bool privileged = false;
  std::map<std::string, Quota> quotas;  // by capability
};

struct Policy {
  std::map<std::string, Role> roles;
  // Whether any role meters `capability` with a quota.
  bool Meters(std::string_view capability) const {
    for (const auto& [name, role] : roles) {
      if (role.quotas.count(std::string(capability))) return true;
    }
    return false;
  }
  int session_idle_minutes_privileged = 30;
  int session_idle_minutes_other = 480;
  int session_absolute_hours = 12;
  int calling_start_minute = 9 * 60;  // local time, minutes after midnight
  int calling_end_minute = 21 * 60;
  int retention_lapsed_years = 6;
  // [retention] ages after which short-lived rows are purged (docs/privacy.md,
  // "Retention"), and the hour (organisation's time zone) the daily run starts.
  int retention_session_days = 30;        // sessions expired or revoked
  int retention_link_days = 7;            // sign-up and reset links expired
  int retention_invitation_days = 30;     // phone-bank invitations expired, unused
  int retention_lease_hours = 24;         // phone-bank leases ended
  int retention_verification_hours = 24;  // caller phones never verified
  int retention_throttle_days = 1;        // sign-in throttles ended
  int retention_outbox_days = 90;         // outbox rows and account mail finished
  int retention_run_hour = 3;

  // [login]: failed sign-ins within `window` lock the account (or the client
  // address) for `lock` minutes.
  int login_max_failures_per_account = 5;
  int login_max_failures_per_address = 20;
  int login_window_minutes = 15;
  int login_lock_minutes = 15;
  // One-time links by e-mail (sign-up and password reset, access/store/
  // enrolment.h): how long a link works, and how many may be asked for per
  // typed address or membership number, per person on record and per client
  // address within `link_window_minutes`.
  int link_minutes = 30;
  int link_requests_per_identifier = 3;
  int link_requests_per_address = 20;
  int link_window_minutes = 60;

  // [search]: the most members one search page may return.
  int search_page_max = 50;

  // [anomaly] (RULEBOOK §5): thresholds for the rules that raise DPO alerts.
  // rate: record touches in one hour above `rate_factor` x the account's own
  // hourly baseline (over `baseline_days`) and above `rate_floor_per_hour`.
  int anomaly_rate_factor = 5;
  int anomaly_rate_floor_per_hour = 200;
  int anomaly_baseline_days = 14;
  // probing: this many denials or not-founds within `probe_window_minutes`
  // (severe: suspends). Successful requests do not reset the count: a
  // scraper guessing ids would interleave valid ones to stay under a "run".
  int anomaly_probe_run = 20;
  int anomaly_probe_window_minutes = 60;
  // [phonebank] (RULEBOOK §6, TARGETS R5): the largest pace burst an
  // organiser may give a campaign (new contacts before the interval applies).
  // Only the policy's owner raises it.
  int phonebank_pace_burst_max = 5;
  // [privacy] name_volunteers: a member's own report names the volunteers
  // who saw their data (by default: their role and unit only).
  bool privacy_name_volunteers = false;
  // [messaging] (RULEBOOK §7): a second approval above this audience size;
  // hard bounces after which an address is suppressed.
  std::int64_t messaging_approval_audience_above = 1000;
  int messaging_hard_bounce_limit = 2;
  // [export] (RULEBOOK §3, §10; docs/privacy.md, "Exports"): whether a
  // second account approves each export before it can be downloaded; the
  // longest stated purpose; the fewest canary records mixed into one file
  // (more for large files: one per 100 rows).
  bool export_approval = true;
  int export_purpose_max_chars = 500;
  int export_canaries_min = 40;
  // A canary touched outside normal assignment is always severe.
  std::string source_hash;  // SHA-256 (hex) of the file text, for the audit log

  const Role* FindRole(std::string_view name) const;
};

// Parses and validates policy text; `source_name` is used in messages.
Result<Policy> ParsePolicy(std::string_view toml_text, std::string_view source_name);
// The policy written by `switchboard init`: the rulebook's defaults.
std::string DefaultPolicyToml();

}  // namespace switchboard::access
