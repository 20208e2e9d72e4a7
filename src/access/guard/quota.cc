#include "access/guard/quota.h"

#include <algorithm>
#include <vector>

namespace switchboard::access {

namespace {

// Products of a period in microseconds (up to 8.64e10) and a capacity in
// milli-tokens (up to 1e10) overflow 64 bits.
__extension__ typedef __int128 Wide;

constexpr std::int64_t kMilli = 1000;
constexpr Micros kMicrosPerHour = 3600 * kMicrosPerSecond;

std::int64_t CeilDiv(Wide a, Wide b) { return static_cast<std::int64_t>((a + b - 1) / b); }

struct Bucket {
  const char* period;
  std::int64_t capacity;  // tokens
  Micros span;            // the period: a full refill takes this long
  // As stored (a missing row is a full bucket as of now).
  std::int64_t stored_milli = 0;
  Micros stored_at = 0;
  bool found = false;

  std::int64_t max_milli() const { return capacity * kMilli; }
  // Milli-tokens at `t` >= stored_at, and how much of (t - stored_at) the
  // credited refill used up.
  std::int64_t MilliAt(Micros t, Micros* credited_until) const {
    const std::int64_t cap = max_milli();
    if (stored_milli >= cap) {
      *credited_until = t;
      return cap;
    }
    const Micros elapsed = std::clamp<Micros>(t - stored_at, 0, span);
    const auto added = static_cast<std::int64_t>(Wide(elapsed) * cap / span);
    if (stored_milli + added >= cap) {
      *credited_until = t;
      return cap;
    }
    *credited_until = std::max(stored_at, stored_at + CeilDiv(Wide(added) * span, cap));
    return stored_milli + added;
  }
  // The first instant at which the bucket holds `need` milli-tokens (or, when
  // `need` is above capacity, is full).
  Micros ReadyAt(std::int64_t need) const {
    need = std::min(need, max_milli());
    if (stored_milli >= need) return stored_at;
    return stored_at + CeilDiv(Wide(need - stored_milli) * span, max_milli());
  }
};

std::vector<Bucket> BucketsFor(const Role& role, std::string_view capability) {
  std::vector<Bucket> out;
  auto it = role.quotas.find(std::string(capability));
  if (it == role.quotas.end()) return out;
  if (it->second.per_day > 0) out.push_back({"day", it->second.per_day, kMicrosPerDay});
  if (it->second.per_hour > 0) out.push_back({"hour", it->second.per_hour, kMicrosPerHour});
  return out;
}

Result<QuotaCheck> Meter(store::Tx& tx, AccountId account, const Role& role,
                         std::string_view capability, Micros now, int cost, bool spend) {
  if (cost < 1) return Status::InvalidArgument("a quota charge costs at least one token");
  std::vector<Bucket> buckets = BucketsFor(role, capability);
  if (buckets.empty()) return QuotaCheck{};  // unlimited
  std::string sql =
      "SELECT period, milli_tokens, updated_at FROM quota_buckets WHERE account_id = $1 AND "
      "capability = $2";
  if (spend && tx.dialect() == store::Dialect::kPostgres) sql += " FOR UPDATE";
  SB_RETURN_IF_ERROR(tx.Query(sql, {account.value(), capability}, [&](const store::Row& r) {
    for (Bucket& b : buckets) {
      if (r.Text(0) == b.period) {
        b.found = true;
        b.stored_milli = r.Int(1);
        b.stored_at = r.Int(2);
      }
    }
    return true;
  }));
  const std::int64_t need = std::int64_t{cost} * kMilli;
  struct After {
    std::int64_t milli;
    Micros credited_until;
  };
  std::vector<After> after;
  bool allow = true;
  for (Bucket& b : buckets) {
    if (!b.found) {
      b.stored_milli = b.max_milli();
      b.stored_at = now;
    }
    After a;
    a.milli = b.MilliAt(now, &a.credited_until);
    if (a.milli < need) allow = false;
    after.push_back(a);
  }

  QuotaCheck check;
  check.allow = allow;
  const Bucket* binding = nullptr;
  if (!allow) {
    // Nothing is written: the stored state is what later refills start from,
    // so the reset time is computed from it and is exact to the microsecond.
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (after[i].milli >= need) continue;
      const Micros ready = std::max(now, buckets[i].ReadyAt(need));
      if (!binding || ready > check.resets_at) {
        binding = &buckets[i];
        check.resets_at = ready;
        check.remaining = after[i].milli / kMilli;
      }
    }
  } else {
    for (size_t i = 0; i < buckets.size(); ++i) {
      // Peek reports what is there now; Charge what is left after spending.
      const std::int64_t left = after[i].milli - (spend ? need : 0);
      if (!binding || left / kMilli < check.remaining) {
        binding = &buckets[i];
        check.remaining = left / kMilli;
      }
      if (!spend) continue;
      SB_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO quota_buckets (account_id, capability, period, milli_tokens, "
                  "updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, capability, "
                  "period) DO UPDATE SET milli_tokens = excluded.milli_tokens, updated_at = "
                  "excluded.updated_at",
                  {account.value(), capability, buckets[i].period, left, after[i].credited_until})
              .status());
    }
  }
  check.period = binding->period;
  check.limit = binding->capacity;
  return check;
}

}  // namespace

Result<QuotaCheck> Charge(store::Tx& tx, AccountId account, const Role& role,
                          std::string_view capability, Micros now, int cost) {
  return Meter(tx, account, role, capability, now, cost, /*spend=*/true);
}

Result<QuotaCheck> Peek(store::Tx& tx, AccountId account, const Role& role,
                        std::string_view capability, Micros now, int cost) {
  return Meter(tx, account, role, capability, now, cost, /*spend=*/false);
}

std::string QuotaRefusalReason(std::string_view capability, const QuotaCheck& check) {
  // Round up to the whole second, so the stated time is never too early.
  const Micros at = (check.resets_at + kMicrosPerSecond - 1) / kMicrosPerSecond * kMicrosPerSecond;
  return "over the " + std::string(capability) + " quota of " + std::to_string(check.limit) +
         " per " + check.period + "; resets at " + FormatTimestamp(at);
}

Decision QuotaDeny(const Decision& allow, std::string_view capability, const QuotaCheck& check) {
  Decision d;
  d.allow = false;
  d.rule = "quota.exceeded";
  d.grant = allow.grant;
  d.deny_reason = QuotaRefusalReason(capability, check);
  return d;
}

}  // namespace switchboard::access
