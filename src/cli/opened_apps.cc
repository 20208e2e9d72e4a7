#include "cli/opened_apps.h"

#include <cstdio>

#include "cli/exit_codes.h"

namespace switchboard::cli {

Result<server::App*> OpenedApps::Open(const std::string& data_dir, const std::string& store,
                                      Check check) {
  SB_ASSIGN_OR_RETURN(auto app, server::App::Open(data_dir, store));
  server::App* out = app.get();
  apps_.push_back({std::move(app), check, /*opened=*/false});
  if (check == Check::kPreflight) {
    SB_RETURN_IF_ERROR(out->audit().Preflight(out->store(), out->audit_key().verify_key()));
  }
  apps_.back().opened = true;
  return out;
}

int OpenedApps::Finish(int code) {
  bool audit_failed = false;
  for (Opened& o : apps_) {
    if (!o.app->audit().integrity().ok()) {
      audit_failed = true;  // reported where it was found
      continue;
    }
    if (!o.opened || (o.check == Check::kInspect && code != kExitOk)) continue;
    Status st = o.app->SealAudit();
    if (st.ok()) continue;
    std::fprintf(stderr, "switchboard: the audit checkpoint was not signed: %s\n",
                 st.message().c_str());
    if (!o.app->audit().integrity().ok()) {
      audit_failed = true;
    } else if (code == kExitOk) {
      code = kExitRuntime;
    }
  }
  apps_.clear();
  return audit_failed ? kExitAudit : code;
}

}  // namespace switchboard::cli
