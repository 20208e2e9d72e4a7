// OpenedApps: how a command opens its data directory, and how it finishes.
// Open() checks the audit log against its checkpoint log cheaply (no event
// read: AuditLog::Preflight) unless the command exists to inspect a damaged
// log. Finish() signs a checkpoint over whatever the command appended and
// appends it to the checkpoint log (App::SealAudit), so every command that
// writes audit events ends under a signed checkpoint, on every exit path.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/app.h"

namespace switchboard::cli {

class OpenedApps {
 public:
  enum class Check {
    kPreflight,  // refuse a log that is rolled back or lacks its checkpoint log
    kServe,      // serve and demo: the full check runs as the server starts
    kInspect,    // audit verify, query, prove, consistency, adopt
  };

  // The App stays open until Finish().
  Result<server::App*> Open(const std::string& data_dir, const std::string& store,
                            Check check = Check::kPreflight);

  // The exit code once every opened App is sealed: `code`, or kExitAudit when
  // an audit check failed (the command or the seal found it), or
  // kExitRuntime when sealing failed otherwise. Apps opened with kInspect are
  // sealed only after a successful command.
  int Finish(int code);

 private:
  struct Opened {
    std::unique_ptr<server::App> app;
    Check check;
    bool opened;  // false when the preflight failed: nothing to seal
  };
  std::vector<Opened> apps_;
};

}  // namespace switchboard::cli
