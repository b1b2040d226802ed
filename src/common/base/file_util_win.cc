// The file system seam on Windows (file_util.h; the POSIX version is
// file_util.cc). Paths are UTF-8 in the library and UTF-16 for the OS.
// Windows has no mode bits. A private mode (no group or other bits: 0600,
// 0700) becomes a protected DACL that grants the user running the program,
// SYSTEM and Administrators, and nobody else, inheriting nothing from the
// folder (PrivateAcl); any other mode leaves the folder's inherited ACL.
#include "common/base/file_util.h"
#include "common/base/file_util_os.h"

#include "common/base/win32.h"

#include <knownfolders.h>
#include <sddl.h>
#include <shlobj.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

namespace octo {

namespace {

// The system's message for a Win32 error, without the trailing ".\r\n".
std::string Win32Message(DWORD err) {
  wchar_t* buf = nullptr;
  DWORD n = ::FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                             nullptr, err, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT),
                             reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  std::string msg = n > 0 ? Narrow(std::wstring(buf, n)) : "error " + std::to_string(err);
  if (buf != nullptr) ::LocalFree(buf);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r' || msg.back() == ' ' || msg.back() == '.')) {
    msg.pop_back();
  }
  return msg;
}


// The user the program runs as, as an SDDL SID string ("S-1-5-21-..."), or
// "" if the token cannot say.
std::wstring CurrentUserSid() {
  HANDLE token = nullptr;
  if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token)) return {};
  WinHandle owned(token);
  DWORD n = 0;
  ::GetTokenInformation(token, TokenUser, nullptr, 0, &n);
  std::vector<BYTE> buf(n);
  if (n == 0 || !::GetTokenInformation(token, TokenUser, buf.data(), n, &n)) return {};
  LPWSTR text = nullptr;
  if (!::ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(buf.data())->User.Sid, &text)) return {};
  std::wstring out = text;
  ::LocalFree(text);
  return out;
}

// What mode 0600 (a file) or 0700 (a directory) is on POSIX: a protected
// DACL ("P": nothing inherited from the folder) that allows the current
// user, SYSTEM and Administrators, and nobody else. A file's entries allow
// reading, writing, deleting and changing its ACL, not executing; a
// directory's allow everything and are inherited by what is made in it.
// When it cannot be made, status() says why, and nothing is written: a
// private file never falls back to its folder's ACL.
class PrivateAcl {
 public:
  PrivateAcl(bool private_mode, bool directory) {
    if (!private_mode) return;
    const std::wstring user = CurrentUserSid();
    if (user.empty()) {
      status_ = Internal("cannot make a private ACL: the process token does not name its user");
      return;
    }
    const std::wstring ace = directory ? L"(A;OICI;FA;;;" : L"(A;;FRFWSDWDWO;;;";
    const std::wstring sddl = L"D:P" + ace + L"SY)" + ace + L"BA)" + ace + user + L")";
    if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &sd_, nullptr)) {
      status_ = Win32Error("cannot make a private ACL", ::GetLastError());
      return;
    }
    attributes_ = {sizeof attributes_, sd_, FALSE};
  }
  ~PrivateAcl() {
    if (sd_ != nullptr) ::LocalFree(sd_);
  }
  PrivateAcl(const PrivateAcl&) = delete;
  PrivateAcl& operator=(const PrivateAcl&) = delete;

  // For CreateFileW/CreateDirectoryW: null (the inherited ACL) unless private.
  SECURITY_ATTRIBUTES* get() { return sd_ != nullptr ? &attributes_ : nullptr; }
  const Status& status() const { return status_; }

 private:
  Status status_ = Status::Ok();
  PSECURITY_DESCRIPTOR sd_ = nullptr;
  SECURITY_ATTRIBUTES attributes_{};
};

bool IsPrivateMode(mode_t mode) { return (mode & 077) == 0; }

}  // namespace

Status Win32Error(const std::string& what, unsigned long err) {
  std::string msg = what + ": " + Win32Message(err);
  switch (err) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
      return NotFound(msg);
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
      return PermissionDenied(msg);
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return AlreadyExists(msg);
    case ERROR_DIRECTORY:
    case ERROR_INVALID_NAME:
      return InvalidArgument(msg);
    default:
      return Internal(msg);
  }
}

Result<std::string> ReadFile(const std::string& path) {
  const DWORD attrs = ::GetFileAttributesW(Wide(path).c_str());
  if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    return InvalidArgument("cannot read " + path + ": it is a directory, not a file");
  }
  WinHandle h(::CreateFileW(Wide(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!h.valid()) return Win32Error("cannot read " + path, ::GetLastError());
  LARGE_INTEGER size{};
  if (!::GetFileSizeEx(h.get(), &size)) return Win32Error("cannot read " + path, ::GetLastError());
  // As on POSIX: read straight into the result, wipe a buffer outgrown.
  std::string out(size.QuadPart > 0 ? static_cast<size_t>(size.QuadPart) + 1 : 4096, '\0');
  size_t len = 0;
  for (;;) {
    if (len == out.size()) {
      std::string bigger(out.size() * 2, '\0');
      std::memcpy(bigger.data(), out.data(), len);
      ::SecureZeroMemory(out.data(), out.size());
      out.swap(bigger);
    }
    DWORD n = 0;
    const DWORD want = static_cast<DWORD>(std::min<size_t>(out.size() - len, 1u << 30));
    if (!::ReadFile(h.get(), out.data() + len, want, &n, nullptr)) {
      const DWORD e = ::GetLastError();
      ::SecureZeroMemory(out.data(), out.size());
      return Win32Error("cannot read " + path, e);
    }
    if (n == 0) break;
    len += n;
  }
  out.resize(len);
  return out;
}

namespace {

enum class Publish { kReplace, kNoReplace };

// Writes `contents` to a new temporary beside `path` (CREATE_NEW under an
// unpredictable name, write-through, flushed) and moves it into place: a
// POSIX-semantics rename by handle where the system has it, else
// MoveFileExW with MOVEFILE_WRITE_THROUGH (and MOVEFILE_REPLACE_EXISTING to
// replace; without it the file is created exactly once).
Status WriteAndPublish(const std::string& path, const std::string& contents, Publish how, mode_t mode) {
  size_t slash = path.find_last_of("/\\");
  const std::string base = path.substr(slash == std::string::npos ? 0 : slash + 1);
  const std::string prefix = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  std::random_device rd;
  std::string tmp;
  HANDLE raw = INVALID_HANDLE_VALUE;
  PrivateAcl acl(IsPrivateMode(mode), /*directory=*/false);
  if (!acl.status().ok()) return acl.status();
  for (int attempt = 0; attempt < 16 && raw == INVALID_HANDLE_VALUE; ++attempt) {
    static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string suffix(6, 'X');
    for (char& c : suffix) c = kAlphabet[rd() % (sizeof kAlphabet - 1)];
    tmp = prefix + "." + base + ".tmp-" + suffix;
    raw = ::CreateFileW(Wide(tmp).c_str(), GENERIC_WRITE | DELETE, 0, acl.get(), CREATE_NEW,
                        FILE_ATTRIBUTE_NORMAL | FILE_FLAG_WRITE_THROUGH, nullptr);
    if (raw == INVALID_HANDLE_VALUE && ::GetLastError() != ERROR_FILE_EXISTS) break;
  }
  if (raw == INVALID_HANDLE_VALUE) return Win32Error("cannot write " + path, ::GetLastError());
  WinHandle h(raw);
  auto fail = [&](DWORD e) {
    FILE_DISPOSITION_INFO dispose{TRUE};  // delete the temporary when h closes
    ::SetFileInformationByHandle(h.get(), FileDispositionInfo, &dispose, sizeof dispose);
    return Win32Error("cannot write " + path, e);
  };
  size_t off = 0;
  while (off < contents.size()) {
    DWORD n = 0;
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(contents.size() - off, 1u << 30));
    if (!::WriteFile(h.get(), contents.data() + off, chunk, &n, nullptr)) return fail(::GetLastError());
    off += n;
  }
  if (!::FlushFileBuffers(h.get())) return fail(::GetLastError());

  // First, a rename by handle with POSIX semantics (Windows 10 1709 and
  // later, NTFS): it replaces `path` even while a reader has it open, and
  // that reader keeps the old file, as rename() does on POSIX.
  const std::wstring target = Wide(path);
  std::vector<char> buf(sizeof(FILE_RENAME_INFO) + target.size() * sizeof(wchar_t));
  auto* info = reinterpret_cast<FILE_RENAME_INFO*>(buf.data());
  info->Flags = FILE_RENAME_FLAG_POSIX_SEMANTICS | (how == Publish::kReplace ? FILE_RENAME_FLAG_REPLACE_IF_EXISTS : 0);
  info->RootDirectory = nullptr;
  info->FileNameLength = static_cast<DWORD>(target.size() * sizeof(wchar_t));
  std::memcpy(info->FileName, target.data(), info->FileNameLength);
  // FileRenameInfoEx is 22 (minwinbase.h); mingw-w64 declares it only for
  // _WIN32_WINNT >= 0x0A000002, a value no other header expects.
  constexpr auto kFileRenameInfoEx = static_cast<FILE_INFO_BY_HANDLE_CLASS>(22);
  if (::SetFileInformationByHandle(h.get(), kFileRenameInfoEx, info, static_cast<DWORD>(buf.size()))) {
    ::FlushFileBuffers(h.get());
    return Status::Ok();
  }
  DWORD e = ::GetLastError();
  if (how == Publish::kNoReplace && (e == ERROR_ALREADY_EXISTS || e == ERROR_FILE_EXISTS)) {
    (void)fail(e);
    return AlreadyExists(path + " already exists; it was left as it is");
  }
  // Older systems and file systems (and wine 8) have no POSIX rename:
  // MoveFileExW, write-through. A reader holding the old file open makes the
  // replace fail for a moment: retry for up to 5 s, as readers are short.
  h.close();
  DWORD flags = MOVEFILE_WRITE_THROUGH;
  if (how == Publish::kReplace) flags |= MOVEFILE_REPLACE_EXISTING;
  for (int attempt = 0;; ++attempt) {
    if (::MoveFileExW(Wide(tmp).c_str(), target.c_str(), flags)) return Status::Ok();
    e = ::GetLastError();
    if ((e == ERROR_ACCESS_DENIED || e == ERROR_SHARING_VIOLATION) && attempt < 1000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt < 10 ? 1 : 5));
      continue;
    }
    ::DeleteFileW(Wide(tmp).c_str());
    if (how == Publish::kNoReplace && (e == ERROR_ALREADY_EXISTS || e == ERROR_FILE_EXISTS)) {
      return AlreadyExists(path + " already exists; it was left as it is");
    }
    return Win32Error("cannot write " + path, e);
  }
}

}  // namespace

Status WriteFileAtomic(const std::string& path, const std::string& contents, mode_t mode) {
  return WriteAndPublish(path, contents, Publish::kReplace, mode);
}

Status WriteFileExclusive(const std::string& path, const std::string& contents, mode_t mode) {
  return WriteAndPublish(path, contents, Publish::kNoReplace, mode);
}

Status MakeDirectories(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::Ok();
  // The missing directories, outermost first, each made with `mode`'s ACL.
  std::vector<std::filesystem::path> missing;
  for (auto p = std::filesystem::u8path(path); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    if (::GetFileAttributesW(p.c_str()) != INVALID_FILE_ATTRIBUTES) break;
    missing.push_back(p);
    if (p.parent_path() == p) break;
  }
  PrivateAcl acl(IsPrivateMode(mode), /*directory=*/true);
  if (!acl.status().ok()) return acl.status();
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    ::CreateDirectoryW(it->c_str(), acl.get());  // a concurrent maker is fine: checked below
  }
  const DWORD attrs = ::GetFileAttributesW(Wide(path).c_str());
  if (attrs == INVALID_FILE_ATTRIBUTES) return Win32Error("cannot create directory " + path, ::GetLastError());
  if ((attrs & FILE_ATTRIBUTE_DIRECTORY) == 0) return InvalidArgument(path + " exists and is not a directory");
  return Status::Ok();
}

Status CheckPrivateDirectory(const std::string& dir) {
  const DWORD attrs = ::GetFileAttributesW(Wide(dir).c_str());
  if (attrs == INVALID_FILE_ATTRIBUTES) return Win32Error("cannot use the directory " + dir, ::GetLastError());
  if ((attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
    return PermissionDenied("the directory " + dir + " is a symbolic link or junction; give the real directory instead");
  }
  if ((attrs & FILE_ATTRIBUTE_DIRECTORY) == 0) return InvalidArgument(dir + " is not a directory");
  return Status::Ok();
}

bool FileExists(const std::string& path) { return ::GetFileAttributesW(Wide(path).c_str()) != INVALID_FILE_ATTRIBUTES; }

std::string ProgramDataDirectory() {
  PWSTR path = nullptr;
  std::string out;
  if (SUCCEEDED(::SHGetKnownFolderPath(FOLDERID_ProgramData, 0, nullptr, &path)) && path != nullptr) {
    out = Narrow(path);
  }
  ::CoTaskMemFree(path);
  if (out.empty()) {
    const char* data = std::getenv("ProgramData");
    out = data != nullptr && *data != '\0' ? data : "C:\\ProgramData";
  }
  return out;
}

bool IsNonRegularFile(const std::string& path) {
  const DWORD attrs = ::GetFileAttributesW(Wide(path).c_str());
  return attrs != INVALID_FILE_ATTRIBUTES &&
         (attrs & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DEVICE)) != 0;
}

Status RemoveFile(const std::string& path) {
  if (!::DeleteFileW(Wide(path).c_str())) {
    const DWORD e = ::GetLastError();
    if (e != ERROR_FILE_NOT_FOUND && e != ERROR_PATH_NOT_FOUND) return Win32Error("cannot remove " + path, e);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ListFiles(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> names;
  WIN32_FIND_DATAW fd{};
  HANDLE h = ::FindFirstFileW(Wide(dir + "\\*").c_str(), &fd);
  if (h == INVALID_HANDLE_VALUE) {
    const DWORD e = ::GetLastError();
    if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) return names;
    return Win32Error("cannot list " + dir, e);
  }
  do {
    if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) continue;
    std::string name = Narrow(fd.cFileName);
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      names.push_back(name);
    }
  } while (::FindNextFileW(h, &fd));
  ::FindClose(h);
  std::sort(names.begin(), names.end());
  return names;
}

std::string AbsolutePath(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  auto p = std::filesystem::absolute(std::filesystem::u8path(path), ec);
  if (ec) return path;
  auto s = p.lexically_normal().u8string();
  return std::string(s.begin(), s.end());
}

std::string DirName(const std::string& path) {
  auto slash = path.find_last_of("/\\");
  if (slash == std::string::npos) return ".";
  // "C:\" and "\" keep their separator: they are roots.
  if (slash == 0 || (slash == 2 && path.size() > 1 && path[1] == ':')) return path.substr(0, slash + 1);
  return path.substr(0, slash);
}

Result<FileLock> OpenLockFile(const std::string& path) {
  HANDLE h = ::CreateFileW(Wide(path + ".lock").c_str(), GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return Win32Error("cannot lock " + path, ::GetLastError());
  return FileLock(new intptr_t(reinterpret_cast<intptr_t>(h)), [](intptr_t* p) {
    ::CloseHandle(reinterpret_cast<HANDLE>(*p));  // closing releases the lock
    delete p;
  });
}

Result<bool> TryLockFile(const FileLock& lock, const std::string& path) {
  const HANDLE h = reinterpret_cast<HANDLE>(*static_cast<const intptr_t*>(lock.get()));
  OVERLAPPED ov{};
  if (::LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov)) return true;
  const DWORD e = ::GetLastError();
  if (e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING) return false;
  return Win32Error("cannot lock " + path, e);
}

Result<FileStamp> StampFile(const std::string& path) {
  WinHandle h(::CreateFileW(Wide(path).c_str(), 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                         OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (!h.valid()) return Win32Error("cannot stat " + path, ::GetLastError());
  BY_HANDLE_FILE_INFORMATION info{};
  if (!::GetFileInformationByHandle(h.get(), &info)) return Win32Error("cannot stat " + path, ::GetLastError());
  FileStamp s;
  s.device = info.dwVolumeSerialNumber;
  s.inode = (static_cast<uint64_t>(info.nFileIndexHigh) << 32) | info.nFileIndexLow;
  s.size = static_cast<int64_t>((static_cast<uint64_t>(info.nFileSizeHigh) << 32) | info.nFileSizeLow);
  s.mtime_ns = static_cast<int64_t>(((static_cast<uint64_t>(info.ftLastWriteTime.dwHighDateTime) << 32) |
                                     info.ftLastWriteTime.dwLowDateTime) *
                                    100);
  return s;
}

std::optional<unsigned> FileModeBits(const std::string& /*path*/) { return std::nullopt; }

}  // namespace octo
