#include "server/member_pages.h"

#include "audit/audit_log.h"
#include "core/text.h"
#include "members/register.h"
#include "messaging/messaging.h"
#include "messaging/tokens.h"

namespace switchboard::server {

namespace {

namespace msg = messaging;

HttpResponse Page(int status, const std::string& org, const std::string& title,
                  const std::string& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      text::EscapeHtml(title) + " - " + text::EscapeHtml(org) +
      "</title>"
      "<link rel=\"stylesheet\" href=\"/app/app.css\"></head><body><main class=\"page\">"
      "<h1>" +
      text::EscapeHtml(title) + "</h1>" + body + "</main></body></html>";
  return r;
}

struct Choice {
  const char* field;
  const char* label;
  std::uint32_t bit;
  bool suppression;  // a suppression bit (checked = set) rather than a consent
};
constexpr Choice kChoices[] = {
    {"email", "News and campaigns by e-mail", members::kConsentEmail, false},
    {"candidates", "E-mail from candidates in internal elections", members::kConsentCandidates,
     false},
    {"phone", "Phone calls from volunteers", members::kConsentPhone, false},
    {"sms", "Text messages", members::kConsentSms, false},
    {"no_email",
     "No e-mail at all, not even notices about meetings and votes (these will come "
     "by post instead)",
     members::kNoEmail, true},
};

std::map<std::string, std::string> FormFields(const std::string& body) {
  std::string path;
  std::map<std::string, std::string> q;
  if (!ParseTarget("/?" + body, &path, &q)) return {};
  return q;
}

struct MemberState {
  bool found = false;
  std::uint32_t consents = 0, suppressions = 0;
};

Result<MemberState> Load(store::Tx& tx, MemberId id) {
  MemberState s;
  SB_RETURN_IF_ERROR(tx.Query("SELECT consents, suppressions FROM members WHERE id = $1",
                              {id.value()}, [&](const store::Row& r) {
                                s.found = true;
                                s.consents = static_cast<std::uint32_t>(r.Int(0));
                                s.suppressions = static_cast<std::uint32_t>(r.Int(1));
                                return false;
                              }));
  return s;
}

// Writes new consents/suppressions with their events; no-op when unchanged.
Status Save(store::Tx& tx, MemberId id, const MemberState& before, std::uint32_t consents,
            std::uint32_t suppressions, std::string_view source, Micros now) {
  if (consents == before.consents && suppressions == before.suppressions) return Status::Ok();
  SB_RETURN_IF_ERROR(tx.Exec("UPDATE members SET consents = $2, suppressions = $3, "
                             "updated_at = $4 WHERE id = $1",
                             {id.value(), static_cast<std::int64_t>(consents),
                              static_cast<std::int64_t>(suppressions), now})
                         .status());
  if (consents != before.consents) {
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO consent_events (member_id, at, consents, source) "
                "VALUES ($1, $2, $3, $4)",
                {id.value(), now, static_cast<std::int64_t>(consents), std::string(source)})
            .status());
  }
  if (suppressions != before.suppressions) {
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO suppression_events (member_id, at, suppressions, "
                "source) VALUES ($1, $2, $3, $4)",
                {id.value(), now, static_cast<std::int64_t>(suppressions), std::string(source)})
            .status());
  }
  return Status::Ok();
}

audit::Event MemberEvent(const HttpRequest& req, std::string_view action, MemberId member,
                         msg::MessageId message, Micros now) {
  audit::Event e;
  e.at = now;
  e.action = std::string(action);
  e.decision = "allow";
  e.rule = "member.own_token";
  e.members = {member.value()};
  if (message.valid()) e.message = message.value();
  e.request_id = req.request_id;
  return e;
}

const char* kBadLink =
    "<p>This link is not valid. It may have been copied incompletely. Use the link in the most "
    "recent message you received from us.</p>";

}  // namespace

void AddMemberPages(HttpServer& http, const ApiDeps& deps) {
  auto signer = std::make_shared<msg::TokenSigner>(*deps.sealer);
  const std::string org = deps.organisation_name;

  http.Route("GET", "/u/{token}", [signer, org](const HttpRequest& req) {
    const std::string& token = req.params.at("token");
    if (!signer->Verify(token)) return Page(404, org, "Unsubscribe", kBadLink);
    return Page(200, org, "Unsubscribe",
                "<p>Stop receiving this kind of e-mail from " + text::EscapeHtml(org) +
                    "?</p><form method=\"post\" action=\"/u/" + text::EscapeHtml(token) +
                    "\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
                    "<button type=\"submit\">Unsubscribe</button></form>"
                    "<p><a href=\"/preferences/" +
                    text::EscapeHtml(token) + "\">Or choose exactly what we send you</a></p>");
  });

  http.Route("POST", "/u/{token}", [signer, org, &deps](const HttpRequest& req) {
    const std::string& token = req.params.at("token");
    auto claims = signer->Verify(token);
    if (!claims) return Page(404, org, "Unsubscribe", kBadLink);
    const Micros now = deps.clock->Now();
    bool found = false;
    Status st = deps.store->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(MemberState s, Load(tx, claims->member));
      found = s.found;
      if (!s.found) return Status::Ok();
      msg::Kind kind = msg::Kind::kCampaign;
      if (claims->message.valid()) {
        SB_ASSIGN_OR_RETURN(std::int64_t k,
                            tx.QueryInt("SELECT COUNT(*) FROM messages WHERE id = $1 AND "
                                        "kind = 'service'",
                                        {claims->message.value()}));
        if (k > 0) kind = msg::Kind::kService;
      }
      std::uint32_t consents = s.consents, suppressions = s.suppressions;
      if (kind == msg::Kind::kService) {
        suppressions |= members::kNoEmail;
      } else {
        consents &= ~static_cast<std::uint32_t>(members::kConsentEmail);
      }
      SB_RETURN_IF_ERROR(
          Save(tx, claims->member, s, consents, suppressions, "member:unsubscribe", now));
      SB_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO unsubscribes (member_id, message_id, at, how) "
                  "VALUES ($1, $2, $3, 'one-click')",
                  {claims->member.value(),
                   claims->message.valid() ? store::Value(claims->message.value()) : store::Value(),
                   now})
              .status());
      return audit::AuditLog::Append(
                 tx, MemberEvent(req, "member.unsubscribe", claims->member, claims->message, now))
          .status();
    });
    if (!st.ok()) {
      return Page(503, org, "Unsubscribe",
                  "<p>We could not record this just now. Please try again in a minute.</p>");
    }
    if (!found) return Page(404, org, "Unsubscribe", kBadLink);
    return Page(200, org, "Unsubscribed",
                "<p>Done. You will not receive this kind of e-mail from us again; messages "
                "already on their way have been stopped.</p><p><a href=\"/preferences/" +
                    text::EscapeHtml(token) + "\">Choose what we send you</a></p>");
  });

  auto form = [org](const std::string& token, const MemberState& s, const std::string& note) {
    std::string body = note + "<form method=\"post\" action=\"/preferences/" +
                       text::EscapeHtml(token) +
                       "\"><fieldset><legend>What may we send you?</legend>";
    for (const Choice& c : kChoices) {
      const bool on = c.suppression ? (s.suppressions & c.bit) != 0 : (s.consents & c.bit) != 0;
      body += std::string("<p><label><input type=\"checkbox\" name=\"") + c.field +
              "\" value=\"1\"" + (on ? " checked" : "") + "> " + c.label + "</label></p>";
    }
    body += "</fieldset><button type=\"submit\">Save my choices</button></form>";
    return Page(200, org, "Your choices", body);
  };

  http.Route("GET", "/preferences/{token}", [signer, org, form, &deps](const HttpRequest& req) {
    const std::string& token = req.params.at("token");
    auto claims = signer->Verify(token);
    if (!claims) return Page(404, org, "Your choices", kBadLink);
    MemberState s;
    // The member's own choices, read on their token: recorded like any read.
    Status st = deps.store->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(s, Load(tx, claims->member));
      if (!s.found) return Status::Ok();
      return audit::AuditLog::Append(tx, MemberEvent(req, "member.preferences.view", claims->member,
                                                     claims->message, deps.clock->Now()))
          .status();
    });
    if (!st.ok()) return Page(503, org, "Your choices", "<p>Please try again in a minute.</p>");
    if (!s.found) return Page(404, org, "Your choices", kBadLink);
    return form(token, s, "");
  });

  http.Route("POST", "/preferences/{token}", [signer, org, form, &deps](const HttpRequest& req) {
    const std::string& token = req.params.at("token");
    auto claims = signer->Verify(token);
    if (!claims) return Page(404, org, "Your choices", kBadLink);
    const auto fields = FormFields(req.body);
    const Micros now = deps.clock->Now();
    MemberState after;
    Status st = deps.store->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(MemberState s, Load(tx, claims->member));
      after = s;
      if (!s.found) return Status::Ok();
      std::uint32_t consents = s.consents, suppressions = s.suppressions;
      for (const Choice& c : kChoices) {
        const bool on = fields.count(c.field) > 0;
        std::uint32_t& bits = c.suppression ? suppressions : consents;
        bits = on ? (bits | c.bit) : (bits & ~c.bit);
      }
      SB_RETURN_IF_ERROR(
          Save(tx, claims->member, s, consents, suppressions, "member:preferences", now));
      after.consents = consents;
      after.suppressions = suppressions;
      return audit::AuditLog::Append(
                 tx, MemberEvent(req, "member.preferences", claims->member, claims->message, now))
          .status();
    });
    if (!st.ok()) return Page(503, org, "Your choices", "<p>Please try again in a minute.</p>");
    if (!after.found) return Page(404, org, "Your choices", kBadLink);
    return form(token, after, "<p role=\"status\">Saved. This applies from now on.</p>");
  });
}

}  // namespace switchboard::server
