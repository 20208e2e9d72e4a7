// Erasing a member (RULEBOOK §10, docs/privacy.md "Erasure"): every module
// that holds personal data about the member erases it through its own
// function, in the caller's one transaction, with one audit event carrying
// the counts. What stays: the member's opaque id (a tombstone row, status
// "erased", so audit events and request records keep naming it) and, where a
// suppression must keep working, the keyed hash (blind index) of each e-mail
// address and phone number, so a re-import or a send never reaches it again.
// Audit events are never touched: they hold ids, not personal data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::privacy {

enum class EraseKind {
  kRequest,    // the member asked (or the DPO decided): always keeps suppressions
  kRetention,  // lapsed past the retention period: keeps suppressions the member had
};

struct EraseRequest {
  MemberId member;
  EraseKind kind = EraseKind::kRequest;
  std::string reason;              // the DPO's note (no personal data); stored, not audited
  std::optional<AccountId> actor;  // who erased; nullopt for the command line or the job
  std::string request_id;          // the API request, for the audit event
};

// Rows removed or rewritten, by table name (only tables with any).
using EraseCounts = std::map<std::string, std::int64_t>;

// Erases in `tx` and appends the "privacy.erase" event (rule "request" or
// "retention", members [id], field classes "table:count"). kNotFound for no
// such member; kFailedPrecondition when already erased; kInvalidArgument for
// a reason that is empty or longer than 500 bytes. After the commit, call
// Store::Scrub() so the SQLite write-ahead log keeps no earlier copy.
Result<EraseCounts> Erase(store::Tx& tx, const crypto::Sealer& sealer, const EraseRequest& request,
                          Micros now);

// One line per table, "table: n", for people.
std::string DescribeCounts(const EraseCounts& counts);

}  // namespace switchboard::privacy
