#include "crypto/secret_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/file.h"

namespace switchboard::crypto {

Status WriteSecretFile(const std::string& path, std::string& text, std::string_view what) {
  struct Wipe {
    std::string& t;
    ~Wipe() { sodium_memzero(t.data(), t.size()); }
  } wipe{text};
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int e = errno;
    if (e == EEXIST) {
      return Status::AlreadyExists("a " + std::string(what) + " already exists at " + path);
    }
    return Status::Unavailable("cannot create " + path + ": " + std::strerror(e));
  }
  ::fchmod(fd, 0600);
  Status st = WriteAllSyncAndClose(fd, text, path);
  if (!st.ok()) ::unlink(path.c_str());  // never leave a half-written key behind
  return st;
}

Result<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                   std::string_view missing_hint) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound("no " + std::string(what) + " at " + path +
                            (missing_hint.empty() ? "" : " " + std::string(missing_hint)));
  }
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return Status::FailedPrecondition("the " + std::string(what) + " " + path +
                                      " is readable by other users (mode " + mode +
                                      "); refusing to use it. Fix with: chmod 600 " + path);
  }
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::Unavailable("cannot read " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  sodium_memzero(buf, sizeof buf);
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) return Status::Unavailable("cannot read " + path);
  return out;
}

}  // namespace switchboard::crypto
