// Synthetic members for demos, tests and benchmarks. Deterministic: the same
// seed and count give the same people on any machine. Phone numbers come only
// from Ofcom's ranges reserved for drama and email addresses only from the
// reserved example.org/example.com domains, so no message can reach a real
// person. Plants one canary per constituency, recorded only in `canaries`.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "core/clock.h"
#include "crypto/sealer.h"
#include "members/draft.h"
#include "members/org_tree.h"
#include "store/store.h"

namespace switchboard::members {

struct GenerateOptions {
  std::uint64_t count = 1000;
  std::uint64_t seed = 1;
  // Synthetic branches created under each constituency that has none.
  int branches_per_unit = 3;
  // Plant one canary in every constituency.
  bool canaries = true;
  int batch_size = 5000;
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct GenerateSummary {
  std::uint64_t members = 0;
  std::uint64_t canaries = 0;
  std::uint64_t branches_created = 0;
  double seconds = 0;
};

// Needs a tree with constituencies. Re-running with the same seed updates
// nothing (the same ids and contents).
Result<GenerateSummary> GenerateMembers(store::Store& store, const OrgTree& tree,
                                        const crypto::Sealer& sealer,
                                        const GenerateOptions& options, const Clock& clock);

// A canary for an imported register (privacy/canary.h): a person made as the
// generator makes them, current, consenting to e-mail and phone, with a
// drama-range mobile and an address "first.last.<n>@`email_domain`", in
// `unit` (town `town`, postcode district `district`). The caller sets source
// and external id. Deterministic in `seed`.
MemberDraft MakeCanaryDraft(std::uint64_t seed, UnitId unit, std::string_view town,
                            std::string_view district, std::string_view email_domain,
                            std::int64_t today);

// The pools synthetic people are drawn from, for other synthetic records
// (the canaries of an export, src/privacy/leak.h): given names, surnames,
// street names, and Ofcom's drama ranges as E.164 prefixes, each followed by
// `digits` more digits (`mobile` for 07700 900xxx).
std::span<const char* const> SyntheticFirstNames();
std::span<const char* const> SyntheticLastNames();
std::span<const char* const> SyntheticStreets();
struct DramaRange {
  const char* prefix;  // E.164 without the last digits
  int digits;          // digits appended (000..999 or 0000..0999)
  bool mobile;
};
std::span<const DramaRange> DramaRanges();

}  // namespace switchboard::members
