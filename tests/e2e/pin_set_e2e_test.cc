// A deployment target pinning a set of thumbprints, end to end: a running
// Octopus Server checks a running listening Tentacle on loopback while the
// Tentacle's certificate and the target's pins change. Every test stops
// what it starts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;

// Halibut's text (src/common/health_check.cc), spelled out so that a change
// is caught; `expected` is "the thumbprint 'A'" or "one of the thumbprints 'A', 'B'".
std::string UnexpectedCertificate(const std::string& url, const std::string& expected, const std::string& actual) {
  return "The server at " + url +
         " presented an unexpected security certificate. We expected the server to present a certificate with " +
         expected + ". Instead, it presented a certificate with a thumbprint of '" + actual +
         "' and subject 'CN=Octopus Tentacle'. This usually happens when the client has been configured to expect "
         "the server to have the wrong certificate, or when the certificate on the server has been regenerated and "
         "the client has not been updated. It may also happen if someone is performing a man-in-the-middle attack "
         "on the remote machine, or if a proxy server is intercepting requests. Please check the certificate used "
         "on the server, and verify that the client has been configured correctly.";
}

// Server instance OctopusServer and Tentacle instance Tentacle (listening on
// 127.0.0.1:port_, trusting the Server), both created, neither started.
class PinSetE2e : public SupervisedServiceTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(S({"create-instance"}).exit_code, 0);
    ASSERT_EQ(T({"create-instance"}).exit_code, 0);
    ASSERT_EQ(T({"new-certificate"}).exit_code, 0);
    port_ = FreeLoopbackPort();
    address_ = "https://127.0.0.1:" + std::to_string(port_);
    auto c = T({"configure", "--listenIpAddress", "127.0.0.1", "--port", std::to_string(port_), "--trust",
                ServerThumbprint()});
    ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  }

  void TearDown() override {
    for (bool server : {false, true}) {
      auto stop = server ? S({"service", "--instance", "*", "--stop"}) : T({"service", "--instance", "*", "--stop"});
      EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err;
    }
    for (bool server : {false, true}) {
      auto status = server ? S({"service", "--status"}) : T({"service", "--status"});
      EXPECT_EQ(status.exit_code, 3) << status.out << status.err;  // stopped
    }
  }

  // No systemd: the built-in supervisor, whatever the machine has.
  void MustStart(bool server) {
    auto r = server ? S({"service", "--start"}) : T({"service", "--start"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  void MustS(std::vector<std::string> args) {
    auto r = S(std::move(args));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  // A new Tentacle certificate in a PFX file, not installed; its thumbprint.
  std::string NewTentacleCertificate(const std::string& file) {
    auto r = T({"new-certificate", "--export-pfx", Path(file), "--pfx-password", "pw"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return r.OutLines().size() == 2 ? r.OutLines()[1] : "";
  }

  // The Tentacle, stopped, takes the certificate in `file` and starts again.
  void SwapTentacleCertificate(const std::string& file) {
    auto stop = T({"service", "--stop"});
    ASSERT_EQ(stop.exit_code, 0) << stop.out << stop.err;
    auto import = T({"import-certificate", "--from-file", Path(file), "--pfx-password", "pw"});
    ASSERT_EQ(import.exit_code, 0) << import.out << import.err;
    ASSERT_NO_FATAL_FAILURE(MustStart(false));
  }

  // `health-check --format json`'s one result.
  nlohmann::json CheckJson(int expected_exit) {
    auto r = S({"health-check", "--format", "json"});
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array() && j.size() == 1) << r.out;
    return j.is_array() && j.size() == 1 ? j[0] : nlohmann::json::object();
  }

  int port_ = 0;
  std::string address_;
};

// The rotation overlap: pinned {old, new}, the Tentacle is healthy with
// either certificate, and the result says which one it presented.
TEST_F(PinSetE2e, PinnedOldAndNewIsHealthyWithEither) {
  const std::string old_tp = TentacleThumbprint();
  const std::string new_tp = NewTentacleCertificate("new.pfx");
  ASSERT_EQ(new_tp.size(), 40u);
  ASSERT_NE(new_tp, old_tp);
  MustS({"add-target", "--name", "web", "--address", address_, "--thumbprint", old_tp, "--thumbprint", new_tp});
  ASSERT_NO_FATAL_FAILURE(MustStart(true));
  ASSERT_NO_FATAL_FAILURE(MustStart(false));

  auto with_old = S({"health-check"});
  EXPECT_EQ(with_old.exit_code, 0) << with_old.out << with_old.err;
  EXPECT_THAT(with_old.OutLines(),
              ElementsAre("web (" + address_ + "): healthy, presenting pinned thumbprint " + old_tp + " (1 of 2)"));
  nlohmann::json j = CheckJson(0);
  EXPECT_EQ(j["Healthy"], true);
  EXPECT_EQ(j["Thumbprint"], old_tp);
  EXPECT_EQ(j["PinnedThumbprints"], nlohmann::json::array({old_tp, new_tp}));

  ASSERT_NO_FATAL_FAILURE(SwapTentacleCertificate("new.pfx"));
  ASSERT_EQ(TentacleThumbprint(), new_tp);
  auto with_new = S({"health-check"});
  EXPECT_EQ(with_new.exit_code, 0) << with_new.out << with_new.err;
  EXPECT_THAT(with_new.OutLines(),
              ElementsAre("web (" + address_ + "): healthy, presenting pinned thumbprint " + new_tp + " (2 of 2)"));
  j = CheckJson(0);
  EXPECT_EQ(j["Healthy"], true);
  EXPECT_EQ(j["Reason"], "");
  EXPECT_EQ(j["Thumbprint"], new_tp);
  // --last keeps which pin matched.
  auto last = S({"health-check", "--last"});
  EXPECT_THAT(last.OutLines(),
              ElementsAre(MatchesRegex("web \\(" + std::regex_replace(address_, std::regex("[.]"), "\\.") +
                                       "\\): healthy \\(checked [0-9-]+T[0-9:]+Z\\), presenting pinned "
                                       "thumbprint " +
                                       new_tp + " \\(2 of 2\\)")));

  // The old pin out, live (the Server is not restarted): one pin, the line
  // as before pin sets.
  MustS({"update-target", "--name", "web", "--remove-thumbprint", old_tp});
  auto single = S({"health-check"});
  EXPECT_EQ(single.exit_code, 0) << single.out << single.err;
  EXPECT_THAT(single.OutLines(), ElementsAre("web (" + address_ + "): healthy"));
  EXPECT_EQ(CheckJson(0)["Thumbprint"], new_tp);
}

// Pins the Tentacle does not present: Halibut's text, listing the set when
// there are several; pinning what it presents makes it healthy at the next
// check.
TEST_F(PinSetE2e, PinsTheTentacleDoesNotPresentAreUnhealthyWithHalibutsText) {
  const std::string presented = TentacleThumbprint();
  const std::string a = NewTentacleCertificate("a.pfx");
  const std::string b = NewTentacleCertificate("b.pfx");
  MustS({"add-target", "--name", "web", "--address", address_, "--thumbprint", a});
  ASSERT_NO_FATAL_FAILURE(MustStart(true));
  ASSERT_NO_FATAL_FAILURE(MustStart(false));

  auto one = S({"health-check"});
  EXPECT_EQ(one.exit_code, 1);
  EXPECT_THAT(one.OutLines(), ElementsAre("web (" + address_ + "): unhealthy: " +
                                          UnexpectedCertificate(address_, "the thumbprint '" + a + "'", presented)));
  nlohmann::json j = CheckJson(1);
  EXPECT_EQ(j["Healthy"], false);
  EXPECT_EQ(j["Thumbprint"], presented);  // what the Tentacle presented, though it was refused

  MustS({"update-target", "--name", "web", "--add-thumbprint", b});
  auto two = S({"health-check"});
  EXPECT_EQ(two.exit_code, 1);
  EXPECT_THAT(two.OutLines(), ElementsAre("web (" + address_ + "): unhealthy: " +
                                          UnexpectedCertificate(
                                              address_, "one of the thumbprints '" + a + "', '" + b + "'", presented)));

  MustS({"update-target", "--name", "web", "--add-thumbprint", presented});
  auto healthy = S({"health-check"});
  EXPECT_EQ(healthy.exit_code, 0) << healthy.out << healthy.err;
  EXPECT_THAT(healthy.OutLines(),
              ElementsAre("web (" + address_ + "): healthy, presenting pinned thumbprint " + presented + " (3 of 3)"));
}

}  // namespace
}  // namespace octo::testing
