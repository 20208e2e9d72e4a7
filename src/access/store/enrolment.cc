#include "access/store/enrolment.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "access/credentials/token.h"
#include "audit/audit_log.h"
#include "crypto/keyring.h"
#include "members/contact.h"

namespace switchboard::access {

namespace {

using json = nlohmann::json;

constexpr std::string_view kLinkGone =
    "this link is not valid: it was used already, has expired or was never sent; ask for a new one";

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// What the person typed: an e-mail address, or a membership number or login
// (printable ASCII without spaces). The refusal depends only on the text.
struct Typed {
  std::optional<members::Email> email;
  std::string plain;     // membership number or login
  std::string throttle;  // blind index of the normalised text (hex)
};

Result<Typed> ParseTyped(std::string_view input, const crypto::Sealer& sealer) {
  const std::string t = Trim(input);
  const Status bad = Status::InvalidArgument(
      "enter your e-mail address or membership number (up to 254 characters)");
  if (t.empty() || t.size() > 254) return bad;
  Typed out;
  if (t.find('@') != std::string::npos) {
    auto e = members::NormaliseEmail(t);
    if (!e) return bad;
    out.email = *e;
    out.throttle = crypto::ToHex(sealer.BlindIndex("link-identifier", "email:" + e->match_key));
    return out;
  }
  if (t.size() > 64) return bad;
  for (unsigned char ch : t) {
    if (ch <= ' ' || ch >= 0x7f) return bad;
  }
  out.plain = t;
  out.throttle = crypto::ToHex(sealer.BlindIndex("link-identifier", "plain:" + t));
  return out;
}

Micros Minutes(int m) { return static_cast<Micros>(m) * 60 * kMicrosPerSecond; }

std::string AccountSubject(AccountId id) { return "account:" + id.ToString(); }

}  // namespace

std::string_view LinkPurposeName(LinkPurpose p) {
  return p == LinkPurpose::kSignUp ? "signup" : "reset";
}

// Whom a request found, and where the mail goes.
struct EnrolmentService::Target {
  LinkPurpose purpose = LinkPurpose::kSignUp;
  MemberId member;
  AccountId account;
  std::string login;
  std::string address;        // the address on record (or proved), opened here only
  bool own_address = false;   // a non-member's own address, to be proved
  std::string address_index;  // blind index of `address` (own addresses)
  std::string person;         // throttle subject for this person
  std::string rule;           // the audit rule: what was found
  bool mail = false;
};

EnrolmentService::EnrolmentService(store::Store& store, const Policy& policy,
                                   const crypto::Sealer& sealer, const Clock& clock,
                                   AuthService& auth, EnrolmentOptions options)
    : store_(store),
      policy_(policy),
      sealer_(sealer),
      clock_(clock),
      auth_(auth),
      options_(std::move(options)) {}

Result<LinkRequestOutcome> EnrolmentService::RequestSignUp(const SignUpRequest& r) {
  return Request(LinkPurpose::kSignUp, r.who, &r, r.client, r.request_id);
}

Result<LinkRequestOutcome> EnrolmentService::RequestReset(const ResetRequest& r) {
  return Request(LinkPurpose::kReset, r.who, nullptr, r.client, r.request_id);
}

namespace {

// The member's e-mail address on record (the first valid one), or "".
Result<std::string> MemberAddress(store::Tx& tx, const crypto::Sealer& sealer, MemberId m) {
  std::optional<crypto::Sealed> sealed;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT key_id, sealed FROM contact_points WHERE member_id = $1 AND kind = 'email' AND "
      "valid = 1 ORDER BY label LIMIT 1",
      {m.value()}, [&](const store::Row& r) {
        sealed = crypto::Sealed{static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))};
        return false;
      }));
  if (!sealed) return std::string();
  return sealer.Open(*sealed, "email");
}

Result<std::optional<AccountId>> AccountOfMember(store::Tx& tx, MemberId m) {
  std::optional<AccountId> out;
  SB_RETURN_IF_ERROR(tx.Query("SELECT id FROM accounts WHERE member_id = $1 ORDER BY id LIMIT 1",
                              {m.value()}, [&](const store::Row& r) {
                                out = AccountId(r.Int(0));
                                return false;
                              }));
  return out;
}

// The non-member account that proved this address, and the address.
Result<std::optional<std::pair<AccountId, std::string>>> AccountOfAddress(
    store::Tx& tx, const crypto::Sealer& sealer, const std::string& index) {
  std::optional<AccountId> id;
  crypto::Sealed sealed;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT account_id, key_id, sealed FROM account_addresses WHERE blind_index = $1 "
               "ORDER BY account_id LIMIT 1",
               {store::Value::Bytes(index)}, [&](const store::Row& r) {
                 id = AccountId(r.Int(0));
                 sealed = {static_cast<std::uint32_t>(r.Int(1)), std::string(r.Bytes(2))};
                 return false;
               }));
  if (!id) return std::optional<std::pair<AccountId, std::string>>();
  SB_ASSIGN_OR_RETURN(std::string address, sealer.Open(sealed, "account-address"));
  return std::optional<std::pair<AccountId, std::string>>(std::make_pair(*id, address));
}

// Members whose valid e-mail address (blind index) or membership number is
// the one typed.
Result<std::vector<MemberId>> MembersTyped(store::Tx& tx, const crypto::Sealer& sealer,
                                           const Typed& typed) {
  std::vector<MemberId> out;
  auto add = [&](const store::Row& r) {
    out.push_back(MemberId(r.Int(0)));
    return out.size() < 4;
  };
  if (typed.email) {
    SB_RETURN_IF_ERROR(tx.Query(
        "SELECT DISTINCT member_id FROM contact_points WHERE blind_index = $1 AND kind = 'email' "
        "AND valid = 1 ORDER BY member_id",
        {store::Value::Bytes(sealer.BlindIndex("email", typed.email->match_key))}, add));
  } else {
    SB_RETURN_IF_ERROR(
        tx.Query("SELECT id FROM members WHERE external_id = $1 ORDER BY id", {typed.plain}, add));
  }
  return out;
}

}  // namespace

Result<LinkRequestOutcome> EnrolmentService::Request(LinkPurpose purpose, const std::string& who,
                                                     const SignUpRequest* signup,
                                                     const std::string& client,
                                                     const std::string& request_id) {
  SB_ASSIGN_OR_RETURN(Typed typed, ParseTyped(who, sealer_));
  const std::string action =
      purpose == LinkPurpose::kSignUp ? "account.signup_request" : "account.reset_request";
  const Micros window = Minutes(policy_.link_window_minutes);
  LinkRequestOutcome out;
  IssuedToken token = IssueToken();
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    out = LinkRequestOutcome{};
    audit::Event e;
    e.at = now;
    e.action = action;
    e.request_id = request_id;
    e.client = client;
    if (signup && signup->campaign != 0) e.campaign = signup->campaign;

    // 1. The throttles on what was typed and where from: refused alike for
    // known and unknown people.
    const std::string by_typed = "link:typed:" + typed.throttle;
    const std::string by_client = "link:client:" + (client.empty() ? "local" : client);
    SB_ASSIGN_OR_RETURN(ThrottleState t1, GetThrottle(tx, by_typed));
    SB_ASSIGN_OR_RETURN(ThrottleState t2, GetThrottle(tx, by_client));
    const Micros locked = std::max(t1.locked_until, t2.locked_until);
    if (locked > now) {
      out.answer = LinkAnswer::kThrottled;
      out.retry_at = locked;
      e.decision = "deny";
      e.rule = t1.locked_until > now ? "link.throttled.identifier" : "link.throttled.address";
      return audit::AuditLog::Append(tx, e).status();
    }
    SB_RETURN_IF_ERROR(
        RecordLoginFailure(tx, by_typed, policy_.link_requests_per_identifier, window, window, now)
            .status());
    SB_RETURN_IF_ERROR(
        RecordLoginFailure(tx, by_client, policy_.link_requests_per_address, window, window, now)
            .status());

    // Links long expired are of no more use (their requests and uses are in
    // the audit log).
    SB_RETURN_IF_ERROR(tx.Exec("DELETE FROM account_links WHERE expires_at < $1",
                               {now - 24 * 3600 * kMicrosPerSecond})
                           .status());

    // 2. Whom it names.
    Target t;
    t.purpose = purpose;
    std::optional<Account> account;
    if (purpose == LinkPurpose::kReset && !typed.email) {
      auto a = FindAccount(tx, typed.plain);
      if (a) {
        account = *a;
      } else if (a.error().code() != StatusCode::kNotFound &&
                 a.error().code() != StatusCode::kInvalidArgument) {
        return a.error();
      }
    }
    std::vector<MemberId> found;
    if (!account) {
      SB_ASSIGN_OR_RETURN(found, MembersTyped(tx, sealer_, typed));
    }
    if (found.size() > 1) {
      t.rule = "link.ambiguous";
    } else if (found.size() == 1) {
      t.member = found[0];
      e.members = {found[0].value()};
      SB_ASSIGN_OR_RETURN(std::optional<AccountId> has, AccountOfMember(tx, found[0]));
      if (has) {
        SB_ASSIGN_OR_RETURN(account, GetAccount(tx, *has));
      } else if (purpose == LinkPurpose::kSignUp) {
        SB_ASSIGN_OR_RETURN(t.address, MemberAddress(tx, sealer_, t.member));
        t.rule = t.address.empty() ? "link.no_address" : "signup.member";
        t.mail = !t.address.empty();
        t.person = "link:member:" + t.member.ToString();
      } else {
        t.rule = "reset.no_account";
      }
    } else if (typed.email) {
      const std::string index = sealer_.BlindIndex("email", typed.email->match_key);
      SB_ASSIGN_OR_RETURN(auto own, AccountOfAddress(tx, sealer_, index));
      if (own) {
        SB_ASSIGN_OR_RETURN(account, GetAccount(tx, own->first));
      } else if (purpose == LinkPurpose::kSignUp && signup->allow_own_address) {
        t.own_address = true;
        t.address = typed.email->address;
        t.address_index = index;
        t.rule = "signup.own_address";
        t.mail = true;
        t.person = "link:address:" + crypto::ToHex(index);
      } else {
        t.rule = "link.unknown";
      }
    } else if (!account) {
      t.rule = "link.unknown";
    }
    if (account) {
      // Someone who has an account already gets a reset link, whichever
      // form they filled in.
      t.purpose = LinkPurpose::kReset;
      t.account = account->id;
      t.login = account->login;
      e.actor = account->id.value();
      t.person = "link:account:" + account->id.ToString();
      if (account->state != AccountState::kActive) {
        t.rule = "reset.not_active";
      } else if (account->member.valid()) {
        t.member = account->member;
        e.members = {account->member.value()};
        SB_ASSIGN_OR_RETURN(t.address, MemberAddress(tx, sealer_, t.member));
      } else if (typed.email) {
        const std::string index = sealer_.BlindIndex("email", typed.email->match_key);
        SB_ASSIGN_OR_RETURN(auto own, AccountOfAddress(tx, sealer_, index));
        if (own && own->first == account->id) t.address = own->second;
      } else {
        std::optional<crypto::Sealed> sealed;
        SB_RETURN_IF_ERROR(
            tx.Query("SELECT key_id, sealed FROM account_addresses WHERE account_id = $1",
                     {account->id.value()}, [&](const store::Row& r) {
                       sealed = {static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))};
                       return false;
                     }));
        if (sealed) {
          SB_ASSIGN_OR_RETURN(t.address, sealer_.Open(*sealed, "account-address"));
        }
      }
      if (t.rule.empty()) {
        t.rule = t.address.empty()                 ? "link.no_address"
                 : purpose == LinkPurpose::kSignUp ? "signup.existing_account"
                                                   : "reset.account";
        t.mail = !t.address.empty();
      }
    }

    // 3. At most so many links per person: further requests are answered
    // alike and send nothing.
    if (t.mail && !t.person.empty()) {
      SB_ASSIGN_OR_RETURN(ThrottleState p, GetThrottle(tx, t.person));
      if (p.locked_until > now) {
        t.mail = false;
        t.rule = "link.throttled.person";
      } else {
        SB_RETURN_IF_ERROR(RecordLoginFailure(tx, t.person, policy_.link_requests_per_identifier,
                                              window, window, now)
                               .status());
      }
    }
    e.decision = t.mail ? "allow" : "deny";
    e.rule = t.rule;
    if (!t.mail) return audit::AuditLog::Append(tx, e).status();

    // 4. The link and its mail, in this transaction.
    const Micros expires = now + Minutes(policy_.link_minutes);
    store::Value key_id, sealed_addr, index;
    if (t.own_address) {
      const crypto::Sealed s = sealer_.Seal(t.address, "account-address");
      key_id = static_cast<std::int64_t>(s.key_id);
      sealed_addr = store::Value::Bytes(s.bytes);
      index = store::Value::Bytes(t.address_index);
    }
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO account_links (token_hash, purpose, member_id, account_id, "
                "address_key_id, address_sealed, address_index, created_at, expires_at) VALUES "
                "($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                {token.hash, std::string(LinkPurposeName(t.purpose)),
                 t.member.valid() && t.purpose == LinkPurpose::kSignUp
                     ? store::Value(t.member.value())
                     : store::Value(),
                 t.account.valid() ? store::Value(t.account.value()) : store::Value(), key_id,
                 sealed_addr, index, now, expires})
            .status());
    const std::string& org = options_.organisation_name;
    const std::string minutes = std::to_string(policy_.link_minutes);
    const std::string invite =
        signup && !signup->invite_token.empty() ? "/" + signup->invite_token : "";
    std::string subject, text;
    if (t.purpose == LinkPurpose::kSignUp) {
      const std::string link = options_.public_base_url + "/#/welcome/" + token.secret + invite;
      subject = "Finish signing up to " + org;
      text = "Hello,\n\nSomeone, we hope you, asked to sign up to " + org + "'s Switchboard" +
             (signup && !signup->campaign_name.empty()
                  ? " to join the campaign \"" + signup->campaign_name + "\""
                  : std::string()) +
             ".\n\nTo choose your password and finish, open this link within " + minutes +
             " minutes:\n\n" + link +
             "\n\nThe link works once. If this was not you, ignore this message: nothing "
             "happens.\n\n" +
             org + "\n";
    } else {
      const std::string link = options_.public_base_url + "/#/reset/" + token.secret + invite;
      subject = "Set a new password for " + org;
      text = "Hello,\n\nSomeone, we hope you, asked to set a new password for your " + org +
             " Switchboard account. Your login name is: " + t.login +
             "\n\nTo choose a new password, open this link within " + minutes + " minutes:\n\n" +
             link +
             "\n\nThe link works once; setting a new password signs you out everywhere else. "
             "If this was not you, ignore this message: your password stays as it is.\n\n" +
             org + "\n";
    }
    const json mail{{"to", t.address}, {"subject", subject}, {"text", text}};
    const crypto::Sealed sealed_mail = sealer_.Seal(mail.dump(), "account-mail");
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO account_mail (purpose, key_id, sealed, state, next_attempt_at, "
                "created_at, updated_at) VALUES ($1, $2, $3, 'queued', $4, $4, $4)",
                {std::string(LinkPurposeName(t.purpose)),
                 static_cast<std::int64_t>(sealed_mail.key_id),
                 store::Value::Bytes(sealed_mail.bytes), now})
            .status());
    out.mailed = true;
    return audit::AuditLog::Append(tx, e).status();
  }));
  return out;
}

namespace {

struct LinkRow {
  std::int64_t id = 0;
  LinkPurpose purpose = LinkPurpose::kSignUp;
  MemberId member;
  AccountId account;
  std::optional<crypto::Sealed> address;
  std::string address_index;
  Micros expires_at = 0;
};

Result<LinkRow> FindLink(store::Tx& tx, std::string_view token, Micros now) {
  if (!LooksLikeToken(token)) return Status::NotFound(std::string(kLinkGone));
  std::optional<LinkRow> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id, purpose, member_id, account_id, address_key_id, address_sealed, address_index, "
      "expires_at FROM account_links WHERE token_hash = $1 AND used_at IS NULL AND "
      "expires_at > $2 AND purpose <> 'report'",
      {HashToken(token), now}, [&](const store::Row& r) {
        LinkRow l;
        l.id = r.Int(0);
        l.purpose = r.Text(1) == "reset" ? LinkPurpose::kReset : LinkPurpose::kSignUp;
        if (!r.IsNull(2)) l.member = MemberId(r.Int(2));
        if (!r.IsNull(3)) l.account = AccountId(r.Int(3));
        if (!r.IsNull(5)) {
          l.address = crypto::Sealed{static_cast<std::uint32_t>(r.Int(4)), std::string(r.Bytes(5))};
          l.address_index = std::string(r.Bytes(6));
        }
        l.expires_at = r.Int(7);
        out = std::move(l);
        return false;
      }));
  if (!out) return Status::NotFound(std::string(kLinkGone));
  return *out;
}

}  // namespace

Result<LinkInfo> EnrolmentService::Inspect(std::string_view token) {
  LinkInfo info;
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(LinkRow l, FindLink(tx, token, clock_.Now()));
    info = LinkInfo{};
    info.purpose = l.purpose;
    info.member = l.member.valid();
    info.expires_at = l.expires_at;
    if (l.purpose == LinkPurpose::kReset) {
      SB_ASSIGN_OR_RETURN(Account a, GetAccount(tx, l.account));
      info.login = a.login;
    }
    return Status::Ok();
  }));
  return info;
}

Result<LinkCompleted> EnrolmentService::Complete(const CompleteLink& r) {
  // Read and check everything that needs no transaction, hash the password
  // outside one (Argon2id is slow on purpose), then write.
  LinkRow link;
  std::string login;
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(link, FindLink(tx, r.token, clock_.Now()));
    if (link.purpose == LinkPurpose::kReset) {
      SB_ASSIGN_OR_RETURN(Account a, GetAccount(tx, link.account));
      login = a.login;
    }
    return Status::Ok();
  }));
  std::string display_name;
  if (link.purpose == LinkPurpose::kSignUp) {
    login = Trim(r.login);
    if (login.empty()) return Status::InvalidArgument("choose a login name");
    auto name = members::NormaliseName(r.display_name);
    if (!name) {
      return Status::InvalidArgument(
          "enter your name as others in the campaign will see it (1 to 100 characters, with a "
          "letter)");
    }
    display_name = *name;
  }
  SB_RETURN_IF_ERROR(CheckPasswordPolicy(r.password, login));
  SB_ASSIGN_OR_RETURN(std::string hash, HashPassword(r.password, options_.hash));

  LinkCompleted out;
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    out = LinkCompleted{};
    out.purpose = link.purpose;
    SB_ASSIGN_OR_RETURN(std::int64_t used,
                        tx.Exec("UPDATE account_links SET used_at = $2 WHERE id = $1 AND "
                                "used_at IS NULL AND expires_at > $2",
                                {link.id, now}));
    if (used != 1) return Status::NotFound(std::string(kLinkGone));
    audit::Event e;
    e.at = now;
    e.action = link.purpose == LinkPurpose::kSignUp ? "account.signup" : "account.reset";
    e.decision = "allow";
    e.request_id = r.request_id;
    e.client = r.client;
    AccountId id;
    if (link.purpose == LinkPurpose::kSignUp) {
      if (link.member.valid()) {
        SB_ASSIGN_OR_RETURN(std::optional<AccountId> has, AccountOfMember(tx, link.member));
        if (has) {
          return Status::FailedPrecondition(
              "you have an account already: sign in, or use \"Forgot your password?\"");
        }
        e.members = {link.member.value()};
      } else if (link.address) {
        SB_ASSIGN_OR_RETURN(std::int64_t n,
                            tx.QueryInt("SELECT COUNT(*) FROM account_addresses WHERE "
                                        "blind_index = $1",
                                        {store::Value::Bytes(link.address_index)}));
        if (n > 0) {
          return Status::FailedPrecondition(
              "you have an account already: sign in, or use \"Forgot your password?\"");
        }
      }
      SB_ASSIGN_OR_RETURN(id, CreateAccount(tx, {login, display_name, link.member, false}, now));
      SB_RETURN_IF_ERROR(SetPasswordHash(tx, id, hash));
      if (link.address) {
        SB_RETURN_IF_ERROR(
            tx.Exec("INSERT INTO account_addresses (account_id, key_id, sealed, blind_index, "
                    "verified_at) VALUES ($1, $2, $3, $4, $5)",
                    {id.value(), static_cast<std::int64_t>(link.address->key_id),
                     store::Value::Bytes(link.address->bytes),
                     store::Value::Bytes(link.address_index), now})
                .status());
      }
      e.rule = link.member.valid() ? "signup.member" : "signup.own_address";
    } else {
      id = link.account;
      SB_ASSIGN_OR_RETURN(Account a, GetAccount(tx, id));
      if (a.state != AccountState::kActive) {
        return Status::PermissionDenied("this account is " +
                                        std::string(AccountStateName(a.state)) +
                                        "; ask your data protection officer or an administrator");
      }
      SB_RETURN_IF_ERROR(SetPasswordHash(tx, id, hash));
      SB_ASSIGN_OR_RETURN(out.sessions_ended, RevokeAccountSessions(tx, id, "password reset", now));
      SB_RETURN_IF_ERROR(ClearThrottle(tx, AccountSubject(id)));
      if (a.member.valid()) e.members = {a.member.value()};
      e.rule = "reset.link";
    }
    e.actor = id.value();
    SB_ASSIGN_OR_RETURN(out.account, GetAccount(tx, id));
    SB_ASSIGN_OR_RETURN(out.session,
                        auth_.OpenSession(tx, id, SessionKind::kCookie, false, r.client, now));
    return audit::AuditLog::Append(tx, e).status();
  }));
  return out;
}

Result<LinkRequestOutcome> EnrolmentService::RequestReport(const ReportLinkRequest& r) {
  SB_ASSIGN_OR_RETURN(Typed typed, ParseTyped(r.email, sealer_));
  if (!typed.email) return Status::InvalidArgument("enter your e-mail address");
  const Micros window = Minutes(policy_.link_window_minutes);
  LinkRequestOutcome out;
  IssuedToken token = IssueToken();
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    const Micros now = clock_.Now();
    out = LinkRequestOutcome{};
    audit::Event e;
    e.at = now;
    e.action = "privacy.report_link_request";
    e.request_id = r.request_id;
    e.client = r.client;
    // 1. Throttles on the typed address and the client network, alike for
    // known and unknown addresses.
    const std::string by_typed = "report:typed:" + typed.throttle;
    const std::string by_client = "report:client:" + (r.client.empty() ? "local" : r.client);
    SB_ASSIGN_OR_RETURN(ThrottleState t1, GetThrottle(tx, by_typed));
    SB_ASSIGN_OR_RETURN(ThrottleState t2, GetThrottle(tx, by_client));
    const Micros locked = std::max(t1.locked_until, t2.locked_until);
    if (locked > now) {
      out.answer = LinkAnswer::kThrottled;
      out.retry_at = locked;
      e.decision = "deny";
      e.rule = t1.locked_until > now ? "link.throttled.identifier" : "link.throttled.address";
      return audit::AuditLog::Append(tx, e).status();
    }
    SB_RETURN_IF_ERROR(
        RecordLoginFailure(tx, by_typed, policy_.link_requests_per_identifier, window, window, now)
            .status());
    SB_RETURN_IF_ERROR(
        RecordLoginFailure(tx, by_client, policy_.link_requests_per_address, window, window, now)
            .status());
    SB_RETURN_IF_ERROR(tx.Exec("DELETE FROM account_links WHERE expires_at < $1",
                               {now - 24 * 3600 * kMicrosPerSecond})
                           .status());
    // 2. The one member holding this address (several: nobody is told
    // whose data another holder would get).
    SB_ASSIGN_OR_RETURN(std::vector<MemberId> found, MembersTyped(tx, sealer_, typed));
    std::string address;
    if (found.size() == 1) {
      e.members = {found[0].value()};
      SB_ASSIGN_OR_RETURN(address, MemberAddress(tx, sealer_, found[0]));
      e.rule = address.empty() ? "link.no_address" : "report.member";
    } else {
      e.rule = found.empty() ? "link.unknown" : "link.ambiguous";
    }
    // 3. At most so many links per member, silently.
    if (!address.empty()) {
      const std::string person = "report:member:" + found[0].ToString();
      SB_ASSIGN_OR_RETURN(ThrottleState p, GetThrottle(tx, person));
      if (p.locked_until > now) {
        address.clear();
        e.rule = "link.throttled.person";
      } else {
        SB_RETURN_IF_ERROR(RecordLoginFailure(tx, person, policy_.link_requests_per_identifier,
                                              window, window, now)
                               .status());
      }
    }
    e.decision = address.empty() ? "deny" : "allow";
    if (address.empty()) return audit::AuditLog::Append(tx, e).status();
    // 4. The link and its mail, in this transaction.
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO account_links (token_hash, purpose, member_id, created_at, "
                "expires_at) VALUES ($1, 'report', $2, $3, $4)",
                {token.hash, found[0].value(), now, now + Minutes(policy_.link_minutes)})
            .status());
    const std::string& org = options_.organisation_name;
    const std::string link = options_.public_base_url + "/my-data/" + token.secret;
    const std::string text =
        "Hello,\n\nSomeone, we hope you, asked to see the personal data " + org +
        " holds about you and who has looked at it.\n\nTo see it, open this link within " +
        std::to_string(policy_.link_minutes) + " minutes:\n\n" + link +
        "\n\nThe link works once. If this was not you, ignore this message: nothing is "
        "shown to anyone.\n\n" +
        org + "\n";
    const json mail{{"to", address}, {"subject", "Your data held by " + org}, {"text", text}};
    const crypto::Sealed sealed_mail = sealer_.Seal(mail.dump(), "account-mail");
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO account_mail (purpose, key_id, sealed, state, next_attempt_at, "
                "created_at, updated_at) VALUES ('report', $1, $2, 'queued', $3, $3, $3)",
                {static_cast<std::int64_t>(sealed_mail.key_id),
                 store::Value::Bytes(sealed_mail.bytes), now})
            .status());
    out.mailed = true;
    return audit::AuditLog::Append(tx, e).status();
  }));
  return out;
}

Result<MemberId> EnrolmentService::UseReportLink(store::Tx& tx, std::string_view token,
                                                 const std::string& client,
                                                 const std::string& request_id) {
  if (!LooksLikeToken(token)) return Status::NotFound(std::string(kLinkGone));
  const Micros now = clock_.Now();
  std::optional<std::pair<std::int64_t, MemberId>> link;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id, member_id FROM account_links WHERE token_hash = $1 AND purpose = 'report' AND "
      "used_at IS NULL AND expires_at > $2 AND member_id IS NOT NULL",
      {HashToken(token), now}, [&](const store::Row& row) {
        link = std::make_pair(row.Int(0), MemberId(row.Int(1)));
        return false;
      }));
  if (!link) return Status::NotFound(std::string(kLinkGone));
  SB_ASSIGN_OR_RETURN(std::int64_t used,
                      tx.Exec("UPDATE account_links SET used_at = $2 WHERE id = $1 AND "
                              "used_at IS NULL",
                              {link->first, now}));
  if (used != 1) return Status::NotFound(std::string(kLinkGone));
  audit::Event e;
  e.at = now;
  e.action = "privacy.report_link";
  e.decision = "allow";
  e.rule = "self";
  e.members = {link->second.value()};
  e.request_id = request_id;
  e.client = client;
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  return link->second;
}

}  // namespace switchboard::access
