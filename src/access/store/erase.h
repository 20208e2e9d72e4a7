// What access holds about a member, erased (privacy::Erase), and its
// short-lived rows purged by age (privacy retention), in the caller's
// transaction. Nothing here audits: the caller's one event carries the
// counts.
//
// A member's account is not deleted: its id is the actor of audit events,
// the owner of campaigns and the granter of grants, and those must keep
// naming someone. It becomes a closed shell: login "erased-<id>", display
// name "Erased account", state disabled (reason "erased"), no password, no
// second factor, no recovery codes, no sessions, every grant revoked, and
// its sealed address, links and queued mail gone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::access {

// Rows changed or removed, by table name.
using AccessCounts = std::map<std::string, std::int64_t>;

struct AccessErasure {
  std::vector<AccountId> accounts;  // the member's accounts, now closed
  AccessCounts counts;
};

// `email_match_keys`: the member's e-mail addresses (members::Email
// match_key), to find sign-up links, account addresses and queued mail that
// name them without naming the member.
Result<AccessErasure> EraseMemberAccess(store::Tx& tx, const crypto::Sealer& sealer,
                                        MemberId member,
                                        const std::vector<std::string>& email_match_keys,
                                        Micros now);

// Retention: sessions that expired or were revoked before `sessions_before`;
// sign-up and reset links that expired before `links_before`; sign-in
// throttles whose window and lock ended before `throttles_before`; account
// mail finished (sent or failed) before `mail_before`. Counts by kind; with
// `dry_run`, counts and changes nothing.
struct AccessPurge {
  Micros sessions_before = 0;
  Micros links_before = 0;
  Micros throttles_before = 0;
  Micros mail_before = 0;
};
Result<AccessCounts> PurgeExpired(store::Tx& tx, const AccessPurge& purge, bool dry_run);

}  // namespace switchboard::access
