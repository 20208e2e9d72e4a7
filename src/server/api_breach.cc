// The breach register's routes (privacy/breach.h), for accounts with
// privacy.breach: record, list, show with the 72-hour deadline and the
// drafts, edit, and compute the affected members from the audit log.
#include <nlohmann/json.hpp>

#include "privacy/breach.h"
#include "server/api.h"
#include "server/api_internal.h"

namespace switchboard::server {

using json = nlohmann::json;
using namespace api_internal;  // NOLINT(build/namespaces)

namespace {

std::string TimeOrNull(Micros t) { return t ? FormatTimestamp(t) : std::string(); }

json BreachJson(const privacy::Breach& b, Micros now) {
  json j{{"id", b.id.value()},
         {"status", b.status()},
         {"discovered_at", FormatTimestamp(b.discovered_at)},
         {"recorded_at", FormatTimestamp(b.recorded_at)},
         {"deadline", FormatTimestamp(b.deadline())},
         {"overdue", b.reported_at == 0 && now > b.deadline()},
         {"description", b.details.description},
         {"data_categories", b.details.data_categories},
         {"people_categories", b.details.people_categories},
         {"consequences", b.details.consequences},
         {"measures", b.details.measures},
         {"affected", b.affected},
         {"counts", b.counts}};
  if (b.reported_at == 0) j["deadline_text"] = privacy::DeadlineText(b, now);
  if (b.recorded_by.valid()) j["recorded_by"] = b.recorded_by.value();
  for (auto [k, v] :
       {std::pair{"reported_at", b.reported_at}, std::pair{"notified_at", b.notified_at},
        std::pair{"closed_at", b.closed_at}}) {
    if (v) j[k] = TimeOrNull(v);
  }
  if (b.scope) {
    j["scope"] = {{"kind", b.scope->kind},
                  {"id", b.scope->id},
                  {"from", FormatTimestamp(b.scope->from)},
                  {"to", FormatTimestamp(b.scope->to)},
                  {"computed_at", FormatTimestamp(b.computed_at)}};
  }
  return j;
}

Result<Micros> TimeField(const json& body, std::string_view key, Micros now, bool required) {
  SB_ASSIGN_OR_RETURN(std::string text, StringField(body, key, required, 40));
  auto t = ParseTimeOrOffset(text, now);
  if (!t) return t.error().WithContext(std::string(key));
  return *t;
}

Result<privacy::BreachDetails> Details(const json& body) {
  privacy::BreachDetails d;
  SB_ASSIGN_OR_RETURN(d.description, StringField(body, "description", true, 8000));
  SB_ASSIGN_OR_RETURN(d.data_categories, StringField(body, "data_categories", true, 2000));
  SB_ASSIGN_OR_RETURN(d.people_categories, StringField(body, "people_categories", true, 2000));
  SB_ASSIGN_OR_RETURN(d.consequences, StringField(body, "consequences", false, 8000));
  SB_ASSIGN_OR_RETURN(d.measures, StringField(body, "measures", false, 8000));
  return d;
}

}  // namespace

void Api::AddBreachHandlers() {
  handlers_["breaches.list"] = [this](const ApiCall& call) {
    std::vector<privacy::Breach> list;
    return Act(
        call, TxKind::kRead,
        [&](store::Tx& tx, const access::Acting&) -> Status {
          SB_ASSIGN_OR_RETURN(list, privacy::ListBreaches(tx));
          return Status::Ok();
        },
        [&](const Status&) {
          json out = json::array();
          for (const auto& b : list) out.push_back(BreachJson(b, call.now));
          return Json(200, {{"breaches", out}, {"now", FormatTimestamp(call.now)}});
        });
  };
  handlers_["breaches.create"] = [this](const ApiCall& call) {
    privacy::Breach b;
    return Act(
        call, TxKind::kWrite,
        [&](store::Tx& tx, const access::Acting& who) -> Status {
          SB_ASSIGN_OR_RETURN(privacy::BreachDetails d, Details(call.body));
          SB_ASSIGN_OR_RETURN(Micros at, TimeField(call.body, "discovered_at", call.now, true));
          SB_ASSIGN_OR_RETURN(privacy::BreachId id, privacy::RecordBreach(tx, who, d, at));
          SB_ASSIGN_OR_RETURN(b, privacy::GetBreach(tx, id));
          return Status::Ok();
        },
        [&](const Status&) {
          return Json(201, {{"breach", BreachJson(b, call.now)}});
        });
  };
  handlers_["breaches.get"] = [this](const ApiCall& call) {
    privacy::Breach b;
    return Act(
        call, TxKind::kRead,
        [&](store::Tx& tx, const access::Acting&) -> Status {
          SB_ASSIGN_OR_RETURN(std::int64_t id, ParseId(call.req.params.at("id"), "the breach id"));
          SB_ASSIGN_OR_RETURN(b, privacy::GetBreach(tx, privacy::BreachId(id)));
          return Status::Ok();
        },
        [&](const Status&) {
          const std::string& org = deps_.organisation_name;
          return Json(200, {{"breach", BreachJson(b, call.now)},
                            {"now", FormatTimestamp(call.now)},
                            {"drafts",
                             {{"regulator", privacy::DraftForRegulator(b, org, "")},
                              {"members", privacy::DraftForMembers(b, org, "")}}}});
        });
  };
  handlers_["breaches.update"] = [this](const ApiCall& call) {
    privacy::Breach b;
    return Act(
        call, TxKind::kWrite,
        [&](store::Tx& tx, const access::Acting& who) -> Status {
          SB_ASSIGN_OR_RETURN(std::int64_t id, ParseId(call.req.params.at("id"), "the breach id"));
          privacy::BreachUpdate u;
          for (auto [key, into] :
               {std::pair{"description", &u.description},
                std::pair{"data_categories", &u.data_categories},
                std::pair{"people_categories", &u.people_categories},
                std::pair{"consequences", &u.consequences}, std::pair{"measures", &u.measures}}) {
            if (!call.body.contains(key)) continue;
            SB_ASSIGN_OR_RETURN(*into, StringField(call.body, key, false, 8000));
          }
          for (auto [key, into] :
               {std::pair{"discovered_at", &u.discovered_at},
                std::pair{"reported_at", &u.reported_at}, std::pair{"notified_at", &u.notified_at},
                std::pair{"closed_at", &u.closed_at}}) {
            if (!call.body.contains(key)) continue;
            SB_ASSIGN_OR_RETURN(*into, TimeField(call.body, key, call.now, true));
          }
          SB_RETURN_IF_ERROR(privacy::UpdateBreach(tx, who, privacy::BreachId(id), u));
          SB_ASSIGN_OR_RETURN(b, privacy::GetBreach(tx, privacy::BreachId(id)));
          return Status::Ok();
        },
        [&](const Status&) {
          return Json(200, {{"breach", BreachJson(b, call.now)}});
        });
  };
  handlers_["breaches.affected"] = [this](const ApiCall& call) {
    privacy::Breach b;
    std::vector<audit::RevealedMember> members;
    return Act(
        call, TxKind::kWrite,
        [&](store::Tx& tx, const access::Acting& who) -> Status {
          SB_ASSIGN_OR_RETURN(std::int64_t id, ParseId(call.req.params.at("id"), "the breach id"));
          privacy::AffectedScope s;
          int given = 0;
          for (const char* k : {"account", "campaign", "export"}) {
            if (call.body.contains(k)) {
              s.kind = k;
              ++given;
            }
          }
          if (given != 1) {
            return Status::InvalidArgument("give one of \"account\", \"campaign\" or \"export\"");
          }
          const json& v = call.body[s.kind];
          if (!v.is_number_integer() || v.get<std::int64_t>() <= 0) {
            return Status::InvalidArgument("field \"" + s.kind + "\" must be a positive id");
          }
          s.id = v.get<std::int64_t>();
          // An export's file is its own window: no times.
          if (s.kind != "export") {
            SB_ASSIGN_OR_RETURN(s.from, TimeField(call.body, "from", call.now, true));
            SB_ASSIGN_OR_RETURN(s.to, TimeField(call.body, "to", call.now, true));
          }
          SB_ASSIGN_OR_RETURN(b, privacy::ComputeAffected(tx, who, privacy::BreachId(id), s));
          SB_ASSIGN_OR_RETURN(members, privacy::AffectedMembers(tx, b.id));
          return Status::Ok();
        },
        [&](const Status&) {
          json out = json::array();
          for (const auto& m : members) {
            out.push_back(
                {{"member", m.member}, {"field_classes", m.field_classes}, {"events", m.events}});
          }
          return Json(200, {{"breach", BreachJson(b, call.now)}, {"members", out}});
        });
  };
}

}  // namespace switchboard::server
