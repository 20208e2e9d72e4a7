#include "privacy/retention.h"

#include <charconv>
#include <optional>
#include <vector>

#include "access/store/erase.h"
#include "audit/audit_log.h"
#include "members/erase.h"
#include "messaging/erase.h"
#include "phonebank/erase.h"
#include "privacy/erasure.h"
#include "store/settings.h"

namespace switchboard::privacy {

namespace {

constexpr Micros kHour = 3600 * kMicrosPerSecond;
constexpr Micros kDay = 24 * kHour;
constexpr const char* kLastRunSetting = "privacy.retention.last_run";
constexpr int kLapsedBatch = 500;

// Days since 1970-01-01 of the day `years` before `now` (lapse dates are
// stored as such days).
std::int64_t CutoffDay(Micros now, int years) {
  return now / kDay - static_cast<std::int64_t>(years) * 36525 / 100;
}

Status Purge(store::Tx& tx, const access::Policy& p, Micros now, bool dry_run,
             RetentionCounts& counts) {
  access::AccessPurge ap;
  ap.sessions_before = now - p.retention_session_days * kDay;
  ap.links_before = now - p.retention_link_days * kDay;
  ap.throttles_before = now - p.retention_throttle_days * kDay;
  ap.mail_before = now - p.retention_outbox_days * kDay;
  SB_ASSIGN_OR_RETURN(auto acc, access::PurgeExpired(tx, ap, dry_run));
  for (const auto& [k, n] : acc) counts[k] += n;
  phonebank::PhonebankPurge pp;
  pp.leases_before = now - p.retention_lease_hours * kHour;
  pp.verifications_before = now - p.retention_verification_hours * kHour;
  pp.invitations_before = now - p.retention_invitation_days * kDay;
  SB_ASSIGN_OR_RETURN(auto pb, phonebank::PurgeExpired(tx, pp, dry_run));
  for (const auto& [k, n] : pb) counts[k] += n;
  SB_ASSIGN_OR_RETURN(std::int64_t outbox,
                      messaging::PurgeOutbox(tx, now - p.retention_outbox_days * kDay, dry_run));
  counts["outbox"] += outbox;
  return Status::Ok();
}

}  // namespace

Result<RetentionCounts> RunRetention(store::Store& store, const crypto::Sealer& sealer,
                                     const access::Policy& policy, Micros now, bool dry_run) {
  RetentionCounts counts;
  const std::int64_t cutoff = CutoffDay(now, policy.retention_lapsed_years);
  if (dry_run) {
    SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
      counts.clear();
      SB_ASSIGN_OR_RETURN(std::vector<MemberId> lapsed, members::LapsedBefore(tx, cutoff, 1 << 30));
      counts["lapsed_members"] = static_cast<std::int64_t>(lapsed.size());
      return Purge(tx, policy, now, true, counts);
    }));
    return counts;
  }
  // The purge first, so that it finds what a dry run would have counted
  // (erasing a member removes some of the same rows), with the one event
  // that names every count; then each lapsed member, with an event each.
  RetentionCounts purged;
  std::int64_t lapsed_due = 0;
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> Status {
    purged.clear();
    SB_ASSIGN_OR_RETURN(std::vector<MemberId> lapsed, members::LapsedBefore(tx, cutoff, 1 << 30));
    lapsed_due = static_cast<std::int64_t>(lapsed.size());
    SB_RETURN_IF_ERROR(Purge(tx, policy, now, false, purged));
    audit::Event e;
    e.at = now;
    e.action = "privacy.retention";
    e.decision = "allow";
    e.rule = "retention";
    e.field_classes.push_back("lapsed_members:" + std::to_string(lapsed_due));
    for (const auto& [kind, n] : purged) e.field_classes.push_back(kind + ":" + std::to_string(n));
    return audit::AuditLog::Append(tx, e).status();
  }));
  counts["lapsed_members"] = 0;
  while (true) {
    std::vector<MemberId> batch;
    SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(batch, members::LapsedBefore(tx, cutoff, kLapsedBatch));
      return Status::Ok();
    }));
    if (batch.empty()) break;
    for (const MemberId m : batch) {
      SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> Status {
        EraseRequest r;
        r.member = m;
        r.kind = EraseKind::kRetention;
        r.reason = "lapsed for more than " + std::to_string(policy.retention_lapsed_years) +
                   " years (retention)";
        return Erase(tx, sealer, r, now).status();
      }));
      ++counts["lapsed_members"];
    }
  }
  for (const auto& [k, n] : purged) counts[k] += n;
  SB_RETURN_IF_ERROR(store.Scrub());
  return counts;
}

Micros LastScheduled(const TimeZone& zone, int run_hour, Micros now) {
  const Micros minute = 60 * kMicrosPerSecond;
  const Micros start_of_minute = now - now % minute;
  int since = zone.MinuteOfDay(now) - run_hour * 60;
  if (since < 0) since += 24 * 60;
  return start_of_minute - since * minute;
}

Result<bool> RetentionDue(store::Store& store, const TimeZone& zone, int run_hour, Micros now) {
  std::string last;
  SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(last, store::GetSetting(tx, kLastRunSetting));
    return Status::Ok();
  }));
  if (last.empty()) return true;
  Micros last_run = 0;
  const auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), last_run);
  if (ec != std::errc() || end != last.data() + last.size()) return true;  // run, rewrite it
  return last_run < LastScheduled(zone, run_hour, now);
}

Result<std::optional<RetentionCounts>> RunRetentionIfDue(store::Store& store,
                                                         const crypto::Sealer& sealer,
                                                         const access::Policy& policy,
                                                         const TimeZone& zone, Micros now) {
  SB_ASSIGN_OR_RETURN(bool due, RetentionDue(store, zone, policy.retention_run_hour, now));
  if (!due) return std::optional<RetentionCounts>();
  SB_ASSIGN_OR_RETURN(RetentionCounts counts, RunRetention(store, sealer, policy, now, false));
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) {
    return store::PutSetting(tx, kLastRunSetting, std::to_string(now), true);
  }));
  return std::optional<RetentionCounts>(std::move(counts));
}

std::string DescribeRetention(const RetentionCounts& counts) {
  std::string out;
  for (const auto& [kind, n] : counts) out += "  " + kind + ": " + std::to_string(n) + "\n";
  return out;
}

}  // namespace switchboard::privacy
