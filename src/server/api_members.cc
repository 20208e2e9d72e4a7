// Member routes: search, one member, one member's contact points. Each is
// one read through access/guard/reads.h, which records it and feeds the
// anomaly rules in the request's transaction.
#include <nlohmann/json.hpp>

#include "access/guard/reads.h"
#include "server/api.h"
#include "server/api_internal.h"

namespace switchboard::server {

using json = nlohmann::json;
using namespace api_internal;  // NOLINT(build/namespaces)

void Api::AddMemberHandlers() {
  handlers_["members.search"] = [this](const ApiCall& c) { return SearchMembers(c); };
  handlers_["members.view"] = [this](const ApiCall& c) { return ViewMember(c); };
  handlers_["members.contact"] = [this](const ApiCall& c) { return ViewContact(c); };
}

HttpResponse Api::SearchMembers(const ApiCall& call) {
  access::SearchPage page;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        access::SearchQuery q;
        q.unit = call.target_unit;
        q.name_prefix = QueryParam(call.req, "q");
        q.status = QueryParam(call.req, "status");
        q.page_size = deps_.policy->search_page_max;
        if (auto p = QueryParam(call.req, "page"); !p.empty()) {
          SB_ASSIGN_OR_RETURN(std::int64_t v, ParseId(p, "page"));
          q.page = static_cast<int>(std::min<std::int64_t>(v, 1'000'000));
        }
        if (auto p = QueryParam(call.req, "page_size"); !p.empty()) {
          SB_ASSIGN_OR_RETURN(std::int64_t v, ParseId(p, "page_size"));
          q.page_size = static_cast<int>(std::min<std::int64_t>(v, 1'000'000));
        }
        SB_ASSIGN_OR_RETURN(page, access::SearchRegister(tx, *deps_.policy, *deps_.tree, who, q));
        return Status::Ok();
      },
      [&](const Status&) {
        json members = json::array();
        for (const auto& m : page.members) members.push_back(MemberJson(m));
        return Json(200, {{"members", members},
                          {"page", page.page},
                          {"page_size", page.page_size},
                          {"more", page.more}});
      });
}

HttpResponse Api::ViewMember(const ApiCall& call) {
  access::MemberView view;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(
            view, access::ReadMember(tx, *deps_.policy, *deps_.tree, who, call.target_member));
        return Status::Ok();
      },
      [&](const Status&) { return Json(200, MemberJson(view)); });
}

HttpResponse Api::ViewContact(const ApiCall& call) {
  access::ContactView view;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(
            view, access::ReadContact(tx, *deps_.policy, *deps_.sealer, who, call.target_member));
        return Status::Ok();
      },
      [&](const Status&) {
        json points = json::array();
        for (const auto& p : view.points) {
          points.push_back(
              {{"kind", p.kind}, {"label", p.label}, {"value", p.value}, {"valid", p.valid}});
        }
        return Json(
            200, {{"id", view.id.value()}, {"contacts", points}, {"field_classes", {"contact"}}});
      });
}

}  // namespace switchboard::server
