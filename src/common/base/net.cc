// The portable half of net.h: addresses, times, and what a socket's
// address is. Making and using sockets is in net_posix.cc and net_win.cc.
#include "common/base/net.h"

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include <cctype>
#include <ctime>

#include "common/base/encoding.h"
#include "common/base/time_util.h"

namespace octo {

std::string UtcNowIso8601() {
  std::time_t now = std::time(nullptr);
  struct tm tm {};
  UtcFields(now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<HostPort> ParseHostPort(const std::string& text) {
  HostPort hp;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgument("'" + text + "' is not HOST:PORT");
    }
    hp.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return InvalidArgument("'" + text + "' is not HOST:PORT");
    hp.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return InvalidArgument("'" + text + "' does not end in a port number (1-65535)");
  }
  hp.port = std::stoi(port);
  return hp;
}

Result<HostPort> ParseHttpsUrl(const std::string& url) {
  const std::string scheme = "https://";
  std::string lower;
  for (char c : url.substr(0, scheme.size())) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower != scheme) return InvalidArgument("the address '" + url + "' must be https://HOST:PORT");
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) return InvalidArgument("the address '" + url + "' must be https://HOST:PORT");
  auto hp = ParseHostPort(rest);
  if (!hp.ok()) return InvalidArgument("the address '" + url + "' must be https://HOST:PORT");
  return hp;
}

std::optional<std::string> NormalizeIp(const std::string& text) {
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, text.c_str(), buf) == 1 && inet_ntop(family, buf, out, sizeof out) != nullptr) {
      return std::string(out);
    }
  }
  return std::nullopt;
}

Result<std::string> ParseListenAddress(const std::string& text) {
  if (text.empty() || EqualsIgnoreCase(text, "any")) return std::string();
  auto normal = NormalizeIp(text);
  if (!normal) return InvalidArgument("'" + text + "' is not an IPv4 or IPv6 address, or 'any'");
  return *normal;
}

namespace {

// getsockname/getpeername as each platform spells them.
#ifdef _WIN32
using SockLen = int;
SOCKET AsSocket(int fd) { return static_cast<SOCKET>(fd); }
#else
using SockLen = socklen_t;
int AsSocket(int fd) { return fd; }
#endif

}  // namespace

int LocalPort(int fd) {
  sockaddr_storage ss{};
  SockLen len = sizeof ss;
  if (::getsockname(AsSocket(fd), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

std::string PeerAddress(int fd) {
  sockaddr_storage ss{};
  SockLen len = sizeof ss;
  if (::getpeername(AsSocket(fd), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown";
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
    inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a->sin6_port));
  }
  inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
}

}  // namespace octo
