// The Windows Service Control Manager (windows_service.h).
#include "common/service/windows_service.h"

#include <thread>

#include "common/base/file_util.h"
#include "common/base/win32.h"
#include "common/service/supervisor.h"

namespace octo {
namespace {

// Owns an SC_HANDLE.
class ScHandle {
 public:
  explicit ScHandle(SC_HANDLE h = nullptr) : h_(h) {}
  ~ScHandle() {
    if (h_ != nullptr) ::CloseServiceHandle(h_);
  }
  ScHandle(const ScHandle&) = delete;
  ScHandle& operator=(const ScHandle&) = delete;
  SC_HANDLE get() const { return h_; }
  void reset(SC_HANDLE h) {
    if (h_ != nullptr) ::CloseServiceHandle(h_);
    h_ = h;
  }
  explicit operator bool() const { return h_ != nullptr; }

 private:
  SC_HANDLE h_;
};

Status ScmError(const std::string& what, DWORD err) {
  if (err == ERROR_ACCESS_DENIED) return ElevationRequired();
  return Win32Error(what, err);
}

// Opens the SCM, then the service `name` in it for `access`.
Status OpenNamedService(const std::string& name, DWORD access, ScHandle* manager, ScHandle* service) {
  manager->reset(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (!*manager) return ScmError("cannot open the Service Control Manager", ::GetLastError());
  service->reset(::OpenServiceW(manager->get(), Wide(name).c_str(), access));
  if (!*service) return ScmError("cannot open the service " + name, ::GetLastError());
  return Status::Ok();
}

ServiceState StateOf(DWORD s) {
  switch (s) {
    case SERVICE_STOPPED: return ServiceState::kStopped;
    case SERVICE_START_PENDING: return ServiceState::kStartPending;
    case SERVICE_STOP_PENDING: return ServiceState::kStopPending;
    case SERVICE_RUNNING: return ServiceState::kRunning;
    default: return ServiceState::kOther;
  }
}

Result<SERVICE_STATUS_PROCESS> QueryStatus(SC_HANDLE service) {
  SERVICE_STATUS_PROCESS st{};
  DWORD needed = 0;
  if (!::QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO, reinterpret_cast<BYTE*>(&st), sizeof st, &needed)) {
    return Win32Error("cannot query the service", ::GetLastError());
  }
  return st;
}

// Waits until the service is in `want` (true) or the deadline passes.
Result<bool> WaitForState(SC_HANDLE service, DWORD want, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto st = QueryStatus(service);
    if (!st.ok()) return st.status();
    if (st->dwCurrentState == want) return true;
    if (want == SERVICE_RUNNING && st->dwCurrentState == SERVICE_STOPPED) return false;  // it gave up
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::wstring MultiString(const std::vector<std::string>& items) {
  std::wstring out;
  for (const auto& i : items) {
    out += Wide(i);
    out.push_back(L'\0');
  }
  out.push_back(L'\0');
  return out;
}

// The service's side: what the SCM's callbacks need.
struct ScmServiceProcess {
  std::wstring name;
  const std::function<int()>* body = nullptr;
  SERVICE_STATUS_HANDLE handle = nullptr;
  int exit_code = 0;
};
ScmServiceProcess g_service;

void Report(DWORD state, DWORD exit_code = NO_ERROR, DWORD wait_hint = 0) {
  if (g_service.handle == nullptr) return;
  static DWORD checkpoint = 1;
  SERVICE_STATUS st{};
  st.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  st.dwCurrentState = state;
  st.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  if (exit_code != NO_ERROR) {
    st.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
    st.dwServiceSpecificExitCode = exit_code;
  }
  st.dwWaitHint = wait_hint;
  st.dwCheckPoint = (state == SERVICE_RUNNING || state == SERVICE_STOPPED) ? 0 : checkpoint++;
  ::SetServiceStatus(g_service.handle, &st);
}

DWORD WINAPI OnControl(DWORD control, DWORD, void*, void*) {
  if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
    Report(SERVICE_STOP_PENDING, NO_ERROR, 30000);
    const int pid = static_cast<int>(::GetCurrentProcessId());
    WinHandle stop(::OpenEventW(EVENT_MODIFY_STATE, FALSE, Wide(StopEventName(pid)).c_str()));
    if (stop.valid()) ::SetEvent(stop.get());
    return NO_ERROR;
  }
  return control == SERVICE_CONTROL_INTERROGATE ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

void WINAPI ServiceMain(DWORD, LPWSTR*) {
  g_service.handle = ::RegisterServiceCtrlHandlerExW(g_service.name.c_str(), OnControl, nullptr);
  if (g_service.handle == nullptr) return;
  Report(SERVICE_START_PENDING, NO_ERROR, 60000);
  g_service.exit_code = (*g_service.body)();
  Report(SERVICE_STOPPED, static_cast<DWORD>(g_service.exit_code));
}

}  // namespace

std::string WindowsServiceName(Product product, const std::string& instance) {
  const bool tentacle = product == Product::kTentacle;
  const std::string base = tentacle ? "OctopusDeploy Tentacle" : "OctopusDeploy";
  return instance == Traits(product).default_instance ? base : base + ": " + instance;
}

std::string WindowsServiceDescription(Product product) {
  return product == Product::kTentacle ? "Octopus Deploy: Tentacle deployment agent"
                                       : "Octopus Deploy: Octopus Server";
}

const char* ServiceStateName(ServiceState state) {
  switch (state) {
    case ServiceState::kAbsent: return "NotInstalled";
    case ServiceState::kStopped: return "Stopped";
    case ServiceState::kStartPending: return "StartPending";
    case ServiceState::kStopPending: return "StopPending";
    case ServiceState::kRunning: return "Running";
    case ServiceState::kOther: return "Paused";
  }
  return "Unknown";
}

namespace {
// As the SCM wants an account: a bare local user name becomes ".\\user".
std::string ServiceAccount(const std::string& account) {
  if (account.empty() || account.find('\\') != std::string::npos || account.find('@') != std::string::npos) {
    return account;
  }
  return ".\\" + account;
}
}  // namespace

bool WindowsAccountExists(const std::string& account) {
  std::string name = account.rfind(".\\", 0) == 0 ? account.substr(2) : account;
  BYTE sid[SECURITY_MAX_SID_SIZE];
  DWORD sid_size = sizeof sid;
  wchar_t domain[256];
  DWORD domain_size = 256;
  SID_NAME_USE use{};
  return ::LookupAccountNameW(nullptr, Wide(name).c_str(), sid, &sid_size, domain, &domain_size, &use) != 0;
}

Status ElevationRequired() {
  return PermissionDenied(
      "This command requires elevation. Please re-run from an elevated shell / as a user that is a member of the "
      "local administrators group.");
}

Result<WindowsServiceStatus> QueryWindowsService(const std::string& name) {
  ScHandle manager(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (!manager) return ScmError("cannot open the Service Control Manager", ::GetLastError());
  ScHandle service(::OpenServiceW(manager.get(), Wide(name).c_str(), SERVICE_QUERY_STATUS));
  if (!service) {
    const DWORD e = ::GetLastError();
    if (e == ERROR_SERVICE_DOES_NOT_EXIST) return WindowsServiceStatus{};
    return ScmError("cannot open the service " + name, e);
  }
  auto st = QueryStatus(service.get());
  if (!st.ok()) return st.status();
  WindowsServiceStatus out;
  out.state = StateOf(st->dwCurrentState);
  out.pid = static_cast<int>(st->dwProcessId);
  return out;
}

bool WindowsServiceExists(const std::string& name) {
  auto st = QueryWindowsService(name);
  return st.ok() && st->state != ServiceState::kAbsent;
}

Status InstallWindowsService(const std::string& name, const WindowsServiceSettings& s, bool reconfigure) {
  ScHandle manager(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE));
  if (!manager) return ScmError("cannot open the Service Control Manager", ::GetLastError());
  const std::wstring wname = Wide(name);
  std::vector<std::string> argv = {s.executable};
  argv.insert(argv.end(), s.arguments.begin(), s.arguments.end());
  const std::wstring command = CommandLine(argv);
  const std::wstring deps = MultiString(s.dependencies);
  const std::wstring user = Wide(ServiceAccount(s.username));
  const std::wstring password = Wide(s.password);
  const wchar_t* account = s.username.empty() ? nullptr : user.c_str();
  const wchar_t* secret = s.username.empty() ? nullptr : password.c_str();
  SC_HANDLE raw = reconfigure ? ::OpenServiceW(manager.get(), wname.c_str(), SERVICE_CHANGE_CONFIG)
                              : ::CreateServiceW(manager.get(), wname.c_str(), wname.c_str(), SERVICE_ALL_ACCESS,
                                                 SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL,
                                                 command.c_str(), nullptr, nullptr, deps.c_str(), account, secret);
  if (raw == nullptr) {
    return ScmError((reconfigure ? "cannot open the service " : "cannot create the service ") + name, ::GetLastError());
  }
  ScHandle service(raw);
  if (reconfigure) {
    if (!::ChangeServiceConfigW(service.get(), SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL,
                                command.c_str(), nullptr, nullptr, deps.c_str(), account, secret, wname.c_str())) {
      return ScmError("cannot reconfigure the service " + name, ::GetLastError());
    }
  }
  std::wstring description = Wide(s.description);
  SERVICE_DESCRIPTIONW d{description.data()};
  ::ChangeServiceConfig2W(service.get(), SERVICE_CONFIG_DESCRIPTION, &d);
  return Status::Ok();
}

Status UninstallWindowsService(const std::string& name) {
  ScHandle manager, service;
  OCTO_RETURN_IF_ERROR(OpenNamedService(name, DELETE, &manager, &service));
  if (!::DeleteService(service.get())) {
    const DWORD e = ::GetLastError();
    if (e != ERROR_SERVICE_MARKED_FOR_DELETE) return ScmError("cannot delete the service " + name, e);
  }
  return Status::Ok();
}

Status StartWindowsService(const std::string& name, std::chrono::milliseconds timeout) {
  ScHandle manager, service;
  OCTO_RETURN_IF_ERROR(OpenNamedService(name, SERVICE_START | SERVICE_QUERY_STATUS, &manager, &service));
  if (!::StartServiceW(service.get(), 0, nullptr)) {
    const DWORD e = ::GetLastError();
    if (e != ERROR_SERVICE_ALREADY_RUNNING) return ScmError("cannot start the service " + name, e);
  }
  auto running = WaitForState(service.get(), SERVICE_RUNNING, timeout);
  if (!running.ok()) return running.status();
  if (!*running) {
    auto st = QueryStatus(service.get());
    std::string why = "it did not reach Running within " + std::to_string(timeout.count() / 1000) + " seconds";
    if (st.ok() && st->dwCurrentState == SERVICE_STOPPED) {
      why = "it stopped during start-up (exit code " +
            std::to_string(st->dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR ? st->dwServiceSpecificExitCode
                                                                               : st->dwWin32ExitCode) +
            ")";
    }
    return FailedPrecondition("the service " + name + " could not start: " + why);
  }
  return Status::Ok();
}

Status StopWindowsService(const std::string& name, std::chrono::milliseconds timeout) {
  ScHandle manager, service;
  OCTO_RETURN_IF_ERROR(OpenNamedService(name, SERVICE_STOP | SERVICE_QUERY_STATUS, &manager, &service));
  SERVICE_STATUS st{};
  if (!::ControlService(service.get(), SERVICE_CONTROL_STOP, &st)) {
    const DWORD e = ::GetLastError();
    if (e == ERROR_SERVICE_NOT_ACTIVE) return Status::Ok();
    if (e != ERROR_SERVICE_CANNOT_ACCEPT_CTRL) return ScmError("cannot stop the service " + name, e);
  }
  auto stopped = WaitForState(service.get(), SERVICE_STOPPED, timeout);
  if (!stopped.ok()) return stopped.status();
  if (!*stopped) {
    return FailedPrecondition("the service " + name + " did not stop within " +
                              std::to_string(timeout.count() / 1000) + " seconds");
  }
  return Status::Ok();
}

std::optional<int> RunAsWindowsService(const std::string& name, const std::function<int()>& body) {
  g_service.name = Wide(name);
  g_service.body = &body;
  SERVICE_TABLE_ENTRYW table[] = {{g_service.name.data(), ServiceMain}, {nullptr, nullptr}};
  if (!::StartServiceCtrlDispatcherW(table)) return std::nullopt;  // not started by the SCM
  return g_service.exit_code;
}

bool RunningAsWindowsService() { return g_service.handle != nullptr; }

void ReportWindowsServiceStarted(bool ok) {
  if (g_service.handle == nullptr) return;
  if (ok) Report(SERVICE_RUNNING);
  // On failure the body returns with its exit code, and ServiceMain reports Stopped.
}

}  // namespace octo
