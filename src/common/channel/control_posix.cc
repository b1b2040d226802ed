// The control channel on POSIX: a Unix domain socket (control.h).
#include "common/channel/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace octo {

ControlServer::~ControlServer() { Stop(); }

Status ControlServer::Start(const std::string& socket_path, Handler handler) {
  auto sock = ListenUnix(socket_path, 0600);
  if (!sock.ok()) return sock.status();
  path_ = socket_path;
  handler_ = std::move(handler);
  listener_ = std::move(sock).value();
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return Status::Ok();
}

void ControlServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return clients_ == 0; });
  lock.unlock();
  if (listener_.valid()) {
    listener_.reset();
    ::unlink(path_.c_str());
  }
}

void ControlServer::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++clients_;
    }
    std::thread([this, fd = Fd(c)]() mutable {
      Serve(std::move(fd));
      std::lock_guard<std::mutex> lock(mu_);
      --clients_;
      cv_.notify_all();
    }).detach();
  }
}

void ControlServer::Serve(Fd fd) {
  ControlPeer peer;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    peer.pid = cred.pid;
    peer.account = "uid " + std::to_string(cred.uid);
  }
  auto line = ReadLineFd(fd.get(), kMaxControlLine, DeadlineIn(std::chrono::seconds(10)));
  if (!line.ok()) return;
  (void)WriteAllFd(fd.get(), AnswerControlLine(*line, handler_, peer), DeadlineIn(std::chrono::seconds(10)));
}

Result<Json> SendControlRequest(const std::string& socket_path, const Json& request, Deadline deadline) {
  auto fd = ConnectUnix(socket_path, deadline);
  if (!fd.ok()) {
    if (fd.status().code() == StatusCode::kUnavailable) {
      return Unavailable("the service is not running (nothing listens on " + socket_path + ")");
    }
    return fd.status();
  }
  OCTO_RETURN_IF_ERROR(WriteAllFd(fd->get(), request.dump() + "\n", deadline));
  return ParseControlReply(ReadLineFd(fd->get(), kMaxControlLine, deadline));
}

}  // namespace octo
