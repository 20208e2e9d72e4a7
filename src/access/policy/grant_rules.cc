#include "access/policy/grant_rules.h"

#include <algorithm>

namespace switchboard::access {

namespace {

bool Includes(const Role& holder, const Role& wanted) {
  return std::includes(holder.capabilities.begin(), holder.capabilities.end(),
                       wanted.capabilities.begin(), wanted.capabilities.end()) &&
         std::includes(holder.fields.begin(), holder.fields.end(), wanted.fields.begin(),
                       wanted.fields.end());
}

Micros EndOf(const Grant& g) {
  return g.source_end != 0 && g.source_end < g.not_after ? g.source_end : g.not_after;
}

}  // namespace

Result<GrantCheck> CheckGrantRequest(const Policy& policy, const members::OrgTree& tree,
                                     const Principal& granter, const GrantRequest& req,
                                     Micros now) {
  const Role* role = policy.FindRole(req.role);
  if (!role) return Status::InvalidArgument("the policy has no role '" + req.role + "'");
  const members::Unit* scope = tree.Find(req.scope);
  if (!scope) return Status::InvalidArgument("no such unit for the grant's scope");
  if (req.account == granter.account) {
    return Status::PermissionDenied("nobody grants to themselves");
  }
  if (req.purpose.empty()) return Status::InvalidArgument("a grant needs a purpose");
  if (req.reason.empty()) return Status::InvalidArgument("a grant needs a reason");
  if (req.not_after == 0) return Status::InvalidArgument("a grant needs an end (not_after)");
  if (req.not_after <= req.not_before) {
    return Status::InvalidArgument("the grant ends before it starts");
  }
  if (req.not_after <= now) return Status::InvalidArgument("the grant would already have ended");
  if (req.not_before < now - 60 * kMicrosPerSecond) {
    // A backdated grant would rewrite "who could do what" for the past.
    return Status::InvalidArgument("a grant cannot start in the past");
  }
  const Micros max_len = static_cast<Micros>(role->max_grant_days) * kMicrosPerDay;
  if (req.not_after - req.not_before > max_len) {
    return Status::InvalidArgument("role " + role->name + " may be granted for at most " +
                                   std::to_string(role->max_grant_days) + " days");
  }
  if (req.source != "direct") {
    const bool known =
        req.source.rfind("campaign:", 0) == 0 || req.source.rfind("contest:", 0) == 0;
    if (!known) {
      return Status::InvalidArgument("a grant's source is direct, campaign:<id> or contest:<id>");
    }
    if (req.source_end == 0 || req.not_after > req.source_end) {
      return Status::InvalidArgument("a grant derived from " + req.source +
                                     " cannot outlive it (it ends " +
                                     FormatTimestamp(req.source_end) + ")");
    }
  }
  // The granter may manage grants here...
  const Decision manage = Decide(policy, tree, granter, "grant.manage", Target{req.scope}, now);
  if (!manage.allow) {
    return Status::PermissionDenied("you may not grant access in " + scope->name + ": " +
                                    manage.reason());
  }
  // ...and holds what they give, over an equal or wider scope.
  const Grant* covering = nullptr;
  for (const Grant& g : granter.grants) {
    if (g.account != granter.account || !GrantInForce(g, now)) continue;
    const Role* held = policy.FindRole(g.role);
    if (!held || !Includes(*held, *role) || !tree.IsWithin(req.scope, g.scope)) continue;
    if (!covering || EndOf(g) > EndOf(*covering)) covering = &g;
  }
  if (!covering) {
    return Status::PermissionDenied("you do not hold role " + role->name +
                                    " (or one including it) over " + scope->name +
                                    " or wider, so you cannot grant it");
  }
  if (req.not_after > EndOf(*covering)) {
    return Status::InvalidArgument("the grant cannot outlast your own grant " +
                                   covering->id.ToString() + ", which ends " +
                                   FormatTimestamp(EndOf(*covering)));
  }
  return GrantCheck{role->privileged, covering->id};
}

Status CheckApproval(const Policy& policy, const members::OrgTree& tree, const Principal& approver,
                     const Grant& pending, Micros now) {
  if (pending.approved) return Status::FailedPrecondition("the grant is already approved");
  if (pending.revoked_at != 0) return Status::FailedPrecondition("the grant was revoked");
  if (approver.account == pending.granted_by) {
    return Status::PermissionDenied("the second approver must be someone other than the granter");
  }
  if (approver.account == pending.account) {
    return Status::PermissionDenied("nobody approves a grant to themselves");
  }
  const Decision d = Decide(policy, tree, approver, "grant.manage", Target{pending.scope}, now);
  if (!d.allow) return Status::PermissionDenied("you may not approve this grant: " + d.reason());
  if (now >= pending.not_after) return Status::FailedPrecondition("the grant has already ended");
  return Status::Ok();
}

Status CheckRevocation(const Policy& policy, const members::OrgTree& tree, const Principal& revoker,
                       const Grant& grant, Micros now) {
  if (grant.revoked_at != 0) return Status::FailedPrecondition("the grant is already revoked");
  if (revoker.account == grant.account || revoker.account == grant.granted_by) return Status::Ok();
  const Decision d = Decide(policy, tree, revoker, "grant.manage", Target{grant.scope}, now);
  if (!d.allow) return Status::PermissionDenied("you may not revoke this grant: " + d.reason());
  return Status::Ok();
}

}  // namespace switchboard::access
