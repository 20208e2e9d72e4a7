// AccessService: grants and accounts as transactions. Each call loads the
// acting account and its grants, checks the rulebook's rules (grant_rules.h)
// and writes, all in one store transaction, so a decision cannot be made on
// stale grants. Thread-safe (the store serialises writes). Borrows everything
// it is given.
//
// Authentication is the caller's job: `second_factor` says whether the acting
// session has passed TOTP, which privileged roles need.
//
// Every call is on the record: the audit event (allow, with the grant; or
// deny, with the rule) is appended in the same transaction as the change, and
// a refusal is recorded in a transaction of its own.
#pragma once

#include <vector>

#include "access/policy/decision.h"
#include "access/policy/grant_rules.h"
#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "members/org_tree.h"
#include "store/store.h"

namespace switchboard::access {

// A grant made by the system itself, not by an account (`demo` set-up):
// inserted approved and recorded as "grant.<why>" on behalf of its holder.
Result<GrantId> GrantBySystem(store::Tx& tx, const GrantRequest& request, std::string_view why,
                              Micros now);

// The decision `account` would have had for `capability` over `unit` at
// `at`, with its grants as they stood then (`access explain`).
Result<Decision> ExplainAt(store::Tx& tx, const Policy& policy, const members::OrgTree& tree,
                           AccountId account, std::string_view capability, UnitId unit, Micros at);

class AccessService {
 public:
  AccessService(store::Store& store, const Policy& policy, const members::OrgTree& tree,
                const Clock& clock)
      : store_(store), policy_(policy), tree_(tree), clock_(clock) {}

  // Creates a grant from `granter`. Privileged roles start pending.
  Result<GrantId> AddGrant(AccountId granter, bool second_factor, const GrantRequest& request);
  // The deployment's first grant: role `owner` over the root, for at most the
  // role's maximum. Refused (kFailedPrecondition) once any grant exists.
  Result<GrantId> Bootstrap(AccountId owner, Micros not_after, std::string_view reason);
  // The same for one or two founding owners at once, in one transaction: with
  // two, each can approve the privileged grants the other makes, which the
  // second-approver rule needs from day one.
  Result<std::vector<GrantId>> BootstrapOwners(const std::vector<AccountId>& owners,
                                               Micros not_after, std::string_view reason);
  Status Approve(AccountId approver, bool second_factor, GrantId grant);
  Status Revoke(AccountId revoker, bool second_factor, GrantId grant, std::string_view reason);
  // "Why could X do Y at time T?": the decision as it was (or would be) at `at`.
  Result<Decision> Explain(AccountId account, std::string_view capability, UnitId unit, Micros at);

  // Accounts, by the operator (no acting account) — on the record all the same.
  Result<AccountId> AddAccount(const NewAccount& account, std::string_view password_hash);
  // Suspending or disabling an account also ends all its sessions, in the
  // same transaction.
  Status SetState(AccountId account, AccountState state, std::string_view reason);
  // The same by an acting account, which needs account.manage over the whole
  // organisation (DPO, admin): reinstatement after an anomaly suspension
  // goes this way, with a reason, on the record. Nobody changes their own state.
  Status SetStateAs(AccountId actor, bool second_factor, AccountId account, AccountState state,
                    std::string_view reason, std::string_view request_id = {});
  // Credential changes, recorded like everything else: a password set by the
  // operator, a second factor (re-)enrolled. `sealed_totp` is the TOTP secret
  // sealed by the caller.
  Status SetPassword(AccountId account, std::string_view password_hash);
  Status EnrolTotp(AccountId account, const TotpState& sealed_totp);

 private:
  store::Store& store_;
  const Policy& policy_;
  const members::OrgTree& tree_;
  const Clock& clock_;
};

}  // namespace switchboard::access
