// Member e-mail routes (RULEBOOK §7): each parses, calls one operation of
// messaging/operations.h in the request's transaction (Api::Act) and
// renders. Drafting, previews, counts and reports need message.draft over
// the message's scope; second approvals need message.approve; sending and
// cancelling need message.send. Approving in one's own name needs only to be
// that person, signed in: no grant lets anyone else do it. Member addresses
// never appear in any answer.
#include <map>
#include <nlohmann/json.hpp>

#include "access/store/access_store.h"
#include "messaging/messaging.h"
#include "messaging/operations.h"
#include "messaging/tokens.h"
#include "server/api.h"
#include "server/api_internal.h"
#include "server/api_routes.h"

namespace switchboard::server {

using namespace api_internal;  // NOLINT(build/namespaces)
namespace msg = messaging;

namespace {

Status Guard(const std::function<Status()>& f) {
  try {
    return f();
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument("a field has the wrong type; see docs/openapi.yaml");
  }
}

msg::MessageId MessageOf(const ApiCall& call) { return msg::MessageId(call.target_id); }

// Reads the fields present in `j` into `m` (all required when `create`).
Status ReadMessageBody(const json& j, store::Tx& tx, const members::OrgTree& tree, bool create,
                       msg::Message& m) {
  auto str = [&](const char* key, size_t max, std::string* out, bool required) -> Status {
    if (!j.contains(key)) {
      return create && required
                 ? Status::InvalidArgument("missing field \"" + std::string(key) + "\"")
                 : Status::Ok();
    }
    SB_ASSIGN_OR_RETURN(*out, StringField(j, key, required, max));
    return Status::Ok();
  };
  // Sizes are checked again, with the limits named, by msg::Validate; these
  // caps only bound what is parsed.
  SB_RETURN_IF_ERROR(str("subject", 4096, &m.subject, true));
  SB_RETURN_IF_ERROR(str("text_body", 1 << 20, &m.text_body, true));
  SB_RETURN_IF_ERROR(str("html_body", 1 << 20, &m.html_body, false));
  if (j.contains("kind")) {
    SB_ASSIGN_OR_RETURN(std::string k, StringField(j, "kind", true, 20));
    auto kind = msg::ParseKind(k);
    if (!kind) {
      return Status::InvalidArgument("kind: one of \"service\", \"campaign\", \"endorsement\"");
    }
    m.kind = *kind;
  } else if (create) {
    return Status::InvalidArgument("missing field \"kind\"");
  }
  if (j.contains("from")) {
    const json& f = j["from"];
    if (!f.is_object()) return Status::InvalidArgument("from: must be an object");
    SB_ASSIGN_OR_RETURN(std::string k, StringField(f, "kind", true, 20));
    auto kind = msg::ParseFromKind(k);
    if (!kind) {
      return Status::InvalidArgument(
          "from.kind: one of \"organisation\", \"unit\", \"candidate\", \"person\"");
    }
    m.from = {};
    m.from.kind = *kind;
    SB_ASSIGN_OR_RETURN(m.from.name, StringField(f, "name", false, 200));
    if (*kind == msg::FromKind::kUnit) {
      SB_ASSIGN_OR_RETURN(std::string u, StringField(f, "unit", false, 64));
      if (u.empty()) {
        m.from.unit = m.scope;
      } else {
        SB_ASSIGN_OR_RETURN(m.from.unit, UnitFrom(tree, u, "from.unit"));
      }
    }
    if (*kind == msg::FromKind::kPerson || *kind == msg::FromKind::kCandidate) {
      if (!f.contains("account") ||
          !(f["account"].is_number_integer() || f["account"].is_string())) {
        return Status::InvalidArgument("from.account: the account id of the person");
      }
      const std::string a = f["account"].is_string()
                                ? f["account"].get<std::string>()
                                : std::to_string(f["account"].get<std::int64_t>());
      SB_ASSIGN_OR_RETURN(std::int64_t id, ParseId(a, "from.account"));
      auto acct = access::GetAccount(tx, AccountId(id));
      if (!acct) return Status::InvalidArgument("from.account: no such account");
      m.from.account = AccountId(id);
      if (m.from.name.empty() && *kind == msg::FromKind::kPerson) {
        m.from.name = acct->display_name;
      }
    }
  } else if (create) {
    m.from.kind = msg::FromKind::kUnit;
    m.from.unit = m.scope;
  }
  if (j.contains("audience")) {
    const json& a = j["audience"];
    if (!a.is_object()) return Status::InvalidArgument("audience: must be an object");
    json copy = a;
    copy["scope"] = m.scope.value();  // an audience never leaves the message's scope
    SB_ASSIGN_OR_RETURN(m.audience, segment::ParseSegment(copy.dump(), tree));
  } else if (create) {
    m.audience = {};
    m.audience.scope = m.scope;
  }
  return Status::Ok();
}

json ApprovalJson(const msg::Approval& a) {
  return {{"kind", msg::ApprovalKindName(a.kind)},
          {"account", a.account.value()},
          {"name", a.account_name},
          {"version", a.version},
          {"at", FormatTimestamp(a.at)}};
}

json MessageJson(store::Tx& tx, const members::OrgTree& tree, const msg::Message& m) {
  json from{{"kind", msg::FromKindName(m.from.kind)}, {"name", m.from.name}};
  if (m.from.unit.valid()) from["unit"] = UnitJson(tree, m.from.unit);
  if (m.from.account.valid()) from["account"] = m.from.account.value();
  json j{{"id", m.id.value()},
         {"author", m.author.value()},
         {"scope", UnitJson(tree, m.scope)},
         {"from", from},
         {"kind", msg::KindName(m.kind)},
         {"audience", json::parse(segment::SegmentToJson(m.audience, tree), nullptr, false)},
         {"subject", m.subject},
         {"text_body", m.text_body},
         {"html_body", m.html_body},
         {"version", m.version},
         {"content_hash", m.content_hash},
         {"state", msg::StateName(m.state)},
         {"created_at", FormatTimestamp(m.created_at)},
         {"updated_at", FormatTimestamp(m.updated_at)}};
  if (m.sent_by.valid()) {
    j["sent_by"] = m.sent_by.value();
    j["sent_role"] = m.sent_role;
  }
  if (m.queued_at) j["queued_at"] = FormatTimestamp(m.queued_at);
  if (m.completed_at) j["completed_at"] = FormatTimestamp(m.completed_at);
  if (m.state != msg::State::kDraft) j["recipients"] = m.recipients;
  json approvals = json::array();
  if (auto a = msg::CurrentApprovals(tx, m)) {
    for (const auto& x : *a) approvals.push_back(ApprovalJson(x));
  }
  j["approvals"] = approvals;
  return j;
}

json RequirementsJson(const msg::Requirements& r) {
  return {{"on_behalf_approval", r.on_behalf},
          {"second_approval", r.second},
          {"second_approval_reason", r.second_reason},
          {"recipients", r.recipients}};
}

json ChecksJson(const std::vector<msg::RuleCheck>& checks) {
  json out = json::array();
  for (const auto& c : checks) {
    out.push_back({{"rule", c.rule}, {"passed", c.passed}, {"detail", c.detail}});
  }
  return out;
}

json PreviewJson(const msg::Preview& p) {
  json out{{"sample_recipient",
            {{"first_name", p.sample_first_name}, {"unit_name", p.sample_unit_name}}},
           {"from_name", p.from_name},
           {"subject", p.subject},
           {"text", p.text}};
  if (!p.html.empty()) out["html"] = p.html;
  return out;
}

// A whole number query parameter from `low` to `high`, `fallback` when absent.
Result<int> IntParam(const HttpRequest& req, const char* key, int fallback, int low, int high) {
  const std::string v = QueryParam(req, key);
  if (v.empty()) return fallback;
  const std::string range = std::string(key) + ": a whole number from " + std::to_string(low) +
                            " to " + std::to_string(high);
  if (v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(range);
  }
  const int n = std::stoi(v);
  if (n < low || n > high) return Status::InvalidArgument(range);
  return n;
}

// Display names of accounts (never of members), each read once per answer.
class AccountNames {
 public:
  explicit AccountNames(store::Tx& tx) : tx_(tx) {}
  Result<std::string> operator()(AccountId id) {
    auto it = names_.find(id.value());
    if (it != names_.end()) return it->second;
    SB_ASSIGN_OR_RETURN(access::Account a, access::GetAccount(tx_, id));
    return names_.emplace(id.value(), a.display_name).first->second;
  }

 private:
  store::Tx& tx_;
  std::map<std::int64_t, std::string> names_;
};

// The most messages GET /api/v1/messages lists, newest first.
constexpr int kMessageListMax = 100;

Result<int> VersionField(const json& j) {
  if (!j.contains("version") || !j["version"].is_number_integer()) {
    return Status::InvalidArgument(
        "missing field \"version\": name the version you read, so you approve or send exactly it");
  }
  return j["version"].get<int>();
}

}  // namespace

void Api::AddMessageHandlers() {
  handlers_["messages.list"] = [this](const ApiCall& c) { return ListMessages(c); };
  handlers_["messages.create"] = [this](const ApiCall& c) { return CreateMessage(c); };
  handlers_["messages.count"] = [this](const ApiCall& c) { return CountMessageAudience(c); };
  handlers_["messages.get"] = [this](const ApiCall& c) { return GetMessage(c); };
  handlers_["messages.update"] = [this](const ApiCall& c) { return UpdateMessage(c); };
  handlers_["messages.preview"] = [this](const ApiCall& c) { return PreviewMessage(c); };
  handlers_["messages.approve"] = [this](const ApiCall& c) { return ApproveMessage(c); };
  handlers_["messages.send"] = [this](const ApiCall& c) { return SendMessage(c); };
  handlers_["messages.cancel"] = [this](const ApiCall& c) { return CancelMessage(c); };
  handlers_["messages.report"] = [this](const ApiCall& c) { return MessageReport(c); };
  handlers_["me.approvals"] = [this](const ApiCall& c) { return MyApprovals(c); };
  handlers_["me.approve"] = [this](const ApiCall& c) { return ApproveInMyName(c); };
  handlers_["messages.speakers"] = [this](const ApiCall& c) { return MessageSpeakers(c); };
}

HttpResponse Api::ListMessages(const ApiCall& call) {
  // Besides the account's own messages, every message it could open: the
  // same decision GET /api/v1/messages/{id} asks for, over each message's
  // scope. The list carries no member data, only what a message's page
  // shows above its text.
  json out = json::array();
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        out = json::array();
        AccountNames names(tx);
        SB_ASSIGN_OR_RETURN(auto list, messaging_->Visible(tx, call.session->principal(),
                                                           FindApiRoute("messages.get")->capability,
                                                           call.now, kMessageListMax));
        for (const auto& m : list) {
          json from{{"kind", msg::FromKindName(m.from.kind)}, {"name", m.from.name}};
          if (m.from.account.valid()) from["account"] = m.from.account.value();
          json j{{"id", m.id.value()},
                 {"subject", m.subject},
                 {"kind", msg::KindName(m.kind)},
                 {"state", msg::StateName(m.state)},
                 {"version", m.version},
                 {"scope", UnitJson(*deps_.tree, m.scope)},
                 {"from", from},
                 {"author", m.author.value()},
                 {"updated_at", FormatTimestamp(m.updated_at)}};
          SB_ASSIGN_OR_RETURN(j["author_name"], names(m.author));
          if (m.sent_by.valid()) j["sent_by"] = m.sent_by.value();
          out.push_back(std::move(j));
        }
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"messages", out}});
      });
}

HttpResponse Api::CreateMessage(const ApiCall& call) {
  json out;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        msg::Message m;
        m.author = who.account;
        m.scope = call.target_unit;
        SB_RETURN_IF_ERROR(
            Guard([&] { return ReadMessageBody(call.body, tx, *deps_.tree, true, m); }));
        SB_RETURN_IF_ERROR(messaging_->Draft(tx, who, m));
        out = MessageJson(tx, *deps_.tree, m);
        SB_ASSIGN_OR_RETURN(auto req, messaging_->RequirementsOf(tx, who, m));
        out["requirements"] = RequirementsJson(req);
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(201, {{"message", out}});
      });
}

HttpResponse Api::CountMessageAudience(const ApiCall& call) {
  msg::Message m;
  std::int64_t n = 0;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        m.scope = call.target_unit;
        json j = call.body;
        if (!j.contains("kind")) j["kind"] = "campaign";
        if (!j.contains("subject")) j["subject"] = "-";
        if (!j.contains("text_body")) j["text_body"] = "-";
        SB_RETURN_IF_ERROR(Guard([&] { return ReadMessageBody(j, tx, *deps_.tree, true, m); }));
        SB_ASSIGN_OR_RETURN(n, msg::CountRecipients(tx, *deps_.tree, m.audience, m.kind));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"recipients", n},
                          {"kind", msg::KindName(m.kind)},
                          {"note",
                           "members with the consent this kind needs, not suppressed, with a "
                           "valid address; canaries excluded"}});
      });
}

HttpResponse Api::GetMessage(const ApiCall& call) {
  json out;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(msg::Message m, msg::GetMessage(tx, *deps_.tree, MessageOf(call)));
        out = MessageJson(tx, *deps_.tree, m);
        if (m.state == msg::State::kDraft) {
          SB_ASSIGN_OR_RETURN(auto req, messaging_->RequirementsOf(tx, who, m));
          out["requirements"] = RequirementsJson(req);
        }
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"message", out}});
      });
}

HttpResponse Api::UpdateMessage(const ApiCall& call) {
  json out;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        msg::Message m;
        auto edit = [&](msg::Message& x) {
          return Guard([&] { return ReadMessageBody(call.body, tx, *deps_.tree, false, x); });
        };
        SB_RETURN_IF_ERROR(messaging_->Edit(tx, who, MessageOf(call), edit, m));
        out = MessageJson(tx, *deps_.tree, m);
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"message", out}});
      });
}

HttpResponse Api::PreviewMessage(const ApiCall& call) {
  msg::Preview p;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(p,
                            messaging_->PreviewAs(tx, who, MessageOf(call), deps_.public_base_url,
                                                  deps_.organisation_name));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"preview", PreviewJson(p)}});
      });
}

HttpResponse Api::ApproveMessage(const ApiCall& call) {
  json out;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(int version, VersionField(call.body));
        SB_RETURN_IF_ERROR(messaging_->ApproveSecond(tx, who, MessageOf(call), version));
        SB_ASSIGN_OR_RETURN(msg::Message m, msg::GetMessage(tx, *deps_.tree, MessageOf(call)));
        out = MessageJson(tx, *deps_.tree, m);
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"message", out}});
      });
}

HttpResponse Api::SendMessage(const ApiCall& call) {
  msg::SendResult result;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(int version, VersionField(call.body));
        SB_ASSIGN_OR_RETURN(result, messaging_->SendAs(tx, who, MessageOf(call), version));
        return Status::Ok();
      },
      [&](const Status&) {
        if (!result.sent) {
          std::string why;
          for (const auto& c : result.checks) {
            if (!c.passed) why += (why.empty() ? "" : "; ") + c.detail;
          }
          return Json(409, {{"error",
                             {{"code", "checks_failed"},
                              {"message", "not sent: " + why},
                              {"checks", ChecksJson(result.checks)},
                              {"request_id", call.req.request_id}}}});
        }
        if (deps_.on_message_queued) deps_.on_message_queued();
        return Json(202, {{"queued", result.recipients}, {"checks", ChecksJson(result.checks)}});
      });
}

HttpResponse Api::CancelMessage(const ApiCall& call) {
  std::int64_t n = 0;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(n, messaging_->CancelAs(tx, who, MessageOf(call)));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"cancelled", n}});
      });
}

HttpResponse Api::MessageReport(const ApiCall& call) {
  json out;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        SB_ASSIGN_OR_RETURN(msg::Message m, msg::GetMessage(tx, *deps_.tree, MessageOf(call)));
        SB_ASSIGN_OR_RETURN(msg::Report r, msg::MessageReport(tx, m));
        json approvals = json::array();
        for (const auto& a : r.approvals) approvals.push_back(ApprovalJson(a));
        out = {{"message", m.id.value()},
               {"state", msg::StateName(m.state)},
               {"version", m.version},
               {"drafted_by", {{"account", m.author.value()}, {"name", r.author_name}}},
               {"counts",
                {{"recipients", r.recipients},
                 {"queued", r.queued},
                 {"handed", r.handed},
                 {"sent", r.sent},
                 {"deferred", r.deferred},
                 {"failed", r.failed},
                 {"bounced", r.bounced},
                 {"suppressed", r.suppressed},
                 {"cancelled", r.cancelled},
                 {"unsubscribed", r.unsubscribed}}},
               {"approvals", approvals},
               {"checks", ChecksJson(r.checks)}};
        if (m.sent_by.valid()) {
          out["sent_by"] = {
              {"account", m.sent_by.value()}, {"name", r.sender_name}, {"role", m.sent_role}};
          out["queued_at"] = FormatTimestamp(m.queued_at);
        }
        if (m.completed_at) out["completed_at"] = FormatTimestamp(m.completed_at);
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"report", out}});
      });
}

HttpResponse Api::MyApprovals(const ApiCall& call) {
  json out = json::array();
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        out = json::array();
        AccountNames names(tx);
        SB_ASSIGN_OR_RETURN(auto list, msg::AwaitingOnBehalf(tx, *deps_.tree, who.account));
        for (const auto& m : list) {
          json j = MessageJson(tx, *deps_.tree, m);
          // Who drafted it (an account, not a member), so the person it
          // speaks for knows whom to ask about it.
          SB_ASSIGN_OR_RETURN(j["author_name"], names(m.author));
          bool approved = false;
          for (const auto& a : j["approvals"]) {
            approved =
                approved || (a["kind"] == "on_behalf" && a["account"] == who.account.value());
          }
          j["approved_by_you"] = approved;
          // As a sample member would get it: the person named sees what goes
          // out in their name, with no grant of their own.
          SB_ASSIGN_OR_RETURN(msg::Preview p,
                              messaging_->PreviewInOwnName(tx, who, m, deps_.public_base_url,
                                                           deps_.organisation_name));
          j["preview"] = PreviewJson(p);
          out.push_back(j);
        }
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"messages", out}});
      });
}

HttpResponse Api::ApproveInMyName(const ApiCall& call) {
  int version = 0;
  Status failed = Status::Ok();
  access::Decision refused;  // a contest rule's refusal, recorded with it
  HttpResponse r = Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::int64_t id, ParseId(call.req.params.at("id"), "the message id"));
        SB_ASSIGN_OR_RETURN(version, VersionField(call.body));
        refused = {};
        failed = messaging_->ApproveInOwnName(tx, who, msg::MessageId(id), version, &refused);
        return failed;
      },
      [&](const Status&) {
        if (!refused.rule.empty()) {
          return Json(403, {{"error",
                             {{"code", "denied"},
                              {"message", refused.deny_reason},
                              {"rule", refused.rule},
                              {"request_id", call.req.request_id}}}});
        }
        return Json(200, {{"approved", true}, {"version", version}});
      });
  if (failed.code() == StatusCode::kNotFound) return RefuseNotFound(call, failed.message());
  return r;
}

}  // namespace switchboard::server

namespace switchboard::server {

HttpResponse Api::MessageSpeakers(const ApiCall& call) {
  msg::SpeakerPage page;
  int limit = 0, offset = 0;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(limit, IntParam(call.req, "limit", 10, 1, msg::kSpeakersPageMax));
        SB_ASSIGN_OR_RETURN(offset, IntParam(call.req, "offset", 0, 0, msg::kSpeakersOffsetMax));
        SB_ASSIGN_OR_RETURN(page, messaging_->Speakers(tx, who, call.target_unit,
                                                       QueryParam(call.req, "q"), limit, offset));
        return Status::Ok();
      },
      [&](const Status&) {
        json list = json::array();
        for (const auto& sp : page.speakers) {
          list.push_back({{"account", sp.account.value()}, {"name", sp.name}});
        }
        json out{{"speakers", list}, {"offset", offset}, {"limit", limit}};
        if (page.more) out["next_offset"] = offset + limit;
        return Json(200, out);
      });
}

}  // namespace switchboard::server
