// Retention (RULEBOOK §10, docs/privacy.md "Retention"): what is kept only
// for a while goes when its time is up. Lapsed members are anonymised
// `lapsed_years` after their lapse date, each by privacy::Erase (kind
// retention, its own transaction and event); expired sessions, sign-up and
// reset links, unused phone-bank invitations, ended leases, caller phones
// never verified, ended sign-in throttles and finished outbox rows and
// account mail are purged in one transaction with one "privacy.retention"
// event carrying the counts. Each owning module deletes its own rows.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "access/policy/policy.h"
#include "core/clock.h"
#include "core/status.h"
#include "core/time_zone.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::privacy {

// Counts by kind: "lapsed_members", "sessions", "account_links",
// "campaign_invites", "phonebank_leases", "caller_verification_codes",
// "login_throttle", "outbox", "account_mail".
using RetentionCounts = std::map<std::string, std::int64_t>;

// Runs retention as of `now`. With `dry_run`, counts what a run would do in
// a read-only transaction and changes nothing (no event either).
Result<RetentionCounts> RunRetention(store::Store& store, const crypto::Sealer& sealer,
                                     const access::Policy& policy, Micros now, bool dry_run);

// The daily schedule: the last run instant is kept in the settings table.
// Due when no run has happened since the most recent `run_hour`:00 in `zone`
// at or before `now` (so a server started after a missed run catches up at
// once).
Result<bool> RetentionDue(store::Store& store, const TimeZone& zone, int run_hour, Micros now);
// RetentionDue, then RunRetention and the record of the run; returns the
// counts, or nullopt when not due.
Result<std::optional<RetentionCounts>> RunRetentionIfDue(store::Store& store,
                                                         const crypto::Sealer& sealer,
                                                         const access::Policy& policy,
                                                         const TimeZone& zone, Micros now);

// The most recent instant at `run_hour`:00 local time at or before `now`.
Micros LastScheduled(const TimeZone& zone, int run_hour, Micros now);

// "kind: n" lines, for people.
std::string DescribeRetention(const RetentionCounts& counts);

}  // namespace switchboard::privacy
