#include "audit/checkpoint_log.h"

#include <filesystem>

namespace switchboard::audit {

std::string CheckpointLog::Header() {
  return "# Switchboard audit checkpoint log: every signed checkpoint of the audit log, one per\n"
         "# line (<size> <root> <time> <previous size> <key id> <signature>). Append-only; see\n"
         "# docs/security.md. Checked by `switchboard audit verify` and at every start.\n";
}

Result<std::vector<CheckpointLog::Head>> CheckpointLog::Heads() const {
  std::vector<Head> out;
  out.reserve(paths_.size());
  for (const std::string& path : paths_) {
    Head h;
    h.path = path;
    auto last = ReadLastWitnessLine(path);
    if (last) {
      h.exists = true;
      h.newest = std::move(last).value();
    } else if (last.error().code() != StatusCode::kNotFound) {
      return last.error();
    }
    out.push_back(std::move(h));
  }
  return out;
}

Status CheckpointLog::CreateMissing() const {
  for (const std::string& path : paths_) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) continue;
    SB_RETURN_IF_ERROR(AppendToWitnessFile(path, {}, Header()));
  }
  return Status::Ok();
}

Status CheckpointLog::Append(const SignedCheckpoint& cp) const {
  for (const std::string& path : paths_) {
    auto last = ReadLastWitnessLine(path);
    if (!last && last.error().code() != StatusCode::kNotFound) return last.error();
    if (last && *last && (*last)->checkpoint.tree_size >= cp.checkpoint.tree_size) continue;
    SB_RETURN_IF_ERROR(AppendToWitnessFile(path, {cp}, Header()));
  }
  return Status::Ok();
}

Result<std::vector<CheckpointLog::File>> CheckpointLog::ReadAll() const {
  std::vector<File> out;
  for (const std::string& path : paths_) {
    File f;
    f.path = path;
    auto content = ReadWitnessFileFully(path);
    if (content) {
      f.exists = true;
      f.content = std::move(content).value();
    } else if (content.error().code() == StatusCode::kDataLoss) {
      f.exists = true;
      f.damage = content.error().message();
    } else if (content.error().code() != StatusCode::kNotFound) {
      return content.error();
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace switchboard::audit
