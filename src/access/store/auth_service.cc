#include "access/store/auth_service.h"

#include <arpa/inet.h>
#include <sodium.h>

#include <cstring>

#include "access/credentials/recovery_codes.h"
#include "access/credentials/token.h"
#include "access/credentials/totp.h"
#include "audit/audit_log.h"
#include "core/log.h"

namespace switchboard::access {

namespace {

constexpr Micros kTouchEvery = 60 * kMicrosPerSecond;

std::string AccountSubject(AccountId id) { return "account:" + id.ToString(); }
std::string AddressSubject(std::string_view client) {
  return "address:" + std::string(client.empty() ? "local" : client);
}

audit::Event LoginEvent(std::string_view action, AccountId actor, bool allow, std::string_view rule,
                        const Credentials& c, Micros now) {
  audit::Event e;
  e.at = now;
  e.action = std::string(action);
  if (actor.valid()) e.actor = actor.value();
  e.decision = allow ? "allow" : "deny";
  e.rule = std::string(rule);
  e.request_id = c.request_id;
  e.client = c.client;
  return e;
}

}  // namespace

std::string TruncateAddress(std::string_view address) {
  std::string a(address);
  if (a.rfind("::ffff:", 0) == 0 && a.find('.') != std::string::npos) a = a.substr(7);
  unsigned char buf[16];
  if (inet_pton(AF_INET, a.c_str(), buf) == 1) {
    char out[INET_ADDRSTRLEN];
    buf[3] = 0;
    inet_ntop(AF_INET, buf, out, sizeof out);
    return std::string(out) + "/24";
  }
  if (inet_pton(AF_INET6, a.c_str(), buf) == 1) {
    char out[INET6_ADDRSTRLEN];
    std::memset(buf + 6, 0, 10);
    inet_ntop(AF_INET6, buf, out, sizeof out);
    return std::string(out) + "/48";
  }
  return "";
}

AuthService::AuthService(store::Store& store, const Policy& policy, const crypto::Sealer& sealer,
                         const Clock& clock, AuthOptions options)
    : store_(store), policy_(policy), sealer_(sealer), clock_(clock), options_(options) {}

const std::string& AuthService::DummyHash() {
  std::call_once(dummy_once_, [this] {
    auto h = HashPassword("switchboard-dummy-password", options_.hash);
    dummy_hash_ = h ? *h : std::string();
  });
  return dummy_hash_;
}

Micros AuthService::IdleTimeout(const PrincipalData& data, Micros now) const {
  bool privileged = false;
  for (const Grant& g : data.grants) {
    const Role* r = policy_.FindRole(g.role);
    if (r && r->privileged && GrantInForce(g, now)) privileged = true;
  }
  return static_cast<Micros>(privileged ? policy_.session_idle_minutes_privileged
                                        : policy_.session_idle_minutes_other) *
         60 * kMicrosPerSecond;
}

Result<LoginOutcome> AuthService::Authenticate(const Credentials& c, std::string_view action) {
  return Login(c, SessionKind::kCookie, {}, action, /*open_session=*/false);
}

Result<LoginOutcome> AuthService::Login(const Credentials& c, SessionKind kind,
                                        std::string_view replaces) {
  return Login(c, kind, replaces, "session.login", /*open_session=*/true);
}

Result<LoginOutcome> AuthService::Login(const Credentials& c, SessionKind kind,
                                        std::string_view replaces, std::string_view action,
                                        bool open_session) {
  LoginOutcome out;
  const Micros window = static_cast<Micros>(policy_.login_window_minutes) * 60 * kMicrosPerSecond;
  const Micros lock = static_cast<Micros>(policy_.login_lock_minutes) * 60 * kMicrosPerSecond;

  // 1. Read the account and the throttles in a snapshot.
  std::optional<Account> account;
  ThrottleState by_account, by_address;
  bool has_totp = false;
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    auto found = FindAccount(tx, c.login);
    if (found) {
      account = *found;
      SB_ASSIGN_OR_RETURN(by_account, GetThrottle(tx, AccountSubject(found->id)));
      auto totp = GetTotp(tx, found->id);
      has_totp = totp.has_value();
    } else if (found.error().code() != StatusCode::kNotFound &&
               found.error().code() != StatusCode::kInvalidArgument) {
      return found.error();
    }
    SB_ASSIGN_OR_RETURN(by_address, GetThrottle(tx, AddressSubject(c.client)));
    return Status::Ok();
  }));
  const AccountId id = account ? account->id : AccountId();
  Micros now = clock_.Now();

  auto refuse = [&](LoginRefusal why, std::string rule, std::string message, bool count_failure,
                    Micros retry_at = 0) -> Result<LoginOutcome> {
    out.refusal = why;
    out.message = std::move(message);
    out.retry_at = retry_at;
    SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
      const Micros t = clock_.Now();
      if (count_failure) {
        if (id.valid()) {
          SB_ASSIGN_OR_RETURN(
              ThrottleState s,
              RecordLoginFailure(tx, AccountSubject(id), policy_.login_max_failures_per_account,
                                 window, lock, t));
          (void)s;
        }
        SB_RETURN_IF_ERROR(RecordLoginFailure(tx, AddressSubject(c.client),
                                              policy_.login_max_failures_per_address, window, lock,
                                              t)
                               .status());
      }
      return audit::AuditLog::Append(tx, LoginEvent(action, id, false, rule, c, t)).status();
    }));
    return out;
  };

  // 2. Throttles first: a locked subject is refused without checking anything.
  const Micros locked_until = std::max(by_account.locked_until, by_address.locked_until);
  if (locked_until > now) {
    return refuse(
        LoginRefusal::kThrottled,
        by_account.locked_until > now ? "login.throttled.account" : "login.throttled.address",
        "too many failed sign-ins; try again after " + FormatTimestamp(locked_until),
        /*count_failure=*/false, locked_until);
  }

  // 3. The password, outside any transaction (Argon2id is slow on purpose).
  const std::string bad = "the login name or password is not right";
  if (!account || account->password_hash.empty()) {
    (void)VerifyPassword(c.password, DummyHash());
    return refuse(LoginRefusal::kBadCredentials,
                  account ? "login.no_password" : "login.unknown_account", bad, true);
  }
  auto verified = VerifyPassword(c.password, account->password_hash);
  if (!verified) {
    if (verified.error().code() == StatusCode::kInvalidArgument) {
      return refuse(LoginRefusal::kBadCredentials, "login.password", bad, true);
    }
    return verified.error();
  }
  if (!*verified) return refuse(LoginRefusal::kBadCredentials, "login.password", bad, true);
  if (account->state != AccountState::kActive) {
    return refuse(LoginRefusal::kNotActive, "login.not_active",
                  "this account is " + std::string(AccountStateName(account->state)) +
                      "; ask your data protection officer or an administrator",
                  false);
  }
  if (has_totp && c.totp.empty() && c.recovery_code.empty()) {
    return refuse(LoginRefusal::kSecondFactorRequired, "login.second_factor_required",
                  "enter the 6-digit code from your authenticator app (or a recovery code)", false);
  }
  std::optional<std::string> rehash;
  {
    auto needs = PasswordNeedsRehash(account->password_hash, options_.hash);
    if (needs && *needs) {
      auto h = HashPassword(c.password, options_.hash);
      if (h) rehash = *h;
    }
  }

  // 4. Second factor, session and record in one transaction.
  IssuedSession issued;
  bool second_wrong = false;
  std::string rule = "login.password";
  Status st = store_.Write([&](store::Tx& tx) -> Status {
    const Micros t = clock_.Now();
    second_wrong = false;
    bool second = false;
    if (has_totp && !c.totp.empty()) {
      SB_ASSIGN_OR_RETURN(TotpState totp, GetTotp(tx, id));
      SB_ASSIGN_OR_RETURN(std::string secret, sealer_.Open({totp.key_id, totp.sealed}, "totp"));
      std::int64_t step = totp.last_step;
      auto good = VerifyTotp(secret, c.totp, t, kDefaultTotpWindow, &step);
      if (!good || !*good) {
        second_wrong = true;
      } else {
        SB_RETURN_IF_ERROR(SetTotpLastStep(tx, id, step));
        second = true;
        rule = "login.password_totp";
      }
    } else if (has_totp && !c.recovery_code.empty()) {
      SB_ASSIGN_OR_RETURN(std::vector<std::string> hashes, UnusedRecoveryCodes(tx, id));
      auto idx = ConsumeRecoveryCode(c.recovery_code, hashes, options_.recovery_pepper);
      if (!idx) {
        second_wrong = true;
      } else {
        SB_RETURN_IF_ERROR(MarkRecoveryCodeUsed(tx, id, hashes[*idx], t));
        second = true;
        rule = "login.password_recovery_code";
      }
    }
    if (second_wrong) {
      SB_RETURN_IF_ERROR(RecordLoginFailure(tx, AccountSubject(id),
                                            policy_.login_max_failures_per_account, window, lock, t)
                             .status());
      SB_RETURN_IF_ERROR(RecordLoginFailure(tx, AddressSubject(c.client),
                                            policy_.login_max_failures_per_address, window, lock, t)
                             .status());
      return audit::AuditLog::Append(
                 tx, LoginEvent(action, id, false, "login.second_factor_wrong", c, t))
          .status();
    }
    SB_RETURN_IF_ERROR(ClearThrottle(tx, AccountSubject(id)));
    if (rehash) SB_RETURN_IF_ERROR(SetPasswordHash(tx, id, *rehash));
    if (open_session) {
      if (!replaces.empty()) {
        SB_ASSIGN_OR_RETURN(std::int64_t n,
                            tx.Exec("UPDATE sessions SET revoked_at = $2, revoke_reason = $3 "
                                    "WHERE token_hash = $1 AND revoked_at IS NULL",
                                    {HashToken(replaces), t, "replaced by a new sign-in"}));
        if (n > 0) SB_RETURN_IF_ERROR(BumpAccessVersion(tx));
      }
      SB_ASSIGN_OR_RETURN(issued, OpenSession(tx, id, kind, second, c.client, t));
    }
    out.who = Authenticated{*account, second};
    return audit::AuditLog::Append(tx, LoginEvent(action, id, true, rule, c, t)).status();
  });
  SB_RETURN_IF_ERROR(st);
  if (second_wrong) {
    out.refusal = LoginRefusal::kSecondFactorWrong;
    out.message = "the code was not accepted; codes work once and change every 30 seconds";
    return out;
  }
  if (open_session) out.session = std::move(issued);
  return out;
}

std::optional<ActiveSession> AuthService::KnownAt(const std::string& token_hash,
                                                  std::int64_t version) {
  MutexLock lock(known_mu_);
  auto it = known_.find(token_hash);
  if (it == known_.end()) return std::nullopt;
  if (it->second.version != version) {
    known_.erase(it);
    return std::nullopt;
  }
  return it->second.active;
}

void AuthService::Remember(const std::string& token_hash, std::int64_t version,
                           const ActiveSession& active) {
  constexpr size_t kMaxKnown = 100'000;  // then start again; a miss costs one read
  MutexLock lock(known_mu_);
  if (known_.size() >= kMaxKnown && !known_.contains(token_hash)) known_.clear();
  known_[token_hash] = Known{version, active};
}

void AuthService::Forget(const std::string& token_hash) {
  MutexLock lock(known_mu_);
  known_.erase(token_hash);
}

Result<ResumeOutcome> AuthService::Resume(std::string_view token, SessionKind kind) {
  return Resume(token, kind, /*use_known=*/true);
}

Result<ResumeOutcome> AuthService::Resume(std::string_view token, SessionKind kind,
                                          bool use_known) {
  ResumeOutcome out;
  if (!LooksLikeToken(token)) {
    out.refusal = ResumeRefusal::kUnknown;
    out.message = "sign in first";
    return out;
  }
  const Micros now = clock_.Now();
  const std::string token_hash = HashToken(token);
  ActiveSession active;
  bool found = false;
  bool known = false;  // from an earlier request, not read now
  std::int64_t version = 0;
  // Only a usable session is kept: a refused one is read afresh next time.
  auto refuse = [&](ResumeRefusal r, std::string m) {
    if (known) Forget(token_hash);
    out.refusal = r;
    out.message = std::move(m);
    return out;
  };
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    // The session, account and grants as an earlier request read them, if
    // nothing about any account, grant or session has changed since;
    // otherwise read them again, in the same snapshot as the version.
    SB_ASSIGN_OR_RETURN(version, ReadAccessVersion(tx));
    if (auto k = use_known ? KnownAt(token_hash, version) : std::nullopt) {
      active = std::move(*k);
      found = known = true;
      return Status::Ok();
    }
    auto s = FindSessionByTokenHash(tx, token_hash);
    if (!s) return s.error().code() == StatusCode::kNotFound ? Status::Ok() : s.error();
    found = true;
    active.session = *s;
    SB_ASSIGN_OR_RETURN(active.data, LoadPrincipal(tx, s->account));
    return Status::Ok();
  }));
  if (!found) return refuse(ResumeRefusal::kUnknown, "sign in first");
  active.access_version = version;
  const Session& s = active.session;
  if (s.kind != kind) {
    return refuse(ResumeRefusal::kWrongTransport,
                  kind == SessionKind::kBearer
                      ? "this token belongs to a browser session and cannot be used as a bearer "
                        "token; sign in with \"client\": \"api\""
                      : "this token is for API clients; send it in an Authorization header");
  }
  if (s.revoked_at != 0 && s.revoked_at <= now) {
    return refuse(ResumeRefusal::kRevoked, "this session has been signed out; sign in again");
  }
  if (now >= s.expires_at) {
    return refuse(ResumeRefusal::kExpired, "this session ended at " +
                                               FormatTimestamp(s.expires_at) +
                                               " (the longest a session lasts); sign in again");
  }
  const Micros idle = IdleTimeout(active.data, now);
  active.idle_expires_at = s.last_seen_at + idle;
  if (now >= active.idle_expires_at) {
    if (known) {
      // Activity recorded by another server would not have changed the
      // version: look again before refusing.
      Forget(token_hash);
      return Resume(token, kind, /*use_known=*/false);
    }
    return refuse(ResumeRefusal::kIdle, "this session ended after " +
                                            std::to_string(idle / 60 / kMicrosPerSecond) +
                                            " minutes without activity; sign in again");
  }
  if (active.data.account.state != AccountState::kActive) {
    return refuse(ResumeRefusal::kNotActive,
                  "this account is " + std::string(AccountStateName(active.data.account.state)));
  }
  bool keep = !known;  // read now, or changed below
  if (now - s.last_seen_at >= kTouchEvery) {
    SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) { return TouchSession(tx, s.id, now); }));
    active.session.last_seen_at = now;
    active.idle_expires_at = now + idle;
    keep = true;
  }
  if (keep) Remember(token_hash, version, active);
  out.active = std::move(active);
  return out;
}

std::string AuthService::CsrfTokenFor(std::string_view session_token) const {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, options_.csrf_key.data(), options_.csrf_key.size());
  static constexpr std::string_view kDomain = "switchboard csrf v1\n";
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(kDomain.data()),
                                kDomain.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(session_token.data()),
                                session_token.size());
  crypto_auth_hmacsha256_final(&st, mac);
  char out[sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

Result<IssuedSession> AuthService::OpenSession(store::Tx& tx, AccountId account, SessionKind kind,
                                               bool second_factor, std::string_view client,
                                               Micros now) {
  IssuedSession issued;
  IssuedToken token = IssueToken();
  NewSessionRow row;
  row.account = account;
  row.kind = kind;
  row.second_factor = second_factor;
  row.token_hash = token.hash;
  row.client = std::string(client);
  row.expires_at =
      now + static_cast<Micros>(policy_.session_absolute_hours) * 3600 * kMicrosPerSecond;
  if (kind == SessionKind::kCookie) {
    issued.csrf_token = CsrfTokenFor(token.secret);
    row.csrf_hash = HashToken(issued.csrf_token);
  }
  SB_ASSIGN_OR_RETURN(issued.id, InsertSession(tx, row, now));
  issued.account = account;
  issued.token = std::move(token.secret);
  issued.second_factor = second_factor;
  issued.expires_at = row.expires_at;
  return issued;
}

bool AuthService::CheckCsrf(const Session& session, std::string_view csrf_token) {
  if (session.kind != SessionKind::kCookie || session.csrf_hash.empty()) return false;
  if (!LooksLikeToken(csrf_token)) return false;
  return ConstantTimeEquals(HashToken(csrf_token), session.csrf_hash);
}

Status AuthService::Logout(const Session& session, std::string_view request_id,
                           std::string_view client) {
  return store_.Write([&](store::Tx& tx) -> Status {
    const Micros t = clock_.Now();
    SB_RETURN_IF_ERROR(RevokeSession(tx, session.id, "signed out", t));
    Credentials c;
    c.request_id = std::string(request_id);
    c.client = std::string(client);
    return audit::AuditLog::Append(
               tx, LoginEvent("session.logout", session.account, true, "self", c, t))
        .status();
  });
}

Result<std::int64_t> AuthService::LogoutEverywhere(AccountId account, std::string_view request_id,
                                                   std::string_view client) {
  std::int64_t n = 0;
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    const Micros t = clock_.Now();
    SB_ASSIGN_OR_RETURN(n, RevokeAccountSessions(tx, account, "signed out everywhere", t));
    Credentials c;
    c.request_id = std::string(request_id);
    c.client = std::string(client);
    return audit::AuditLog::Append(
               tx, LoginEvent("session.logout_everywhere", account, true, "self", c, t))
        .status();
  }));
  return n;
}

Result<std::vector<std::string>> AuthService::IssueRecoveryCodes(AccountId account) {
  RecoveryCodes codes = GenerateRecoveryCodes(options_.recovery_pepper);
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    const Micros t = clock_.Now();
    SB_RETURN_IF_ERROR(GetAccount(tx, account).status());
    SB_RETURN_IF_ERROR(ReplaceRecoveryCodes(tx, account, codes.hashes, t));
    Credentials c;
    return audit::AuditLog::Append(
               tx, LoginEvent("account.recovery_codes", account, true, "self", c, t))
        .status();
  }));
  return codes.codes;
}

}  // namespace switchboard::access
