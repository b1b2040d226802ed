// The certificate rotation procedure (shared/reference/seed-regenerate-
// certificates.txt) end to end, with live services on loopback: one Octopus
// Server checking three listening Tentacles over mutual TLS. The server
// steps 1-8 run exactly as written for Linux, with a health check after
// every step; then the Tentacle's own rotation; then the usual mistakes,
// each with the exact text the Server reports and the step that recovers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::MatchesRegex;

const char kPassword[] = "MySecretPassword";
// What configure prints when the running agent applied a trust change.
const char kAppliedLive[] = "The running Tentacle applied the trust changes; no restart is needed.";
const char kServerInstance[] = "OctopusServer";
const std::vector<std::string> kTentacles = {"T1", "T2", "T3"};

// The Server's texts for an unhealthy target (src/common/health_check.cc),
// spelled out here so that a change to them is caught.
std::string UnexpectedCertificate(const std::string& url, const std::string& expected, const std::string& actual) {
  return "The server at " + url +
         " presented an unexpected security certificate. We expected the server to present a certificate with the "
         "thumbprint '" +
         expected + "'. Instead, it presented a certificate with a thumbprint of '" + actual +
         "' and subject 'CN=Octopus Tentacle'. This usually happens when the client has been configured to expect "
         "the server to have the wrong certificate, or when the certificate on the server has been regenerated and "
         "the client has not been updated. It may also happen if someone is performing a man-in-the-middle attack "
         "on the remote machine, or if a proxy server is intercepting requests. Please check the certificate used "
         "on the server, and verify that the client has been configured correctly.";
}

std::string Aborted(const std::string& url, const std::string& ours) {
  return "The server " + url +
         " aborted the connection before it was fully established. This usually means that the server rejected "
         "the certificate that we provided. We provided a certificate with a thumbprint of '" +
         ours + "'.";
}

std::string Refused(const std::string& url) {
  return "The Tentacle at " + url +
         " refused the connection (No connection could be made because the target machine actively refused it): "
         "is the Tentacle running and listening on that port?";
}


// One expected line of `health-check`.
// {"T1"} is healthy; {"T1", false, REASON} is unhealthy for that reason.
struct Health {
  Health(const char* n) : name(n) {}  // NOLINT: implicit on purpose
  Health(std::string n, bool h, std::string r) : name(std::move(n)), healthy(h), reason(std::move(r)) {}
  std::string name;
  bool healthy = true;
  std::string reason;  // the exact unhealthy text
};

// The live set-up: Server instance OctopusServer and Tentacles T1..T3, all
// running, each Tentacle a deployment target of the Server, all healthy.
// TearDown stops every service it started and checks that none still runs.
class RotationTest : public SupervisedServiceTest {
 protected:
  struct Agent {
    std::string name;
    int port = 0;
    std::string address;     // https://127.0.0.1:PORT
    std::string thumbprint;  // its current certificate
  };

  void SetUp() override {
    auto created = MustServer({"create-instance", "--instance", kServerInstance}, Env());
    ASSERT_EQ(created.exit_code, 0);
    created_server_ = true;
    server_tp_ = ServerThumbprint(kServerInstance);
    ASSERT_EQ(server_tp_.size(), 40u);
    for (const auto& name : kTentacles) {
      ASSERT_NO_FATAL_FAILURE(SetUpTentacle(name));
    }
    for (const auto& t : tentacles_) {
      auto r = S({"add-target", "--name", t.name, "--address", t.address, "--thumbprint", t.thumbprint});
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
      EXPECT_THAT(r.OutLines(), ElementsAre("Added deployment target '" + t.name + "' at " + t.address +
                                                " with thumbprint " + t.thumbprint + ".",
                                            "The Octopus Server service is not running; it uses this when it starts."));
    }
    auto start = S({"service", "--start"});
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    started_server_ = true;
    EXPECT_THAT(start.OutLines(), ElementsAre(MatchesRegex("The Octopus Server service for instance 'OctopusServer' "
                                                           "has started \\(pid [0-9]+\\)\\.")));
    ASSERT_NO_FATAL_FAILURE(ExpectAllHealthy("after set-up"));
  }

  void TearDown() override {
    for (const auto& name : started_tentacles_) {
      auto r = T({"service", "--instance", name, "--stop"});
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    if (started_server_) {
      auto r = S({"service", "--instance", kServerInstance, "--stop"});
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    // The safety net: whatever a failed step may have left running.
    auto all_t = T({"service", "--instance", "*", "--stop"});
    EXPECT_EQ(all_t.exit_code, 0) << all_t.out << all_t.err;
    auto all_s = S({"service", "--instance", "*", "--stop"});
    EXPECT_EQ(all_s.exit_code, 0) << all_s.out << all_s.err;

    for (const auto& name : created_tentacles_) {
      auto r = T({"service", "--instance", name, "--status"});
      EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
      EXPECT_THAT(r.OutLines(), ElementsAre("The Tentacle service for instance '" + name + "' is stopped."));
    }
    if (created_server_) {
      auto r = S({"service", "--instance", kServerInstance, "--status"});
      EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
      EXPECT_THAT(r.OutLines(), ElementsAre("The Octopus Server service for instance 'OctopusServer' is stopped."));
    }
  }

  // ---- running the executables --------------------------------------------


  // ---- set-up ---------------------------------------------------------------

  void SetUpTentacle(const std::string& name) {
    auto created = MustTentacle({"create-instance", "--instance", name}, Env());
    ASSERT_EQ(created.exit_code, 0);
    created_tentacles_.push_back(name);
    auto cert = MustTentacle({"new-certificate", "--instance", name}, Env());
    ASSERT_EQ(cert.exit_code, 0);
    Agent t;
    t.name = name;
    t.thumbprint = TentacleThumbprint(name);
    ASSERT_EQ(t.thumbprint.size(), 40u);
    EXPECT_THAT(cert.OutLines(), ElementsAre("A new certificate has been generated and installed. Thumbprint:",
                                             t.thumbprint, "These changes require a restart of the Tentacle."));

    // Pick a free port; if another program takes it before the Tentacle
    // binds it, try another.
    ProcessResult start;
    for (int attempt = 0; attempt < 5; ++attempt) {
      t.port = FreeLoopbackPort();
      ASSERT_GT(t.port, 0);
      std::vector<std::string> args = {"configure", "--instance", name, "--port", std::to_string(t.port),
                                       "--listenIpAddress", "127.0.0.1"};
      std::vector<std::string> expected;
      if (attempt == 0) {
        args.insert(args.end(), {"--trust", server_tp_});
        expected.push_back("Adding 1 trusted Octopus Servers");
      }
      expected.push_back("Services listen port: " + std::to_string(t.port));
      expected.push_back("Listen on IP address: 127.0.0.1");
      expected.push_back("These changes require a restart of the Tentacle.");
      auto configured = MustTentacle(args, Env());
      ASSERT_EQ(configured.exit_code, 0);
      EXPECT_THAT(configured.OutLines(), ElementsAreArray(expected));
      start = T({"service", "--instance", name, "--start"});
      if (start.exit_code == 0) break;
      if (start.err.find("cannot listen") == std::string::npos) break;  // not the port: do not hide it
    }
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    started_tentacles_.push_back(name);
    EXPECT_THAT(start.OutLines(), ElementsAre(MatchesRegex("The Tentacle service for instance '" + name +
                                                           "' has started \\(pid [0-9]+\\)\\.")));
    t.address = "https://127.0.0.1:" + std::to_string(t.port);
    tentacles_.push_back(t);
  }

  // ---- health ---------------------------------------------------------------

  const Agent& Get(const std::string& name) {
    for (const auto& t : tentacles_) {
      if (t.name == name) return t;
    }
    ADD_FAILURE() << "no Tentacle " << name;
    return tentacles_.front();
  }
  std::string Url(const std::string& name) { return Get(name).address; }

  // Runs `health-check` and expects exactly these lines, in target order,
  // and exit 0 when all are healthy, else 1.
  void ExpectHealth(const std::string& when, const std::vector<Health>& expected) {
    SCOPED_TRACE("health check " + when);
    std::vector<std::string> lines;
    bool all = true;
    for (const auto& h : expected) {
      std::string prefix = h.name + " (" + Url(h.name) + "): ";
      lines.push_back(prefix + (h.healthy ? "healthy" : "unhealthy: " + h.reason));
      all = all && h.healthy;
    }
    auto r = S({"health-check"});
    EXPECT_EQ(r.exit_code, all ? 0 : 1) << r.out << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAreArray(lines)) << r.err;
    EXPECT_EQ(r.err, "");
  }

  void ExpectAllHealthy(const std::string& when) {
    ExpectHealth(when, {{"T1"}, {"T2"}, {"T3"}});
  }

  // ---- steps ----------------------------------------------------------------

  void RestartTentacle(const std::string& name) {
    auto r = T({"service", "--instance", name, "--restart"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(),
                ElementsAre("The Tentacle service for instance '" + name + "' has stopped.",
                            MatchesRegex("The Tentacle service for instance '" + name +
                                         "' has started \\(pid [0-9]+\\)\\.")));
  }

  void RestartServer() {
    auto r = S({"service", "--instance", kServerInstance, "--restart"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(),
                ElementsAre("The Octopus Server service for instance 'OctopusServer' has stopped.",
                            MatchesRegex("The Octopus Server service for instance 'OctopusServer' has started "
                                         "\\(pid [0-9]+\\)\\.")));
  }

  // Step 1: back up the current certificate.
  void ExportOld() {
    const std::string file = Path("oldcert.pfx");
    auto r = S({"export-certificate", "--instance", kServerInstance, "--export-pfx=" + file, "--pfx-password",
                kPassword});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAre("Checking the Octopus Master Key has been configured.",
                                          "Exporting certificate...",
                                          "The certificate has been written to " + file + "."));
  }

  // Step 2: a new certificate, written to a file only. Returns its thumbprint.
  std::string GenerateNew() {
    const std::string file = Path("newcert.pfx");
    auto r = S({"new-certificate", "--instance", kServerInstance, "--export-pfx=" + file, "--pfx-password",
                kPassword});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto lines = r.OutLines();
    if (lines.size() != 7) {
      ADD_FAILURE() << "unexpected new-certificate output:\n" << r.out << r.err;
      return "";
    }
    std::string tp = lines[5];
    EXPECT_THAT(lines, ElementsAre("Checking the Octopus Master Key has been configured.",
                                   "Generating certificate...",
                                   "The Octopus Server currently uses a certificate with thumbprint:", server_tp_,
                                   "A new certificate has been generated with thumbprint:", tp,
                                   "The new certificate has been written to " + file + "."));
    EXPECT_THAT(tp, MatchesRegex("[0-9A-F]{40}"));
    EXPECT_NE(tp, server_tp_);
    EXPECT_EQ(ServerThumbprint(kServerInstance), server_tp_) << "new-certificate --export-pfx changed the Server";
    return tp;
  }

  // Step 3 on one Tentacle: trust the new thumbprint. The running agent
  // applies it at once; the procedure's restart still works.
  void Trust(const std::string& name, const std::string& tp) {
    auto r = T({"configure", "--instance", name, "--trust=" + tp});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAre("Adding 1 trusted Octopus Servers", kAppliedLive));
  }

  // Step 4, first half: import the new certificate (restart separately).
  void ImportNew(const std::string& new_tp) {
    const std::string file = Path("newcert.pfx");
    auto r = S({"import-certificate", "--instance", kServerInstance, "--from-file=" + file, "--pfx-password",
                kPassword});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(),
                ElementsAre("Importing the certificate stored in PFX file in " + file + " using the provided password...",
                            "Checking the Octopus Master Key has been configured.",
                            "The certificate CN=Octopus Portal was updated; old thumbprint = " + server_tp_ +
                                ", new thumbprint = " + new_tp,
                            "Certificate imported successfully.",
                            "These changes require a restart of the Octopus Server."));
    EXPECT_EQ(ServerThumbprint(kServerInstance), new_tp);
  }

  // Step 6 on one Tentacle: stop trusting a thumbprint (applied at once).
  void RemoveTrust(const std::string& name, const std::string& tp) {
    auto r = T({"configure", "--instance", name, "--remove-trust", tp});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAre("Removing 1 trusted Octopus Servers", kAppliedLive));
  }

  // The Tentacle's own rotation, first command. Returns the new thumbprint.
  std::string RegenerateTentacle(const std::string& name) {
    auto r = T({"new-certificate", "--instance", name});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::string tp = TentacleThumbprint(name);
    EXPECT_THAT(r.OutLines(), ElementsAre("A new certificate has been generated and installed. Thumbprint:", tp,
                                          "These changes require a restart of the Tentacle."));
    EXPECT_NE(tp, Get(name).thumbprint);
    return tp;
  }

  void UpdateTarget(const std::string& name, const std::string& tp) {
    auto r = S({"update-target", "--name", name, "--thumbprint", tp});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAre("The thumbprint of deployment target '" + name + "' is now " + tp + ".",
                                          "The running Octopus Server uses this at its next health check."));
  }

  std::string server_tp_;  // the Server's certificate at set-up
  std::vector<Agent> tentacles_;

 private:
  bool created_server_ = false;
  bool started_server_ = false;
  std::vector<std::string> created_tentacles_;
  std::vector<std::string> started_tentacles_;
};

// ---- the procedure, as written ------------------------------------------------

using RotationEndToEnd = RotationTest;

TEST_F(RotationEndToEnd, SeedProcedureForLinux) {
  const std::string old_tp = server_tp_;

  // 1. Backup your existing certificate.
  ASSERT_NO_FATAL_FAILURE(ExportOld());
  ExpectAllHealthy("after step 1 (export)");

  // 2. Generate a new certificate to a file.
  const std::string new_tp = GenerateNew();
  ASSERT_FALSE(new_tp.empty());
  ExpectAllHealthy("after step 2 (new-certificate to a file)");

  // 3. Every Tentacle trusts the new certificate, and is restarted.
  for (const auto& name : kTentacles) {
    ASSERT_NO_FATAL_FAILURE(Trust(name, new_tp));
    ASSERT_NO_FATAL_FAILURE(RestartTentacle(name));
  }
  ExpectAllHealthy("after step 3 (Tentacles trust the new certificate)");

  // 4. Replace the certificate on the Server, and restart it.
  ASSERT_NO_FATAL_FAILURE(ImportNew(new_tp));
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  ExpectAllHealthy("after step 4 (import and Server restart)");

  // 5. Run a health check: all healthy.
  ExpectAllHealthy("step 5");

  // 6. The Tentacles stop trusting the old certificate, and are restarted.
  for (const auto& name : kTentacles) {
    ASSERT_NO_FATAL_FAILURE(RemoveTrust(name, old_tp));
    ASSERT_NO_FATAL_FAILURE(RestartTentacle(name));
  }
  ExpectAllHealthy("after step 6 (old trust removed)");

  // 7. Run a health check: all healthy.
  ExpectAllHealthy("step 7");

  // 8. The new certificate uses the sha256 algorithm.
  auto shown = S({"show-thumbprint", "--instance", kServerInstance, "--format", "json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.out << shown.err;
  auto j = nlohmann::json::parse(shown.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << shown.out;
  EXPECT_EQ(j.value("Thumbprint", ""), new_tp);
  EXPECT_EQ(j.value("SignatureAlgorithm", ""), "sha256RSA");
  ExpectAllHealthy("after step 8");

  // Configuring a Tentacle to use a new certificate, on T1.
  const std::string old_t1 = Get("T1").thumbprint;
  const std::string new_t1 = RegenerateTentacle("T1");
  ASSERT_NO_FATAL_FAILURE(RestartTentacle("T1"));
  ExpectHealth("after T1 regenerated its certificate",
               {{"T1", false, UnexpectedCertificate(Url("T1"), old_t1, new_t1)}, {"T2"}, {"T3"}});
  // ... and it is updated on the Server (Deployment Targets).
  ASSERT_NO_FATAL_FAILURE(UpdateTarget("T1", new_t1));
  ExpectAllHealthy("after update-target T1");
}

// ---- the usual mistakes, and what recovers from each -----------------------------

using RotationFailure = RotationTest;

// Step 4 before step 3: the Tentacles refuse the Server's new certificate.
TEST_F(RotationFailure, ImportBeforeTentaclesTrustTheNewCertificate) {
  ASSERT_NO_FATAL_FAILURE(ExportOld());
  const std::string new_tp = GenerateNew();
  ASSERT_FALSE(new_tp.empty());
  ASSERT_NO_FATAL_FAILURE(ImportNew(new_tp));
  ExpectAllHealthy("after import, before the Server restart (it still uses the old certificate)");
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  ExpectHealth("after the Server switched too early", {{"T1", false, Aborted(Url("T1"), new_tp)},
                                                       {"T2", false, Aborted(Url("T2"), new_tp)},
                                                       {"T3", false, Aborted(Url("T3"), new_tp)}});

  // Recovery: step 3 late.
  for (const auto& name : kTentacles) {
    ASSERT_NO_FATAL_FAILURE(Trust(name, new_tp));
    ASSERT_NO_FATAL_FAILURE(RestartTentacle(name));
  }
  ExpectAllHealthy("after the Tentacles trust the new certificate");
}

// Step 6 before step 4 on one Tentacle: it no longer trusts the certificate
// the Server still uses.
TEST_F(RotationFailure, OldTrustRemovedBeforeTheServerSwitched) {
  const std::string old_tp = server_tp_;
  const std::string new_tp = GenerateNew();
  ASSERT_FALSE(new_tp.empty());
  for (const auto& name : kTentacles) {
    ASSERT_NO_FATAL_FAILURE(Trust(name, new_tp));
    ASSERT_NO_FATAL_FAILURE(RestartTentacle(name));
  }
  ExpectAllHealthy("after step 3");

  // Trust changes are live: the mistake shows at once, restart or not.
  ASSERT_NO_FATAL_FAILURE(RemoveTrust("T2", old_tp));
  ExpectHealth("after remove-trust, with no Tentacle restart",
               {{"T1"}, {"T2", false, Aborted(Url("T2"), old_tp)}, {"T3"}});
  ASSERT_NO_FATAL_FAILURE(RestartTentacle("T2"));
  ExpectHealth("after T2 stopped trusting the current certificate",
               {{"T1"}, {"T2", false, Aborted(Url("T2"), old_tp)}, {"T3"}});

  // Recovery: complete step 4.
  ASSERT_NO_FATAL_FAILURE(ImportNew(new_tp));
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  ExpectAllHealthy("after import and Server restart");
}

// Step 4 half done (imported, the Server not restarted), then step 6: the
// running Server still presents OLD, which no Tentacle trusts any more. The
// aborted text names T = OLD although show-thumbprint shows NEW: the rotation
// guide's quick reference tells this case from "step 6 before the import".
TEST_F(RotationFailure, ServerNotRestartedAfterImportThenOldTrustRemoved) {
  const std::string old_tp = server_tp_;
  ASSERT_NO_FATAL_FAILURE(ExportOld());
  const std::string new_tp = GenerateNew();
  ASSERT_FALSE(new_tp.empty());
  for (const auto& name : kTentacles) ASSERT_NO_FATAL_FAILURE(Trust(name, new_tp));
  ASSERT_NO_FATAL_FAILURE(ImportNew(new_tp));  // no restart
  ExpectAllHealthy("after the import, the Server not restarted");

  for (const auto& name : kTentacles) ASSERT_NO_FATAL_FAILURE(RemoveTrust(name, old_tp));
  ExpectHealth("after step 6 with the Server still presenting OLD", {{"T1", false, Aborted(Url("T1"), old_tp)},
                                                                      {"T2", false, Aborted(Url("T2"), old_tp)},
                                                                      {"T3", false, Aborted(Url("T3"), old_tp)}});
  // What the guide says to compare T with: the stored certificate is NEW.
  EXPECT_EQ(ServerThumbprint(kServerInstance), new_tp);

  // Recovery, as the quick reference says: restart the Server.
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  ExpectAllHealthy("after the Server restart");
}

// The Tentacle's rotation without updating the target.
TEST_F(RotationFailure, TentacleRegeneratedButTargetPinsTheOldThumbprint) {
  const std::string old_t3 = Get("T3").thumbprint;
  const std::string new_t3 = RegenerateTentacle("T3");
  ExpectAllHealthy("after new-certificate, before the restart (the agent still uses its old certificate)");
  ASSERT_NO_FATAL_FAILURE(RestartTentacle("T3"));
  ExpectHealth("after T3 restarted with its new certificate",
               {{"T1"}, {"T2"}, {"T3", false, UnexpectedCertificate(Url("T3"), old_t3, new_t3)}});

  // list-targets still shows the old pin.
  auto listed = S({"list-targets"});
  ASSERT_EQ(listed.exit_code, 0) << listed.out << listed.err;
  EXPECT_THAT(listed.OutLines(), ::testing::Contains("T3  " + Url("T3") + "  " + old_t3));

  // Recovery: update the target; no Server restart is needed.
  ASSERT_NO_FATAL_FAILURE(UpdateTarget("T3", new_t3));
  ExpectAllHealthy("after update-target");
}

// Step 3 without the restart on one Tentacle: with the real product the
// running agent keeps its old trust list and refuses the Server after step 4.
// Here trust changes are live, so the forgotten restart does no harm.
TEST_F(RotationFailure, TentacleNotRestartedAfterTrustingTheNewCertificateStaysHealthy) {
  const std::string new_tp = GenerateNew();
  ASSERT_FALSE(new_tp.empty());
  for (const auto& name : kTentacles) ASSERT_NO_FATAL_FAILURE(Trust(name, new_tp));
  ASSERT_NO_FATAL_FAILURE(RestartTentacle("T1"));
  ASSERT_NO_FATAL_FAILURE(RestartTentacle("T2"));  // T3 is forgotten
  ExpectAllHealthy("after step 3 with T3 not restarted");

  ASSERT_NO_FATAL_FAILURE(ImportNew(new_tp));
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  ExpectAllHealthy("after the Server switched, T3 never restarted");
}

// health-check needs the running Server service.
TEST_F(RotationFailure, HealthCheckWhileTheServerIsStopped) {
  auto stop = S({"service", "--instance", kServerInstance, "--stop"});
  ASSERT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_THAT(stop.OutLines(), ElementsAre("The Octopus Server service for instance 'OctopusServer' has stopped."));

  auto r = S({"health-check"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.ErrLines(), ElementsAre("Error: the Octopus Server service for instance 'OctopusServer' is not "
                                        "running; start it with: Octopus.Server service --instance OctopusServer "
                                        "--start"));

  // Recovery: what the message says.
  auto start = S({"service", "--instance", kServerInstance, "--start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  ExpectAllHealthy("after the Server started again");
}

// A target whose Tentacle is not running.
TEST_F(RotationFailure, TentacleServiceStopped) {
  auto stop = T({"service", "--instance", "T2", "--stop"});
  ASSERT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_THAT(stop.OutLines(), ElementsAre("The Tentacle service for instance 'T2' has stopped."));
  ExpectHealth("with T2 stopped", {{"T1"}, {"T2", false, Refused(Url("T2"))}, {"T3"}});

  // Recovery: start it again.
  auto start = T({"service", "--instance", "T2", "--start"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  EXPECT_THAT(start.OutLines(),
              ElementsAre(MatchesRegex("The Tentacle service for instance 'T2' has started \\(pid [0-9]+\\)\\.")));
  ExpectAllHealthy("after T2 started again");
}

}  // namespace
}  // namespace octo::testing
