// The DPO console's overviews (audit.read): who can see what now, and charts
// of member-data reads per day (by role) and of alerts per day, drawn as SVG
// like the phone bank's results (server/svg_chart.h).
#include <map>
#include <nlohmann/json.hpp>

#include "access/guard/anomaly.h"
#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "server/api.h"
#include "server/api_internal.h"
#include "server/svg_chart.h"

namespace switchboard::server {

using json = nlohmann::json;
using namespace api_internal;  // NOLINT(build/namespaces)

namespace {

constexpr int kChartDays = 30;
constexpr Micros kExpiringSoon = 14 * kMicrosPerDay;

std::int64_t DayOf(Micros t) { return t / kMicrosPerDay; }

// One bar per day of the last kChartDays days, oldest first.
std::vector<ChartBar> Days(std::int64_t today, const std::map<std::int64_t, std::int64_t>& n) {
  std::vector<ChartBar> bars;
  for (std::int64_t d = today - kChartDays + 1; d <= today; ++d) {
    auto it = n.find(d);
    ChartBar b;
    b.label = FormatDate(d).substr(5);
    b.value = it == n.end() ? 0 : it->second;
    b.tooltip = FormatDate(d) + ": " + std::to_string(b.value);
    bars.push_back(std::move(b));
  }
  return bars;
}

std::int64_t Sum(const std::map<std::int64_t, std::int64_t>& n) {
  std::int64_t s = 0;
  for (const auto& [k, v] : n) s += v;
  return s;
}

}  // namespace

void Api::AddDpoHandlers() {
  handlers_["access.overview"] = [this](const ApiCall& call) {
    std::vector<access::Grant> grants;
    std::map<std::int64_t, access::Account> accounts;
    return Act(
        call, TxKind::kRead,
        [&](store::Tx& tx, const access::Acting&) -> Status {
          SB_ASSIGN_OR_RETURN(grants, access::ListGrants(tx, {AccountId(), false}, call.now));
          SB_ASSIGN_OR_RETURN(auto list, access::ListAccounts(tx));
          for (auto& a : list) accounts.emplace(a.id.value(), std::move(a));
          return Status::Ok();
        },
        [&](const Status&) {
          json out = json::array();
          auto who = [&](AccountId id) -> json {
            auto it = accounts.find(id.value());
            if (it == accounts.end()) return {{"id", id.value()}};
            return {{"id", id.value()},
                    {"login", it->second.login},
                    {"display_name", it->second.display_name},
                    {"state", access::AccountStateName(it->second.state)}};
          };
          for (const auto& g : grants) {
            if (!access::GrantInForce(g, call.now)) continue;
            json j = GrantJson(*deps_.tree, g, call.now);
            j["holder"] = who(g.account);
            if (g.granted_by.valid()) j["granter"] = who(g.granted_by);
            if (const access::Role* role = deps_.policy->FindRole(g.role)) {
              j["field_classes"] = Classes(role->fields);
              j["capabilities"] =
                  std::vector<std::string>(role->capabilities.begin(), role->capabilities.end());
              j["privileged"] = role->privileged;
            }
            const Micros end =
                g.source_end != 0 && g.source_end < g.not_after ? g.source_end : g.not_after;
            j["ends_at"] = FormatTimestamp(end);
            j["expiring_soon"] = end - call.now <= kExpiringSoon;
            out.push_back(std::move(j));
          }
          return Json(200, {{"grants", out}, {"now", FormatTimestamp(call.now)}});
        });
  };
  handlers_["audit.charts"] = [this](const ApiCall& call) {
    BarChart chart;
    Status failed = Status::Ok();
    const std::string name = call.req.params.at("chart");
    HttpResponse resp = Act(
        call, TxKind::kRead,
        [&](store::Tx& tx, const access::Acting&) -> Status {
          const std::int64_t today = DayOf(call.now);
          const Micros from = (today - kChartDays + 1) * kMicrosPerDay;
          if (name == "reads-per-day" || name == "reads-by-role") {
            SB_ASSIGN_OR_RETURN(auto reads, audit::AuditLog::ReadsByDay(tx, from, call.now + 1));
            if (name == "reads-per-day") {
              std::map<std::int64_t, std::int64_t> n;
              for (const auto& r : reads) n[r.day] += r.records;
              chart.id = "reads-per-day";
              chart.title = "Member records read per day";
              chart.over_time = true;
              chart.bars = Days(today, n);
              chart.description = std::to_string(Sum(n)) +
                                  " member records shown in searches, member pages, contact "
                                  "details and phone-bank contacts over the last 30 days (UTC).";
              return Status::Ok();
            }
            SB_ASSIGN_OR_RETURN(auto all, access::ListGrants(tx, {AccountId(), true}, call.now));
            std::map<std::int64_t, std::string> role_of;
            for (const auto& g : all) role_of[g.id.value()] = g.role;
            std::map<std::string, std::int64_t> by_role;
            for (const auto& r : reads) {
              auto it = role_of.find(r.grant);
              by_role[it == role_of.end() ? std::string("no grant (system)") : it->second] +=
                  r.records;
            }
            chart.id = "reads-by-role";
            chart.title = "Member records read by role, last 30 days";
            std::string desc;
            for (const auto& [role, n] : by_role) {
              chart.bars.push_back({role, n, "", role + ": " + std::to_string(n)});
              desc += (desc.empty() ? "" : ", ") + role + " " + std::to_string(n);
            }
            chart.description = by_role.empty() ? "No member records were read in the last 30 days."
                                                : "Records read by role: " + desc + ".";
            return Status::Ok();
          }
          if (name == "alerts-per-day") {
            access::AlertFilter f;
            f.limit = 100000;
            SB_ASSIGN_OR_RETURN(auto alerts, access::ListAlerts(tx, f));
            std::map<std::int64_t, std::int64_t> n;
            for (const auto& a : alerts) {
              if (a.at >= from) ++n[DayOf(a.at)];
            }
            chart.id = "alerts-per-day";
            chart.title = "Alerts raised per day";
            chart.over_time = true;
            chart.bars = Days(today, n);
            chart.description =
                std::to_string(Sum(n)) + " alerts raised over the last 30 days (UTC).";
            return Status::Ok();
          }
          return failed = Status::NotFound(
                     "no such chart; reads-per-day, reads-by-role and alerts-per-day exist");
        },
        [&](const Status&) {
          HttpResponse out;
          out.content_type = "image/svg+xml; charset=utf-8";
          out.body = RenderSvg(chart);
          return out;
        });
    if (failed.code() == StatusCode::kNotFound) return RefuseNotFound(call, failed.message());
    return resp;
  };
}

}  // namespace switchboard::server
