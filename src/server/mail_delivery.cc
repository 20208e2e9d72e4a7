#include "server/mail_delivery.h"

#include "crypto/secret_file.h"
#include "privacy/canary_contact.h"

namespace switchboard::server {

Result<std::unique_ptr<messaging::Outbox>> OutboxFor(App& app) {
  const MailConfig& mc = app.config().mail;
  if (mc.relay.empty()) return std::unique_ptr<messaging::Outbox>();
  auto in_dir = [&](const std::string& p) {
    return p.empty() || p[0] == '/' ? p : app.data_dir() + "/" + p;
  };
  messaging::DeliveryConfig d;
  d.smtp.url = mc.relay;
  d.smtp.tls = mc.tls == "none"       ? mail::SmtpConfig::Tls::kNone
               : mc.tls == "implicit" ? mail::SmtpConfig::Tls::kImplicit
                                      : mail::SmtpConfig::Tls::kStartTlsRequired;
  d.smtp.username = mc.username;
  if (!mc.password_file.empty()) {
    SB_ASSIGN_OR_RETURN(d.smtp.password,
                        crypto::ReadSecretFile(in_dir(mc.password_file), "SMTP password file"));
    while (!d.smtp.password.empty() &&
           (d.smtp.password.back() == '\n' || d.smtp.password.back() == '\r')) {
      d.smtp.password.pop_back();
    }
  }
  d.smtp.helo_domain = mc.message_id_domain;
  d.from_address = mc.from_address;
  d.bounce_address = mc.bounce_address;
  d.message_id_domain = mc.message_id_domain;
  d.public_base_url = mc.public_base_url;
  d.organisation_name = app.config().organisation.name;
  if (!mc.dkim_key_file.empty()) {
    std::vector<std::pair<std::string, std::string>> keys = {
        {mc.dkim_selector, in_dir(mc.dkim_key_file)}};
    if (!mc.dkim_ed25519_key_file.empty()) {
      keys.emplace_back(mc.dkim_ed25519_selector, in_dir(mc.dkim_ed25519_key_file));
    }
    SB_ASSIGN_OR_RETURN(auto signer, mail::DkimSigner::FromKeyFiles(mc.dkim_domain, keys));
    d.dkim = std::make_shared<const mail::DkimSigner>(std::move(signer));
  }
  d.workers = mc.workers;
  d.rate_per_second = mc.rate_per_second;
  d.max_attempts = mc.max_attempts;
  d.retry_base = static_cast<Micros>(mc.retry_seconds) * kMicrosPerSecond;
  d.hard_bounce_limit = app.policy().messaging_hard_bounce_limit;
  // Mail reaching a canary raises the DPO's alert with the hand-off.
  d.canary_check = [](store::Tx& tx, const messaging::OutboundMail& m) -> Status {
    return privacy::CheckOutboundContact(tx, "email", m.email_index, "outbound-mail",
                                         "message:" + m.message.ToString(), m.now)
        .status();
  };
  return std::make_unique<messaging::Outbox>(app.store(), app.tree(), app.sealer(), app.clock(),
                                             std::move(d));
}

}  // namespace switchboard::server
