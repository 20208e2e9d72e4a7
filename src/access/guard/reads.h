// Reads of member data and of the audit log as the API makes them. Each
// reads through the Decision that allowed it (access/store/member_reader.h),
// records the read (member ids and field classes, never values) and feeds
// the anomaly rules, all in the caller's transaction.
#pragma once

#include <vector>

#include "access/policy/acting.h"
#include "access/policy/policy.h"
#include "access/store/member_reader.h"
#include "audit/audit_log.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "store/store.h"

namespace switchboard::access {

// A page of a search within `q.unit` (the page size bounded by the policy).
// Canaries turn up in ordinary searches; only opening one (a view) is the
// touch the canary rule is about, so they are left out of what the anomaly
// rules see, though the event names them.
Result<SearchPage> SearchRegister(store::Tx& tx, const Policy& policy, const members::OrgTree& tree,
                                  const Acting& who, SearchQuery q);
// One member, with the field classes the decision's role may see.
Result<MemberView> ReadMember(store::Tx& tx, const Policy& policy, const members::OrgTree& tree,
                              const Acting& who, MemberId member);
// One member's contact points (privileged roles only).
Result<ContactView> ReadContact(store::Tx& tx, const Policy& policy, const crypto::Sealer& sealer,
                                const Acting& who, MemberId member);

// Audit events matching `f`; the query itself is recorded ("audit.query").
Result<std::vector<audit::Event>> ReadAuditLog(store::Tx& tx, const Acting& who,
                                               const audit::QueryFilter& f);

// Why `account` could or could not use `capability` over `unit` at `at`
// (grants as they stood then); the question is recorded ("access.explain").
Result<Decision> ExplainRecorded(store::Tx& tx, const Policy& policy, const members::OrgTree& tree,
                                 const Acting& who, AccountId account, std::string_view capability,
                                 UnitId unit, Micros at);

}  // namespace switchboard::access
