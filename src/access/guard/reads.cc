#include "access/guard/reads.h"

#include <set>

#include "access/guard/anomaly.h"
#include "access/guard/gate.h"
#include "access/store/access_service.h"

namespace switchboard::access {

namespace {

std::vector<std::string> Sorted(const std::set<std::string>& s) {
  return std::vector<std::string>(s.begin(), s.end());
}

}  // namespace

Result<SearchPage> SearchRegister(store::Tx& tx, const Policy& policy, const members::OrgTree& tree,
                                  const Acting& who, SearchQuery q) {
  SB_ASSIGN_OR_RETURN(SearchPage page,
                      SearchMembers(tx, *who.decision, tree, q, policy.search_page_max, who.now));
  audit::Event e = who.Allow("member.search");
  std::set<std::string> classes;
  std::vector<MemberId> ids;
  for (const auto& m : page.members) {
    e.members.push_back(m.id.value());
    ids.push_back(m.id);
    classes.insert(m.classes.begin(), m.classes.end());
  }
  e.field_classes = Sorted(classes);
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  // Search pages count towards the rate rule, canaries left out.
  SB_ASSIGN_OR_RETURN(std::vector<MemberId> canaries, Canaries(tx, ids));
  const std::set<MemberId> skip(canaries.begin(), canaries.end());
  std::vector<MemberId> touched;
  for (MemberId m : ids) {
    if (!skip.count(m)) touched.push_back(m);
  }
  SB_RETURN_IF_ERROR(ObserveRead(tx, policy, who, "member.search", std::move(touched)));
  return page;
}

Result<MemberView> ReadMember(store::Tx& tx, const Policy& policy, const members::OrgTree& tree,
                              const Acting& who, MemberId member) {
  SB_ASSIGN_OR_RETURN(MemberView view, ViewMember(tx, *who.decision, tree, member, who.now));
  audit::Event e = who.Allow("member.view");
  e.members.push_back(view.id.value());
  e.field_classes = Sorted(view.classes);
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  SB_RETURN_IF_ERROR(ObserveRead(tx, policy, who, "member.view", {view.id}));
  return view;
}

Result<ContactView> ReadContact(store::Tx& tx, const Policy& policy, const crypto::Sealer& sealer,
                                const Acting& who, MemberId member) {
  SB_ASSIGN_OR_RETURN(ContactView view, ViewContact(tx, *who.decision, sealer, member));
  audit::Event e = who.Allow("member.contact.view");
  e.members.push_back(view.id.value());
  e.field_classes = {"contact"};
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  SB_RETURN_IF_ERROR(ObserveRead(tx, policy, who, "member.contact.view", {view.id}));
  return view;
}

Result<std::vector<audit::Event>> ReadAuditLog(store::Tx& tx, const Acting& who,
                                               const audit::QueryFilter& f) {
  SB_ASSIGN_OR_RETURN(std::vector<audit::Event> events, audit::AuditLog::Query(tx, f));
  audit::Event e = who.Allow("audit.query");
  if (f.member) e.members.push_back(*f.member);
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  return events;
}

Result<Decision> ExplainRecorded(store::Tx& tx, const Policy& policy, const members::OrgTree& tree,
                                 const Acting& who, AccountId account, std::string_view capability,
                                 UnitId unit, Micros at) {
  SB_ASSIGN_OR_RETURN(Decision d, ExplainAt(tx, policy, tree, account, capability, unit, at));
  audit::Event e = who.Allow("access.explain");
  e.on_behalf_of = account.value();
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  return d;
}

}  // namespace switchboard::access
