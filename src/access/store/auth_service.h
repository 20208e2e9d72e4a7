// AuthService: signing in, sessions and signing out (RULEBOOK §2).
//
// Sign-in checks, in order: the throttles (per account and per client
// address, from policy [login]); the password (Argon2id; an unknown login is
// checked against a dummy hash so the answer takes as long either way, and
// the refusal is word for word the same); the account's state; and, when the
// account has enrolled one, the second factor — a TOTP code (replays of an
// accepted time step are refused) or a single-use recovery code. Every
// attempt, allowed or refused, is an audit event (action "session.login", or
// the caller's action for the command line) with the rule that decided it.
//
// The slow part (Argon2id, ~65 ms) runs on the calling thread, outside any
// transaction; failure counters, the TOTP step, recovery-code use, the new
// session and the audit event are then written in one transaction.
//
// A session is resumed by its token and transport; it has ended when revoked,
// past its absolute timeout (fixed at sign-in) or idle for longer than the
// policy allows — 30 minutes (policy) when the account holds any privileged
// role in force, else 8 hours. Nothing needs to run for a session to end.
// Sign-in always issues a fresh token (no session fixation: a token the
// client already had is never promoted).
//
// Thread-safe; borrows everything it is given.
#pragma once

#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "access/credentials/password.h"
#include "access/policy/policy.h"
#include "access/store/access_store.h"
#include "access/store/sessions.h"
#include "core/clock.h"
#include "core/mutex.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::access {

struct AuthOptions {
  // Cost of new password hashes (rehash at sign-in when a stored hash was
  // made with other limits) and of the dummy hash for unknown logins.
  PasswordHashOptions hash;
  // Key for recovery-code hashes (credentials/recovery_codes.h).
  std::array<unsigned char, 32> recovery_pepper{};
  // Key of the CSRF tokens: a cookie session's CSRF token is
  // HMAC-SHA256(csrf_key, session token), so the page can get it again from
  // GET /api/v1/session (docs/security.md, "CSRF").
  std::array<unsigned char, 32> csrf_key{};
};

struct Credentials {
  std::string login;
  std::string password;
  std::string totp;           // a current authenticator code, or empty
  std::string recovery_code;  // instead of `totp`, when the authenticator is lost
  std::string client;         // truncated client address; empty on the command line
  std::string request_id;
};

enum class LoginRefusal {
  kNone,
  kBadCredentials,        // login or password wrong (never says which)
  kThrottled,             // too many failures; `retry_at` says when to try again
  kSecondFactorRequired,  // the account has a second factor and none was given
  kSecondFactorWrong,     // the code was wrong or already used
  kNotActive,             // suspended or disabled
};

struct Authenticated {
  Account account;
  bool second_factor = false;
};

struct IssuedSession {
  SessionId id;
  AccountId account;
  std::string token;       // shown once: the cookie value or bearer token
  std::string csrf_token;  // cookie sessions: send as X-CSRF-Token
  bool second_factor = false;
  Micros expires_at = 0;
};

struct LoginOutcome {
  LoginRefusal refusal = LoginRefusal::kNone;
  std::string message;  // for the person signing in; never names the account's data
  Micros retry_at = 0;  // kThrottled
  Authenticated who;    // when refusal == kNone
  std::optional<IssuedSession> session;
  bool ok() const { return refusal == LoginRefusal::kNone; }
};

// A resumed session and its account, ready for Decide.
struct ActiveSession {
  Session session;
  PrincipalData data;
  Micros idle_expires_at = 0;
  // The access version `data` was read at (access_store.h): a transaction
  // that reads the same version sees the same session, account and grants.
  std::int64_t access_version = 0;
  Principal principal() const { return data.principal(session.second_factor); }
};

enum class ResumeRefusal {
  kNone,
  kUnknown,
  kWrongTransport,
  kRevoked,
  kExpired,
  kIdle,
  kNotActive
};

struct ResumeOutcome {
  ResumeRefusal refusal = ResumeRefusal::kNone;
  std::string message;
  std::optional<ActiveSession> active;
  bool ok() const { return refusal == ResumeRefusal::kNone; }
};

class AuthService {
 public:
  AuthService(store::Store& store, const Policy& policy, const crypto::Sealer& sealer,
              const Clock& clock, AuthOptions options);

  // Checks credentials (throttles, password, state, second factor) and
  // records the attempt under `action`. Storage failures are errors; refusals
  // are outcomes.
  Result<LoginOutcome> Authenticate(const Credentials& credentials, std::string_view action);
  // Authenticate, then open a session of `kind` (in the same transaction as
  // the audit event). `replaces`: a token the client presented, revoked so it
  // can never be used again.
  Result<LoginOutcome> Login(const Credentials& credentials, SessionKind kind,
                             std::string_view replaces = {});

  // Finds and checks the session for `token` presented over `kind`; records
  // activity (at most once a minute per session).
  Result<ResumeOutcome> Resume(std::string_view token, SessionKind kind);
  // Constant-time check of a cookie session's CSRF token.
  static bool CheckCsrf(const Session& session, std::string_view csrf_token);
  // The CSRF token of the cookie session whose token is `session_token`.
  std::string CsrfTokenFor(std::string_view session_token) const;

  // Opens a session of `kind` for `account` inside the caller's transaction
  // (sign-in, and completing a sign-up or reset link).
  Result<IssuedSession> OpenSession(store::Tx& tx, AccountId account, SessionKind kind,
                                    bool second_factor, std::string_view client, Micros now);

  Status Logout(const Session& session, std::string_view request_id, std::string_view client);
  // Ends every session of the account ("sign out everywhere"); returns how many.
  Result<std::int64_t> LogoutEverywhere(AccountId account, std::string_view request_id,
                                        std::string_view client);

  // New recovery codes for the account (replacing any old ones), shown once.
  Result<std::vector<std::string>> IssueRecoveryCodes(AccountId account);

  // The idle timeout that applies to `data` now (privileged roles: shorter).
  Micros IdleTimeout(const PrincipalData& data, Micros now) const;

 private:
  const std::string& DummyHash();
  Result<LoginOutcome> Login(const Credentials& credentials, SessionKind kind,
                             std::string_view replaces, std::string_view action, bool open_session);

  // Sessions resumed before, with their account and grants, by token hash,
  // and the access version they were read at (access_store.h). Used only
  // while the stored version is the same: one small read per request instead
  // of three.
  struct Known {
    std::int64_t version = 0;
    ActiveSession active;
  };
  Result<ResumeOutcome> Resume(std::string_view token, SessionKind kind, bool use_known);
  std::optional<ActiveSession> KnownAt(const std::string& token_hash, std::int64_t version);
  void Remember(const std::string& token_hash, std::int64_t version, const ActiveSession& active);
  void Forget(const std::string& token_hash);

  store::Store& store_;
  const Policy& policy_;
  const crypto::Sealer& sealer_;
  const Clock& clock_;
  AuthOptions options_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;
  Mutex known_mu_;
  std::unordered_map<std::string, Known> known_ SB_GUARDED_BY(known_mu_);
};

// "203.0.113.0/24" for IPv4, the /48 for IPv6: enough to throttle and to
// investigate, too coarse to identify a household.
std::string TruncateAddress(std::string_view address);

}  // namespace switchboard::access
