// The policy in force is on the record: whenever its hash differs from the
// last one recorded, the change is written to the audit log with the new
// hash (in settings), in one transaction.
#pragma once

#include "access/policy/policy.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::access {

// Records `policy` as in force at `now` ("policy.load" the first time,
// "policy.change" after), unless it is already the one recorded.
Status RecordPolicyInForce(store::Tx& tx, const Policy& policy, Micros now);

}  // namespace switchboard::access
