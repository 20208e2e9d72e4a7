// Canaries in an imported register (RULEBOOK §10, docs/privacy.md
// "Canaries"): plausible synthetic people planted in each unit, made as the
// generator makes them (members/generate.h) and marked only in the
// `canaries` table (purpose "unit", as the generator's), so nothing in the
// interface tells them apart. Their phones are in Ofcom's drama ranges and
// their addresses at a domain whose mail reaches the DPO. An allowed read of
// one raises the anomaly.canary alert (access/guard/anomaly.h).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::privacy {

struct CanaryPlantSummary {
  std::int64_t units = 0;    // units holding members
  std::int64_t planted = 0;  // canaries added now
  std::int64_t already = 0;  // canaries there before, counted toward `per_unit`
};

// Tops every unit holding members up to `per_unit` canaries (1..100), in one
// transaction with one "canary.plant" event (counts only: the canaries' ids
// are not in the audit log, where every auditor could read them).
// Re-running with the same `per_unit` plants nothing.
Result<CanaryPlantSummary> PlantCanaries(store::Store& store, const crypto::Sealer& sealer,
                                         int per_unit, std::string_view email_domain, Micros now);

}  // namespace switchboard::privacy
