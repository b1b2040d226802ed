// Services under traffic: stopping during health checks is clean, and a
// restart while checks run loses nothing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "support/cli_fixture.h"

namespace octo::testing {
namespace {


class ServiceTraffic : public CliTest {
 protected:
  void SetUp() override {
    MustServer({"create-instance"});
    MustTentacle({"create-instance"});
    MustTentacle({"new-certificate"});
    port_ = std::to_string(FreeLoopbackPort());
    const std::string& port = port_;
    MustTentacle({"configure", "--port", port, "--listenIpAddress", "127.0.0.1", "--trust", ServerThumbprint()});
    MustServer({"add-target", "--name", "T", "--address", "https://127.0.0.1:" + port, "--thumbprint",
                TentacleThumbprint()});
    MustTentacle({"service", "--start"});
    MustServer({"service", "--start"});
  }
  void TearDown() override {
    Server({"service", "--instance", "*", "--stop"});
    Tentacle({"service", "--instance", "*", "--stop"});
    EXPECT_EQ(Tentacle({"service", "--status"}).exit_code, 3);
    EXPECT_EQ(Server({"service", "--status"}).exit_code, 3);
  }

  std::string port_;

  // Runs health checks in a loop on two threads until `stop`; counts outcomes.
  void Hammer(std::atomic<bool>& stop, std::atomic<int>& healthy, std::atomic<int>& other) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 400 && !stop.load(); ++i) {
          auto r = Server({"health-check"});
          (r.exit_code == 0 ? healthy : other)++;
        }
      });
    }
    for (auto& t : threads) t.join();
  }
};

TEST_F(ServiceTraffic, StoppingTheTentacleDuringChecksIsClean) {
  std::atomic<bool> stop{false};
  std::atomic<int> healthy{0}, other{0};
  std::thread traffic([&] { Hammer(stop, healthy, other); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto r = MustTentacle({"service", "--stop"});
  EXPECT_EQ(r.out, "The Tentacle service for instance 'Tentacle' has stopped.\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  traffic.join();
  EXPECT_GT(healthy.load(), 0);
  EXPECT_GT(other.load(), 0);  // after the stop the target is unhealthy, not hung
  EXPECT_EQ(Tentacle({"service", "--status"}).exit_code, 3);
  MustTentacle({"service", "--start"});
  EXPECT_EQ(Server({"health-check"}).out, "T (https://127.0.0.1:" + port_ + "): healthy\n");
}

TEST_F(ServiceTraffic, RestartingWhileChecksRunLosesNothing) {
  const std::string server_config = HashFile(ServerConfig()), tentacle_config = HashFile(TentacleConfig());
  std::atomic<bool> stop{false};
  std::atomic<int> healthy{0}, other{0};
  std::thread traffic([&] { Hammer(stop, healthy, other); });
  for (int i = 0; i < 3; ++i) {
    MustTentacle({"service", "--restart"});
    MustServer({"service", "--restart"});
  }
  stop = true;
  traffic.join();
  EXPECT_GT(healthy.load(), 0);
  EXPECT_EQ(HashFile(ServerConfig()), server_config);
  EXPECT_EQ(HashFile(TentacleConfig()), tentacle_config);
  EXPECT_EQ(Server({"health-check"}).exit_code, 0);
}

}  // namespace
}  // namespace octo::testing
