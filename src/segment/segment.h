// Audience segments and an exact in-memory bitmap index over the member
// register (issue 5, benchmark P4).
//
// A Segment is an audience inside a scope: "current members of the London
// region with phone consent, not suppressed, not contacted since October".
// Campaigns store it as JSON (ParseSegment / SegmentToJson); SegmentSql gives
// the same audience as one SQL query, the reference the index is tested and
// benchmarked against.
//
// AudienceIndex answers Count / Page / Contains from memory, exactly (never an
// estimate), in milliseconds over millions of members:
//  - one roaring bitmap (CRoaring) per unit holding every member whose
//    unit_id or branch_id is that unit or lies below it (so a scope is one
//    lookup), one per status, per membership type, per consent bit, per
//    suppression bit, and one of canaries; a segment is a handful of AND /
//    AND-NOT / OR operations on these;
//  - join and lapse dates in 32-day buckets (bitmaps), used to narrow a
//    candidate set only when that is cheaper than checking each candidate;
//    the exact date test is always made per member on a dense array;
//  - the last contact time per member (max contact_log.at) in a dense array,
//    compared at query time for `not_contacted_since`.
// Per member the index keeps 36 bytes of dense state (unit, branch, dates,
// flags, last contact) plus its share of the bitmaps: about 0.5 GB for 10 M
// members, 50 MB for 1 M (see memory_bytes()).
//
// Freshness: Sync() folds in members whose updated_at is at or after the
// highest one already seen (the boundary is re-read on every Sync, because
// several writes can carry the same timestamp; re-applying an unchanged row
// is a no-op), contact_log rows with an id above the highest seen, and the
// canaries table (small; re-read whole). Limits, all fixed by a new Build():
// member rows that are deleted; a row committed with an updated_at older than
// one already synced (a writer whose clock reading lost the race to commit),
// and on PostgreSQL a contact_log id committed after a higher one; units
// added to the tree after Build (members there are in no scope until then).
// Member ids must be below 2^32 (roaring bitmaps are 32-bit); Build and Sync
// refuse larger ones.
//
// Threading: queries run concurrently under a shared lock; Sync reads the
// store without holding it and then applies the changes under an exclusive
// lock. Syncs are serialised.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "members/org_tree.h"
#include "store/store.h"
#include "store/value.h"

namespace switchboard::segment {

struct Segment {                        // an audience inside a scope
  UnitId scope;                         // required: this unit and everything below it
  std::vector<UnitId> units;            // optional narrowing: any of these (each within scope)
  std::vector<std::string> statuses;    // any of; empty = any ("current", "lapsed", ...)
  std::vector<std::string> types;       // membership types, any of; empty = any
  std::uint32_t consents_all = 0;       // members::Consent bits that must all be set
  std::uint32_t suppressions_none = 0;  // members::Suppression bits, none set
  std::optional<std::int64_t> joined_from, joined_to;  // days since 1970, [from, to)
  std::optional<std::int64_t> lapsed_from, lapsed_to;
  std::optional<Micros> not_contacted_since;  // no contact_log row with at >= this
  bool exclude_canaries = true;
};

// JSON form (campaign definitions, the API):
//   {"scope": "E14000530" (code or name) or 12 (id), "units": [...same...],
//    "statuses": ["current"], "types": ["standard"], "consents": ["phone"],
//    "suppressions_none": ["do_not_contact", "no_phone"],
//    "joined_from": "2020-01-01", "joined_to": ..., "lapsed_from": ..., "lapsed_to": ...,
//    "not_contacted_since": "2026-10-01T00:00:00Z", "exclude_canaries": true}
// Errors are kInvalidArgument and name the field ("segment.units[2]: ...").
Result<Segment> ParseSegment(std::string_view json, const members::OrgTree& tree);
// The JSON form; units by code. Consent/suppression bits without a name are
// left out.
std::string SegmentToJson(const Segment& s, const members::OrgTree& tree);

// Names of the consent and suppression bits as used in the JSON form.
std::optional<std::uint32_t> ConsentBit(std::string_view name);
std::optional<std::uint32_t> SuppressionBit(std::string_view name);

// The same audience as SQL over members (alias m), contact_log and canaries,
// in the dialect subset both backends accept. Unit ids are inlined; statuses
// and types are parameters.
struct SqlQuery {
  std::string sql;
  std::vector<store::Value> params;
};
// "SELECT COUNT(*) FROM members m WHERE ...": the text ends with the WHERE
// conditions, so a caller may append " AND <condition on m>" (the phone bank
// adds its valid-number check this way).
SqlQuery SegmentCountSql(const Segment& s, const members::OrgTree& tree);
// Just the condition: " WHERE ..." over members m, for callers that add their
// own (e.g. INSERT INTO outbox SELECT ... FROM members m <where> AND ...).
SqlQuery SegmentWhereSql(const Segment& s, const members::OrgTree& tree);
// "SELECT m.id ... WHERE ... AND m.id > after ORDER BY m.id LIMIT limit".
SqlQuery SegmentPageSql(const Segment& s, const members::OrgTree& tree, MemberId after, int limit);

class AudienceIndex {
 public:
  ~AudienceIndex();
  AudienceIndex(const AudienceIndex&) = delete;
  AudienceIndex& operator=(const AudienceIndex&) = delete;

  // Reads every member, contact_log row and canary in one snapshot. Keeps a
  // copy of `tree`.
  static Result<std::unique_ptr<AudienceIndex>> Build(store::Store& store,
                                                      const members::OrgTree& tree);
  // Folds in what changed since the last Build/Sync (see the header comment).
  // When nothing changed it re-reads only the rows stamped with the latest
  // updated_at (an import batch) and the canaries, applying nothing; but
  // members.updated_at has no index yet, so finding those rows scans the
  // table (docs/benchmarks.md, P4: 56 ms at 1 M, 0.6 s at 10 M; 7 ms with the
  // index).
  Status Sync(store::Store& store);

  std::uint64_t Count(const Segment& s) const;
  // Member ids in ascending order after `after`, at most `limit`.
  std::vector<MemberId> Page(const Segment& s, MemberId after, int limit) const;
  bool Contains(const Segment& s, MemberId id) const;

  // Members indexed, and an estimate of the memory held (dense arrays and
  // bitmaps).
  std::uint64_t size() const;
  std::uint64_t memory_bytes() const;

 private:
  struct Impl;
  explicit AudienceIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::segment
