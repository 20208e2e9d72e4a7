// Quotas (RULEBOOK §5): every capability that reads member data is metered per
// account with token buckets whose sizes come from the role's quotas in the
// policy file (`quotas = { "member.view" = { per_day = 300 } }`).
//
// The model. One bucket per (account, capability, period), period "day" or
// "hour". A bucket holds at most the quota (its capacity) and refills
// continuously: a per_day quota of 300 gives back one token every 86400/300 s,
// so an account that spends its whole day's quota at 09:00 gets it back
// gradually over the next 24 hours, not all at midnight. When a role has both
// per_day and per_hour, both buckets must hold the cost and both are charged.
// A quota of 0 (or no quota for the capability) is unlimited and touches no
// table.
//
// Storage (migration 5): quota_buckets(account_id, capability, period,
// milli_tokens, updated_at). Tokens are integer milli-tokens and refill is
// computed in integer arithmetic, so SQLite and PostgreSQL agree to the
// microsecond; a missing row is a full bucket. `updated_at` is the instant up
// to which refill has been credited, advanced only by the time the credited
// milli-tokens took, so frequent charges lose no fractional refill.
//
// Transactions: Charge() and Peek() run inside the caller's transaction
// (store::Tx), so the HTTP layer can decide → charge → read → audit → observe
// in one transaction and a rolled-back request spends nothing. Charge() reads
// and writes each bucket once; writes are serialised by the store's single
// writer, and on PostgreSQL the bucket rows are also locked (FOR UPDATE) for
// the rest of the transaction. A refusal writes nothing: it consumes no
// tokens.
//
// Decide() stays pure: the caller charges only after an allow, and turns a
// refusal into a deny with QuotaDeny() (rule "quota.exceeded", a reason that
// says when the quota resets).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "access/policy/decision.h"
#include "access/policy/policy.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::access {

struct QuotaCheck {
  bool allow = true;
  // Refused: the instant at which at least `cost` tokens are back in every
  // bucket (for a cost above the quota itself, which can never be met: the
  // instant the binding bucket is full). Allowed: 0.
  Micros resets_at = 0;
  // The binding period: "day" or "hour" (the one that refused, or for an
  // allow the one with fewer tokens left); empty when unlimited.
  std::string period;
  // Whole tokens in the binding bucket after this call (Charge: after
  // spending, if allowed; Peek: as they are now); -1 = unlimited.
  std::int64_t remaining = -1;
  // The binding period's quota (the bucket's capacity); 0 when unlimited.
  std::int64_t limit = 0;
};

// Spends `cost` tokens (cost >= 1) of `capability` for `account` under `role`'s
// quotas at `now`, or refuses without spending anything. kInvalidArgument for
// a cost below 1.
Result<QuotaCheck> Charge(store::Tx& tx, AccountId account, const Role& role,
                          std::string_view capability, Micros now, int cost = 1);

// Whether Charge() would allow `cost` now and when it would reset, without
// writing anything; `remaining` is what the bucket holds now.
Result<QuotaCheck> Peek(store::Tx& tx, AccountId account, const Role& role,
                        std::string_view capability, Micros now, int cost = 1);

// "over the member.view quota of 300 per day; resets at 2026-11-25T09:13:00Z"
// (the time rounded up to the whole second, UTC).
std::string QuotaRefusalReason(std::string_view capability, const QuotaCheck& check);

// Turns an allow into the deny for a refused charge: rule "quota.exceeded",
// the same grant, the reason above.
Decision QuotaDeny(const Decision& allow, std::string_view capability, const QuotaCheck& check);

}  // namespace switchboard::access
