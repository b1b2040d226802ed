// The local control channel between the CLI and a running service: a Unix
// domain socket in the instance home, mode 0600 (only its owner can use
// it). One JSON object per line each way.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/base/json.h"
#include "common/base/net.h"

namespace octo {

// Who is on the other end of a control connection (SO_PEERCRED).
struct ControlPeer {
  pid_t pid = 0;
  uid_t uid = 0;
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
  void AcceptLoop();
  void Serve(Fd fd);

  std::string path_;
  Handler handler_;
  Fd listener_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int clients_ = 0;  // guarded by mu_
};

inline constexpr size_t kMaxControlLine = 64 * 1024 * 1024;  // a health check of 10,000 targets answers ~6 MiB

// Sends `request` and reads the reply. Unavailable when nothing listens
// there (the service is not running); DeadlineExceeded when it does not
// answer in time; FailedPrecondition with the service's "Error" text.
Result<Json> SendControlRequest(const std::string& socket_path, const Json& request, Deadline deadline);

}  // namespace octo
