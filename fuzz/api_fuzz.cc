// Fuzzes the JSON API end to end in process: requests built from the input
// (method, target, body, headers, and which of a few real sessions to
// present) go through HttpServer::Dispatch into Api::Handle, a real SQLite
// store and the real decision point. Besides not crashing:
//   - every answer is a known status with a JSON body (errors have a code);
//   - no answer to the officer or caller sessions, or to no session at all,
//     ever contains a member's e-mail address or phone number — only the
//     privileged session may read contact details.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "access/credentials/password.h"
#include "access/credentials/totp.h"
#include "access/store/access_store.h"
#include "members/org_tree.h"
#include "members/register.h"
#include "server/api.h"
#include "server/http_server.h"
#include "store/sqlite/sqlite_store.h"

namespace sb = switchboard;

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "api_fuzz: %s\n", what);
    std::abort();
  }
}

struct Env {
  ~Env() {
    api.reset();
    http.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  std::unique_ptr<sb::store::Store> store;
  std::unique_ptr<sb::crypto::Keyring> keyring;
  std::unique_ptr<sb::crypto::Sealer> sealer;
  sb::members::OrgTree tree;
  sb::access::Policy policy;
  sb::ManualClock clock{1'772'445'600'000'000};  // 2026-03-02T10:00:00Z
  std::unique_ptr<sb::server::Api> api;
  std::unique_ptr<sb::server::HttpServer> http;
  std::string cookie[3];  // officer, caller, admin with a second factor
  std::string csrf[3];
};

Env* Setup() {
  auto* e = new Env;
  char tmpl[] = "/tmp/sb-api-fuzz-XXXXXX";
  Require(mkdtemp(tmpl) != nullptr, "mkdtemp");
  e->dir = tmpl;
  sb::store::StoreOptions o;
  o.durable = false;
  e->store = std::move(*sb::store::OpenSqliteStore(e->dir + "/sb.db", o));
  e->keyring = sb::crypto::Keyring::Generate();
  e->sealer = std::make_unique<sb::crypto::Sealer>(*e->keyring);
  e->policy = std::move(*sb::access::ParsePolicy(sb::access::DefaultPolicyToml(), "policy"));
  // Random requests are mostly refused; keep the fuzzing sessions alive.
  e->policy.anomaly_probe_run = 1'000'000;
  const std::string csv =
      "ons_code,name,region\nE14000530,Aldershot,South East\nE14000531,Aldridge-Brownhills,"
      "West Midlands\n";
  auto specs = sb::members::ParseConstituencyCsv(csv);
  Require(specs.has_value(), "tree csv");
  Require(
      e->store
          ->WriteNow([&](sb::store::Tx& tx) { return sb::members::SaveUnits(tx, *specs).status(); })
          .ok(),
      "save units");
  Require(e->store
              ->Read([&](sb::store::Tx& tx) -> sb::Status {
                SB_ASSIGN_OR_RETURN(e->tree, sb::members::OrgTree::Load(tx));
                return sb::Status::Ok();
              })
              .ok(),
          "load tree");
  const sb::UnitId aldershot = e->tree.FindByCode("E14000530")->id;
  const sb::UnitId aldridge = e->tree.FindByCode("E14000531")->id;
  // Members 1..4 with synthetic contacts.
  for (int i = 1; i <= 4; ++i) {
    sb::members::MemberRecord r;
    r.source = "native";
    r.external_id = std::to_string(i);
    r.unit = i % 2 ? aldershot : aldridge;
    r.first_name = "Test";
    r.last_name = "Member";
    r.content_hash = "h" + std::to_string(i);
    const std::string email = "fuzz.member" + std::to_string(i) + "@example.org";
    const std::string phone = "+44770090012" + std::to_string(i);
    r.contacts.push_back({"email", "primary", e->sealer->Seal(email, "email"),
                          e->sealer->BlindIndex("email", email)});
    r.contacts.push_back({"phone", "mobile", e->sealer->Seal(phone, "phone"),
                          e->sealer->BlindIndex("phone", phone)});
    Require(e->store
                ->Write([&](sb::store::Tx& tx) {
                  return sb::members::UpsertMember(tx, r, e->clock.Now(), "fuzz").status();
                })
                .ok(),
            "member");
  }
  sb::server::ApiDeps d;
  d.store = e->store.get();
  d.policy = &e->policy;
  d.tree = &e->tree;
  d.sealer = e->sealer.get();
  d.clock = &e->clock;
  d.auth.hash = sb::access::PasswordHashOptions::Minimum();
  e->api = std::make_unique<sb::server::Api>(d);
  e->http = std::make_unique<sb::server::HttpServer>(sb::ServerConfig{});
  e->api->Register(*e->http);
  const std::string hash =
      *sb::access::HashPassword("fuzzing password", sb::access::PasswordHashOptions::Minimum());
  const char* logins[3] = {"officer", "caller", "admin"};
  const char* roles[3] = {"officer", "caller", "membership_admin"};
  for (int i = 0; i < 3; ++i) {
    sb::AccountId id;
    std::string secret;
    Require(
        e->store
            ->Write([&](sb::store::Tx& tx) -> sb::Status {
              SB_ASSIGN_OR_RETURN(
                  id, sb::access::CreateAccount(tx, {logins[i], "F", sb::MemberId(), false},
                                                e->clock.Now()));
              SB_RETURN_IF_ERROR(sb::access::SetPasswordHash(tx, id, hash));
              sb::access::GrantRequest g{
                  id,     roles[i],       aldershot,
                  "fuzz", e->clock.Now(), e->clock.Now() + 86'400'000'000LL * 30,
                  "fuzz", "direct",       0};
              SB_RETURN_IF_ERROR(
                  sb::access::InsertGrant(tx, g, sb::AccountId(), true, e->clock.Now()).status());
              if (i == 2) {
                secret = sb::access::GenerateTotpSecret();
                auto sealed = e->sealer->Seal(secret, "totp");
                SB_RETURN_IF_ERROR(sb::access::SetTotp(tx, id, {sealed.key_id, sealed.bytes, -1}));
              }
              return sb::Status::Ok();
            })
            .ok(),
        "account");
    nlohmann::json body{{"login", logins[i]}, {"password", "fuzzing password"}};
    if (i == 2) body["totp"] = *sb::access::GenerateTotp(secret, e->clock.Now());
    sb::server::HttpRequest req = sb::server::MakeRequest("POST", "/api/v1/session", body.dump(),
                                                          {{"content-type", "application/json"}});
    sb::server::HttpResponse r = e->http->Dispatch(req);
    Require(r.status == 201, "sign-in");
    for (const auto& [k, v] : r.headers) {
      if (k == "Set-Cookie") e->cookie[i] = v.substr(11, v.find(';') - 11);
    }
    e->csrf[i] = nlohmann::json::parse(r.body)["csrf_token"];
  }
  return e;
}

// Splits at the first 0x00 byte.
std::string_view Next(std::string_view& in) {
  const size_t z = in.find('\0');
  std::string_view part = in.substr(0, z);
  in = z == std::string_view::npos ? std::string_view() : in.substr(z + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Env* env = Setup();
  if (size < 2) return 0;
  const int who = data[0] % 4;  // 0 officer, 1 caller, 2 admin, 3 nobody
  static const char* kMethods[] = {"GET", "POST", "DELETE", "PUT"};
  const char* method = kMethods[data[1] % 4];
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  std::string target(Next(in));
  if (target.empty() || target[0] != '/') target = "/api/v1/" + target;
  const std::string body(Next(in));
  std::map<std::string, std::string> headers;
  headers["content-type"] = std::string(Next(in));
  headers["host"] = "127.0.0.1:8080";
  if (who < 3) {
    headers["cookie"] = "sb_session=" + env->cookie[who];
    headers["x-csrf-token"] = env->csrf[who];
  }
  sb::server::HttpRequest req = sb::server::MakeRequest(method, target, body, headers);
  sb::server::HttpResponse r = env->http->Dispatch(req);
  Require(r.status >= 200 && r.status < 600, "status out of range");
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  Require(!j.is_discarded(), "the body is not JSON");
  if (r.status >= 400) {
    Require(j.contains("error") && j["error"].contains("code"), "an error without a code");
  }
  if (who != 2) {
    Require(r.body.find("@example.org") == std::string::npos, "an e-mail address leaked");
    Require(r.body.find("770090012") == std::string::npos, "a phone number leaked");
  }
  // Keep the sessions usable: undo sign-outs and suspensions between inputs.
  const bool signed_out =
      r.status == 200 && ((req.method == "DELETE" && req.path == "/api/v1/session") ||
                          req.path.find("sign-out") != std::string::npos ||
                          req.path.find("/suspend") != std::string::npos);
  if (signed_out) {
    delete env;
    env = Setup();
  }
  return 0;
}
