#include "cli/telephony_commands.h"

#include <cstdio>

#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "server/app.h"
#include "server/telephony.h"

namespace switchboard::cli {
namespace {

class TelephonyCommands final : public Command {
 public:
  explicit TelephonyCommands(CLI::App& app) {
    auto* tel = app.add_subcommand("telephony", "The phone bank's SIP trunk");
    tel->require_subcommand(1);
    check_ = tel->add_subcommand(
        "check",
        "Send OPTIONS (and REGISTER if [telephony] register) to the trunk and say what "
        "answered");
    check_->add_option("--timeout", timeout_seconds_, "Seconds to wait for the trunk")
        ->check(CLI::Range(1, 120));
    AddCommon(check_, &c_);
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (!check_->parsed()) return std::nullopt;
    auto a = opened.Open(c_.data_dir, c_.store);
    if (!a) return ExitFor(a.error());
    const TelephonyConfig& tc = (*a)->config().telephony;
    if (tc.trunk_uri.empty()) {
      std::fprintf(stderr, "error: [telephony] trunk_uri is not set in switchboard.toml\n");
      return kExitUsage;
    }
    auto options = server::EngineOptionsFor(**a);
    if (!options) return ExitFor(options.error());
    // Any free local port: a running serve may hold the configured one.
    options->listen_port = 0;
    auto engine = telephony::Engine::Start(*options, nullptr);
    if (!engine) return ExitFor(engine.error());
    std::printf("trunk:     %s over %s (from %s)\n", tc.trunk_uri.c_str(), tc.transport.c_str(),
                (*engine)->local_address().c_str());
    auto found = (*engine)->Probe(tc.register_with_trunk, timeout_seconds_ * 1000);
    if (!found) return ExitFor(found.error());
    if (found->options_status > 0) {
      std::printf("OPTIONS:   %d %s\n", found->options_status, found->options_reason.c_str());
    } else {
      std::printf("OPTIONS:   no answer within %d s\n", timeout_seconds_);
    }
    if (!found->server.empty()) std::printf("server:    %s\n", found->server.c_str());
    if (tc.register_with_trunk) {
      if (found->register_status > 0) {
        std::printf("REGISTER:  %d %s\n", found->register_status, found->register_reason.c_str());
      } else {
        std::printf("REGISTER:  no answer (%s)\n",
                    found->register_reason.empty() ? "timed out" : found->register_reason.c_str());
      }
    }
    // Any answer to OPTIONS means the trunk is there (405 and 403 included);
    // a registration must succeed.
    const bool reached = found->options_status > 0;
    const bool registered =
        !tc.register_with_trunk || (found->register_status >= 200 && found->register_status < 300);
    return reached && registered ? kExitOk : kExitRuntime;
  }

 private:
  CLI::App* check_;
  Common c_;
  int timeout_seconds_ = 5;
};

}  // namespace

std::unique_ptr<Command> AddTelephonyCommands(CLI::App& app) {
  return std::make_unique<TelephonyCommands>(app);
}

}  // namespace switchboard::cli
