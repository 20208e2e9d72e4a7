#include "access/store/member_reader.h"

#include <algorithm>
#include <iterator>
#include <map>

#include "core/text.h"
#include "members/register.h"

namespace switchboard::access {

namespace {

Status Require(const Decision& d, std::string_view capability) {
  if (!d.allow || d.role == nullptr) {
    return Status::PermissionDenied(d.allow ? "the decision names no role" : d.deny_reason);
  }
  if (!d.role->capabilities.contains(capability)) {
    return Status::PermissionDenied("the decision's role " + d.role->name + " does not hold " +
                                    std::string(capability));
  }
  return Status::Ok();
}

std::optional<UnitRef> Ref(const members::OrgTree& tree, UnitId id) {
  const members::Unit* u = tree.Find(id);
  if (!u) return std::nullopt;
  return UnitRef{u->id, u->code, u->name};
}

constexpr const char* kColumns =
    "id, first_name, last_name, status, membership_type, joined_on, lapsed_on, unit_id, "
    "branch_id, postcode_district";

MemberView Fill(const store::Row& r, const std::set<std::string>& fields,
                const members::OrgTree& tree, Micros now) {
  MemberView v;
  v.id = MemberId(r.Int(0));
  if (fields.contains("name")) {
    v.first_name = std::string(r.Text(1));
    v.last_name = std::string(r.Text(2));
    v.classes.insert("name");
  }
  if (fields.contains("first_name")) {
    v.first_name = std::string(r.Text(1));
    v.classes.insert("first_name");
  }
  if (fields.contains("membership")) {
    v.status = std::string(r.Text(3));
    v.membership_type = std::string(r.Text(4));
    if (!r.IsNull(5)) {
      v.joined_on = r.Int(5);
      const std::int64_t until = r.IsNull(6) ? now / kMicrosPerDay : r.Int(6);
      v.years = static_cast<int>(std::max<std::int64_t>(0, (until - *v.joined_on) / 365));
    }
    if (!r.IsNull(6)) v.lapsed_on = r.Int(6);
    v.classes.insert("membership");
  }
  if (fields.contains("location")) {
    v.unit = Ref(tree, UnitId(r.Int(7)));
    if (!r.IsNull(8)) v.branch = Ref(tree, UnitId(r.Int(8)));
    if (!r.IsNull(9)) v.postcode_district = std::string(r.Text(9));
    v.classes.insert("location");
  }
  return v;
}

// A LIKE pattern matching `prefix` literally, then anything.
std::string LikePrefix(std::string_view prefix) {
  std::string out;
  for (char c : prefix) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

}  // namespace

Result<UnitId> MemberUnit(store::Tx& tx, MemberId id) {
  auto unit = tx.QueryInt("SELECT unit_id FROM members WHERE id = $1", {id.value()});
  if (!unit) {
    if (unit.error().code() == StatusCode::kNotFound) {
      return Status::NotFound("no member has id " + id.ToString());
    }
    return unit.error();
  }
  return UnitId(*unit);
}

Result<MemberView> ViewMember(store::Tx& tx, const Decision& decision, const members::OrgTree& tree,
                              MemberId id, Micros now) {
  SB_RETURN_IF_ERROR(Require(decision, "member.view"));
  std::optional<MemberView> out;
  SB_RETURN_IF_ERROR(tx.Query(std::string("SELECT ") + kColumns + " FROM members WHERE id = $1",
                              {id.value()}, [&](const store::Row& r) {
                                out = Fill(r, decision.fields(), tree, now);
                                return false;
                              }));
  if (!out) return Status::NotFound("no member has id " + id.ToString());
  return *out;
}

Result<ContactView> ViewContact(store::Tx& tx, const Decision& decision,
                                const crypto::Sealer& sealer, MemberId id) {
  SB_RETURN_IF_ERROR(Require(decision, "member.contact.view"));
  if (!decision.fields().contains("contact")) {
    return Status::PermissionDenied("role " + decision.role->name +
                                    " may not see the contact field class");
  }
  SB_RETURN_IF_ERROR(MemberUnit(tx, id).status());
  ContactView out;
  out.id = id;
  Status opened = Status::Ok();
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT kind, label, key_id, sealed, valid FROM contact_points WHERE member_id = $1 "
      "ORDER BY kind, label",
      {id.value()}, [&](const store::Row& r) {
        ContactView::Point p;
        p.kind = std::string(r.Text(0));
        p.label = std::string(r.Text(1));
        crypto::Sealed s{static_cast<std::uint32_t>(r.Int(2)), std::string(r.Bytes(3))};
        auto plain = sealer.Open(s, p.kind);
        if (!plain) {
          opened = plain.error().WithContext("opening a contact point of member " + id.ToString());
          return false;
        }
        p.value = std::move(*plain);
        p.valid = r.Int(4) != 0;
        out.points.push_back(std::move(p));
        return true;
      }));
  SB_RETURN_IF_ERROR(opened);
  return out;
}

Result<SearchPage> SearchMembers(store::Tx& tx, const Decision& decision,
                                 const members::OrgTree& tree, const SearchQuery& q, int page_max,
                                 Micros now) {
  SB_RETURN_IF_ERROR(Require(decision, "member.search"));
  if (q.page < 1) return Status::InvalidArgument("page starts at 1");
  if (q.page_size < 1 || q.page_size > page_max) {
    return Status::InvalidArgument("page_size must be 1 to " + std::to_string(page_max) +
                                   " (policy [search] page_max)");
  }
  if (q.page > 100000) return Status::InvalidArgument("page is too large");
  const std::set<std::string>& fields = decision.fields();
  if (!q.name_prefix.empty() && !fields.contains("name")) {
    return Status::InvalidArgument("role " + decision.role->name +
                                   " may not see names, so it cannot search by name");
  }
  if (q.name_prefix.size() > 100) return Status::InvalidArgument("the name is too long");
  if (!text::IsValidUtf8(q.name_prefix)) {
    return Status::InvalidArgument("the name is not UTF-8 text");
  }
  if (!q.status.empty() && std::find(std::begin(members::kStatuses), std::end(members::kStatuses),
                                     q.status) == std::end(members::kStatuses)) {
    return Status::InvalidArgument("unknown membership status '" + q.status +
                                   "'; one of current, lapsed, arrears, suspended, resigned");
  }
  const members::Unit* scope = tree.Find(q.unit);
  if (!scope) return Status::InvalidArgument("no unit has id " + q.unit.ToString());

  std::string sql = std::string("SELECT ") + kColumns + " FROM members WHERE 1 = 1";
  std::vector<store::Value> params;
  if (!tree.root() || scope->id != tree.root()->id) {
    const std::string in = tree.IdsWithin({scope->id});
    sql += " AND (unit_id IN (" + in + ") OR branch_id IN (" + in + "))";
  }
  if (!q.name_prefix.empty()) {
    params.emplace_back(LikePrefix(q.name_prefix));
    sql += " AND lower(last_name) LIKE lower($" + std::to_string(params.size()) + ") ESCAPE '\\'";
  }
  if (!q.status.empty()) {
    params.emplace_back(q.status);
    sql += " AND status = $" + std::to_string(params.size());
  }
  sql += " ORDER BY id LIMIT " + std::to_string(q.page_size + 1) + " OFFSET " +
         std::to_string(static_cast<std::int64_t>(q.page - 1) * q.page_size);
  SearchPage page;
  page.page = q.page;
  page.page_size = q.page_size;
  SB_RETURN_IF_ERROR(tx.Query(sql, store::Params(params), [&](const store::Row& r) {
    if (static_cast<int>(page.members.size()) == q.page_size) {
      page.more = true;
      return false;
    }
    page.members.push_back(Fill(r, fields, tree, now));
    return true;
  }));
  return page;
}

Result<std::vector<ExportedMember>> ExportMembers(store::Tx& tx, const Decision& decision,
                                                  const members::OrgTree& tree,
                                                  const crypto::Sealer& sealer, UnitId unit,
                                                  std::int64_t max_rows, Micros now) {
  SB_RETURN_IF_ERROR(Require(decision, "member.export"));
  const members::Unit* scope = tree.Find(unit);
  if (!scope) return Status::InvalidArgument("no unit has id " + unit.ToString());
  std::string where = " WHERE 1 = 1";
  if (!tree.root() || scope->id != tree.root()->id) {
    const std::string in = tree.IdsWithin({scope->id});
    where = " WHERE (unit_id IN (" + in + ") OR branch_id IN (" + in + "))";
  }
  std::vector<ExportedMember> out;
  std::map<std::int64_t, size_t> index;
  bool over = false;
  SB_RETURN_IF_ERROR(tx.Query(std::string("SELECT ") + kColumns + " FROM members" + where +
                                  " ORDER BY id LIMIT " + std::to_string(max_rows + 1),
                              {}, [&](const store::Row& r) {
                                if (static_cast<std::int64_t>(out.size()) == max_rows) {
                                  over = true;
                                  return false;
                                }
                                ExportedMember m;
                                m.view = Fill(r, decision.fields(), tree, now);
                                index[m.view.id.value()] = out.size();
                                out.push_back(std::move(m));
                                return true;
                              }));
  if (over) {
    return Status::ResourceExhausted("the scope holds more than " + std::to_string(max_rows) +
                                     " members; export a smaller unit");
  }
  if (!decision.fields().contains("contact") || out.empty()) return out;
  Status opened = Status::Ok();
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT member_id, kind, label, key_id, sealed, valid FROM contact_points WHERE member_id "
      "IN (SELECT id FROM members" +
          where + ") ORDER BY member_id, kind, label",
      {}, [&](const store::Row& r) {
        auto it = index.find(r.Int(0));
        if (it == index.end()) return true;
        ContactView::Point p;
        p.kind = std::string(r.Text(1));
        p.label = std::string(r.Text(2));
        crypto::Sealed s{static_cast<std::uint32_t>(r.Int(3)), std::string(r.Bytes(4))};
        auto plain = sealer.Open(s, p.kind);
        if (!plain) {
          opened = plain.error().WithContext("opening a contact point of member " +
                                             std::to_string(r.Int(0)));
          return false;
        }
        p.value = std::move(*plain);
        p.valid = r.Int(5) != 0;
        out[it->second].contact.push_back(std::move(p));
        return true;
      }));
  SB_RETURN_IF_ERROR(opened);
  return out;
}

}  // namespace switchboard::access
