#include "access/store/access_service.h"

#include "access/store/sessions.h"

namespace switchboard::access {

namespace {

audit::Event MakeEvent(std::string action, AccountId actor, std::string_view decision,
                       std::string_view rule, GrantId grant, Micros at) {
  audit::Event e;
  e.at = at;
  e.action = std::move(action);
  if (actor.valid()) e.actor = actor.value();
  e.decision = std::string(decision);
  e.rule = std::string(rule);
  if (grant.valid()) e.grant_id = grant.value();
  return e;
}

// Rule names for refusals that come from the grant rules rather than Decide.
std::string_view RuleFor(const Status& st) {
  switch (st.code()) {
    case StatusCode::kPermissionDenied:
      return "grant_rules.permission";
    case StatusCode::kInvalidArgument:
      return "grant_rules.invalid";
    case StatusCode::kFailedPrecondition:
      return "grant_rules.precondition";
    case StatusCode::kNotFound:
      return "grant_rules.not_found";
    default:
      return "grant_rules.error";
  }
}

// Records a refusal in a transaction of its own, then returns it.
Status Refused(store::Store& store, std::string action, AccountId actor, GrantId grant,
               const Status& why, Micros at) {
  if (why.code() == StatusCode::kUnavailable || why.code() == StatusCode::kInternal ||
      why.code() == StatusCode::kDataLoss) {
    return why;
  }
  Status st = store.Write([&](store::Tx& tx) {
    return audit::AuditLog::Append(tx, MakeEvent(action, actor, "deny", RuleFor(why), grant, at))
        .status();
  });
  return st.ok() ? why : st.WithContext("recording a refusal");
}

}  // namespace

Result<GrantId> AccessService::AddGrant(AccountId granter, bool second_factor,
                                        const GrantRequest& request) {
  GrantId id;
  Status st = store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    SB_ASSIGN_OR_RETURN(PrincipalData who, LoadPrincipal(tx, granter));
    auto grantee = GetAccount(tx, request.account);
    if (!grantee) return Status::NotFound("no account to receive the grant");
    SB_ASSIGN_OR_RETURN(
        GrantCheck check,
        CheckGrantRequest(policy_, tree_, who.principal(second_factor), request, now));
    SB_ASSIGN_OR_RETURN(id, InsertGrant(tx, request, granter, !check.needs_second_approver, now));
    return audit::AuditLog::Append(
               tx, MakeEvent(check.needs_second_approver ? "grant.add.pending" : "grant.add",
                             granter, "allow", "grant_rules.ok", id, now))
        .status();
  });
  if (!st.ok()) return Refused(store_, "grant.add", granter, GrantId(), st, clock_.Now());
  return id;
}

Result<GrantId> AccessService::Bootstrap(AccountId owner, Micros not_after,
                                         std::string_view reason) {
  SB_ASSIGN_OR_RETURN(std::vector<GrantId> ids, BootstrapOwners({owner}, not_after, reason));
  return ids.front();
}

Result<std::vector<GrantId>> AccessService::BootstrapOwners(const std::vector<AccountId>& owners,
                                                            Micros not_after,
                                                            std::string_view reason) {
  std::vector<GrantId> ids;
  Status st = store_.Write([&](store::Tx& tx) -> Status {
    ids.clear();
    const Micros now = clock_.Now();
    SB_ASSIGN_OR_RETURN(std::int64_t existing, tx.QueryInt("SELECT COUNT(*) FROM grants"));
    if (existing > 0) {
      return Status::FailedPrecondition(
          "grants exist already; the bootstrap grant is only for a new deployment");
    }
    if (owners.empty() || owners.size() > 2) {
      return Status::InvalidArgument("the bootstrap names one or two owners");
    }
    if (owners.size() == 2 && owners[0] == owners[1]) {
      return Status::InvalidArgument("the two founding owners must be different accounts");
    }
    const Role* role = policy_.FindRole("owner");
    if (!role) return Status::FailedPrecondition("the policy has no 'owner' role");
    if (!tree_.root()) return Status::FailedPrecondition("the organisation tree is empty");
    if (reason.empty()) return Status::InvalidArgument("the bootstrap grant needs a reason");
    if (not_after <= now || not_after - now > role->max_grant_days * kMicrosPerDay) {
      return Status::InvalidArgument("the bootstrap grant must end within " +
                                     std::to_string(role->max_grant_days) + " days");
    }
    for (AccountId owner : owners) {
      SB_RETURN_IF_ERROR(GetAccount(tx, owner).status());
      GrantRequest r{owner, "owner",   tree_.root()->id,    "run the deployment",
                     now,   not_after, std::string(reason), "direct",
                     0};
      SB_ASSIGN_OR_RETURN(GrantId id, InsertGrant(tx, r, AccountId(), /*approved=*/true, now));
      audit::Event e = MakeEvent("grant.bootstrap", AccountId(), "allow", "bootstrap", id, now);
      e.on_behalf_of = owner.value();
      SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
      ids.push_back(id);
    }
    return Status::Ok();
  });
  if (!st.ok()) return Refused(store_, "grant.bootstrap", AccountId(), GrantId(), st, clock_.Now());
  return ids;
}

Status AccessService::Approve(AccountId approver, bool second_factor, GrantId grant) {
  Status st = store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    SB_ASSIGN_OR_RETURN(PrincipalData who, LoadPrincipal(tx, approver));
    SB_ASSIGN_OR_RETURN(Grant g, GetGrant(tx, grant));
    SB_RETURN_IF_ERROR(CheckApproval(policy_, tree_, who.principal(second_factor), g, now));
    SB_RETURN_IF_ERROR(MarkGrantApproved(tx, grant, approver, now));
    return audit::AuditLog::Append(
               tx, MakeEvent("grant.approve", approver, "allow", "grant_rules.ok", grant, now))
        .status();
  });
  return st.ok() ? st : Refused(store_, "grant.approve", approver, grant, st, clock_.Now());
}

Status AccessService::Revoke(AccountId revoker, bool second_factor, GrantId grant,
                             std::string_view reason) {
  Status st = store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    SB_ASSIGN_OR_RETURN(PrincipalData who, LoadPrincipal(tx, revoker));
    SB_ASSIGN_OR_RETURN(Grant g, GetGrant(tx, grant));
    SB_RETURN_IF_ERROR(CheckRevocation(policy_, tree_, who.principal(second_factor), g, now));
    SB_RETURN_IF_ERROR(MarkGrantRevoked(tx, grant, revoker, reason, now));
    return audit::AuditLog::Append(
               tx, MakeEvent("grant.revoke", revoker, "allow", "grant_rules.ok", grant, now))
        .status();
  });
  return st.ok() ? st : Refused(store_, "grant.revoke", revoker, grant, st, clock_.Now());
}

Result<GrantId> GrantBySystem(store::Tx& tx, const GrantRequest& request, std::string_view why,
                              Micros now) {
  SB_ASSIGN_OR_RETURN(GrantId id, InsertGrant(tx, request, AccountId(), /*approved=*/true, now));
  audit::Event e;
  e.at = now;
  e.action = "grant." + std::string(why);
  e.decision = "allow";
  e.rule = std::string(why);
  e.grant_id = id.value();
  e.on_behalf_of = request.account.value();
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  return id;
}

Result<Decision> ExplainAt(store::Tx& tx, const Policy& policy, const members::OrgTree& tree,
                           AccountId account, std::string_view capability, UnitId unit, Micros at) {
  SB_ASSIGN_OR_RETURN(PrincipalData who, LoadPrincipal(tx, account));
  // Grants as they stood at `at`: not yet recorded, not yet approved, not
  // yet revoked.
  std::vector<Grant> then;
  for (Grant g : who.grants) {
    if (g.created_at > at) continue;
    if (g.approved && g.approved_at > at) g.approved = false;
    if (g.revoked_at > at) g.revoked_at = 0;
    then.push_back(g);
  }
  who.grants = std::move(then);
  return Decide(policy, tree, who.principal(/*second_factor=*/true), capability, Target{unit}, at);
}

Result<Decision> AccessService::Explain(AccountId account, std::string_view capability, UnitId unit,
                                        Micros at) {
  Decision d;
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(d, ExplainAt(tx, policy_, tree_, account, capability, unit, at));
    return Status::Ok();
  }));
  return d;
}

Result<AccountId> AccessService::AddAccount(const NewAccount& account,
                                            std::string_view password_hash) {
  AccountId id;
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(id, CreateAccount(tx, account, clock_.Now()));
    if (!password_hash.empty()) SB_RETURN_IF_ERROR(SetPasswordHash(tx, id, password_hash));
    audit::Event e =
        MakeEvent("account.add", AccountId(), "allow", "operator", GrantId(), clock_.Now());
    e.on_behalf_of = id.value();
    return audit::AuditLog::Append(tx, e).status();
  }));
  return id;
}

Status AccessService::SetState(AccountId account, AccountState state, std::string_view reason) {
  return store_.Write([&](store::Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(SetAccountState(tx, account, state, reason, clock_.Now()));
    if (state != AccountState::kActive) {
      SB_RETURN_IF_ERROR(RevokeAccountSessions(tx, account,
                                               "account " + std::string(AccountStateName(state)),
                                               clock_.Now())
                             .status());
    }
    audit::Event e = MakeEvent("account." + std::string(AccountStateName(state)), AccountId(),
                               "allow", "operator", GrantId(), clock_.Now());
    e.on_behalf_of = account.value();
    return audit::AuditLog::Append(tx, e).status();
  });
}

Status AccessService::SetStateAs(AccountId actor, bool second_factor, AccountId account,
                                 AccountState state, std::string_view reason,
                                 std::string_view request_id) {
  const std::string action = "account." + std::string(AccountStateName(state));
  GrantId used;
  Status st = store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    SB_ASSIGN_OR_RETURN(PrincipalData who, LoadPrincipal(tx, actor));
    const Decision d =
        Decide(policy_, tree_, who.principal(second_factor), "account.manage", Target{}, now);
    used = d.grant;
    if (!d.allow) return Status::PermissionDenied(d.reason());
    if (actor == account)
      return Status::PermissionDenied("nobody changes their own account's state");
    if (reason.empty()) return Status::InvalidArgument("give a reason; it goes on the record");
    SB_RETURN_IF_ERROR(GetAccount(tx, account).status());
    SB_RETURN_IF_ERROR(SetAccountState(tx, account, state, reason, now));
    if (state != AccountState::kActive) {
      SB_RETURN_IF_ERROR(
          RevokeAccountSessions(tx, account, "account " + std::string(AccountStateName(state)), now)
              .status());
    }
    audit::Event e = MakeEvent(action, actor, "allow", d.rule, d.grant, now);
    e.on_behalf_of = account.value();
    e.request_id = std::string(request_id);
    return audit::AuditLog::Append(tx, e).status();
  });
  return st.ok() ? st : Refused(store_, action, actor, used, st, clock_.Now());
}

Status AccessService::SetPassword(AccountId account, std::string_view password_hash) {
  return store_.Write([&](store::Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(SetPasswordHash(tx, account, password_hash));
    audit::Event e =
        MakeEvent("account.password", AccountId(), "allow", "operator", GrantId(), clock_.Now());
    e.on_behalf_of = account.value();
    return audit::AuditLog::Append(tx, e).status();
  });
}

Status AccessService::EnrolTotp(AccountId account, const TotpState& sealed_totp) {
  return store_.Write([&](store::Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(SetTotp(tx, account, sealed_totp));
    audit::Event e =
        MakeEvent("account.totp_enrol", account, "allow", "auth.password", GrantId(), clock_.Now());
    return audit::AuditLog::Append(tx, e).status();
  });
}

}  // namespace switchboard::access
