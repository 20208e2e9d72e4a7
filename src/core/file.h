// Small file helpers shared by modules that must get bytes durably to disk.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace switchboard {

// Writes all of `data` to the open descriptor `fd` (retrying short writes),
// fsyncs it and closes it. On failure the descriptor is closed too and the
// error names `path`. The caller decides what to do with a half-written file.
Status WriteAllSyncAndClose(int fd, std::string_view data, const std::string& path);

}  // namespace switchboard
