// What member e-mail holds about a member, erased (privacy::Erase), and the
// outbox purged by age (privacy retention), in the caller's transaction.
// Nothing here audits: the caller's one event carries the counts.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::messaging {

// Rows removed, by table name.
using MessagingCounts = std::map<std::string, std::int64_t>;

// The member's outbox rows (one per message addressed to them, with the
// relay's reply), bounce counter and unsubscribe history, deleted. A message
// keeps its recipient count. Unsubscribe tokens are not stored (tokens.h):
// an old link reaches only the tombstone, which is suppressed already.
Result<MessagingCounts> EraseMember(store::Tx& tx, MemberId member);

// Retention: outbox rows that finished (sent, bounced, failed or skipped:
// not queued, deferred or handed) before `before`, of messages no longer
// sending, deleted. With `dry_run`, counts and changes nothing.
Result<std::int64_t> PurgeOutbox(store::Tx& tx, Micros before, bool dry_run);

}  // namespace switchboard::messaging
