// Switchboard's own mail and calls reaching a canary (docs/privacy.md, "When
// a canary is contacted"). The outbox's hand-off (messaging/outbox.h) and the
// phone bank's Connect (phonebank/operations.h) sit below this module; the
// server installs a hook in each that calls CheckOutboundContact in the
// transaction that decides the send or the call, so the alert and its audit
// event commit with that decision or not at all.
//
// Two kinds of canary are checked, both by the blind index of the address or
// number (the keyed hash contact_points and export_canaries share):
//   - an export's own canaries (privacy/leak.h): the export is named;
//   - canaries planted in the register (privacy/canary.h, the generator's):
//     a contact point of theirs on the recipient means their row left the
//     register and came back (a leaked export re-imported under another name,
//     say). Every export whose file carried that canary (its export.produce
//     event names the canary's member id) is named. One no export carried
//     raises nothing here: reading it raised anomaly.canary already.
//
// The mail or call goes ahead: canary addresses are at reserved domains (or
// the DPO's catch-all) and their numbers in Ofcom's drama ranges, so nobody
// real is reached, and a row held back would tell whoever sent it which rows
// are the canaries.
#pragma once

#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::privacy {

// Raises one severe "export.canary_touch" alert per export named (see the
// top of this file) with its "alert.raised" audit event, in `tx`. `kind` is
// "email" or "phone"; `how` says what reached it ("outbound-mail", "call").
// Returns how many alerts were raised (0 for an ordinary contact point).
Result<int> CheckOutboundContact(store::Tx& tx, std::string_view kind, std::string_view blind_index,
                                 std::string_view how, std::string_view request_id, Micros now);

}  // namespace switchboard::privacy
