#include "server/demo.h"

#include <sodium.h>

#include "access/credentials/password.h"
#include "access/store/access_service.h"
#include "access/store/access_store.h"
#include "members/register.h"
#include "messaging/operations.h"
#include "phonebank/connector.h"
#include "phonebank/operations.h"

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
  phonebank::SandboxConnector sandbox(app.sealer());
  const phonebank::Operations ops(app.policy(), app.tree(), app.sealer(), TimeZone(), sandbox);
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
    SB_RETURN_IF_ERROR(access::GrantBySystem(tx, g, "demo", now).status());

    // The organiser acts under the grant just made, as through the API.
    SB_ASSIGN_OR_RETURN(access::PrincipalData pd, access::LoadPrincipal(tx, org));
    const access::Decision allow = access::Decide(app.policy(), app.tree(), pd.principal(true),
                                                  "phonebank.manage", {unit->id}, now);
    if (!allow.allow) return Status::FailedPrecondition("demo: " + allow.deny_reason);
    access::Acting organiser;
    organiser.account = org;
    organiser.display_name = "Demo Organiser";
    organiser.decision = &allow;
    organiser.now = now;
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
    SB_RETURN_IF_ERROR(ops.Create(tx, organiser, c).status());
    SB_ASSIGN_OR_RETURN(d.targets,
                        ops.ChangeState(tx, organiser, c.id, phonebank::CampaignState::kLive, c));
    SB_ASSIGN_OR_RETURN(phonebank::NewInvite inv,
                        ops.Invite(tx, organiser, c.id, "demo link", 0, 100));
    SB_RETURN_IF_ERROR(ops.JoinByLink(tx, volunteer, inv.token, c).status());
    SB_ASSIGN_OR_RETURN(auto v, ops.RegisterEndpoint(tx, volunteer, "+447700900001"));
    SB_RETURN_IF_ERROR(ops.VerifyEndpoint(tx, volunteer, v.code));
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

}  // namespace switchboard::server
