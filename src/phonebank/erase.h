// What the phone bank holds about a member, erased (privacy::Erase) or
// purged by age (privacy retention), in the caller's transaction. Nothing
// here audits: the caller's one event carries the counts.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::phonebank {

// Rows changed or removed, by table name.
using PhonebankCounts = std::map<std::string, std::int64_t>;

// A member's calls keep their outcome and the counted answers (yes/no,
// choices, scales) under the opaque member id; free-text answers, which may
// say anything about the person, are removed. The member's queue entries
// are closed (done, no lease). The contact log holds only channel, campaign,
// outcome and time, and stays.
Result<PhonebankCounts> EraseMember(store::Tx& tx, MemberId member);

// The caller's phone (caller_endpoints) of an account, deleted, with its
// count of wrong codes.
Result<std::int64_t> EraseCallerEndpoint(store::Tx& tx, AccountId account);

// Retention: leases that ended before `leases_before` are cleared; caller
// endpoints (phone and code) created before `verifications_before` and never
// verified are dropped (the caller registers again); invitations that
// expired before `invitations_before` and that nobody joined by are deleted.
// Counts by kind; with `dry_run`, counts and changes nothing.
struct PhonebankPurge {
  Micros leases_before = 0;
  Micros verifications_before = 0;
  Micros invitations_before = 0;
};
Result<PhonebankCounts> PurgeExpired(store::Tx& tx, const PhonebankPurge& purge, bool dry_run);

}  // namespace switchboard::phonebank
