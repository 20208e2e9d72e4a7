// Accounts and grants in the store. Plain reads and writes inside the
// caller's transaction; the rules (who may grant what) live in
// access/policy/grant_rules.h and are checked by AccessService before any of
// these writes. Accounts hold no member personal data: a login name, a display
// name and, optionally, the id of the member record the account belongs to.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "access/policy/decision.h"
#include "access/policy/grant_rules.h"
#include "core/clock.h"
#include "store/store.h"

namespace switchboard::access {

struct Account {
  AccountId id;
  std::string login;
  std::string display_name;
  MemberId member;  // invalid when the account is not linked to a member
  bool staff = false;
  AccountState state = AccountState::kActive;
  std::string password_hash;  // Argon2id string; empty until a password is set
  Micros created_at = 0;
};

struct NewAccount {
  std::string login;
  std::string display_name;
  MemberId member;
  bool staff = false;
};

std::string_view AccountStateName(AccountState s);

// kAlreadyExists when the login is taken; kInvalidArgument for a bad login.
Result<AccountId> CreateAccount(store::Tx& tx, const NewAccount& account, Micros now);
Result<Account> GetAccount(store::Tx& tx, AccountId id);
Result<Account> FindAccount(store::Tx& tx, std::string_view login);
Result<std::vector<Account>> ListAccounts(store::Tx& tx);
Status SetAccountState(store::Tx& tx, AccountId id, AccountState state, std::string_view reason,
                       Micros now);
Status SetPasswordHash(store::Tx& tx, AccountId id, std::string_view hash);

// The TOTP secret, sealed by the caller (crypto::Sealer, purpose "totp"), and
// the last time step accepted (replay protection; -1 for none).
struct TotpState {
  std::uint32_t key_id = 0;
  std::string sealed;
  std::int64_t last_step = -1;
};
Status SetTotp(store::Tx& tx, AccountId id, const TotpState& totp);
// kNotFound when the account has not enrolled a second factor.
Result<TotpState> GetTotp(store::Tx& tx, AccountId id);
Status SetTotpLastStep(store::Tx& tx, AccountId id, std::int64_t step);

struct GrantFilter {
  AccountId account;  // invalid = every account
  bool include_ended = true;
};

Result<GrantId> InsertGrant(store::Tx& tx, const GrantRequest& request, AccountId granted_by,
                            bool approved, Micros now);
Result<Grant> GetGrant(store::Tx& tx, GrantId id);
Result<std::vector<Grant>> ListGrants(store::Tx& tx, const GrantFilter& filter, Micros now);
Status MarkGrantApproved(store::Tx& tx, GrantId id, AccountId approver, Micros now);
Status MarkGrantRevoked(store::Tx& tx, GrantId id, AccountId by, std::string_view reason,
                        Micros now);

// An account and all its grants, ready for Decide.
struct PrincipalData {
  Account account;
  std::vector<Grant> grants;
  Principal principal(bool second_factor) const {
    return Principal{account.id, account.state, account.staff, second_factor, grants};
  }
};
Result<PrincipalData> LoadPrincipal(store::Tx& tx, AccountId id);

// The access version: one number, raised in the same transaction as every
// change to an existing account, grant or session (schema v13). A signed-in
// request reads it instead of its session, account and grants when it has
// them from an earlier request at the same version (AuthService::Resume),
// so a revocation, suspension or new grant is seen by the next request, in
// this process or any other on the same database. A new session needs no
// raise: nobody can have it already.
Status BumpAccessVersion(store::Tx& tx);
Result<std::int64_t> ReadAccessVersion(store::Tx& tx);

}  // namespace switchboard::access
