#include "server/member_pages.h"

#include "core/text.h"
#include "members/register.h"
#include "messaging/messaging.h"
#include "messaging/operations.h"
#include "messaging/tokens.h"

namespace switchboard::server {

namespace {

namespace msg = messaging;

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

msg::MemberLink LinkOf(const msg::TokenClaims& claims, const HttpRequest& req, Micros now) {
  return {claims.member, claims.message, req.request_id, now};
}

const char* kBadLink =
    "<p>This link is not valid. It may have been copied incompletely. Use the link in the most "
    "recent message you received from us.</p>";

}  // namespace

HttpResponse MemberPage(int status, const std::string& org, const std::string& title,
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

void AddMemberPages(HttpServer& http, const ApiDeps& deps) {
  auto signer = std::make_shared<msg::TokenSigner>(*deps.sealer);
  const std::string org = deps.organisation_name;

  http.Route("GET", "/u/{token}", [signer, org](const HttpRequest& req) {
    const std::string& token = req.params.at("token");
    if (!signer->Verify(token)) return MemberPage(404, org, "Unsubscribe", kBadLink);
    return MemberPage(200, org, "Unsubscribe",
                      "<p>Stop receiving this kind of e-mail from " + text::EscapeHtml(org) +
                          "?</p><form method=\"post\" action=\"/u/" + text::EscapeHtml(token) +
                          "\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
                          "<button type=\"submit\">Unsubscribe</button></form>"
                          "<p><a href=\"/preferences/" +
                          text::EscapeHtml(token) +
                          "\">Or choose exactly what we send you</a></p>");
  });

  http.Route("POST", "/u/{token}", [signer, org, &deps](const HttpRequest& req) {
    const std::string& token = req.params.at("token");
    auto claims = signer->Verify(token);
    if (!claims) return MemberPage(404, org, "Unsubscribe", kBadLink);
    std::optional<members::Preferences> after;
    Status st = deps.store->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(after, msg::Unsubscribe(tx, LinkOf(*claims, req, deps.clock->Now())));
      return Status::Ok();
    });
    if (!st.ok()) {
      return MemberPage(503, org, "Unsubscribe",
                        "<p>We could not record this just now. Please try again in a minute.</p>");
    }
    if (!after) return MemberPage(404, org, "Unsubscribe", kBadLink);
    return MemberPage(200, org, "Unsubscribed",
                      "<p>Done. You will not receive this kind of e-mail from us again; messages "
                      "already on their way have been stopped.</p><p><a href=\"/preferences/" +
                          text::EscapeHtml(token) + "\">Choose what we send you</a></p>");
  });

  auto form = [org](const std::string& token, const members::Preferences& s,
                    const std::string& note) {
    std::string body = note + "<form method=\"post\" action=\"/preferences/" +
                       text::EscapeHtml(token) +
                       "\"><fieldset><legend>What may we send you?</legend>";
    for (const Choice& c : kChoices) {
      const bool on = c.suppression ? (s.suppressions & c.bit) != 0 : (s.consents & c.bit) != 0;
      body += std::string("<p><label><input type=\"checkbox\" name=\"") + c.field +
              "\" value=\"1\"" + (on ? " checked" : "") + "> " + c.label + "</label></p>";
    }
    body += "</fieldset><button type=\"submit\">Save my choices</button></form>";
    return MemberPage(200, org, "Your choices", body);
  };

  http.Route("GET", "/preferences/{token}", [signer, org, form, &deps](const HttpRequest& req) {
    const std::string& token = req.params.at("token");
    auto claims = signer->Verify(token);
    if (!claims) return MemberPage(404, org, "Your choices", kBadLink);
    std::optional<members::Preferences> s;
    Status st = deps.store->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(s, msg::ReadPreferences(tx, LinkOf(*claims, req, deps.clock->Now())));
      return Status::Ok();
    });
    if (!st.ok())
      return MemberPage(503, org, "Your choices", "<p>Please try again in a minute.</p>");
    if (!s) return MemberPage(404, org, "Your choices", kBadLink);
    return form(token, *s, "");
  });

  http.Route("POST", "/preferences/{token}", [signer, org, form, &deps](const HttpRequest& req) {
    const std::string& token = req.params.at("token");
    auto claims = signer->Verify(token);
    if (!claims) return MemberPage(404, org, "Your choices", kBadLink);
    const auto fields = FormFields(req.body);
    // The page's choices, each a consent or a suppression bit.
    auto choose = [&fields](members::Preferences p) {
      for (const Choice& c : kChoices) {
        const bool on = fields.count(c.field) > 0;
        std::uint32_t& bits = c.suppression ? p.suppressions : p.consents;
        bits = on ? (bits | c.bit) : (bits & ~c.bit);
      }
      return p;
    };
    std::optional<members::Preferences> after;
    Status st = deps.store->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(
          after, msg::SavePreferences(tx, LinkOf(*claims, req, deps.clock->Now()), choose));
      return Status::Ok();
    });
    if (!st.ok())
      return MemberPage(503, org, "Your choices", "<p>Please try again in a minute.</p>");
    if (!after) return MemberPage(404, org, "Your choices", kBadLink);
    return form(token, *after, "<p role=\"status\">Saved. This applies from now on.</p>");
  });
}

}  // namespace switchboard::server
