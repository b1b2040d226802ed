// Tentacle's polling configuration commands (server-comms, poll-server,
// set-polling-connection-count, configure --pollingConnectionCount), run as a
// user would: the exact lines, exit codes and the config file's entries.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kRestart[] = "These changes require a restart of the Tentacle.";
constexpr char kUpdated[] = "Updated server communications configuration";
constexpr char kConfigured[] = "Polling endpoint configured";
constexpr char kTrustedKey[] = "Tentacle.Communication.TrustedOctopusServers";
constexpr char kCountKey[] = "Tentacle.Communication.PollingConnectionCount";
constexpr char kSubscriptionRegex[] = "poll://[abcdefghjklmnpqrstuvwxyz23456789]{20}/";
const std::string kA = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const std::string kB = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const std::string kC = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

class PollingCli : public CliTest {
 protected:
  void SetUp() override {
    MustTentacle({"create-instance", "--instance", "Tentacle"});
    MustTentacle({"new-certificate", "--instance", "Tentacle", "--if-blank"});
  }

  nlohmann::ordered_json Config() { return nlohmann::ordered_json::parse(ReadTestFile(TentacleConfig())); }
  nlohmann::ordered_json Entries() { return Config()[kTrustedKey]; }

  // The entries' "Address" values, null as "", in file order.
  std::vector<std::string> Addresses() {
    std::vector<std::string> out;
    for (const auto& e : Entries()) out.push_back(e["Address"].is_null() ? "" : e["Address"].get<std::string>());
    return out;
  }

  // The entry with this thumbprint and address; fails the test if absent.
  nlohmann::ordered_json Entry(const std::string& thumbprint, const std::string& address) {
    for (const auto& e : Entries()) {
      if (e["Thumbprint"] == thumbprint && e["Address"].is_string() && e["Address"] == address) return e;
    }
    ADD_FAILURE() << "no entry " << thumbprint << " " << address << " in " << Entries().dump();
    return nullptr;
  }
};

TEST_F(PollingCli, ServerCommsActiveWritesThePollingEntry) {
  MustTentacle({"configure", "--trust", kA});
  auto r = MustTentacle({"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "octopus.example"});
  EXPECT_THAT(r.OutLines(), ElementsAre(kUpdated, kRestart));
  EXPECT_EQ(r.err, "");
  // The listening entry configure made stays, as in the real command; the
  // polling one is appended, its fields in the real order.
  ASSERT_EQ(Entries().size(), 2u) << Entries().dump();
  EXPECT_EQ(Entries()[0]["CommunicationStyle"], 1);
  const auto e = Entries()[1];
  std::vector<std::string> keys;
  for (auto it = e.begin(); it != e.end(); ++it) keys.push_back(it.key());
  EXPECT_THAT(keys, ElementsAre("Thumbprint", "CommunicationStyle", "Address", "Squid", "SubscriptionId"));
  EXPECT_EQ(e["Thumbprint"], kA);
  EXPECT_EQ(e["CommunicationStyle"], 2);
  EXPECT_EQ(e["Address"], "https://octopus.example:10943");
  EXPECT_TRUE(e["Squid"].is_null());
  EXPECT_THAT(e["SubscriptionId"].get<std::string>(), MatchesRegex(kSubscriptionRegex));
}

TEST_F(PollingCli, ServerCommsKeepsTheSubscriptionIdAcrossRuns) {
  MustTentacle({"configure", "--trust", kA});
  MustTentacle({"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "one", "--port", "10943"});
  const std::string id = Entry(kA, "https://one:10943")["SubscriptionId"];
  // The same address again: the same entry, the same id, not a second entry.
  MustTentacle({"server-comms", "--thumbprint", kA, "--style", "tentacleactive", "--host", "one"});
  EXPECT_EQ(Entries().size(), 2u) << Entries().dump();
  EXPECT_EQ(Entry(kA, "https://one:10943")["SubscriptionId"], id);
  // Another address of the same Server reuses the id.
  auto r = MustTentacle({"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "two", "--port",
                         "10944"});
  EXPECT_THAT(r.OutLines(), ElementsAre(kUpdated, kRestart));
  EXPECT_EQ(Entry(kA, "https://two:10944")["SubscriptionId"], id);
  EXPECT_THAT(Addresses(), ElementsAre("", "https://one:10943", "https://two:10944"));
}

TEST_F(PollingCli, EachServerGetsItsOwnRandomSubscriptionId) {
  MustTentacle({"configure", "--trust", kA, "--trust", kB, "--trust", kC});
  std::set<std::string> ids;
  for (const auto& tp : {kA, kB, kC}) {
    MustTentacle({"server-comms", "--thumbprint", tp, "--style", "TentacleActive", "--host", "h"});
    const std::string id = Entry(tp, "https://h:10943")["SubscriptionId"];
    EXPECT_THAT(id, MatchesRegex(kSubscriptionRegex));
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 3u);
}

TEST_F(PollingCli, ServerCommsWithoutThumbprintTakesTheOnlyTrustedServer) {
  MustTentacle({"configure", "--trust", kA});
  MustTentacle({"server-comms", "--style", "TentacleActive", "--host", "h"});
  EXPECT_EQ(Entry(kA, "https://h:10943")["CommunicationStyle"], 2);
  MustTentacle({"configure", "--trust", kB});
  auto r = Tentacle({"server-comms", "--style", "TentacleActive", "--host", "h"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "Error: More than one server is trusted; please provide the thumbprint of the server to configure, e.g. "
            "--thumbprint=...\n");
}

TEST_F(PollingCli, ServerCommsPassiveSetsTheEntryWithoutAddressBackToListening) {
  MustTentacle({"configure", "--trust", kA});
  MustTentacle({"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "h"});
  auto r = MustTentacle({"server-comms", "--thumbprint", kA, "--style", "TentaclePassive"});
  EXPECT_THAT(r.OutLines(), ElementsAre(kUpdated, kRestart));
  // As the real one: the entry with no address is listening (style 1); the
  // polling entry is left as it was.
  EXPECT_THAT(Addresses(), ElementsAre("https://h:10943", ""));
  EXPECT_EQ(Entries()[1]["CommunicationStyle"], 1);
  EXPECT_TRUE(Entries()[1]["SubscriptionId"].is_null());
  EXPECT_EQ(Entries()[0]["CommunicationStyle"], 2);
}

TEST_F(PollingCli, ServerCommsNeedsTrustFirst) {
  auto none = Tentacle({"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "h"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.out, "");
  EXPECT_EQ(none.err,
            "Error: Before server communications can be modified, trust must be established with the configure "
            "command\n");
  MustTentacle({"configure", "--trust", kA});
  const std::string config = HashFile(TentacleConfig());
  auto other = Tentacle({"server-comms", "--thumbprint", kB, "--style", "TentacleActive", "--host", "h"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_EQ(other.err, "Error: No trusted server was found with the supplied thumbprint\n");
  EXPECT_EQ(HashFile(TentacleConfig()), config);
}

TEST_F(PollingCli, PollServerAddsAnAddressWithTheSameSubscriptionId) {
  MustTentacle({"configure", "--trust", kA});
  MustTentacle({"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "node1"});
  const std::string id = Entry(kA, "https://node1:10943")["SubscriptionId"];
  auto r = MustTentacle({"poll-server", "--server-comms-address", "https://node2:10943", "--reuse-server-thumbprint", kA});
  EXPECT_THAT(r.OutLines(), ElementsAre(kConfigured, kRestart));
  auto e = Entry(kA, "https://node2:10943");
  EXPECT_EQ(e["CommunicationStyle"], 2);
  EXPECT_EQ(e["SubscriptionId"], id);
  EXPECT_TRUE(e["Squid"].is_null());
  // --server-comms-port wins over the URL's port; a URL without one means 443.
  MustTentacle({"poll-server", "--server-comms-address", "https://node3:1234/path", "--server-comms-port", "10950",
                "--reuse-server-thumbprint=" + kA});
  MustTentacle({"poll-server", "--server-comms-address", "https://node4", "--reuse-server-thumbprint", kA});
  EXPECT_EQ(Entry(kA, "https://node3:10950")["SubscriptionId"], id);
  EXPECT_EQ(Entry(kA, "https://node4:443")["SubscriptionId"], id);
  // The same address again replaces its entry rather than adding one.
  MustTentacle({"poll-server", "--server-comms-address", "https://NODE2:10943", "--reuse-server-thumbprint", kA});
  EXPECT_EQ(Entries().size(), 5u) << Entries().dump();
}

TEST_F(PollingCli, PollServerSwitchAloneTakesTheFirstTrustedServer) {
  MustTentacle({"configure", "--trust", kA});
  MustTentacle({"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "node1"});
  MustTentacle({"poll-server", "--reuse-server-thumbprint", "--server-comms-address", "https://node2:10943"});
  EXPECT_EQ(Entry(kA, "https://node2:10943")["SubscriptionId"], Entry(kA, "https://node1:10943")["SubscriptionId"]);
}

TEST_F(PollingCli, PollServerRefusesAnUntrustedOrListeningServer) {
  MustTentacle({"configure", "--trust", kA});
  const std::string config = HashFile(TentacleConfig());
  auto untrusted = Tentacle({"poll-server", "--server-comms-address", "https://h:10943", "--reuse-server-thumbprint",
                             kB, "--instance", "Tentacle"});
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_EQ(untrusted.out, "");
  EXPECT_EQ(untrusted.err, "Error: The Octopus Server with the thumbprint '" + kB +
                               "' is not yet trusted. Trust this Octopus Server using 'Tentacle configure --trust=\"" +
                               kB + "\" --instance Tentacle'\n");
  auto listening = Tentacle({"poll-server", "--server-comms-address", "https://h:10943", "--reuse-server-thumbprint", kA});
  EXPECT_EQ(listening.exit_code, 1);
  EXPECT_EQ(listening.err,
            "Error: This Tentacle has not been configured to connect to the specified Octopus Server as a polling "
            "Tentacle. Reconfigure this Tentacle to poll the server using 'Tentacle server-comms --thumbprint=\"" +
                kA + "\" --style=TentacleActive --instance Tentacle --host h'\n");
  EXPECT_EQ(HashFile(TentacleConfig()), config);
}

TEST_F(PollingCli, PollingConnectionCount) {
  auto r = MustTentacle({"set-polling-connection-count", "--pollingConnectionCount", "5"});
  EXPECT_THAT(r.OutLines(), ElementsAre("Polling connection count set to: 5", kRestart));
  EXPECT_EQ(Config()[kCountKey], 5);
  auto c = MustTentacle({"configure", "--pollingConnectionCount=3"});
  EXPECT_THAT(c.OutLines(), ElementsAre("Polling connection count set to: 3", kRestart));
  EXPECT_EQ(Config()[kCountKey], 3);
}

TEST_F(PollingCli, BadInputIsOneLineAndChangesNothing) {
  MustTentacle({"configure", "--trust", kA});
  MustTentacle({"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "h"});
  const std::string config = HashFile(TentacleConfig());
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::string ws = "WebSocket polling (wss://) is not supported by this Tentacle; use --host and --port (https)";
  std::vector<Case> cases = {
      {{"set-polling-connection-count"},
       "Error: Please specify the number of polling connections, e.g. --pollingConnectionCount=5"},
      {{"set-polling-connection-count", "--pollingConnectionCount", "five"},
       "Error: The polling connection count 'five' is not a valid whole number. Specify a positive integer, e.g. "
       "--pollingConnectionCount=5"},
      {{"set-polling-connection-count", "--pollingConnectionCount=0"},
       "Error: The polling connection count must be greater than 0, but was 0."},
      {{"configure", "--pollingConnectionCount", "-2"},
       "Error: The polling connection count must be greater than 0, but was -2."},
      {{"configure", "--pollingConnectionCount", "99999999999"},
       "Error: The polling connection count '99999999999' is not a valid whole number. Specify a positive integer, "
       "e.g. --pollingConnectionCount=5"},
      {{"server-comms", "--thumbprint", kA, "--style", "Listening"},
       "Error: Please specify a valid communications style, e.g. --style=TentaclePassive"},
      {{"server-comms", "--thumbprint", kA}, "Error: Please specify a valid communications style, e.g. --style=TentaclePassive"},
      {{"server-comms", "--thumbprint", kA, "--style", "TentacleActive"},
       "Error: Please provide either the server hostname or websocket address, e.g. --host=OCTOPUS"},
      {{"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "a b"},
       "Error: --host: 'a b' is not a host name or IP address"},
      {{"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "h", "--port", "0"},
       "Error: --port: 0 is not a port number (1-65535)"},
      {{"server-comms", "--thumbprint", "XYZ", "--style", "TentacleActive", "--host", "h"},
       "Error: --thumbprint: the thumbprint 'XYZ' contains 'X', which is not a hexadecimal digit"},
      {{"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--web-socket", "wss://h/OctopusComms"},
       "Error: --web-socket: " + ws},
      {{"poll-server", "--server-web-socket", "wss://h/OctopusComms", "--reuse-server-thumbprint", kA},
       "Error: --server-web-socket: " + ws},
      {{"poll-server", "--server-comms-address", "https://h:10943"},
       "Error: poll-server needs --reuse-server-thumbprint: this Tentacle cannot ask the Octopus Server's API for its "
       "thumbprint (--server and --apiKey are not supported)"},
      {{"poll-server", "--reuse-server-thumbprint", kA},
       "Error: --server-comms-address is required, e.g. --server-comms-address https://octopus:10943"},
      {{"poll-server", "--server-comms-address", "ftp://h", "--reuse-server-thumbprint", kA},
       "Error: --server-comms-address: 'ftp://h' is not an http or https URL, e.g. https://octopus:10943"},
      {{"poll-server", "--server-comms-address", "https://h:1", "--server-comms-port", "70000",
        "--reuse-server-thumbprint", kA},
       "Error: --server-comms-port: 70000 is not a port number (1-65535)"},
  };
  for (const auto& c : cases) {
    auto r = Tentacle(c.args);
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(c.args) << r.err;
    EXPECT_EQ(r.out, "") << ::testing::PrintToString(c.args);
    ASSERT_FALSE(r.ErrLines().empty()) << ::testing::PrintToString(c.args);
    EXPECT_EQ(r.ErrLines()[0], c.error);
    EXPECT_EQ(r.ErrLines().size(), 1u) << r.err;
    EXPECT_EQ(HashFile(TentacleConfig()), config) << ::testing::PrintToString(c.args);
  }
}

TEST_F(PollingCli, UpdateTrustRewritesEveryPollingEntry) {
  MustTentacle({"configure", "--trust", kA, "--trust", kC});
  MustTentacle({"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "node1"});
  MustTentacle({"poll-server", "--server-comms-address", "https://node2:10943", "--reuse-server-thumbprint", kA});
  const std::string id = Entry(kA, "https://node1:10943")["SubscriptionId"];
  auto r = MustTentacle({"update-trust", "--oldThumbprint", kA, "--newThumbprint", kB});
  EXPECT_THAT(r.OutLines(),
              ElementsAre("Updating Octopus servers thumbprint from " + kA + " to " + kB,
                          "Finding existing Octopus Server registrations trusting the thumbprint " + kA +
                              " and updating them to trust the thumbprint " + kB + ":",
                          "Updating listening tentacle  " + kA + " - changing to trust " + kB,
                          "Ignoring listening tentacle  " + kC + " - does not match old thumbprint",
                          "Updating polling tentacle https://node1:10943 " + kA + " - changing to trust " + kB,
                          "Updating polling tentacle https://node2:10943 " + kA + " - changing to trust " + kB,
                          kRestart));
  for (const auto& e : Entries()) EXPECT_NE(e["Thumbprint"], kA) << Entries().dump();
  EXPECT_EQ(Entry(kB, "https://node1:10943")["SubscriptionId"], id);
  EXPECT_EQ(Entry(kB, "https://node2:10943")["SubscriptionId"], id);
  EXPECT_EQ(Entry(kB, "https://node2:10943")["CommunicationStyle"], 2);
}

TEST_F(PollingCli, RemoveTrustRemovesEveryEntryOfTheServer) {
  MustTentacle({"configure", "--trust", kA, "--trust", kC});
  MustTentacle({"server-comms", "--thumbprint", kA, "--style", "TentacleActive", "--host", "node1"});
  MustTentacle({"poll-server", "--server-comms-address", "https://node2:10943", "--reuse-server-thumbprint", kA});
  auto r = MustTentacle({"configure", "--remove-trust", kA});
  EXPECT_THAT(r.OutLines(), ElementsAre("Removing 1 trusted Octopus Servers", kRestart));
  ASSERT_EQ(Entries().size(), 1u) << Entries().dump();
  EXPECT_EQ(Entries()[0]["Thumbprint"], kC);
}

TEST_F(PollingCli, EveryPollingCommandHasHelp) {
  for (const char* cmd : {"server-comms", "poll-server", "set-polling-connection-count"}) {
    auto r = Tentacle({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr("Usage: Tentacle " + std::string(cmd))) << cmd;
  }
  EXPECT_THAT(Tentacle({"configure", "--help"}).out, HasSubstr("--pollingConnectionCount"));
}

}  // namespace
}  // namespace octo::testing
