// The rules for creating, approving and revoking grants (rulebook §3), as pure
// functions over the policy, the tree and the people involved. The store and
// the CLI/API call these before writing anything, and write the audit event
// with the outcome.
//
// "Nobody grants a role they do not hold over an equal or wider scope" is read
// as: the granter holds grant.manage over the new grant's scope, and holds
// (in force, now) a grant over an equal or wider scope whose role includes
// every capability and field class of the role being granted; the new grant
// may not outlast that grant. The first grant of a deployment (the `owner`
// role, by the bootstrap command) is the only exception, and it is recorded.
#pragma once

#include <string>

#include "access/policy/decision.h"
#include "access/policy/policy.h"
#include "core/status.h"
#include "members/org_tree.h"

namespace switchboard::access {

struct GrantRequest {
  AccountId account;  // who receives it
  std::string role;
  UnitId scope;
  std::string purpose;
  Micros not_before = 0;
  Micros not_after = 0;
  std::string reason;
  std::string source = "direct";  // direct, campaign:<id>, contest:<id>
  Micros source_end = 0;          // end of the campaign or contest for derived grants
};

struct GrantCheck {
  bool needs_second_approver = false;  // privileged role: pending until approved
  GrantId granted_under;               // the granter's own covering grant
};

// kInvalidArgument for a malformed request (unknown role, dates, length),
// kPermissionDenied when the granter may not give it; messages say why.
Result<GrantCheck> CheckGrantRequest(const Policy& policy, const members::OrgTree& tree,
                                     const Principal& granter, const GrantRequest& request,
                                     Micros now);

// A second person approves a pending privileged grant: not the granter, not
// the grantee, and holding grant.manage over the grant's scope.
Status CheckApproval(const Policy& policy, const members::OrgTree& tree, const Principal& approver,
                     const Grant& pending, Micros now);

// Revocation: the granter, or anyone with grant.manage over the scope. An
// account may always give up its own grant.
Status CheckRevocation(const Policy& policy, const members::OrgTree& tree, const Principal& revoker,
                       const Grant& grant, Micros now);

}  // namespace switchboard::access
