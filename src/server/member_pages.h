// Pages for members themselves, reached from the links in every message, no
// sign-in needed (the link's token is the key, and it opens only this one
// member's e-mail choices):
//   GET  /u/{token}            asks to confirm the unsubscribe (a GET never
//                              changes anything: mail scanners follow links)
//   POST /u/{token}            RFC 8058 one-click unsubscribe (also the
//                              confirm button): a campaign or endorsement
//                              message withdraws e-mail consent; a service
//                              notice sets "no e-mail at all"
//   GET  /preferences/{token}  the member's own contact choices
//   POST /preferences/{token}  saves them (form-encoded)
// Every change is recorded as a consent or suppression event and in the audit
// log, and applies at once to every later send, including messages already
// queued (the outbox re-checks at hand-off). The pages show no name, address
// or number.
#pragma once

#include "server/api.h"
#include "server/http_server.h"

namespace switchboard::server {

// `deps` must outlive the server's handlers.
void AddMemberPages(HttpServer& http, const ApiDeps& deps);

// A self-contained page for a member (no sign-in): the organisation's name
// in the title, the app's stylesheet, `body` under an <h1> of `title`
// (both escaped here; `body` is HTML the caller built).
HttpResponse MemberPage(int status, const std::string& org, const std::string& title,
                        const std::string& body);

}  // namespace switchboard::server
