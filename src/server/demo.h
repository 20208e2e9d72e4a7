// The demo's phone bank (issue 5): an organiser who runs a live campaign in
// one constituency, a volunteer who has joined it through an invitation and
// verified a (sandbox) phone, and the invitation link itself — so a newcomer
// can sign in as either and try the whole flow. Passwords are random and
// printed once; everything is synthetic and on the record.
#pragma once

#include <string>

#include "server/app.h"

namespace switchboard::server {

struct DemoPhonebank {
  std::string organiser_login, organiser_password;
  std::string volunteer_login, volunteer_password;
  std::string unit_name;
  std::int64_t campaign = 0;
  std::int64_t targets = 0;
  std::string invite_path;  // /join/<token>
};

// Also widens the demo's calling hours to the whole day, so the demo works
// whenever it is run (written into the demo's own policy.toml, with a note).
Result<DemoPhonebank> SetUpDemoPhonebank(App& app);

// A welcome e-mail from the organiser to the demo constituency's members who
// consent to e-mail, sent (queued) so the outbox has something to deliver to
// the demo's SMTP capture. Returns the number of recipients queued.
Result<std::int64_t> SendDemoMessage(App& app, const std::string& organiser_login);

// The policy text with calling hours of 00:00-24:00 (demo only).
std::string DemoPolicyToml();

}  // namespace switchboard::server
