// AudienceIndex: roaring bitmaps plus dense per-member arrays. See segment.h.
#include <algorithm>
#include <array>
#include <climits>
#include <map>
#include <mutex>
#include <roaring/roaring.hh>
#include <shared_mutex>
#include <unordered_map>

#include "segment/segment.h"

namespace switchboard::segment {

namespace {

constexpr std::int32_t kNoDate = INT32_MIN;
constexpr Micros kNever = INT64_MIN;
constexpr int kBucketShift = 5;  // date buckets of 32 days

std::int64_t Bucket(std::int64_t day) { return day >> kBucketShift; }  // floors (C++20)

// What the index knows of one member: enough to take it out of every bitmap
// it is in, and to make the exact per-member checks.
struct State {
  std::uint32_t unit = 0;    // index in the tree's units + 1; 0 = none or not in the tree
  std::uint32_t branch = 0;  // likewise
  std::int32_t joined = kNoDate;
  std::int32_t lapsed = kNoDate;
  std::uint32_t consents = 0;
  std::uint32_t suppressions = 0;
  std::uint16_t status = 0;  // index in status_names + 1; 0 = no member with this id
  std::uint16_t type = 0;    // index in type_names + 1
  bool operator==(const State&) const = default;
};

// One members row as read by Sync.
struct MemberRow {
  std::int64_t id = 0;
  std::int64_t unit = 0, branch = 0;
  std::string status, type;
  std::optional<std::int64_t> joined, lapsed;
  std::int64_t consents = 0, suppressions = 0;
  Micros updated_at = 0;
};

constexpr const char* kMemberColumns =
    "SELECT id, unit_id, branch_id, status, membership_type, joined_on, lapsed_on, consents, "
    "suppressions, updated_at FROM members";

MemberRow ReadMemberRow(const store::Row& r) {
  MemberRow m;
  m.id = r.Int(0);
  m.unit = r.Int(1);
  m.branch = r.IntOr(2, 0);
  m.status = std::string(r.Text(3));
  m.type = std::string(r.Text(4));
  if (!r.IsNull(5)) m.joined = r.Int(5);
  if (!r.IsNull(6)) m.lapsed = r.Int(6);
  m.consents = r.Int(7);
  m.suppressions = r.Int(8);
  m.updated_at = r.Int(9);
  return m;
}

Status CheckId(std::int64_t id) {
  if (id <= 0 || id > static_cast<std::int64_t>(UINT32_MAX) - 1) {
    return Status::FailedPrecondition("member id " + std::to_string(id) +
                                      " is outside the audience index's 32-bit range");
  }
  return Status::Ok();
}

Result<std::int32_t> DateOf(const std::optional<std::int64_t>& d, std::int64_t id) {
  if (!d) return kNoDate;
  if (*d <= INT32_MIN || *d > INT32_MAX) {
    return Status::FailedPrecondition("member " + std::to_string(id) + ": date out of range");
  }
  return static_cast<std::int32_t>(*d);
}

struct Ctx {
  std::uint64_t count = 0;
  std::vector<MemberId>* out = nullptr;
  int limit = 0;
  const Segment* s = nullptr;
  const void* impl = nullptr;
};

}  // namespace

struct AudienceIndex::Impl {
  members::OrgTree tree;
  std::unordered_map<std::int64_t, std::uint32_t> unit_index;  // unit id -> index in tree
  std::vector<std::vector<std::uint32_t>> chain;               // index -> self and ancestors

  mutable std::shared_mutex mu;  // queries shared, applying changes exclusive
  std::mutex sync_mu;            // one Sync at a time

  std::vector<State> state;          // by member id
  std::vector<Micros> last_contact;  // by member id; kNever if none
  std::uint64_t members = 0;
  std::vector<Roaring> subtree;  // by unit index: unit or branch within that unit
  std::vector<std::string> status_names, type_names;
  std::vector<Roaring> by_status, by_type;
  std::array<Roaring, 32> consent, suppression;
  Roaring canaries;
  std::map<std::int64_t, Roaring> joined_buckets, lapsed_buckets;

  // Advanced only once every row read has been applied.
  Micros members_watermark = INT64_MIN;  // highest updated_at applied
  std::int64_t contact_watermark = 0;    // highest contact_log.id applied

  std::optional<std::uint32_t> IndexOf(UnitId id) const {
    auto it = unit_index.find(id.value());
    if (it == unit_index.end()) return std::nullopt;
    return it->second;
  }

  static std::uint16_t Intern(std::vector<std::string>& names, std::vector<Roaring>& maps,
                              std::string_view name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return static_cast<std::uint16_t>(i + 1);
    names.emplace_back(name);
    maps.emplace_back();
    return static_cast<std::uint16_t>(names.size());
  }

  void Grow(std::uint32_t id) {
    if (id < state.size()) return;
    const size_t want = static_cast<size_t>(id) + 1;
    if (want > state.capacity()) {
      const size_t cap = std::max(want, state.size() + state.size() / 8);
      state.reserve(cap);
      last_contact.reserve(cap);
    }
    state.resize(want);
    last_contact.resize(want, kNever);
  }

  // Adds `id` to (or removes it from) every bitmap `s` puts it in.
  void Place(std::uint32_t id, const State& s, bool add) {
    auto put = [&](Roaring& r) {
      if (add) {
        r.add(id);
      } else {
        r.remove(id);
      }
    };
    std::array<std::uint32_t, 64> seen;
    size_t n_seen = 0;
    for (std::uint32_t u : {s.unit, s.branch}) {
      if (u == 0) continue;
      for (std::uint32_t k : chain[u - 1]) {
        if (std::find(seen.begin(), seen.begin() + n_seen, k) != seen.begin() + n_seen) continue;
        if (n_seen < seen.size()) seen[n_seen++] = k;
        put(subtree[k]);
      }
    }
    put(by_status[s.status - 1]);
    put(by_type[s.type - 1]);
    for (int b = 0; b < 32; ++b) {
      if (s.consents & (1u << b)) put(consent[b]);
      if (s.suppressions & (1u << b)) put(suppression[b]);
    }
    for (auto [day, buckets] :
         {std::pair(s.joined, &joined_buckets), std::pair(s.lapsed, &lapsed_buckets)}) {
      if (day == kNoDate) continue;
      Roaring& r = (*buckets)[Bucket(day)];
      put(r);
      if (!add && r.isEmpty()) buckets->erase(Bucket(day));
    }
  }

  Status Apply(const MemberRow& row) {
    SB_RETURN_IF_ERROR(CheckId(row.id));
    const auto id = static_cast<std::uint32_t>(row.id);
    State s;
    if (auto u = IndexOf(UnitId(row.unit))) s.unit = *u + 1;
    if (auto b = IndexOf(UnitId(row.branch))) s.branch = *b + 1;
    SB_ASSIGN_OR_RETURN(s.joined, DateOf(row.joined, row.id));
    SB_ASSIGN_OR_RETURN(s.lapsed, DateOf(row.lapsed, row.id));
    s.consents = static_cast<std::uint32_t>(row.consents);
    s.suppressions = static_cast<std::uint32_t>(row.suppressions);
    s.status = Intern(status_names, by_status, row.status);
    s.type = Intern(type_names, by_type, row.type);
    Grow(id);
    State& old = state[id];
    if (old.status != 0) {
      if (old == s) return Status::Ok();
      Place(id, old, false);
    } else {
      ++members;
    }
    Place(id, s, true);
    old = s;
    return Status::Ok();
  }

  Status ApplyContact(std::int64_t member, Micros at) {
    SB_RETURN_IF_ERROR(CheckId(member));
    const auto id = static_cast<std::uint32_t>(member);
    Grow(id);
    last_contact[id] = std::max(last_contact[id], at);
    return Status::Ok();
  }

  void Optimize() {
    auto opt = [](Roaring& r) {
      r.runOptimize();
      r.shrinkToFit();
    };
    for (Roaring& r : subtree) opt(r);
    for (Roaring& r : by_status) opt(r);
    for (Roaring& r : by_type) opt(r);
    for (Roaring& r : consent) opt(r);
    for (Roaring& r : suppression) opt(r);
    for (auto& [k, r] : joined_buckets) opt(r);
    for (auto& [k, r] : lapsed_buckets) opt(r);
    opt(canaries);
  }

  // --- queries (shared lock held) ---

  static bool NeedsCheck(const Segment& s) {
    return s.joined_from || s.joined_to || s.lapsed_from || s.lapsed_to || s.not_contacted_since;
  }

  static bool InRange(std::int32_t day, const std::optional<std::int64_t>& from,
                      const std::optional<std::int64_t>& to) {
    if (!from && !to) return true;
    if (day == kNoDate) return false;  // NULL never satisfies a bound (as in SQL)
    if (from && day < *from) return false;
    if (to && day >= *to) return false;
    return true;
  }

  // The exact per-member conditions the bitmaps only approximate.
  // Touches the dense arrays only as the segment needs: over 10 M members
  // each is far larger than the caches, and candidates are sparse in them.
  bool Passes(std::uint32_t id, const Segment& s) const {
    if (s.joined_from || s.joined_to || s.lapsed_from || s.lapsed_to) {
      const State& st = state[id];
      if (!InRange(st.joined, s.joined_from, s.joined_to)) return false;
      if (!InRange(st.lapsed, s.lapsed_from, s.lapsed_to)) return false;
    }
    if (s.not_contacted_since && last_contact[id] >= *s.not_contacted_since) return false;
    return true;
  }

  static Roaring Union(const std::vector<const Roaring*>& maps) {
    if (maps.empty()) return Roaring();
    if (maps.size() == 1) return *maps[0];
    return Roaring::fastunion(maps.size(), const_cast<const Roaring**>(maps.data()));
  }

  // Narrows `r` by date buckets when the buckets in range hold fewer members
  // than `r` (otherwise the per-member check alone is cheaper).
  static void NarrowByDate(Roaring& r, const std::map<std::int64_t, Roaring>& buckets,
                           const std::optional<std::int64_t>& from,
                           const std::optional<std::int64_t>& to) {
    if (!from && !to) return;
    if (from && to && *to <= *from) {
      r = Roaring();
      return;
    }
    auto lo = from ? buckets.lower_bound(Bucket(*from)) : buckets.begin();
    auto hi = to ? buckets.upper_bound(Bucket(*to - 1)) : buckets.end();
    std::vector<const Roaring*> maps;
    std::uint64_t total = 0;
    for (auto it = lo; it != hi && it != buckets.end(); ++it) {
      if (to && it->first > Bucket(*to - 1)) break;
      maps.push_back(&it->second);
      total += it->second.cardinality();
    }
    if (total == 0) {
      r = Roaring();
      return;
    }
    if (total < r.cardinality()) r &= Union(maps);
  }

  // Every member the bitmaps admit; Passes() decides the rest.
  Roaring Candidates(const Segment& s) const {
    auto scope = IndexOf(s.scope);
    if (!scope) return Roaring();
    std::vector<const Roaring*> ands;  // intersected, smallest first
    std::vector<Roaring> owned;
    owned.reserve(3);
    ands.push_back(&subtree[*scope]);
    if (!s.units.empty()) {
      std::vector<const Roaring*> any;
      for (UnitId u : s.units)
        if (auto k = IndexOf(u)) any.push_back(&subtree[*k]);
      if (any.empty()) return Roaring();
      owned.push_back(Union(any));
      ands.push_back(&owned.back());
    }
    auto any_of = [&](const std::vector<std::string>& wanted, const std::vector<std::string>& names,
                      const std::vector<Roaring>& maps) -> bool {
      if (wanted.empty()) return true;
      std::vector<const Roaring*> any;
      for (size_t i = 0; i < names.size(); ++i) {
        if (std::find(wanted.begin(), wanted.end(), names[i]) != wanted.end()) {
          any.push_back(&maps[i]);
        }
      }
      if (any.empty()) return false;
      if (any.size() == 1) {
        ands.push_back(any[0]);
      } else {
        owned.push_back(Union(any));
        ands.push_back(&owned.back());
      }
      return true;
    };
    if (!any_of(s.statuses, status_names, by_status)) return Roaring();
    if (!any_of(s.types, type_names, by_type)) return Roaring();
    for (int b = 0; b < 32; ++b)
      if (s.consents_all & (1u << b)) ands.push_back(&consent[b]);
    std::sort(ands.begin(), ands.end(), [](const Roaring* a, const Roaring* b) {
      return a->cardinality() < b->cardinality();
    });
    Roaring r = ands.size() > 1 ? (*ands[0] & *ands[1]) : *ands[0];
    for (size_t i = 2; i < ands.size() && !r.isEmpty(); ++i) r &= *ands[i];
    for (int b = 0; b < 32; ++b)
      if (s.suppressions_none & (1u << b)) r -= suppression[b];
    if (s.exclude_canaries) r -= canaries;
    NarrowByDate(r, joined_buckets, s.joined_from, s.joined_to);
    NarrowByDate(r, lapsed_buckets, s.lapsed_from, s.lapsed_to);
    return r;
  }
};

AudienceIndex::AudienceIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AudienceIndex::~AudienceIndex() = default;

Result<std::unique_ptr<AudienceIndex>> AudienceIndex::Build(store::Store& store,
                                                            const members::OrgTree& tree) {
  auto impl = std::make_unique<Impl>();
  Impl& x = *impl;
  x.tree = tree;
  const auto& units = x.tree.units();
  for (size_t i = 0; i < units.size(); ++i) {
    x.unit_index[units[i].id.value()] = static_cast<std::uint32_t>(i);
  }
  x.chain.resize(units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    for (const members::Unit* u = &units[i]; u; u = x.tree.Find(u->parent)) {
      x.chain[i].push_back(x.unit_index[u->id.value()]);
    }
  }
  x.subtree.resize(units.size());
  SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(std::int64_t max_id,
                        tx.QueryInt("SELECT COALESCE(MAX(id), 0) FROM members"));
    SB_RETURN_IF_ERROR(CheckId(std::max<std::int64_t>(max_id, 1)));
    x.state.reserve(static_cast<size_t>(max_id) + 1);
    x.last_contact.reserve(static_cast<size_t>(max_id) + 1);
    Status st;
    SB_RETURN_IF_ERROR(
        tx.Query(std::string(kMemberColumns) + " ORDER BY id", {}, [&](const store::Row& r) {
          MemberRow row = ReadMemberRow(r);
          x.members_watermark = std::max(x.members_watermark, row.updated_at);
          st = x.Apply(row);
          return st.ok();
        }));
    SB_RETURN_IF_ERROR(st);
    SB_RETURN_IF_ERROR(tx.Query("SELECT id, member_id, at FROM contact_log ORDER BY id", {},
                                [&](const store::Row& r) {
                                  x.contact_watermark = std::max(x.contact_watermark, r.Int(0));
                                  st = x.ApplyContact(r.Int(1), r.Int(2));
                                  return st.ok();
                                }));
    SB_RETURN_IF_ERROR(st);
    return tx.Query("SELECT member_id FROM canaries", {}, [&](const store::Row& r) {
      x.canaries.add(static_cast<std::uint32_t>(r.Int(0)));
      return true;
    });
  }));
  x.Optimize();
  return std::unique_ptr<AudienceIndex>(new AudienceIndex(std::move(impl)));
}

Status AudienceIndex::Sync(store::Store& store) {
  Impl& x = *impl_;
  std::lock_guard sync(x.sync_mu);
  // Only Sync changes the watermarks, and Syncs are serialised.
  const Micros members_from = x.members_watermark;
  const std::int64_t contacts_from = x.contact_watermark;
  std::vector<MemberRow> rows;
  struct Contact {
    std::int64_t id, member;
    Micros at;
  };
  std::vector<Contact> contacts;
  std::vector<std::uint32_t> canaries;
  SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    rows.clear();
    contacts.clear();
    canaries.clear();
    SB_RETURN_IF_ERROR(tx.Query(std::string(kMemberColumns) + " WHERE updated_at >= $1",
                                {members_from}, [&](const store::Row& r) {
                                  rows.push_back(ReadMemberRow(r));
                                  return true;
                                }));
    SB_RETURN_IF_ERROR(
        tx.Query("SELECT id, member_id, at FROM contact_log WHERE id > $1 ORDER BY id",
                 {contacts_from}, [&](const store::Row& r) {
                   contacts.push_back({r.Int(0), r.Int(1), r.Int(2)});
                   return true;
                 }));
    return tx.Query("SELECT member_id FROM canaries", {}, [&](const store::Row& r) {
      canaries.push_back(static_cast<std::uint32_t>(r.Int(0)));
      return true;
    });
  }));
  Roaring new_canaries(canaries.size(), canaries.data());
  new_canaries.runOptimize();
  std::unique_lock lock(x.mu);
  Micros members_to = members_from;
  std::int64_t contacts_to = contacts_from;
  for (const MemberRow& r : rows) {
    SB_RETURN_IF_ERROR(x.Apply(r));
    members_to = std::max(members_to, r.updated_at);
  }
  for (const Contact& c : contacts) {
    SB_RETURN_IF_ERROR(x.ApplyContact(c.member, c.at));
    contacts_to = std::max(contacts_to, c.id);
  }
  x.members_watermark = members_to;
  x.contact_watermark = contacts_to;
  if (!(new_canaries == x.canaries)) x.canaries = std::move(new_canaries);
  return Status::Ok();
}

std::uint64_t AudienceIndex::Count(const Segment& s) const {
  const Impl& x = *impl_;
  std::shared_lock lock(x.mu);
  Roaring r = x.Candidates(s);
  if (!Impl::NeedsCheck(s)) return r.cardinality();
  Ctx ctx{0, nullptr, 0, &s, &x};
  roaring_iterate(
      &r.roaring,
      [](std::uint32_t id, void* p) {
        auto* c = static_cast<Ctx*>(p);
        if (static_cast<const Impl*>(c->impl)->Passes(id, *c->s)) ++c->count;
        return true;
      },
      &ctx);
  return ctx.count;
}

std::vector<MemberId> AudienceIndex::Page(const Segment& s, MemberId after, int limit) const {
  std::vector<MemberId> out;
  if (limit <= 0 || after.value() >= static_cast<std::int64_t>(UINT32_MAX)) return out;
  const Impl& x = *impl_;
  std::shared_lock lock(x.mu);
  Roaring r = x.Candidates(s);
  if (after.value() >= 0) {
    roaring_bitmap_remove_range_closed(&r.roaring, 0, static_cast<std::uint32_t>(after.value()));
  }
  out.reserve(static_cast<size_t>(std::min<std::uint64_t>(limit, r.cardinality())));
  Ctx ctx{0, &out, limit, &s, &x};
  roaring_iterate(
      &r.roaring,
      [](std::uint32_t id, void* p) {
        auto* c = static_cast<Ctx*>(p);
        if (static_cast<const Impl*>(c->impl)->Passes(id, *c->s)) {
          c->out->push_back(MemberId(id));
        }
        return c->out->size() < static_cast<size_t>(c->limit);
      },
      &ctx);
  return out;
}

bool AudienceIndex::Contains(const Segment& s, MemberId member) const {
  const Impl& x = *impl_;
  std::shared_lock lock(x.mu);
  if (member.value() <= 0 || member.value() >= static_cast<std::int64_t>(x.state.size())) {
    return false;
  }
  const auto id = static_cast<std::uint32_t>(member.value());
  const State& st = x.state[id];
  if (st.status == 0) return false;
  auto scope = x.IndexOf(s.scope);
  if (!scope || !x.subtree[*scope].contains(id)) return false;
  if (!s.units.empty()) {
    bool any = false;
    for (UnitId u : s.units) {
      auto k = x.IndexOf(u);
      any = any || (k && x.subtree[*k].contains(id));
    }
    if (!any) return false;
  }
  auto listed = [](const std::vector<std::string>& wanted, const std::string& name) {
    return wanted.empty() || std::find(wanted.begin(), wanted.end(), name) != wanted.end();
  };
  if (!listed(s.statuses, x.status_names[st.status - 1])) return false;
  if (!listed(s.types, x.type_names[st.type - 1])) return false;
  if ((st.consents & s.consents_all) != s.consents_all) return false;
  if ((st.suppressions & s.suppressions_none) != 0) return false;
  if (s.exclude_canaries && x.canaries.contains(id)) return false;
  return x.Passes(id, s);
}

std::uint64_t AudienceIndex::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->members;
}

std::uint64_t AudienceIndex::memory_bytes() const {
  const Impl& x = *impl_;
  std::shared_lock lock(x.mu);
  std::uint64_t n = x.state.capacity() * sizeof(State) + x.last_contact.capacity() * sizeof(Micros);
  auto add = [&](const Roaring& r) { n += r.getSizeInBytes(false) + sizeof(Roaring); };
  for (const Roaring& r : x.subtree) add(r);
  for (const Roaring& r : x.by_status) add(r);
  for (const Roaring& r : x.by_type) add(r);
  for (const Roaring& r : x.consent) add(r);
  for (const Roaring& r : x.suppression) add(r);
  for (const auto& [k, r] : x.joined_buckets) add(r);
  for (const auto& [k, r] : x.lapsed_buckets) add(r);
  add(x.canaries);
  return n;
}

}  // namespace switchboard::segment
