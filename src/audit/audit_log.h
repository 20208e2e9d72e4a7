// AuditLog: the append-only audit log (RULEBOOK §9), kept in the store and
// hashed as an RFC 6962 Merkle tree (audit/merkle.h) with signed checkpoints
// (audit/checkpoint.h).
//
// Storage (migration 2): audit_events holds one row per event; `seq` is the
// event's leaf index (0, 1, 2, ...), `body` the canonical bytes that are
// hashed as the leaf, and the other columns the same fields again for queries.
// audit_checkpoints holds the signed checkpoints.
//
// Transactions: Append() runs inside the caller's transaction, so an action
// and its audit event commit together or not at all. It takes the next seq as
// MAX(seq) + 1 *inside* that transaction, so a rolled-back append leaves no
// gap: the next append reuses its number. Appenders are serialised until
// commit by SQLite's single writer and, on PostgreSQL, by a transaction-level
// advisory lock (7317), so even several processes never pick the same seq.
//
// The in-memory tree: Append() does not touch it, because it cannot know
// whether the caller's transaction will commit. Instead the tree follows the
// table lazily: Sync() reads, in a committed snapshot, the events after the
// ones already folded in and appends their leaf hashes. A rolled-back event
// never reaches the table, so it can never reach the tree. Checkpoint() syncs
// first, then signs and stores the current (size, root).
//
// Verification recomputes each leaf from the stored body *and* re-encodes the
// event from its columns (a body that disagrees with its columns is
// tampering), checks that seq runs 0, 1, 2, ... with each body carrying its
// own seq, rebuilds the tree and checks every stored checkpoint's root, chain
// and signature (and, when given, the checkpoints of a witness file).
//
// Threading: an AuditLog may be shared; Sync() and Checkpoint() are
// serialised by an internal mutex; the static functions are stateless.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::audit {

// One audited action. Never holds personal data values: only ids, names and
// a truncated client address (ValidateEvent enforces their shapes).
struct Event {
  std::int64_t seq = -1;  // assigned by Append: the leaf index
  Micros at = 0;
  std::optional<std::int64_t> actor;         // the user who acted
  std::optional<std::int64_t> on_behalf_of;  // the user they acted for, if any
  std::string action;                        // e.g. "member.read" (required)
  std::string decision;                      // "allow", "deny" or empty
  std::string rule;                          // the rule that decided, or empty
  std::optional<std::int64_t> grant_id;
  std::vector<std::int64_t> members;       // target member ids
  std::vector<std::string> field_classes;  // e.g. "contact", "name"
  std::optional<std::int64_t> campaign;
  std::optional<std::int64_t> contest;
  std::optional<std::int64_t> message;  // an e-mail message (messaging/)
  std::string request_id;
  std::string client;  // a truncated client address, e.g. "203.0.113.0/24"
};

bool operator==(const Event& a, const Event& b);

// kInvalidArgument unless `e` is well formed: a non-empty action; names of at
// most 128 characters from [A-Za-z0-9._:/-] (so no e-mail address or phone
// number with spaces or '+' can slip in); field classes non-empty; a client
// of at most 48 characters from [0-9A-Fa-f.:/].
Status ValidateEvent(const Event& e);

// The canonical bytes of an event, the Merkle leaf's input: a JSON object
// with keys in ascending byte order, no whitespace, integers in decimal,
// strings JSON-escaped, and absent fields (nullopt, empty string, empty list)
// omitted. Keys: action, actor, at, campaign, client, contest, decision,
// field_classes, grant_id, members, message, on_behalf_of, request_id, rule,
// seq, v
// (the format version, 1). For example:
//   {"action":"member.read","actor":7,"at":1700000000000000,"members":[12,40],"seq":0,"v":1}
std::string Encode(const Event& e);
// As Encode(), into `out` (replacing its contents, reusing its capacity).
void EncodeTo(const Event& e, std::string& out);

struct Appended {
  std::int64_t seq = 0;
  Hash leaf_hash{};
};

struct QueryFilter {
  std::optional<std::int64_t> member;  // events whose target members include this id
  std::optional<std::int64_t> actor;
  std::optional<Micros> from;  // at >= from
  std::optional<Micros> to;    // at < to
  int limit = 1000;
};

struct VerifyOptions {
  // Checkpoints kept outside the database (a witness file): each must be
  // present in the database and match the recomputed tree.
  std::vector<SignedCheckpoint> witnessed;
};

struct VerifyReport {
  bool ok = false;
  std::uint64_t events = 0;       // events read
  std::uint64_t checkpoints = 0;  // stored checkpoints checked
  std::int64_t first_bad = -1;    // the first bad event index (or checkpoint size); -1 if ok
  std::string reason;             // e.g. "event 1234 was altered"
  Hash root{};                    // the recomputed root of all events (when ok)
};

class AuditLog {
 public:
  AuditLog() = default;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Validates the event, gives it the next seq and inserts it in `tx`.
  // Returns its seq and leaf hash. The in-memory tree is not touched (see above).
  static Result<Appended> Append(store::Tx& tx, Event event);

  // Folds committed events not yet in the in-memory tree into it. kDataLoss
  // if the stored rows after the tree are not a contiguous run.
  Status Sync(store::Store& store);
  // The in-memory tree's size and root (as of the last Sync).
  std::uint64_t size() const;
  Hash root() const;

  // Syncs, then signs (size, root, now) and stores the checkpoint, chained to
  // the previous one. When nothing was appended since the last checkpoint,
  // returns that one unchanged. kFailedPrecondition when the stored
  // checkpoints are ahead of this log (another sequencer is running).
  Result<SignedCheckpoint> Checkpoint(store::Store& store, const SigningKey& key,
                                      const Clock& clock);

  // Checks the whole log (see above). An error Result only for a storage
  // failure; tampering is reported in the VerifyReport.
  static Result<VerifyReport> Verify(store::Tx& tx, const VerifyKey& key,
                                     const VerifyOptions& options = {});

  // The inclusion proof of event `seq` in the tree of the first `size` events.
  static Result<std::vector<Hash>> Prove(store::Tx& tx, std::int64_t seq, std::int64_t size);
  // The consistency proof between the trees of the first m and first n events.
  static Result<std::vector<Hash>> Consistency(store::Tx& tx, std::int64_t m, std::int64_t n);
  // The root of the first `size` events, recomputed from the stored bodies.
  static Result<Hash> RootAt(store::Tx& tx, std::int64_t size);
  // The stored checkpoints, oldest first.
  static Result<std::vector<SignedCheckpoint>> Checkpoints(store::Tx& tx);

  // Events matching `filter`, in seq order.
  static Result<std::vector<Event>> Query(store::Tx& tx, const QueryFilter& filter);

 private:
  mutable std::mutex mu_;
  CompactTree tree_;  // GUARDED_BY(mu_): committed events 0 .. tree_.size()-1
};

}  // namespace switchboard::audit
