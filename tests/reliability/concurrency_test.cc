// Nothing is lost: concurrent writers and writers killed at random moments.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "common/crypto/thumbprint.h"
#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

std::string Tp(int i) {
  char buf[41];
  std::snprintf(buf, sizeof buf, "%040X", i);
  return buf;
}

class Reliability : public CliTest {
 protected:
  void SetUp() override {
    MustTentacle({"create-instance"});
    MustTentacle({"new-certificate"});
  }

  std::vector<std::string> Trusted() {
    auto r = MustTentacle({"show-configuration"});
    auto j = nlohmann::json::parse(r.out);
    std::vector<std::string> out;
    for (const auto& e : j["Tentacle"]["Communication"]["TrustedOctopusServers"]) out.push_back(e["Thumbprint"]);
    std::sort(out.begin(), out.end());
    return out;
  }

  // Runs every command list at once, one thread each; all must succeed.
  void RunAtOnce(const std::vector<std::vector<std::string>>& commands) {
    std::vector<ProcessResult> results(commands.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < commands.size(); ++i) {
      threads.emplace_back([&, i] { results[i] = Tentacle(commands[i]); });
    }
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_EQ(results[i].exit_code, 0) << ::testing::PrintToString(commands[i]) << results[i].err;
    }
  }
};

TEST_F(Reliability, FiftyConcurrentTrustsAllLand) {
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> expected;
  for (int i = 1; i <= 50; ++i) {
    commands.push_back({"configure", "--trust", Tp(i)});
    expected.push_back(Tp(i));
  }
  RunAtOnce(commands);
  EXPECT_EQ(Trusted(), expected);
}

TEST_F(Reliability, ConcurrentTrustRemoveAndUpdateEndInTheExpectedSet) {
  // Start with 1..20 trusted; at once: add 21..40, remove 1..10, update 11..20 -> 111..120.
  std::vector<std::string> start = {"configure"};
  for (int i = 1; i <= 20; ++i) start.insert(start.end(), {"--trust", Tp(i)});
  MustTentacle(start);
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> expected;
  for (int i = 21; i <= 40; ++i) {
    commands.push_back({"configure", "--trust", Tp(i)});
    expected.push_back(Tp(i));
  }
  for (int i = 1; i <= 10; ++i) commands.push_back({"configure", "--remove-trust", Tp(i)});
  for (int i = 11; i <= 20; ++i) {
    commands.push_back({"update-trust", "--oldThumbprint", Tp(i), "--newThumbprint", Tp(i + 100)});
    expected.push_back(Tp(i + 100));
  }
  std::shuffle(commands.begin(), commands.end(), std::mt19937(42));
  RunAtOnce(commands);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Trusted(), expected);
}

TEST_F(Reliability, WritersKilledAtRandomMomentsNeverBreakTheConfig) {
  const std::string tp = TentacleThumbprint();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> delay_us(0, 6000);
  const int kRounds = 200;
  int killed = 0;
  for (int round = 0; round < kRounds; ++round) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::setenv("OCTOPUS_CONFIG_ROOT", root().c_str(), 1);
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      std::string t = Tp(1000 + round);
      ::execl(TentacleBin().c_str(), "Tentacle", "configure", "--trust", t.c_str(), "--port",
              std::to_string(10000 + round).c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::usleep(static_cast<useconds_t>(delay_us(rng)));
    if (::kill(pid, SIGKILL) == 0) ++killed;
    int status = 0;
    ::waitpid(pid, &status, 0);
    // After every kill the config loads, and the certificate is still there.
    auto show = Tentacle({"show-thumbprint"});
    ASSERT_EQ(show.exit_code, 0) << "round " << round << ": " << show.err;
    ASSERT_EQ(show.out, tp + "\n") << "round " << round;
  }
  // No temporary file is left to be mistaken for the config, and the config is whole.
  auto cfg = nlohmann::json::parse(ReadTestFile(TentacleConfig()), nullptr, false);
  EXPECT_TRUE(cfg.is_object());
  EXPECT_GT(killed, kRounds / 2) << "the kills must land while commands run";
  MustTentacle({"configure", "--trust", Tp(99999)});
}

}  // namespace
}  // namespace octo::testing
