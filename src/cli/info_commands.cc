#include "cli/info_commands.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "server/app.h"
#include "server/routes.h"
#include "server/status.h"

namespace switchboard::cli {
namespace {

class PolicyCommands final : public Command {
 public:
  explicit PolicyCommands(CLI::App& app) {
    auto* policy = app.add_subcommand("policy", "Check the access policy file");
    policy->require_subcommand(1);
    check_ = policy->add_subcommand(
        "check",
        "Validate a policy file (default: the data directory's policy.toml) and list its roles");
    AddCommon(check_, &c_);
    check_->add_option("FILE", file_, "Policy file to check");
  }

  std::optional<int> Run(OpenedApps&) override {
    if (!check_->parsed()) return std::nullopt;
    const std::string path = file_.empty() ? c_.data_dir + "/policy.toml" : file_;
    auto policy = server::LoadPolicyFile(path);
    if (!policy) {
      std::fprintf(stderr, "switchboard: %s\n", policy.error().message().c_str());
      return kExitUsage;
    }
    std::printf("%s is valid (sha256 %s)\n", path.c_str(), policy->source_hash.c_str());
    for (const auto& [name, role] : policy->roles) {
      std::string caps, fields;
      for (const auto& c : role.capabilities) caps += (caps.empty() ? "" : ", ") + c;
      for (const auto& f : role.fields) fields += (fields.empty() ? "" : ", ") + f;
      std::printf("  %-20s %s, up to %d days\n    capabilities: %s\n    sees: %s\n", name.c_str(),
                  role.privileged ? "privileged (second approver, TOTP)" : "ordinary",
                  role.max_grant_days, caps.c_str(),
                  fields.empty() ? "no member fields" : fields.c_str());
    }
    return kExitOk;
  }

 private:
  CLI::App* check_;
  Common c_;
  std::string file_;
};

class ApiCommands final : public Command {
 public:
  explicit ApiCommands(CLI::App& app) {
    auto* api = app.add_subcommand("api", "Describe the HTTP API");
    api->require_subcommand(1);
    routes_ = api->add_subcommand(
        "routes", "List every route with who may call it (the source of docs/openapi.yaml)");
    routes_->add_flag("--json", json_, "Print as JSON");
  }

  std::optional<int> Run(OpenedApps&) override {
    if (!routes_->parsed()) return std::nullopt;
    nlohmann::json out = nlohmann::json::array();
    auto add = [&](const server::ApiRoute& r) {
      const char* auth = r.auth == server::RouteAuth::kPublic    ? "public"
                         : r.auth == server::RouteAuth::kSession ? "session"
                                                                 : "capability";
      out.push_back({{"id", r.id},
                     {"method", r.method},
                     {"path", r.path},
                     {"auth", auth},
                     {"capability", r.capability},
                     {"summary", r.summary}});
      if (!r.also.empty()) out.back()["also"] = r.also;
      if (!json_) {
        std::printf("%-7s %-40s %-10s %s\n", std::string(r.method).c_str(),
                    std::string(r.path).c_str(), auth, std::string(r.capability).c_str());
      }
    };
    for (const auto& r : server::kHealthRoutes) add(r);
    for (const auto& r : server::kApiRoutes) add(r);
    if (json_) std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }

 private:
  CLI::App* routes_;
  bool json_ = false;
};

class StatusCommand final : public Command {
 public:
  explicit StatusCommand(CLI::App& app) {
    status_ = app.add_subcommand(
        "status", "Show what a data directory holds: store, schema, counts, audit, queues, alerts");
    AddCommon(status_, &c_);
    status_->add_flag("--json", json_, "Print as JSON");
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (!status_->parsed()) return std::nullopt;
    auto a = opened.Open(c_.data_dir, c_.store);
    if (!a) return ExitFor(a.error());
    auto report = server::CollectStatus(**a);
    if (!report) return ExitFor(report.error());
    const nlohmann::json j = server::StatusJson(*report);
    if (json_) {
      std::printf("%s\n", j.dump(2).c_str());
      return kExitOk;
    }
    std::printf("store: %s (%s, schema %d)\n", report->store.c_str(), report->store_kind.c_str(),
                report->schema_version);
    std::printf("units: %lld\nmembers: %lld (%lld canaries)\ncontact points: %lld\n",
                static_cast<long long>(report->register_counts.units),
                static_cast<long long>(report->register_counts.members),
                static_cast<long long>(report->register_counts.canaries),
                static_cast<long long>(report->register_counts.contact_points));
    const auto& audit = j["audit"];
    std::printf("audit log: %lld events, %lld under a signed checkpoint",
                static_cast<long long>(report->audit_events),
                static_cast<long long>(report->audit_checkpointed));
    if (report->last_checkpoint) {
      std::printf("; last checkpoint %s (%lld s ago)\n",
                  audit["last_checkpoint"]["at"].get<std::string>().c_str(),
                  audit["last_checkpoint"]["age_seconds"].get<long long>());
    } else {
      std::printf("; no checkpoint yet\n");
    }
    const auto& outbox = j["outbox"];
    std::printf(
        "outbox: %lld to deliver (%lld queued, %lld handed to the relay, %lld deferred); "
        "%lld sent, %lld failed, %lld suppressed, %lld cancelled\n",
        outbox["pending"].get<long long>(), outbox["queued"].get<long long>(),
        outbox["handed"].get<long long>(), outbox["deferred"].get<long long>(),
        outbox["sent"].get<long long>(), outbox["failed"].get<long long>(),
        outbox["suppressed"].get<long long>(), outbox["cancelled"].get<long long>());
    std::printf("alerts: %lld open", j["alerts"]["open"].get<long long>());
    for (const access::AlertCount& al : report->alerts) {
      std::printf("%s %s %lld/%lld",
                  &al == &report->alerts.front() ? " (open/raised by rule:" : ",", al.rule.c_str(),
                  static_cast<long long>(al.open), static_cast<long long>(al.raised));
    }
    std::printf("%s\n", report->alerts.empty() ? "" : ")");
    return kExitOk;
  }

 private:
  CLI::App* status_;
  Common c_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> AddPolicyCommands(CLI::App& app) {
  return std::make_unique<PolicyCommands>(app);
}
std::unique_ptr<Command> AddStatusCommand(CLI::App& app) {
  return std::make_unique<StatusCommand>(app);
}
std::unique_ptr<Command> AddApiCommands(CLI::App& app) {
  return std::make_unique<ApiCommands>(app);
}

}  // namespace switchboard::cli
