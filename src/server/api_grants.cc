// Grant and account routes. AccessService (access/store/access_service.h)
// decides each change again inside its own transaction (grant rules, second
// approvals, second factors) and records it; the gate here is the request
// path's decision and refusal record.
#include <nlohmann/json.hpp>

#include "access/store/access_store.h"
#include "server/api.h"
#include "server/api_internal.h"

namespace switchboard::server {

using json = nlohmann::json;
using namespace api_internal;  // NOLINT(build/namespaces)

void Api::AddGrantHandlers() {
  using S = access::AccountState;
  handlers_["grants.list"] = [this](const ApiCall& c) { return ListGrants(c); };
  handlers_["grants.add"] = [this](const ApiCall& c) { return AddGrant(c); };
  handlers_["grants.approve"] = [this](const ApiCall& c) { return ApproveGrant(c); };
  handlers_["grants.revoke"] = [this](const ApiCall& c) { return RevokeGrant(c); };
  handlers_["accounts.list"] = [this](const ApiCall& c) { return ListAccounts(c); };
  handlers_["accounts.suspend"] = [this](const ApiCall& c) {
    return SetAccountState(c, S::kSuspended);
  };
  handlers_["accounts.reinstate"] = [this](const ApiCall& c) {
    return SetAccountState(c, S::kActive);
  };
}

HttpResponse Api::ListGrants(const ApiCall& call) {
  std::vector<access::Grant> grants;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        access::GrantFilter f;
        if (auto a = QueryParam(call.req, "account"); !a.empty()) {
          SB_ASSIGN_OR_RETURN(std::int64_t id, ParseId(a, "account"));
          f.account = AccountId(id);
        }
        f.include_ended = QueryParam(call.req, "include_ended") == "true";
        SB_ASSIGN_OR_RETURN(grants, access::ListGrants(tx, f, call.now));
        return Status::Ok();
      },
      [&](const Status&) {
        json out = json::array();
        for (const auto& g : grants) out.push_back(GrantJson(*deps_.tree, g, call.now));
        return Json(200, {{"grants", out}});
      });
}

HttpResponse Api::AddGrant(const ApiCall& call) {
  access::GrantRequest g;
  g.scope = call.target_unit;
  // The request is read after the gate, so a refused caller learns nothing
  // about the accounts named.
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        const json& body = call.body;
        SB_ASSIGN_OR_RETURN(std::string account, StringField(body, "account", true, 64));
        SB_ASSIGN_OR_RETURN(g.role, StringField(body, "role", true, 64));
        SB_ASSIGN_OR_RETURN(g.purpose, StringField(body, "purpose", true, 500));
        SB_ASSIGN_OR_RETURN(g.reason, StringField(body, "reason", true, 500));
        SB_ASSIGN_OR_RETURN(std::string from, StringField(body, "not_before", false, 40));
        SB_ASSIGN_OR_RETURN(std::string until, StringField(body, "not_after", true, 40));
        auto nb = ParseTimeOrOffset(from.empty() ? "now" : from, call.now);
        if (!nb) return nb.error().WithContext("not_before");
        auto na = ParseTimeOrOffset(until, call.now);
        if (!na) return na.error().WithContext("not_after");
        g.not_before = *nb;
        g.not_after = *na;
        Status found = [&]() -> Status {
          if (auto id = ParseId(account, "account")) {
            SB_RETURN_IF_ERROR(access::GetAccount(tx, AccountId(*id)).status());
            g.account = AccountId(*id);
            return Status::Ok();
          }
          SB_ASSIGN_OR_RETURN(access::Account a, access::FindAccount(tx, account));
          g.account = a.id;
          return Status::Ok();
        }();
        if (found.code() == StatusCode::kNotFound || found.code() == StatusCode::kInvalidArgument) {
          return Status::InvalidArgument("no account has that id or login");
        }
        return found;
      },
      [&](const Status&) {
        auto id = access_->AddGrant(call.session->session.account,
                                    call.session->session.second_factor, g);
        if (!id) return StatusResponse(id.error(), call.req.request_id);
        access::Grant stored;
        Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
          SB_ASSIGN_OR_RETURN(stored, access::GetGrant(tx, *id));
          return Status::Ok();
        });
        if (!st.ok()) return StatusResponse(st, call.req.request_id);
        return Json(201, {{"grant", GrantJson(*deps_.tree, stored, call.now)},
                          {"pending", !stored.approved}});
      });
}

HttpResponse Api::ApproveGrant(const ApiCall& call) {
  const access::GrantId id(call.target_id);
  return Act(call, TxKind::kRead, nullptr, [&](const Status&) {
    Status st =
        access_->Approve(call.session->session.account, call.session->session.second_factor, id);
    if (!st.ok()) return StatusResponse(st, call.req.request_id);
    return Json(200, {{"status", "approved"}, {"grant", id.value()}});
  });
}

HttpResponse Api::RevokeGrant(const ApiCall& call) {
  const access::GrantId id(call.target_id);
  return Act(call, TxKind::kRead, nullptr, [&](const Status&) {
    auto reason = StringField(call.body, "reason", true, 500);
    if (!reason) return StatusResponse(reason.error(), call.req.request_id);
    Status st = access_->Revoke(call.session->session.account, call.session->session.second_factor,
                                id, *reason);
    if (!st.ok()) return StatusResponse(st, call.req.request_id);
    return Json(200, {{"status", "revoked"}, {"grant", id.value()}});
  });
}

HttpResponse Api::ListAccounts(const ApiCall& call) {
  std::vector<access::Account> accounts;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        SB_ASSIGN_OR_RETURN(accounts, access::ListAccounts(tx));
        return Status::Ok();
      },
      [&](const Status&) {
        json out = json::array();
        for (const auto& a : accounts) {
          out.push_back({{"id", a.id.value()},
                         {"login", a.login},
                         {"display_name", a.display_name},
                         {"staff", a.staff},
                         {"state", access::AccountStateName(a.state)},
                         {"created_at", FormatTimestamp(a.created_at)}});
        }
        return Json(200, {{"accounts", out}});
      });
}

HttpResponse Api::SetAccountState(const ApiCall& call, access::AccountState state) {
  return Act(call, TxKind::kRead, nullptr, [&, state](const Status&) {
    auto id = ParseId(call.req.params.at("id"), "the account id");
    if (!id) return StatusResponse(id.error(), call.req.request_id);
    auto reason = StringField(call.body, "reason", true, 500);
    if (!reason) return StatusResponse(reason.error(), call.req.request_id);
    Status st =
        access_->SetStateAs(call.session->session.account, call.session->session.second_factor,
                            AccountId(*id), state, *reason, call.req.request_id);
    if (!st.ok()) return StatusResponse(st, call.req.request_id);
    return Json(200, {{"account", *id}, {"state", access::AccountStateName(state)}});
  });
}

}  // namespace switchboard::server
