// The portable half of file_util.h: what both platforms' seams
// (file_util.cc, file_util_win.cc) share.
#include <cerrno>
#include <cstring>
#include <thread>

#include "common/base/file_util.h"
#include "common/base/file_util_os.h"

namespace octo {

Status PosixError(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return NotFound(msg);
    case EACCES:
    case EPERM:
      return PermissionDenied(msg);
    case EEXIST:
      return AlreadyExists(msg);
    case EISDIR:
    case ENOTDIR:
      return InvalidArgument(msg);
    default:
      return Internal(msg);
  }
}

Result<FileLock> LockFile(const std::string& path, std::chrono::milliseconds timeout) {
  auto lock = OpenLockFile(path);
  if (!lock.ok()) return lock.status();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto taken = TryLockFile(*lock, path);
    if (!taken.ok()) return taken.status();
    if (*taken) return lock;
    if (std::chrono::steady_clock::now() >= deadline) {
      return FailedPrecondition("another command has been changing " + path + " for " +
                                std::to_string(timeout.count() / 1000) + " seconds; try again later");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace octo
