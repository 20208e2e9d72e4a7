// Privacy routes (RULEBOOK §10). For the data protection officer: a member's
// subject-access report (JSON, HTML or PDF; privacy/sar.h), the queue of
// requests from members with their one-month deadlines (privacy/requests.h)
// and the records of processing (privacy/records.h). For members, no
// sign-in: "who saw my data", a one-time link by e-mail to their own report
// (access/store/enrolment.h), as API routes and as pages. Each report is
// recorded ("privacy.sar").
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "members/register.h"
#include "messaging/tokens.h"
#include "privacy/records.h"
#include "privacy/requests.h"
#include "privacy/sar.h"
#include "server/api.h"
#include "server/api_internal.h"
#include "server/member_pages.h"

namespace switchboard::server {

using json = nlohmann::json;
using namespace api_internal;  // NOLINT(build/namespaces)

namespace {

json RequestJson(const privacy::PrivacyRequest& r) {
  json j{{"id", r.id},
         {"kind", privacy::RequestKindName(r.kind)},
         {"member", r.member.value()},
         {"source", r.source},
         {"received_at", FormatTimestamp(r.received_at)},
         {"due_on", IsoDay(r.due_day)},
         {"due_at", FormatTimestamp(r.due_at)},
         {"days_left", r.days_left},
         {"state", r.state}};
  if (!r.reminder.empty()) j["reminder"] = r.reminder;
  if (r.closed_at != 0) j["closed_at"] = FormatTimestamp(r.closed_at);
  if (r.closed_by.valid()) j["closed_by"] = r.closed_by.value();
  return j;
}

}  // namespace

void Api::AddPrivacyHandlers() {
  handlers_["privacy.report"] = [this](const ApiCall& c) { return PrivacyReport(c); };
  handlers_["privacy.requests.list"] = [this](const ApiCall& c) { return ListPrivacyRequests(c); };
  handlers_["privacy.requests.create"] = [this](const ApiCall& c) {
    return RecordPrivacyRequest(c);
  };
  handlers_["privacy.requests.close"] = [this](const ApiCall& c) { return ClosePrivacyRequest(c); };
  handlers_["privacy.requests.reminders"] = [this](const ApiCall& c) {
    return PrivacyReminders(c);
  };
  handlers_["privacy.my_report.request"] = [this](const ApiCall& c) { return RequestMyReport(c); };
  handlers_["privacy.my_report.open"] = [this](const ApiCall& c) { return OpenMyReport(c); };
  handlers_["privacy.records"] = [this](const ApiCall& c) { return ProcessingRecords(c); };
}

HttpResponse Api::ProcessingRecords(const ApiCall& call) {
  const std::string format =
      QueryParam(call.req, "format").empty() ? "md" : QueryParam(call.req, "format");
  if (format != "md" && format != "html") {
    return Error(400, "invalid_argument", "format is md or html", call.req);
  }
  privacy::ProcessingRecords records;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(
            records, privacy::GatherRecords(tx, *deps_.policy, deps_.organisation_name,
                                            privacy::StandardRecipients(
                                                deps_.mail_relay, std::string(connector_->name()),
                                                connector_->simulated()),
                                            who.now));
        return Status::Ok();
      },
      [&](const Status&) {
        HttpResponse out;
        if (format == "md") {
          out.content_type = "text/markdown; charset=utf-8";
          out.body = privacy::RecordsMarkdown(records, *deps_.tree);
        } else {
          out.content_type = "text/html; charset=utf-8";
          out.body = privacy::RecordsHtml(records, *deps_.tree);
          out.headers.emplace_back("Content-Security-Policy",
                                   "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
        }
        return out;
      });
}

HttpResponse Api::PrivacyReport(const ApiCall& call) {
  const std::string format =
      QueryParam(call.req, "format").empty() ? "json" : QueryParam(call.req, "format");
  const std::string audience =
      QueryParam(call.req, "audience").empty() ? "dpo" : QueryParam(call.req, "audience");
  if (format != "json" && format != "html" && format != "pdf") {
    return Error(400, "invalid_argument", "format is json, html or pdf", call.req);
  }
  if (audience != "dpo" && audience != "member") {
    return Error(400, "invalid_argument", "audience is dpo or member", call.req);
  }
  privacy::Report report;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(report,
                            privacy::SubjectAccess(tx, *deps_.sealer, who, call.target_member));
        return Status::Ok();
      },
      [&](const Status&) {
        if (Status st = privacy::AddProofs(*deps_.store, report); !st.ok()) {
          return StatusResponse(st, call.req.request_id);
        }
        privacy::RenderOptions o;
        if (audience == "member") {
          o = MemberRendering(call.target_member);
        } else {
          o.organisation = deps_.organisation_name;
        }
        if (format == "json") return Json(200, privacy::ReportJson(report, *deps_.tree, o));
        HttpResponse out;
        const std::string html = privacy::ReportHtml(report, *deps_.tree, o);
        const std::string name = "member-" + std::to_string(call.target_member.value());
        if (format == "html") {
          out.content_type = "text/html; charset=utf-8";
          out.body = html;
          out.headers.emplace_back("Content-Disposition",
                                   "attachment; filename=\"" + name + ".html\"");
          return out;
        }
        auto pdf = privacy::PrintToPdf(html, "");
        if (!pdf) return StatusResponse(pdf.error(), call.req.request_id);
        out.content_type = "application/pdf";
        out.body = std::move(*pdf);
        out.headers.emplace_back("Content-Disposition",
                                 "attachment; filename=\"" + name + ".pdf\"");
        return out;
      });
}

HttpResponse Api::ListPrivacyRequests(const ApiCall& call) {
  std::vector<privacy::PrivacyRequest> list;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        privacy::RequestFilter f;
        f.open_only = QueryParam(call.req, "open") == "true";
        SB_ASSIGN_OR_RETURN(list, privacy::ListRequests(tx, f, who.now));
        return Status::Ok();
      },
      [&](const Status&) {
        json out = json::array();
        for (const auto& r : list) out.push_back(RequestJson(r));
        return Json(200, {{"requests", out}});
      });
}

HttpResponse Api::PrivacyReminders(const ApiCall& call) {
  std::vector<privacy::PrivacyRequest> list;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(list, privacy::Reminders(tx, who.now));
        return Status::Ok();
      },
      [&](const Status&) {
        json out = json::array();
        int soon = 0, late = 0;
        for (const auto& r : list) {
          out.push_back(RequestJson(r));
          (r.reminder == "overdue" ? late : soon)++;
        }
        return Json(200, {{"reminders", out}, {"due_soon", soon}, {"overdue", late}});
      });
}

HttpResponse Api::RecordPrivacyRequest(const ApiCall& call) {
  privacy::PrivacyRequest made;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::string kind_text, StringField(call.body, "kind", true, 16));
        auto kind = privacy::ParseRequestKind(kind_text);
        if (!kind) return Status::InvalidArgument("field \"kind\" is access or erasure");
        auto m = call.body.find("member");
        if (m == call.body.end() || !m->is_number_integer() || m->get<std::int64_t>() <= 0) {
          return Status::InvalidArgument("field \"member\" must be a member id");
        }
        SB_ASSIGN_OR_RETURN(std::string source, StringField(call.body, "source", true, 64));
        SB_ASSIGN_OR_RETURN(std::string received, StringField(call.body, "received", false, 40));
        Micros at = who.now;
        if (!received.empty()) {
          auto t = ParseTimestamp(received.size() == 10 ? received + "T00:00:00Z" : received);
          if (!t) {
            return Status::InvalidArgument(
                "field \"received\" must be a date (YYYY-MM-DD) or an ISO 8601 time");
          }
          at = *t;
        }
        SB_ASSIGN_OR_RETURN(
            made,
            privacy::RecordRequest(tx, who, *kind, MemberId(m->get<std::int64_t>()), source, at));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(201, {{"request", RequestJson(made)}});
      });
}

HttpResponse Api::ClosePrivacyRequest(const ApiCall& call) {
  privacy::PrivacyRequest closed;
  std::optional<privacy::Report> report;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::int64_t id, ParseId(call.req.params.at("id"), "the request id"));
        SB_ASSIGN_OR_RETURN(privacy::PrivacyRequest r, privacy::GetRequest(tx, id, who.now));
        // An access request is answered with the report, made and recorded now.
        if (r.kind == privacy::RequestKind::kAccess && r.state == "open") {
          SB_ASSIGN_OR_RETURN(report, privacy::SubjectAccess(tx, *deps_.sealer, who, r.member));
        }
        SB_ASSIGN_OR_RETURN(closed, privacy::CloseRequest(tx, who, id));
        return Status::Ok();
      },
      [&](const Status&) {
        json out{{"request", RequestJson(closed)}};
        if (report) {
          if (Status st = privacy::AddProofs(*deps_.store, *report); !st.ok()) {
            return StatusResponse(st, call.req.request_id);
          }
          privacy::RenderOptions o;
          o.organisation = deps_.organisation_name;
          out["report"] = privacy::ReportJson(*report, *deps_.tree, o);
        }
        return Json(200, out);
      });
}

// --- "Who saw my data": the member's own report ---------------------------

namespace {

// The consent choices of the member's pages (member_pages.cc, which saves
// them through members/preferences.h).
struct Choice {
  const char* field;
  const char* label;
  std::uint32_t bit;
  bool suppression;
};
constexpr Choice kChoices[] = {
    {"email", "News and campaigns by e-mail", members::kConsentEmail, false},
    {"candidates", "E-mail from candidates in internal elections", members::kConsentCandidates,
     false},
    {"phone", "Phone calls from volunteers", members::kConsentPhone, false},
    {"sms", "Text messages", members::kConsentSms, false},
    {"no_email", "No e-mail at all, not even notices about meetings and votes", members::kNoEmail,
     true},
};

std::string ConsentForm(const std::string& action, const privacy::Report& r) {
  std::string f =
      "<section aria-labelledby=\"choices\"><h2 id=\"choices\">Change what we may "
      "send you</h2><form method=\"post\" action=\"" +
      text::EscapeHtml(action) + "\"><fieldset><legend>You agree to</legend>";
  for (const Choice& c : kChoices) {
    const bool on =
        c.suppression ? (r.member.suppressions & c.bit) != 0 : (r.member.consents & c.bit) != 0;
    f += std::string("<p><label><input type=\"checkbox\" name=\"") + c.field + "\" value=\"1\"" +
         (on ? " checked" : "") + "> " + c.label + "</label></p>";
  }
  f += "</fieldset><button type=\"submit\">Save my choices</button></form></section>";
  return f;
}

// Word for word the same whether or not the address is known.
constexpr std::string_view kReportAsked =
    "If the address is on our register, a link to your report is on its way to it. The link "
    "works once, for a short time. Nothing after a few minutes? Look in your spam folder.";

std::map<std::string, std::string> FormFields(const std::string& body) {
  std::string path;
  std::map<std::string, std::string> q;
  if (!ParseTarget("/?" + body, &path, &q)) return {};
  return q;
}

}  // namespace

privacy::RenderOptions Api::MemberRendering(MemberId member) const {
  privacy::RenderOptions o;
  o.audience = privacy::Audience::kMember;
  o.name_volunteers = deps_.policy->privacy_name_volunteers;
  o.organisation = deps_.organisation_name;
  (void)member;
  return o;
}

Result<privacy::Report> Api::OpenReportLink(const std::string& token, const std::string& client,
                                            const std::string& request_id) {
  privacy::Report report;
  SB_RETURN_IF_ERROR(deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(MemberId member, enrolment_->UseReportLink(tx, token, client, request_id));
    access::Acting who;  // the member, with no account and no grant
    who.now = deps_.clock->Now();
    who.request_id = request_id;
    who.client = client;
    SB_ASSIGN_OR_RETURN(report, privacy::SubjectAccess(tx, *deps_.sealer, who, member));
    return Status::Ok();
  }));
  SB_RETURN_IF_ERROR(privacy::AddProofs(*deps_.store, report));
  return report;
}

HttpResponse Api::RequestMyReport(const ApiCall& call) {
  auto email = StringField(call.body, "email", true, 320);
  if (!email) return StatusResponse(email.error(), call.req.request_id);
  auto out = enrolment_->RequestReport({*email, call.client, call.req.request_id});
  if (out && out->answer == access::LinkAnswer::kAsked) {
    if (out->mailed && deps_.on_message_queued) deps_.on_message_queued();
    return Json(202, {{"status", "asked"}, {"message", kReportAsked}});
  }
  return LinkAsked(call, out);
}

HttpResponse Api::OpenMyReport(const ApiCall& call) {
  auto token = StringField(call.body, "token", true, 64);
  if (!token) return StatusResponse(token.error(), call.req.request_id);
  auto report = OpenReportLink(*token, call.client, call.req.request_id);
  if (!report) {
    if (report.error().code() == StatusCode::kNotFound) {
      return Error(404, "link_invalid", report.error().message(), call.req);
    }
    return StatusResponse(report.error(), call.req.request_id);
  }
  messaging::TokenSigner signer(*deps_.sealer);
  const std::string prefs = signer.Make({report->member.id, messaging::MessageId()});
  json j = privacy::ReportJson(*report, *deps_.tree, MemberRendering(report->member.id));
  j["preferences_url"] = "/preferences/" + prefs;
  return Json(200, j);
}

void Api::RegisterMyDataPages(HttpServer& http) {
  const std::string org = deps_.organisation_name;
  auto ask_form = [org](int status, const std::string& note) {
    return MemberPage(
        status, org, "See the data we hold about you",
        note +
            "<p>Type the e-mail address we have for you. We will send a link to it; the "
            "link opens a report of everything we hold about you and everyone who has "
            "looked at it.</p><form method=\"post\" action=\"/my-data\"><p><label "
            "for=\"email\">Your e-mail address</label><br><input id=\"email\" "
            "name=\"email\" type=\"email\" autocomplete=\"email\" required "
            "maxlength=\"254\"></p><button type=\"submit\">Send me the link</button>"
            "</form>");
  };
  http.Route("GET", "/my-data", [ask_form](const HttpRequest&) { return ask_form(200, ""); });
  http.Route("POST", "/my-data", [this, org, ask_form](const HttpRequest& req) {
    const auto fields = FormFields(req.body);
    auto it = fields.find("email");
    const std::string email = it == fields.end() ? std::string() : it->second;
    auto out =
        enrolment_->RequestReport({email, access::TruncateAddress(req.remote), req.request_id});
    if (!out) {
      if (out.error().code() == StatusCode::kInvalidArgument) {
        return ask_form(400, "<p role=\"alert\">That does not look like an e-mail address.</p>");
      }
      return MemberPage(503, org, "See the data we hold about you",
                        "<p>We could not do this just now. Please try again in a minute.</p>");
    }
    if (out->answer == access::LinkAnswer::kThrottled) {
      HttpResponse r =
          MemberPage(429, org, "See the data we hold about you",
                     "<p role=\"alert\">Too many links were asked for. Please try again "
                     "later.</p>");
      r.headers.emplace_back("Retry-After",
                             std::to_string(std::max<Micros>(
                                 1, (out->retry_at - deps_.clock->Now()) / kMicrosPerSecond)));
      return r;
    }
    if (out->mailed && deps_.on_message_queued) deps_.on_message_queued();
    return MemberPage(202, org, "Check your e-mail",
                      "<p role=\"status\">" + std::string(kReportAsked) + "</p>");
  });
  // A GET never spends the link: mail scanners follow links.
  http.Route("GET", "/my-data/{token}", [org](const HttpRequest& req) {
    return MemberPage(
        200, org, "Your data",
        "<p>This link shows, once, everything we hold about you and who has looked at "
        "it.</p><form method=\"post\" action=\"/my-data/" +
            text::EscapeHtml(req.params.at("token")) +
            "\"><button type=\"submit\">Show my report</button></form>");
  });
  http.Route("POST", "/my-data/{token}", [this, org](const HttpRequest& req) {
    auto report =
        OpenReportLink(req.params.at("token"), access::TruncateAddress(req.remote), req.request_id);
    if (!report) {
      if (report.error().code() == StatusCode::kNotFound) {
        return MemberPage(
            404, org, "Your data",
            "<p>This link is not valid: it was used already, has expired or was never "
            "sent. <a href=\"/my-data\">Ask for a new one</a>.</p>");
      }
      return MemberPage(503, org, "Your data", "<p>Please try again in a minute.</p>");
    }
    messaging::TokenSigner signer(*deps_.sealer);
    privacy::RenderOptions o = MemberRendering(report->member.id);
    o.member_form_html = ConsentForm(
        "/preferences/" + signer.Make({report->member.id, messaging::MessageId()}), *report);
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = privacy::ReportHtml(*report, *deps_.tree, o);
    r.headers.emplace_back("Content-Security-Policy",
                           privacy::ReportCsp() + "; frame-ancestors 'none'");
    return r;
  });
}

}  // namespace switchboard::server
