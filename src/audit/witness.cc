#include "audit/witness.h"

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"

namespace switchboard::audit {

using json = nlohmann::json;

Result<WitnessExport> MakeWitnessExport(store::Tx& tx, std::uint64_t from_size) {
  SB_ASSIGN_OR_RETURN(std::vector<SignedCheckpoint> all, AuditLog::Checkpoints(tx));
  const std::uint64_t newest = all.empty() ? 0 : all.back().checkpoint.tree_size;
  if (from_size > newest) {
    return Status::InvalidArgument("no checkpoint is as large as " + std::to_string(from_size) +
                                   " events: the newest covers " + std::to_string(newest));
  }
  WitnessExport out;
  out.from_size = from_size;
  if (newest == from_size) return out;
  SB_ASSIGN_OR_RETURN(ProofIndex tree, AuditLog::LoadTree(tx, static_cast<std::int64_t>(newest)));
  std::uint64_t from = from_size;
  for (SignedCheckpoint& cp : all) {
    const std::uint64_t n = cp.checkpoint.tree_size;
    if (n <= from_size) continue;
    WitnessEntry w;
    w.consistency_from = from;
    SB_ASSIGN_OR_RETURN(w.consistency, tree.Consistency(from, n));
    w.checkpoint = std::move(cp);
    out.entries.push_back(std::move(w));
    from = n;
  }
  return out;
}

std::string FormatWitnessExport(const WitnessExport& e, std::string_view verifier_key) {
  json cps = json::array();
  for (const WitnessEntry& w : e.entries) {
    const SignedCheckpoint& cp = w.checkpoint;
    json proof = json::array();
    for (const Hash& h : w.consistency) proof.push_back(ToHex(h));
    cps.push_back({{"tree_size", cp.checkpoint.tree_size},
                   {"previous_size", cp.checkpoint.previous_size},
                   {"note", cp.format == CheckpointFormat::kSignedNote ? json(FormatSignedNote(cp))
                                                                       : json(nullptr)},
                   {"witness_line", FormatWitnessLine(cp)},
                   {"consistency_from", w.consistency_from},
                   {"consistency", std::move(proof)}});
  }
  json out = {{"format", "switchboard-witness/1"},
              {"verifier_key", verifier_key.empty() ? json(nullptr) : json(verifier_key)},
              {"from_size", e.from_size},
              {"checkpoints", std::move(cps)}};
  return out.dump(1) + "\n";
}

Result<WitnessExport> ParseWitnessExport(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("format", "") != "switchboard-witness/1" ||
      !j.contains("checkpoints") || !j["checkpoints"].is_array()) {
    return Status::InvalidArgument("not a witness export (format switchboard-witness/1)");
  }
  WitnessExport out;
  if (!j.contains("from_size") || !j["from_size"].is_number_unsigned()) {
    return Status::InvalidArgument("the witness export has no from_size");
  }
  out.from_size = j["from_size"].get<std::uint64_t>();
  size_t i = 0;
  for (const json& c : j["checkpoints"]) {
    const std::string where = "checkpoint " + std::to_string(++i) + " of the export";
    if (!c.is_object()) return Status::InvalidArgument(where + " is not an object");
    Result<SignedCheckpoint> cp = Status::InvalidArgument(where + " has no signed checkpoint");
    if (c.contains("note") && c["note"].is_string()) {
      cp = ParseSignedNote(c["note"].get<std::string>());
    } else if (c.contains("witness_line") && c["witness_line"].is_string()) {
      cp = ParseWitnessLine(c["witness_line"].get<std::string>());
    }
    if (!cp) return cp.error().WithContext(where);
    if (c.contains("previous_size") && c["previous_size"].is_number_unsigned()) {
      // A signed note carries it in its body; a legacy line in its fields.
      if (cp->format == CheckpointFormat::kLegacy) {
        cp->checkpoint.previous_size = c["previous_size"].get<std::uint64_t>();
      }
    }
    WitnessEntry w;
    w.checkpoint = std::move(cp).value();
    if (!c.contains("consistency_from") || !c["consistency_from"].is_number_unsigned() ||
        !c.contains("consistency") || !c["consistency"].is_array()) {
      return Status::InvalidArgument(where + " has no consistency proof");
    }
    w.consistency_from = c["consistency_from"].get<std::uint64_t>();
    for (const json& h : c["consistency"]) {
      if (!h.is_string()) return Status::InvalidArgument(where + ": a proof hash is not text");
      auto hash = HashFromHex(h.get<std::string>());
      if (!hash) return hash.error().WithContext(where);
      w.consistency.push_back(*hash);
    }
    out.entries.push_back(std::move(w));
  }
  return out;
}

Result<WitnessCheck> CheckWitnessExport(const std::optional<SignedCheckpoint>& held,
                                        const WitnessExport& e, const VerifyKey& key) {
  WitnessCheck out;
  std::optional<Checkpoint> cur;
  if (held) {
    Status st = key.Verify(*held);
    if (!st.ok()) {
      return Status::InvalidArgument("the checkpoint you hold is not signed by this key: " +
                                     st.message());
    }
    cur = held->checkpoint;
    out.held_size = cur->tree_size;
  }
  std::optional<std::uint64_t> previous_entry;
  for (const WitnessEntry& w : e.entries) {
    const Checkpoint& cp = w.checkpoint.checkpoint;
    const std::string at = "checkpoint of " + std::to_string(cp.tree_size) + " events: ";
    Status st = key.Verify(w.checkpoint);
    if (!st.ok()) return Status::DataLoss(at + "its signature does not verify");
    if (previous_entry && cp.tree_size <= *previous_entry) {
      return Status::DataLoss(at + "the export is not in order of tree size");
    }
    // A checkpoint dropped from the middle of the export shows in the chain.
    if (previous_entry && cp.previous_size != *previous_entry) {
      return Status::DataLoss(at + "it follows a checkpoint of " +
                              std::to_string(cp.previous_size) + " events, which the export lacks");
    }
    previous_entry = cp.tree_size;
    if (cur && cp.tree_size < cur->tree_size) {
      ++out.older;
      continue;
    }
    if (cur && cp.tree_size == cur->tree_size) {
      if (cp.root != cur->root) {
        return Status::DataLoss(at +
                                "its root differs from the one you hold for the same size: "
                                "the log was rewritten");
      }
      ++out.older;
      continue;
    }
    if (cur) {
      if (w.consistency_from != cur->tree_size) {
        return Status::DataLoss(at + "its proof starts at " + std::to_string(w.consistency_from) +
                                " events, not at the " + std::to_string(cur->tree_size) +
                                " of the checkpoint before it");
      }
      st = VerifyConsistency(cur->tree_size, cp.tree_size, cur->root, cp.root, w.consistency);
      if (!st.ok()) {
        return Status::DataLoss(at + "it does not extend the checkpoint of " +
                                std::to_string(cur->tree_size) + " events (" + st.message() +
                                "): the log was rewritten or the export altered");
      }
    }
    cur = cp;
    out.accepted.push_back(w.checkpoint);
  }
  return out;
}

}  // namespace switchboard::audit
