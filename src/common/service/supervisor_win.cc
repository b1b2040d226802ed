// The built-in supervisor on Windows (supervisor_posix.cc on POSIX); see
// supervisor.h for what each platform does.
#include "common/service/supervisor.h"

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>

#include "common/base/file_util.h"
#include "common/base/net.h"
#include "common/base/win32.h"
#include "common/service/supervisor_os.h"
#include "common/service/windows_service.h"

// <winsvc.h> names StartServiceW so; ours is octo::StartService.
#undef StartService

namespace octo {
namespace {

// The lock is one byte this far into the file: past anything written there,
// so the pid at the start stays readable while the lock is held.
constexpr DWORD kLockOffset = 0x40000000;

HANDLE g_ready = INVALID_HANDLE_VALUE;
bool g_ready_looked_up = false;

HANDLE ReadyHandle() {
  if (!g_ready_looked_up) {
    g_ready_looked_up = true;
    const char* v = std::getenv(kReadyFdVariable);
    if (v != nullptr) {
      g_ready = reinterpret_cast<HANDLE>(static_cast<uintptr_t>(std::strtoull(v, nullptr, 10)));
      if (g_ready != nullptr) ::SetHandleInformation(g_ready, HANDLE_FLAG_INHERIT, 0);  // not to our children
      ::SetEnvironmentVariableW(Wide(kReadyFdVariable).c_str(), nullptr);
      _putenv((std::string(kReadyFdVariable) + "=").c_str());
    }
  }
  return g_ready;
}

bool ReadyValid(HANDLE h) { return h != INVALID_HANDLE_VALUE && h != nullptr; }

OVERLAPPED LockRange() {
  OVERLAPPED o{};
  o.Offset = kLockOffset;
  return o;
}

HANDLE OpenLockFile(const std::string& path, DWORD access, DWORD disposition) {
  return ::CreateFileW(Wide(path).c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                       disposition, FILE_ATTRIBUTE_NORMAL, nullptr);
}

std::optional<int> ReadPid(HANDLE h) {
  char buf[32] = {};
  DWORD got = 0;
  OVERLAPPED at{};  // offset 0
  if (!::ReadFile(h, buf, sizeof buf - 1, &got, &at) || got == 0) return std::nullopt;
  const int pid = std::atoi(buf);
  return pid > 0 ? std::optional<int>(pid) : std::nullopt;
}

// The caller's environment for the service, without the variables that must
// not follow it, and with the ready handle's value.
std::wstring ServiceEnvironment(HANDLE ready) {
  std::wstring block;
  wchar_t* env = ::GetEnvironmentStringsW();
  for (const wchar_t* p = env; p != nullptr && *p != L'\0'; p += wcslen(p) + 1) {
    std::wstring var = p;
    std::wstring name = var.substr(0, var.find(L'=', 1));
    std::wstring upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::towupper);
    if (upper == L"OCTOPUS_PFX_PASSWORD" || upper == Wide(kReadyFdVariable)) continue;
    block += var;
    block.push_back(L'\0');
  }
  if (env != nullptr) ::FreeEnvironmentStringsW(env);
  block += Wide(kReadyFdVariable) + L"=" + std::to_wstring(reinterpret_cast<uintptr_t>(ready));
  block.push_back(L'\0');
  block.push_back(L'\0');
  return block;
}

}  // namespace

int CurrentPid() { return static_cast<int>(::GetCurrentProcessId()); }

void NotifySupervisor(const std::string& line, bool close_now) {
  ReportWindowsServiceStarted(line.rfind("READY ", 0) == 0);
  HANDLE h = ReadyHandle();
  if (!ReadyValid(h)) return;
  DWORD wrote = 0;
  ::WriteFile(h, line.data(), static_cast<DWORD>(line.size()), &wrote, nullptr);
  if (close_now) ::CloseHandle(h);  // after ERROR it stays open until this process exits
  g_ready = INVALID_HANDLE_VALUE;
}

// Started by StartService, or by the Service Control Manager: either way,
// no console to write to.
bool StartedBySupervisor() { return ReadyValid(ReadyHandle()) || RunningAsWindowsService(); }

std::string SelfExecutable() {
  std::wstring path(32768, L'\0');
  const DWORD n = ::GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
  path.resize(n);
  return Narrow(path);
}

std::string StopEventName(int pid) { return "Local\\OctopusStop-" + std::to_string(pid); }

ServiceLock& ServiceLock::operator=(ServiceLock&& o) noexcept {
  if (this != &o) {
    if (fd_ != -1) ::CloseHandle(reinterpret_cast<HANDLE>(fd_));
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

ServiceLock::~ServiceLock() {
  if (fd_ != -1) ::CloseHandle(reinterpret_cast<HANDLE>(fd_));
}

Result<ServiceLock> LockService(const std::string& lock_file) {
  if (IsNonRegularFile(lock_file)) return PermissionDenied("the service lock " + lock_file + " is not a regular file");
  HANDLE h = OpenLockFile(lock_file, GENERIC_READ | GENERIC_WRITE, OPEN_ALWAYS);
  if (h == INVALID_HANDLE_VALUE) return Win32Error("cannot open the service lock " + lock_file, ::GetLastError());
  OVERLAPPED range = LockRange();
  if (!::LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &range)) {
    const DWORD e = ::GetLastError();
    ::CloseHandle(h);
    if (e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING) {
      auto holder = RunningPid(lock_file);
      return AlreadyExists("it is already running" +
                           (holder ? " (pid " + std::to_string(*holder) + ")" : std::string()));
    }
    return Win32Error("cannot lock " + lock_file, e);
  }
  // The holder's pid, for RunningPid: padded, so a shorter pid leaves no digits of a longer one.
  std::string pid = std::to_string(CurrentPid());
  pid.resize(16, ' ');
  pid += "\r\n";
  DWORD wrote = 0;
  OVERLAPPED at{};
  ::WriteFile(h, pid.data(), static_cast<DWORD>(pid.size()), &wrote, &at);
  return ServiceLock(reinterpret_cast<std::intptr_t>(h));
}

std::optional<int> RunningPid(const std::string& lock_file) {
  WinHandle h(OpenLockFile(lock_file, GENERIC_READ, OPEN_EXISTING));
  if (!h.valid()) return std::nullopt;
  OVERLAPPED range = LockRange();
  if (::LockFileEx(h.get(), LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &range)) {  // shared: free, nobody runs
    OVERLAPPED again = LockRange();
    ::UnlockFileEx(h.get(), 0, 1, 0, &again);
    return std::nullopt;
  }
  // Held. The holder writes its pid right after locking: give it a moment.
  for (int i = 0; i < 50; ++i) {
    if (auto pid = ReadPid(h.get())) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

Result<int> StartService(const ServiceProcess& service, std::chrono::milliseconds timeout) {
  if (auto pid = RunningPid(service.lock_file)) {
    return AlreadyExists("it is already running (pid " + std::to_string(*pid) + ")");
  }
  if (Status st = CheckPrivateDirectory(DirName(service.log_file)); !st.ok()) return st;
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE read_end = nullptr;
  HANDLE write_end = nullptr;
  if (!::CreatePipe(&read_end, &write_end, &inherit, 0)) return Win32Error("cannot create a pipe", ::GetLastError());
  WinHandle reader(read_end);
  WinHandle writer(write_end);
  ::SetHandleInformation(read_end, HANDLE_FLAG_INHERIT, 0);
  WinHandle log(::CreateFileW(Wide(service.log_file).c_str(), FILE_APPEND_DATA,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &inherit, OPEN_ALWAYS,
                              FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!log.valid()) return Win32Error("cannot open the log file " + service.log_file, ::GetLastError());
  WinHandle nul(::CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit, OPEN_EXISTING, 0,
                              nullptr));

  std::wstring command_line = CommandLine(service.argv);
  std::wstring env = ServiceEnvironment(write_end);
  STARTUPINFOEXW si{};
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = nul.valid() ? nul.get() : nullptr;
  si.StartupInfo.hStdOutput = log.get();
  si.StartupInfo.hStdError = log.get();
  // Only these handles are inherited, not every inheritable one this
  // process has: its own standard handles among them would keep a caller's
  // pipe open for as long as the service runs, and a script reading
  // `service --start`'s output would wait for it forever.
  std::vector<HANDLE> handles = {write_end, log.get()};
  if (nul.valid()) handles.push_back(nul.get());
  SIZE_T size = 0;
  ::InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
  std::vector<char> attributes(size);
  si.lpAttributeList = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attributes.data());
  if (!::InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &size) ||
      !::UpdateProcThreadAttribute(si.lpAttributeList, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, handles.data(),
                                   handles.size() * sizeof(HANDLE), nullptr, nullptr)) {
    return Win32Error("cannot run " + service.argv[0], ::GetLastError());
  }
  PROCESS_INFORMATION pi{};
  const std::wstring exe = Wide(service.argv.at(0));
  const BOOL created = ::CreateProcessW(
      exe.c_str(), command_line.data(), nullptr, nullptr, TRUE,
      CREATE_UNICODE_ENVIRONMENT | DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | EXTENDED_STARTUPINFO_PRESENT,
      env.data(), nullptr, &si.StartupInfo, &pi);
  const DWORD create_error = ::GetLastError();
  ::DeleteProcThreadAttributeList(si.lpAttributeList);
  if (!created) return Win32Error("cannot run " + service.argv[0], create_error);
  WinHandle process(pi.hProcess);
  ::CloseHandle(pi.hThread);
  writer.close();
  log.close();
  nul.close();

  // Anonymous pipes have no overlapped reads: look, then wait a little.
  const Deadline deadline = DeadlineIn(timeout);
  std::string got;
  while (got.find('\n') == std::string::npos) {
    DWORD available = 0;
    if (!::PeekNamedPipe(reader.get(), nullptr, 0, nullptr, &available, nullptr)) {
      break;  // broken: it exited, or wrote its line and closed
    }
    if (available > 0) {
      char buf[512];
      DWORD n = 0;
      if (!::ReadFile(reader.get(), buf, std::min<DWORD>(available, sizeof buf), &n, nullptr) || n == 0) {
        break;
      }
      got.append(buf, n);
      continue;
    }
    if (Clock::now() >= deadline) {
      return FailedPrecondition("it did not report ready within " + std::to_string(timeout.count() / 1000) +
                                " seconds (see " + service.log_file + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (got.rfind("READY ", 0) == 0) return std::atoi(got.c_str() + 6);
  if (got.rfind("ERROR ", 0) == 0) {
    // As on POSIX: the caller never sees a second process of the instance
    // after being told the start failed.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    ::WaitForSingleObject(process.get(), static_cast<DWORD>(std::clamp<long long>(left.count(), 0, 5000)));
    return ParseErrorLine(got);
  }
  return FailedPrecondition("it exited during start-up (see " + service.log_file + ")");
}

Result<int> RunProgram(const std::vector<std::string>& argv) {
  std::wstring command_line = CommandLine(argv);
  STARTUPINFOW si{};
  si.cb = sizeof si;
  PROCESS_INFORMATION pi{};
  if (!::CreateProcessW(nullptr, command_line.data(), nullptr, nullptr, FALSE, 0, nullptr, nullptr, &si, &pi)) {
    const DWORD e = ::GetLastError();
    if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) {
      return NotFound("cannot run " + argv.at(0) + " (not found, or not executable)");
    }
    return Win32Error("cannot run " + argv.at(0), e);
  }
  WinHandle process(pi.hProcess);
  ::CloseHandle(pi.hThread);
  ::WaitForSingleObject(process.get(), INFINITE);
  DWORD code = 0;
  ::GetExitCodeProcess(process.get(), &code);
  return static_cast<int>(code);
}

Result<bool> StopService(const std::string& lock_file, const std::string& pid_file,
                         std::chrono::milliseconds grace) {
  auto pid = RunningPid(lock_file);
  if (!pid) {
    (void)RemoveFile(pid_file);
    return false;
  }
  // The process handle first, so that the pid cannot be reused under us.
  WinHandle process(::OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                                  static_cast<DWORD>(*pid)));
  auto held = [&] { return RunningPid(lock_file) == *pid; };
  if (!process.valid()) {
    if (held()) return Win32Error("cannot stop pid " + std::to_string(*pid), ::GetLastError());
    (void)RemoveFile(pid_file);
    return true;
  }
  WinHandle stop(::OpenEventW(EVENT_MODIFY_STATE, FALSE, Wide(StopEventName(*pid)).c_str()));
  if (stop.valid()) ::SetEvent(stop.get());
  const Deadline deadline = DeadlineIn(stop.valid() ? grace : std::chrono::milliseconds(0));
  while (held() && Clock::now() < deadline) {
    if (::WaitForSingleObject(process.get(), 20) == WAIT_OBJECT_0) break;
  }
  if (held()) {
    ::TerminateProcess(process.get(), 1);
  }
  // Its port and files are free when we return.
  ::WaitForSingleObject(process.get(), 5000);
  (void)RemoveFile(pid_file);
  return true;
}

}  // namespace octo
