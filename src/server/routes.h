// The HTTP routes of `switchboard serve`: liveness, readiness and metrics
// (Prometheus text). Later modules add theirs here, mapping Status to HTTP.
#pragma once

#include "server/app.h"
#include "server/http_server.h"

namespace switchboard::server {

// `http` and `app` must outlive the server's handlers.
void AddHealthRoutes(HttpServer& http, App& app);

}  // namespace switchboard::server
