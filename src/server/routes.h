// The HTTP routes of `switchboard serve`. This set: liveness and
// readiness. Later modules add theirs here, mapping Status to HTTP.
#pragma once

#include "server/app.h"
#include "server/http_server.h"

namespace switchboard::server {

void AddHealthRoutes(HttpServer& http, App& app);

}  // namespace switchboard::server
