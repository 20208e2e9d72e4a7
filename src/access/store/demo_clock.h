// Demo mode's clock on the record (server/demo.h): a demonstrator who moves
// the demo's clock forward does so in an audited transaction, and the
// offset is kept in settings so a restarted demo keeps its time. Sessions
// open at the move are carried forward with it, so nobody is signed out by
// days that only the clock lived through. Never used outside demo mode.
#pragma once

#include "access/policy/acting.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::access {

// Records that `who` moved the clock forward by `by` (> 0) from `who.now`,
// leaving it `offset` ahead of the system clock: "demo.clock" with the rule
// "demo_clock:<new time>", the offset in settings, and every open session's
// idle and absolute timeouts moved by `by`.
Status RecordDemoClockMove(store::Tx& tx, const Acting& who, Micros by, Micros offset);

// The offset last recorded (0 when the clock was never moved).
Result<Micros> RecordedDemoClockOffset(store::Tx& tx);

}  // namespace switchboard::access
