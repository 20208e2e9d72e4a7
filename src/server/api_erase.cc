// Erasure from the API (docs/privacy.md): the gate decides privacy.erase over
// the member's unit, then privacy::Erase runs in the request's transaction
// with its event; after the commit the store scrubs its write-ahead log.
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "privacy/erasure.h"
#include "server/api.h"
#include "server/api_internal.h"

namespace switchboard::server {

using json = nlohmann::json;
using namespace api_internal;  // NOLINT(build/namespaces)

void Api::AddErasureHandlers() {
  handlers_["members.erase"] = [this](const ApiCall& c) { return EraseMember(c); };
}

HttpResponse Api::EraseMember(const ApiCall& call) {
  auto reason = StringField(call.body, "reason", true, 500);
  if (!reason) return StatusResponse(reason.error(), call.req.request_id);
  privacy::EraseCounts counts;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        privacy::EraseRequest r;
        r.member = call.target_member;
        r.reason = *reason;
        if (who.account.valid()) r.actor = who.account;
        r.request_id = call.req.request_id;
        SB_ASSIGN_OR_RETURN(counts, privacy::Erase(tx, *deps_.sealer, r, deps_.clock->Now()));
        return Status::Ok();
      },
      [&](const Status&) {
        const Status scrub = deps_.store->Scrub();
        if (!scrub.ok()) log::Warn("privacy", "write-ahead log not truncated", {{"error", scrub}});
        json c = json::object();
        for (const auto& [table, n] : counts) c[table] = n;
        return Json(200,
                    {{"member", call.target_member.value()}, {"status", "erased"}, {"counts", c}});
      });
}

}  // namespace switchboard::server
