// The Windows file seam (src/common/base/file_util_win.cc) and the keys at
// rest under DPAPI, as a user of a Windows instance would notice them.
#include <gtest/gtest.h>

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
// After windows.h:
#include <aclapi.h>
#include <sddl.h>

#include <chrono>
#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "common/base/encoding.h"
#include "common/base/file_util.h"
#include "common/crypto/key_store.h"
#include "support/temp_dir.h"

namespace octo {
namespace {

using testing::ReadTestFile;
using testing::TempDir;
using testing::WriteTestFile;

// The DACL of `path` in SDDL ("D:P(A;;...;;;SY)..."), with the current
// user's SID written as "ME": what a user sees with `icacls`, in one string.
std::string Dacl(const std::string& path) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  const std::wstring wide = std::filesystem::u8path(path).wstring();
  if (::GetNamedSecurityInfoW(wide.c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr, nullptr, nullptr,
                              nullptr, &sd) != ERROR_SUCCESS) {
    return "(no security information)";
  }
  LPWSTR text = nullptr;
  ::ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text,
                                                         nullptr);
  std::wstring dacl = text != nullptr ? text : L"";
  ::LocalFree(text);
  ::LocalFree(sd);
  HANDLE token = nullptr;
  ::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token);
  DWORD n = 0;
  ::GetTokenInformation(token, TokenUser, nullptr, 0, &n);
  std::vector<BYTE> buf(n);
  ::GetTokenInformation(token, TokenUser, buf.data(), n, &n);
  ::CloseHandle(token);
  LPWSTR me = nullptr;
  ::ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(buf.data())->User.Sid, &me);
  const std::wstring user = me;
  ::LocalFree(me);
  for (size_t at; (at = dacl.find(user)) != std::wstring::npos;) dacl.replace(at, user.size(), L"ME");
  return std::string(dacl.begin(), dacl.end());
}

// Who the DACL of `path` allows anything: the SIDs of its allow entries in
// SDDL ("SY", "BA", "WD"...), the current user's written "ME".
std::set<std::string> Allowed(const std::string& path) {
  const std::string dacl = Dacl(path);
  std::set<std::string> sids;
  for (size_t open = dacl.find("(A;"); open != std::string::npos; open = dacl.find("(A;", open + 1)) {
    const size_t close = dacl.find(')', open);
    const size_t last = dacl.rfind(';', close);
    sids.insert(dacl.substr(last + 1, close - last - 1));
  }
  return sids;
}

// Mode 0600 and 0700 on Windows: a DACL that allows the user, SYSTEM and
// Administrators and nobody else (src/common/base/file_util_win.cc). Wine
// 8.0 keeps no DACL: it makes the file's Unix mode from the one given and
// shows a DACL made from that mode, in which "Everyone" (WD) stands for the
// other bits. So what is checked here, on Windows and wine alike, is that
// nobody but those three is allowed; and that a 0644 file is left to what
// its folder passes down (under wine: Everyone may read it).
TEST(WindowsFiles, APrivateModeAllowsOnlyTheUserSystemAndAdministrators) {
  const std::set<std::string> only_us = {"SY", "BA", "ME"};
  auto expect_private = [&](const std::string& path) {
    const auto allowed = Allowed(path);
    EXPECT_TRUE(allowed.count("ME")) << path << ": " << Dacl(path);
    EXPECT_TRUE(std::includes(only_us.begin(), only_us.end(), allowed.begin(), allowed.end()))
        << path << ": " << Dacl(path);
  };
  TempDir dir;
  const std::string key = dir.path() + "\\Tentacle.machinekey";
  ASSERT_TRUE(WriteFileExclusive(key, "secret", 0600).ok());
  expect_private(key);
  const std::string config = dir.path() + "\\Tentacle.config";
  ASSERT_TRUE(WriteFileAtomic(config, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(config, "two", 0600).ok());
  expect_private(config);

  const std::string home = dir.path() + "\\Octopus\\Tentacle";
  ASSERT_TRUE(MakeDirectories(home, 0700).ok());
  expect_private(home);
  expect_private(dir.path() + "\\Octopus");  // every directory it made

  const std::string pid = dir.path() + "\\Tentacle.pid";
  ASSERT_TRUE(WriteFileAtomic(pid, "42", 0644).ok());
  EXPECT_EQ(Dacl(pid).rfind("D:P", 0), std::string::npos) << "not protected: " << Dacl(pid);
  const bool under_wine = ::GetProcAddress(::GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != nullptr;
  if (under_wine) {
    EXPECT_TRUE(Allowed(pid).count("WD")) << "under wine, mode 0644: " << Dacl(pid);
  }
}

TEST(WindowsFiles, AtomicWriteReplacesAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.path() + "\\Tentacle.config";
  ASSERT_TRUE(WriteFileAtomic(path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two", 0600).ok());
  EXPECT_EQ(ReadTestFile(path), "two");
  auto names = ListFiles(dir.path(), "");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"Tentacle.config"});
}

TEST(WindowsFiles, AReplaceWhileAReaderHoldsTheFileOpenSucceedsAndTheReaderKeepsTheOldFile) {
  // As a service reading its config while a command saves it: the reader
  // opened it as ReadFile does (sharing delete) and holds it for 300 ms.
  // Windows 10 1709+ on NTFS replaces at once (POSIX-semantics rename);
  // wine 8.0 has no such rename (ERROR_INVALID_PARAMETER) and refuses
  // MoveFileExW while the file is open (ERROR_ACCESS_DENIED), so there the
  // save waits for the reader: both must end with the new file in place.
  TempDir dir;
  const std::string path = dir.path() + "\\Tentacle.config";
  ASSERT_TRUE(WriteFileAtomic(path, "old", 0600).ok());
  const std::wstring wide(path.begin(), path.end());
  HANDLE reader = ::CreateFileW(wide.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  ASSERT_NE(reader, INVALID_HANDLE_VALUE);
  std::string seen;
  std::thread hold([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    char buf[8] = {};
    DWORD n = 0;
    if (::ReadFile(reader, buf, sizeof buf, &n, nullptr)) seen.assign(buf, n);
    ::CloseHandle(reader);
  });
  Status st = WriteFileAtomic(path, "new", 0600);
  hold.join();
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(seen, "old");
  EXPECT_EQ(ReadTestFile(path), "new");
  auto names = ListFiles(dir.path(), "");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"Tentacle.config"});  // no temporary left
}

TEST(WindowsFiles, ExclusiveWriteNeverReplaces) {
  TempDir dir;
  const std::string path = dir.path() + "\\key";
  ASSERT_TRUE(WriteFileExclusive(path, "first", 0600).ok());
  Status st = WriteFileExclusive(path, "second", 0600);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.message();
  EXPECT_EQ(st.message(), path + " already exists; it was left as it is");
  EXPECT_EQ(ReadTestFile(path), "first");
}

TEST(WindowsFiles, ReadingAMissingFileIsNotFoundWithThePath) {
  TempDir dir;
  auto r = ReadFile(dir.path() + "\\absent.pfx");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message().rfind("cannot read " + dir.path() + "\\absent.pfx: ", 0), 0u) << r.status().message();
}

TEST(WindowsFiles, ReadingADirectoryIsRefused) {
  TempDir dir;
  auto r = ReadFile(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(WindowsFiles, SecondLockWaitsThenSaysWhoHoldsIt) {
  TempDir dir;
  const std::string path = dir.path() + "\\Tentacle.config";
  auto first = LockFile(path, std::chrono::milliseconds(0));
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = LockFile(path, std::chrono::milliseconds(50));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            "another command has been changing " + path + " for 0 seconds; try again later");
  first->reset();
  auto third = LockFile(path, std::chrono::milliseconds(0));
  EXPECT_TRUE(third.ok()) << third.status().message();
}

TEST(WindowsFiles, StampChangesWhenTheFileIsReplaced) {
  TempDir dir;
  const std::string path = dir.path() + "\\c.config";
  ASSERT_TRUE(WriteFileAtomic(path, "a", 0600).ok());
  auto one = StampFile(path);
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(WriteFileAtomic(path, "bb", 0600).ok());
  auto two = StampFile(path);
  ASSERT_TRUE(two.ok());
  EXPECT_NE(*one, *two);
  EXPECT_EQ(two->size, 2);
  EXPECT_EQ(StampFile(dir.path() + "\\none").status().code(), StatusCode::kNotFound);
}

TEST(WindowsFiles, PathsWithBackslashesAndDriveLetters) {
  EXPECT_EQ(DirName("C:\\Octopus\\Tentacle.config"), "C:\\Octopus");
  EXPECT_EQ(DirName("C:\\Tentacle.config"), "C:\\");
  EXPECT_EQ(DirName("C:/Octopus/Tentacle.config"), "C:/Octopus");
  EXPECT_EQ(DirName("Tentacle.config"), ".");
  TempDir dir;
  const std::string nested = dir.path() + "\\a\\b/c";
  ASSERT_TRUE(MakeDirectories(nested, 0700).ok());
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  EXPECT_FALSE(FileModeBits(nested).has_value());  // ACLs, not mode bits
}

TEST(WindowsKeys, KeyFileIsProtectedByDpapiAndReadsBack) {
  TempDir dir;
  const std::string path = dir.path() + "\\Tentacle.machinekey";
  auto key = CreateKeyFile(path);
  ASSERT_TRUE(key.ok()) << key.status().message();
  const std::string text = ReadTestFile(path);
  ASSERT_EQ(text.rfind("dpapi:", 0), 0u) << text;
  // The raw key is not in the file, in any encoding we use.
  EXPECT_EQ(text.find(Base64Encode(key->value())), std::string::npos);
  auto loaded = LoadKeyFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->value(), key->value());
}

TEST(WindowsKeys, ATamperedDpapiKeyIsRefusedWithAReason) {
  TempDir dir;
  const std::string path = dir.path() + "\\Tentacle.machinekey";
  ASSERT_TRUE(CreateKeyFile(path).ok());
  std::string text = ReadTestFile(path);
  // Flip one byte inside the protected blob.
  auto blob = Base64Decode(text.substr(6));
  ASSERT_TRUE(blob.ok());
  (*blob)[blob->size() / 2] ^= 0x01;
  WriteTestFile(path, "dpapi:" + Base64Encode(*blob) + "\n");
  auto loaded = LoadKeyFile(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(),
            "the key file " + path +
                " was protected by DPAPI on another machine (or for another user) and cannot be read here; "
                "restore the instance's certificate from an exported PFX instead");
}

TEST(WindowsKeys, AKeyFileWrittenOnLinuxStillLoads) {
  TempDir dir;
  const std::string path = dir.path() + "\\copied.machinekey";
  const std::string raw(32, '\x5a');
  WriteTestFile(path, Base64Encode(raw) + "\n");
  auto loaded = LoadKeyFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->value(), raw);
}

}  // namespace
}  // namespace octo
