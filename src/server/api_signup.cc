// Self-service routes: signing up from an invitation, resetting a forgotten
// password, and the one-time links both send (EnrolmentService,
// access/store/enrolment.h, decides, acts and records each). All are public.
// Tokens travel in request bodies, never in URLs, so no access log holds one.
#include <nlohmann/json.hpp>

#include "phonebank/phonebank.h"
#include "server/api.h"
#include "server/api_internal.h"

namespace switchboard::server {

using json = nlohmann::json;
using namespace api_internal;  // NOLINT(build/namespaces)
namespace pb = phonebank;

namespace {

// Word for word the same whether or not anyone was found.
constexpr std::string_view kAsked =
    "If we know you, a link is on its way to the e-mail address we hold for you. It works "
    "once, for a short time. Nothing after a few minutes? Look in your spam folder, or ask "
    "whoever invited you.";

}  // namespace

void Api::AddSignUpHandlers() {
  handlers_["join.about"] = [this](const ApiCall& c) { return JoinAbout(c); };
  handlers_["signup.request"] = [this](const ApiCall& c) { return RequestSignUp(c); };
  handlers_["password_reset.request"] = [this](const ApiCall& c) { return RequestReset(c); };
  handlers_["account_link.check"] = [this](const ApiCall& c) { return CheckLink(c); };
  handlers_["account_link.complete"] = [this](const ApiCall& c) { return CompleteLink(c); };
}

// The invitation and its campaign, and whether the link can still be used;
// kNotFound for an unknown link.
Result<Api::OpenInvite> Api::ReadOpenInvite(std::string_view token, Micros now) {
  OpenInvite out;
  SB_RETURN_IF_ERROR(deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(pb::Invite inv, pb::FindInvite(tx, token));
    SB_ASSIGN_OR_RETURN(pb::Campaign c, pb::GetCampaign(tx, *deps_.tree, inv.campaign));
    out.campaign = c.id.value();
    out.name = c.name;
    out.purpose = c.purpose;
    out.ends_at = c.ends_at;
    out.own_address = c.eligibility.non_members_may_sign_up &&
                      !c.eligibility.members_in_scope_only &&
                      c.eligibility.min_membership_years == 0;
    if (c.state == pb::CampaignState::kKilled || c.state == pb::CampaignState::kEnded ||
        now >= c.ends_at) {
      out.refusal = "this campaign has ended; the link no longer works";
    } else if (c.state == pb::CampaignState::kDraft) {
      out.refusal = "this campaign has not started yet";
    } else if (inv.revoked_at != 0) {
      out.refusal = "this link was withdrawn by the organiser";
    } else if (now >= inv.expires_at) {
      out.refusal = "this link expired on " + FormatTimestamp(inv.expires_at);
    } else if (inv.joins >= inv.max_joins) {
      out.refusal = "this link has been used by as many people as it allows";
    }
    return Status::Ok();
  }));
  return out;
}

HttpResponse Api::JoinAbout(const ApiCall& call) {
  auto inv = ReadOpenInvite(call.req.params.at("token"), call.now);
  if (!inv) return StatusResponse(inv.error(), call.req.request_id);
  json j{{"campaign",
          {{"id", inv->campaign},
           {"name", inv->name},
           {"purpose", inv->purpose},
           {"ends_at", FormatTimestamp(inv->ends_at)}}},
         {"usable", inv->refusal.empty()},
         {"non_members_may_sign_up", inv->own_address}};
  if (!inv->refusal.empty()) j["reason"] = inv->refusal;
  return Json(200, j);
}

HttpResponse Api::LinkAsked(const ApiCall& call, const Result<access::LinkRequestOutcome>& out) {
  if (!out) return StatusResponse(out.error(), call.req.request_id);
  if (out->answer == access::LinkAnswer::kThrottled) {
    HttpResponse r =
        Error(429, "too_many_requests",
              "too many links were asked for; try again after " + FormatTimestamp(out->retry_at),
              call.req);
    r.headers.emplace_back("Retry-After", std::to_string(std::max<Micros>(
                                              1, (out->retry_at - call.now) / kMicrosPerSecond)));
    return r;
  }
  if (out->mailed && deps_.on_message_queued) deps_.on_message_queued();
  return Json(202, {{"status", "asked"}, {"message", kAsked}});
}

HttpResponse Api::RequestSignUp(const ApiCall& call) {
  auto who = StringField(call.body, "who", true, 320);
  if (!who) return StatusResponse(who.error(), call.req.request_id);
  const std::string& token = call.req.params.at("token");
  auto inv = ReadOpenInvite(token, call.now);
  if (!inv) return StatusResponse(inv.error(), call.req.request_id);
  if (!inv->refusal.empty()) return Error(409, "invitation_closed", inv->refusal, call.req);
  access::SignUpRequest r;
  r.who = *who;
  r.invite_token = token;
  r.campaign_name = inv->name;
  r.campaign = inv->campaign;
  r.allow_own_address = inv->own_address;
  r.client = call.client;
  r.request_id = call.req.request_id;
  return LinkAsked(call, enrolment_->RequestSignUp(r));
}

HttpResponse Api::RequestReset(const ApiCall& call) {
  auto who = StringField(call.body, "who", true, 320);
  if (!who) return StatusResponse(who.error(), call.req.request_id);
  return LinkAsked(call, enrolment_->RequestReset({*who, call.client, call.req.request_id}));
}

HttpResponse Api::CheckLink(const ApiCall& call) {
  auto token = StringField(call.body, "token", true, 64);
  if (!token) return StatusResponse(token.error(), call.req.request_id);
  auto info = enrolment_->Inspect(*token);
  if (!info) {
    if (info.error().code() == StatusCode::kNotFound) {
      return Error(404, "link_invalid", info.error().message(), call.req);
    }
    return StatusResponse(info.error(), call.req.request_id);
  }
  json j{{"purpose", access::LinkPurposeName(info->purpose)},
         {"expires_at", FormatTimestamp(info->expires_at)}};
  if (info->purpose == access::LinkPurpose::kReset) j["login"] = info->login;
  if (info->purpose == access::LinkPurpose::kSignUp) j["member"] = info->member;
  return Json(200, j);
}

HttpResponse Api::CompleteLink(const ApiCall& call) {
  auto token = StringField(call.body, "token", true, 64);
  auto password = StringField(call.body, "password", true, access::kMaxPasswordBytes);
  auto login = StringField(call.body, "login", false, 64);
  auto name = StringField(call.body, "display_name", false, 200);
  for (const auto* r : {&token, &password, &login, &name}) {
    if (!*r) return StatusResponse(r->error(), call.req.request_id);
  }
  access::CompleteLink c;
  c.token = *token;
  c.password = *password;
  c.login = *login;
  c.display_name = *name;
  c.client = call.client;
  c.request_id = call.req.request_id;
  auto out = enrolment_->Complete(c);
  if (!out) {
    switch (out.error().code()) {
      case StatusCode::kNotFound:
        return Error(404, "link_invalid", out.error().message(), call.req);
      case StatusCode::kInvalidArgument:
        return Error(400, "invalid_request", out.error().message(), call.req);
      case StatusCode::kAlreadyExists:
        return Error(409, "login_taken",
                     "that login name is taken; choose another (the link still works)", call.req);
      default:
        return StatusResponse(out.error(), call.req.request_id);
    }
  }
  json j{{"purpose", access::LinkPurposeName(out->purpose)},
         {"account",
          {{"id", out->account.id.value()},
           {"login", out->account.login},
           {"display_name", out->account.display_name}}},
         {"csrf_token", out->session.csrf_token},
         {"expires_at", FormatTimestamp(out->session.expires_at)}};
  if (out->purpose == access::LinkPurpose::kReset) j["sessions_ended"] = out->sessions_ended;
  HttpResponse r = Json(201, j);
  r.headers.emplace_back("Set-Cookie", SessionCookie(out->session, call.now));
  return r;
}

}  // namespace switchboard::server
