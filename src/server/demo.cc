#include "server/demo.h"

#include <sodium.h>

#include "access/credentials/password.h"
#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "messaging/messaging.h"
#include "phonebank/connector.h"
#include "phonebank/phonebank.h"

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

}  // namespace

Result<DemoPhonebank> SetUpDemoPhonebank(App& app) {
  DemoPhonebank d;
  // The constituency with the most members one could call.
  const members::Unit* unit = nullptr;
  SB_RETURN_IF_ERROR(app.store().Read([&](store::Tx& tx) {
    return tx.Query(
        "SELECT unit_id FROM members WHERE (consents & 2) <> 0 AND suppressions = 0 AND status = "
        "'current' GROUP BY unit_id ORDER BY COUNT(*) DESC, unit_id LIMIT 1",
        {}, [&](const store::Row& r) {
          unit = app.tree().Find(UnitId(r.Int(0)));
          return false;
        });
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
  SB_RETURN_IF_ERROR(app.store().Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        AccountId org,
        access::CreateAccount(tx, {d.organiser_login, "Demo Organiser", MemberId(), false}, now));
    SB_RETURN_IF_ERROR(access::SetPasswordHash(tx, org, org_hash));
    SB_ASSIGN_OR_RETURN(
        AccountId vol,
        access::CreateAccount(tx, {d.volunteer_login, "Demo Volunteer", MemberId(), false}, now));
    SB_RETURN_IF_ERROR(access::SetPasswordHash(tx, vol, vol_hash));
    access::GrantRequest g{org,
                           "officer",
                           unit->id,
                           "demo: organise the branch phone bank",
                           now,
                           now + 90 * kMicrosPerDay,
                           "demo set-up",
                           "direct",
                           0};
    SB_ASSIGN_OR_RETURN(access::GrantId grant, access::InsertGrant(tx, g, AccountId(), true, now));
    audit::Event e;
    e.at = now;
    e.action = "grant.demo";
    e.decision = "allow";
    e.rule = "demo";
    e.grant_id = grant.value();
    e.on_behalf_of = org.value();
    SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());

    phonebank::Campaign c;
    c.name = "Autumn members' check-in";
    c.owner = org;
    c.scope = unit->id;
    c.purpose = "ask members whether they will come to the branch AGM";
    c.script =
        "Hello, is that {first name}? I'm a volunteer with the local branch.\n\n"
        "We're holding our AGM next month and wanted to check whether you'd like to come.\n\n"
        "Thank them for their time, whatever they say.";
    c.survey = {{"agm", "Will they come to the AGM?", "yesno", {}},
                {"topic",
                 "Which issue matters most to them?",
                 "choice",
                 {"housing", "transport", "health", "other"}},
                {"volunteer", "How keen are they to help out? (1-5)", "scale", {}}};
    c.calling_start = 0;
    c.calling_end = 24 * 60;
    c.starts_at = now;
    c.ends_at = now + 28 * kMicrosPerDay;
    SB_RETURN_IF_ERROR(phonebank::Validate(c, app.policy(), app.tree()));
    SB_ASSIGN_OR_RETURN(c.id, phonebank::InsertCampaign(tx, app.tree(), c, now));
    SB_ASSIGN_OR_RETURN(
        d.targets, phonebank::SetState(tx, app.tree(), c, phonebank::CampaignState::kLive, now));
    SB_ASSIGN_OR_RETURN(phonebank::NewInvite inv,
                        phonebank::CreateInvite(tx, c, org, "demo link", 0, 100, now));
    SB_RETURN_IF_ERROR(phonebank::Join(tx, app.tree(), c, inv.invite, vol, now).status());
    SB_ASSIGN_OR_RETURN(auto v,
                        phonebank::RegisterEndpoint(tx, app.sealer(), vol, "+447700900001", now));
    SB_RETURN_IF_ERROR(phonebank::VerifyEndpoint(tx, vol, v.code, now));
    d.campaign = c.id.value();
    d.invite_path = "/join/" + inv.token;
    audit::Event ce;
    ce.at = now;
    ce.action = "campaign.demo";
    ce.decision = "allow";
    ce.rule = "demo";
    ce.campaign = c.id.value();
    return audit::AuditLog::Append(tx, ce).status();
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
    SB_ASSIGN_OR_RETURN(messaging::MessageId id, messaging::CreateDraft(tx, app.tree(), m, now));
    SB_ASSIGN_OR_RETURN(
        messaging::SendResult r,
        messaging::Send(tx, app.tree(), id, m.version, who.id, false, d,
                        messaging::SendPolicyFrom(app.policy()), messaging::NoContestHooks(), now));
    queued = r.sent ? r.recipients : 0;
    audit::Event e;
    e.at = now;
    e.actor = who.id.value();
    e.action = r.sent ? "message.send" : "message.send_refused";
    e.decision = r.sent ? "allow" : "deny";
    e.rule = "demo";
    e.message = id.value();
    return audit::AuditLog::Append(tx, e).status();
  }));
  return queued;
}

}  // namespace switchboard::server
