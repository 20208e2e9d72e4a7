// OrgTree: the organisation's units (nation -> regions -> constituencies ->
// branches, any depth for other organisations) held in memory for O(1) scope
// checks: each unit gets an interval from a depth-first walk, and "A is within
// scope S" is interval containment. Built from the units table or from a CSV;
// immutable once built, so safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::members {

struct Unit {
  UnitId id;
  std::string code;  // ONS/GSS code for UK units, or the organisation's own code
  std::string name;
  std::string kind;  // nation, region, constituency, branch, ...
  UnitId parent;     // invalid for the root
  bool synthetic = false;
};

// A unit definition before it has an id (from a CSV or the generator).
struct UnitSpec {
  std::string code;
  std::string name;
  std::string kind;
  std::string parent_code;  // empty for the root
  bool synthetic = false;
};

class OrgTree {
 public:
  // Builds from units; fails on cycles, unknown parents or several roots.
  static Result<OrgTree> Build(std::vector<Unit> units);
  // Reads every unit from the store.
  static Result<OrgTree> Load(store::Tx& tx);

  const Unit* Find(UnitId id) const;
  const Unit* FindByCode(std::string_view code) const;
  // Exact name, or failing that a case-insensitive match; nullptr if none or
  // if the name is ambiguous.
  const Unit* FindByName(std::string_view name) const;
  // By code first, then by name.
  const Unit* FindByCodeOrName(std::string_view text) const;

  // True if `unit` is `scope` or lies below it.
  bool IsWithin(UnitId unit, UnitId scope) const;
  // The ids of every unit within any of `scopes`, comma-separated, for an SQL
  // IN list (the tree's own integers, so safe inline); "0" when none.
  std::string IdsWithin(const std::vector<UnitId>& scopes) const;
  // The nearest ancestor-or-self of the given kind.
  const Unit* AncestorOfKind(UnitId unit, std::string_view kind) const;
  std::vector<const Unit*> Children(UnitId id) const;
  std::vector<const Unit*> OfKind(std::string_view kind) const;
  const Unit* root() const { return root_ < 0 ? nullptr : &units_[root_]; }
  size_t size() const { return units_.size(); }
  const std::vector<Unit>& units() const { return units_; }

 private:
  std::vector<Unit> units_;
  std::unordered_map<std::int64_t, int> by_id_;
  std::unordered_map<std::string, int> by_code_;
  std::unordered_map<std::string, int> by_name_;         // -1 when ambiguous
  std::unordered_map<std::string, int> by_folded_name_;  // -1 when ambiguous
  std::vector<int> enter_, exit_;
  std::vector<std::vector<int>> children_;
  int root_ = -1;
};

// The UK tree from data/constituencies.csv (columns ons_code,name,region): a
// nation "UK", one unit per region or nation, and one per constituency.
Result<std::vector<UnitSpec>> ParseConstituencyCsv(std::string_view csv_text);

// An organisation's own tree: the same columns plus `parent` (a code, empty
// for the single root) and optionally `kind`; `region` may be empty.
Result<std::vector<UnitSpec>> ParseTreeCsv(std::string_view csv_text);

// Inserts or updates units by code (parents before children). Returns the
// number of units added. Fails, changing nothing, if a parent is unknown.
Result<int> SaveUnits(store::Tx& tx, const std::vector<UnitSpec>& specs);

}  // namespace switchboard::members
