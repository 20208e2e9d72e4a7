// Member e-mail (RULEBOOK §7): drafts, on-behalf and second approvals, the
// rule checks run at send, queueing into the durable outbox, and reports.
//
// A message belongs to the account that drafted it, lives inside one scope
// (a unit; its audience is a segment within it) and speaks for one
// from-identity: the organisation, a unit, a candidate campaign or a named
// person. Every edit makes a new version with a new content hash; approvals
// name a version and its hash, so any edit voids them. Sending:
//  - when the from-identity is a person (or a candidate) other than the
//    sender, that person must have approved this version from their own
//    account (kOnBehalf);
//  - when policy requires it (audience above [messaging]
//    approval_audience_above; contest hooks: a live contest, staff sender
//    during neutrality), a second person approves (kSecond), who is neither
//    the author nor the sender;
//  - the checks that ran and their results are stored with the message and
//    shown in its report;
//  - the audience is fixed into the outbox in one statement (one row per
//    recipient: the idempotency key), excluding members without the kind's
//    consent, suppressed ones, canaries and members without a valid address.
// The transport (outbox.h) re-checks consent and suppression at the moment
// of hand-off, so an unsubscribe applies to messages already queued.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "access/policy/acting.h"
#include "access/policy/decision.h"
#include "access/policy/policy.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "members/org_tree.h"
#include "messaging/template.h"
#include "segment/segment.h"
#include "store/store.h"

namespace switchboard::messaging {

using MessageId = Id<struct MessageIdTag>;

enum class Kind { kService, kCampaign, kEndorsement };
enum class FromKind { kOrganisation, kUnit, kCandidate, kPerson };
enum class State { kDraft, kSending, kSent, kCancelled };

std::string_view KindName(Kind k);
std::optional<Kind> ParseKind(std::string_view s);
std::string_view FromKindName(FromKind k);
std::optional<FromKind> ParseFromKind(std::string_view s);
std::string_view StateName(State s);

// Consent bits a recipient must hold for a kind (service: none; campaign:
// email; endorsement: email and contact by candidates) and the suppression
// bits that exclude them (always do-not-contact, deceased, moved, no e-mail).
std::uint32_t RequiredConsents(Kind k);
std::uint32_t ExcludingSuppressions();

struct FromIdentity {
  FromKind kind = FromKind::kOrganisation;
  UnitId unit;        // kUnit
  AccountId account;  // kPerson / kCandidate: the person who must approve
  std::string name;   // display name ("Camden Branch", "Sam Example for Leader")
};

struct Limits {  // sizes refused at draft time
  size_t subject_bytes = 200;
  size_t body_bytes = 256 * 1024;  // each of text and HTML
};

struct Message {
  MessageId id;
  AccountId author;
  UnitId scope;
  FromIdentity from;
  Kind kind = Kind::kService;
  segment::Segment audience;  // audience.scope == scope
  std::string subject;        // a template (first name and unit name may appear)
  std::string text_body;      // a template, required
  std::string html_body;      // a template, optional
  int version = 0;
  std::string content_hash;  // hex SHA-256 of everything a recipient would get
  State state = State::kDraft;
  Micros created_at = 0, updated_at = 0;
  AccountId sent_by;
  std::string sent_role;
  Micros queued_at = 0, completed_at = 0;
  std::int64_t recipients = 0;
};

// Compiles the templates and checks sizes and the identity; errors name the
// field. `tree` resolves units; the identity's unit must lie in the scope,
// an organisation identity needs the root as scope.
Status Validate(const Message& m, const members::OrgTree& tree, const Limits& limits = {});
std::string ContentHash(const Message& m, const members::OrgTree& tree);

Result<MessageId> CreateDraft(store::Tx& tx, const members::OrgTree& tree, Message& m, Micros now);
Result<Message> GetMessage(store::Tx& tx, const members::OrgTree& tree, MessageId id);
// Saves a new version of a draft (only drafts change); voids approvals.
Status UpdateDraft(store::Tx& tx, const members::OrgTree& tree, Message& m, Micros now);
// Messages `account` authored, sent, or is named in, and messages whose
// scope lies within one of `scopes` (the scopes of the account's grants that
// could open them), newest first, at most `limit`. A message found only by
// its scope is listed when `in_scope` allows it: the caller's access
// decision for that message has the last word.
Result<std::vector<Message>> ListMessages(store::Tx& tx, const members::OrgTree& tree,
                                          AccountId account, const std::vector<UnitId>& scopes,
                                          const std::function<bool(const Message&)>& in_scope,
                                          int limit);
// Drafts naming `account` as their person/candidate identity.
Result<std::vector<Message>> AwaitingOnBehalf(store::Tx& tx, const members::OrgTree& tree,
                                              AccountId account);

// How many members the audience reaches for this kind now (consent,
// suppressions, canaries and a valid address already applied).
Result<std::int64_t> CountRecipients(store::Tx& tx, const members::OrgTree& tree,
                                     const segment::Segment& audience, Kind kind);

enum class ApprovalKind { kOnBehalf, kSecond };
std::string_view ApprovalKindName(ApprovalKind k);
struct Approval {
  ApprovalKind kind;
  AccountId account;
  std::string account_name;
  int version = 0;
  Micros at = 0;
};
// Records an approval of exactly `version` (must be the current one).
// kOnBehalf: `by` must be the identity's own account. kSecond: `by` must not
// be the author.
Status Approve(store::Tx& tx, const members::OrgTree& tree, MessageId id, int version,
               ApprovalKind kind, AccountId by, Micros now);
// Approvals of the current version.
Result<std::vector<Approval>> CurrentApprovals(store::Tx& tx, const Message& m);

// Contest rules (RULEBOOK §8, src/contest) plug in here. The gate's contest
// overlay decides who may draft, approve and send what (neutrality, data
// release); these hooks shape and check the message itself.
struct RuleCheck {
  std::string rule;
  bool passed = false;
  std::string detail;  // for people
};
class SendHooks {
 public:
  virtual ~SendHooks() = default;
  // Before a draft by `who` is stored (new or edited): may narrow the
  // audience (a candidate campaign's message reaches only the contest's
  // consenting electorate), and refuses what no draft may be (an endorsement
  // statement over the word limit) with kInvalidArgument naming the field.
  virtual Status Shape(store::Tx& tx, const access::Acting& who, Message& m) const = 0;
  // Extra checks on a send (e.g. contest statements); a failed one blocks it.
  virtual std::vector<RuleCheck> Check(store::Tx& tx, const Message& m, AccountId sender,
                                       bool sender_is_staff, Micros now) const = 0;
  // Why a second approval is needed beyond the audience size, or "".
  virtual std::string SecondApprovalReason(store::Tx& tx, const Message& m, AccountId sender,
                                           bool sender_is_staff, Micros now) const = 0;
  // Whether `who`, the person `m` speaks for, may approve it in their own
  // name (a contest's staff neutrality binds them too): a refusal, or
  // nullopt.
  virtual std::optional<access::Decision> OwnApproval(store::Tx& tx, const access::Acting& who,
                                                      const Message& m) const = 0;
  // After `m` was queued for `recipients` members by `who` (the contest's
  // equal-access ledger).
  virtual Status Sent(store::Tx& tx, const access::Acting& who, const Message& m,
                      std::int64_t recipients) const = 0;
};
// No contest rules: no shaping, no extra checks, no extra approvals.
const SendHooks& NoContestHooks();

struct SendPolicy {
  std::int64_t approval_audience_above = 1000;
};
SendPolicy SendPolicyFrom(const access::Policy& p);

struct Requirements {
  bool on_behalf = false;  // the named person must approve
  bool second = false;     // a second person must approve
  std::string second_reason;
  std::int64_t recipients = 0;
};
Result<Requirements> RequirementsFor(store::Tx& tx, const members::OrgTree& tree, const Message& m,
                                     AccountId sender, bool sender_is_staff,
                                     const SendPolicy& policy, const SendHooks& hooks, Micros now);

struct SendResult {
  bool sent = false;  // queued; false: refused (checks say why)
  std::vector<RuleCheck> checks;
  std::int64_t recipients = 0;
};
// Runs every check, stores them, and when all pass queues the recipients and
// marks the message sending, all in `tx`. `decision` is the allow for
// message.send over the scope (its role is recorded as the sender's role).
Result<SendResult> Send(store::Tx& tx, const members::OrgTree& tree, MessageId id, int version,
                        AccountId sender, bool sender_is_staff, const access::Decision& decision,
                        const SendPolicy& policy, const SendHooks& hooks, Micros now);
// Stops a sending message: rows not yet handed to the relay become cancelled.
Result<std::int64_t> Cancel(store::Tx& tx, MessageId id, Micros now);

struct Report {
  std::int64_t recipients = 0, queued = 0, handed = 0, sent = 0, deferred = 0, failed = 0,
               bounced = 0, suppressed = 0, cancelled = 0, unsubscribed = 0;
  std::vector<Approval> approvals;
  std::vector<RuleCheck> checks;
  std::string author_name, sender_name;
};
Result<Report> MessageReport(store::Tx& tx, const Message& m);

// The footer every message carries, in words a member understands: the real
// sending account and its role, the identity it speaks for, the approver,
// why the member receives it, and the unsubscribe/preferences links.
struct FooterFacts {
  std::string sender_name, sender_role, identity, approver, unit_name;
};
std::string FooterText(const FooterFacts& f, const std::string& unsubscribe_url,
                       const std::string& preferences_url);
std::string FooterHtml(const FooterFacts& f, const std::string& unsubscribe_url,
                       const std::string& preferences_url);
// Role names as a member would read them ("a local officer").
std::string RoleInWords(std::string_view role);

}  // namespace switchboard::messaging
