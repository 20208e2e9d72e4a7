#include "access/store/access_store.h"

#include <cctype>

namespace switchboard::access {

std::string_view AccountStateName(AccountState s) {
  switch (s) {
    case AccountState::kActive:
      return "active";
    case AccountState::kSuspended:
      return "suspended";
    case AccountState::kDisabled:
      return "disabled";
  }
  return "active";
}

namespace {

AccountState ParseState(std::string_view s) {
  if (s == "suspended") return AccountState::kSuspended;
  if (s == "disabled") return AccountState::kDisabled;
  return AccountState::kActive;
}

constexpr const char* kAccountColumns =
    "id, login, display_name, member_id, staff, state, password_hash, created_at";

Account ReadAccount(const store::Row& r) {
  Account a;
  a.id = AccountId(r.Int(0));
  a.login = std::string(r.Text(1));
  a.display_name = std::string(r.Text(2));
  a.member = MemberId(r.IntOr(3, 0));
  a.staff = r.Int(4) != 0;
  a.state = ParseState(r.Text(5));
  a.password_hash = r.TextOr(6);
  a.created_at = r.Int(7);
  return a;
}

constexpr const char* kGrantColumns =
    "id, account_id, role, scope_unit, purpose, not_before, not_after, granted_by, reason, "
    "source, source_end, revoked_at, approved, approved_at, created_at";

Grant ReadGrant(const store::Row& r) {
  Grant g;
  g.id = GrantId(r.Int(0));
  g.account = AccountId(r.Int(1));
  g.role = std::string(r.Text(2));
  g.scope = UnitId(r.Int(3));
  g.purpose = std::string(r.Text(4));
  g.not_before = r.Int(5);
  g.not_after = r.Int(6);
  g.granted_by = AccountId(r.IntOr(7, 0));
  g.reason = std::string(r.Text(8));
  g.source = std::string(r.Text(9));
  g.source_end = r.IntOr(10, 0);
  g.revoked_at = r.IntOr(11, 0);
  g.approved = r.Int(12) != 0;
  g.approved_at = r.IntOr(13, 0);
  g.created_at = r.Int(14);
  return g;
}

Status ValidLogin(std::string_view login) {
  if (login.size() < 3 || login.size() > 64) {
    return Status::InvalidArgument("a login is 3 to 64 characters");
  }
  for (char c : login) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '.' || c == '_' || c == '-' || c == '@')) {
      return Status::InvalidArgument("a login may contain letters, digits and . _ - @ only");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<AccountId> CreateAccount(store::Tx& tx, const NewAccount& a, Micros now) {
  SB_RETURN_IF_ERROR(ValidLogin(a.login));
  if (a.display_name.empty() || a.display_name.size() > 200) {
    return Status::InvalidArgument("a display name is 1 to 200 characters");
  }
  std::int64_t id = 0;
  Status st = tx.Query(
      "INSERT INTO accounts (login, display_name, member_id, staff, state, created_at, "
      "state_changed_at) VALUES ($1, $2, $3, $4, 'active', $5, $5) RETURNING id",
      {a.login, a.display_name, a.member.valid() ? store::Value(a.member.value()) : store::Value(),
       a.staff, now},
      [&](const store::Row& r) {
        id = r.Int(0);
        return false;
      });
  if (st.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("the login '" + a.login + "' is taken");
  }
  SB_RETURN_IF_ERROR(st);
  return AccountId(id);
}

Result<Account> GetAccount(store::Tx& tx, AccountId id) {
  std::optional<Account> out;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE id = $1",
               {id.value()}, [&](const store::Row& r) {
                 out = ReadAccount(r);
                 return false;
               }));
  if (!out) return Status::NotFound("no account " + id.ToString());
  return *out;
}

Result<Account> FindAccount(store::Tx& tx, std::string_view login) {
  std::optional<Account> out;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE login = $1",
               {login}, [&](const store::Row& r) {
                 out = ReadAccount(r);
                 return false;
               }));
  if (!out) return Status::NotFound("no account with login '" + std::string(login) + "'");
  return *out;
}

Result<std::vector<Account>> ListAccounts(store::Tx& tx) {
  std::vector<Account> out;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string("SELECT ") + kAccountColumns + " FROM accounts ORDER BY login", {},
               [&](const store::Row& r) {
                 out.push_back(ReadAccount(r));
                 return true;
               }));
  return out;
}

Status SetAccountState(store::Tx& tx, AccountId id, AccountState state, std::string_view reason,
                       Micros now) {
  if (reason.empty()) return Status::InvalidArgument("changing an account's state needs a reason");
  SB_ASSIGN_OR_RETURN(std::int64_t n, tx.Exec("UPDATE accounts SET state = $2, state_reason = $3, "
                                              "state_changed_at = $4 WHERE id = $1",
                                              {id.value(), AccountStateName(state), reason, now}));
  if (n == 0) return Status::NotFound("no account " + id.ToString());
  SB_RETURN_IF_ERROR(BumpAccessVersion(tx));
  return Status::Ok();
}

Status SetPasswordHash(store::Tx& tx, AccountId id, std::string_view hash) {
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE accounts SET password_hash = $2 WHERE id = $1", {id.value(), hash}));
  if (n == 0) return Status::NotFound("no account " + id.ToString());
  SB_RETURN_IF_ERROR(BumpAccessVersion(tx));
  return Status::Ok();
}

Status SetTotp(store::Tx& tx, AccountId id, const TotpState& t) {
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.Exec("UPDATE accounts SET totp_key_id = $2, totp_secret = $3, "
                              "totp_last_step = $4 WHERE id = $1",
                              {id.value(), static_cast<std::int64_t>(t.key_id),
                               store::Value::Bytes(t.sealed), t.last_step}));
  if (n == 0) return Status::NotFound("no account " + id.ToString());
  SB_RETURN_IF_ERROR(BumpAccessVersion(tx));
  return Status::Ok();
}

Result<TotpState> GetTotp(store::Tx& tx, AccountId id) {
  std::optional<TotpState> out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT totp_key_id, totp_secret, totp_last_step FROM accounts WHERE id = $1 AND "
               "totp_secret IS NOT NULL",
               {id.value()}, [&](const store::Row& r) {
                 out = TotpState{static_cast<std::uint32_t>(r.IntOr(0, 0)), std::string(r.Bytes(1)),
                                 r.IntOr(2, -1)};
                 return false;
               }));
  if (!out) return Status::NotFound("the account has no second factor enrolled");
  return *out;
}

Status SetTotpLastStep(store::Tx& tx, AccountId id, std::int64_t step) {
  return tx.Exec("UPDATE accounts SET totp_last_step = $2 WHERE id = $1", {id.value(), step})
      .status();
}

Result<GrantId> InsertGrant(store::Tx& tx, const GrantRequest& g, AccountId granted_by,
                            bool approved, Micros now) {
  std::int64_t id = 0;
  SB_RETURN_IF_ERROR(tx.Query(
      "INSERT INTO grants (account_id, role, scope_unit, purpose, not_before, not_after, "
      "granted_by, reason, source, source_end, approved, created_at) VALUES ($1, $2, $3, $4, $5, "
      "$6, $7, $8, $9, $10, $11, $12) RETURNING id",
      {g.account.value(), g.role, g.scope.value(), g.purpose, g.not_before, g.not_after,
       granted_by.valid() ? store::Value(granted_by.value()) : store::Value(), g.reason, g.source,
       g.source_end != 0 ? store::Value(g.source_end) : store::Value(), approved, now},
      [&](const store::Row& r) {
        id = r.Int(0);
        return false;
      }));
  SB_RETURN_IF_ERROR(BumpAccessVersion(tx));
  return GrantId(id);
}

Result<Grant> GetGrant(store::Tx& tx, GrantId id) {
  std::optional<Grant> out;
  SB_RETURN_IF_ERROR(tx.Query(std::string("SELECT ") + kGrantColumns + " FROM grants WHERE id = $1",
                              {id.value()}, [&](const store::Row& r) {
                                out = ReadGrant(r);
                                return false;
                              }));
  if (!out) return Status::NotFound("no grant " + id.ToString());
  return *out;
}

Result<std::vector<Grant>> ListGrants(store::Tx& tx, const GrantFilter& f, Micros now) {
  std::vector<Grant> out;
  auto add = [&](const store::Row& r) {
    Grant g = ReadGrant(r);
    if (f.include_ended || (now < g.not_after && g.revoked_at == 0)) out.push_back(g);
    return true;
  };
  // Two statements rather than "($1 = 0 OR account_id = $1)", which no index
  // serves: one account's grants (every request loads them, LoadPrincipal)
  // come through grants_account instead of a scan of every grant.
  if (f.account.value() == 0) {
    SB_RETURN_IF_ERROR(
        tx.Query(std::string("SELECT ") + kGrantColumns + " FROM grants ORDER BY id", {}, add));
  } else {
    SB_RETURN_IF_ERROR(tx.Query(
        std::string("SELECT ") + kGrantColumns + " FROM grants WHERE account_id = $1 ORDER BY id",
        {f.account.value()}, add));
  }
  return out;
}

Status MarkGrantApproved(store::Tx& tx, GrantId id, AccountId approver, Micros now) {
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.Exec("UPDATE grants SET approved = 1, approved_by = $2, approved_at = $3 "
                              "WHERE id = $1 AND approved = 0",
                              {id.value(), approver.value(), now}));
  if (n == 0) return Status::FailedPrecondition("grant " + id.ToString() + " is not pending");
  SB_RETURN_IF_ERROR(BumpAccessVersion(tx));
  return Status::Ok();
}

Status MarkGrantRevoked(store::Tx& tx, GrantId id, AccountId by, std::string_view reason,
                        Micros now) {
  if (reason.empty()) return Status::InvalidArgument("revoking a grant needs a reason");
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE grants SET revoked_at = $2, revoked_by = $3, revoke_reason "
              "= $4 WHERE id = $1 AND revoked_at IS NULL",
              {id.value(), now, by.valid() ? store::Value(by.value()) : store::Value(), reason}));
  if (n == 0) return Status::FailedPrecondition("grant " + id.ToString() + " is already revoked");
  SB_RETURN_IF_ERROR(BumpAccessVersion(tx));
  return Status::Ok();
}

Status BumpAccessVersion(store::Tx& tx) {
  SB_ASSIGN_OR_RETURN(std::int64_t n, tx.Exec("UPDATE access_version SET n = n + 1 WHERE id = 1"));
  if (n != 1) return Status::Internal("the access version row is missing (schema v13)");
  return Status::Ok();
}

Result<std::int64_t> ReadAccessVersion(store::Tx& tx) {
  auto v = tx.QueryInt("SELECT n FROM access_version WHERE id = 1");
  if (!v) return v.error().WithContext("reading the access version");
  return *v;
}

Result<PrincipalData> LoadPrincipal(store::Tx& tx, AccountId id) {
  PrincipalData p;
  SB_ASSIGN_OR_RETURN(p.account, GetAccount(tx, id));
  SB_ASSIGN_OR_RETURN(p.grants, ListGrants(tx, GrantFilter{id, true}, 0));
  return p;
}

}  // namespace switchboard::access
