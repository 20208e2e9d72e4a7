// The HTTP routes of `switchboard serve`: liveness, readiness and metrics
// (Prometheus text), and the web app's files. Later modules add theirs here,
// mapping Status to HTTP.
#pragma once

#include "messaging/outbox.h"
#include "server/api.h"
#include "server/api_routes.h"
#include "server/app.h"
#include "server/http_server.h"

namespace switchboard::server {

// The routes AddHealthRoutes registers (public, no personal data), listed
// with the API's for docs/openapi.yaml's check.
inline constexpr ApiRoute kHealthRoutes[] = {
    {"health.live", "GET", "/healthz", RouteAuth::kPublic, "", RouteTarget::kNone,
     "Liveness: the process is up"},
    {"health.ready", "GET", "/readyz", RouteAuth::kPublic, "", RouteTarget::kNone,
     "Readiness: the database can be read"},
    {"health.metrics", "GET", "/metrics", RouteAuth::kPublic, "", RouteTarget::kNone,
     "Prometheus metrics: requests and latency by route, audit checkpoint age, outbox depth and "
     "delivery results, alerts (counts only, no member data in any label)"},
    {"health.openapi", "GET", "/api/openapi.yaml", RouteAuth::kPublic, "", RouteTarget::kNone,
     "This API's OpenAPI description, as shipped with the running binary"},
};

// `http`, `app` and `outbox` (null when this process delivers no mail) must
// outlive the server's handlers.
void AddHealthRoutes(HttpServer& http, App& app, const messaging::Outbox* outbox = nullptr);

// The web app (web_assets.h): GET / and GET /join/{token} answer the app's
// page, GET /app/{file} its scripts, styles and images. Public and free of
// data; not part of docs/openapi.yaml, which describes the JSON API.
void AddWebRoutes(HttpServer& http);

// The API's dependencies taken from an opened data directory.
ApiDeps ApiDepsFor(App& app);

}  // namespace switchboard::server
