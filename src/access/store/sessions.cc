#include "access/store/sessions.h"

#include "access/store/access_store.h"

namespace switchboard::access {

std::string_view SessionKindName(SessionKind k) {
  return k == SessionKind::kBearer ? "bearer" : "cookie";
}

namespace {

constexpr const char* kSessionColumns =
    "id, account_id, kind, second_factor, csrf_hash, client, created_at, last_seen_at, "
    "expires_at, revoked_at, revoke_reason";

Session ReadSession(const store::Row& r) {
  Session s;
  s.id = SessionId(r.Int(0));
  s.account = AccountId(r.Int(1));
  s.kind = r.Text(2) == "bearer" ? SessionKind::kBearer : SessionKind::kCookie;
  s.second_factor = r.Int(3) != 0;
  s.csrf_hash = r.TextOr(4);
  s.client = r.TextOr(5);
  s.created_at = r.Int(6);
  s.last_seen_at = r.Int(7);
  s.expires_at = r.Int(8);
  s.revoked_at = r.IntOr(9, 0);
  s.revoke_reason = r.TextOr(10);
  return s;
}

}  // namespace

Result<SessionId> InsertSession(store::Tx& tx, const NewSessionRow& row, Micros now) {
  SessionId id;
  SB_RETURN_IF_ERROR(tx.Query(
      "INSERT INTO sessions (token_hash, account_id, kind, second_factor, csrf_hash, client, "
      "created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) "
      "RETURNING id",
      {row.token_hash, row.account.value(), SessionKindName(row.kind), row.second_factor,
       row.csrf_hash.empty() ? store::Value() : store::Value(row.csrf_hash),
       row.client.empty() ? store::Value() : store::Value(row.client), now, row.expires_at},
      [&](const store::Row& r) {
        id = SessionId(r.Int(0));
        return false;
      }));
  if (!id.valid()) return Status::Internal("inserting a session returned no id");
  return id;
}

Result<Session> FindSessionByTokenHash(store::Tx& tx, std::string_view token_hash) {
  std::optional<Session> found;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE token_hash = $1",
               {token_hash}, [&](const store::Row& r) {
                 found = ReadSession(r);
                 return false;
               }));
  if (!found) return Status::NotFound("no such session");
  return *found;
}

Status TouchSession(store::Tx& tx, SessionId id, Micros now) {
  return tx
      .Exec("UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2",
            {id.value(), now})
      .status();
}

Status RevokeSession(store::Tx& tx, SessionId id, std::string_view reason, Micros now) {
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.Exec("UPDATE sessions SET revoked_at = $2, revoke_reason = $3 "
                              "WHERE id = $1 AND revoked_at IS NULL",
                              {id.value(), now, reason}));
  if (n == 0) return Status::NotFound("the session has already ended");
  return BumpAccessVersion(tx);
}

Result<std::int64_t> RevokeAccountSessions(store::Tx& tx, AccountId account,
                                           std::string_view reason, Micros now) {
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.Exec("UPDATE sessions SET revoked_at = $2, revoke_reason = $3 "
                              "WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2",
                              {account.value(), now, reason}));
  SB_RETURN_IF_ERROR(BumpAccessVersion(tx));
  return n;
}

Result<std::vector<Session>> ListOpenSessions(store::Tx& tx, AccountId account, Micros now) {
  std::vector<Session> out;
  SB_RETURN_IF_ERROR(tx.Query(std::string("SELECT ") + kSessionColumns +
                                  " FROM sessions WHERE account_id = $1 AND revoked_at IS NULL "
                                  "AND expires_at > $2 ORDER BY id",
                              {account.value(), now}, [&](const store::Row& r) {
                                out.push_back(ReadSession(r));
                                return true;
                              }));
  return out;
}

Status ReplaceRecoveryCodes(store::Tx& tx, AccountId account,
                            const std::vector<std::string>& hashes, Micros now) {
  SB_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM recovery_codes WHERE account_id = $1", {account.value()}).status());
  for (const std::string& h : hashes) {
    SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO recovery_codes (account_id, code_hash, created_at) "
                               "VALUES ($1, $2, $3)",
                               {account.value(), h, now})
                           .status());
  }
  return Status::Ok();
}

Result<std::vector<std::string>> UnusedRecoveryCodes(store::Tx& tx, AccountId account) {
  std::vector<std::string> out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT code_hash FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL "
               "ORDER BY code_hash",
               {account.value()}, [&](const store::Row& r) {
                 out.emplace_back(r.Text(0));
                 return true;
               }));
  return out;
}

Status MarkRecoveryCodeUsed(store::Tx& tx, AccountId account, std::string_view hash, Micros now) {
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.Exec("UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 "
                              "AND code_hash = $2 AND used_at IS NULL",
                              {account.value(), hash, now}));
  if (n == 0) return Status::NotFound("the recovery code has been used already");
  return Status::Ok();
}

Result<ThrottleState> GetThrottle(store::Tx& tx, std::string_view subject) {
  ThrottleState t;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT failures, window_start, locked_until FROM login_throttle WHERE subject = $1",
               {subject}, [&](const store::Row& r) {
                 t.failures = r.Int(0);
                 t.window_start = r.Int(1);
                 t.locked_until = r.Int(2);
                 return false;
               }));
  return t;
}

Result<ThrottleState> RecordLoginFailure(store::Tx& tx, std::string_view subject,
                                         std::int64_t max_failures, Micros window, Micros lock,
                                         Micros now) {
  SB_ASSIGN_OR_RETURN(ThrottleState t, GetThrottle(tx, subject));
  if (t.failures == 0 || now - t.window_start >= window) {
    t.failures = 0;
    t.window_start = now;
  }
  ++t.failures;
  if (t.failures >= max_failures) {
    t.locked_until = now + lock;
    // A new window starts when the lock ends, so one more failure after it
    // does not lock again at once.
    t.failures = 0;
    t.window_start = t.locked_until;
  }
  SB_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO login_throttle (subject, failures, window_start, locked_until) "
              "VALUES ($1, $2, $3, $4) ON CONFLICT (subject) DO UPDATE SET "
              "failures = excluded.failures, window_start = excluded.window_start, "
              "locked_until = excluded.locked_until",
              {subject, t.failures, t.window_start, t.locked_until})
          .status());
  return t;
}

Status ClearThrottle(store::Tx& tx, std::string_view subject) {
  return tx.Exec("DELETE FROM login_throttle WHERE subject = $1", {subject}).status();
}

}  // namespace switchboard::access
