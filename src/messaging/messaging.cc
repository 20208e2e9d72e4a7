#include "messaging/messaging.h"

#include <sodium.h>

#include <algorithm>

#include "core/text.h"
#include "crypto/keyring.h"
#include "members/register.h"

namespace switchboard::messaging {

namespace {

constexpr std::pair<Kind, std::string_view> kKinds[] = {{Kind::kService, "service"},
                                                        {Kind::kCampaign, "campaign"},
                                                        {Kind::kEndorsement, "endorsement"}};
constexpr std::pair<FromKind, std::string_view> kFromKinds[] = {
    {FromKind::kOrganisation, "organisation"},
    {FromKind::kUnit, "unit"},
    {FromKind::kCandidate, "candidate"},
    {FromKind::kPerson, "person"}};
constexpr std::pair<State, std::string_view> kStates[] = {{State::kDraft, "draft"},
                                                          {State::kSending, "sending"},
                                                          {State::kSent, "sent"},
                                                          {State::kCancelled, "cancelled"}};

template <typename E, size_t N>
std::optional<E> Lookup(const std::pair<E, std::string_view> (&table)[N], std::string_view s) {
  for (const auto& [e, name] : table)
    if (name == s) return e;
  return std::nullopt;
}
template <typename E, size_t N>
std::string_view NameOf(const std::pair<E, std::string_view> (&table)[N], E e) {
  for (const auto& [v, name] : table)
    if (v == e) return name;
  return "?";
}

const char* kColumns =
    "id, author_id, scope_unit, from_kind, from_unit, from_account, from_name, kind, audience, "
    "subject, text_body, html_body, version, content_hash, state, created_at, updated_at, "
    "sent_by, sent_role, queued_at, completed_at, recipients";

Result<Message> FromRow(const store::Row& r, const members::OrgTree& tree) {
  Message m;
  m.id = MessageId(r.Int(0));
  m.author = AccountId(r.Int(1));
  m.scope = UnitId(r.Int(2));
  m.from.kind = ParseFromKind(r.Text(3)).value_or(FromKind::kOrganisation);
  m.from.unit = UnitId(r.IntOr(4, 0));
  m.from.account = AccountId(r.IntOr(5, 0));
  m.from.name = std::string(r.Text(6));
  m.kind = ParseKind(r.Text(7)).value_or(Kind::kService);
  SB_ASSIGN_OR_RETURN(m.audience, segment::ParseSegment(r.Text(8), tree));
  m.subject = std::string(r.Text(9));
  m.text_body = std::string(r.Text(10));
  m.html_body = std::string(r.Text(11));
  m.version = static_cast<int>(r.Int(12));
  m.content_hash = std::string(r.Text(13));
  m.state = Lookup(kStates, r.Text(14)).value_or(State::kDraft);
  m.created_at = r.Int(15);
  m.updated_at = r.Int(16);
  m.sent_by = AccountId(r.IntOr(17, 0));
  m.sent_role = r.TextOr(18);
  m.queued_at = r.IntOr(19, 0);
  m.completed_at = r.IntOr(20, 0);
  m.recipients = r.IntOr(21, 0);
  return m;
}

store::Value OptId(std::int64_t v) { return v > 0 ? store::Value(v) : store::Value(); }

std::string AccountName(store::Tx& tx, AccountId id) {
  std::string name;
  (void)tx.Query("SELECT display_name FROM accounts WHERE id = $1", {id.value()},
                 [&](const store::Row& r) {
                   name = std::string(r.Text(0));
                   return false;
                 });
  return name;
}

// The recipient condition shared by the count and the queue: the segment,
// the kind's consents, the exclusions, and a valid e-mail address.
segment::SqlQuery RecipientWhere(const members::OrgTree& tree, const segment::Segment& audience,
                                 Kind kind) {
  segment::Segment s = audience;
  s.consents_all |= RequiredConsents(kind);
  s.suppressions_none |= ExcludingSuppressions();
  s.exclude_canaries = true;
  segment::SqlQuery q = segment::SegmentWhereSql(s, tree);
  q.sql +=
      " AND EXISTS (SELECT 1 FROM contact_points cp WHERE cp.member_id = m.id AND "
      "cp.kind = 'email' AND cp.valid = 1)";
  return q;
}

}  // namespace

std::string_view KindName(Kind k) { return NameOf(kKinds, k); }
std::optional<Kind> ParseKind(std::string_view s) { return Lookup(kKinds, s); }
std::string_view FromKindName(FromKind k) { return NameOf(kFromKinds, k); }
std::optional<FromKind> ParseFromKind(std::string_view s) { return Lookup(kFromKinds, s); }
std::string_view StateName(State s) { return NameOf(kStates, s); }
std::string_view ApprovalKindName(ApprovalKind k) {
  return k == ApprovalKind::kOnBehalf ? "on_behalf" : "second";
}

std::uint32_t RequiredConsents(Kind k) {
  switch (k) {
    case Kind::kService:
      return 0;
    case Kind::kCampaign:
      return members::kConsentEmail;
    case Kind::kEndorsement:
      return members::kConsentEmail | members::kConsentCandidates;
  }
  return members::kConsentEmail;
}

std::uint32_t ExcludingSuppressions() {
  return members::kDoNotContact | members::kDeceased | members::kMoved | members::kNoEmail;
}

Status Validate(const Message& m, const members::OrgTree& tree, const Limits& limits) {
  if (!tree.Find(m.scope)) return Status::InvalidArgument("scope: no such unit");
  if (m.audience.scope != m.scope) {
    return Status::InvalidArgument("audience.scope: must be the message's scope");
  }
  for (UnitId u : m.audience.units) {
    if (!tree.IsWithin(u, m.scope)) {
      return Status::InvalidArgument("audience.units: every unit must be inside the scope");
    }
  }
  if (m.subject.empty()) return Status::InvalidArgument("subject: is empty");
  if (m.subject.size() > limits.subject_bytes) {
    return Status::InvalidArgument("subject: longer than " + std::to_string(limits.subject_bytes) +
                                   " bytes");
  }
  if (m.subject.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("subject: must be one line");
  }
  if (m.text_body.empty()) {
    return Status::InvalidArgument("text_body: is empty (every message has a plain-text body)");
  }
  for (const auto* b : {&m.text_body, &m.html_body}) {
    if (b->size() > limits.body_bytes) {
      return Status::InvalidArgument(std::string(b == &m.text_body ? "text_body" : "html_body") +
                                     ": longer than " + std::to_string(limits.body_bytes) +
                                     " bytes");
    }
  }
  SB_RETURN_IF_ERROR(Template::Compile(m.subject, BodyKind::kText, "subject").status());
  SB_RETURN_IF_ERROR(Template::Compile(m.text_body, BodyKind::kText, "text_body").status());
  if (!m.html_body.empty()) {
    SB_RETURN_IF_ERROR(Template::Compile(m.html_body, BodyKind::kHtml, "html_body").status());
  }
  if (m.from.name.empty() && m.from.kind != FromKind::kUnit &&
      m.from.kind != FromKind::kOrganisation) {
    return Status::InvalidArgument("from.name: name the person or the campaign");
  }
  if (m.from.name.size() > 120 || m.from.name.find_first_of("\r\n\"<>") != std::string::npos) {
    return Status::InvalidArgument("from.name: at most 120 characters, without quotes or <>");
  }
  switch (m.from.kind) {
    case FromKind::kOrganisation:
      if (!tree.root() || m.scope != tree.root()->id) {
        return Status::InvalidArgument(
            "from: only a message to the whole organisation may speak for the organisation");
      }
      break;
    case FromKind::kUnit:
      if (!tree.Find(m.from.unit) || !tree.IsWithin(m.from.unit, m.scope)) {
        return Status::InvalidArgument("from.unit: must be the scope or a unit inside it");
      }
      break;
    case FromKind::kPerson:
    case FromKind::kCandidate:
      if (!m.from.account.valid()) {
        return Status::InvalidArgument("from.account: name the account of the person");
      }
      break;
  }
  return Status::Ok();
}

std::string ContentHash(const Message& m, const members::OrgTree& tree) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  auto add = [&](std::string_view s) {
    const std::uint64_t n = s.size();
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(&n), sizeof n);
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  add(FromKindName(m.from.kind));
  add(std::to_string(m.from.unit.value()));
  add(std::to_string(m.from.account.value()));
  add(m.from.name);
  add(KindName(m.kind));
  add(segment::SegmentToJson(m.audience, tree));
  add(m.subject);
  add(m.text_body);
  add(m.html_body);
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  return crypto::ToHex(out, sizeof out);
}

Result<MessageId> CreateDraft(store::Tx& tx, const members::OrgTree& tree, Message& m, Micros now) {
  SB_RETURN_IF_ERROR(Validate(m, tree));
  m.version = 1;
  m.state = State::kDraft;
  m.created_at = m.updated_at = now;
  m.content_hash = ContentHash(m, tree);
  std::int64_t id = 0;
  SB_RETURN_IF_ERROR(tx.Query(
      "INSERT INTO messages (author_id, scope_unit, from_kind, from_unit, from_account, "
      "from_name, kind, audience, subject, text_body, html_body, version, content_hash, state, "
      "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, "
      "'draft', $13, $13) RETURNING id",
      {m.author.value(), m.scope.value(), FromKindName(m.from.kind), OptId(m.from.unit.value()),
       OptId(m.from.account.value()), m.from.name, KindName(m.kind),
       segment::SegmentToJson(m.audience, tree), m.subject, m.text_body, m.html_body,
       m.content_hash, now},
      [&](const store::Row& r) {
        id = r.Int(0);
        return false;
      }));
  m.id = MessageId(id);
  return m.id;
}

Result<Message> GetMessage(store::Tx& tx, const members::OrgTree& tree, MessageId id) {
  std::optional<Result<Message>> out;
  SB_RETURN_IF_ERROR(tx.Query(std::string("SELECT ") + kColumns + " FROM messages WHERE id = $1",
                              {id.value()}, [&](const store::Row& r) {
                                out = FromRow(r, tree);
                                return false;
                              }));
  if (!out) return Status::NotFound("no message has this id");
  return std::move(*out);
}

Status UpdateDraft(store::Tx& tx, const members::OrgTree& tree, Message& m, Micros now) {
  SB_ASSIGN_OR_RETURN(Message old, GetMessage(tx, tree, m.id));
  if (old.state != State::kDraft) {
    return Status::FailedPrecondition("the message is " + std::string(StateName(old.state)) +
                                      "; only drafts can be edited");
  }
  SB_RETURN_IF_ERROR(Validate(m, tree));
  m.content_hash = ContentHash(m, tree);
  if (m.content_hash == old.content_hash) {  // nothing changed: keep the version and approvals
    m.version = old.version;
    return Status::Ok();
  }
  m.version = old.version + 1;
  m.updated_at = now;
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE messages SET from_kind = $2, from_unit = $3, from_account = $4, "
              "from_name = $5, kind = $6, audience = $7, subject = $8, text_body = $9, "
              "html_body = $10, version = $11, content_hash = $12, updated_at = $13 "
              "WHERE id = $1 AND state = 'draft' AND version = $14",
              {m.id.value(), FromKindName(m.from.kind), OptId(m.from.unit.value()),
               OptId(m.from.account.value()), m.from.name, KindName(m.kind),
               segment::SegmentToJson(m.audience, tree), m.subject, m.text_body, m.html_body,
               m.version, m.content_hash, now, old.version}));
  if (n != 1) return Status::Aborted("the message changed meanwhile; reload it");
  return Status::Ok();
}

Result<std::vector<Message>> ListMessages(store::Tx& tx, const members::OrgTree& tree,
                                          AccountId account, const std::vector<UnitId>& scopes,
                                          const std::function<bool(const Message&)>& in_scope,
                                          int limit) {
  std::vector<Message> out;
  if (limit <= 0) return out;
  std::string where = " WHERE author_id = $1 OR sent_by = $1 OR from_account = $1";
  std::vector<store::Value> params{account.value()};
  if (tree.root() && std::find(scopes.begin(), scopes.end(), tree.root()->id) != scopes.end()) {
    where.clear();  // a scope over the whole organisation: every message
    params.clear();
  } else if (!scopes.empty()) {
    // The tree's own integers, so safe inline.
    where += " OR scope_unit IN (" + tree.IdsWithin(scopes) + ")";
  }
  Status inner = Status::Ok();
  SB_RETURN_IF_ERROR(
      tx.Query(std::string("SELECT ") + kColumns + " FROM messages" + where + " ORDER BY id DESC",
               params, [&](const store::Row& r) {
                 auto m = FromRow(r, tree);
                 if (!m) {
                   inner = m.status();
                   return false;
                 }
                 const bool own =
                     m->author == account || m->sent_by == account || m->from.account == account;
                 if (own || (in_scope && in_scope(*m))) out.push_back(std::move(*m));
                 return static_cast<int>(out.size()) < limit;
               }));
  SB_RETURN_IF_ERROR(inner);
  return out;
}

Result<std::vector<Message>> AwaitingOnBehalf(store::Tx& tx, const members::OrgTree& tree,
                                              AccountId account) {
  std::vector<Message> out;
  Status inner = Status::Ok();
  SB_RETURN_IF_ERROR(
      tx.Query(std::string("SELECT ") + kColumns +
                   " FROM messages WHERE from_account = $1 AND state = 'draft' AND author_id <> $1 "
                   "ORDER BY id DESC LIMIT 100",
               {account.value()}, [&](const store::Row& r) {
                 auto m = FromRow(r, tree);
                 if (!m) {
                   inner = m.status();
                   return false;
                 }
                 out.push_back(std::move(*m));
                 return true;
               }));
  SB_RETURN_IF_ERROR(inner);
  return out;
}

Result<std::int64_t> CountRecipients(store::Tx& tx, const members::OrgTree& tree,
                                     const segment::Segment& audience, Kind kind) {
  segment::SqlQuery q = RecipientWhere(tree, audience, kind);
  std::int64_t n = 0;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT COUNT(*) FROM members m" + q.sql, q.params, [&](const store::Row& r) {
        n = r.Int(0);
        return false;
      }));
  return n;
}

Status Approve(store::Tx& tx, const members::OrgTree& tree, MessageId id, int version,
               ApprovalKind kind, AccountId by, Micros now) {
  SB_ASSIGN_OR_RETURN(Message m, GetMessage(tx, tree, id));
  if (m.state != State::kDraft) {
    return Status::FailedPrecondition("the message is " + std::string(StateName(m.state)) +
                                      "; approvals are for drafts");
  }
  if (version != m.version) {
    return Status::FailedPrecondition("version " + std::to_string(version) +
                                      " is not the current one (" + std::to_string(m.version) +
                                      "); read the message again before approving it");
  }
  if (kind == ApprovalKind::kOnBehalf) {
    if (m.from.kind != FromKind::kPerson && m.from.kind != FromKind::kCandidate) {
      return Status::FailedPrecondition("this message speaks for no person");
    }
    if (m.from.account != by) {
      return Status::PermissionDenied(
          "only the person the message speaks for can approve it in their name");
    }
  } else if (m.author == by) {
    return Status::PermissionDenied("the author cannot be the second approver");
  }
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("INSERT INTO message_approvals (message_id, version, content_hash, kind, "
              "account_id, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
              {id.value(), static_cast<std::int64_t>(version), m.content_hash,
               ApprovalKindName(kind), by.value(), now}));
  (void)n;
  return Status::Ok();
}

Result<std::vector<Approval>> CurrentApprovals(store::Tx& tx, const Message& m) {
  std::vector<Approval> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT a.kind, a.account_id, a.version, a.at, c.display_name FROM message_approvals a "
      "JOIN accounts c ON c.id = a.account_id WHERE a.message_id = $1 AND a.version = $2 AND "
      "a.content_hash = $3 ORDER BY a.id",
      {m.id.value(), static_cast<std::int64_t>(m.version), m.content_hash},
      [&](const store::Row& r) {
        out.push_back({r.Text(0) == "on_behalf" ? ApprovalKind::kOnBehalf : ApprovalKind::kSecond,
                       AccountId(r.Int(1)), std::string(r.Text(4)), static_cast<int>(r.Int(2)),
                       r.Int(3)});
        return true;
      }));
  return out;
}

namespace {
class NoHooks : public SendHooks {
 public:
  Status Shape(store::Tx&, const access::Acting&, Message&) const override { return Status::Ok(); }
  Status Sent(store::Tx&, const access::Acting&, const Message&, std::int64_t) const override {
    return Status::Ok();
  }
  std::optional<access::Decision> OwnApproval(store::Tx&, const access::Acting&,
                                              const Message&) const override {
    return std::nullopt;
  }
  std::vector<RuleCheck> Check(store::Tx&, const Message&, AccountId, bool, Micros) const override {
    return {};
  }
  std::string SecondApprovalReason(store::Tx&, const Message&, AccountId, bool,
                                   Micros) const override {
    return {};
  }
};
}  // namespace

const SendHooks& NoContestHooks() {
  static const NoHooks kHooks;
  return kHooks;
}

SendPolicy SendPolicyFrom(const access::Policy& p) {
  SendPolicy s;
  s.approval_audience_above = p.messaging_approval_audience_above;
  return s;
}

Result<Requirements> RequirementsFor(store::Tx& tx, const members::OrgTree& tree, const Message& m,
                                     AccountId sender, bool sender_is_staff,
                                     const SendPolicy& policy, const SendHooks& hooks, Micros now) {
  Requirements r;
  SB_ASSIGN_OR_RETURN(r.recipients, CountRecipients(tx, tree, m.audience, m.kind));
  r.on_behalf = (m.from.kind == FromKind::kPerson || m.from.kind == FromKind::kCandidate) &&
                m.from.account != sender;
  if (r.recipients > policy.approval_audience_above) {
    r.second = true;
    r.second_reason = "the audience (" + std::to_string(r.recipients) + ") is above " +
                      std::to_string(policy.approval_audience_above);
  }
  std::string hook = hooks.SecondApprovalReason(tx, m, sender, sender_is_staff, now);
  if (!hook.empty()) {
    r.second = true;
    r.second_reason += (r.second_reason.empty() ? "" : "; ") + hook;
  }
  return r;
}

Result<SendResult> Send(store::Tx& tx, const members::OrgTree& tree, MessageId id, int version,
                        AccountId sender, bool sender_is_staff, const access::Decision& decision,
                        const SendPolicy& policy, const SendHooks& hooks, Micros now) {
  SB_ASSIGN_OR_RETURN(Message m, GetMessage(tx, tree, id));
  if (m.state != State::kDraft) {
    return Status::FailedPrecondition("the message is already " + std::string(StateName(m.state)));
  }
  if (version != m.version) {
    return Status::FailedPrecondition("version " + std::to_string(version) +
                                      " is not the current one (" + std::to_string(m.version) +
                                      "); read the message again before sending it");
  }
  if (!decision.allow) return Status::PermissionDenied("message.send is not allowed here");
  SendResult out;
  // Re-validate: the templates may have been saved under older rules.
  Status valid = Validate(m, tree);
  out.checks.push_back({"message.valid", valid.ok(),
                        valid.ok() ? "templates and identity are valid" : valid.message()});
  SB_ASSIGN_OR_RETURN(Requirements req,
                      RequirementsFor(tx, tree, m, sender, sender_is_staff, policy, hooks, now));
  SB_ASSIGN_OR_RETURN(std::vector<Approval> approvals, CurrentApprovals(tx, m));
  if (req.on_behalf) {
    const bool ok = std::any_of(approvals.begin(), approvals.end(), [&](const Approval& a) {
      return a.kind == ApprovalKind::kOnBehalf && a.account == m.from.account;
    });
    out.checks.push_back({"message.on_behalf", ok,
                          ok ? "approved by " + m.from.name + " from their own account"
                             : "the message speaks for " + m.from.name +
                                   ", who has not approved this version from their own account"});
  } else {
    out.checks.push_back({"message.on_behalf", true,
                          m.from.kind == FromKind::kPerson || m.from.kind == FromKind::kCandidate
                              ? "the sender is the person named"
                              : "the message speaks for a unit or the organisation"});
  }
  if (req.second) {
    const bool ok = std::any_of(approvals.begin(), approvals.end(), [&](const Approval& a) {
      return a.kind == ApprovalKind::kSecond && a.account != sender && a.account != m.author;
    });
    out.checks.push_back(
        {"message.second_approval", ok,
         ok ? "a second person approved this version (" + req.second_reason + ")"
            : "a second person (not the author or the sender) must approve: " + req.second_reason});
  } else {
    out.checks.push_back({"message.second_approval", true,
                          "not required (" + std::to_string(req.recipients) + " recipients)"});
  }
  out.checks.push_back(
      {"message.audience", req.recipients > 0,
       req.recipients > 0
           ? std::to_string(req.recipients) + " recipients with the consent this kind needs"
           : "no member in the audience may receive this kind of message"});
  for (RuleCheck& c : hooks.Check(tx, m, sender, sender_is_staff, now)) {
    out.checks.push_back(std::move(c));
  }
  for (const RuleCheck& c : out.checks) {
    SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO message_checks (message_id, version, rule, passed, "
                               "detail, at) VALUES ($1, $2, $3, $4, $5, $6)",
                               {m.id.value(), static_cast<std::int64_t>(m.version), c.rule,
                                static_cast<std::int64_t>(c.passed), c.detail, now})
                           .status());
  }
  out.sent = std::all_of(out.checks.begin(), out.checks.end(),
                         [](const RuleCheck& c) { return c.passed; });
  if (!out.sent) return out;

  segment::SqlQuery q = RecipientWhere(tree, m.audience, m.kind);
  std::vector<store::Value> params = q.params;
  params.emplace_back(m.id.value());
  params.emplace_back(now);
  const std::string mid = "$" + std::to_string(params.size() - 1);
  const std::string at = "$" + std::to_string(params.size());
  SB_ASSIGN_OR_RETURN(
      out.recipients,
      tx.Exec("INSERT INTO outbox (message_id, member_id, state, attempts, "
              "next_attempt_at, updated_at) SELECT " +
                  mid + ", m.id, 'queued', 0, " + at + ", " + at + " FROM members m" + q.sql,
              params));
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE messages SET state = 'sending', sent_by = $2, sent_role = $3, "
              "queued_at = $4, recipients = $5 WHERE id = $1 AND state = 'draft' AND version = $6",
              {m.id.value(), sender.value(), decision.role ? decision.role->name : std::string(),
               now, out.recipients, static_cast<std::int64_t>(m.version)}));
  if (n != 1) return Status::Aborted("the message changed meanwhile; reload it");
  return out;
}

Result<std::int64_t> Cancel(store::Tx& tx, MessageId id, Micros now) {
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.Exec("UPDATE outbox SET state = 'cancelled', updated_at = $2 WHERE "
                              "message_id = $1 AND state IN ('queued', 'deferred')",
                              {id.value(), now}));
  SB_RETURN_IF_ERROR(tx.Exec("UPDATE messages SET state = 'cancelled', completed_at = $2 WHERE "
                             "id = $1 AND state IN ('draft', 'sending')",
                             {id.value(), now})
                         .status());
  return n;
}

Result<Report> MessageReport(store::Tx& tx, const Message& m) {
  Report r;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT state, COUNT(*) FROM outbox WHERE message_id = $1 GROUP BY state",
               {m.id.value()}, [&](const store::Row& row) {
                 const std::string_view s = row.Text(0);
                 const std::int64_t n = row.Int(1);
                 r.recipients += n;
                 if (s == "queued") r.queued = n;
                 if (s == "handed") r.handed = n;
                 if (s == "sent") r.sent = n;
                 if (s == "deferred") r.deferred = n;
                 if (s == "failed") r.failed = n;
                 if (s == "bounced") r.bounced = n;
                 if (s == "suppressed") r.suppressed = n;
                 if (s == "cancelled") r.cancelled = n;
                 return true;
               }));
  SB_ASSIGN_OR_RETURN(
      r.unsubscribed,
      tx.QueryInt("SELECT COUNT(*) FROM unsubscribes WHERE message_id = $1", {m.id.value()}));
  SB_ASSIGN_OR_RETURN(r.approvals, CurrentApprovals(tx, m));
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT rule, passed, detail FROM message_checks WHERE message_id = $1 AND version = $2 "
      "ORDER BY id",
      {m.id.value(), static_cast<std::int64_t>(m.version)}, [&](const store::Row& row) {
        r.checks.push_back({std::string(row.Text(0)), row.Int(1) != 0, std::string(row.Text(2))});
        return true;
      }));
  r.author_name = AccountName(tx, m.author);
  if (m.sent_by.valid()) r.sender_name = AccountName(tx, m.sent_by);
  return r;
}

std::string RoleInWords(std::string_view role) {
  if (role == "officer") return "a local officer";
  if (role == "staff") return "a member of staff";
  if (role == "candidate_campaign") return "a candidate's campaign team";
  if (role == "owner") return "an administrator of the membership system";
  if (role == "membership_admin") return "the membership team";
  if (role.empty()) return "an authorised user";
  return "an authorised user (" + std::string(role) + ")";
}

namespace {
std::string FooterSentence(const FooterFacts& f) {
  std::string s = "This message was sent by " + f.sender_name + ", " + RoleInWords(f.sender_role);
  if (!f.identity.empty()) s += ", on behalf of " + f.identity;
  s += ".";
  if (!f.approver.empty()) s += " It was approved by " + f.approver + ".";
  if (!f.unit_name.empty()) {
    s += " You receive it as a member in " + f.unit_name + ".";
  }
  return s;
}
}  // namespace

std::string FooterText(const FooterFacts& f, const std::string& unsubscribe_url,
                       const std::string& preferences_url) {
  return "\n\n-- \n" + FooterSentence(f) + "\nUnsubscribe: " + unsubscribe_url +
         "\nChoose what we send you: " + preferences_url + "\n";
}

std::string FooterHtml(const FooterFacts& f, const std::string& unsubscribe_url,
                       const std::string& preferences_url) {
  return "<hr><p><small>" + text::EscapeHtml(FooterSentence(f)) + "<br><a href=\"" +
         text::EscapeHtml(unsubscribe_url) + "\">Unsubscribe</a> &middot; <a href=\"" +
         text::EscapeHtml(preferences_url) + "\">Choose what we send you</a></small></p>";
}

}  // namespace switchboard::messaging
