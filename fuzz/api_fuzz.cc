// Fuzzes the server's routes end to end in process: every route `serve`
// registers (the JSON API of api_routes.h, the members' /u/{token} and
// /preferences/{token} pages and the web app's files) goes through
// HttpServer::Dispatch with a real SQLite store and the real decision point.
//
// The world the requests land in (made again after 2,000 inputs, when the
// calling hours are over and when a session has ended other than by its own
// sign-out): two units; members with synthetic contacts; an officer who runs
// a live phone-bank campaign with an invitation, and two draft e-mails; a
// caller who joined that campaign through the invitation and verified a
// phone, so `next`, `connect` and `outcome` really hand out members; a
// membership admin (who may read contact details), a staff member and an
// administrator, each signed in with a cookie and with a bearer token; a
// privileged grant waiting for its second approval; and valid
// unsubscribe/preferences tokens.
//
// Input: three control bytes, then fields separated by NUL bytes:
//   [who] [method] [fill] route \0 param \0 query \0 content-type \0 headers \0 body
//   who     % 8: officer, caller, membership admin, staff, admin, nobody (5-7);
//           / 8 % 4: cookie + CSRF token, bearer token, cookie without the
//           CSRF token, cookie + CSRF token from a foreign Origin.
//   method  % 8: the route's own, GET, POST, PATCH, DELETE, PUT, HEAD, OPTIONS.
//   fill    % 4, for each {placeholder}: a real value of the right kind
//           (param[0] '0', '1', ... picks which), the param text itself, a
//           real value with one byte changed (param[0] where, param[1]
//           what), or a real value of the wrong kind. / 4 % 4: advance the
//           clock by 0, 1 s, 31 s or 3 min first (pace limits, calls).
//   route   "METHOD /pattern" of a registered route (see fuzz/dict/api.dict),
//           or a raw target starting with '/', or else any bytes (a hash
//           picks a route).
//   headers "name: value" lines; body the rest of the input.
// Besides not crashing, every answer must hold:
//   - a known status; the API answers JSON, errors with a stable code;
//   - no member's e-mail address or phone number in any answer to anyone but
//     the membership admin; no surname to the caller, the administrator or
//     nobody; no name at all to nobody; nothing of the member on the
//     members' own pages. Inputs that carry one of these values themselves
//     are skipped, so the fuzzer cannot plant what it then finds.
// The check on the calling routes is counted: with SB_API_FUZZ_EXPECT=route
// ids (comma-separated, e.g. "calling.next,calling.connect") the process
// fails at exit unless each of them answered 2xx at least once and had its
// answer checked; scripts/run-fuzz.sh sets it for the pass over the seeds.
// SB_API_FUZZ_TRACE=1 prints every request and the start of its answer.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "access/credentials/password.h"
#include "access/credentials/totp.h"
#include "access/store/access_store.h"
#include "core/log.h"
#include "members/org_tree.h"
#include "members/register.h"
#include "messaging/tokens.h"
#include "schema/migrations.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/member_pages.h"
#include "server/routes.h"
#include "store/sqlite/sqlite_store.h"

namespace sb = switchboard;
using json = nlohmann::json;

namespace {

void Require(bool ok, const char* what, const std::string& detail = "") {
  if (!ok) {
    std::fprintf(stderr, "api_fuzz: %s\n%s\n", what, detail.substr(0, 2000).c_str());
    std::abort();
  }
}

// Substring search by rolling hash, one pass per needle length: a plain
// search would hand the needles to libFuzzer's memmem/memcmp hooks and the
// fuzzer would learn them, and the compares here are left uninstrumented so
// the hashes stay out of its tables too.
class Needles {
 public:
  void Add(const std::string& s) {
    if (!s.empty()) by_length_[s.size()].emplace(Hash(s), s);
  }
  // A needle found in `hay`, or nullptr.
  __attribute__((no_sanitize("coverage"))) const std::string* FindIn(std::string_view hay) const {
    for (const auto& [k, needles] : by_length_) {
      if (hay.size() < k) break;
      std::uint64_t have = Hash(hay.substr(0, k)), top = 1;
      for (size_t i = 1; i < k; ++i) top *= kBase;
      for (size_t i = k;; ++i) {
        auto it = needles.find(have);
        if (it != needles.end() && hay.substr(i - k, k) == it->second) return &it->second;
        if (i == hay.size()) break;
        have = (have - top * static_cast<unsigned char>(hay[i - k])) * kBase +
               static_cast<unsigned char>(hay[i]);
      }
    }
    return nullptr;
  }

 private:
  static constexpr std::uint64_t kBase = 1'000'003;
  __attribute__((no_sanitize("coverage"))) static std::uint64_t Hash(std::string_view s) {
    std::uint64_t h = 0;
    for (unsigned char c : s) h = h * kBase + c;
    return h;
  }
  std::map<size_t, std::unordered_map<std::uint64_t, std::string>> by_length_;
};

enum Who { kOfficer, kCaller, kMembershipAdmin, kStaff, kAdmin, kNobody, kIdentities = kNobody };
constexpr const char* kLogins[kIdentities] = {"officer", "caller", "membership.admin", "staff",
                                              "admin"};
constexpr int kMembers = 40;
constexpr std::int64_t kDay = 86'400'000'000LL;

struct Session {
  std::string cookie, csrf, bearer;
};

struct Env {
  ~Env() {
    http.reset();
    api.reset();
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
  sb::server::ApiDeps deps;
  std::unique_ptr<sb::server::Api> api;
  std::unique_ptr<sb::server::HttpServer> http;
  std::vector<std::pair<std::string, std::string>> routes;  // (method, pattern)
  Session session[kIdentities];
  std::string totp[kIdentities];
  sb::AccountId account[kIdentities];
  // Real values for placeholders, by kind.
  std::map<std::string, std::vector<std::string>> real;
  // What each audience may not see.
  Needles contact, surnames, first_names;
  int inputs = 0;
};

std::string NewDir() {
  const bool shm = std::filesystem::exists("/dev/shm");
  std::string tmpl = std::string(shm ? "/dev/shm" : "/tmp") + "/sb-api-fuzz-XXXXXX";
  Require(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  return tmpl;
}

sb::server::HttpResponse Send(Env& e, Who who, const std::string& method, const std::string& target,
                              const std::string& body, bool bearer = false) {
  std::map<std::string, std::string> h{{"host", "127.0.0.1:8080"}};
  if (!body.empty()) h["content-type"] = "application/json";
  if (who != kNobody && bearer) {
    h["authorization"] = "Bearer " + e.session[who].bearer;
  } else if (who != kNobody) {
    h["cookie"] = "sb_session=" + e.session[who].cookie;
    h["x-csrf-token"] = e.session[who].csrf;
  }
  sb::server::HttpRequest req = sb::server::MakeRequest(method, target, body, h);
  return e.http->Dispatch(req);
}

json Body(const sb::server::HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json() : j;
}

void SignIn(Env& e, int i) {
  for (bool bearer : {false, true}) {
    json body{{"login", kLogins[i]}, {"password", "fuzzing password"}};
    if (!e.totp[i].empty()) {
      e.clock.Advance(30'000'000);  // a code works once
      body["totp"] = *sb::access::GenerateTotp(e.totp[i], e.clock.Now());
    }
    if (bearer) body["client"] = "api";
    sb::server::HttpResponse r = Send(e, kNobody, "POST", "/api/v1/session", body.dump());
    Require(r.status == 201, "sign-in", r.body);
    const json j = Body(r);
    if (bearer) {
      e.session[i].bearer = j["token"];
      continue;
    }
    e.session[i].csrf = j["csrf_token"];
    for (const auto& [k, v] : r.headers) {
      if (k == "Set-Cookie") e.session[i].cookie = v.substr(11, v.find(';') - 11);
    }
  }
}

std::string Phone(int i) { return "+447700900" + std::to_string(100 + i); }
std::string FirstName(int i) { return std::string("Fuzzfirst") + static_cast<char>('a' + i % 26); }
std::string Surname(int i) {
  return std::string("Fuzzlast") + static_cast<char>('a' + i % 26) +
         static_cast<char>('a' + i / 26);
}

std::unique_ptr<Env> Setup() {
  auto e = std::make_unique<Env>();
  e->dir = NewDir();
  sb::store::StoreOptions o;
  o.migrations = sb::schema::AllMigrations();
  o.durable = false;
  e->store = std::move(*sb::store::OpenSqliteStore(e->dir + "/sb.db", o));
  e->keyring = sb::crypto::Keyring::Generate();
  e->sealer = std::make_unique<sb::crypto::Sealer>(*e->keyring);
  e->policy = std::move(*sb::access::ParsePolicy(sb::access::DefaultPolicyToml(), "policy"));
  // Random requests are mostly refused; keep the fuzzing sessions alive.
  e->policy.anomaly_probe_run = 1'000'000;
  auto specs = sb::members::ParseConstituencyCsv(
      "ons_code,name,region\nE14000530,Aldershot,South East\nE14000531,Aldridge-Brownhills,"
      "West Midlands\n");
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
  e->real["unit"] = {"E14000530", "E14000531", std::to_string(aldershot.value()),
                     std::to_string(aldridge.value())};

  std::vector<sb::MemberId> members;
  for (int i = 0; i < kMembers; ++i) {
    sb::members::MemberRecord r;
    r.source = "native";
    r.external_id = std::to_string(i + 1);
    r.unit = i % 8 == 7 ? aldridge : aldershot;
    r.first_name = FirstName(i);
    r.last_name = Surname(i);
    r.joined_on = 18000;
    r.consents = sb::members::kConsentPhone | sb::members::kConsentEmail;
    r.content_hash = "h" + std::to_string(i);
    const std::string email = "fuzz.member" + std::to_string(i) + "@example.org";
    r.contacts.push_back({"email", "primary", e->sealer->Seal(email, "email"),
                          e->sealer->BlindIndex("email", email)});
    r.contacts.push_back({"phone", "mobile", e->sealer->Seal(Phone(i), "phone"),
                          e->sealer->BlindIndex("phone", Phone(i))});
    Require(e->store
                ->Write([&](sb::store::Tx& tx) -> sb::Status {
                  SB_ASSIGN_OR_RETURN(auto up,
                                      sb::members::UpsertMember(tx, r, e->clock.Now(), "fuzz"));
                  members.push_back(up.id);
                  return sb::Status::Ok();
                })
                .ok(),
            "member");
    e->contact.Add(email);
    const std::string national = "7700 900" + std::to_string(100 + i);
    e->contact.Add(Phone(i).substr(3));  // 7700900100, in +44... and 07700...
    e->contact.Add(national);            // 07700 900100
    e->contact.Add("7700-900" + std::to_string(100 + i));
    e->surnames.Add(Surname(i));
    e->first_names.Add(FirstName(i));
    e->real["member"].push_back(std::to_string(members.back().value()));
  }

  e->deps.store = e->store.get();
  e->deps.policy = &e->policy;
  e->deps.tree = &e->tree;
  e->deps.sealer = e->sealer.get();
  e->deps.clock = &e->clock;
  e->deps.time_zone = *sb::TimeZone::Find("Europe/London");
  e->deps.auth.hash = sb::access::PasswordHashOptions::Minimum();
  e->deps.auth.recovery_pepper.fill(3);
  e->deps.cookie_secure = false;
  // As `serve` registers them (src/cli/cli.cc), less the health routes,
  // which need an opened data directory.
  e->http = std::make_unique<sb::server::HttpServer>(sb::ServerConfig{});
  sb::server::AddWebRoutes(*e->http);
  e->api = std::make_unique<sb::server::Api>(e->deps);
  e->api->Register(*e->http);
  sb::server::AddMemberPages(*e->http, e->deps);
  e->routes = e->http->Routes();

  const std::string hash =
      *sb::access::HashPassword("fuzzing password", sb::access::PasswordHashOptions::Minimum());
  const char* roles[kIdentities] = {"officer", "", "membership_admin", "staff", "admin"};
  for (int i = 0; i < kIdentities; ++i) {
    Require(
        e->store
            ->Write([&](sb::store::Tx& tx) -> sb::Status {
              SB_ASSIGN_OR_RETURN(
                  e->account[i],
                  sb::access::CreateAccount(
                      tx, {kLogins[i], "Account", sb::MemberId(), i == kStaff}, e->clock.Now()));
              SB_RETURN_IF_ERROR(sb::access::SetPasswordHash(tx, e->account[i], hash));
              if (*roles[i]) {
                const bool whole = i == kAdmin;
                sb::access::GrantRequest g{
                    e->account[i], roles[i],       whole ? e->tree.root()->id : aldershot,
                    "fuzz",        e->clock.Now(), e->clock.Now() + kDay * 30,
                    "fuzz",        "direct",       0};
                SB_RETURN_IF_ERROR(
                    sb::access::InsertGrant(tx, g, sb::AccountId(), true, e->clock.Now()).status());
              }
              if (e->policy.FindRole(*roles[i] ? roles[i] : "caller")->privileged) {
                e->totp[i] = sb::access::GenerateTotpSecret();
                auto sealed = e->sealer->Seal(e->totp[i], "totp");
                SB_RETURN_IF_ERROR(
                    sb::access::SetTotp(tx, e->account[i], {sealed.key_id, sealed.bytes, -1}));
              }
              return sb::Status::Ok();
            })
            .ok(),
        "account");
    e->real["account"].push_back(std::to_string(e->account[i].value()));
    SignIn(*e, i);
  }

  // The officer's live campaign, its invitation, a second (draft) campaign
  // the caller never joined, and draft e-mails.
  auto campaign = [&](const std::string& scope) {
    sb::server::HttpResponse c =
        Send(*e, kOfficer, "POST", "/api/v1/campaigns",
             json{{"name", "Fuzz calls"},
                  {"scope", scope},
                  {"purpose", "fuzzing"},
                  {"ends_at", "+14d"},
                  {"script", "Hello {{first_name}}"},
                  {"survey", {{{"id", "agm"}, {"question", "Coming?"}, {"type", "yesno"}}}},
                  {"pace", {{"burst", 5}, {"interval_seconds", 1}}}}
                 .dump());
    Require(c.status == 201, "create campaign", c.body);
    return std::to_string(Body(c)["campaign"]["id"].get<std::int64_t>());
  };
  const std::string live = campaign("E14000530");
  sb::server::HttpResponse r =
      Send(*e, kOfficer, "POST", "/api/v1/campaigns/" + live + "/state", R"({"state": "live"})");
  Require(r.status == 200, "go live", r.body);
  r = Send(*e, kOfficer, "POST", "/api/v1/campaigns/" + live + "/invites",
           R"({"label": "fuzz", "max_joins": 5000})");
  Require(r.status == 201, "invite", r.body);
  const std::string invite = Body(r)["token"];
  e->real["invite"].push_back(std::to_string(Body(r)["invite"]["id"].get<std::int64_t>()));
  e->real["join"].push_back(invite);
  e->real["campaign"] = {live, campaign("E14000530")};
  // Two drafts: one to edit and preview, one to cancel or send.
  std::int64_t message = 0;
  for (int i = 0; i < 2; ++i) {
    r = Send(
        *e, kOfficer, "POST", "/api/v1/messages",
        json{{"scope", "E14000530"},
             {"kind", "campaign"},
             {"subject", "Hello {{first_name}}"},
             {"text_body", "Dear {{first_name}} of {{unit_name}}: {{unsubscribe_url}}"},
             {"html_body", "<p>Dear {{first_name}}</p><a href=\"{{unsubscribe_url}}\">stop</a>"}}
            .dump());
    Require(r.status == 201, "draft message", r.body);
    if (i == 0) message = Body(r)["message"]["id"];
    e->real["message"].push_back(std::to_string(Body(r)["message"]["id"].get<std::int64_t>()));
  }

  // A privileged grant waiting for its second approval (the first grant
  // routes act on), then the caller's campaign grant.
  r = Send(*e, kAdmin, "POST", "/api/v1/grants",
           json{{"account", "staff"},
                {"role", "admin"},
                {"scope", "E14000531"},
                {"purpose", "fuzz"},
                {"reason", "fuzz"},
                {"not_after", "+20d"}}
               .dump());
  Require(r.status / 100 == 2, "pending grant", r.body);
  e->real["grant"].push_back(std::to_string(Body(r)["grant"]["id"].get<std::int64_t>()));

  // The caller joins and verifies a phone (not a member's).
  r = Send(*e, kCaller, "POST", "/api/v1/join/" + invite, "");
  Require(r.status == 201, "join", r.body);
  e->real["grant"].push_back(std::to_string(Body(r)["grant"]["id"].get<std::int64_t>()));
  r = Send(*e, kCaller, "POST", "/api/v1/me/endpoint", R"({"phone": "07700 900999"})");
  Require(r.status == 201, "endpoint", r.body);
  r = Send(*e, kCaller, "POST", "/api/v1/me/endpoint/verify",
           json{{"code", Body(r)["sandbox_code"]}}.dump());
  Require(r.status == 200, "verify endpoint", r.body);

  // One call, so the world has a call id, and a check that the calling
  // routes hand out a member (a first name) and nothing more.
  const std::string base = "/api/v1/campaigns/" + live;
  r = Send(*e, kCaller, "POST", base + "/next", "");
  Require(r.status == 200 && Body(r)["contact"]["first_name"].is_string(), "next", r.body);
  Require(e->first_names.FindIn(r.body) != nullptr, "next names no member", r.body);
  Require(!e->contact.FindIn(r.body) && !e->surnames.FindIn(r.body), "next leaked", r.body);
  r = Send(*e, kCaller, "POST", base + "/connect", "");
  Require(r.status == 201, "connect", r.body);
  Require(!e->contact.FindIn(r.body), "connect leaked", r.body);
  e->real["call"].push_back(std::to_string(Body(r)["call"]["id"].get<std::int64_t>()));
  e->clock.Advance(31'000'000);
  r = Send(*e, kCaller, "POST", base + "/outcome", R"({"outcome": "no_answer"})");
  Require(r.status == 200, "outcome", r.body);

  sb::messaging::TokenSigner signer(*e->sealer);
  for (size_t i = 0; i < 4; ++i) {
    const sb::MemberId m(std::stoll(e->real["member"][i]));
    e->real["token"].push_back(signer.Make({m, sb::messaging::MessageId(message)}));
    e->real["token"].push_back(signer.Make({m, sb::messaging::MessageId()}));
  }
  e->real["file"] = {"app.js", "app.css", "api.js", "icon.svg", "index.html"};
  e->real["alert"] = {"1"};
  return e;
}

// Splits at the first 0x00 byte.
std::string_view Field(std::string_view& in) {
  const size_t z = in.find('\0');
  std::string_view part = in.substr(0, z);
  in = z == std::string_view::npos ? std::string_view() : in.substr(z + 1);
  return part;
}

// The kind of value a placeholder takes, from the segment before it.
std::string KindOf(std::string_view prev, std::string_view name) {
  if (name == "{invite}") return "invite";
  if (name == "{file}") return "file";
  if (name == "{token}") return prev == "join" ? "join" : "token";
  static const std::map<std::string_view, std::string> kByPrev = {
      {"members", "member"},   {"grants", "grant"},       {"accounts", "account"},
      {"alerts", "alert"},     {"campaigns", "campaign"}, {"calls", "call"},
      {"messages", "message"}, {"approvals", "message"}};
  auto it = kByPrev.find(prev);
  return it == kByPrev.end() ? "member" : it->second;
}

std::string Fill(Env& e, const std::string& pattern, int mode, std::string_view param) {
  std::string out, prev;
  size_t i = 0;
  while (i < pattern.size()) {
    const size_t j = std::min(pattern.find('/', i + 1), pattern.size());
    std::string seg = pattern.substr(i, j - i);  // with its leading '/'
    const std::string name = seg.substr(1);
    if (name.size() > 2 && name.front() == '{' && name.back() == '}') {
      const std::string kind = KindOf(prev, name);
      // '0' picks the first value, '1' the second, ...
      const unsigned p0 = param.empty() ? 0 : (static_cast<unsigned char>(param[0]) + 208u) % 256;
      const unsigned p1 = param.size() < 2 ? 0 : static_cast<unsigned char>(param[1]);
      const auto& values = e.real[mode == 3 ? (kind == "token" ? "join" : "token") : kind];
      std::string v = values.empty() ? "1" : values[p0 % values.size()];
      if (mode == 1) {
        v = std::string(param);
      } else if (mode == 2 && !v.empty()) {
        v[p0 % v.size()] = static_cast<char>(p1);
      }
      out += "/" + v;
    } else {
      out += seg;
    }
    prev = name;
    i = j;
  }
  return out.empty() ? "/" : out;
}

struct Stats {
  std::map<std::string, long> ok_checked;  // route -> 2xx answers checked for leaks
  std::map<std::string, long> answered;    // route -> answers
  long skipped = 0;
  long worlds = 0;
  std::map<std::string, long> remade;  // why a world was made again
  double setup_seconds = 0;
};
Stats g_stats;

std::string RouteId(const std::string& method, const std::string& pattern) {
  for (const auto& r : sb::server::kApiRoutes) {
    if (r.method == method && r.path == pattern) return std::string(r.id);
  }
  return method + " " + pattern;
}

void AtExit() {
  std::string ok;
  for (const auto& [k, v] : g_stats.ok_checked) ok += " " + k + "=" + std::to_string(v);
  std::fprintf(stderr, "api_fuzz: 2xx answers checked for leaks by route:%s\n", ok.c_str());
  std::fprintf(stderr,
               "api_fuzz: %zu routes answered, %ld inputs skipped for carrying member data, "
               "%ld worlds made in %.1f s\n",
               g_stats.answered.size(), g_stats.skipped, g_stats.worlds, g_stats.setup_seconds);
  for (const auto& [why, n] : g_stats.remade) {
    std::fprintf(stderr, "api_fuzz: made again %ld times: %s\n", n, why.c_str());
  }
  const char* expect = std::getenv("SB_API_FUZZ_EXPECT");
  if (!expect) return;
  std::string_view rest(expect);
  bool missing = false;
  while (!rest.empty()) {
    const size_t c = rest.find(',');
    const std::string id(rest.substr(0, c));
    rest = c == std::string_view::npos ? std::string_view() : rest.substr(c + 1);
    if (!id.empty() && g_stats.ok_checked[id] == 0) {
      std::fprintf(stderr, "api_fuzz: FAILED: no 2xx answer of %s was checked\n", id.c_str());
      missing = true;
    }
  }
  if (missing) std::_Exit(1);
}

std::unique_ptr<Env> g_env;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sb::log::SetLevel(sb::log::Level::kError);
  std::atexit(AtExit);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  if (!g_env) {
    const auto t0 = std::chrono::steady_clock::now();
    g_env = Setup();
    ++g_stats.worlds;
    g_stats.setup_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  Env& e = *g_env;
  const int who = std::min<int>(data[0] % 8, kNobody);
  const int auth = data[0] / 8 % 4;
  static const char* kMethods[] = {"", "GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"};
  const int fill = data[2] % 4;
  static const std::int64_t kAdvance[] = {0, 1'000'000, 31'000'000, 180'000'000};
  std::string_view in(reinterpret_cast<const char*>(data + 3), size - 3);
  const std::string_view route = Field(in);
  const std::string_view param = Field(in);
  const std::string_view query = Field(in);
  const std::string_view ctype = Field(in);
  std::string_view extra = Field(in);
  const std::string body(in);  // the rest, NUL bytes and all

  std::string method, pattern, target;
  for (const auto& [m, p] : e.routes) {
    if (route.size() == m.size() + 1 + p.size() && route.substr(0, m.size()) == m &&
        route[m.size()] == ' ' && route.substr(m.size() + 1) == p) {
      method = m;
      pattern = p;
    }
  }
  if (pattern.empty() && !route.empty() && route[0] == '/') {
    target = std::string(route);
    method = "GET";
  } else if (pattern.empty()) {
    std::uint32_t h = 2166136261u;
    for (char c : route) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    std::tie(method, pattern) = e.routes[h % e.routes.size()];
  }
  if (!pattern.empty()) target = Fill(e, pattern, fill, param);
  if (!query.empty()) target += "?" + std::string(query);
  {
    // The server answers 400 to a target it cannot decode, before routing.
    std::string path;
    std::map<std::string, std::string> q;
    if (!sb::server::ParseTarget(target, &path, &q)) return 0;
  }
  if (data[1] % 8) method = kMethods[data[1] % 8];

  std::map<std::string, std::string> headers{{"host", "127.0.0.1:8080"}};
  if (!ctype.empty()) headers["content-type"] = std::string(ctype);
  if (who != kNobody) {
    const Session& s = e.session[who];
    if (auth == 1) {
      headers["authorization"] = "Bearer " + s.bearer;
    } else {
      headers["cookie"] = "sb_session=" + s.cookie;
      if (auth != 2) headers["x-csrf-token"] = s.csrf;
      if (auth == 3) headers["origin"] = "http://evil.example";
    }
  }
  while (!extra.empty()) {
    std::string_view line = extra.substr(0, extra.find('\n'));
    extra.remove_prefix(std::min(extra.size(), line.size() + 1));
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers[name] = std::string(value);
  }

  // The fuzzer must not plant what the checks look for.
  std::string sent = target + "\n" + body;
  for (const auto& [k, v] : headers) sent += "\n" + k + ": " + v;
  if (e.contact.FindIn(sent) || e.surnames.FindIn(sent) || e.first_names.FindIn(sent)) {
    ++g_stats.skipped;
    return 0;
  }

  e.clock.Advance(kAdvance[data[2] / 4 % 4]);
  sb::server::HttpRequest req = sb::server::MakeRequest(method, target, body, headers);
  sb::server::HttpResponse r = e.http->Dispatch(req);
  ++e.inputs;

  static const bool trace = std::getenv("SB_API_FUZZ_TRACE") != nullptr;
  if (trace) {
    std::fprintf(stderr, "api_fuzz: %s %s as %s -> %d %.200s\n", method.c_str(), target.c_str(),
                 who < kNobody ? kLogins[who] : "nobody", r.status, r.body.c_str());
  }
  Require(r.status >= 200 && r.status < 600, "status out of range", r.body);
  const bool api = req.path.rfind("/api/", 0) == 0;
  const bool page = req.route == "/u/{token}" || req.route == "/preferences/{token}";
  // Documents the API serves on success (results as CSV, charts as SVG);
  // every refusal is still JSON, and every body is still checked for leaks.
  const bool document = r.status < 300 && (r.content_type.rfind("text/csv", 0) == 0 ||
                                           r.content_type.rfind("image/svg+xml", 0) == 0);
  if ((api && !document) || r.content_type == "application/json") {
    Require(r.content_type == "application/json", "an API answer that is not JSON", r.body);
    const json j = json::parse(r.body, nullptr, false);
    Require(!j.is_discarded(), "the body is not JSON", r.body);
    if (r.status >= 400) {
      Require(j.contains("error") && j["error"].contains("code") && j["error"]["code"].is_string(),
              "an error without a code", r.body);
    }
  }
  std::string all = r.body;
  for (const auto& [k, v] : r.headers) all += "\n" + k + ": " + v;
  const std::string* leak = nullptr;
  if (page || who != kMembershipAdmin) leak = e.contact.FindIn(all);
  if (!leak && (page || who == kCaller || who == kAdmin || who == kNobody)) {
    leak = e.surnames.FindIn(all);
  }
  if (!leak && (page || who == kNobody)) leak = e.first_names.FindIn(all);
  Require(leak == nullptr, "member data leaked",
          (leak ? "'" + *leak + "' to " + (who < kNobody ? kLogins[who] : "nobody") + " from " +
                      method + " " + target + ":\n"
                : std::string()) +
              r.body);
  const std::string id = req.route.empty() ? "unmatched" : RouteId(req.method, req.route);
  ++g_stats.answered[id];
  if (r.status < 300) ++g_stats.ok_checked[id];

  // A world in which a session has ended otherwise, the calling hours are
  // over or many inputs have piled up is made again.
  // A 401 may be the input's own doing (a bad Authorization header); the
  // session has ended only if it is refused as it is.
  bool ended = false;
  if (who != kNobody && r.status == 401) {
    ended = Send(e, static_cast<Who>(who), "GET", "/api/v1/session", "", auth == 1).status == 401;
  }
  const bool late = e.clock.Now() > 1'772'445'600'000'000 + 8 * 3'600'000'000LL;
  const bool signed_out =
      r.status < 300 && ((req.method == "DELETE" && req.route == "/api/v1/session") ||
                         req.route == "/api/v1/session/sign-out-everywhere");
  if (ended || late || e.inputs >= 2000) {
    ++g_stats.remade[ended ? "a session ended" : late ? "calling hours over" : "inputs"];
    g_env.reset();
  } else if (signed_out && who != kNobody) {
    SignIn(e, who);  // its own sign-out: sign in again
  }
  return 0;
}
