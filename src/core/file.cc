#include "core/file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace switchboard {

Status WriteAllSyncAndClose(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      return Status::Unavailable("cannot write " + path + ": " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int e = errno;
  ::close(fd);
  if (!synced) return Status::Unavailable("cannot sync " + path + ": " + std::strerror(e));
  return Status::Ok();
}

}  // namespace switchboard
