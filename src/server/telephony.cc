#include "server/telephony.h"

#include "core/log.h"
#include "crypto/secret_file.h"
#include "phonebank/sip_connector.h"

namespace switchboard::server {

Result<telephony::EngineOptions> EngineOptionsFor(const App& app) {
  const TelephonyConfig& tc = app.config().telephony;
  telephony::EngineOptions o;
  o.trunk_uri = tc.trunk_uri;
  o.username = tc.username;
  if (!tc.password_file.empty()) {
    // Beside the keyring: <data dir>/keys/<password_file>.
    const std::string path = tc.password_file[0] == '/'
                                 ? tc.password_file
                                 : app.data_dir() + "/keys/" + tc.password_file;
    SB_ASSIGN_OR_RETURN(o.password, crypto::ReadSecretFile(path, "SIP trunk password file"));
    while (!o.password.empty() && (o.password.back() == '\n' || o.password.back() == '\r')) {
      o.password.pop_back();
    }
  }
  o.outbound_proxy = tc.outbound_proxy;
  o.transport = tc.transport;
  o.caller_id = tc.caller_id;
  o.listen_address = tc.listen;
  o.listen_port = tc.port;
  o.caller_ring_seconds = tc.ring_seconds;
  o.member_ring_seconds = tc.ring_seconds;
  return o;
}

Result<std::shared_ptr<phonebank::Connector>> TelephonyConnectorFor(App& app) {
  if (app.config().telephony.connector != "sip") return std::shared_ptr<phonebank::Connector>();
  SB_ASSIGN_OR_RETURN(telephony::EngineOptions options, EngineOptionsFor(app));
  SB_ASSIGN_OR_RETURN(
      std::unique_ptr<phonebank::SipConnector> sip,
      phonebank::SipConnector::Start(app.store(), app.sealer(), app.clock(), std::move(options)));
  // Calls a crash left up are reconciled by `serve` (Api::ReconcileCalls)
  // before anything is served, whichever the connector.
  log::Info("telephony", "SIP connector ready", {{"listening", sip->engine().local_address()}});
  return std::shared_ptr<phonebank::Connector>(std::move(sip));
}

}  // namespace switchboard::server
