// Enrolment: people sign themselves up from an invitation link, and reset a
// forgotten password, by a one-time link sent by e-mail (RULEBOOK §2).
//
// Asking for a link (RequestSignUp, RequestReset) answers the same whether
// or not the typed address, membership number or login is known: the caller
// gets kAsked or kThrottled, never "no such member". Both paths run one write
// transaction (the throttle counters and the audit event; when known, also
// the link and its mail), so they take about as long. The mail goes only to
// the address the register holds for the member (or, for an account made by a
// non-member, the address they proved), never to a differently typed one.
// Where a campaign allows non-members, an unknown address may prove itself:
// the mail goes to it, and the account made from the link keeps it (sealed).
//
// A link is a random token (credentials/token.h) stored as its SHA-256, used
// once, working for [login] link_minutes. Requests are counted per typed
// identifier and per client address (a refusal says so: it depends only on
// what was typed, not on who is known) and per person on record (silently:
// no further mail, the same answer). Every request and use is an audit event
// with ids and rules only, never the address or name typed.
//
// The mail is a row of account_mail (sealed: it carries the link), written in
// the same transaction as the link and delivered by the e-mail outbox
// (messaging/account_mail.h), DKIM-signed, surviving a crash.
//
// Completing a link sets the password (the password policy, Argon2id),
// creates the account bound to the member record (sign-up) or ends every
// session of the account and clears its sign-in throttling (reset), and opens
// a browser session, all in one transaction.
//
// Thread-safe; borrows everything it is given.
#pragma once

#include <optional>
#include <string>

#include "access/policy/policy.h"
#include "access/store/access_store.h"
#include "access/store/auth_service.h"
#include "core/clock.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::access {

struct EnrolmentOptions {
  std::string public_base_url = "http://127.0.0.1:8080";  // links in mails
  std::string organisation_name = "Example Party";
  PasswordHashOptions hash;
};

struct SignUpRequest {
  std::string who;  // an e-mail address or a membership number, as typed
  // The invitation the person came from: its token goes into the link (so
  // the browser can join after the password is set), its campaign's name
  // into the mail.
  std::string invite_token;
  std::string campaign_name;
  std::int64_t campaign = 0;       // for the audit event
  bool allow_own_address = false;  // the campaign allows non-members
  std::string client;
  std::string request_id;
};

struct ResetRequest {
  std::string who;  // a login name, an e-mail address or a membership number
  std::string client;
  std::string request_id;
};

enum class LinkAnswer { kAsked, kThrottled };

struct LinkRequestOutcome {
  LinkAnswer answer = LinkAnswer::kAsked;
  Micros retry_at = 0;  // kThrottled
  bool mailed = false;  // for tests and the caller's wake-up; never shown
};

enum class LinkPurpose { kSignUp, kReset };

struct LinkInfo {
  LinkPurpose purpose = LinkPurpose::kSignUp;
  std::string login;    // kReset: the account's login name
  bool member = false;  // kSignUp: bound to a member record
  Micros expires_at = 0;
};

struct CompleteLink {
  std::string token;
  std::string password;
  std::string login;         // kSignUp only
  std::string display_name;  // kSignUp only
  std::string client;
  std::string request_id;
};

struct LinkCompleted {
  LinkPurpose purpose = LinkPurpose::kSignUp;
  Account account;
  IssuedSession session;
  std::int64_t sessions_ended = 0;  // kReset
};

std::string_view LinkPurposeName(LinkPurpose p);

// "Who saw my data" (RULEBOOK §10): a member asks, with their e-mail
// address, for a one-time link to their own subject-access report. The same
// throttles, answers and mail path as the links above (purpose "report";
// throttle subjects "report:..."): the answer never says whether the
// address is known, and the mail goes only to the address the register
// holds. The link opens the report once (UseReportLink).
struct ReportLinkRequest {
  std::string email;  // as typed
  std::string client;
  std::string request_id;
};

class EnrolmentService {
 public:
  EnrolmentService(store::Store& store, const Policy& policy, const crypto::Sealer& sealer,
                   const Clock& clock, AuthService& auth, EnrolmentOptions options);

  // Storage failures are errors; everything else is an outcome.
  Result<LinkRequestOutcome> RequestSignUp(const SignUpRequest& request);
  Result<LinkRequestOutcome> RequestReset(const ResetRequest& request);

  // What a link is for; kNotFound (one message for all) when it is unknown,
  // used or expired.
  Result<LinkInfo> Inspect(std::string_view token);

  // kNotFound as Inspect; kInvalidArgument for a password the policy refuses
  // or a bad login or name; kAlreadyExists for a login taken. The link stays
  // usable after a refusal.
  Result<LinkCompleted> Complete(const CompleteLink& request);

  // kInvalidArgument only for text that is not an e-mail address.
  Result<LinkRequestOutcome> RequestReport(const ReportLinkRequest& request);
  // Spends a report link in `tx` and returns the member it was sent for,
  // recording the use ("privacy.report_link"); kNotFound (one message for
  // all) when it is unknown, used or expired.
  Result<MemberId> UseReportLink(store::Tx& tx, std::string_view token, const std::string& client,
                                 const std::string& request_id);

 private:
  struct Target;
  Result<LinkRequestOutcome> Request(LinkPurpose purpose, const std::string& who,
                                     const SignUpRequest* signup, const std::string& client,
                                     const std::string& request_id);

  store::Store& store_;
  const Policy& policy_;
  const crypto::Sealer& sealer_;
  const Clock& clock_;
  AuthService& auth_;
  EnrolmentOptions options_;
};

}  // namespace switchboard::access
