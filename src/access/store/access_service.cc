#include "access/store/access_service.h"

namespace switchboard::access {

Result<GrantId> AccessService::AddGrant(AccountId granter, bool second_factor,
                                        const GrantRequest& request) {
  GrantId id;
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    SB_ASSIGN_OR_RETURN(PrincipalData who, LoadPrincipal(tx, granter));
    auto grantee = GetAccount(tx, request.account);
    if (!grantee) return Status::NotFound("no account to receive the grant");
    SB_ASSIGN_OR_RETURN(
        GrantCheck check,
        CheckGrantRequest(policy_, tree_, who.principal(second_factor), request, now));
    SB_ASSIGN_OR_RETURN(id, InsertGrant(tx, request, granter, !check.needs_second_approver, now));
    return Status::Ok();
  }));
  return id;
}

Result<GrantId> AccessService::Bootstrap(AccountId owner, Micros not_after,
                                         std::string_view reason) {
  GrantId id;
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    SB_ASSIGN_OR_RETURN(std::int64_t existing, tx.QueryInt("SELECT COUNT(*) FROM grants"));
    if (existing > 0) {
      return Status::FailedPrecondition(
          "grants exist already; the bootstrap grant is only for a new deployment");
    }
    SB_RETURN_IF_ERROR(GetAccount(tx, owner).status());
    const Role* role = policy_.FindRole("owner");
    if (!role) return Status::FailedPrecondition("the policy has no 'owner' role");
    if (!tree_.root()) return Status::FailedPrecondition("the organisation tree is empty");
    if (reason.empty()) return Status::InvalidArgument("the bootstrap grant needs a reason");
    if (not_after <= now || not_after - now > role->max_grant_days * kMicrosPerDay) {
      return Status::InvalidArgument("the bootstrap grant must end within " +
                                     std::to_string(role->max_grant_days) + " days");
    }
    GrantRequest r{owner, "owner",   tree_.root()->id,    "run the deployment",
                   now,   not_after, std::string(reason), "direct",
                   0};
    SB_ASSIGN_OR_RETURN(id, InsertGrant(tx, r, AccountId(), /*approved=*/true, now));
    return Status::Ok();
  }));
  return id;
}

Status AccessService::Approve(AccountId approver, bool second_factor, GrantId grant) {
  return store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    SB_ASSIGN_OR_RETURN(PrincipalData who, LoadPrincipal(tx, approver));
    SB_ASSIGN_OR_RETURN(Grant g, GetGrant(tx, grant));
    SB_RETURN_IF_ERROR(CheckApproval(policy_, tree_, who.principal(second_factor), g, now));
    return MarkGrantApproved(tx, grant, approver, now);
  });
}

Status AccessService::Revoke(AccountId revoker, bool second_factor, GrantId grant,
                             std::string_view reason) {
  return store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    SB_ASSIGN_OR_RETURN(PrincipalData who, LoadPrincipal(tx, revoker));
    SB_ASSIGN_OR_RETURN(Grant g, GetGrant(tx, grant));
    SB_RETURN_IF_ERROR(CheckRevocation(policy_, tree_, who.principal(second_factor), g, now));
    return MarkGrantRevoked(tx, grant, revoker, reason, now);
  });
}

Result<Decision> AccessService::Explain(AccountId account, std::string_view capability, UnitId unit,
                                        Micros at) {
  Decision d;
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
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
    d = Decide(policy_, tree_, who.principal(/*second_factor=*/true), capability, Target{unit}, at);
    return Status::Ok();
  }));
  return d;
}

}  // namespace switchboard::access
