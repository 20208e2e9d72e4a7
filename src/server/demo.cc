#include "server/demo.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "access/credentials/password.h"
#include "access/credentials/totp.h"
#include "access/guard/gate.h"
#include "access/store/access_service.h"
#include "access/store/access_store.h"
#include "access/store/demo_clock.h"
#include "contest/contests.h"
#include "contest/rulebook.h"
#include "core/log.h"
#include "core/mutex.h"
#include "members/register.h"
#include "messaging/operations.h"
#include "phonebank/connector.h"
#include "phonebank/operations.h"
#include "privacy/breach.h"
#include "server/api_internal.h"

namespace switchboard::server {

std::string DemoPolicyToml() {
  std::string p = access::DefaultPolicyToml();
  const std::string from = "[calling_hours]\nstart = \"09:00\"\nend = \"21:00\"";
  const size_t at = p.find(from);
  if (at != std::string::npos) {
    p.replace(at, from.size(),
              "[calling_hours]\n# DEMO ONLY: the whole day, so the demo works whenever it is "
              "run.\n# The rulebook's default is 09:00-21:00.\nstart = \"00:00\"\nend = \"24:00\"");
  }
  return p;
}

namespace {

std::string RandomPassword() {
  static const char kWords[][8] = {"amber", "birch",  "cedar", "delta",   "ember",   "fjord",
                                   "grove", "harbor", "iris",  "juniper", "kestrel", "linden"};
  std::string out;
  for (int i = 0; i < 4; ++i) {
    out += (i ? "-" : "") + std::string(kWords[randombytes_uniform(12)]);
  }
  return out + "-" + std::to_string(10 + randombytes_uniform(90));
}

constexpr Micros kMinute = 60 * kMicrosPerSecond;

// Calls five demo callers made between `from` and `to`, through the same
// operations the API uses (lease, outcome, survey), so the organiser's
// progress, survey results and charts have something to show at once. The
// outcomes and answers are drawn from a fixed seed; the members are whoever
// the server hands out, as for any caller. At most a quarter of the
// audience is called, so the volunteer always has members left.
Result<std::int64_t> SeedDemoCalls(store::Tx& tx, App& app, const phonebank::Operations& ops,
                                   phonebank::Campaign& c, const std::string& token, Micros from,
                                   Micros to, std::int64_t audience) {
  std::int64_t made = 0;
  std::mt19937 rng(42);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  constexpr int kCallers = 5;
  constexpr int kCallsEach = 14;
  const Micros step = (to - from) / (kCallsEach + 1);
  for (int i = 1; i <= kCallers; ++i) {
    const std::string login = "demo-caller-" + std::to_string(i);
    const Micros joined = from + i * 20 * kMinute;
    SB_ASSIGN_OR_RETURN(
        AccountId id,
        access::CreateAccount(tx, {login, "Demo Caller " + std::to_string(i), MemberId(), false},
                              joined));
    access::Acting caller;
    caller.account = id;
    caller.display_name = "Demo Caller " + std::to_string(i);
    caller.now = joined;
    SB_RETURN_IF_ERROR(ops.JoinByLink(tx, caller, token, c).status());
    for (int k = 0; k < kCallsEach; ++k) {
      const Micros at = joined + k * step + pick(40) * kMinute;
      if (at + 10 * kMinute >= to || made >= audience / 4) break;
      SB_ASSIGN_OR_RETURN(access::PrincipalData pd, access::LoadPrincipal(tx, id));
      const access::Decision allow = access::Decide(app.policy(), app.tree(), pd.principal(true),
                                                    "phonebank.call", {c.scope}, at);
      if (!allow.allow) return Status::FailedPrecondition("demo caller: " + allow.deny_reason);
      caller.decision = &allow;
      caller.now = at;
      SB_ASSIGN_OR_RETURN(phonebank::NextContact next, ops.Next(tx, caller, c.id));
      if (!next.next.lease) break;  // nobody left to call, or pace-limited
      // Outcomes in roughly the proportions real phone banks see.
      static constexpr const char* kOutcomes[] = {
          "answered", "answered",     "answered",    "answered",  "answered",  "answered",
          "answered", "no_answer",    "no_answer",   "no_answer", "voicemail", "voicemail",
          "busy",     "wrong_number", "do_not_call", "moved"};
      const std::string outcome = kOutcomes[pick(std::size(kOutcomes))];
      nlohmann::json answers = nlohmann::json::object();
      if (outcome == "answered") {
        static constexpr const char* kTopics[] = {"housing", "housing", "transport", "health",
                                                  "health",  "health",  "other"};
        if (pick(10) < 9) answers["agm"] = pick(3) > 0;
        if (pick(10) < 8) answers["topic"] = kTopics[pick(std::size(kTopics))];
        if (pick(10) < 7) answers["volunteer"] = 1 + std::min(pick(5), pick(5) + 1);
      }
      caller.now = at + (2 + pick(6)) * kMinute;
      SB_RETURN_IF_ERROR(ops.Outcome(tx, caller, c.id, outcome, answers.dump()));
      ++made;
    }
  }
  return made;
}

}  // namespace

Result<DemoPhonebank> SetUpDemoPhonebank(App& app) {
  DemoPhonebank d;
  // The constituency with the most members one could call.
  const members::Unit* unit = nullptr;
  SB_RETURN_IF_ERROR(app.store().Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(auto busiest, members::BusiestUnit(tx, members::kConsentPhone));
    if (busiest) unit = app.tree().Find(*busiest);
    return Status::Ok();
  }));
  if (!unit) unit = app.tree().FindByCode("E14000530");
  if (!unit) return Status::FailedPrecondition("the demo needs a constituency in the tree");
  d.unit_name = unit->name;
  d.organiser_login = "organiser";
  d.volunteer_login = "volunteer";
  d.organiser_password = RandomPassword();
  d.volunteer_password = RandomPassword();
  SB_ASSIGN_OR_RETURN(std::string org_hash, access::HashPassword(d.organiser_password));
  SB_ASSIGN_OR_RETURN(std::string vol_hash, access::HashPassword(d.volunteer_password));
  const Micros now = app.clock().Now();
  // The campaign went live two days ago and has calls to show (SeedDemoCalls).
  const Micros began = now - 2 * kMicrosPerDay;
  phonebank::SandboxConnector sandbox(app.sealer());
  const phonebank::Operations ops(app.policy(), app.tree(), app.sealer(), TimeZone(), sandbox);
  SB_RETURN_IF_ERROR(app.store().Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        AccountId org,
        access::CreateAccount(tx, {d.organiser_login, "Demo Organiser", MemberId(), true}, began));
    SB_RETURN_IF_ERROR(access::SetPasswordHash(tx, org, org_hash));
    SB_ASSIGN_OR_RETURN(
        AccountId vol,
        access::CreateAccount(tx, {d.volunteer_login, "Demo Volunteer", MemberId(), false}, now));
    SB_RETURN_IF_ERROR(access::SetPasswordHash(tx, vol, vol_hash));
    access::GrantRequest g{org,
                           "officer",
                           unit->id,
                           "demo: organise the branch phone bank",
                           began,
                           now + 90 * kMicrosPerDay,
                           "demo set-up",
                           "direct",
                           0};
    SB_RETURN_IF_ERROR(access::GrantBySystem(tx, g, "demo", began).status());

    // The organiser acts under the grant just made, as through the API.
    SB_ASSIGN_OR_RETURN(access::PrincipalData pd, access::LoadPrincipal(tx, org));
    const access::Decision allow = access::Decide(app.policy(), app.tree(), pd.principal(true),
                                                  "phonebank.manage", {unit->id}, began);
    if (!allow.allow) return Status::FailedPrecondition("demo: " + allow.deny_reason);
    access::Acting organiser;
    organiser.account = org;
    organiser.display_name = "Demo Organiser";
    organiser.decision = &allow;
    organiser.now = began;
    access::Acting volunteer;
    volunteer.account = vol;
    volunteer.display_name = "Demo Volunteer";
    volunteer.now = now;

    phonebank::Campaign c;
    c.name = "Autumn members' check-in";
    c.owner = org;
    c.scope = unit->id;
    c.purpose = "ask members whether they will come to the branch AGM";
    c.script =
        "Hello{{#first_name}}, is that {{first_name}}{{/first_name}}? I'm a volunteer with "
        "{{#unit_name}}the {{unit_name}} branch{{/unit_name}}{{^unit_name}}the local branch"
        "{{/unit_name}}.\n\n"
        "We're holding our AGM next month and wanted to check whether you'd like to come.\n\n"
        "Thank them for their time, whatever they say.";
    c.survey = {{"agm", "Will they come to the AGM?", "yesno", {}},
                {"topic",
                 "Which issue matters most to them?",
                 "choice",
                 {"housing", "transport", "health", "other"}},
                {"volunteer", "How keen are they to help out? (1-5)", "scale", {}}};
    // Anyone trying the demo can sign up through the link with an address of
    // their own; the one-time link arrives in the local mail capture.
    c.eligibility.non_members_may_sign_up = true;
    c.calling_start = 0;
    c.calling_end = 24 * 60;
    c.starts_at = began;
    c.ends_at = now + 28 * kMicrosPerDay;
    SB_RETURN_IF_ERROR(ops.Create(tx, organiser, c).status());
    SB_ASSIGN_OR_RETURN(d.targets,
                        ops.ChangeState(tx, organiser, c.id, phonebank::CampaignState::kLive, c));
    SB_ASSIGN_OR_RETURN(phonebank::NewInvite inv,
                        ops.Invite(tx, organiser, c.id, "demo link", 0, 100));
    SB_ASSIGN_OR_RETURN(d.demo_calls,
                        SeedDemoCalls(tx, app, ops, c, inv.token, began, now, d.targets));
    SB_RETURN_IF_ERROR(ops.JoinByLink(tx, volunteer, inv.token, c).status());
    SB_ASSIGN_OR_RETURN(auto v, ops.RegisterEndpoint(tx, volunteer, "+447700900001"));
    SB_ASSIGN_OR_RETURN(phonebank::EndpointCheck checked,
                        ops.VerifyEndpoint(tx, volunteer, v.code));
    if (!checked.verified()) return Status::Internal("the demo phone was not verified");
    d.campaign = c.id.value();
    d.invite_path = "/join/" + inv.token;
    return Status::Ok();
  }));
  return d;
}

Result<std::int64_t> SendDemoMessage(App& app, const std::string& organiser_login) {
  const Micros now = app.clock().Now();
  std::int64_t queued = 0;
  SB_RETURN_IF_ERROR(app.store().Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(access::Account who, access::FindAccount(tx, organiser_login));
    SB_ASSIGN_OR_RETURN(access::PrincipalData pd, access::LoadPrincipal(tx, who.id));
    if (pd.grants.empty()) return Status::FailedPrecondition("the organiser has no grant");
    const UnitId unit = pd.grants.front().scope;
    const access::Decision d =
        access::Decide(app.policy(), app.tree(), pd.principal(true), "message.send", {unit}, now);
    if (!d.allow) return Status::FailedPrecondition("demo: " + d.deny_reason);
    messaging::Message m;
    m.author = who.id;
    m.scope = unit;
    m.audience.scope = unit;
    m.audience.statuses = {"current"};
    m.from.kind = messaging::FromKind::kUnit;
    m.from.unit = unit;
    m.kind = messaging::Kind::kCampaign;
    m.subject = "Our AGM next month, {{first_name}}";
    m.text_body =
        "{{#first_name}}Dear {{first_name}},{{/first_name}}{{^first_name}}Dear member,"
        "{{/first_name}}\n\nThe {{unit_name}} branch AGM is next month. Volunteers may ring "
        "to ask whether you can come.\n\nThank you for being a member.";
    m.html_body =
        "<p>Dear {{first_name}},</p><p>The <strong>{{unit_name}}</strong> branch AGM is next "
        "month. Volunteers may ring to ask whether you can come.</p><p>Thank you for being a "
        "member.</p>";
    access::Acting organiser;
    organiser.account = who.id;
    organiser.display_name = who.display_name;
    organiser.decision = &d;
    organiser.now = now;
    const messaging::Operations ops(app.policy(), app.tree());
    SB_RETURN_IF_ERROR(ops.Draft(tx, organiser, m));
    SB_ASSIGN_OR_RETURN(messaging::SendResult r, ops.SendAs(tx, organiser, m.id, m.version));
    queued = r.sent ? r.recipients : 0;
    return Status::Ok();
  }));
  return queued;
}

Result<DemoDpo> SetUpDemoDpo(App& app) {
  DemoDpo d;
  d.login = "dpo";
  d.password = RandomPassword();
  SB_ASSIGN_OR_RETURN(std::string hash, access::HashPassword(d.password));
  const std::string secret = access::GenerateTotpSecret();
  d.totp_secret = access::Base32Encode(secret);
  d.totp_uri = access::OtpauthUri(app.config().organisation.name, d.login, secret);
  const crypto::Sealed sealed = app.sealer().Seal(secret, "totp");
  const Micros now = app.clock().Now();
  const members::Unit* root = app.tree().root();
  if (!root) return Status::FailedPrecondition("the demo needs an organisation tree");
  SB_RETURN_IF_ERROR(app.store().Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        AccountId dpo,
        access::CreateAccount(tx, {d.login, "Demo Data Protection Officer", MemberId(), true},
                              now - 30 * kMicrosPerDay));
    SB_RETURN_IF_ERROR(access::SetPasswordHash(tx, dpo, hash));
    SB_RETURN_IF_ERROR(access::SetTotp(tx, dpo, {sealed.key_id, sealed.bytes, -1}));
    access::GrantRequest g{dpo,
                           "dpo",
                           root->id,
                           "demo: data protection officer",
                           now - 30 * kMicrosPerDay,
                           now + 300 * kMicrosPerDay,
                           "demo set-up",
                           "direct",
                           0};
    SB_RETURN_IF_ERROR(access::GrantBySystem(tx, g, "demo", now - 30 * kMicrosPerDay).status());

    // Two callers who went looking for records they were never given.
    for (const char* login : {"demo-caller-3", "demo-caller-5"}) {
      SB_ASSIGN_OR_RETURN(access::Account caller, access::FindAccount(tx, login));
      access::Acting who;
      who.account = caller.id;
      who.display_name = caller.display_name;
      who.request_id = "demo";
      access::Decision refused;
      refused.rule = "scope.none";
      refused.deny_reason = "no grant covers this member";
      bool suspended = false;
      for (int i = 0; i < app.policy().anomaly_probe_run && !suspended; ++i) {
        who.now = now - 3 * 3600 * kMicrosPerSecond + i * 20 * kMicrosPerSecond;
        SB_ASSIGN_OR_RETURN(suspended, access::RecordRefusal(tx, app.policy(), who, "member.view",
                                                             refused, false, MemberId(1 + i * 7)));
      }
      if (!suspended) return Status::Internal("demo: the probing rule did not fire");
      d.suspended.push_back(login);
    }

    // A breach found yesterday: a caller's phone, signed in, was lost.
    access::Acting officer;
    officer.account = dpo;
    officer.display_name = "Demo Data Protection Officer";
    officer.request_id = "demo";
    officer.now = now - kMicrosPerDay;
    // The first demo caller always has calls to show (SeedDemoCalls).
    SB_ASSIGN_OR_RETURN(access::Account lost, access::FindAccount(tx, "demo-caller-1"));
    SB_ASSIGN_OR_RETURN(
        privacy::BreachId id,
        privacy::RecordBreach(
            tx, officer,
            {"A volunteer caller reported their phone lost on a train while signed in to the "
             "phone bank; it was handed in today. Whoever held it could have seen the contacts "
             "the caller had been given.",
             "first names, membership details", "members in the campaign's constituency", "",
             "The session was ended and the caller's password reset."},
            now - kMicrosPerDay - 2 * 3600 * kMicrosPerSecond));
    SB_ASSIGN_OR_RETURN(
        privacy::Breach b,
        privacy::ComputeAffected(tx, officer, id,
                                 {"account", lost.id.value(), now - 3 * kMicrosPerDay, now}));
    d.breach = id.value();
    d.affected = b.affected;
    return Status::Ok();
  }));
  return d;
}

namespace {

// Who nominates whom in the demo: enough for Quennell-Hart through
// constituency parties and for Vauquelin through affiliates; Wrenfield is
// three MPs and four constituency parties short.
struct DemoNominations {
  const char* candidate;
  int mps, clps;
  std::vector<const char*> affiliates;
};

const DemoNominations kDemoNominations[] = {
    {"quennell-hart", 31, 38, {"lighthouse-keepers", "beekeepers"}},
    {"vauquelin", 23, 14, {"orchard-workers", "canal-staff", "cartographers"}},
    {"wrenfield", 17, 29, {"tinkers"}},
};

// An account with a fresh password, as `switchboard account add` makes one.
Result<AccountId> DemoAccount(store::Tx& tx, const std::string& login, const std::string& name,
                              bool staff, const std::string& password_hash, Micros now) {
  SB_ASSIGN_OR_RETURN(AccountId id,
                      access::CreateAccount(tx, {login, name, MemberId(), staff}, now));
  SB_RETURN_IF_ERROR(access::SetPasswordHash(tx, id, password_hash));
  return id;
}

}  // namespace

Result<DemoContest> SetUpDemoContest(App& app) {
  const members::OrgTree& tree = app.tree();
  if (!tree.root()) return Status::FailedPrecondition("the demo needs an organisation tree");
  const Micros now = app.clock().Now();
  const Micros announced = now - 10 * kMicrosPerDay;
  const std::string text = contest::ExampleRulebookToml(announced);
  SB_ASSIGN_OR_RETURN(contest::Rulebook rb, contest::ParseRulebook(text, "demo-contest.toml"));

  DemoContest d;
  d.slug = rb.id;
  d.name = rb.name;
  d.nominations_close = rb.timeline.nominations_close.at;
  d.ballot_open = rb.timeline.ballot_open.at;
  d.ballot_close = rb.timeline.ballot_close.at;
  struct NewLogin {
    std::string login, name, part;
    bool staff;
  };
  std::vector<NewLogin> logins = {
      {rb.returning_officer, "Returning Officer", "returning officer", true}};
  for (const std::string& p : rb.procedures_committee) {
    logins.push_back({p, "Procedures Committee", "procedures committee (reads the ledger)", false});
  }
  for (const contest::Candidate& c : rb.candidates) {
    for (const std::string& a : c.accounts) {
      logins.push_back({a, "Campaign of " + c.name, "campaign of " + c.name, false});
    }
  }
  std::vector<std::string> hashes;
  for (const NewLogin& l : logins) {
    d.accounts.push_back({l.login, RandomPassword(), l.part});
    SB_ASSIGN_OR_RETURN(std::string h, access::HashPassword(d.accounts.back().password));
    hashes.push_back(std::move(h));
  }

  // Constituency parties in code order: each nominates at most once.
  std::vector<const members::Unit*> clps = tree.OfKind("constituency");
  std::sort(clps.begin(), clps.end(),
            [](const members::Unit* a, const members::Unit* b) { return a->code < b->code; });
  int clps_needed = 0;
  for (const DemoNominations& n : kDemoNominations) clps_needed += n.clps;
  if (static_cast<int>(clps.size()) < clps_needed) {
    return Status::FailedPrecondition("the demo contest needs " + std::to_string(clps_needed) +
                                      " constituencies in the tree");
  }

  const contest::ContestRules rules(tree);
  const contest::ContestOperations ops(app.policy(), tree, rules);
  SB_RETURN_IF_ERROR(app.store().Write([&](store::Tx& tx) -> Status {
    AccountId officer;
    for (size_t i = 0; i < logins.size(); ++i) {
      SB_ASSIGN_OR_RETURN(AccountId id, DemoAccount(tx, logins[i].login, logins[i].name,
                                                    logins[i].staff, hashes[i], now));
      if (i == 0) officer = id;
    }
    access::GrantRequest g{officer,
                           "staff",
                           tree.root()->id,
                           "demo: run the leadership contest as returning officer",
                           now,
                           now + 180 * kMicrosPerDay,
                           "demo set-up",
                           "direct",
                           0};
    SB_RETURN_IF_ERROR(access::GrantBySystem(tx, g, "demo", now).status());

    // The returning officer loads the rulebook and records the nominations,
    // under the grant just made, as through the API.
    SB_ASSIGN_OR_RETURN(access::PrincipalData pd, access::LoadPrincipal(tx, officer));
    const access::Decision allow = access::Decide(app.policy(), tree, pd.principal(true),
                                                  "contest.manage", {tree.root()->id}, now);
    if (!allow.allow) return Status::FailedPrecondition("demo: " + allow.deny_reason);
    access::Acting ro;
    ro.account = officer;
    ro.staff = true;
    ro.display_name = "Returning Officer";
    ro.decision = &allow;
    ro.now = now;
    SB_RETURN_IF_ERROR(ops.Load(tx, ro, text, "demo-contest.toml").status());

    const std::int64_t open_day = rb.timeline.nominations_open.at / kMicrosPerDay;
    const std::int64_t today = now / kMicrosPerDay;
    int k = 0;  // the nomination's number: spreads meetings and votes
    auto nominate = [&](const char* candidate, const char* body, const std::string& nominator,
                        const char* decided_by) -> Status {
      contest::NominationInput in;
      in.body = body;
      in.nominator = nominator;
      in.candidate = candidate;
      in.decided_by = decided_by;
      in.meeting_on = open_day + k % std::max<std::int64_t>(1, today - open_day + 1);
      in.votes_for = 12 + (k * 37) % 90;
      in.votes_against = (k * 11) % 25;
      in.votes_abstaining = k % 6;
      ++k;
      return ops.Nominate(tx, ro, d.slug, in).status();
    };
    size_t next_clp = 0;
    int mp = 0;
    for (const DemoNominations& n : kDemoNominations) {
      for (int i = 0; i < n.mps; ++i) {
        char ref[16];
        std::snprintf(ref, sizeof ref, "mp-%03d", ++mp);
        SB_RETURN_IF_ERROR(nominate(n.candidate, "mps", ref, "the member of parliament"));
      }
      for (int i = 0; i < n.clps; ++i) {
        SB_RETURN_IF_ERROR(nominate(n.candidate, "clps", clps[next_clp++]->code,
                                    i % 3 == 0 ? "executive committee" : "all-member meeting"));
      }
      for (const char* a : n.affiliates) {
        SB_RETURN_IF_ERROR(nominate(n.candidate, "affiliates", a, "national executive"));
      }
    }
    SB_ASSIGN_OR_RETURN(contest::Standing standing, ops.StandingOf(tx, d.slug, now));
    d.standing.clear();
    for (const contest::CandidateStanding& c : standing.candidates) {
      std::string line =
          c.name + (c.qualification.qualified ? ": qualifies" : ": does not qualify");
      const char* sep = " (nominated by ";
      for (const contest::Body& b : rb.bodies) {
        auto it = c.nominations.find(b.id);
        if (it == c.nominations.end()) continue;
        line += sep + std::to_string(it->second) + " " + b.id;
        sep = ", ";
      }
      d.standing.push_back(line + ")");
    }
    return Status::Ok();
  }));
  return d;
}

namespace {

using json = nlohmann::json;
using api_internal::Json;

json ClockJson(const OffsetClock& clock) {
  return {{"now", FormatTimestamp(clock.Now())},
          {"offset_seconds", clock.offset() / kMicrosPerSecond}};
}

// How far the body asks to move the clock from `now`.
Result<Micros> RequestedMove(const std::string& body, Micros now) {
  const json j = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
  if (!j.is_object()) return Status::InvalidArgument("send a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "advance_seconds" && key != "to") {
      return Status::InvalidArgument("unknown field \"" + key +
                                     "\": send \"advance_seconds\" or \"to\"");
    }
  }
  const bool by = j.contains("advance_seconds"), to = j.contains("to");
  if (by == to) {
    return Status::InvalidArgument(
        "send either \"advance_seconds\" (a whole number of seconds) or \"to\" (an RFC 3339 "
        "time), not both");
  }
  Micros move = 0;
  if (by) {
    const json& v = j["advance_seconds"];
    const std::int64_t max_seconds = kDemoClockMaxMove / kMicrosPerSecond;
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 ||
        v.get<std::int64_t>() > max_seconds) {
      return Status::InvalidArgument("advance_seconds: a whole number from 1 to " +
                                     std::to_string(max_seconds) + " (90 days)");
    }
    move = v.get<std::int64_t>() * kMicrosPerSecond;
  } else {
    const json& v = j["to"];
    if (!v.is_string())
      return Status::InvalidArgument("to: an RFC 3339 time such as " +
                                     FormatTimestamp(now + kMicrosPerDay));
    auto t = ParseTimestamp(v.get<std::string>());
    if (!t) return Status::InvalidArgument("to: " + t.error().message());
    if (*t <= now) {
      return Status::InvalidArgument("to: the demo clock only moves forward; it is already " +
                                     FormatTimestamp(now));
    }
    if (*t - now > kDemoClockMaxMove) {
      return Status::InvalidArgument("to: at most 90 days ahead of the demo clock (" +
                                     FormatTimestamp(now + kDemoClockMaxMove) + ")");
    }
    move = *t - now;
  }
  return move;
}

}  // namespace

void AddDemoRoutes(HttpServer& http, Api& api, App& app) {
  OffsetClock* clock = app.demo_clock();
  if (!clock) return;
  http.Route("GET", "/demo/clock", [&api, clock](const HttpRequest& req) {
    return api.Serve(
        kDemoRoutes[0], req, Api::TxKind::kRead,
        [](store::Tx&, const access::Acting&) { return Status::Ok(); },
        [clock](const Status&) { return Json(200, ClockJson(*clock)); });
  });
  // One move at a time: each is recorded with the offset it leaves.
  auto moving = std::make_shared<Mutex>();
  http.Route("POST", "/demo/clock", [&api, clock, moving](const HttpRequest& req) {
    MutexLock lock(*moving);
    Micros offset = 0;
    HttpResponse r = api.Serve(
        kDemoRoutes[1], req, Api::TxKind::kWrite,
        [&](store::Tx& tx, const access::Acting& who) -> Status {
          SB_ASSIGN_OR_RETURN(Micros move, RequestedMove(req.body, who.now));
          offset = clock->offset() + move;
          return access::RecordDemoClockMove(tx, who, move, offset);
        },
        [&](const Status&) {
          clock->RaiseOffsetTo(offset);
          json out = ClockJson(*clock);
          // Data release is due the moment nominations close: at once.
          auto released = api.ReleaseDueContests();
          if (released) {
            out["released"] = *released;
          } else {
            log::Error("contest", "data release after the demo clock moved failed; retrying",
                       {{"error", released.error()}});
            out["released"] = nullptr;
          }
          return Json(200, out);
        });
    return r;
  });
}

}  // namespace switchboard::server
