#include "access/guard/gate.h"

#include <algorithm>

#include "access/guard/anomaly.h"
#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "core/log.h"

namespace switchboard::access {

Acting GateResult::acting(const GateRequest& r) const {
  Acting a = ActingOf(r);
  const PrincipalData& who = data(r);
  a.staff = who.account.staff;
  a.display_name = who.account.display_name;
  a.decision = &decision;
  a.grants = who.grants;
  return a;
}

Result<GateResult> Authorise(store::Tx& tx, const Policy& policy, const members::OrgTree& tree,
                             const GateRequest& r, bool record) {
  GateResult out;
  // The account and grants as this transaction sees them.
  SB_ASSIGN_OR_RETURN(std::int64_t version, ReadAccessVersion(tx));
  if (version != r.session->access_version) {
    SB_ASSIGN_OR_RETURN(out.fresh, LoadPrincipal(tx, r.session->session.account));
  }
  // `who` refers to out's grants only within this function; the result
  // keeps no pointer into itself, so it may be moved.
  const Principal who = out.data(r).principal(r.session->session.second_factor);
  const UnitId root = tree.root() ? tree.root()->id : UnitId();

  std::optional<UnitId> unit;
  if (r.unit) {
    auto found = r.unit(tx);
    if (!found) {
      if (found.error().code() != StatusCode::kNotFound) return found.error();
      // Only someone who could see such a thing learns that it does not exist.
      const bool holds = !ScopesHolding(policy, who, r.capability, r.now).empty();
      out.outcome = holds ? GateOutcome::kNotFound : GateOutcome::kDenied;
      out.decision.rule = holds ? "not_found" : "capability.not_held";
      out.decision.deny_reason =
          holds ? "no " + std::string(r.what) + " has that id"
                : "none of your grants in force includes " + std::string(r.capability);
      out.unit = root;
      if (record) {
        SB_ASSIGN_OR_RETURN(out.suspended, RecordRefusal(tx, policy, r, out.decision, holds));
        out.recorded = true;
      }
      return out;
    }
    unit = *found;
  }
  out.unit = unit ? *unit : root;
  Target target{unit};
  std::vector<std::shared_ptr<const Overlay>> in_force;
  std::vector<const Overlay*> overlays;
  if (r.overlays) {
    SB_ASSIGN_OR_RETURN(in_force, r.overlays->InForce(tx, r.now));
    for (const auto& o : in_force) overlays.push_back(o.get());
  }
  // What the request publishes and acts on, read only for an overlay that
  // looks at it for this account.
  const bool content = std::any_of(overlays.begin(), overlays.end(),
                                   [&](const Overlay* o) { return o->ReadsContent(who, r.now); });
  Publication publication;
  if (content && r.publication) {
    SB_ASSIGN_OR_RETURN(publication, r.publication(tx));
    target.publication = &publication;
  }
  Facility facility;
  if (content && r.facility) {
    SB_ASSIGN_OR_RETURN(facility, r.facility(tx));
    target.facility = &facility;
  }
  out.decision = Decide(policy, tree, who, r.capability, target, r.now, overlays);
  if (!out.decision.allow) {
    out.outcome = GateOutcome::kDenied;
    if (record) {
      SB_ASSIGN_OR_RETURN(out.suspended, RecordRefusal(tx, policy, r, out.decision, false));
      out.recorded = true;
    }
    return out;
  }
  // Quotas: only for capabilities the role meters.
  const Role* role = out.decision.role;
  if (role && role->quotas.count(std::string(r.capability))) {
    if (!record) {
      out.charge_pending = true;
    } else {
      SB_ASSIGN_OR_RETURN(out.quota, ChargeQuota(tx, r, out.decision));
      if (!out.quota.allow) {
        out.outcome = GateOutcome::kOverQuota;
        out.recorded = true;
        return out;
      }
    }
  }
  out.outcome = GateOutcome::kAllowed;
  return out;
}

Acting ActingOf(const ActiveSession& s, Micros now, std::string_view request_id,
                std::string_view client) {
  Acting a;
  a.account = s.session.account;
  a.staff = s.data.account.staff;
  a.display_name = s.data.account.display_name;
  a.now = now;
  a.request_id = std::string(request_id);
  a.client = std::string(client);
  return a;
}

Acting ActingOf(const GateRequest& r) {
  return ActingOf(*r.session, r.now, r.request_id, r.client);
}

Result<bool> RecordRefusal(store::Tx& tx, const Policy& policy, const GateRequest& r,
                           const Decision& d, bool not_found) {
  return RecordRefusal(tx, policy, ActingOf(r), r.action, d, not_found, r.member);
}

Result<bool> RecordRefusal(store::Tx& tx, const Policy& policy, const Acting& who,
                           std::string_view action, const Decision& d, bool not_found,
                           MemberId member) {
  audit::Event e = who.Deny(action, not_found ? "not_found" : d.rule);
  if (d.grant.valid()) e.grant_id = d.grant.value();
  if (d.contest != 0) e.contest = d.contest;
  if (member.valid()) e.members.push_back(member.value());
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  Observation o;
  o.account = who.account;
  o.capability = std::string(action);
  o.kind = not_found ? Observation::kNotFound : Observation::kDenied;
  if (member.valid()) o.members.push_back(member);
  o.now = who.now;
  o.request_id = who.request_id;
  SB_ASSIGN_OR_RETURN(AnomalyOutcome outcome, Observe(tx, policy, o));
  return outcome.suspended;
}

Result<QuotaCheck> ChargeQuota(store::Tx& tx, const GateRequest& r, const Decision& allow) {
  SB_ASSIGN_OR_RETURN(QuotaCheck q,
                      Charge(tx, r.session->session.account, *allow.role, r.capability, r.now));
  if (q.allow) return q;
  audit::Event e = ActingOf(r).Deny(r.capability, "quota.exceeded");
  e.grant_id = allow.grant.value();
  if (r.member.valid()) e.members.push_back(r.member.value());
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  return q;
}

Status ObserveRead(store::Tx& tx, const Policy& policy, const Acting& who,
                   std::string_view capability, std::vector<MemberId> members) {
  Observation o;
  o.account = who.account;
  o.capability = std::string(capability);
  o.kind = Observation::kAllowed;
  o.members = std::move(members);
  o.now = who.now;
  o.request_id = who.request_id;
  SB_ASSIGN_OR_RETURN(AnomalyOutcome out, Observe(tx, policy, o));
  if (out.suspended) {
    log::Warn("access", "account suspended by an anomaly rule",
              {{"account", o.account}, {"request_id", who.request_id}});
  }
  return Status::Ok();
}

}  // namespace switchboard::access
