// The control channel on Windows (src/common/channel/control_win.cc): a
// named pipe, under wine.
#include <gtest/gtest.h>

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "common/channel/control.h"

namespace octo {
namespace {

// A control "socket" path of our own for each test: the pipe is named after it.
std::string UniquePath() {
  std::random_device rd;
  return "C:\\Octopus\\test-" + std::to_string(rd()) + "\\Tentacle.control";
}

ControlServer::Handler Echo() {
  return [](const Json& request, const ControlPeer& peer) -> Json {
    if (request.contains("Fail")) return Json{{"Error", "the service refused: " + request["Fail"].get<std::string>()}};
    return Json{{"Echo", request.value("Ping", "")}, {"Pid", peer.pid}, {"Account", peer.account}};
  };
}

TEST(WindowsControl, PipeNameFollowsThePath) {
  EXPECT_EQ(ControlPipeName("C:\\Octopus\\Tentacle\\Tentacle.control"),
            "\\\\.\\pipe\\Octopus-C--Octopus-Tentacle-Tentacle.control");
}

TEST(WindowsControl, ARequestIsAnsweredWithWhoAsked) {
  const std::string path = UniquePath();
  ControlServer server;
  ASSERT_TRUE(server.Start(path, Echo()).ok());
  auto reply = SendControlRequest(path, Json{{"Ping", "hello"}}, DeadlineIn(std::chrono::seconds(10)));
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ((*reply)["Echo"], "hello");
  EXPECT_EQ((*reply)["Pid"].get<int64_t>(), static_cast<int64_t>(::GetCurrentProcessId()));
  EXPECT_FALSE((*reply)["Account"].get<std::string>().empty());
  server.Stop();
}

TEST(WindowsControl, TheServicesErrorComesBackAsFailedPrecondition) {
  const std::string path = UniquePath();
  ControlServer server;
  ASSERT_TRUE(server.Start(path, Echo()).ok());
  auto reply = SendControlRequest(path, Json{{"Fail", "no"}}, DeadlineIn(std::chrono::seconds(10)));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(reply.status().message(), "the service refused: no");
}

TEST(WindowsControl, NobodyListeningIsTheServiceNotRunning) {
  const std::string path = UniquePath();
  auto reply = SendControlRequest(path, Json{{"Ping", "x"}}, DeadlineIn(std::chrono::seconds(5)));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(reply.status().message(), "the service is not running (nothing listens on " + path + ")");
  {
    ControlServer server;
    ASSERT_TRUE(server.Start(path, Echo()).ok());
    ASSERT_TRUE(SendControlRequest(path, Json{{"Ping", "x"}}, DeadlineIn(std::chrono::seconds(10))).ok());
  }
  // Stopped: not running again.
  reply = SendControlRequest(path, Json{{"Ping", "x"}}, DeadlineIn(std::chrono::seconds(5)));
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable) << reply.status().message();
}

TEST(WindowsControl, ASecondServiceOnTheSamePathIsRefused) {
  const std::string path = UniquePath();
  ControlServer first;
  ASSERT_TRUE(first.Start(path, Echo()).ok());
  ControlServer second;
  Status st = second.Start(path, Echo());
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.message();
  EXPECT_EQ(st.message(), "cannot listen on " + path + ": another process serves its pipe " + ControlPipeName(path));
  EXPECT_TRUE(SendControlRequest(path, Json{{"Ping", "x"}}, DeadlineIn(std::chrono::seconds(10))).ok());
}

TEST(WindowsControl, EightClientsAtOnceAreAllAnswered) {
  const std::string path = UniquePath();
  ControlServer server;
  ASSERT_TRUE(server.Start(path, Echo()).ok());
  std::atomic<int> answered{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      auto reply = SendControlRequest(path, Json{{"Ping", std::to_string(i)}}, DeadlineIn(std::chrono::seconds(20)));
      if (reply.ok() && (*reply)["Echo"] == std::to_string(i)) {
        ++answered;
      } else {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(reply.ok() ? reply->dump() : reply.status().message());
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), 8);
  for (const auto& f : failures) ADD_FAILURE() << f;
}

TEST(WindowsControl, ALargeReplyArrivesWhole) {
  const std::string path = UniquePath();
  ControlServer server;
  const std::string big(3 * 1024 * 1024, 'y');  // a health check of thousands of targets
  ASSERT_TRUE(server.Start(path, [&](const Json&, const ControlPeer&) { return Json{{"Big", big}}; }).ok());
  auto reply = SendControlRequest(path, Json{{"Ping", "x"}}, DeadlineIn(std::chrono::seconds(20)));
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ((*reply)["Big"].get<std::string>().size(), big.size());
}

}  // namespace
}  // namespace octo
