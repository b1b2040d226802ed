// The trust and certificate methods against the real `Tentacle` service
// (issue 11, point 1): what agent.cc wires (the instance config under its
// lock, LiveTrust, SetIdentity) seen from outside: the answers, the
// configuration file, what the commands print, the service's log, which
// certificate new and open connections see, and the same process
// throughout (no restart).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/base/net.h"
#include "common/channel/channel.h"
#include "common/channel/control.h"
#include "common/channel/tentacle_client.h"
#include "common/crypto/pkcs12.h"
#include "common/crypto/tls.h"
#include "support/cli_fixture.h"

namespace octo::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

const char kPassword[] = "MySecretPassword";

class RotationMethodsE2e : public SupervisedServiceTest {
 protected:
  void SetUp() override {
    MustServer({"create-instance", "--instance", "OctopusServer"}, Env());
    server_tp_ = ServerThumbprint();
    MustTentacle({"create-instance", "--instance", "Tentacle"}, Env());
    MustTentacle({"new-certificate", "--instance", "Tentacle"}, Env());
    tentacle_tp_ = TentacleThumbprint();
    ProcessResult start;
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreeLoopbackPort();
      ASSERT_GT(port_, 0);
      std::vector<std::string> args = {"configure", "--port", std::to_string(port_), "--listenIpAddress",
                                       "127.0.0.1"};
      if (attempt == 0) args.insert(args.end(), {"--trust", server_tp_});
      MustTentacle(args, Env());
      start = T({"service", "--start"});
      if (start.exit_code == 0 || start.err.find("cannot listen") == std::string::npos) break;
    }
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    started_ = true;
    address_ = "https://127.0.0.1:" + std::to_string(port_);
    // The Server's certificate, as the running Server would present it.
    MustServer({"export-certificate", "--export-pfx", Path("server.pfx"), "--pfx-password", kPassword}, Env());
    auto pfx = ReadPfx(ReadTestFile(Path("server.pfx")), Secret(kPassword));
    ASSERT_TRUE(pfx.ok()) << pfx.status().message();
    auto ctx = MakeTlsContext(TlsRole::kClient, pfx->identity);
    ASSERT_TRUE(ctx.ok());
    ctx_ = std::move(ctx).value();
    client_ = {ctx_.get(), server_tp_, {}, {}};
    client_.options.timeout = std::chrono::milliseconds(10000);
  }

  void TearDown() override {
    if (started_) T({"service", "--stop"});
  }

  Target PinnedTo(std::vector<std::string> pins) const { return Target{"T", address_, std::move(pins)}; }

  std::string TentacleHome() const { return root() + "/Tentacle/Tentacle"; }
  nlohmann::json StoredConfig() const { return nlohmann::json::parse(ReadTestFile(TentacleConfig())); }
  std::vector<std::string> StoredTrust() const {
    const nlohmann::json config = StoredConfig();
    std::vector<std::string> out;
    for (const auto& e : config["Tentacle.Communication.TrustedOctopusServers"]) out.push_back(e["Thumbprint"]);
    return out;
  }
  // The running agent's status (control socket): pid, presented thumbprint, trust.
  Json AgentStatus() {
    auto reply = SendControlRequest(TentacleHome() + "/service.sock", Json{{"Command", "status"}},
                                    DeadlineIn(std::chrono::seconds(5)));
    EXPECT_TRUE(reply.ok()) << reply.status().message();
    return reply.ok() ? *reply : Json::object();
  }
  HealthResult Check(const std::vector<std::string>& pins) {
    HealthCheckOptions o;
    o.timeout = std::chrono::milliseconds(10000);
    return CheckTarget(ctx_.get(), server_tp_, PinnedTo(pins), o);
  }

  std::string server_tp_, tentacle_tp_, address_;
  int port_ = 0;
  bool started_ = false;
  SslCtxPtr ctx_;
  TentacleClient client_;
};

TEST_F(RotationMethodsE2e, ARunningTentacleRotatesItsCertificateAndTrustWhenItsServerAsks) {
  const int pid = AgentStatus().value("Pid", 0);
  ASSERT_GT(pid, 0);
  const std::string other(40, 'E');

  // Trust: saved, live, and a later `configure --trust` loses nothing.
  auto trusted = AskTrustThumbprint(client_, PinnedTo({tentacle_tp_}), other);
  ASSERT_TRUE(trusted.ok()) << trusted.status().message();
  EXPECT_TRUE(trusted->changed);
  EXPECT_THAT(StoredTrust(), Contains(other));
  EXPECT_THAT(AgentStatus()["Trusted"].get<std::vector<std::string>>(), Contains(other));
  const std::string by_command(40, 'F');
  MustTentacle({"configure", "--trust", by_command}, Env());
  EXPECT_THAT(StoredTrust(), Contains(other));
  EXPECT_THAT(StoredTrust(), Contains(by_command));
  auto removed = AskRemoveTrust(client_, PinnedTo({tentacle_tp_}), other);
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_THAT(StoredTrust(), Not(Contains(other)));
  EXPECT_THAT(StoredTrust(), Contains(by_command));

  // Stage: kept in the config, sealed; not presented, not shown as current.
  auto staged = AskStageCertificate(client_, PinnedTo({tentacle_tp_}));
  ASSERT_TRUE(staged.ok()) << staged.status().message();
  const std::string new_tp = staged->thumbprint;
  EXPECT_EQ(StoredConfig()["Tentacle.StagedCertificateThumbprint"], new_tp);
  EXPECT_EQ(TentacleThumbprint(), tentacle_tp_);
  EXPECT_EQ(AgentStatus()["Thumbprint"], tentacle_tp_);
  // show-configuration names it, and never shows its sealed key.
  const std::string sealed = StoredConfig()["Tentacle.StagedCertificate"];
  for (const char* format : {"json", "json-hierarchical", "xml"}) {
    const std::string shown = MustTentacle({"show-configuration", "--format", format}, Env()).out;
    EXPECT_THAT(shown, HasSubstr(new_tp)) << format;
    EXPECT_THAT(shown, Not(HasSubstr(sealed.substr(0, 24)))) << format;
  }
  auto status = AskCertificateStatus(client_, PinnedTo({tentacle_tp_}));
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->current.thumbprint, tentacle_tp_);
  ASSERT_TRUE(status->staged);
  EXPECT_EQ(status->staged->thumbprint, new_tp);

  // Switch, with a connection open on the old certificate.
  auto fd = ConnectTcp({"127.0.0.1", port_}, DeadlineIn(std::chrono::seconds(5)));
  ASSERT_TRUE(fd.ok());
  auto open = TlsStream::Connect(std::move(fd).value(), ctx_.get(), tentacle_tp_, DeadlineIn(std::chrono::seconds(5)));
  ASSERT_TRUE(open.ok()) << open.status().message();
  auto switched = AskSwitchCertificate(client_, PinnedTo({tentacle_tp_, new_tp}), new_tp);
  ASSERT_TRUE(switched.ok()) << switched.status().message();
  EXPECT_TRUE(switched->changed);
  EXPECT_EQ(switched->previous_thumbprint, tentacle_tp_);
  EXPECT_EQ(TentacleThumbprint(), new_tp);  // saved: what show-thumbprint reads
  EXPECT_EQ(StoredConfig()["Tentacle.PreviousCertificateThumbprint"], tentacle_tp_);
  const std::string previous_sealed = StoredConfig()["Tentacle.PreviousCertificate"];
  EXPECT_THAT(MustTentacle({"show-configuration", "--format", "json"}, Env()).out,
              Not(HasSubstr(previous_sealed.substr(0, 24))));
  EXPECT_EQ(AgentStatus()["Thumbprint"], new_tp);
  const HealthResult fresh = Check({new_tp});
  EXPECT_TRUE(fresh.healthy) << fresh.reason;
  // The connection opened before the switch still speaks, with the old certificate.
  const Deadline d = DeadlineIn(std::chrono::seconds(5));
  ASSERT_TRUE(open->Write(std::string(kClientIdentification) + "\r\n\r\n", d).ok());
  EXPECT_EQ(*open->ReadLine(64, d), kServerIdentification);
  ASSERT_TRUE(open->ReadLine(64, d).ok());
  ASSERT_TRUE(open->Write(*EncodeFrame(Json{{"Method", "Health"}}), d).ok());
  auto len = ParseFrameHeader(*open->Read(4, d));
  ASSERT_TRUE(len.ok());
  auto answer = ParseFramePayload(*open->Read(*len, d));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ((*answer)["Thumbprint"], tentacle_tp_);
  open->Close(DeadlineIn(std::chrono::milliseconds(500)));

  // Discard the old one; the service never restarted.
  auto discarded = AskDiscardCertificate(client_, PinnedTo({new_tp}), CertificateSlot::kPrevious, tentacle_tp_);
  ASSERT_TRUE(discarded.ok()) << discarded.status().message();
  EXPECT_FALSE(StoredConfig().contains("Tentacle.PreviousCertificate"));
  EXPECT_EQ(AgentStatus().value("Pid", 0), pid);

  // A restart presents what was saved.
  MustTentacle({"service", "--restart"}, Env());
  const HealthResult after = Check({new_tp});
  EXPECT_TRUE(after.healthy) << after.reason;

  const std::string log = ReadTestFile(TentacleHome() + "/Logs/OctopusTentacle.txt");
  const std::string who = "asked by the Octopus Server with the thumbprint " + server_tp_ + " at 127.0.0.1:";
  for (const char* method : {"TrustThumbprint", "RemoveTrust", "StageCertificate", "GetCertificateStatus",
                             "SwitchCertificate", "DiscardCertificate"}) {
    EXPECT_THAT(log, HasSubstr(std::string(method) + " " + who)) << method;
  }
  EXPECT_THAT(log, Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(RotationMethodsE2e, AServerTheTentacleDoesNotTrustGetsNoAnswer) {
  MustServer({"create-instance", "--instance", "Other"}, Env());
  MustServer({"export-certificate", "--instance", "Other", "--export-pfx", Path("other.pfx"), "--pfx-password",
              kPassword},
             Env());
  auto pfx = ReadPfx(ReadTestFile(Path("other.pfx")), Secret(kPassword));
  ASSERT_TRUE(pfx.ok());
  auto ctx = MakeTlsContext(TlsRole::kClient, pfx->identity);
  ASSERT_TRUE(ctx.ok());
  const std::string before = ReadTestFile(TentacleConfig());
  TentacleClient stranger{ctx->get(), ServerThumbprint("Other"), client_.options, {}};
  auto r = AskStageCertificate(stranger, PinnedTo({tentacle_tp_}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadTestFile(TentacleConfig()), before);
}

}  // namespace
}  // namespace octo::testing
