// The demo's phone bank (issue 5): an organiser who runs a live campaign in
// one constituency, a volunteer who has joined it through an invitation and
// verified a (sandbox) phone, and the invitation link itself — so a newcomer
// can sign in as either and try the whole flow. The demo's contest (issue
// 15): a leadership contest in the 2020 shape with nominations open, and
// demo mode's clock, which a returning officer moves forward through its
// timeline. Passwords are random and printed once; everything is synthetic
// and on the record.
#pragma once

#include <string>
#include <vector>

#include "server/api.h"
#include "server/api_routes.h"
#include "server/app.h"
#include "server/http_server.h"

namespace switchboard::server {

struct DemoPhonebank {
  std::string organiser_login, organiser_password;
  std::string volunteer_login, volunteer_password;
  std::string unit_name;
  std::int64_t campaign = 0;
  std::int64_t targets = 0;
  std::string invite_path;      // /join/<token>
  std::int64_t demo_calls = 0;  // made by the demo's callers over the last two days
};

// The organiser is a staff account, so the contest's neutrality binds it.
// Also widens the demo's calling hours to the whole day, so the demo works
// whenever it is run (written into the demo's own policy.toml, with a note).
Result<DemoPhonebank> SetUpDemoPhonebank(App& app);

// A welcome e-mail from the organiser to the demo constituency's members who
// consent to e-mail, sent (queued) so the outbox has something to deliver to
// the demo's SMTP capture. Returns the number of recipients queued.
Result<std::int64_t> SendDemoMessage(App& app, const std::string& organiser_login);

// The policy text with calling hours of 00:00-24:00 (demo only).
std::string DemoPolicyToml();

// The demo's data-protection officer (issue 18): an account with the "dpo"
// role over the whole organisation and a second factor (the role is
// privileged), and a dashboard with something on it: two demo callers
// suspended by the probing rule after twenty refused member look-ups each
// (open alerts, recorded as through the API), and a breach recorded a day
// ago, its affected members worked out from the first demo caller's reads
// over the last three days. Call after SetUpDemoPhonebank.
struct DemoDpo {
  std::string login, password;
  std::string totp_secret;             // base32, for an authenticator app
  std::string totp_uri;                // otpauth://
  std::vector<std::string> suspended;  // logins
  std::int64_t breach = 0;
  std::int64_t affected = 0;
};
Result<DemoDpo> SetUpDemoDpo(App& app);

struct DemoContest {
  struct Login {
    std::string login, password;
    std::string part;  // "returning officer", "procedures committee", "campaign of <name>"
  };
  std::string slug, name;
  std::vector<Login> accounts;
  // One line per candidate: "Inès Vauquelin: qualifies (nominated by 23
  // mps, 14 clps, 3 affiliates)".
  std::vector<std::string> standing;
  Micros nominations_close = 0, ballot_open = 0, ballot_close = 0;
};

// The demo's contest (contest::ExampleRulebookToml), announced ten days
// before now: nominations have been open for nine days and close in four,
// data release is at their close, the ballot opens a week after and closes
// three weeks later. Creates the returning officer (staff, with a "staff"
// grant over the whole organisation: contest.manage and message.approve),
// the procedures committee's account and one campaign account per
// candidate (no grants: data release gives them theirs), loads the rulebook as
// the returning officer and records nominations through ContestOperations
// so that two candidates qualify — one through constituency parties, one
// through affiliates — and the third falls a few nominations short.
Result<DemoContest> SetUpDemoContest(App& app);

// Demo mode's routes (only when app.demo(); a server without them answers
// 404). Both need a signed-in session holding contest.manage, checked by
// the API's own steps (Api::Serve):
//   GET  /demo/clock  {"now": RFC 3339, "offset_seconds": N}
//   POST /demo/clock  {"advance_seconds": N} (1 s to 90 days) or
//                     {"to": RFC 3339, after now and at most 90 days ahead}
//                     -> {"now", "offset_seconds", "released"}
// A move is recorded ("demo.clock", access/store/demo_clock.h) before the
// clock moves, and contests due for data release get it at once.
inline constexpr ApiRoute kDemoRoutes[] = {
    {"demo.clock.get", "GET", "/demo/clock", RouteAuth::kCapability, "contest.manage",
     RouteTarget::kNone, "Demo mode: the demo clock's time and how far ahead it is"},
    {"demo.clock.move", "POST", "/demo/clock", RouteAuth::kCapability, "contest.manage",
     RouteTarget::kNone, "Demo mode: move the demo clock forward"},
};
inline constexpr Micros kDemoClockMaxMove = 90 * kMicrosPerDay;

// `http`, `api` and `app` must outlive the server's handlers. Does nothing
// outside demo mode.
void AddDemoRoutes(HttpServer& http, Api& api, App& app);

}  // namespace switchboard::server
