// Sessions, recovery codes and sign-in throttling in the store (migration 4).
// Plain reads and writes inside the caller's transaction; AuthService
// (auth_service.h) decides when to call them.
//
// A session is a random token (credentials/token.h) given to the client once;
// the store keeps only its SHA-256, so a copy of the database cannot be used
// to sign in. A session is bound to the transport it was issued for: `cookie`
// sessions (browsers) must send their CSRF token with every state-changing
// request, `bearer` sessions (API clients) are presented in an Authorization
// header and cannot be used as cookies, nor the other way round.
//
// Expiry is decided by comparing times, never by a job: a session ends at
// `expires_at` (the absolute timeout, fixed at sign-in), after the idle
// timeout since `last_seen_at`, or when revoked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "access/policy/decision.h"
#include "core/clock.h"
#include "store/store.h"

namespace switchboard::access {

using SessionId = Id<struct SessionIdTag>;

enum class SessionKind { kCookie, kBearer };
std::string_view SessionKindName(SessionKind k);

struct Session {
  SessionId id;
  AccountId account;
  SessionKind kind = SessionKind::kCookie;
  bool second_factor = false;
  std::string csrf_hash;  // HashToken of the CSRF token (cookie sessions)
  std::string client;     // truncated client address at sign-in
  Micros created_at = 0;
  Micros last_seen_at = 0;
  Micros expires_at = 0;  // absolute timeout
  Micros revoked_at = 0;  // 0 = not revoked
  std::string revoke_reason;
};

struct NewSessionRow {
  AccountId account;
  SessionKind kind = SessionKind::kCookie;
  bool second_factor = false;
  std::string token_hash;
  std::string csrf_hash;
  std::string client;
  Micros expires_at = 0;
};

Result<SessionId> InsertSession(store::Tx& tx, const NewSessionRow& row, Micros now);
// kNotFound when no session has this token hash (revoked and expired ones are
// returned; the caller checks).
Result<Session> FindSessionByTokenHash(store::Tx& tx, std::string_view token_hash);
Status TouchSession(store::Tx& tx, SessionId id, Micros now);
// kNotFound when the session does not exist or is already revoked.
Status RevokeSession(store::Tx& tx, SessionId id, std::string_view reason, Micros now);
// Revokes every open session of the account; returns how many.
Result<std::int64_t> RevokeAccountSessions(store::Tx& tx, AccountId account,
                                           std::string_view reason, Micros now);
// Sessions of one account not yet revoked or past their absolute timeout.
Result<std::vector<Session>> ListOpenSessions(store::Tx& tx, AccountId account, Micros now);

// Recovery codes: the stored hashes (credentials/recovery_codes.h).
// Replaces the account's codes with `hashes`.
Status ReplaceRecoveryCodes(store::Tx& tx, AccountId account,
                            const std::vector<std::string>& hashes, Micros now);
// The unused codes' hashes.
Result<std::vector<std::string>> UnusedRecoveryCodes(store::Tx& tx, AccountId account);
Status MarkRecoveryCodeUsed(store::Tx& tx, AccountId account, std::string_view hash, Micros now);

// Sign-in throttling: failure counters per subject ("account:<id>" or
// "address:<truncated address>"), counted within a window.
struct ThrottleState {
  std::int64_t failures = 0;
  Micros window_start = 0;
  Micros locked_until = 0;
};
Result<ThrottleState> GetThrottle(store::Tx& tx, std::string_view subject);
// Counts one failure; when `max_failures` is reached within `window`, locks
// the subject until now + `lock`. Returns the new state.
Result<ThrottleState> RecordLoginFailure(store::Tx& tx, std::string_view subject,
                                         std::int64_t max_failures, Micros window, Micros lock,
                                         Micros now);
Status ClearThrottle(store::Tx& tx, std::string_view subject);

}  // namespace switchboard::access
