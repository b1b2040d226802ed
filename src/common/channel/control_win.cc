// The control channel on Windows: a named pipe (control.h). Each client
// gets its own pipe instance; all I/O is overlapped, so every wait has a
// deadline and Stop ends the acceptor's wait at once.
#include "common/channel/control.h"

#include "common/base/win32.h"

#include <sddl.h>

#include <algorithm>
#include <memory>
#include <cstring>

#include "common/base/file_util.h"

namespace octo {

namespace {

DWORD MillisLeft(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<DWORD>(std::clamp<long long>(left, 0, 0x7fffffff));
}

// An OVERLAPPED and its event, on the heap: if a cancelled operation does
// not finish (it must, bar an OS fault), they are left to it rather than
// freed under it.
struct Overlapped {
  OVERLAPPED ov{};
  WinHandle event{::CreateEventW(nullptr, TRUE, FALSE, nullptr)};
  Overlapped() { ov.hEvent = event.get(); }
};

// One overlapped ReadFile or WriteFile on `pipe`, waited for until
// `deadline`: DeadlineExceeded "timed out" (the I/O is cancelled);
// FailedPrecondition "the connection was closed" when the other end went.
Result<DWORD> PipeIo(HANDLE pipe, bool write, char* data, DWORD size, Deadline deadline) {
  auto io = std::make_unique<Overlapped>();
  if (!io->event.valid()) return Win32Error("cannot create an event", ::GetLastError());
  const BOOL started =
      write ? ::WriteFile(pipe, data, size, nullptr, &io->ov) : ::ReadFile(pipe, data, size, nullptr, &io->ov);
  if (!started) {
    const DWORD e = ::GetLastError();
    if (e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA || e == ERROR_PIPE_NOT_CONNECTED) {
      return FailedPrecondition("the connection was closed");
    }
    if (e != ERROR_IO_PENDING && e != ERROR_MORE_DATA) return Win32Error(write ? "write" : "read", e);
  }
  if (::WaitForSingleObject(io->event.get(), MillisLeft(deadline)) != WAIT_OBJECT_0) {
    ::CancelIoEx(pipe, &io->ov);
    if (::WaitForSingleObject(io->event.get(), 5000) != WAIT_OBJECT_0) (void)io.release();
    return DeadlineExceeded("timed out");
  }
  DWORD done = 0;
  if (!::GetOverlappedResult(pipe, &io->ov, &done, FALSE)) {
    const DWORD e = ::GetLastError();
    if (e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA || e == ERROR_PIPE_NOT_CONNECTED) {
      return FailedPrecondition("the connection was closed");
    }
    if (e != ERROR_MORE_DATA) return Win32Error(write ? "write" : "read", e);
  }
  return done;
}

Status WriteAllPipe(HANDLE pipe, std::string data, Deadline deadline) {
  size_t off = 0;
  while (off < data.size()) {
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(data.size() - off, 1 << 20));
    auto n = PipeIo(pipe, true, data.data() + off, chunk, deadline);
    if (!n.ok()) return n.status();
    off += *n;
  }
  return Status::Ok();
}

// One line (without its '\n'), at most `max` bytes. One request and one
// reply per connection, so nothing after the newline is kept.
Result<std::string> ReadLinePipe(HANDLE pipe, size_t max, Deadline deadline) {
  std::string line;
  char buf[64 * 1024];
  for (;;) {
    auto n = PipeIo(pipe, false, buf, sizeof buf, deadline);
    if (!n.ok()) return n.status();
    const char* nl = static_cast<const char*>(std::memchr(buf, '\n', *n));
    const size_t content = nl != nullptr ? static_cast<size_t>(nl - buf) : *n;
    if (line.size() + content > max) return InvalidArgument("line too long");
    line.append(buf, content);
    if (nl != nullptr) return line;
  }
}

// Administrators and SYSTEM, full control; nobody else.
constexpr wchar_t kPipeSddl[] = L"D:P(A;;GA;;;SY)(A;;GA;;;BA)";

// A new instance of the pipe `name`, open to Administrators and SYSTEM,
// local clients only. `first`: fails when the pipe exists already.
HANDLE NewPipeInstance(const std::string& name, bool first) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  ::ConvertStringSecurityDescriptorToSecurityDescriptorW(kPipeSddl, SDDL_REVISION_1, &sd, nullptr);
  SECURITY_ATTRIBUTES sa{sizeof sa, sd, FALSE};
  HANDLE pipe = ::CreateNamedPipeW(
      Wide(name).c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, PIPE_UNLIMITED_INSTANCES,
      64 * 1024, 64 * 1024, 0, sd != nullptr ? &sa : nullptr);
  const DWORD e = ::GetLastError();
  if (sd != nullptr) ::LocalFree(sd);
  ::SetLastError(e);
  return pipe;
}

}  // namespace

std::string ControlPipeName(const std::string& socket_path) {
  std::string name = socket_path;
  for (char& c : name) {
    if (c == '\\' || c == '/' || c == ':') c = '-';
  }
  return "\\\\.\\pipe\\Octopus-" + name;
}

ControlServer::~ControlServer() { Stop(); }

Status ControlServer::Start(const std::string& socket_path, Handler handler) {
  pipe_name_ = ControlPipeName(socket_path);
  if (pipe_name_.size() > 256) return InvalidArgument("the control pipe name for " + socket_path + " is too long");
  // The first instance is created here, with FILE_FLAG_FIRST_PIPE_INSTANCE:
  // a second service on the same instance (or anyone who made the pipe
  // first) is refused instead of sharing it.
  // FILE_FLAG_FIRST_PIPE_INSTANCE is what refuses a second server on
  // Windows; wine 8 ignores it, so an existing pipe is looked for first.
  const bool exists = ::WaitNamedPipeW(Wide(pipe_name_).c_str(), 1) || ::GetLastError() != ERROR_FILE_NOT_FOUND;
  HANDLE first = exists ? INVALID_HANDLE_VALUE : NewPipeInstance(pipe_name_, true);
  if (exists) ::SetLastError(ERROR_ACCESS_DENIED);
  if (first == INVALID_HANDLE_VALUE) {
    const DWORD e = ::GetLastError();
    if (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY) {
      return AlreadyExists("cannot listen on " + socket_path + ": another process serves its pipe " + pipe_name_);
    }
    return Win32Error("cannot listen on " + socket_path, e);
  }
  stop_event_ = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (stop_event_ == nullptr) {
    ::CloseHandle(first);
    return Win32Error("cannot create an event", ::GetLastError());
  }
  path_ = socket_path;
  handler_ = std::move(handler);
  acceptor_ = std::thread([this, first] { AcceptLoop(first); });
  return Status::Ok();
}

void ControlServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (stop_event_ != nullptr) ::SetEvent(static_cast<HANDLE>(stop_event_));
  if (acceptor_.joinable()) acceptor_.join();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return clients_ == 0; });
  lock.unlock();
  if (stop_event_ != nullptr) ::CloseHandle(static_cast<HANDLE>(stop_event_));
  stop_event_ = nullptr;
}

void ControlServer::AcceptLoop(void* first_pipe) {
  HANDLE next = static_cast<HANDLE>(first_pipe);
  while (!stopping_.load()) {
    HANDLE pipe = next != INVALID_HANDLE_VALUE ? next : NewPipeInstance(pipe_name_, false);
    next = INVALID_HANDLE_VALUE;
    if (pipe == INVALID_HANDLE_VALUE) {
      ::WaitForSingleObject(static_cast<HANDLE>(stop_event_), 200);
      continue;
    }
    auto io = std::make_unique<Overlapped>();
    bool connected = false;
    bool pending = false;
    if (::ConnectNamedPipe(pipe, &io->ov)) {
      connected = true;
    } else if (::GetLastError() == ERROR_PIPE_CONNECTED) {
      connected = true;
    } else if (::GetLastError() == ERROR_IO_PENDING) {
      pending = true;
      HANDLE waits[2] = {io->event.get(), static_cast<HANDLE>(stop_event_)};
      for (;;) {
        const DWORD w = ::WaitForMultipleObjects(2, waits, FALSE, 200);
        if (w == WAIT_OBJECT_0) {
          DWORD ignored = 0;
          connected = ::GetOverlappedResult(pipe, &io->ov, &ignored, FALSE) != 0;
          pending = false;
          break;
        }
        if (w == WAIT_OBJECT_0 + 1) break;  // Stop
        // wine 8 can miss the completion for a client that connected just
        // as the wait began: a connected pipe answers PeekNamedPipe.
        DWORD avail = 0;
        if (::PeekNamedPipe(pipe, nullptr, 0, nullptr, &avail, nullptr)) {
          connected = true;
          break;
        }
      }
    }
    if (pending) {
      ::CancelIoEx(pipe, &io->ov);
      if (::WaitForSingleObject(io->event.get(), 5000) != WAIT_OBJECT_0) (void)io.release();
    }
    if (!connected) {
      ::CloseHandle(pipe);
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++clients_;
    }
    // On the system's thread pool, not a detached std::thread: under wine
    // 8, a winpthreads thread started while another detached one exits
    // sometimes never runs.
    struct Job {
      ControlServer* server;
      HANDLE pipe;
    };
    auto* job = new Job{this, pipe};
    const BOOL queued = ::QueueUserWorkItem(
        [](void* p) -> DWORD {
          std::unique_ptr<Job> j(static_cast<Job*>(p));
          j->server->Serve(j->pipe);
          std::lock_guard<std::mutex> lock(j->server->mu_);
          --j->server->clients_;
          j->server->cv_.notify_all();
          return 0;
        },
        job, WT_EXECUTELONGFUNCTION);
    if (!queued) {
      delete job;
      ::DisconnectNamedPipe(pipe);
      ::CloseHandle(pipe);
      std::lock_guard<std::mutex> lock(mu_);
      --clients_;
      cv_.notify_all();
    }
  }
  if (next != INVALID_HANDLE_VALUE) ::CloseHandle(next);
}

void ControlServer::Serve(void* handle) {
  HANDLE pipe = static_cast<HANDLE>(handle);
  ControlPeer peer;
  ULONG pid = 0;
  if (::GetNamedPipeClientProcessId(pipe, &pid)) peer.pid = pid;
  auto line = ReadLinePipe(pipe, kMaxControlLine, DeadlineIn(std::chrono::seconds(10)));
  if (line.ok()) {
    // The client's account, from its impersonation token.
    if (::ImpersonateNamedPipeClient(pipe)) {
      HANDLE token = nullptr;
      if (::OpenThreadToken(::GetCurrentThread(), TOKEN_QUERY, TRUE, &token)) {
        char buf[256];
        DWORD len = 0;
        if (::GetTokenInformation(token, TokenUser, buf, sizeof buf, &len)) {
          wchar_t name[128], domain[128];
          DWORD name_len = 128, domain_len = 128;
          SID_NAME_USE use;
          if (::LookupAccountSidW(nullptr, reinterpret_cast<TOKEN_USER*>(buf)->User.Sid, name, &name_len, domain,
                                  &domain_len, &use)) {
            std::wstring who = std::wstring(domain, domain_len) + L"\\" + std::wstring(name, name_len);
            peer.account.assign(who.begin(), who.end());  // account names are shown, not parsed
          }
        }
        ::CloseHandle(token);
      }
      ::RevertToSelf();
    }
    if (peer.account.empty()) peer.account = "user unknown";
    (void)WriteAllPipe(pipe, AnswerControlLine(*line, handler_, peer), DeadlineIn(std::chrono::seconds(10)));
    ::FlushFileBuffers(pipe);
  }
  ::DisconnectNamedPipe(pipe);
  ::CloseHandle(pipe);
}

Result<Json> SendControlRequest(const std::string& socket_path, const Json& request, Deadline deadline) {
  const std::wstring name = Wide(ControlPipeName(socket_path));
  HANDLE pipe = INVALID_HANDLE_VALUE;
  // The pipe exists only while the service runs, but between two instances
  // (all connected, the next not made yet) it can look absent for a moment
  // (wine 8 says "not found" there, Windows "busy"): "not running" only
  // after 100 ms of it.
  const Deadline absent_until = std::min(deadline, DeadlineIn(std::chrono::milliseconds(100)));
  for (;;) {
    pipe = ::CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, FILE_FLAG_OVERLAPPED,
                         nullptr);
    if (pipe != INVALID_HANDLE_VALUE) break;
    const DWORD e = ::GetLastError();
    if (e == ERROR_FILE_NOT_FOUND && Clock::now() >= absent_until) {
      return Unavailable("the service is not running (nothing listens on " + socket_path + ")");
    }
    if (e != ERROR_FILE_NOT_FOUND && e != ERROR_PIPE_BUSY) return Win32Error("cannot connect to " + socket_path, e);
    if (MillisLeft(deadline) == 0) return DeadlineExceeded("timed out");
    // Busy: wait for a free instance (briefly, then try again).
    if (e == ERROR_PIPE_BUSY) {
      ::WaitNamedPipeW(name.c_str(), std::clamp<DWORD>(MillisLeft(deadline), 1, 50));
    } else {
      ::Sleep(5);
    }
  }
  WinHandle owned(pipe);
  OCTO_RETURN_IF_ERROR(WriteAllPipe(pipe, request.dump() + "\n", deadline));
  return ParseControlReply(ReadLinePipe(pipe, kMaxControlLine, deadline));
}

}  // namespace octo
