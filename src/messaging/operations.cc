#include "messaging/operations.h"

#include <map>

#include "access/guard/gate.h"
#include "audit/audit_log.h"
#include "core/text.h"
#include "members/register.h"
#include "messaging/template.h"

namespace switchboard::messaging {

namespace {

audit::Event MessageEvent(const access::Acting& who, std::string_view action, MessageId id) {
  audit::Event e = who.Allow(action);
  if (id.valid()) e.message = id.value();
  return e;
}

Status Record(store::Tx& tx, const audit::Event& e) {
  return audit::AuditLog::Append(tx, e).status();
}

}  // namespace

Result<UnitId> MessageScope(store::Tx& tx, MessageId id) {
  SB_ASSIGN_OR_RETURN(std::int64_t unit,
                      tx.QueryInt("SELECT scope_unit FROM messages WHERE id = $1", {id.value()}));
  if (unit <= 0) return Status::NotFound("no message has this id");
  return UnitId(unit);
}

namespace {

audit::Event LinkEvent(const MemberLink& link, std::string_view action) {
  audit::Event e;
  e.at = link.now;
  e.action = std::string(action);
  e.decision = "allow";
  e.rule = "member.own_token";
  e.members = {link.member.value()};
  if (link.message.valid()) e.message = link.message.value();
  e.request_id = link.request_id;
  return e;
}

}  // namespace

Result<std::optional<members::Preferences>> Unsubscribe(store::Tx& tx, const MemberLink& link) {
  SB_ASSIGN_OR_RETURN(auto before, members::GetPreferences(tx, link.member));
  if (!before) return before;
  bool service = false;
  if (link.message.valid()) {
    SB_ASSIGN_OR_RETURN(std::int64_t k,
                        tx.QueryInt("SELECT COUNT(*) FROM messages WHERE id = $1 AND "
                                    "kind = 'service'",
                                    {link.message.value()}));
    service = k > 0;
  }
  members::Preferences after = *before;
  if (service) {
    after.suppressions |= members::kNoEmail;
  } else {
    after.consents &= ~static_cast<std::uint32_t>(members::kConsentEmail);
  }
  SB_RETURN_IF_ERROR(
      members::SetPreferences(tx, link.member, *before, after, "member:unsubscribe", link.now)
          .status());
  SB_RETURN_IF_ERROR(
      tx.Exec(
            "INSERT INTO unsubscribes (member_id, message_id, at, how) "
            "VALUES ($1, $2, $3, 'one-click')",
            {link.member.value(),
             link.message.valid() ? store::Value(link.message.value()) : store::Value(), link.now})
          .status());
  SB_RETURN_IF_ERROR(Record(tx, LinkEvent(link, "member.unsubscribe")));
  return std::optional<members::Preferences>(after);
}

Result<std::optional<members::Preferences>> ReadPreferences(store::Tx& tx, const MemberLink& link) {
  SB_ASSIGN_OR_RETURN(auto p, members::GetPreferences(tx, link.member));
  if (p) SB_RETURN_IF_ERROR(Record(tx, LinkEvent(link, "member.preferences.view")));
  return p;
}

Result<std::optional<members::Preferences>> SavePreferences(
    store::Tx& tx, const MemberLink& link,
    const std::function<members::Preferences(members::Preferences)>& choose) {
  SB_ASSIGN_OR_RETURN(auto before, members::GetPreferences(tx, link.member));
  if (!before) return before;
  const members::Preferences after = choose(*before);
  SB_RETURN_IF_ERROR(
      members::SetPreferences(tx, link.member, *before, after, "member:preferences", link.now)
          .status());
  SB_RETURN_IF_ERROR(Record(tx, LinkEvent(link, "member.preferences")));
  return std::optional<members::Preferences>(after);
}

Operations::Operations(const access::Policy& policy, const members::OrgTree& tree,
                       const SendHooks& hooks)
    : policy_(policy), tree_(tree), hooks_(hooks) {}

Status Operations::Draft(store::Tx& tx, const access::Acting& who, Message& m) const {
  SB_RETURN_IF_ERROR(hooks_.Shape(tx, who, m));
  SB_ASSIGN_OR_RETURN(m.id, CreateDraft(tx, tree_, m, who.now));
  return Record(tx, MessageEvent(who, "message.draft", m.id));
}

Status Operations::Edit(store::Tx& tx, const access::Acting& who, MessageId id,
                        const std::function<Status(Message&)>& edit, Message& m) const {
  SB_ASSIGN_OR_RETURN(m, GetMessage(tx, tree_, id));
  if (m.author != who.account) {
    return Status::PermissionDenied("only the author edits a draft; ask them, or draft your own");
  }
  SB_RETURN_IF_ERROR(edit(m));
  SB_RETURN_IF_ERROR(hooks_.Shape(tx, who, m));
  SB_RETURN_IF_ERROR(UpdateDraft(tx, tree_, m, who.now));
  return Record(tx, MessageEvent(who, "message.edit", m.id));
}

Result<Requirements> Operations::RequirementsOf(store::Tx& tx, const access::Acting& who,
                                                const Message& m) const {
  return RequirementsFor(tx, tree_, m, who.account, who.staff, SendPolicyFrom(policy_), hooks_,
                         who.now);
}

Status Operations::ApproveSecond(store::Tx& tx, const access::Acting& who, MessageId id,
                                 int version) const {
  SB_RETURN_IF_ERROR(Approve(tx, tree_, id, version, ApprovalKind::kSecond, who.account, who.now));
  return Record(tx, MessageEvent(who, "message.approve", id));
}

Status Operations::ApproveInOwnName(store::Tx& tx, const access::Acting& who, MessageId id,
                                    int version, access::Decision* refused) const {
  auto m = GetMessage(tx, tree_, id);
  if (!m || m->from.account != who.account) {
    return Status::NotFound("no message in your name has this id");
  }
  if (auto refusal = hooks_.OwnApproval(tx, who, *m)) {
    if (!refused) return Status::PermissionDenied(refusal->deny_reason);
    SB_RETURN_IF_ERROR(access::RecordRefusal(tx, policy_, who, "message.approve_in_own_name",
                                             *refusal, /*not_found=*/false)
                           .status());
    *refused = std::move(*refusal);
    return Status::Ok();
  }
  SB_RETURN_IF_ERROR(
      Approve(tx, tree_, m->id, version, ApprovalKind::kOnBehalf, who.account, who.now));
  audit::Event e = MessageEvent(who, "message.approve_in_own_name", m->id);
  e.rule.clear();  // no grant is involved: being that person is the rule
  e.on_behalf_of = who.account.value();
  return Record(tx, e);
}

Result<SendResult> Operations::SendAs(store::Tx& tx, const access::Acting& who, MessageId id,
                                      int version) const {
  SB_ASSIGN_OR_RETURN(SendResult result,
                      Send(tx, tree_, id, version, who.account, who.staff, *who.decision,
                           SendPolicyFrom(policy_), hooks_, who.now));
  if (result.sent) {
    SB_ASSIGN_OR_RETURN(Message sent, GetMessage(tx, tree_, id));
    SB_RETURN_IF_ERROR(hooks_.Sent(tx, who, sent, result.recipients));
  }
  audit::Event e = MessageEvent(who, result.sent ? "message.send" : "message.send_refused", id);
  if (!result.sent) {
    e.decision = "deny";
    for (const auto& c : result.checks) {
      if (!c.passed) {
        e.rule = c.rule;
        break;
      }
    }
  }
  SB_RETURN_IF_ERROR(Record(tx, e));
  return result;
}

Result<std::int64_t> Operations::CancelAs(store::Tx& tx, const access::Acting& who,
                                          MessageId id) const {
  SB_ASSIGN_OR_RETURN(Message m, GetMessage(tx, tree_, id));
  if (m.state == State::kSent || m.state == State::kCancelled) {
    return Status::FailedPrecondition("the message is already " + std::string(StateName(m.state)));
  }
  SB_ASSIGN_OR_RETURN(std::int64_t n, Cancel(tx, m.id, who.now));
  SB_RETURN_IF_ERROR(Record(tx, MessageEvent(who, "message.cancel", m.id)));
  return n;
}

Result<Preview> Operations::PreviewAs(store::Tx& tx, const access::Acting& who, MessageId id,
                                      std::string_view public_base_url,
                                      std::string_view organisation_name) const {
  SB_ASSIGN_OR_RETURN(Message m, GetMessage(tx, tree_, id));
  FooterFacts sender;
  sender.sender_name = who.display_name;
  sender.sender_role = who.decision && who.decision->role ? who.decision->role->name : "";
  return Render(tx, m, sender, public_base_url, organisation_name);
}

Result<Preview> Operations::PreviewInOwnName(store::Tx& tx, const access::Acting& who,
                                             const Message& m, std::string_view public_base_url,
                                             std::string_view organisation_name) const {
  if (!who.account.valid() || m.from.account != who.account) {
    return Status::NotFound("no message in your name has this id");
  }
  FooterFacts sender;
  SB_RETURN_IF_ERROR(tx.Query("SELECT display_name FROM accounts WHERE id = $1", {m.author.value()},
                              [&](const store::Row& r) {
                                sender.sender_name = std::string(r.Text(0));
                                return false;
                              }));
  return Render(tx, m, sender, public_base_url, organisation_name);
}

// The one rendering of a message for a made-up recipient ("Alex" in the
// message's first audience unit, or its scope): never a real member.
Result<Preview> Operations::Render(store::Tx& tx, const Message& m, const FooterFacts& sender,
                                   std::string_view public_base_url,
                                   std::string_view organisation_name) const {
  SB_ASSIGN_OR_RETURN(auto subject, Template::Compile(m.subject, BodyKind::kText, "subject"));
  SB_ASSIGN_OR_RETURN(auto text, Template::Compile(m.text_body, BodyKind::kText, "text_body"));
  MergeValues v;
  v.first_name = "Alex";
  const members::Unit* u = tree_.Find(m.audience.units.empty() ? m.scope : m.audience.units[0]);
  v.unit_name = u ? u->name : "";
  v.unsubscribe_url = std::string(public_base_url) + "/u/SAMPLE";
  v.preferences_url = std::string(public_base_url) + "/preferences/SAMPLE";
  FooterFacts f = sender;
  switch (m.from.kind) {
    case FromKind::kOrganisation:
      f.identity = std::string(organisation_name);
      break;
    case FromKind::kUnit:
      if (const members::Unit* fu = tree_.Find(m.from.unit)) f.identity = fu->name;
      break;
    default:
      f.identity = m.from.name;
  }
  SB_ASSIGN_OR_RETURN(auto approvals, CurrentApprovals(tx, m));
  for (const auto& a : approvals) {
    if (a.kind == ApprovalKind::kSecond) f.approver = a.account_name;
  }
  f.unit_name = v.unit_name;
  Preview p;
  p.sample_first_name = v.first_name;
  p.sample_unit_name = v.unit_name;
  p.from_name = f.identity;
  p.subject = subject.Render(v);
  p.text = text.Render(v) + FooterText(f, v.unsubscribe_url, v.preferences_url);
  if (!m.html_body.empty()) {
    SB_ASSIGN_OR_RETURN(auto html, Template::Compile(m.html_body, BodyKind::kHtml, "html_body"));
    p.html = html.Render(v) + FooterHtml(f, v.unsubscribe_url, v.preferences_url);
  }
  return p;
}

namespace {

// ASCII case folded; other bytes (UTF-8 included) as they are.
std::string Folded(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

Result<SpeakerPage> Operations::Speakers(store::Tx& tx, const access::Acting& who, UnitId scope,
                                         std::string_view query, int limit, int offset) const {
  const std::string q = Folded(text::Trim(query));
  if (q.size() < 2) return Status::InvalidArgument("q: type at least 2 characters of a name");
  if (q.size() > 100) return Status::InvalidArgument("q: at most 100 characters");
  if (limit < 1 || limit > kSpeakersPageMax) {
    return Status::InvalidArgument("limit: from 1 to " + std::to_string(kSpeakersPageMax));
  }
  if (offset < 0 || offset > kSpeakersOffsetMax) {
    return Status::InvalidArgument("offset: from 0 to " + std::to_string(kSpeakersOffsetMax) +
                                   "; type more of the name instead");
  }
  if (!tree_.Find(scope)) return Status::NotFound("no unit has this id");
  // The tree's own integers, so safe inline.
  const std::string in = tree_.IdsWithin({scope});
  SpeakerPage page;
  int skipped = 0;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT a.id, a.display_name FROM accounts a WHERE a.state = 'active' AND (EXISTS "
      "(SELECT 1 FROM members m WHERE m.id = a.member_id AND m.unit_id IN (" +
          in +
          ")) OR EXISTS (SELECT 1 FROM grants g WHERE g.account_id = a.id AND g.scope_unit IN (" +
          in +
          ") AND g.approved = 1 AND (g.revoked_at IS NULL OR g.revoked_at > $1) AND "
          "g.not_before <= $1 AND g.not_after > $1 AND (g.source_end IS NULL OR "
          "g.source_end > $1))) ORDER BY a.display_name, a.id",
      {who.now}, [&](const store::Row& r) {
        const std::string name(r.Text(1));
        if (Folded(name).find(q) == std::string::npos) return true;
        if (skipped < offset) {
          ++skipped;
          return true;
        }
        if (static_cast<int>(page.speakers.size()) == limit) {
          page.more = true;
          return false;
        }
        page.speakers.push_back({AccountId(r.Int(0)), name});
        return true;
      }));
  SB_RETURN_IF_ERROR(Record(tx, who.Allow("message.speakers")));
  return page;
}

Result<std::vector<Message>> Operations::Visible(store::Tx& tx, const access::Principal& who,
                                                 std::string_view capability, Micros now,
                                                 int limit) const {
  const std::vector<UnitId> scopes = access::ScopesHolding(policy_, who, capability, now);
  std::map<std::int64_t, bool> allowed;  // by scope: one decision each
  auto in_scope = [&](const Message& m) {
    auto [it, fresh] = allowed.try_emplace(m.scope.value(), false);
    if (fresh) {
      it->second =
          access::Decide(policy_, tree_, who, capability, access::Target{m.scope}, now).allow;
    }
    return it->second;
  };
  return ListMessages(tx, tree_, who.account, scopes, in_scope, limit);
}

}  // namespace switchboard::messaging
