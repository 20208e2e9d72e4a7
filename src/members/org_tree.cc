#include "members/org_tree.h"

#include <algorithm>
#include <map>

#include "core/csv.h"
#include "core/text.h"

namespace switchboard::members {

Result<OrgTree> OrgTree::Build(std::vector<Unit> units) {
  OrgTree t;
  t.units_ = std::move(units);
  const int n = static_cast<int>(t.units_.size());
  t.children_.assign(n, {});
  for (int i = 0; i < n; ++i) {
    const Unit& u = t.units_[i];
    if (!t.by_id_.emplace(u.id.value(), i).second) {
      return Status::InvalidArgument("unit id " + u.id.ToString() + " appears twice");
    }
    if (!t.by_code_.emplace(u.code, i).second) {
      return Status::InvalidArgument("unit code " + u.code + " appears twice");
    }
    auto [it, fresh] = t.by_name_.emplace(u.name, i);
    if (!fresh) it->second = -1;
    auto [fit, ffresh] = t.by_folded_name_.emplace(text::FoldForMatch(u.name), i);
    if (!ffresh) fit->second = -1;
  }
  for (int i = 0; i < n; ++i) {
    const Unit& u = t.units_[i];
    if (!u.parent.valid()) {
      if (t.root_ >= 0) {
        return Status::InvalidArgument("two units have no parent (" + t.units_[t.root_].code +
                                       " and " + u.code + "); a tree has one root");
      }
      t.root_ = i;
      continue;
    }
    auto p = t.by_id_.find(u.parent.value());
    if (p == t.by_id_.end()) {
      return Status::InvalidArgument("unit " + u.code + " names a parent that does not exist");
    }
    t.children_[p->second].push_back(i);
  }
  if (n > 0 && t.root_ < 0) return Status::InvalidArgument("the unit tree has no root (a cycle)");
  // Iterative depth-first walk assigning [enter, exit] intervals.
  t.enter_.assign(n, -1);
  t.exit_.assign(n, -1);
  int clock = 0;
  if (n > 0) {
    std::vector<std::pair<int, size_t>> stack = {{t.root_, 0}};
    t.enter_[t.root_] = clock++;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < t.children_[node].size()) {
        const int child = t.children_[node][next++];
        t.enter_[child] = clock++;
        stack.emplace_back(child, 0);
      } else {
        t.exit_[node] = clock++;
        stack.pop_back();
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    if (t.enter_[i] < 0) {
      return Status::InvalidArgument("unit " + t.units_[i].code +
                                     " is not reachable from the root (a cycle)");
    }
  }
  return t;
}

Result<OrgTree> OrgTree::Load(store::Tx& tx) {
  std::vector<Unit> units;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id, code, name, kind, parent_id, synthetic FROM units ORDER BY id", {},
      [&](const store::Row& r) {
        units.push_back(Unit{UnitId(r.Int(0)), std::string(r.Text(1)), std::string(r.Text(2)),
                             std::string(r.Text(3)), UnitId(r.IntOr(4, 0)), r.Int(5) != 0});
        return true;
      }));
  return Build(std::move(units));
}

const Unit* OrgTree::Find(UnitId id) const {
  auto it = by_id_.find(id.value());
  return it == by_id_.end() ? nullptr : &units_[it->second];
}

const Unit* OrgTree::FindByCode(std::string_view code) const {
  auto it = by_code_.find(std::string(code));
  return it == by_code_.end() ? nullptr : &units_[it->second];
}

const Unit* OrgTree::FindByName(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it != by_name_.end()) return it->second < 0 ? nullptr : &units_[it->second];
  auto f = by_folded_name_.find(text::FoldForMatch(name));
  if (f != by_folded_name_.end() && f->second >= 0) return &units_[f->second];
  return nullptr;
}

const Unit* OrgTree::FindByCodeOrName(std::string_view text) const {
  const Unit* u = FindByCode(text);
  return u ? u : FindByName(text);
}

bool OrgTree::IsWithin(UnitId unit, UnitId scope) const {
  auto u = by_id_.find(unit.value());
  auto s = by_id_.find(scope.value());
  if (u == by_id_.end() || s == by_id_.end()) return false;
  return enter_[s->second] <= enter_[u->second] && exit_[u->second] <= exit_[s->second];
}

std::string OrgTree::IdsWithin(const std::vector<UnitId>& scopes) const {
  std::string out;
  for (const Unit& u : units_) {
    for (UnitId s : scopes) {
      if (IsWithin(u.id, s)) {
        out += (out.empty() ? "" : ",") + u.id.ToString();
        break;
      }
    }
  }
  return out.empty() ? "0" : out;
}

const Unit* OrgTree::AncestorOfKind(UnitId unit, std::string_view kind) const {
  const Unit* u = Find(unit);
  while (u) {
    if (u->kind == kind) return u;
    u = u->parent.valid() ? Find(u->parent) : nullptr;
  }
  return nullptr;
}

std::vector<const Unit*> OrgTree::Children(UnitId id) const {
  std::vector<const Unit*> out;
  auto it = by_id_.find(id.value());
  if (it == by_id_.end()) return out;
  for (int c : children_[it->second]) out.push_back(&units_[c]);
  return out;
}

std::vector<const Unit*> OrgTree::OfKind(std::string_view kind) const {
  std::vector<const Unit*> out;
  for (const Unit& u : units_)
    if (u.kind == kind) out.push_back(&u);
  return out;
}

namespace {

// Reads a CSV with a header into maps; errors carry the line.
Status ForEachCsvRow(std::string_view text, const std::vector<std::string>& required,
                     const std::function<Status(const std::map<std::string, std::string>&,
                                                std::uint64_t line)>& fn) {
  csv::Reader reader(text);
  csv::Record rec;
  std::string err;
  std::vector<std::string> header;
  for (;;) {
    const csv::Next n = reader.Read(&rec, &err);
    if (n == csv::Next::kEnd) break;
    if (n == csv::Next::kBadRecord) return Status::InvalidArgument(err);
    if (header.empty()) {
      for (auto& h : rec.fields) header.push_back(text::Trim(h));
      for (const auto& r : required) {
        if (std::find(header.begin(), header.end(), r) == header.end()) {
          return Status::InvalidArgument("line " + std::to_string(rec.line) +
                                         ": the header has no column '" + r + "'");
        }
      }
      continue;
    }
    if (rec.fields.size() != header.size()) {
      return Status::InvalidArgument("line " + std::to_string(rec.line) + ": expected " +
                                     std::to_string(header.size()) + " fields, found " +
                                     std::to_string(rec.fields.size()));
    }
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size(); ++i) {
      if (!text::IsValidUtf8(rec.fields[i])) {
        return Status::InvalidArgument("line " + std::to_string(rec.line) + ", column '" +
                                       header[i] + "': not valid UTF-8");
      }
      row[header[i]] = text::Trim(rec.fields[i]);
    }
    SB_RETURN_IF_ERROR(fn(row, rec.line));
  }
  if (header.empty()) return Status::InvalidArgument("the file is empty (no header row)");
  return Status::Ok();
}

std::string RegionCode(std::string_view region) {
  std::string code = "REGION-";
  for (char c : region) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      code += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (code.back() != '-') {
      code += '-';
    }
  }
  while (code.back() == '-') code.pop_back();
  return code;
}

}  // namespace

Result<std::vector<UnitSpec>> ParseConstituencyCsv(std::string_view csv_text) {
  std::vector<UnitSpec> out = {{"UK", "United Kingdom", "nation", "", false}};
  std::map<std::string, std::string> regions;  // name -> code
  std::vector<UnitSpec> constituencies;
  SB_RETURN_IF_ERROR(ForEachCsvRow(
      csv_text, {"ons_code", "name", "region"},
      [&](const std::map<std::string, std::string>& row, std::uint64_t line) -> Status {
        const std::string& code = row.at("ons_code");
        const std::string& name = row.at("name");
        const std::string& region = row.at("region");
        if (code.empty() || name.empty() || region.empty()) {
          return Status::InvalidArgument("line " + std::to_string(line) +
                                         ": ons_code, name and region must all be filled in");
        }
        if (!regions.count(region)) {
          regions[region] = RegionCode(region);
          out.push_back({regions[region], region, "region", "UK", false});
        }
        constituencies.push_back({code, name, "constituency", regions[region], false});
        return Status::Ok();
      }));
  out.insert(out.end(), constituencies.begin(), constituencies.end());
  return out;
}

Result<std::vector<UnitSpec>> ParseTreeCsv(std::string_view csv_text) {
  std::vector<UnitSpec> out;
  SB_RETURN_IF_ERROR(ForEachCsvRow(
      csv_text, {"ons_code", "name", "parent"},
      [&](const std::map<std::string, std::string>& row, std::uint64_t line) -> Status {
        UnitSpec s;
        s.code = row.at("ons_code");
        s.name = row.at("name");
        s.parent_code = row.at("parent");
        auto kind = row.find("kind");
        s.kind = kind != row.end() && !kind->second.empty() ? kind->second : "unit";
        if (s.code.empty() || s.name.empty()) {
          return Status::InvalidArgument("line " + std::to_string(line) +
                                         ": ons_code and name must be filled in");
        }
        out.push_back(std::move(s));
        return Status::Ok();
      }));
  // Order parents before children so SaveUnits can resolve them.
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!index.emplace(out[i].code, i).second) {
      return Status::InvalidArgument("unit code " + out[i].code + " appears twice");
    }
  }
  std::vector<UnitSpec> ordered;
  std::vector<int> state(out.size(), 0);  // 0 new, 1 visiting, 2 done
  std::function<Status(size_t)> visit = [&](size_t i) -> Status {
    if (state[i] == 2) return Status::Ok();
    if (state[i] == 1)
      return Status::InvalidArgument("unit " + out[i].code + " is its own ancestor");
    state[i] = 1;
    if (!out[i].parent_code.empty()) {
      auto p = index.find(out[i].parent_code);
      if (p != index.end()) SB_RETURN_IF_ERROR(visit(p->second));
    }
    state[i] = 2;
    ordered.push_back(out[i]);
    return Status::Ok();
  };
  for (size_t i = 0; i < out.size(); ++i) SB_RETURN_IF_ERROR(visit(i));
  return ordered;
}

Result<int> SaveUnits(store::Tx& tx, const std::vector<UnitSpec>& specs) {
  std::unordered_map<std::string, std::int64_t> ids;
  SB_RETURN_IF_ERROR(tx.Query("SELECT code, id FROM units", {}, [&](const store::Row& r) {
    ids.emplace(std::string(r.Text(0)), r.Int(1));
    return true;
  }));
  int added = 0;
  for (const UnitSpec& s : specs) {
    store::Value parent;
    if (!s.parent_code.empty()) {
      auto p = ids.find(s.parent_code);
      if (p == ids.end()) {
        return Status::InvalidArgument("unit " + s.code + " names parent " + s.parent_code +
                                       ", which does not exist");
      }
      parent = p->second;
    }
    auto it = ids.find(s.code);
    if (it != ids.end()) {
      SB_RETURN_IF_ERROR(
          tx.Exec("UPDATE units SET name = $1, kind = $2, parent_id = $3 WHERE id = $4",
                  {s.name, s.kind, parent, it->second}));
      continue;
    }
    std::int64_t id = 0;
    SB_RETURN_IF_ERROR(tx.Query(
        "INSERT INTO units (code, name, kind, parent_id, synthetic) VALUES ($1, $2, $3, $4, $5) "
        "RETURNING id",
        {s.code, s.name, s.kind, parent, s.synthetic}, [&](const store::Row& r) {
          id = r.Int(0);
          return false;
        }));
    ids[s.code] = id;
    ++added;
  }
  // Reject a tree that no longer has exactly one root or has a cycle.
  SB_ASSIGN_OR_RETURN(auto tree, OrgTree::Load(tx));
  (void)tree;
  return added;
}

}  // namespace switchboard::members
