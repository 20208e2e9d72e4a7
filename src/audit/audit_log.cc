#include "audit/audit_log.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "core/json.h"

namespace switchboard::audit {

namespace {

using store::Row;
using store::Tx;
using store::Value;

constexpr int kMaxNameChars = 128;
constexpr int kMaxClientChars = 48;

// The columns of audit_events in the order EventFromRow reads them.
constexpr const char* kSelectEvents =
    "SELECT seq, at, actor, on_behalf_of, action, decision, rule, grant_id, members, "
    "field_classes, campaign, contest, request_id, client, body, message FROM audit_events";
constexpr int kBodyColumn = 14;

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '/' || c == '-';
}

bool IsClientChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
         c == ':' || c == '/';
}

Status CheckName(std::string_view what, std::string_view v, bool required) {
  if (v.empty()) {
    if (required) return Status::InvalidArgument("an audit event needs " + std::string(what));
    return Status::Ok();
  }
  if (v.size() > kMaxNameChars) {
    return Status::InvalidArgument("the audit event's " + std::string(what) + " is longer than " +
                                   std::to_string(kMaxNameChars) + " characters");
  }
  for (char c : v) {
    if (!IsNameChar(c)) {
      return Status::InvalidArgument("the audit event's " + std::string(what) +
                                     " may hold only letters, digits and . _ : / -");
    }
  }
  return Status::Ok();
}

void AppendInt(std::string& s, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, end);
}

std::string JoinInts(const std::vector<std::int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    AppendInt(s, v[i]);
  }
  return s;
}

std::string JoinStrings(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += v[i];
  }
  return s;
}

bool ParseInts(std::string_view text, std::vector<std::int64_t>& out) {
  out.clear();
  if (text.empty()) return true;
  size_t pos = 0;
  while (true) {
    const size_t comma = text.find(',', pos);
    const std::string_view part =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || p != part.data() + part.size()) return false;
    out.push_back(v);
    if (comma == std::string_view::npos) return true;
    pos = comma + 1;
  }
}

// Splits at commas, reusing the strings already in `out`.
void SplitStrings(std::string_view text, std::vector<std::string>& out) {
  size_t n = 0;
  auto add = [&](std::string_view part) {
    if (n < out.size()) {
      out[n].assign(part);
    } else {
      out.emplace_back(part);
    }
    ++n;
  };
  if (!text.empty()) {
    size_t pos = 0;
    while (true) {
      const size_t comma = text.find(',', pos);
      if (comma == std::string_view::npos) {
        add(text.substr(pos));
        break;
      }
      add(text.substr(pos, comma - pos));
      pos = comma + 1;
    }
  }
  out.resize(n);
}

void AssignText(const Row& row, int col, std::string& out) {
  if (row.IsNull(col)) {
    out.clear();
  } else {
    out.assign(row.Text(col));
  }
}

std::optional<std::int64_t> OptInt(const Row& row, int col) {
  if (row.IsNull(col)) return std::nullopt;
  return row.Int(col);
}

// Rebuilds an event from its columns; false when a list column is malformed.
bool EventFromRow(const Row& row, Event& e) {
  e.seq = row.Int(0);
  e.at = row.Int(1);
  e.actor = OptInt(row, 2);
  e.on_behalf_of = OptInt(row, 3);
  AssignText(row, 4, e.action);
  AssignText(row, 5, e.decision);
  AssignText(row, 6, e.rule);
  e.grant_id = OptInt(row, 7);
  const bool members_ok = ParseInts(row.IsNull(8) ? std::string_view() : row.Text(8), e.members);
  SplitStrings(row.IsNull(9) ? std::string_view() : row.Text(9), e.field_classes);
  e.campaign = OptInt(row, 10);
  e.contest = OptInt(row, 11);
  AssignText(row, 12, e.request_id);
  AssignText(row, 13, e.client);
  e.message = OptInt(row, 15);
  return members_ok;
}

Value OrNull(const std::optional<std::int64_t>& v) { return v ? Value(*v) : Value(); }
Value OrNull(std::string&& v) { return v.empty() ? Value() : Value(std::move(v)); }

// The seq written inside a body, if the body is JSON with an integer "seq".
// Bodies are read back from a database an attacker may have written, so
// under the common limits (an event is one flat object).
std::optional<std::int64_t> SeqInBody(std::string_view body) {
  auto parsed = ParseJson(body, {.max_depth = 4});
  if (!parsed) return std::nullopt;
  const nlohmann::json& j = *parsed;
  if (!j.is_object()) return std::nullopt;
  auto it = j.find("seq");
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

// Leaf hashes of events 0 .. size-1, checking that they are all there.
Result<std::vector<Hash>> LoadLeaves(Tx& tx, std::int64_t size) {
  std::vector<Hash> leaves;
  leaves.reserve(static_cast<size_t>(std::max<std::int64_t>(size, 0)));
  bool gap = false;
  SB_RETURN_IF_ERROR(tx.Query("SELECT seq, body FROM audit_events WHERE seq < $1 ORDER BY seq",
                              {size}, [&](const Row& row) {
                                if (row.Int(0) != static_cast<std::int64_t>(leaves.size())) {
                                  gap = true;
                                  return false;
                                }
                                leaves.push_back(LeafHash(row.Bytes(1)));
                                return true;
                              }));
  if (gap) {
    return Status::DataLoss("audit event " + std::to_string(leaves.size()) +
                            " is missing; run audit verify");
  }
  if (static_cast<std::int64_t>(leaves.size()) < size) {
    return Status::NotFound("the audit log has only " + std::to_string(leaves.size()) +
                            " events, not " + std::to_string(size));
  }
  return leaves;
}

// A stored checkpoint; previous_size comes from the row before it.
struct StoredCheckpoint {
  SignedCheckpoint signed_cp;
  bool root_ok = true;       // the stored root is 32 bytes
  std::string note;          // the stored signed note (format 2)
  std::string note_problem;  // why the stored note does not fit the row, or empty
  bool note_malformed = false;
};

constexpr const char* kCheckpointColumns =
    "SELECT tree_size, root, at, key_id, signature, format, note FROM audit_checkpoints ";

// A signed note is stored whole and must say what its row says, the
// previous size (from the row before) included.
void CheckNote(StoredCheckpoint& s) {
  if (s.signed_cp.format != CheckpointFormat::kSignedNote) return;
  const std::string where =
      "checkpoint at size " + std::to_string(s.signed_cp.checkpoint.tree_size);
  auto parsed = ParseSignedNote(s.note);
  if (!parsed) {
    s.note_problem = where + ": its stored note is malformed: " + parsed.error().message();
    s.note_malformed = true;
    return;
  }
  s.signed_cp.key_hash = parsed->key_hash;
  if (FormatSignedNote(s.signed_cp) != s.note) {
    s.note_problem = where + ": its stored note and its row disagree";
  }
}

// A row of kCheckpointColumns; the caller sets previous_size, then CheckNote.
StoredCheckpoint CheckpointFromRow(const Row& row) {
  StoredCheckpoint s;
  Checkpoint& cp = s.signed_cp.checkpoint;
  cp.tree_size = static_cast<std::uint64_t>(row.Int(0));
  auto root = HashFromBytes(row.Bytes(1));
  s.root_ok = root.has_value();
  if (root) cp.root = *root;
  cp.time = row.Int(2);
  cp.key_id = std::string(row.Text(3));
  s.signed_cp.signature = std::string(row.Bytes(4));
  s.signed_cp.format = row.Int(5) == static_cast<int>(CheckpointFormat::kLegacy)
                           ? CheckpointFormat::kLegacy
                           : CheckpointFormat::kSignedNote;
  if (!row.IsNull(6)) s.note = std::string(row.Text(6));
  return s;
}

Result<std::vector<StoredCheckpoint>> LoadCheckpoints(Tx& tx) {
  std::vector<StoredCheckpoint> out;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string(kCheckpointColumns) + "ORDER BY tree_size", {}, [&](const Row& row) {
        StoredCheckpoint s = CheckpointFromRow(row);
        s.signed_cp.checkpoint.previous_size =
            out.empty() ? 0 : out.back().signed_cp.checkpoint.tree_size;
        CheckNote(s);
        out.push_back(std::move(s));
        return true;
      }));
  return out;
}

}  // namespace

bool operator==(const Event& a, const Event& b) {
  return a.seq == b.seq && a.at == b.at && a.actor == b.actor && a.on_behalf_of == b.on_behalf_of &&
         a.action == b.action && a.decision == b.decision && a.rule == b.rule &&
         a.grant_id == b.grant_id && a.members == b.members && a.field_classes == b.field_classes &&
         a.campaign == b.campaign && a.contest == b.contest && a.message == b.message &&
         a.request_id == b.request_id && a.client == b.client;
}

Status ValidateEvent(const Event& e) {
  SB_RETURN_IF_ERROR(CheckName("action", e.action, true));
  SB_RETURN_IF_ERROR(CheckName("decision", e.decision, false));
  SB_RETURN_IF_ERROR(CheckName("rule", e.rule, false));
  SB_RETURN_IF_ERROR(CheckName("request id", e.request_id, false));
  for (const std::string& fc : e.field_classes) {
    SB_RETURN_IF_ERROR(CheckName("field class", fc, true));
  }
  if (e.client.size() > kMaxClientChars) {
    return Status::InvalidArgument("the audit event's client address is too long");
  }
  for (char c : e.client) {
    if (!IsClientChar(c)) {
      return Status::InvalidArgument("the audit event's client must be a truncated address");
    }
  }
  return Status::Ok();
}

std::string Encode(const Event& e) {
  std::string s;
  s.reserve(256);
  EncodeTo(e, s);
  return s;
}

namespace {

// Writes JSON into a buffer sized in advance (no per-character growth checks).
class JsonWriter {
 public:
  explicit JsonWriter(char* p) : p_(p) {}
  char* end() const { return p_; }

  void Raw(char c) { *p_++ = c; }
  void Raw(std::string_view v) {
    std::memcpy(p_, v.data(), v.size());
    p_ += v.size();
  }
  // `"key":`, preceded by a comma unless it is the first key.
  void Key(std::string_view k) {
    if (!first_) Raw(',');
    first_ = false;
    Raw('"');
    Raw(k);
    Raw("\":");
  }
  void Int(std::int64_t v) { p_ = std::to_chars(p_, p_ + 24, v).ptr; }
  void String(std::string_view v) {
    static constexpr char kHex[] = "0123456789abcdef";
    Raw('"');
    for (char c : v) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        Raw('\\');
        Raw(c);
      } else if (u < 0x20) {
        Raw("\\u00");
        Raw(kHex[u >> 4]);
        Raw(kHex[u & 0xf]);
      } else {
        Raw(c);
      }
    }
    Raw('"');
  }

 private:
  char* p_;
  bool first_ = true;
};

}  // namespace

namespace {

// Encode()'s bytes up to the seq: `{"action":...` through "rule", without
// the closing brace. Every key after "rule" is "seq" or "v".
void EncodeHeadTo(const Event& e, std::string& s) {
  // An upper bound: keys and integers take under 400 bytes; a string at
  // most 6 bytes per byte (\u00XX) plus quotes and a comma.
  size_t bound = 400 + 21 * e.members.size();
  for (const std::string* v : {&e.action, &e.client, &e.decision, &e.request_id, &e.rule}) {
    bound += 6 * v->size() + 3;
  }
  for (const std::string& v : e.field_classes) bound += 6 * v.size() + 3;
  s.resize(bound);
  JsonWriter w(s.data());
  w.Raw('{');
  auto opt_int = [&](std::string_view k, const std::optional<std::int64_t>& v) {
    if (!v) return;
    w.Key(k);
    w.Int(*v);
  };
  auto str = [&](std::string_view k, const std::string& v) {
    if (v.empty()) return;
    w.Key(k);
    w.String(v);
  };
  // Keys in ascending byte order.
  str("action", e.action);
  opt_int("actor", e.actor);
  opt_int("at", e.at);
  opt_int("campaign", e.campaign);
  str("client", e.client);
  opt_int("contest", e.contest);
  str("decision", e.decision);
  if (!e.field_classes.empty()) {
    w.Key("field_classes");
    w.Raw('[');
    for (size_t i = 0; i < e.field_classes.size(); ++i) {
      if (i) w.Raw(',');
      w.String(e.field_classes[i]);
    }
    w.Raw(']');
  }
  opt_int("grant_id", e.grant_id);
  if (!e.members.empty()) {
    w.Key("members");
    w.Raw('[');
    for (size_t i = 0; i < e.members.size(); ++i) {
      if (i) w.Raw(',');
      w.Int(e.members[i]);
    }
    w.Raw(']');
  }
  opt_int("message", e.message);
  opt_int("on_behalf_of", e.on_behalf_of);
  str("request_id", e.request_id);
  str("rule", e.rule);
  s.resize(static_cast<size_t>(w.end() - s.data()));
}

// The rest of the encoding after a head of `head_size` bytes: the seq, the
// format version and the closing brace. At most 40 bytes.
size_t EncodeTail(size_t head_size, std::int64_t seq, char* out) {
  char* p = out;
  if (head_size > 1) *p++ = ',';
  constexpr std::string_view kSeq = "\"seq\":";
  p = std::copy(kSeq.begin(), kSeq.end(), p);
  p = std::to_chars(p, p + 20, seq).ptr;
  constexpr std::string_view kEnd = ",\"v\":1}";
  p = std::copy(kEnd.begin(), kEnd.end(), p);
  return static_cast<size_t>(p - out);
}
constexpr size_t kMaxTail = 40;

// The INSERT's parameters, in its order.
enum Param { kSeqParam = 0, kBodyParam = 14 };

Result<std::int64_t> NextSeq(Tx& tx) {
  if (auto next = tx.GetMemo(Tx::Memo::kAuditNextSeq)) return *next;
  if (tx.dialect() == store::Dialect::kPostgres) {
    // Serialises appenders across connections and processes until commit, so
    // two transactions never pick the same seq (held to the end of the
    // transaction: the memo stands for it after the first append).
    SB_RETURN_IF_ERROR(tx.Exec("SELECT pg_advisory_xact_lock(7317)").status());
  }
  return tx.QueryInt("SELECT COALESCE(MAX(seq), -1) + 1 FROM audit_events");
}

}  // namespace

void EncodeTo(const Event& e, std::string& s) {
  EncodeHeadTo(e, s);
  const size_t head = s.size();
  s.resize(head + kMaxTail);
  s.resize(head + EncodeTail(head, e.seq, s.data() + head));
}

Result<PreparedEvent> AuditLog::Prepare(Event event) {
  SB_RETURN_IF_ERROR(ValidateEvent(event));
  std::string head;
  EncodeHeadTo(event, head);
  PreparedEvent::Params params = {
      Value(),  // seq
      Value(event.at),
      OrNull(event.actor),
      OrNull(event.on_behalf_of),
      Value(std::move(event.action)),
      OrNull(std::move(event.decision)),
      OrNull(std::move(event.rule)),
      OrNull(event.grant_id),
      event.members.empty() ? Value() : Value(JoinInts(event.members)),
      event.field_classes.empty() ? Value() : Value(JoinStrings(event.field_classes)),
      OrNull(event.campaign),
      OrNull(event.contest),
      OrNull(std::move(event.request_id)),
      OrNull(std::move(event.client)),
      Value(),  // body
      OrNull(event.message)};
  return PreparedEvent(std::move(head), std::move(params));
}

Result<Appended> AuditLog::Append(Tx& tx, Event event) {
  SB_ASSIGN_OR_RETURN(PreparedEvent prepared, Prepare(std::move(event)));
  return Append(tx, prepared);
}

Result<Appended> AuditLog::Append(Tx& tx, PreparedEvent& event) {
  SB_ASSIGN_OR_RETURN(const std::int64_t seq, NextSeq(tx));
  char tail[kMaxTail];
  const std::string_view tail_view(tail, EncodeTail(event.head_.size(), seq, tail));
  std::string body;
  body.reserve(event.head_.size() + tail_view.size());
  body.append(event.head_).append(tail_view);
  Appended out{seq, event.hash_.Finish(tail_view)};
  event.params_[kSeqParam] = seq;
  event.params_[kBodyParam] = Value::Bytes(std::move(body));
  SB_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO audit_events (seq, at, actor, on_behalf_of, action, "
              "decision, rule, grant_id, members, field_classes, campaign, "
              "contest, request_id, client, body, message) VALUES ($1, $2, $3, $4, $5, "
              "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
              store::Params(event.params_.data(), event.params_.size())));
  tx.SetMemo(Tx::Memo::kAuditNextSeq, seq + 1);
  return out;
}

namespace {

// Folds committed events at and after tree.size() into `tree`.
Status SyncTree(store::Store& store, CompactTree& tree) {
  return store.Read([&](Tx& tx) {
    bool gap = false;
    SB_RETURN_IF_ERROR(tx.Query("SELECT seq, body FROM audit_events WHERE seq >= $1 ORDER BY seq",
                                {static_cast<std::int64_t>(tree.size())}, [&](const Row& row) {
                                  if (row.Int(0) != static_cast<std::int64_t>(tree.size())) {
                                    gap = true;
                                    return false;
                                  }
                                  tree.Append(LeafHash(row.Bytes(1)));
                                  return true;
                                }));
    if (gap) {
      return Status::DataLoss("audit event " + std::to_string(tree.size()) +
                              " is missing from the store; run audit verify");
    }
    return Status::Ok();
  });
}

}  // namespace

Status AuditLog::Sync(store::Store& store) {
  MutexLock lock(mu_);
  return SyncTree(store, tree_);
}

std::uint64_t AuditLog::size() const {
  MutexLock lock(mu_);
  return tree_.size();
}

Hash AuditLog::root() const {
  MutexLock lock(mu_);
  return tree_.Root();
}

namespace {

std::string N(std::uint64_t v) { return std::to_string(v); }

// Two copies of the same signed checkpoint.
bool SameCheckpoint(const SignedCheckpoint& a, const SignedCheckpoint& b) {
  return a.signature == b.signature && a.format == b.format && a.key_hash == b.key_hash &&
         a.checkpoint.Encode() == b.checkpoint.Encode();
}

// The plain message for a log shorter than a checkpoint signed over it.
std::string ShorterThanSigned(std::uint64_t events, std::uint64_t size, const std::string& where) {
  const std::string held = events == 0
                               ? "the database holds no audit events"
                               : "the audit log in the database ends at event " + N(events - 1);
  const std::string gone = events + 1 == size
                               ? "event " + N(events) + " was deleted"
                               : "events " + N(events) + " to " + N(size - 1) + " were deleted";
  return held + ", but the checkpoint at size " + N(size) + where + " covers events up to " +
         N(size - 1) + ": " + gone + ", or the database was rolled back to an older copy";
}

constexpr size_t kKnownRoots = 64;

}  // namespace

struct AuditLog::Anchor {
  std::uint64_t size = 0;
  Hash root{};
  std::string path;
};

struct AuditLog::Heads {
  std::vector<Anchor> anchors;  // each file's newest checkpoint, by size
  // The smallest newest size over the files (0 for an empty file); every file
  // holds a checkpoint at least this large. UINT64_MAX without a checkpoint log.
  std::uint64_t min_logged = UINT64_MAX;
};

void AuditLog::SetCheckpointLog(const CheckpointLog* checkpoint_log) {
  MutexLock lock(mu_);
  checkpoint_log_ = checkpoint_log;
}

Status AuditLog::integrity() const {
  MutexLock lock(mu_);
  return broken_;
}

Status AuditLog::Broken(Status st) {
  if (broken_.ok()) broken_ = st;
  return st;
}

Result<AuditLog::Heads> AuditLog::PreflightLocked(store::Store& store, const VerifyKey& key) {
  Heads out;
  if (!checkpoint_log_) return out;
  SB_ASSIGN_OR_RETURN(auto heads, checkpoint_log_->Heads());
  std::int64_t events = 0;
  std::int64_t newest_stored = 0;
  SB_RETURN_IF_ERROR(store.Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(events, tx.QueryInt("SELECT COALESCE(MAX(seq), -1) + 1 FROM audit_events"));
    SB_ASSIGN_OR_RETURN(newest_stored,
                        tx.QueryInt("SELECT COALESCE(MAX(tree_size), 0) FROM audit_checkpoints"));
    return Status::Ok();
  }));
  bool missing = false;
  for (const CheckpointLog::Head& h : heads) {
    if (h.exists) continue;
    if (newest_stored > 0) {
      return Broken(Status::FailedPrecondition(
          "the audit checkpoint log " + h.path +
          " does not exist, but the database holds signed checkpoints (the newest at size " +
          std::to_string(newest_stored) +
          "). If this deployment is older than checkpoint logs, or [audit] checkpoint_logs "
          "names a new file, run `switchboard audit adopt`; otherwise the file was deleted: "
          "find out how before anything else (docs/operations.md)"));
    }
    missing = true;
  }
  if (missing) SB_RETURN_IF_ERROR(checkpoint_log_->CreateMissing());
  for (const CheckpointLog::Head& h : heads) {
    if (!h.newest) {
      out.min_logged = 0;
      continue;
    }
    const SignedCheckpoint& cp = *h.newest;
    if (!(last_ && SameCheckpoint(*last_, cp))) {
      if (Status sig = key.Verify(cp); !sig.ok()) {
        return Broken(Status::DataLoss("the newest checkpoint in the audit checkpoint log " +
                                       h.path + " does not verify: " + sig.message()));
      }
    }
    out.min_logged = std::min(out.min_logged, cp.checkpoint.tree_size);
    out.anchors.push_back({cp.checkpoint.tree_size, cp.checkpoint.root, h.path});
  }
  std::sort(out.anchors.begin(), out.anchors.end(),
            [](const Anchor& a, const Anchor& b) { return a.size < b.size; });
  for (size_t i = 1; i < out.anchors.size(); ++i) {
    const Anchor& a = out.anchors[i - 1];
    const Anchor& b = out.anchors[i];
    if (a.size == b.size && a.root != b.root) {
      return Broken(Status::DataLoss("the audit checkpoint logs " + a.path + " and " + b.path +
                                     " hold different checkpoints at size " + N(a.size)));
    }
  }
  if (!out.anchors.empty() && static_cast<std::uint64_t>(events) < out.anchors.back().size) {
    return Broken(Status::DataLoss(ShorterThanSigned(static_cast<std::uint64_t>(events),
                                                     out.anchors.back().size,
                                                     " in " + out.anchors.back().path)));
  }
  return out;
}

Status AuditLog::SyncChecked(store::Store& store, const std::vector<Anchor>& anchors) {
  std::uint64_t last_good = 0;  // the largest size checked so far in this call
  auto mismatch = [&](const Anchor& a) {
    return Status::DataLoss("an audit event from " + N(last_good) + " to " + N(a.size - 1) +
                            " was altered in the database: the checkpoint at size " + N(a.size) +
                            " in " + a.path +
                            " does not match. Run `switchboard audit verify` to find it");
  };
  // Sizes the tree has passed already: check those whose root is known.
  size_t next = 0;
  for (; next < anchors.size() && anchors[next].size <= tree_.size(); ++next) {
    const Anchor& a = anchors[next];
    std::optional<Hash> known;
    if (a.size == tree_.size()) {
      known = tree_.Root();
    } else if (auto it = known_roots_.find(a.size); it != known_roots_.end()) {
      known = it->second;
    }
    if (known && *known != a.root) return Broken(mismatch(a));
    if (known) last_good = a.size;
  }
  Status bad;
  // The callbacks run within Read(), while this thread holds mu_.
  SB_RETURN_IF_ERROR(store.Read([&](Tx& tx) SB_REQUIRES(mu_) -> Status {
    SB_ASSIGN_OR_RETURN(std::int64_t stored,
                        tx.QueryInt("SELECT COALESCE(MAX(seq), -1) + 1 FROM audit_events"));
    if (static_cast<std::uint64_t>(stored) < tree_.size()) {
      bad = Status::DataLoss("the database holds " + N(static_cast<std::uint64_t>(stored)) +
                             " audit events, fewer than the " + N(tree_.size()) +
                             " this process has read: events were deleted while it ran");
      return Status::Ok();
    }
    return tx.Query("SELECT seq, body FROM audit_events WHERE seq >= $1 ORDER BY seq",
                    {static_cast<std::int64_t>(tree_.size())},
                    [&](const Row& row) SB_REQUIRES(mu_) {
                      if (row.Int(0) != static_cast<std::int64_t>(tree_.size())) {
                        bad = Status::DataLoss("audit event " + N(tree_.size()) +
                                               " is missing from the store; run audit verify");
                        return false;
                      }
                      tree_.Append(LeafHash(row.Bytes(1)));
                      for (; next < anchors.size() && anchors[next].size == tree_.size(); ++next) {
                        const Hash root = tree_.Root();
                        if (root != anchors[next].root) {
                          bad = mismatch(anchors[next]);
                          return false;
                        }
                        last_good = tree_.size();
                        known_roots_[tree_.size()] = root;
                      }
                      return true;
                    });
  }));
  if (!bad.ok()) return Broken(bad);
  if (!anchors.empty() && tree_.size() < anchors.back().size) {
    return Broken(Status::DataLoss(
        ShorterThanSigned(tree_.size(), anchors.back().size, " in " + anchors.back().path)));
  }
  while (known_roots_.size() > kKnownRoots) known_roots_.erase(known_roots_.begin());
  return Status::Ok();
}

Status AuditLog::CheckLocked(store::Store& store, const VerifyKey& key) {
  if (!broken_.ok()) return broken_;
  SB_ASSIGN_OR_RETURN(Heads heads, PreflightLocked(store, key));
  return SyncChecked(store, heads.anchors);
}

Status AuditLog::Preflight(store::Store& store, const VerifyKey& key) {
  MutexLock lock(mu_);
  if (!broken_.ok()) return broken_;
  return PreflightLocked(store, key).status();
}

Status AuditLog::Check(store::Store& store, const VerifyKey& key) {
  MutexLock lock(mu_);
  return CheckLocked(store, key);
}

Result<SignedCheckpoint> AuditLog::Checkpoint(store::Store& store, const SigningKey& key,
                                              const Clock& clock) {
  MutexLock lock(mu_);
  if (!broken_.ok()) return broken_;
  SB_ASSIGN_OR_RETURN(Heads heads, PreflightLocked(store, key.verify_key()));
  SB_RETURN_IF_ERROR(SyncChecked(store, heads.anchors));
  const std::uint64_t size = tree_.size();
  const Hash root = tree_.Root();
  if (last_ && last_->checkpoint.tree_size == size && heads.min_logged >= size) return *last_;
  SignedCheckpoint out;
  Status altered;
  SB_RETURN_IF_ERROR(store.Write([&](Tx& tx) -> Status {
    std::optional<SignedCheckpoint> last;
    std::vector<StoredCheckpoint> newest;
    SB_RETURN_IF_ERROR(tx.Query(std::string(kCheckpointColumns) + "ORDER BY tree_size DESC LIMIT 2",
                                {}, [&](const Row& row) {
                                  newest.push_back(CheckpointFromRow(row));
                                  return true;
                                }));
    if (!newest.empty()) {
      StoredCheckpoint& s = newest[0];
      s.signed_cp.checkpoint.previous_size =
          newest.size() > 1 ? newest[1].signed_cp.checkpoint.tree_size : 0;
      CheckNote(s);
      last = std::move(s.signed_cp);
      if (!s.note_problem.empty()) last->signature.clear();  // fails Verify below
    }
    const std::uint64_t last_size = last ? last->checkpoint.tree_size : 0;
    if (last_size > size) {
      return Status::FailedPrecondition("the stored audit checkpoints (size " +
                                        std::to_string(last_size) +
                                        ") are ahead of this log (size " + std::to_string(size) +
                                        "): is another sequencer running?");
    }
    if (last && last_size == size) {
      Status sig = key.verify_key().Verify(*last);
      if (!sig.ok() || last->checkpoint.root != root) {
        altered = Status::DataLoss("the database's newest audit checkpoint (size " + N(size) +
                                   ") does not match the events: " +
                                   (sig.ok() ? std::string("its root differs") : sig.message()) +
                                   "; run `switchboard audit verify`");
        return Status::Ok();
      }
      out = *last;
      return Status::Ok();
    }
    if (size == 0) return Status::FailedPrecondition("the audit log is empty");
    audit::Checkpoint cp;
    cp.tree_size = size;
    cp.root = root;
    cp.time = clock.Now();
    cp.previous_size = last_size;
    out = key.Sign(std::move(cp));
    return tx
        .Exec(
            "INSERT INTO audit_checkpoints (tree_size, root, at, key_id, signature, format, note) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            {static_cast<std::int64_t>(size), Value::Bytes(AsBytes(root)), out.checkpoint.time,
             out.checkpoint.key_id, Value::Bytes(out.signature),
             static_cast<std::int64_t>(out.format), FormatSignedNote(out)})
        .status();
  }));
  if (!altered.ok()) return Broken(altered);
  known_roots_[size] = root;
  // After the commit: a crash here leaves the database one checkpoint ahead of
  // the checkpoint log, which the next call repairs; never the other way round.
  if (checkpoint_log_ && heads.min_logged < size) SB_RETURN_IF_ERROR(checkpoint_log_->Append(out));
  last_ = out;
  return out;
}

Result<VerifyReport> AuditLog::Verify(Tx& tx, const VerifyKey& key, const VerifyOptions& options) {
  VerifyReport report;
  SB_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> stored, LoadCheckpoints(tx));
  report.checkpoints = stored.size();

  // Problems are collected as (index, reason); the smallest index is reported.
  std::int64_t bad_index = -1;
  std::string bad_reason;
  auto problem = [&](std::int64_t index, std::string reason) {
    if (bad_index < 0 || index < bad_index) {
      bad_index = index;
      bad_reason = std::move(reason);
    }
  };
  // A problem that is not at an index (reported when there is none at one).
  std::string general;

  std::vector<CheckpointSource> external = options.external;
  for (const CheckpointLog::File& file : options.checkpoint_log) {
    const std::string name = "the checkpoint log " + file.path;
    if (!file.exists) {
      if (!stored.empty() && general.empty()) {
        general = name +
                  " does not exist, but the database holds signed checkpoints: it was deleted, "
                  "or this deployment is older than checkpoint logs (see `switchboard audit "
                  "adopt`)";
      }
      continue;
    }
    if (!file.damage.empty()) {
      if (general.empty()) general = name + " is corrupt: " + file.damage;
      continue;
    }
    if (file.content.torn_tail) {
      report.notes.push_back("the last line of " + file.path +
                             " was cut short (a crash while writing it) and is ignored");
    }
    external.push_back({name, file.content.checkpoints});
  }

  // Roots to compare against, by tree size: stored checkpoints with a good
  // signature, and external ones (which must also be stored).
  struct Expect {
    std::uint64_t size;
    Hash root;
    std::string where;  // "" for a stored checkpoint, else " in <source>"
  };
  std::vector<Expect> expects;
  std::vector<bool> stored_ok(stored.size(), false);
  for (size_t i = 0; i < stored.size(); ++i) {
    const StoredCheckpoint& s = stored[i];
    const audit::Checkpoint& cp = s.signed_cp.checkpoint;
    const auto size = static_cast<std::int64_t>(cp.tree_size);
    // The row's signature first; then whether the stored note says the same.
    Status sig = !s.root_ok ? Status::DataLoss("checkpoint at size " + std::to_string(size) +
                                               ": the root is malformed")
                 : s.note_malformed ? Status::DataLoss(s.note_problem)
                                    : key.Verify(s.signed_cp);
    if (sig.ok() && !s.note_problem.empty()) sig = Status::DataLoss(s.note_problem);
    if (!sig.ok()) {
      problem(size, sig.message() + " (forged, altered, or a checkpoint before it was deleted)");
      continue;
    }
    stored_ok[i] = true;
    expects.push_back({cp.tree_size, cp.root, ""});
  }
  for (const CheckpointSource& source : external) {
    const std::string where = " in " + source.name;
    for (const SignedCheckpoint& w : source.checkpoints) {
      ++report.external_checkpoints;
      const auto size = static_cast<std::int64_t>(w.checkpoint.tree_size);
      const auto it = std::lower_bound(stored.begin(), stored.end(), w.checkpoint.tree_size,
                                       [](const StoredCheckpoint& s, std::uint64_t v) {
                                         return s.signed_cp.checkpoint.tree_size < v;
                                       });
      const bool found =
          it != stored.end() && it->signed_cp.checkpoint.tree_size == w.checkpoint.tree_size;
      // A copy of a stored checkpoint whose signature checked out needs no second check.
      if (!(found && stored_ok[static_cast<size_t>(it - stored.begin())] &&
            SameCheckpoint(it->signed_cp, w))) {
        if (Status sig = key.Verify(w); !sig.ok()) {
          problem(size, sig.message() + where);
          continue;
        }
      }
      if (!found) {
        problem(size, "the checkpoint at size " + std::to_string(size) + where +
                          " is missing from the database");
      }
      expects.push_back({w.checkpoint.tree_size, w.checkpoint.root, where});
    }
  }
  std::sort(expects.begin(), expects.end(),
            [](const Expect& a, const Expect& b) { return a.size < b.size; });

  CompactTree tree;
  size_t next = 0;
  std::uint64_t last_good = 0;  // the largest checked size whose root matched
  bool stop = false;
  Event e;
  std::string encoded;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string(kSelectEvents) + " ORDER BY seq", {}, [&](const Row& row) {
        const std::int64_t seq = row.Int(0);
        const auto expected = static_cast<std::int64_t>(tree.size());
        ++report.events;
        if (seq != expected) {
          problem(expected, "event " + std::to_string(expected) +
                                " is missing (the next stored event is " + std::to_string(seq) +
                                ")");
          stop = true;
          return false;
        }
        const std::string_view body = row.Bytes(kBodyColumn);
        const bool lists_ok = EventFromRow(row, e);
        if (lists_ok) EncodeTo(e, encoded);
        if (!lists_ok || encoded != body) {
          const auto body_seq = SeqInBody(body);
          if (body_seq && *body_seq != seq) {
            problem(seq, "event order changed at " + std::to_string(seq) +
                             " (the event stored there says it is event " +
                             std::to_string(*body_seq) + ")");
          } else {
            problem(seq, "event " + std::to_string(seq) + " was altered");
          }
          stop = true;
          return false;
        }
        tree.Append(LeafHash(body));
        for (; next < expects.size() && expects[next].size <= tree.size(); ++next) {
          if (expects[next].size < tree.size()) continue;  // size 0: nothing to check
          if (tree.Root() != expects[next].root) {
            problem(static_cast<std::int64_t>(last_good),
                    "an event from " + std::to_string(last_good) + " to " +
                        std::to_string(tree.size() - 1) + " was altered: the checkpoint at size " +
                        std::to_string(expects[next].size) + expects[next].where +
                        " does not match");
            stop = true;
            return false;
          }
          last_good = expects[next].size;
        }
        return true;
      }));
  if (!stop && next < expects.size()) {
    // Checkpoints beyond the last event: the largest shows all that is gone.
    const Expect& largest = expects.back();
    problem(static_cast<std::int64_t>(tree.size()),
            ShorterThanSigned(tree.size(), largest.size, largest.where));
  }
  if (bad_index < 0 && !general.empty()) bad_reason = std::move(general);
  report.ok = bad_reason.empty();
  report.first_bad = bad_index;
  report.reason = std::move(bad_reason);
  if (report.ok) report.root = tree.Root();
  return report;
}

Result<AdoptReport> AdoptCheckpointLog(store::Store& store, AuditLog& log,
                                       const CheckpointLog& checkpoint_log, const SigningKey& key,
                                       const Clock& clock) {
  struct Change {
    std::string path;
    bool replace = false;
    std::string rule;
  };
  std::vector<Change> changes;
  std::vector<SignedCheckpoint> stored;
  AdoptReport report;
  SB_ASSIGN_OR_RETURN(auto files, checkpoint_log.ReadAll());
  SB_RETURN_IF_ERROR(store.Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(VerifyReport alone, AuditLog::Verify(tx, key.verify_key()));
    if (!alone.ok) {
      return Status::FailedPrecondition(
          "the audit log in the database fails verification on its own (" +
          (alone.first_bad >= 0 ? "at index " + std::to_string(alone.first_bad) + ": " : "") +
          alone.reason + "); adopt re-anchors only a log that is whole");
    }
    SB_ASSIGN_OR_RETURN(stored, AuditLog::Checkpoints(tx));
    for (const CheckpointLog::File& file : files) {
      if (!file.exists) {
        changes.push_back({file.path, false, "checkpoint_log.created"});
        continue;
      }
      if (!file.damage.empty()) {
        changes.push_back({file.path, true, "checkpoint_log.replaced:corrupt"});
        continue;
      }
      std::uint64_t newest = 0;
      for (const auto& cp : file.content.checkpoints) {
        newest = std::max(newest, cp.checkpoint.tree_size);
      }
      VerifyOptions with;
      with.checkpoint_log.push_back(file);
      SB_ASSIGN_OR_RETURN(VerifyReport checked, AuditLog::Verify(tx, key.verify_key(), with));
      if (checked.ok) {
        report.kept.push_back(file.path);
      } else {
        changes.push_back({file.path, true, "checkpoint_log.replaced:" + N(newest)});
      }
    }
    return Status::Ok();
  }));
  if (changes.empty()) return report;
  std::string stamp = FormatTimestamp(clock.Now());
  stamp.erase(std::remove(stamp.begin(), stamp.end(), ':'), stamp.end());
  for (const Change& c : changes) {
    if (c.replace) {
      std::string to = c.path + ".superseded-" + stamp;
      for (int i = 2; std::filesystem::exists(to); ++i) {
        to = c.path + ".superseded-" + stamp + "-" + std::to_string(i);
      }
      if (std::rename(c.path.c_str(), to.c_str()) != 0) {
        return Status::Unavailable("cannot rename " + c.path + " to " + to + ": " +
                                   std::strerror(errno));
      }
      report.replaced.push_back(to);
    } else {
      report.created.push_back(c.path);
    }
    SB_RETURN_IF_ERROR(AppendToWitnessFile(c.path, stored, CheckpointLog::Header()));
  }
  SB_RETURN_IF_ERROR(store.Write([&](Tx& tx) -> Status {
    for (const Change& c : changes) {
      Event e;
      e.at = clock.Now();
      e.action = "audit.adopt";
      e.decision = "allow";
      e.rule = c.rule;
      SB_RETURN_IF_ERROR(AuditLog::Append(tx, e).status());
    }
    return Status::Ok();
  }));
  SB_RETURN_IF_ERROR(log.Checkpoint(store, key, clock).status());
  return report;
}

Result<std::vector<Hash>> AuditLog::Prove(Tx& tx, std::int64_t seq, std::int64_t size) {
  if (seq < 0 || seq >= size) {
    return Status::InvalidArgument("event " + std::to_string(seq) + " is not in a tree of size " +
                                   std::to_string(size));
  }
  SB_ASSIGN_OR_RETURN(auto leaves, LoadLeaves(tx, size));
  return InclusionProof(leaves, static_cast<std::uint64_t>(seq), static_cast<std::uint64_t>(size));
}

Result<std::vector<Hash>> AuditLog::Consistency(Tx& tx, std::int64_t m, std::int64_t n) {
  if (m < 0 || m > n) {
    return Status::InvalidArgument("no consistency proof from size " + std::to_string(m) +
                                   " to size " + std::to_string(n));
  }
  SB_ASSIGN_OR_RETURN(auto leaves, LoadLeaves(tx, n));
  return ConsistencyProof(leaves, static_cast<std::uint64_t>(m), static_cast<std::uint64_t>(n));
}

Result<ProofIndex> AuditLog::LoadTree(Tx& tx, std::int64_t size) {
  if (size < 0) return Status::InvalidArgument("a tree size is not negative");
  SB_ASSIGN_OR_RETURN(auto leaves, LoadLeaves(tx, size));
  return ProofIndex(std::move(leaves));
}

Result<std::optional<SignedCheckpoint>> AuditLog::NewestCheckpoint(Tx& tx) {
  std::vector<StoredCheckpoint> rows;
  SB_RETURN_IF_ERROR(tx.Query(std::string(kCheckpointColumns) + "ORDER BY tree_size DESC LIMIT 2",
                              {}, [&](const Row& row) {
                                rows.push_back(CheckpointFromRow(row));
                                return true;
                              }));
  if (rows.empty()) return std::optional<SignedCheckpoint>();
  StoredCheckpoint& s = rows[0];
  s.signed_cp.checkpoint.previous_size =
      rows.size() > 1 ? rows[1].signed_cp.checkpoint.tree_size : 0;
  CheckNote(s);
  if (!s.root_ok || s.note_malformed) {
    return Status::DataLoss("the newest checkpoint is damaged; run audit verify");
  }
  return std::optional<SignedCheckpoint>(std::move(s.signed_cp));
}

Result<Event> AuditLog::EventAt(Tx& tx, std::int64_t seq) {
  std::optional<Event> out;
  bool bad = false;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string(kSelectEvents) + " WHERE seq = $1", {seq}, [&](const Row& row) {
        Event e;
        bad = !EventFromRow(row, e);
        out = std::move(e);
        return false;
      }));
  if (bad) {
    return Status::DataLoss("audit event " + std::to_string(seq) +
                            " has a malformed members column; run audit verify");
  }
  if (!out) return Status::NotFound("no audit event " + std::to_string(seq));
  return *std::move(out);
}

Result<Hash> AuditLog::RootAt(Tx& tx, std::int64_t size) {
  SB_ASSIGN_OR_RETURN(auto leaves, LoadLeaves(tx, size));
  return RootOf(leaves);
}

Result<std::int64_t> AuditLog::Size(store::Tx& tx) {
  return tx.QueryInt("SELECT COALESCE(MAX(seq), -1) + 1 FROM audit_events");
}

Result<std::int64_t> AuditLog::CheckpointedSize(store::Tx& tx) {
  return tx.QueryInt("SELECT COALESCE(MAX(tree_size), 0) FROM audit_checkpoints");
}

Result<std::optional<AuditLog::LatestCheckpointInfo>> AuditLog::LatestCheckpoint(store::Tx& tx) {
  std::optional<LatestCheckpointInfo> out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT tree_size, at FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1", {},
               [&](const store::Row& r) {
                 out = LatestCheckpointInfo{r.Int(0), r.Int(1)};
                 return true;
               }));
  return out;
}

Result<std::vector<SignedCheckpoint>> AuditLog::Checkpoints(Tx& tx) {
  SB_ASSIGN_OR_RETURN(auto stored, LoadCheckpoints(tx));
  std::vector<SignedCheckpoint> out;
  out.reserve(stored.size());
  for (auto& s : stored) out.push_back(std::move(s.signed_cp));
  return out;
}

Result<std::vector<Event>> AuditLog::Query(Tx& tx, const QueryFilter& filter) {
  std::string sql = kSelectEvents;
  std::vector<Value> params;
  auto where = [&](const std::string& cond, Value v) {
    sql += params.empty() ? " WHERE " : " AND ";
    params.push_back(std::move(v));
    std::string c = cond;
    const size_t at = c.find('?');
    c.replace(at, 1, "$" + std::to_string(params.size()));
    sql += c;
  };
  if (filter.member) {
    where("(',' || members || ',') LIKE ?", "%," + std::to_string(*filter.member) + ",%");
  }
  if (filter.actor) where("actor = ?", *filter.actor);
  if (filter.from) where("at >= ?", *filter.from);
  if (filter.to) where("at < ?", *filter.to);
  if (!filter.action.empty()) where("action = ?", filter.action);
  sql += " ORDER BY seq LIMIT " + std::to_string(std::max(filter.limit, 0));
  std::vector<Event> out;
  Status bad;
  SB_RETURN_IF_ERROR(
      tx.Query(sql, store::Params(params.data(), params.size()), [&](const Row& row) {
        Event e;
        if (!EventFromRow(row, e)) {
          bad = Status::DataLoss("audit event " + std::to_string(e.seq) +
                                 " has a malformed members column; run audit verify");
          return false;
        }
        out.push_back(std::move(e));
        return true;
      }));
  SB_RETURN_IF_ERROR(bad);
  return out;
}

Result<std::vector<RevealedMember>> AuditLog::Revealed(Tx& tx, const RevealFilter& filter) {
  if (!filter.actor && !filter.campaign) {
    return Status::InvalidArgument("name the account or the campaign whose reads to gather");
  }
  if (filter.to <= filter.from) return Status::InvalidArgument("the window ends before it begins");
  std::string sql = std::string(kSelectEvents) +
                    " WHERE at >= $1 AND at < $2 AND decision = 'allow' AND members IS NOT NULL"
                    " AND field_classes IS NOT NULL";
  std::vector<Value> params = {filter.from, filter.to};
  if (filter.actor) {
    params.push_back(*filter.actor);
    sql += " AND actor = $" + std::to_string(params.size());
  }
  if (filter.campaign) {
    params.push_back(*filter.campaign);
    sql += " AND campaign = $" + std::to_string(params.size());
  }
  sql += " ORDER BY seq";
  std::map<std::int64_t, std::pair<std::set<std::string>, std::int64_t>> seen;
  Status bad;
  SB_RETURN_IF_ERROR(
      tx.Query(sql, store::Params(params.data(), params.size()), [&](const Row& row) {
        Event e;
        if (!EventFromRow(row, e)) {
          bad = Status::DataLoss("audit event " + std::to_string(e.seq) +
                                 " has a malformed members column; run audit verify");
          return false;
        }
        if (e.field_classes.empty()) return true;
        for (std::int64_t m : e.members) {
          auto& [classes, n] = seen[m];
          classes.insert(e.field_classes.begin(), e.field_classes.end());
          ++n;
        }
        return true;
      }));
  SB_RETURN_IF_ERROR(bad);
  std::vector<RevealedMember> out;
  out.reserve(seen.size());
  for (auto& [m, v] : seen) {
    out.push_back({m, std::vector<std::string>(v.first.begin(), v.first.end()), v.second});
  }
  return out;
}

Result<std::vector<AuditLog::DailyReads>> AuditLog::ReadsByDay(Tx& tx, Micros from, Micros to) {
  if (to <= from) return Status::InvalidArgument("the window ends before it begins");
  std::map<std::pair<std::int64_t, std::int64_t>, DailyReads> by;
  std::vector<std::int64_t> members;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT at, grant_id, members FROM audit_events WHERE at >= $1 AND at < $2 AND "
               "decision = 'allow' AND members IS NOT NULL AND field_classes IS NOT NULL",
               {from, to}, [&](const Row& row) {
                 const std::int64_t at = row.Int(0);
                 const std::int64_t day =
                     at >= 0 ? at / kMicrosPerDay : (at - kMicrosPerDay + 1) / kMicrosPerDay;
                 const std::int64_t grant = row.IsNull(1) ? 0 : row.Int(1);
                 members.clear();
                 ParseInts(row.Text(2), members);
                 DailyReads& d = by[{day, grant}];
                 d.day = day;
                 d.grant = grant;
                 ++d.events;
                 d.records += static_cast<std::int64_t>(members.size());
                 return true;
               }));
  std::vector<DailyReads> out;
  out.reserve(by.size());
  for (auto& [k, v] : by) out.push_back(v);
  return out;
}

}  // namespace switchboard::audit
