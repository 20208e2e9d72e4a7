// The HTTP routes of `switchboard serve`: liveness, readiness and metrics
// (Prometheus text), and the web app's files. Later modules add theirs here,
// mapping Status to HTTP.
#pragma once

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
     "Prometheus metrics (counts only)"},
};

// `http` and `app` must outlive the server's handlers.
void AddHealthRoutes(HttpServer& http, App& app);

// The web app (web_assets.h): GET / and GET /join/{token} answer the app's
// page, GET /app/{file} its scripts, styles and images. Public and free of
// data; not part of docs/openapi.yaml, which describes the JSON API.
void AddWebRoutes(HttpServer& http);

// The API's dependencies taken from an opened data directory.
ApiDeps ApiDepsFor(App& app);

}  // namespace switchboard::server
