#include "cli/mail_commands.h"

#include <cstdio>

#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "server/app.h"
#include "server/mail_delivery.h"

namespace switchboard::cli {
namespace {

class MailCommands final : public Command {
 public:
  explicit MailCommands(CLI::App& app) {
    auto* mail = app.add_subcommand("mail", "Member e-mail delivery");
    mail->require_subcommand(1);
    deliver_ = mail->add_subcommand(
        "deliver", "Deliver every queued message now over [mail] relay (serve does this itself)");
    AddCommon(deliver_, &c_);
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (!deliver_->parsed()) return std::nullopt;
    auto a = opened.Open(c_.data_dir, c_.store);
    if (!a) return ExitFor(a.error());
    auto outbox = server::OutboxFor(**a);
    if (!outbox) return ExitFor(outbox.error());
    if (!*outbox) {
      std::fprintf(stderr, "error: [mail] relay is not set in switchboard.toml\n");
      return kExitUsage;
    }
    auto recovered = (*outbox)->Recover();
    if (!recovered) return ExitFor(recovered.error());
    auto st = (*outbox)->DeliverDue();
    if (!st) return ExitFor(st.error());
    std::printf("%lld sent, %lld deferred, %lld failed, %lld suppressed\n",
                static_cast<long long>(st->sent), static_cast<long long>(st->deferred),
                static_cast<long long>(st->failed), static_cast<long long>(st->suppressed));
    return kExitOk;
  }

 private:
  CLI::App* deliver_;
  Common c_;
};

}  // namespace

std::unique_ptr<Command> AddMailCommands(CLI::App& app) {
  return std::make_unique<MailCommands>(app);
}

}  // namespace switchboard::cli
