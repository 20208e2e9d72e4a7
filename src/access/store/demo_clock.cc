#include "access/store/demo_clock.h"

#include <charconv>
#include <string>

#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "store/settings.h"

namespace switchboard::access {

namespace {
constexpr std::string_view kOffsetSetting = "demo_clock_offset";
}  // namespace

Status RecordDemoClockMove(store::Tx& tx, const Acting& who, Micros by, Micros offset) {
  if (by <= 0 || offset < 0) return Status::InvalidArgument("the demo clock only moves forward");
  SB_RETURN_IF_ERROR(
      store::PutSetting(tx, kOffsetSetting, std::to_string(offset), /*replace=*/true));
  SB_RETURN_IF_ERROR(tx.Exec("UPDATE sessions SET last_seen_at = last_seen_at + $1, "
                             "expires_at = expires_at + $1 WHERE revoked_at IS NULL AND "
                             "expires_at > $2",
                             {by, who.now})
                         .status());
  SB_RETURN_IF_ERROR(BumpAccessVersion(tx));
  audit::Event e = who.Allow("demo.clock");
  e.rule = "demo_clock:" + FormatTimestamp(who.now + by);
  return audit::AuditLog::Append(tx, e).status();
}

Result<Micros> RecordedDemoClockOffset(store::Tx& tx) {
  SB_ASSIGN_OR_RETURN(std::string v, store::GetSetting(tx, kOffsetSetting));
  if (v.empty()) return Micros{0};
  Micros out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || out < 0) {
    return Status::DataLoss("settings: demo_clock_offset is not a count of microseconds");
  }
  return out;
}

}  // namespace switchboard::access
