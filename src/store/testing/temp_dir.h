// ScopedTempDir: a fresh directory under $TMPDIR (or /tmp), removed with
// everything in it when the object goes away. For tests; move-only.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "core/status.h"

namespace switchboard::store::testing {

class ScopedTempDir {
 public:
  // Creates "<tmp>/<prefix>-XXXXXX" (mode 0700). Fails with kUnavailable when
  // the directory cannot be created.
  static Result<ScopedTempDir> Create(std::string_view prefix = "sb-test") {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = (tmp && *tmp) ? tmp : "/tmp";
    pattern += '/';
    pattern += prefix;
    pattern += "-XXXXXX";
    if (!mkdtemp(pattern.data())) {
      return Status::Unavailable("cannot create a temporary directory from " + pattern + ": " +
                                 std::strerror(errno));
    }
    return ScopedTempDir(std::move(pattern));
  }

  ScopedTempDir(ScopedTempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  ScopedTempDir& operator=(ScopedTempDir&& other) noexcept {
    if (this != &other) {
      Remove();
      path_ = std::exchange(other.path_, {});
    }
    return *this;
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  ~ScopedTempDir() { Remove(); }

  // The directory (empty after a move).
  const std::string& path() const { return path_; }
  // path()/name.
  std::string Join(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  explicit ScopedTempDir(std::string path) : path_(std::move(path)) {}
  void Remove() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
    path_.clear();
  }

  std::string path_;
};

}  // namespace switchboard::store::testing
