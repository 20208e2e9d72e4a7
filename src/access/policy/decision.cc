#include "access/policy/decision.h"

namespace switchboard::access {

bool GrantInForce(const Grant& g, Micros now) {
  if (!g.approved) return false;
  if (g.revoked_at != 0 && now >= g.revoked_at) return false;
  if (now < g.not_before || now >= g.not_after) return false;
  if (g.source_end != 0 && now >= g.source_end) return false;
  return true;
}

std::string Decision::reason() const {
  if (!allow) return deny_reason;
  return "grant " + grant.ToString() + " (" + (role ? role->name : "?") + ") covers this until " +
         FormatTimestamp(until);
}

const std::set<std::string>& Decision::fields() const {
  static const std::set<std::string> kNone;
  return allow && role ? role->fields : kNone;
}

namespace {

Decision Deny(std::string rule, std::string reason, GrantId grant = GrantId()) {
  Decision d;
  d.rule = std::move(rule);
  d.deny_reason = std::move(reason);
  d.grant = grant;
  return d;
}

}  // namespace

Decision Decide(const Policy& policy, const members::OrgTree& tree, const Principal& who,
                std::string_view capability, const Target& target, Micros now,
                std::span<const Overlay* const> overlays) {
  if (!KnownCapabilities().contains(capability)) {
    return Deny("capability.unknown", "no such capability: " + std::string(capability));
  }
  if (who.state == AccountState::kSuspended) {
    return Deny("account.suspended", "the account is suspended");
  }
  if (who.state == AccountState::kDisabled) {
    return Deny("account.disabled", "the account is disabled");
  }
  const UnitId target_unit =
      target.unit ? *target.unit : (tree.root() ? tree.root()->id : UnitId());
  // Find the grants that would cover this, and say precisely why the nearest
  // miss did not: ended, not yet started, revoked, out of scope, no capability.
  Decision nearest;  // built only when a deny is the answer
  int nearest_rank = 0;
  auto miss = [&](int rank, std::string rule, std::string reason, GrantId id) {
    if (rank > nearest_rank) {
      nearest_rank = rank;
      nearest = Deny(std::move(rule), std::move(reason), id);
    }
  };
  for (const Grant& g : who.grants) {
    if (g.account != who.account) continue;
    const Role* role = policy.FindRole(g.role);
    if (!role) {
      miss(1, "grant.role_unknown",
           "grant " + g.id.ToString() + " names role '" + g.role +
               "', which the policy no longer defines",
           g.id);
      continue;
    }
    if (!role->capabilities.contains(capability)) {
      miss(2, "grant.no_capability",
           "role " + role->name + " does not include " + std::string(capability), g.id);
      continue;
    }
    if (!tree.IsWithin(target_unit, g.scope)) {
      const members::Unit* scope = tree.Find(g.scope);
      miss(3, "grant.out_of_scope",
           "the target is outside the grant's scope (" + (scope ? scope->name : "unknown unit") +
               ")",
           g.id);
      continue;
    }
    if (!g.approved) {
      miss(4, "grant.pending_approval", "the grant is waiting for a second approver", g.id);
      continue;
    }
    if (g.revoked_at != 0 && now >= g.revoked_at) {
      miss(5, "grant.revoked", "the grant was revoked at " + FormatTimestamp(g.revoked_at), g.id);
      continue;
    }
    if (now < g.not_before) {
      miss(6, "grant.not_started", "the grant starts at " + FormatTimestamp(g.not_before), g.id);
      continue;
    }
    const Micros end = g.source_end != 0 && g.source_end < g.not_after ? g.source_end : g.not_after;
    if (now >= end) {
      miss(7, "grant.ended",
           std::string(g.source == "direct" ? "the grant" : g.source) + " ended at " +
               FormatTimestamp(end),
           g.id);
      continue;
    }
    if (role->privileged && !who.second_factor) {
      miss(8, "auth.second_factor_required",
           "role " + role->name + " needs a second factor (TOTP) for this session", g.id);
      continue;
    }
    Decision allow;
    allow.allow = true;
    allow.rule = "grant.covers";
    allow.grant = g.id;
    allow.role = role;
    allow.until = end;
    bool vetoed = false;
    for (const Overlay* o : overlays) {
      if (auto veto = o->Check(who, capability, target, now, allow)) {
        veto->allow = false;
        if (!veto->grant.valid()) veto->grant = g.id;
        nearest_rank = 9;
        nearest = std::move(*veto);
        vetoed = true;
        break;
      }
    }
    if (!vetoed) return allow;
  }
  if (nearest_rank == 0) return Deny("grant.none", "no grant gives " + std::string(capability));
  return nearest;
}

std::vector<UnitId> ScopesHolding(const Policy& policy, const Principal& who,
                                  std::string_view capability, Micros now) {
  std::vector<UnitId> scopes;
  for (const Grant& g : who.grants) {
    const Role* r = policy.FindRole(g.role);
    if (r && r->capabilities.contains(capability) && GrantInForce(g, now)) {
      scopes.push_back(g.scope);
    }
  }
  return scopes;
}

}  // namespace switchboard::access
