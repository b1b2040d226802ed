#include "common/base/file_util.h"
#include "common/base/file_util_os.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace octo {

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError("cannot read " + path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return PosixError("cannot read " + path, e);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return InvalidArgument("cannot read " + path + ": it is a directory, not a file");
  }
  // Read straight into the result (no intermediate buffer keeps a copy of a
  // key or a password); when the file grows while being read, the old
  // buffer is wiped before it is freed.
  std::string out(st.st_size > 0 ? static_cast<size_t>(st.st_size) + 1 : 4096, '\0');
  size_t len = 0;
  for (;;) {
    if (len == out.size()) {
      std::string bigger(out.size() * 2, '\0');
      std::memcpy(bigger.data(), out.data(), len);
      ::explicit_bzero(out.data(), out.size());
      out.swap(bigger);
    }
    ssize_t n = ::read(fd, out.data() + len, out.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::explicit_bzero(out.data(), out.size());
      ::close(fd);
      return PosixError("cannot read " + path, e);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  out.resize(len);  // shrinking keeps the same buffer
  ::close(fd);
  return out;
}

static Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError("cannot open directory " + dir, errno);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0 && e != EINVAL) return PosixError("cannot sync directory " + dir, e);
  return Status::Ok();
}

namespace {

enum class Publish { kReplace, kNoReplace };

// Writes `contents` to a new temporary beside `path` and moves it there.
Status WriteAndPublish(const std::string& path, const std::string& contents, mode_t mode, Publish how) {
  // The temporary is created exclusively (O_EXCL) under an unpredictable
  // name beside the target, so in a shared directory such as /tmp nobody can
  // have made it first, linked it elsewhere or put a FIFO there, and it is
  // never truncated: what we open is a new, empty, regular file of ours.
  const std::string dir = DirName(path);
  const size_t slash = path.find_last_of('/');
  const std::string base = path.substr(slash == std::string::npos ? 0 : slash + 1);
  std::string tmp = (slash == std::string::npos ? std::string() : dir + "/") + "." + base + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return PosixError("cannot write " + path, errno);
  auto fail = [&](int e) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return PosixError("cannot write " + path, e);
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(errno);
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || st.st_nlink != 1 || st.st_size != 0) {
    ::close(fd);  // not ours to unlink: something is wrong with this directory
    return PermissionDenied("cannot write " + path + ": the temporary file " + tmp +
                            " is not a new regular file of ours");
  }
  if (::fchmod(fd, mode) != 0) return fail(errno);  // the umask must not loosen or tighten what we asked for
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail(errno);
  ::close(fd);
  if (how == Publish::kReplace) {
    // rename() replaces the directory entry: whoever held the old file at
    // `path` (or a symlink there) keeps that old file and never sees ours.
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      return PosixError("cannot write " + path, e);
    }
  } else {
    int rc = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {  // a file system without it: link() never replaces
      rc = ::link(tmp.c_str(), path.c_str());
      const int e = errno;
      ::unlink(tmp.c_str());
      errno = e;
    }
    if (rc != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      if (e == EEXIST) return AlreadyExists(path + " already exists; it was left as it is");
      return PosixError("cannot write " + path, e);
    }
  }
  return FsyncDir(dir);
}

}  // namespace

Status WriteFileAtomic(const std::string& path, const std::string& contents, mode_t mode) {
  return WriteAndPublish(path, contents, mode, Publish::kReplace);
}

Status WriteFileExclusive(const std::string& path, const std::string& contents, mode_t mode) {
  return WriteAndPublish(path, contents, mode, Publish::kNoReplace);
}

Status MakeDirectories(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::Ok();
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      return PosixError("cannot create directory " + cur, errno);
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return PosixError("cannot create directory " + path, errno);
  if (!S_ISDIR(st.st_mode)) return InvalidArgument(path + " exists and is not a directory");
  return Status::Ok();
}

Status CheckPrivateDirectory(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return PosixError("cannot use the directory " + dir, errno);
  if (S_ISLNK(st.st_mode)) {
    return PermissionDenied("the directory " + dir + " is a symbolic link; give the real directory instead");
  }
  if (!S_ISDIR(st.st_mode)) return InvalidArgument(dir + " is not a directory");
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    return PermissionDenied("the directory " + dir + " belongs to uid " + std::to_string(st.st_uid) +
                            ", not to this service's user (uid " + std::to_string(me) + "): run 'chown " +
                            std::to_string(me) + " " + dir + "' or use another directory");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDenied("the directory " + dir + " can be written by group or others (mode " + mode +
                            "): run 'chmod go-w " + dir + "'");
  }
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool IsNonRegularFile(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return PosixError("cannot remove " + path, errno);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ListFiles(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return names;
    return PosixError("cannot list " + dir, errno);
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      names.push_back(name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string AbsolutePath(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  if (ec) return path;
  return p.lexically_normal().string();
}

std::string DirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<FileLock> OpenLockFile(const std::string& path) {
  int fd = ::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return PosixError("cannot lock " + path, errno);
  return FileLock(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
}

Result<bool> TryLockFile(const FileLock& lock, const std::string& path) {
  const int fd = *static_cast<const int*>(lock.get());
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
  if (errno == EWOULDBLOCK || errno == EINTR) return false;
  return PosixError("cannot lock " + path, errno);
}

Result<FileStamp> StampFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return PosixError("cannot stat " + path, errno);
  return FileStamp{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                   static_cast<int64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::optional<unsigned> FileModeBits(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<unsigned>(st.st_mode & 07777);
}

}  // namespace octo
