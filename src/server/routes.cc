#include "server/routes.h"

#include <nlohmann/json.hpp>

namespace switchboard::server {

void AddHealthRoutes(HttpServer& http, App& app) {
  http.Route("GET", "/healthz", [](const HttpRequest&) {
    HttpResponse r;
    r.body = R"({"status":"ok"})";
    return r;
  });
  http.Route("GET", "/readyz", [&app](const HttpRequest& req) {
    std::int64_t members = 0;
    Status st = app.store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(members, tx.QueryInt("SELECT COUNT(*) FROM members"));
      return Status::Ok();
    });
    if (!st.ok()) {
      return ErrorResponse(503, "store_unavailable",
                           "the database cannot be read; see the server log", req.request_id);
    }
    HttpResponse r;
    r.body =
        nlohmann::json{{"status", "ready"},
                       {"store", app.store().Describe().substr(0, 10) == "postgresql" ? "postgresql"
                                                                                      : "sqlite"},
                       {"units", app.tree().size()},
                       {"members", members}}
            .dump();
    return r;
  });
}

}  // namespace switchboard::server
