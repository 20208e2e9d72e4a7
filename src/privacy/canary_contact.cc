#include "privacy/canary_contact.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "access/guard/anomaly.h"
#include "audit/audit_log.h"
#include "members/canaries.h"
#include "privacy/leak.h"

namespace switchboard::privacy {

namespace {

// The exports whose file carried register member `member`: those whose
// export.produce event names it. Exports are few and the audit log is not:
// each export's own event is read by its sequence number, never the log.
Result<std::vector<CanaryRef>> ExportsCarrying(store::Tx& tx, MemberId member) {
  struct Produced {
    ExportId id;
    AccountId requester;
    std::int64_t seq;
  };
  std::vector<Produced> produced;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id, requested_by, produce_seq FROM exports WHERE produce_seq IS NOT NULL ORDER BY "
      "produce_seq",
      {}, [&](const store::Row& r) {
        produced.push_back({ExportId(r.Int(0)), AccountId(r.Int(1)), r.Int(2)});
        return true;
      }));
  std::vector<CanaryRef> out;
  for (const Produced& p : produced) {
    SB_ASSIGN_OR_RETURN(audit::Event e, audit::AuditLog::EventAt(tx, p.seq));
    if (e.action != "export.produce" || e.decision != "allow") continue;
    if (std::find(e.members.begin(), e.members.end(), member.value()) == e.members.end()) {
      continue;
    }
    out.push_back(CanaryRef{member.value(), p.id, p.requester});
  }
  return out;
}

}  // namespace

Result<int> CheckOutboundContact(store::Tx& tx, std::string_view kind, std::string_view blind_index,
                                 std::string_view how, std::string_view request_id, Micros now) {
  if (blind_index.empty() || (kind != "email" && kind != "phone")) return 0;
  // An export's own canaries.
  SB_ASSIGN_OR_RETURN(std::vector<CanaryTouch> touches,
                      ReportCanaryTouchByIndex(tx, kind, blind_index, how, request_id, now));
  int raised = static_cast<int>(touches.size());
  std::set<std::int64_t> named;
  for (const CanaryTouch& t : touches) named.insert(t.canary.export_id.value());
  // Canaries planted in the register, and the exports that carried them.
  SB_ASSIGN_OR_RETURN(std::vector<MemberId> planted,
                      members::CanariesHolding(tx, kind, blind_index));
  std::string via;
  for (char c : how) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') via += c;
  }
  for (MemberId m : planted) {
    SB_ASSIGN_OR_RETURN(std::vector<CanaryRef> carried, ExportsCarrying(tx, m));
    for (const CanaryRef& ref : carried) {
      if (!named.insert(ref.export_id.value()).second) continue;
      const std::string detail = "export:" + ref.export_id.ToString() +
                                 " register-canary:" + m.ToString() + " " + std::string(kind) +
                                 " via:" + (via.empty() ? "report" : via);
      SB_RETURN_IF_ERROR(
          access::RaiseCanaryTouch(tx, ref.requester, detail, request_id, now).status());
      ++raised;
    }
  }
  return raised;
}

}  // namespace switchboard::privacy
