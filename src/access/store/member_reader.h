// Member reads for people (RULEBOOK §4). Every function takes the Decision
// that allowed the read and returns only the field classes that decision's
// role may see: there is no way to read a member through this module without
// first asking Decide. A deny, or a decision whose role lacks the capability
// the read needs, is refused before any member row is touched.
//
// Field classes: `name` (first and last name), `first_name`, `membership`
// (status, type, joined/lapsed dates, whole years), `location` (unit, branch,
// postcode district), `contact` (e-mail addresses and phone numbers, opened
// from their sealed form only by ViewContact). The caller records the read
// (audit event naming the member and the classes returned) in the same
// transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "access/policy/decision.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "store/store.h"

namespace switchboard::access {

struct UnitRef {
  UnitId id;
  std::string code;
  std::string name;
};

// One member as a role may see it; absent classes stay empty.
struct MemberView {
  MemberId id;
  std::set<std::string> classes;  // the field classes filled in
  // name / first_name
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  // membership
  std::optional<std::string> status;
  std::optional<std::string> membership_type;
  std::optional<std::int64_t> joined_on;  // days since 1970-01-01
  std::optional<std::int64_t> lapsed_on;
  std::optional<int> years;
  // location
  std::optional<UnitRef> unit;
  std::optional<UnitRef> branch;
  std::optional<std::string> postcode_district;
};

struct ContactView {
  MemberId id;
  struct Point {
    std::string kind;   // email, phone, address
    std::string label;  // primary, mobile, home, postal
    std::string value;
    bool valid = true;
  };
  std::vector<Point> points;
};

// The unit a member belongs to (to decide on); kNotFound when there is no such member.
Result<UnitId> MemberUnit(store::Tx& tx, MemberId id);

// Needs an allow for member.view.
Result<MemberView> ViewMember(store::Tx& tx, const Decision& decision, const members::OrgTree& tree,
                              MemberId id, Micros now);

// Needs an allow for member.contact.view whose role may see `contact`.
Result<ContactView> ViewContact(store::Tx& tx, const Decision& decision,
                                const crypto::Sealer& sealer, MemberId id);

struct SearchQuery {
  UnitId unit;              // search within this unit's scope (the decision's target)
  std::string name_prefix;  // last name starts with (case-insensitive); needs `name`
  std::string status;       // exact membership status, or empty
  int page = 1;             // 1-based
  int page_size = 50;       // at most the policy's [search] page_max
};

struct SearchPage {
  std::vector<MemberView> members;
  int page = 1;
  int page_size = 0;
  bool more = false;  // another page follows
};

// Needs an allow for member.search over `query.unit`. kInvalidArgument for a
// name search by a role that may not see names, a bad page or an unknown status.
Result<SearchPage> SearchMembers(store::Tx& tx, const Decision& decision,
                                 const members::OrgTree& tree, const SearchQuery& query,
                                 int page_max, Micros now);

// One member of an export: the classes the export's role may see, and the
// contact points when that role may see `contact`.
struct ExportedMember {
  MemberView view;
  std::vector<ContactView::Point> contact;
};

// Every member within `unit`'s scope (home unit or branch), in id order, as
// the role of an allow for member.export may see them; at most `max_rows`
// (kResourceExhausted beyond). The caller records the export (one audit event
// with the count, never the rows) in the same transaction.
Result<std::vector<ExportedMember>> ExportMembers(store::Tx& tx, const Decision& decision,
                                                  const members::OrgTree& tree,
                                                  const crypto::Sealer& sealer, UnitId unit,
                                                  std::int64_t max_rows, Micros now);

}  // namespace switchboard::access
