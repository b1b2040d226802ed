// The local control channel between the CLI and a running service: a Unix
// domain socket in the instance home, mode 0600 (only its owner can use
// it); on Windows a named pipe named after that path, open to
// Administrators and SYSTEM only, and to local clients only. One JSON
// object per line each way.
#pragma once

#include <atomic>
#include <cstdint>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/base/json.h"
#include "common/base/net.h"

namespace octo {

// Who is on the other end of a control connection (SO_PEERCRED; on
// Windows the pipe client's process id and account).
struct ControlPeer {
  int64_t pid = 0;
  std::string account;            // "uid 0"; on Windows "DOMAIN\\user"
  std::string Describe() const;  // "pid 123, uid 0"
};

// The service's side: accepts connections on the socket and answers each
// request line with `handler`'s reply, one thread per connection (they are
// few and short). Thread-safe; Stop() waits for the handlers that run.
class ControlServer {
 public:
  using Handler = std::function<Json(const Json& request, const ControlPeer& peer)>;

  ControlServer() = default;
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds `socket_path` (mode 0600, replacing a stale socket) and starts.
  Status Start(const std::string& socket_path, Handler handler);
  // Stops accepting, waits for the requests being answered, removes the socket.
  void Stop();

 private:
#ifdef _WIN32
  void AcceptLoop(void* first_pipe);  // the first pipe instance (a HANDLE), made by Start
  void Serve(void* pipe);  // a connected pipe instance (a HANDLE), closed when done
  std::string pipe_name_;
  void* stop_event_ = nullptr;  // set by Stop: the acceptor's wait ends
#else
  void AcceptLoop();
  void Serve(Fd fd);
  Fd listener_;
#endif

  std::string path_;
  Handler handler_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int clients_ = 0;  // guarded by mu_
};

inline constexpr size_t kMaxControlLine = 64 * 1024 * 1024;  // a health check of 10,000 targets answers ~6 MiB

// The reply line (ending in "\n") to one request line: the handler's answer,
// or an "Error" when the line is not a JSON object. Both transports use it.
std::string AnswerControlLine(const std::string& line, const ControlServer::Handler& handler, const ControlPeer& peer);
// What SendControlRequest returns for the reply line read (or the error).
Result<Json> ParseControlReply(const Result<std::string>& line);

#ifdef _WIN32
// The pipe that stands for the control socket `socket_path`:
// \\.\pipe\Octopus-<the path, with '\', '/' and ':' as '-'>.
std::string ControlPipeName(const std::string& socket_path);
#endif

// Sends `request` and reads the reply. Unavailable when nothing listens
// there (the service is not running); DeadlineExceeded when it does not
// answer in time; FailedPrecondition with the service's "Error" text.
Result<Json> SendControlRequest(const std::string& socket_path, const Json& request, Deadline deadline);

}  // namespace octo
