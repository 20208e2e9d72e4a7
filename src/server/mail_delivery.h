// The outbox's delivery side built from [mail] in switchboard.toml: the SMTP
// relay, TLS and AUTH (password from a 0600 file), the DKIM key, rates and
// retries. `serve` runs it in the background; `switchboard mail deliver`
// runs one pass (for cron or tests).
#pragma once

#include <memory>

#include "messaging/outbox.h"
#include "server/app.h"

namespace switchboard::server {

// nullptr when [mail] relay is empty (messages queue, nothing is delivered).
Result<std::unique_ptr<messaging::Outbox>> OutboxFor(App& app);

}  // namespace switchboard::server
