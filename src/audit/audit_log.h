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
// Within one transaction (a group of Write()s) the next seq is read once and
// then kept as a store memo, which the store forgets on every rollback, whole
// or to a savepoint, and at commit.
//
// The in-memory tree: Append() does not touch it, because it cannot know
// whether the caller's transaction will commit. Instead the tree follows the
// table lazily: Sync() reads, in a committed snapshot, the events after the
// ones already folded in and appends their leaf hashes. A rolled-back event
// never reaches the table, so it can never reach the tree. Checkpoint() syncs
// first, then signs and stores the current (size, root).
//
// The checkpoint log (audit/checkpoint_log.h): every checkpoint signed is
// also appended to files outside the database. Someone with write access to
// the database can rewrite events and the checkpoints stored beside them, but
// not those files. So Checkpoint() refuses to sign a tree that is not an
// extension of the newest checkpoint there: while it folds events into the
// tree, it compares the root at each such checkpoint's size with the signed
// one, and it checks the database still holds at least that many events.
// Check() does the same without signing (serve, at start); Preflight() does
// the part that reads no event (every command, at start).
//
// Verification recomputes each leaf from the stored body *and* re-encodes the
// event from its columns (a body that disagrees with its columns is
// tampering), checks that seq runs 0, 1, 2, ... with each body carrying its
// own seq, rebuilds the tree and checks every stored checkpoint's root, chain
// and signature, and every checkpoint of the checkpoint log and of a witness
// file: each must verify, be stored in the database too, and match the
// rebuilt tree at its size; the database must hold at least as many events.
//
// Threading: an AuditLog may be shared; Sync(), Check() and Checkpoint() are
// serialised by an internal mutex; the static functions are stateless.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/checkpoint_log.h"
#include "audit/merkle.h"
#include "core/clock.h"
#include "core/mutex.h"
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

// An event validated, encoded and hashed up to its seq, before the
// transaction that appends it (AuditLog::Prepare). Preparing on the calling
// thread leaves the writer thread, which runs every caller's transaction in
// turn, only the seq to splice in, the last block of the leaf hash and the
// row to insert. Append() reads it without using it up: a Write() callback
// may run twice. Movable; not thread-safe.
class PreparedEvent {
 public:
  PreparedEvent(PreparedEvent&&) = default;
  PreparedEvent& operator=(PreparedEvent&&) = default;

 private:
  friend class AuditLog;
  using Params = std::array<store::Value, 16>;  // the INSERT's, in its order
  PreparedEvent(std::string head, Params params)
      : head_(std::move(head)), hash_(head_), params_(std::move(params)) {}

  std::string head_;      // Encode()'s bytes before the seq
  PartialLeafHash hash_;  // the leaf hash of head_, to finish with the seq
  Params params_;         // seq and body set by each Append
};

struct QueryFilter {
  std::optional<std::int64_t> member;  // events whose target members include this id
  std::optional<std::int64_t> actor;
  std::optional<Micros> from;  // at >= from
  std::optional<Micros> to;    // at < to
  std::string action;          // exactly this action, when not empty
  int limit = 1000;
};

// Which reads to gather for Revealed(): the allowed events of one account,
// or of one campaign, within [from, to). One of actor and campaign is needed.
struct RevealFilter {
  std::optional<std::int64_t> actor;
  std::optional<std::int64_t> campaign;
  Micros from = 0;
  Micros to = 0;
};

// One member whose data the matching events revealed: the field classes
// revealed (sorted) and how many events named them.
struct RevealedMember {
  std::int64_t member = 0;
  std::vector<std::string> field_classes;
  std::int64_t events = 0;
};

// Checkpoints kept outside the database, and where they came from.
struct CheckpointSource {
  std::string name;  // e.g. "the witness file /mnt/w/witness.txt"
  std::vector<SignedCheckpoint> checkpoints;
};

struct VerifyOptions {
  // Each of these checkpoints must verify, be stored in the database too and
  // match the recomputed tree at its size.
  std::vector<CheckpointSource> external;
  // The checkpoint log's files (CheckpointLog::ReadAll, read before the
  // transaction began), checked the same way. A file that does not exist
  // fails verification once the database holds a checkpoint; a malformed line
  // fails it, except a last line cut short by a crash.
  std::vector<CheckpointLog::File> checkpoint_log;
};

struct VerifyReport {
  bool ok = false;
  std::uint64_t events = 0;                // events read
  std::uint64_t checkpoints = 0;           // stored checkpoints checked
  std::uint64_t external_checkpoints = 0;  // checkpoints outside the database checked
  // The first bad event index (or checkpoint size); -1 if ok, or when the
  // problem is not at an index (a checkpoint log that is missing or corrupt).
  std::int64_t first_bad = -1;
  std::string reason;              // e.g. "event 1234 was altered"
  std::vector<std::string> notes;  // harmless findings, e.g. a torn last line
  Hash root{};                     // the recomputed root of all events (when ok)
};

class AuditLog {
 public:
  AuditLog() = default;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Validates the event, gives it the next seq and inserts it in `tx`.
  // Returns its seq and leaf hash. The in-memory tree is not touched (see above).
  static Result<Appended> Append(store::Tx& tx, Event event);
  // The same in two steps: Prepare() validates and encodes (kInvalidArgument
  // as Append), outside the transaction; Append() gives the prepared event
  // the next seq and inserts it. The next seq is read once per transaction
  // (MAX(seq) + 1) and then kept as a store memo (store.h), which the store
  // forgets on any rollback, so a rolled-back append never leaves a gap.
  static Result<PreparedEvent> Prepare(Event event);
  static Result<Appended> Append(store::Tx& tx, PreparedEvent& event);

  // Ties this log to its checkpoint log (not owned; must outlive this).
  // Without one, checkpoints are only stored in the database.
  void SetCheckpointLog(const CheckpointLog* checkpoint_log);

  // The checks that read no event. Each file of the checkpoint log must exist:
  // a missing one is created while the database holds no checkpoint, and is
  // kFailedPrecondition after (see `switchboard audit adopt`). The newest
  // checkpoint in each must verify, and the database must hold at least as
  // many events as the largest (kDataLoss: rolled back or cut short).
  Status Preflight(store::Store& store, const VerifyKey& key);
  // Preflight(), then folds the committed events into the tree, checking it
  // against every newest checkpoint of the checkpoint log on the way
  // (kDataLoss naming the events that differ). Costs what the first
  // Checkpoint() would: one read of every event body.
  Status Check(store::Store& store, const VerifyKey& key);
  // The first kDataLoss or kFailedPrecondition found by the checks above, or
  // OK. Once set, Check() and Checkpoint() return it: this process signs
  // nothing more.
  Status integrity() const;

  // Folds committed events not yet in the in-memory tree into it. kDataLoss
  // if the stored rows after the tree are not a contiguous run.
  Status Sync(store::Store& store);
  // The in-memory tree's size and root (as of the last Sync).
  std::uint64_t size() const;
  Hash root() const;

  // Check()s and syncs, then signs (size, root, now) and stores the
  // checkpoint, chained to the previous one, and appends it to the checkpoint
  // log. When nothing was appended since the last checkpoint, returns that
  // one unchanged (after checking its root and signature, and copying it to
  // any file of the checkpoint log that lacks it). kFailedPrecondition when
  // the stored checkpoints are ahead of this log (another sequencer is
  // running) or the log is empty.
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
  // The leaf hashes of the first `size` events, read once, for many proofs
  // at the cost of one (the subject-access report's, the witness export's).
  static Result<ProofIndex> LoadTree(store::Tx& tx, std::int64_t size);
  // The newest stored checkpoint with its previous size (nullopt: none yet).
  static Result<std::optional<SignedCheckpoint>> NewestCheckpoint(store::Tx& tx);
  // The event at `seq`, from its columns (kNotFound when there is none).
  static Result<Event> EventAt(store::Tx& tx, std::int64_t seq);
  // The root of the first `size` events, recomputed from the stored bodies.
  static Result<Hash> RootAt(store::Tx& tx, std::int64_t size);
  // The stored checkpoints, oldest first.
  static Result<std::vector<SignedCheckpoint>> Checkpoints(store::Tx& tx);
  // How many events the log holds, and the size of its newest checkpoint (0
  // when none).
  static Result<std::int64_t> Size(store::Tx& tx);
  static Result<std::int64_t> CheckpointedSize(store::Tx& tx);
  // The tree size and signing time of the newest checkpoint (nullopt: none yet).
  struct LatestCheckpointInfo {
    std::int64_t tree_size = 0;
    Micros at = 0;
  };
  static Result<std::optional<LatestCheckpointInfo>> LatestCheckpoint(store::Tx& tx);

  // Events matching `filter`, in seq order.
  static Result<std::vector<Event>> Query(store::Tx& tx, const QueryFilter& filter);

  // The members whose data the allowed events matching `filter` revealed, in
  // member order: an event counts when it was allowed and names both members
  // and field classes (a search page, a view, a contact read, a phone-bank
  // contact, an export). Refusals and events that reveal no field (alerts,
  // audit queries) do not. For the breach register (privacy/breach.h).
  static Result<std::vector<RevealedMember>> Revealed(store::Tx& tx, const RevealFilter& filter);

  // Reads of member data (events that count for Revealed) in [from, to), by
  // UTC day (days since 1970-01-01) and the grant that allowed them (0: no
  // grant named): how many events and how many member records they named.
  // For the DPO console's charts.
  struct DailyReads {
    std::int64_t day = 0;
    std::int64_t grant = 0;
    std::int64_t events = 0;
    std::int64_t records = 0;
  };
  static Result<std::vector<DailyReads>> ReadsByDay(store::Tx& tx, Micros from, Micros to);

 private:
  struct Anchor;
  struct Heads;
  Result<Heads> PreflightLocked(store::Store& store, const VerifyKey& key) SB_REQUIRES(mu_);
  Status CheckLocked(store::Store& store, const VerifyKey& key) SB_REQUIRES(mu_);
  Status SyncChecked(store::Store& store, const std::vector<Anchor>& anchors) SB_REQUIRES(mu_);
  Status Broken(Status st) SB_REQUIRES(mu_);

  mutable Mutex mu_;
  CompactTree tree_ SB_GUARDED_BY(mu_);  // committed events 0 .. tree_.size()-1
  const CheckpointLog* checkpoint_log_ SB_GUARDED_BY(mu_) = nullptr;
  // Roots this process signed or checked, by tree size (the latest few), to
  // check a checkpoint log entry at a size the tree has passed.
  std::map<std::uint64_t, Hash> known_roots_ SB_GUARDED_BY(mu_);
  // The checkpoint last returned by Checkpoint().
  std::optional<SignedCheckpoint> last_ SB_GUARDED_BY(mu_);
  Status broken_ SB_GUARDED_BY(mu_);
};

// `switchboard audit adopt`: makes the checkpoint log agree with the database
// again, on purpose and on the record. For a deployment older than checkpoint
// logs, a file added to [audit] checkpoint_logs, or a database restored from
// a backup older than the log. The database must pass verification on its
// own. Each file that is missing is written from the database's checkpoints;
// each that disagrees with the database is renamed "<path>.superseded-<time>"
// (kept: it shows what was lost) and written afresh. Each change is an audit
// event (action "audit.adopt", rule "checkpoint_log.created" or
// "checkpoint_log.replaced:<size of its newest checkpoint>"), and a checkpoint
// over them is signed and appended. `log` must be tied to `checkpoint_log`.
struct AdoptReport {
  std::vector<std::string> created;
  std::vector<std::string> replaced;  // the paths the old files were renamed to
  std::vector<std::string> kept;
};
Result<AdoptReport> AdoptCheckpointLog(store::Store& store, AuditLog& log,
                                       const CheckpointLog& checkpoint_log, const SigningKey& key,
                                       const Clock& clock);

}  // namespace switchboard::audit
