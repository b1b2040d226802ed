// The library's seam to the file system (POSIX). Every OS error becomes a
// Status here, in PosixError, with the path in the message.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace octo {

// Status for errno `err` while doing `what` ("cannot read /a/b").
Status PosixError(const std::string& what, int err);

// Reads a whole regular file. NotFound if it does not exist, PermissionDenied
// if it cannot be opened, InvalidArgument if it is a directory.
Result<std::string> ReadFile(const std::string& path);

// Replaces `path` with `contents` atomically: a temporary file in the same
// directory (".NAME.tmp-XXXXXX", created exclusively under an unpredictable
// name and checked to be a new regular file of ours), given `mode`, written,
// fsync'd, renamed over `path`, and the directory fsync'd. Safe in a shared
// sticky directory such as /tmp. On failure `path` is unchanged.
Status WriteFileAtomic(const std::string& path, const std::string& contents, mode_t mode);

// As WriteFileAtomic, but never replaces anything: the file appears at
// `path` complete, or AlreadyExists is returned and whatever is at `path`
// is left as it is (renameat2 RENAME_NOREPLACE, else link()). For files that
// must be created exactly once, such as keys.
Status WriteFileExclusive(const std::string& path, const std::string& contents, mode_t mode);

// Creates `path` and its parents (mode for the ones it creates). OK if it exists.
Status MakeDirectories(const std::string& path, mode_t mode);

bool FileExists(const std::string& path);

// True when something other than a regular file is at `path`, a symbolic
// link (or, on Windows, a junction or other reparse point) included: what a
// service refuses to write into.
bool IsNonRegularFile(const std::string& path);

// For directories a root-run service writes into (its home, its Logs):
// PermissionDenied, with the command that fixes it, when `dir` is a
// symbolic link, belongs to another user than this process's, or can be
// written by group or others. NotFound when it does not exist.
Status CheckPrivateDirectory(const std::string& dir);

// Removes a file; OK if it did not exist.
Status RemoveFile(const std::string& path);

// Names (not paths) of the regular files in `dir` ending in `suffix`, sorted.
// An absent directory gives an empty list.
Result<std::vector<std::string>> ListFiles(const std::string& dir, const std::string& suffix);

// The absolute form of `path` (relative to the working directory), without
// resolving links.
std::string AbsolutePath(const std::string& path);

std::string DirName(const std::string& path);

// The separator of paths this library makes: '/' on POSIX, '\\' on Windows
// (which also accepts '/' in what users give).
#ifdef _WIN32
inline constexpr char kPathSeparator = '\\';
#else
inline constexpr char kPathSeparator = '/';
#endif
// `dir` and `name` joined with kPathSeparator.
inline std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir + kPathSeparator + name;
}

// An exclusive lock on `path` + ".lock" (flock; LockFileEx on Windows), held
// until the last copy of the handle is released. FailedPrecondition, saying
// another command holds it, after `timeout`.
using FileLock = std::shared_ptr<const void>;
Result<FileLock> LockFile(const std::string& path, std::chrono::milliseconds timeout);

// What identifies one version of a file: a replace (new inode or file
// index), a write (size, modification time). All -1/0 when it is absent.
struct FileStamp {
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t size = -1;
  int64_t mtime_ns = -1;
  bool operator==(const FileStamp&) const = default;
};
Result<FileStamp> StampFile(const std::string& path);

// The permission bits of `path` (POSIX), or nullopt when it does not exist
// or the platform has none (Windows: ACLs).
std::optional<unsigned> FileModeBits(const std::string& path);

#ifdef _WIN32
// The machine's shared application data folder (FOLDERID_ProgramData,
// normally C:\ProgramData), as the known-folder API gives it: the same for
// a user's shell and for a service running as SYSTEM, unlike %ProgramData%.
std::string ProgramDataDirectory();

// Status for a Win32 error code (GetLastError()) while doing `what`.
Status Win32Error(const std::string& what, unsigned long err);
#endif

}  // namespace octo
