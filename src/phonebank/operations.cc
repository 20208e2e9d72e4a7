#include "phonebank/operations.h"

#include "access/guard/gate.h"
#include "access/store/access_store.h"
#include "audit/audit_log.h"

namespace switchboard::phonebank {

namespace {

audit::Event CampaignEvent(const access::Acting& who, std::string_view action, CampaignId c) {
  audit::Event e = who.Allow(action);
  if (c.valid()) e.campaign = c.value();
  return e;
}

Status Record(store::Tx& tx, const audit::Event& e) {
  return audit::AuditLog::Append(tx, e).status();
}

// The field classes a campaign's caller fields belong to.
std::vector<std::string> FieldClasses(const Campaign& c) {
  std::vector<std::string> classes;
  for (const auto& f : c.fields) {
    classes.push_back(f == "first_name" ? "first_name" : f == "branch" ? "location" : "membership");
  }
  return classes;
}

// Members fixed as the campaign's targets when it went live.
Result<std::int64_t> CountTargets(store::Tx& tx, CampaignId id) {
  return tx.QueryInt("SELECT COUNT(*) FROM campaign_targets WHERE campaign_id = $1", {id.value()});
}

// The grant `caller` got by joining campaign `id`, if it joined.
Result<std::optional<access::GrantId>> JoinGrant(store::Tx& tx, CampaignId id, AccountId caller) {
  std::optional<access::GrantId> grant;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT grant_id FROM campaign_callers WHERE campaign_id = $1 AND account_id = $2",
               {id.value(), caller.value()}, [&](const store::Row& r) {
                 grant = access::GrantId(r.Int(0));
                 return false;
               }));
  return grant;
}

// Units ranked by calls made in the campaigns `caller` calls for: counts
// only, no member appears.
Result<std::vector<std::pair<UnitId, std::int64_t>>> UnitLeaderboard(store::Tx& tx,
                                                                     AccountId caller, int limit) {
  std::vector<std::pair<UnitId, std::int64_t>> rows;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT m.unit_id, COUNT(*) FROM calls k JOIN members m ON m.id = k.member_id WHERE "
      "k.outcome IS NOT NULL AND k.campaign_id IN (SELECT campaign_id FROM campaign_callers "
      "WHERE account_id = $1) GROUP BY m.unit_id ORDER BY COUNT(*) DESC LIMIT $2",
      {caller.value(), std::int64_t{limit}}, [&](const store::Row& r) {
        rows.emplace_back(UnitId(r.Int(0)), r.Int(1));
        return true;
      }));
  return rows;
}

// Calls recorded active now, of one campaign or of all (the calls_active
// index).
Result<std::int64_t> CountActive(store::Tx& tx, std::optional<CampaignId> campaign) {
  if (campaign) {
    return tx.QueryInt(
        "SELECT COUNT(*) FROM calls WHERE campaign_id = $1 AND state IN "
        "('calling_you', 'calling_member', 'connected')",
        {campaign->value()});
  }
  return tx.QueryInt(
      "SELECT COUNT(*) FROM calls WHERE state IN ('calling_you', 'calling_member', 'connected')");
}

Result<bool> CallActive(store::Tx& tx, CallId call) {
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.QueryInt("SELECT COUNT(*) FROM calls WHERE id = $1 AND state IN "
                                  "('calling_you', 'calling_member', 'connected', 'ringing', "
                                  "'answered')",
                                  {call.value()}));
  return n > 0;
}

// The blind index of the number a connector dials for `member` (the first
// valid phone, as both connectors choose it); empty when none.
Result<std::string> DialledPhoneIndex(store::Tx& tx, MemberId member) {
  std::string index;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT blind_index FROM contact_points WHERE member_id = $1 AND kind = 'phone' AND "
               "valid = 1 ORDER BY label LIMIT 1",
               {member.value()}, [&](const store::Row& r) {
                 index = std::string(r.Bytes(0));
                 return false;
               }));
  return index;
}

}  // namespace

namespace {
class NoHooks final : public CampaignHooks {
 public:
  Status Shape(store::Tx&, const access::Acting&, Campaign&) const override { return Status::Ok(); }
  Status Launched(store::Tx&, const access::Acting&, const Campaign&, std::int64_t) const override {
    return Status::Ok();
  }
};
}  // namespace

const CampaignHooks& NoCampaignHooks() {
  static const NoHooks kHooks;
  return kHooks;
}

Operations::Operations(const access::Policy& policy, const members::OrgTree& tree,
                       const crypto::Sealer& sealer, TimeZone zone, Connector& connector,
                       const CampaignHooks& hooks, CallLimits limits, CallerLine line)
    : policy_(policy),
      tree_(tree),
      sealer_(sealer),
      zone_(std::move(zone)),
      connector_(connector),
      hooks_(hooks),
      limits_(limits),
      line_(std::move(line)) {}

Result<std::int64_t> Operations::Create(store::Tx& tx, const access::Acting& who,
                                        Campaign& c) const {
  SB_RETURN_IF_ERROR(hooks_.Shape(tx, who, c));
  SB_RETURN_IF_ERROR(Validate(c, policy_, tree_));
  SB_RETURN_IF_ERROR(ValidateLine(c, line_));
  SB_ASSIGN_OR_RETURN(c.id, InsertCampaign(tx, tree_, c, who.now));
  SB_ASSIGN_OR_RETURN(std::int64_t count, CountAudience(tx, tree_, c));
  SB_RETURN_IF_ERROR(Record(tx, CampaignEvent(who, "campaign.create", c.id)));
  return count;
}

Result<CampaignSummary> Operations::Get(store::Tx& tx, CampaignId id) const {
  CampaignSummary s;
  SB_ASSIGN_OR_RETURN(s.campaign, GetCampaign(tx, tree_, id));
  SB_ASSIGN_OR_RETURN(s.audience_count, CountAudience(tx, tree_, s.campaign));
  SB_ASSIGN_OR_RETURN(s.targets, CountTargets(tx, id));
  return s;
}

Result<CampaignEdit> Operations::Edit(store::Tx& tx, const access::Acting& who, CampaignId id,
                                      int expected_version,
                                      const std::function<Status(Campaign&)>& edit,
                                      Campaign& c) const {
  SB_ASSIGN_OR_RETURN(c, GetCampaign(tx, tree_, id));
  const bool live = c.state != CampaignState::kDraft;
  const UnitId scope = c.scope;
  SB_RETURN_IF_ERROR(edit(c));
  if (c.scope != scope) {
    return Status::InvalidArgument("scope: a campaign's scope cannot change; make a new one");
  }
  SB_RETURN_IF_ERROR(hooks_.Shape(tx, who, c));
  SB_RETURN_IF_ERROR(Validate(c, policy_, tree_));
  SB_RETURN_IF_ERROR(ValidateLine(c, line_));
  SB_ASSIGN_OR_RETURN(CampaignEdit out, UpdateCampaign(tx, tree_, c, who.now, expected_version));
  c.version = out.version;
  // The event says what changed and the version it made; never the text.
  audit::Event e = CampaignEvent(who, live ? "campaign.live_edit" : "campaign.update", c.id);
  std::string rule = "edit.v" + std::to_string(out.version);
  for (const auto& f : out.changed) {
    if (rule.size() + 1 + f.size() > 128) break;
    rule += ":" + f;
  }
  if (out.changed.empty()) rule += ":unchanged";
  e.rule = rule;
  SB_RETURN_IF_ERROR(Record(tx, e));
  return out;
}

Result<std::int64_t> Operations::CountWith(store::Tx& tx, CampaignId id,
                                           const std::function<Status(Campaign&)>& edit) const {
  SB_ASSIGN_OR_RETURN(Campaign c, GetCampaign(tx, tree_, id));
  SB_RETURN_IF_ERROR(edit(c));
  SB_RETURN_IF_ERROR(Validate(c, policy_, tree_));
  return CountAudience(tx, tree_, c);
}

Result<std::int64_t> Operations::ChangeState(store::Tx& tx, const access::Acting& who,
                                             CampaignId id, CampaignState to, Campaign& c) const {
  SB_ASSIGN_OR_RETURN(c, GetCampaign(tx, tree_, id));
  const CampaignState from = c.state;
  SB_ASSIGN_OR_RETURN(std::int64_t targets, SetState(tx, tree_, c, to, who.now));
  SB_RETURN_IF_ERROR(
      Record(tx, CampaignEvent(who, "campaign." + std::string(StateName(to)), c.id)));
  if (from == CampaignState::kDraft && to == CampaignState::kLive) {
    SB_RETURN_IF_ERROR(hooks_.Launched(tx, who, c, targets));
  }
  return targets;
}

Result<NewInvite> Operations::Invite(store::Tx& tx, const access::Acting& who, CampaignId id,
                                     std::string_view label, Micros expires_at,
                                     int max_joins) const {
  SB_ASSIGN_OR_RETURN(Campaign c, GetCampaign(tx, tree_, id));
  SB_ASSIGN_OR_RETURN(NewInvite inv,
                      CreateInvite(tx, c, who.account, label, expires_at, max_joins, who.now));
  SB_RETURN_IF_ERROR(Record(tx, CampaignEvent(who, "invite.create", c.id)));
  return inv;
}

Status Operations::WithdrawInvite(store::Tx& tx, const access::Acting& who, CampaignId id,
                                  InviteId invite) const {
  SB_RETURN_IF_ERROR(RevokeInvite(tx, id, invite, who.now));
  return Record(tx, CampaignEvent(who, "invite.revoke", id));
}

Result<Progress> Operations::ProgressOf(store::Tx& tx, const access::Acting& who,
                                        CampaignId id) const {
  SB_RETURN_IF_ERROR(CampaignScope(tx, id).status());  // kNotFound for no such campaign
  return CampaignProgress(tx, tree_, id, who.now);
}

Result<Results> Operations::ResultsOf(store::Tx& tx, CampaignId id, Campaign& c) const {
  SB_ASSIGN_OR_RETURN(c, GetCampaign(tx, tree_, id));
  return CampaignResults(tx, tree_, c, zone_);
}

Result<std::string> Operations::ExportResults(store::Tx& tx, const access::Acting& who,
                                              CampaignId id) const {
  Campaign c;
  SB_ASSIGN_OR_RETURN(Results r, ResultsOf(tx, id, c));
  audit::Event e = CampaignEvent(who, "campaign.results_export", c.id);
  e.rule = "results.csv";
  SB_RETURN_IF_ERROR(Record(tx, e));
  return ResultsCsv(c, r);
}

Result<JoinResult> Operations::JoinByLink(store::Tx& tx, const access::Acting& who,
                                          std::string_view token, Campaign& c) const {
  SB_ASSIGN_OR_RETURN(phonebank::Invite inv, FindInvite(tx, token));
  SB_ASSIGN_OR_RETURN(c, GetCampaign(tx, tree_, inv.campaign));
  SB_ASSIGN_OR_RETURN(JoinResult joined, Join(tx, tree_, c, inv, who.account, who.now));
  audit::Event e = CampaignEvent(who, "campaign.join", c.id);
  e.grant_id = joined.grant.value();
  SB_RETURN_IF_ERROR(Record(tx, e));
  return joined;
}

Status Operations::RecordJoinRefusal(store::Tx& tx, const access::Acting& who,
                                     const Status& why) const {
  return Record(tx, who.Deny("campaign.join", why.code() == StatusCode::kPermissionDenied
                                                  ? "join.not_eligible"
                                                  : "join.refused"));
}

Status Operations::CheckJoined(store::Tx& tx, const Campaign& c, const access::Acting& who,
                               Micros now) const {
  const AccountId caller = who.account;
  SB_ASSIGN_OR_RETURN(std::optional<access::GrantId> grant, JoinGrant(tx, c.id, caller));
  if (!grant) {
    return Status::PermissionDenied("you have not joined this campaign; use its invitation link");
  }
  // The gate read the caller's grants in this transaction; otherwise read it.
  const access::Grant* known = nullptr;
  for (const access::Grant& x : who.grants) {
    if (x.id == *grant) known = &x;
  }
  access::Grant read;
  if (!known) {
    SB_ASSIGN_OR_RETURN(read, access::GetGrant(tx, *grant));
    known = &read;
  }
  const access::Grant& g = *known;
  if (!access::GrantInForce(g, now)) {
    return Status::PermissionDenied(
        "your access to this campaign ended on " +
        FormatTimestamp(std::min(g.not_after, g.source_end != 0 ? g.source_end : g.not_after)));
  }
  return CallingOpen(c, zone_, now);
}

Result<NextContact> Operations::Next(store::Tx& tx, const access::Acting& who,
                                     CampaignId id) const {
  NextContact out;
  SB_ASSIGN_OR_RETURN(out.campaign, GetCampaign(tx, tree_, id));
  const Campaign& c = out.campaign;
  SB_RETURN_IF_ERROR(CheckJoined(tx, c, who, who.now));
  SB_ASSIGN_OR_RETURN(out.next, phonebank::Next(tx, c, who.account, who.now));
  if (!out.next.lease) {
    if (!out.next.pace_limit.empty()) {
      // Pace refusals are denials: a script hammering "next" is probing.
      access::Decision d;
      d.rule = "pace." + out.next.pace_limit;
      d.deny_reason = "pace";
      SB_ASSIGN_OR_RETURN(out.suspended,
                          access::RecordRefusal(tx, policy_, who, "phonebank.next", d, false));
    }
    return out;
  }
  const MemberId member = out.next.lease->member;
  SB_ASSIGN_OR_RETURN(out.contact, ContactFor(tx, *who.decision, tree_, c, member, who.now));
  out.ref =
      crypto::ToHex(sealer_.BlindIndex("lease-ref", c.id.ToString() + ":" + member.ToString()));
  audit::Event e = CampaignEvent(who, "phonebank.next", c.id);
  e.members.push_back(member.value());
  e.field_classes = FieldClasses(c);
  SB_RETURN_IF_ERROR(Record(tx, e));
  return out;
}

Result<CallState> Operations::Connect(store::Tx& tx, const access::Acting& who,
                                      CampaignId id) const {
  SB_ASSIGN_OR_RETURN(Campaign c, GetCampaign(tx, tree_, id));
  SB_RETURN_IF_ERROR(CheckJoined(tx, c, who, who.now));
  SB_ASSIGN_OR_RETURN(auto held, CurrentLease(tx, c, who.account, who.now));
  if (!held) return Status::FailedPrecondition("ask for the next contact first");
  if (!c.caller_id_number.empty() && !line_.Listed(c.caller_id_number)) {
    // Taken off the organisation's list since it was chosen: presenting it
    // now would be presenting a number that is not ours.
    return Status::FailedPrecondition(
        "this campaign's caller ID is no longer one of the organisation's numbers; its "
        "organiser must choose another in the campaign's settings");
  }
  // Calls whose end the connector knows by its own clock no longer count.
  SB_RETURN_IF_ERROR(connector_.SettleDue(tx, who.now).status());
  SB_ASSIGN_OR_RETURN(std::int64_t total, CountActive(tx, {}));
  if (total >= limits_.total) {
    return Status::ResourceExhausted("every line is busy: the phone bank places at most " +
                                     std::to_string(limits_.total) +
                                     " calls at once; try again in a minute");
  }
  SB_ASSIGN_OR_RETURN(std::int64_t here, CountActive(tx, c.id));
  if (here >= limits_.per_campaign) {
    return Status::ResourceExhausted("this campaign's lines are busy: it places at most " +
                                     std::to_string(limits_.per_campaign) +
                                     " calls at once; try again in a minute");
  }
  SB_ASSIGN_OR_RETURN(CallState state, connector_.Connect(tx, c, who.account, *held, who.now));
  if (canary_check_) {
    SB_ASSIGN_OR_RETURN(std::string index, DialledPhoneIndex(tx, held->member));
    SB_RETURN_IF_ERROR(
        canary_check_(tx, OutboundCall{held->member, index, who.request_id, who.now}));
  }
  audit::Event e = CampaignEvent(who, "phonebank.connect", c.id);
  e.members.push_back(held->member.value());
  SB_RETURN_IF_ERROR(Record(tx, e));
  return state;
}

Status Operations::Outcome(store::Tx& tx, const access::Acting& who, CampaignId id,
                           std::string_view outcome, const std::string& answers_json) const {
  SB_ASSIGN_OR_RETURN(Campaign c, GetCampaign(tx, tree_, id));
  SB_RETURN_IF_ERROR(CheckJoined(tx, c, who, who.now));
  SB_ASSIGN_OR_RETURN(auto held, CurrentLease(tx, c, who.account, who.now));
  if (held) {
    SB_ASSIGN_OR_RETURN(bool active, CallActive(tx, held->call));
    if (active) SB_RETURN_IF_ERROR(connector_.Hangup(tx, held->call, who.account, who.now));
  }
  SB_ASSIGN_OR_RETURN(MemberId m,
                      RecordOutcome(tx, c, who.account, outcome, answers_json, who.now));
  audit::Event e = CampaignEvent(who, "phonebank.outcome", c.id);
  e.members.push_back(m.value());
  e.rule = "outcome." + std::string(outcome);
  return Record(tx, e);
}

Result<CallState> Operations::Hangup(store::Tx& tx, const access::Acting& who, CampaignId id,
                                     CallId call) const {
  std::optional<MemberId> member;
  bool dialled = false;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT member_id, connected_at FROM calls WHERE id = $1 AND campaign_id = $2 AND "
               "caller_id = $3",
               {call.value(), id.value(), who.account.value()}, [&](const store::Row& r) {
                 member = MemberId(r.Int(0));
                 dialled = !r.IsNull(1);
                 return false;
               }));
  if (!member) return Status::NotFound("no call of yours in this campaign has that id");
  if (!dialled) return Status::FailedPrecondition("this call was never connected");
  SB_ASSIGN_OR_RETURN(bool active, CallActive(tx, call));
  if (active) SB_RETURN_IF_ERROR(connector_.Hangup(tx, call, who.account, who.now));
  SB_ASSIGN_OR_RETURN(CallState state, connector_.Status(tx, call, who.account, who.now));
  audit::Event e = CampaignEvent(who, "phonebank.hangup", id);
  e.members.push_back(member->value());
  SB_RETURN_IF_ERROR(Record(tx, e));
  return state;
}

Result<std::string> Operations::RecordedState(store::Tx& tx, AccountId caller, CallId call) const {
  std::string state;
  SB_RETURN_IF_ERROR(tx.Query("SELECT state FROM calls WHERE id = $1 AND caller_id = $2",
                              {call.value(), caller.value()}, [&](const store::Row& r) {
                                state = std::string(r.Text(0));
                                return false;
                              }));
  return state;
}

bool Operations::EndsCalls(CampaignState to) {
  return to == CampaignState::kPaused || to == CampaignState::kEnded ||
         to == CampaignState::kKilled;
}

Result<int> Operations::EndCalls(store::Store& store, std::optional<CampaignId> campaign,
                                 Micros now) const {
  return connector_.EndCalls(store, campaign, now);
}

Result<int> Operations::Reconcile(store::Store& store, Micros now) const {
  return connector_.Reconcile(store, now);
}

Result<int> Operations::SettleDue(store::Store& store, Micros now) const {
  std::int64_t active = 0;
  SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(active, CountActive(tx, {}));
    return Status::Ok();
  }));
  if (active == 0) return 0;
  int ended = 0;
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(ended, connector_.SettleDue(tx, now));
    return Status::Ok();
  }));
  return ended;
}

Result<EndpointVerification> Operations::RegisterEndpoint(store::Tx& tx, const access::Acting& who,
                                                          std::string_view e164) const {
  SB_ASSIGN_OR_RETURN(EndpointVerification v,
                      phonebank::RegisterEndpoint(tx, sealer_, who.account, e164, who.now));
  SB_RETURN_IF_ERROR(Record(tx, CampaignEvent(who, "endpoint.register", {})));
  return v;
}

Result<EndpointCheck> Operations::VerifyEndpoint(store::Tx& tx, const access::Acting& who,
                                                 std::string_view code) const {
  if (connector_.verification() == Connector::Verification::kCall) {
    return Status::FailedPrecondition(
        "answer our call and key the code on your phone's keypad; a code typed here proves "
        "nothing about the phone");
  }
  return CheckEndpointCode(tx, endpoint_rules(), who, code, "typed");
}

Result<Operations::EndpointView> Operations::Endpoint(store::Tx& tx,
                                                      const access::Acting& who) const {
  EndpointView out;
  SB_ASSIGN_OR_RETURN(out.state, EndpointStateOf(tx, who.account));
  out.method = connector_.verification();
  if (out.method == Connector::Verification::kCall) {
    out.call = connector_.VerifyProgressOf(who.account);
  }
  return out;
}

Result<std::vector<UnitCalls>> Operations::Leaderboard(store::Tx& tx, AccountId caller) const {
  SB_ASSIGN_OR_RETURN(auto rows, UnitLeaderboard(tx, caller, 10));
  std::vector<UnitCalls> out;
  for (const auto& [unit, calls] : rows) {
    const members::Unit* u = tree_.Find(unit);
    out.push_back({u ? u->name : "?", calls});
  }
  return out;
}

}  // namespace switchboard::phonebank
