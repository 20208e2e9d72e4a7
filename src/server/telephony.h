// The telephony connector [telephony] asks for (docs/telephony.md).
#pragma once

#include <memory>

#include "core/status.h"
#include "phonebank/connector.h"
#include "server/app.h"
#include "telephony/sip_engine.h"

namespace switchboard::server {

// The SIP engine's settings from [telephony], with the trunk password read
// from its file in the data directory.
Result<telephony::EngineOptions> EngineOptionsFor(const App& app);

// Null for the sandbox (the API makes its own); for "sip", a started
// SipConnector that has already reconciled the calls a crash left up.
Result<std::shared_ptr<phonebank::Connector>> TelephonyConnectorFor(App& app);

}  // namespace switchboard::server
