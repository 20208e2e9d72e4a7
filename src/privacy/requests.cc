#include "privacy/requests.h"

#include <chrono>

#include "access/store/member_reader.h"
#include "audit/audit_log.h"

namespace switchboard::privacy {

namespace {

std::int64_t DayOf(Micros t) {
  return t >= 0 ? t / kMicrosPerDay : -((-t + kMicrosPerDay - 1) / kMicrosPerDay);
}

Status Audit(store::Tx& tx, const access::Acting& who, std::string_view action,
             const PrivacyRequest& r) {
  audit::Event e = who.Allow(action);
  e.members = {r.member.value()};
  return audit::AuditLog::Append(tx, e).status();
}

void Fill(PrivacyRequest& r, Micros now) {
  r.due_at = (r.due_day + 1) * kMicrosPerDay;
  r.days_left = r.due_day - DayOf(now);
  if (r.state == "open") {
    if (now >= r.due_at) {
      r.reminder = "overdue";
    } else if (r.days_left <= kReminderDays) {
      r.reminder = "due_soon";
    }
  }
}

constexpr const char* kColumns =
    "SELECT id, kind, member_id, source, received_at, due_at, state, closed_at, closed_by "
    "FROM privacy_requests";

PrivacyRequest FromRow(const store::Row& row) {
  PrivacyRequest r;
  r.id = row.Int(0);
  r.kind = ParseRequestKind(row.Text(1)).value_or(RequestKind::kAccess);
  r.member = MemberId(row.Int(2));
  r.source = row.Text(3);
  r.received_at = row.Int(4);
  // due_at is stored as the first late instant; the due day is the one before.
  r.due_day = DayOf(row.Int(5)) - 1;
  r.state = row.Text(6);
  r.closed_at = row.IntOr(7, 0);
  if (!row.IsNull(8)) r.closed_by = AccountId(row.Int(8));
  return r;
}

}  // namespace

std::string_view RequestKindName(RequestKind k) {
  return k == RequestKind::kErasure ? "erasure" : "access";
}

std::optional<RequestKind> ParseRequestKind(std::string_view s) {
  if (s == "access") return RequestKind::kAccess;
  if (s == "erasure") return RequestKind::kErasure;
  return std::nullopt;
}

std::int64_t OneMonthLater(std::int64_t day) {
  using namespace std::chrono;  // NOLINT(build/namespaces)
  const year_month_day d{sys_days{days{day}}};
  year_month_day next = d + months{1};
  if (!next.ok()) next = year_month_day_last{next.year(), month_day_last{next.month()}};
  return sys_days{next}.time_since_epoch().count();
}

Result<PrivacyRequest> RecordRequest(store::Tx& tx, const access::Acting& who, RequestKind kind,
                                     MemberId member, std::string_view source, Micros received_at) {
  if (source.empty() || source.size() > 64) {
    return Status::InvalidArgument("say how the request arrived (source, up to 64 characters)");
  }
  if (received_at > who.now) return Status::InvalidArgument("a request cannot arrive in future");
  SB_RETURN_IF_ERROR(access::MemberUnit(tx, member).status());
  PrivacyRequest r;
  r.kind = kind;
  r.member = member;
  r.source = std::string(source);
  r.received_at = received_at;
  r.due_day = OneMonthLater(DayOf(received_at));
  r.state = "open";
  Fill(r, who.now);
  std::optional<std::int64_t> by;
  if (who.account.valid()) by = who.account.value();
  SB_RETURN_IF_ERROR(tx.Query(
      "INSERT INTO privacy_requests (kind, member_id, source, received_at, due_at, recorded_by, "
      "state) VALUES ($1, $2, $3, $4, $5, $6, 'open') RETURNING id",
      {std::string(RequestKindName(kind)), member.value(), r.source, received_at, r.due_at,
       by ? store::Value(*by) : store::Value()},
      [&](const store::Row& row) {
        r.id = row.Int(0);
        return false;
      }));
  SB_RETURN_IF_ERROR(Audit(tx, who, "privacy.request.record", r));
  return r;
}

Result<std::vector<PrivacyRequest>> ListRequests(store::Tx& tx, const RequestFilter& f,
                                                 Micros now) {
  std::vector<PrivacyRequest> out;
  std::string sql = std::string(kColumns) + " WHERE state = 'open' ORDER BY due_at, id";
  auto add = [&](const store::Row& row) {
    out.push_back(FromRow(row));
    Fill(out.back(), now);
    return static_cast<int>(out.size()) < f.limit;
  };
  SB_RETURN_IF_ERROR(tx.Query(sql, {}, add));
  if (!f.open_only && static_cast<int>(out.size()) < f.limit) {
    SB_RETURN_IF_ERROR(
        tx.Query(std::string(kColumns) + " WHERE state <> 'open' ORDER BY closed_at DESC, id DESC",
                 {}, add));
  }
  return out;
}

Result<PrivacyRequest> GetRequest(store::Tx& tx, std::int64_t id, Micros now) {
  std::optional<PrivacyRequest> r;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string(kColumns) + " WHERE id = $1", {id}, [&](const store::Row& row) {
        r = FromRow(row);
        return false;
      }));
  if (!r) return Status::NotFound("no privacy request has this id");
  Fill(*r, now);
  return *r;
}

Result<std::vector<PrivacyRequest>> Reminders(store::Tx& tx, Micros now) {
  RequestFilter f;
  f.open_only = true;
  f.limit = 100000;
  SB_ASSIGN_OR_RETURN(auto open, ListRequests(tx, f, now));
  std::vector<PrivacyRequest> out;
  for (auto& r : open) {
    if (!r.reminder.empty()) out.push_back(std::move(r));
  }
  return out;
}

Result<PrivacyRequest> CloseRequest(store::Tx& tx, const access::Acting& who, std::int64_t id) {
  SB_ASSIGN_OR_RETURN(PrivacyRequest r, GetRequest(tx, id, who.now));
  if (r.state != "open") return Status::FailedPrecondition("this request is already closed");
  std::optional<std::int64_t> by;
  if (who.account.valid()) by = who.account.value();
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE privacy_requests SET state = 'closed', closed_at = $1, closed_by = $2 "
              "WHERE id = $3 AND state = 'open'",
              {who.now, by ? store::Value(*by) : store::Value(), id}));
  if (n != 1) return Status::FailedPrecondition("this request is already closed");
  r.state = "closed";
  r.closed_at = who.now;
  if (by) r.closed_by = AccountId(*by);
  Fill(r, who.now);
  SB_RETURN_IF_ERROR(Audit(tx, who, "privacy.request.close", r));
  return r;
}

}  // namespace switchboard::privacy
