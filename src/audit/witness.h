// Witness export: the signed checkpoints after the one a witness holds, each
// with the RFC 6962 consistency proof (§2.1.2) from the checkpoint before it,
// so that the witness can check, without the database, that the log only
// grew: every new checkpoint is signed by the log's key, and each tree is a
// prefix of the next, starting from the one the witness held.
//
// The export is JSON (docs/privacy.md, "Checkpoints"):
//   {"format": "switchboard-witness/1", "verifier_key": "<C2SP vkey>",
//    "from_size": M,
//    "checkpoints": [{"tree_size": N, "previous_size": P,
//                     "note": "<signed note>" | null, "witness_line": "...",
//                     "consistency_from": M, "consistency": ["<hex>", ...]}, ...]}
// Each entry's proof runs from the previous entry's size (the first from
// from_size; empty from 0). A checkpoint signed before signed notes has no
// note and is read from its witness line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::audit {

struct WitnessEntry {
  SignedCheckpoint checkpoint;
  std::uint64_t consistency_from = 0;
  std::vector<Hash> consistency;
};

struct WitnessExport {
  std::uint64_t from_size = 0;
  std::vector<WitnessEntry> entries;  // by tree size, ascending
};

// The stored checkpoints larger than `from_size` (every one from 0), with
// their proofs, from one read of the log's leaves. kInvalidArgument when
// `from_size` is beyond the newest checkpoint.
Result<WitnessExport> MakeWitnessExport(store::Tx& tx, std::uint64_t from_size);

std::string FormatWitnessExport(const WitnessExport& e, std::string_view verifier_key);
// kInvalidArgument naming what is wrong when `text` is not an export.
Result<WitnessExport> ParseWitnessExport(std::string_view text);

struct WitnessCheck {
  std::uint64_t held_size = 0;             // the size the check started from (0: nothing held)
  std::vector<SignedCheckpoint> accepted;  // newer than the held one, signed and consistent
  std::uint64_t older = 0;                 // entries at or below the held size, skipped
};

// Checks `e` against the checkpoint a witness holds (none: the first entry
// is taken on its signature alone): every entry's signature by `key`, each
// newer one's consistency proof from the one before, and the chain of
// previous sizes. kDataLoss naming the tree size at the first failure, which
// means the log was rewritten or the export altered; kInvalidArgument when
// the held checkpoint itself is not signed by `key`.
Result<WitnessCheck> CheckWitnessExport(const std::optional<SignedCheckpoint>& held,
                                        const WitnessExport& e, const VerifyKey& key);

}  // namespace switchboard::audit
