#include "server/routes.h"

#include <nlohmann/json.hpp>

#include "server/status.h"
#include "server/web_assets.h"

namespace switchboard::server {

ApiDeps ApiDepsFor(App& app) {
  ApiDeps d;
  d.store = &app.store();
  d.policy = &app.policy();
  d.tree = &app.tree();
  d.sealer = &app.sealer();
  d.clock = &app.clock();
  d.time_zone = app.time_zone();
  d.auth = app.auth_options();
  d.cookie_secure = app.config().server.cookie_secure;
  d.public_base_url = app.config().mail.public_base_url;
  d.organisation_name = app.config().organisation.name;
  // The trunk's channels are finite; the sandbox has no lines to run out
  // of, so it keeps the phone bank's own generous total, and one campaign
  // may use all of it.
  const TelephonyConfig& tc = app.config().telephony;
  if (tc.connector == "sip") {
    d.call_limits = {tc.max_calls, tc.max_calls_per_campaign};
  } else {
    d.call_limits.per_campaign = d.call_limits.total;
  }
  d.caller_line = {tc.caller_id, tc.caller_ids, tc.ring_seconds};
  d.audit_verify_key = app.audit_key().verify_key().VKey();
  d.mail_relay = app.config().mail.relay;
  return d;
}

void AddHealthRoutes(HttpServer& http, App& app, const messaging::Outbox* outbox) {
  http.Route("GET", "/metrics", [&http, &app, outbox](const HttpRequest& req) {
    auto status = CollectStatus(app, {.full = false});
    if (!status) {
      return ErrorResponse(503, "store_unavailable",
                           "the database cannot be read; see the server log", req.request_id);
    }
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    const store::StoreStats st = app.store().stats();
    r.body = http.RequestMetrics();
    r.body += StatusMetrics(*status);
    if (outbox) {
      const messaging::DeliveryStats d = outbox->totals();
      r.body +=
          "# HELP switchboard_mail_deliveries_total Delivery attempts by this process, by "
          "result.\n"
          "# TYPE switchboard_mail_deliveries_total counter\n";
      for (const auto& [result, n] : {std::pair<const char*, std::int64_t>{"sent", d.sent},
                                      {"deferred", d.deferred},
                                      {"failed", d.failed},
                                      {"suppressed", d.suppressed},
                                      {"aborted", d.aborted}}) {
        r.body += std::string("switchboard_mail_deliveries_total{result=\"") + result + "\"} " +
                  std::to_string(n) + "\n";
      }
    }
    r.body +=
        "# HELP switchboard_store_write_groups_total Transactions committed by the group writer.\n"
        "# TYPE switchboard_store_write_groups_total counter\n"
        "switchboard_store_write_groups_total " +
        std::to_string(st.write_groups) + "\n" +
        "# HELP switchboard_store_write_ops_total Writes committed through group commit.\n"
        "# TYPE switchboard_store_write_ops_total counter\n"
        "switchboard_store_write_ops_total " +
        std::to_string(st.write_ops) + "\n" +
        "# HELP switchboard_store_write_failures_total Writes that returned an error.\n"
        "# TYPE switchboard_store_write_failures_total counter\n"
        "switchboard_store_write_failures_total " +
        std::to_string(st.write_failures) + "\n" +
        "# HELP switchboard_units Units in the organisation tree.\n"
        "# TYPE switchboard_units gauge\n"
        "switchboard_units " +
        std::to_string(app.tree().size()) + "\n";
    return r;
  });
  // The API's description, as shipped with this binary.
  http.Route("GET", "/api/openapi.yaml", [](const HttpRequest& req) {
    const EmbeddedFile* spec = FindDocFile("openapi.yaml");
    if (!spec)
      return ErrorResponse(404, "not_found", "this build has no API description", req.request_id);
    HttpResponse r;
    r.content_type = "application/yaml; charset=utf-8";
    r.body = std::string(spec->bytes);
    return r;
  });
  http.Route("GET", "/healthz", [](const HttpRequest&) {
    HttpResponse r;
    r.body = R"({"status":"ok"})";
    return r;
  });
  // Readiness is one cheap read (the schema version), never a count: a load
  // balancer asks every few seconds, and COUNT(*) over members took ~1 s at
  // 10 M (docs/benchmarks.md, P8). The members are in /metrics.
  http.Route("GET", "/readyz", [&app](const HttpRequest& req) {
    Result<int> schema = app.store().SchemaVersion();
    if (!schema) {
      return ErrorResponse(503, "store_unavailable",
                           "the database cannot be read; see the server log", req.request_id);
    }
    HttpResponse r;
    r.body =
        nlohmann::json{{"status", "ready"},
                       {"store", app.store().Describe().substr(0, 10) == "postgresql" ? "postgresql"
                                                                                      : "sqlite"},
                       {"schema", *schema},
                       {"units", app.tree().size()}}
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  });
}

void AddWebRoutes(HttpServer& http) {
  auto page = [](const HttpRequest& req) {
    const EmbeddedFile* index = FindWebFile(kWebIndex);
    if (!index) return ErrorResponse(404, "not_found", "this build has no web app", req.request_id);
    return WebFileResponse(*index);
  };
  http.Route("GET", "/", page);
  // The token is not looked at here: the page asks /api/v1/join/{token},
  // which needs a session, so the link alone opens nothing.
  http.Route("GET", "/join/{token}", page);
  http.Route("GET", "/app/{file}", [](const HttpRequest& req) {
    const std::string& name = req.params.at("file");
    const EmbeddedFile* f = FindWebFile(name);
    if (!f || name == kWebIndex || WebContentType(name).empty()) {
      return ErrorResponse(404, "not_found", "no such file in the web app", req.request_id);
    }
    return WebFileResponse(*f);
  });
}

}  // namespace switchboard::server
