#include "cli/info_commands.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"
#include "server/app.h"
#include "server/routes.h"

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

}  // namespace

std::unique_ptr<Command> AddPolicyCommands(CLI::App& app) {
  return std::make_unique<PolicyCommands>(app);
}
std::unique_ptr<Command> AddApiCommands(CLI::App& app) {
  return std::make_unique<ApiCommands>(app);
}

}  // namespace switchboard::cli
