// The trust and certificate methods, end to end in one process: a real
// TentacleAgent on loopback with the real StoredTentacleAdmin over a
// Tentacle instance in a temporary directory, asked by the Server's client
// helpers (tentacle_client.h) over real TLS connections. What is checked is
// what a user would notice: the answers, the configuration file, which
// certificate a new connection sees, who is let in, and the log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <csignal>
#include <optional>
#include <sstream>
#include <thread>

#include "common/channel/channel.h"
#include "common/channel/live_trust.h"
#include "common/channel/tentacle_admin.h"
#include "common/channel/tentacle_agent.h"
#include "common/channel/tentacle_client.h"
#include "common/config/certificate_slots.h"
#include "common/config/trust.h"
#include "common/crypto/key_store.h"
#include "support/identities.h"
#include "support/temp_dir.h"

namespace octo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::HashFile;
using testing::ReadTestFile;
using testing::TempDir;

[[maybe_unused]] const bool kSigpipeIgnored = [] {
#ifdef SIGPIPE  // Windows has none: a send on a closed socket fails there
  ::signal(SIGPIPE, SIG_IGN);
#endif
  return true;
}();

// The suite's identities (support/identities.h: made once per process).
// Only the thumbprints matter, so the names just tell them apart.
struct Identities {
  const Identity& server;
  const Identity& tentacle;
  const Identity& other_server;
  const Identity& stranger;
};
const Identities& Ids() {
  static const Identities ids{testing::SharedIdentity(kServerCommonName), testing::SharedIdentity(kTentacleCommonName),
                              testing::SharedIdentity("Another Octopus Server"),
                              testing::SharedIdentity("A Server nobody trusts")};
  return ids;
}

std::string Tp(const Identity& id) { return Thumbprint(id.certificate.get()); }

// A Tentacle instance (config, machine key, certificate) trusting the
// Server, and its agent on loopback with the rotation methods wired as
// `Tentacle agent` wires them.
class RotationMethodsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.Path("tentacle-T.config");
    ConfigFile cfg = ConfigFile::New(path_);
    cfg.Set(Traits(Product::kTentacle).key_file_key, dir_.Path("T.machinekey"));
    cfg.Set(keys::kTrustedServers, Json::array({{{"Thumbprint", Tp(Ids().server)}, {"CommunicationStyle", 1}}}));
    ASSERT_TRUE(cfg.Save().ok());
    ASSERT_TRUE(CreateKeyFile(dir_.Path("T.machinekey")).ok());
    {
      auto inst = Instance::Open(Product::kTentacle, "T", path_, Instance::Access::kUpdate);
      ASSERT_TRUE(inst.ok());
      ASSERT_TRUE(inst->SetIdentity(Ids().tentacle).ok());
      ASSERT_TRUE(inst->Save().ok());
    }
    auto store = TrustStore::Open(path_);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    StartAgent();
    auto ctx = MakeTlsContext(TlsRole::kClient, Ids().server);
    ASSERT_TRUE(ctx.ok());
    server_ctx_ = std::move(ctx).value();
    client_ = {server_ctx_.get(), Tp(Ids().server), {}, {}};
    client_.options.timeout = std::chrono::milliseconds(5000);
  }

  void StartAgent() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%v");
    auto logger = std::make_shared<spdlog::logger>("rotation-test", sink);
    auto inst = Instance::Open(Product::kTentacle, "T", path_);
    ASSERT_TRUE(inst.ok());
    auto id = inst->LoadIdentity();
    ASSERT_TRUE(id.ok());
    AgentOptions o;
    o.listen_ip = "127.0.0.1";
    o.port = 0;
    o.trusted_thumbprints = store_->Current()->thumbprints;
    o.handshake_timeout = std::chrono::milliseconds(3000);
    o.read_timeout = std::chrono::milliseconds(3000);
    agent_ = std::make_unique<TentacleAgent>(o, std::move(id).value(), logger);
    live_ = std::make_unique<LiveTrust>(*store_, *agent_, logger);
    agent_->SetAdmin(std::make_shared<StoredTentacleAdmin>("T", path_, *live_, *agent_));
    ASSERT_TRUE(agent_->Start().ok());
    address_ = "https://127.0.0.1:" + std::to_string(agent_->port());
  }

  void TearDown() override {
    if (agent_) agent_->Stop();
    agent_.reset();  // waits for its connections, which use live_ and the admin
    live_.reset();
  }

  // The target as the Server pins it.
  Target PinnedTo(std::vector<std::string> pins) const { return Target{"T", address_, std::move(pins)}; }
  Target Pinned() const { return PinnedTo({Tp(Ids().tentacle)}); }

  TentacleCall Call(const Json& request, const Identity& as, std::vector<std::string> pins = {}) {
    auto ctx = MakeTlsContext(TlsRole::kClient, as);
    EXPECT_TRUE(ctx.ok());
    HealthCheckOptions o;
    o.timeout = std::chrono::milliseconds(5000);
    return CallTentacle(ctx->get(), Tp(as), pins.empty() ? Pinned() : PinnedTo(pins), request, o);
  }

  HealthResult Check(const Identity& as, std::vector<std::string> pins) {
    auto ctx = MakeTlsContext(TlsRole::kClient, as);
    EXPECT_TRUE(ctx.ok());
    HealthCheckOptions o;
    o.timeout = std::chrono::milliseconds(5000);
    return CheckTarget(ctx->get(), Tp(as), PinnedTo(std::move(pins)), o);
  }

  ConfigFile Stored() const {
    auto cfg = ConfigFile::Load(path_);
    EXPECT_TRUE(cfg.ok());
    return cfg.ok() ? std::move(cfg).value() : ConfigFile::New(path_);
  }
  std::vector<std::string> StoredTrust() const {
    auto list = TrustedThumbprints(Stored());
    EXPECT_TRUE(list.ok());
    return list.ok() ? *list : std::vector<std::string>{};
  }
  std::string StoredString(const std::string& key) const {
    auto v = Stored().GetString(key);
    return v.ok() ? *v : "<not a string>";
  }

  TempDir dir_;
  std::string path_;
  std::ostringstream log_;
  std::unique_ptr<TrustStore> store_;
  std::unique_ptr<TentacleAgent> agent_;
  std::unique_ptr<LiveTrust> live_;
  std::string address_;
  SslCtxPtr server_ctx_;
  TentacleClient client_;
};

TEST_F(RotationMethodsTest, TrustThumbprintIsSavedAndLetsThatServerInWithoutARestart) {
  const std::string other = Tp(Ids().other_server);
  EXPECT_EQ(Check(Ids().other_server, {Tp(Ids().tentacle)}).outcome, HealthOutcome::kAborted);

  auto r = AskTrustThumbprint(client_, Pinned(), other);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->changed);
  std::vector<std::string> both{Tp(Ids().server), other};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(r->trusted, both);
  EXPECT_THAT(StoredTrust(), ::testing::UnorderedElementsAreArray(both));
  EXPECT_EQ(agent_->trusted()->count(other), 1u);
  const HealthResult check = Check(Ids().other_server, {Tp(Ids().tentacle)});
  EXPECT_TRUE(check.healthy) << check.reason;

  // Again: the same answer, nothing written.
  const std::string before = HashFile(path_);
  auto again = AskTrustThumbprint(client_, Pinned(), other);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->trusted, both);
  EXPECT_EQ(HashFile(path_), before);

  agent_->Stop();
  EXPECT_THAT(log_.str(), HasSubstr("TrustThumbprint asked by the Octopus Server with the thumbprint " +
                                    Tp(Ids().server) + " at 127.0.0.1:"));
  EXPECT_THAT(log_.str(), HasSubstr("now trusts " + other));
  EXPECT_THAT(log_.str(), HasSubstr("trusted " + other + " already"));
  EXPECT_THAT(log_.str(), HasSubstr("Agent will trust Octopus Servers with the thumbprint: " + other +
                                    " (asked by the Octopus Server with the thumbprint " + Tp(Ids().server)));
}

TEST_F(RotationMethodsTest, RemoveTrustIsSavedAndShutsThatServerOut) {
  const std::string other = Tp(Ids().other_server);
  ASSERT_TRUE(AskTrustThumbprint(client_, Pinned(), other).ok());
  ASSERT_TRUE(Check(Ids().other_server, {Tp(Ids().tentacle)}).healthy);

  auto r = AskRemoveTrust(client_, Pinned(), other);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->changed);
  EXPECT_THAT(r->trusted, ElementsAre(Tp(Ids().server)));
  EXPECT_THAT(StoredTrust(), ElementsAre(Tp(Ids().server)));
  EXPECT_EQ(Check(Ids().other_server, {Tp(Ids().tentacle)}).outcome, HealthOutcome::kAborted);

  const std::string before = HashFile(path_);
  auto again = AskRemoveTrust(client_, Pinned(), other);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(HashFile(path_), before);
}

// Decided: a Server may not remove the thumbprint it is connected with. It
// would end the very connection before the answer, and could leave the
// Tentacle trusting no Server at all.
TEST_F(RotationMethodsTest, RemoveTrustRefusesTheAskersOwnThumbprint) {
  const std::string before = HashFile(path_);
  auto r = AskRemoveTrust(client_, Pinned(), Tp(Ids().server));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("cannot remove the thumbprint it is connected with"));
  EXPECT_EQ(HashFile(path_), before);
  EXPECT_THAT(StoredTrust(), ElementsAre(Tp(Ids().server)));
  EXPECT_TRUE(Check(Ids().server, {Tp(Ids().tentacle)}).healthy);

  // With another trusted Server, that one may remove it.
  ASSERT_TRUE(AskTrustThumbprint(client_, Pinned(), Tp(Ids().other_server)).ok());
  auto ctx = MakeTlsContext(TlsRole::kClient, Ids().other_server);
  ASSERT_TRUE(ctx.ok());
  TentacleClient other{ctx->get(), Tp(Ids().other_server), client_.options, {}};
  auto removed = AskRemoveTrust(other, Pinned(), Tp(Ids().server));
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_THAT(StoredTrust(), ElementsAre(Tp(Ids().other_server)));
}

TEST_F(RotationMethodsTest, CertificateStatusDescribesTheTrustAndTheCertificates) {
  auto s = AskCertificateStatus(client_, Pinned());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_THAT(s->trusted, ElementsAre(Tp(Ids().server)));
  EXPECT_EQ(s->presented, Tp(Ids().tentacle));
  EXPECT_EQ(s->current.thumbprint, Tp(Ids().tentacle));
  EXPECT_EQ(s->current.signature_algorithm, "sha256RSA");
  EXPECT_EQ(s->current.key_bits, 2048);
  EXPECT_EQ(s->current.not_after, Describe(Ids().tentacle.certificate.get()).not_after);
  EXPECT_FALSE(s->staged);
  EXPECT_FALSE(s->previous);

  auto staged = AskStageCertificate(client_, Pinned());
  ASSERT_TRUE(staged.ok());
  s = AskCertificateStatus(client_, Pinned());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->staged);
  EXPECT_EQ(s->staged->thumbprint, staged->thumbprint);
  EXPECT_EQ(s->staged->signature_algorithm, "sha256RSA");
  EXPECT_EQ(s->staged->key_bits, 2048);
  // The answer never carries a key.
  TentacleCall raw = Call(Json{{"Method", "GetCertificateStatus"}}, Ids().server);
  EXPECT_THAT(raw.answer.dump(), Not(HasSubstr("v1:")));
  EXPECT_THAT(raw.answer.dump(), Not(HasSubstr("PRIVATE")));
}

TEST_F(RotationMethodsTest, StageCertificateIsSealedInTheConfigNotPresentedAndIdempotent) {
  auto r = AskStageCertificate(client_, Pinned());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->changed);
  const std::string staged = r->thumbprint;
  EXPECT_EQ(staged.size(), 40u);
  EXPECT_NE(staged, Tp(Ids().tentacle));
  EXPECT_EQ(StoredString("Tentacle.StagedCertificateThumbprint"), staged);
  EXPECT_EQ(StoredString("Tentacle.StagedCertificate").rfind("v1:", 0), 0u);
  EXPECT_FALSE(StoredString("Tentacle.StagedPublicCertificate").empty());
  EXPECT_EQ(StoredString("Tentacle.CertificateThumbprint"), Tp(Ids().tentacle));
  // Sealed with the machine key, bound to its key's name.
  auto key = LoadKeyFile(dir_.Path("T.machinekey"));
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(Unseal(*key, StoredString("Tentacle.StagedCertificate"), "Tentacle.StagedCertificate").ok());
  EXPECT_FALSE(Unseal(*key, StoredString("Tentacle.StagedCertificate"), "Tentacle.Certificate").ok());
  // Not presented yet.
  EXPECT_EQ(agent_->thumbprint(), Tp(Ids().tentacle));
  EXPECT_TRUE(Check(Ids().server, {Tp(Ids().tentacle)}).healthy);

  const std::string before = HashFile(path_);
  auto again = AskStageCertificate(client_, Pinned());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->thumbprint, staged);
  EXPECT_EQ(HashFile(path_), before);
}

// Connects and identifies, for a connection kept open across a switch.
Result<TlsStream> OpenIdentified(const std::string& address, int port, SSL_CTX* ctx, const std::string& pin) {
  (void)address;
  auto fd = ConnectTcp({"127.0.0.1", port}, DeadlineIn(std::chrono::seconds(5)));
  if (!fd.ok()) return fd.status();
  auto s = TlsStream::Connect(std::move(fd).value(), ctx, pin, DeadlineIn(std::chrono::seconds(5)));
  if (!s.ok()) return s.status();
  const Deadline d = DeadlineIn(std::chrono::seconds(5));
  OCTO_RETURN_IF_ERROR(s->Write(std::string(kClientIdentification) + "\r\n\r\n", d));
  auto line = s->ReadLine(64, d);
  auto blank = s->ReadLine(64, d);
  if (!line.ok() || !blank.ok()) return Internal("no identification");
  return s;
}

Result<Json> Ask(TlsStream& s, const Json& request) {
  const Deadline d = DeadlineIn(std::chrono::seconds(5));
  OCTO_RETURN_IF_ERROR(s.Write(*EncodeFrame(request), d));
  auto header = s.Read(4, d);
  if (!header.ok()) return header.status();
  auto len = ParseFrameHeader(*header);
  if (!len.ok()) return len.status();
  auto payload = s.Read(*len, d);
  if (!payload.ok()) return payload.status();
  return ParseFramePayload(*payload);
}

TEST_F(RotationMethodsTest, SwitchCertificatePresentsTheStagedOneOnNewConnectionsAndKeepsThePrevious) {
  const std::string old_tp = Tp(Ids().tentacle);
  auto staged = AskStageCertificate(client_, Pinned());
  ASSERT_TRUE(staged.ok());
  const std::string new_tp = staged->thumbprint;
  auto open = OpenIdentified(address_, agent_->port(), server_ctx_.get(), old_tp);
  ASSERT_TRUE(open.ok()) << open.status().message();

  auto r = AskSwitchCertificate(client_, PinnedTo({old_tp, new_tp}), new_tp);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->thumbprint, new_tp);
  EXPECT_EQ(r->previous_thumbprint, old_tp);
  // Saved: current, previous, no staged.
  EXPECT_EQ(StoredString("Tentacle.CertificateThumbprint"), new_tp);
  EXPECT_EQ(StoredString("Tentacle.PreviousCertificateThumbprint"), old_tp);
  EXPECT_FALSE(Stored().Has("Tentacle.StagedCertificate"));
  auto inst = Instance::Open(Product::kTentacle, "T", path_);
  ASSERT_TRUE(inst.ok());
  auto loaded = inst->LoadIdentity();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(Tp(*loaded), new_tp);
  // Live: a new connection sees the new certificate (pinned to it alone);
  // the open one goes on with the old.
  const HealthResult fresh = Check(Ids().server, {new_tp});
  EXPECT_TRUE(fresh.healthy) << fresh.reason;
  EXPECT_EQ(fresh.thumbprint, new_tp);
  EXPECT_EQ(Check(Ids().server, {old_tp}).outcome, HealthOutcome::kUnexpectedCertificate);
  auto health = Ask(*open, Json{{"Method", "Health"}});
  ASSERT_TRUE(health.ok()) << health.status().message();
  EXPECT_EQ((*health)["Thumbprint"], old_tp);

  // Again: nothing changes.
  const std::string before = HashFile(path_);
  auto again = AskSwitchCertificate(client_, PinnedTo({new_tp}), new_tp);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(HashFile(path_), before);

  // Rollback: the previous one back, the new one kept as previous.
  auto back = AskSwitchCertificate(client_, PinnedTo({new_tp}), old_tp);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->changed);
  EXPECT_EQ(StoredString("Tentacle.CertificateThumbprint"), old_tp);
  EXPECT_EQ(StoredString("Tentacle.PreviousCertificateThumbprint"), new_tp);
  EXPECT_TRUE(Check(Ids().server, {old_tp}).healthy);
  agent_->Stop();
  EXPECT_THAT(log_.str(), HasSubstr("SwitchCertificate asked by the Octopus Server with the thumbprint " +
                                    Tp(Ids().server)));
  EXPECT_THAT(log_.str(), HasSubstr("new connections are presented the certificate " + new_tp));
}

TEST_F(RotationMethodsTest, SwitchCertificateToAnUnknownThumbprintChangesNothing) {
  ASSERT_TRUE(AskStageCertificate(client_, Pinned()).ok());
  const std::string before = HashFile(path_);
  auto r = AskSwitchCertificate(client_, Pinned(), std::string(40, 'A'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(HashFile(path_), before);
  EXPECT_EQ(agent_->thumbprint(), Tp(Ids().tentacle));
}

TEST_F(RotationMethodsTest, DiscardCertificateRemovesTheStagedOrThePreviousOne) {
  auto staged = AskStageCertificate(client_, Pinned());
  ASSERT_TRUE(staged.ok());
  // A guard that does not match changes nothing.
  auto wrong = AskDiscardCertificate(client_, Pinned(), CertificateSlot::kStaged, std::string(40, 'A'));
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Stored().Has("Tentacle.StagedCertificate"));

  auto d = AskDiscardCertificate(client_, Pinned(), CertificateSlot::kStaged, staged->thumbprint);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_TRUE(d->changed);
  EXPECT_EQ(d->thumbprint, staged->thumbprint);
  for (const char* key : {"Tentacle.StagedCertificate", "Tentacle.StagedCertificateThumbprint",
                          "Tentacle.StagedPublicCertificate"}) {
    EXPECT_FALSE(Stored().Has(key)) << key;
  }
  auto again = AskDiscardCertificate(client_, Pinned(), CertificateSlot::kStaged);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);

  // The previous one, after a switch.
  auto next = AskStageCertificate(client_, Pinned());
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(AskSwitchCertificate(client_, PinnedTo({Tp(Ids().tentacle), next->thumbprint}), next->thumbprint).ok());
  auto prev = AskDiscardCertificate(client_, PinnedTo({next->thumbprint}), CertificateSlot::kPrevious);
  ASSERT_TRUE(prev.ok()) << prev.status().message();
  EXPECT_TRUE(prev->changed);
  EXPECT_EQ(prev->thumbprint, Tp(Ids().tentacle));
  EXPECT_FALSE(Stored().Has("Tentacle.PreviousCertificate"));
  EXPECT_EQ(StoredString("Tentacle.CertificateThumbprint"), next->thumbprint);
  EXPECT_TRUE(Check(Ids().server, {next->thumbprint}).healthy);
}

// Bad parameters: an error answer with a code, the connection still
// served, the file untouched.
TEST_F(RotationMethodsTest, MalformedRequestsAreErrorAnswersAndChangeNothing) {
  ASSERT_TRUE(AskStageCertificate(client_, Pinned()).ok());
  const std::string before = HashFile(path_);
  const std::vector<Json> bad = {
      {{"Method", "TrustThumbprint"}},
      {{"Method", "TrustThumbprint"}, {"Thumbprint", 1}},
      {{"Method", "TrustThumbprint"}, {"Thumbprint", "not hex"}},
      {{"Method", "TrustThumbprint"}, {"Thumbprint", std::string(39, 'A')}},
      {{"Method", "TrustThumbprint"}, {"Thumbprint", std::string(40, 'A')}, {"Extra", true}},
      {{"Method", "RemoveTrust"}},
      {{"Method", "RemoveTrust"}, {"thumbprint", Tp(Ids().server)}},
      {{"Method", "GetCertificateStatus"}, {"Verbose", true}},
      {{"Method", "StageCertificate"}, {"KeySize", 1024}},
      {{"Method", "SwitchCertificate"}},
      {{"Method", "SwitchCertificate"}, {"Thumbprint", Json::array()}},
      {{"Method", "DiscardCertificate"}},
      {{"Method", "DiscardCertificate"}, {"Which", "Current"}},
      {{"Method", "DiscardCertificate"}, {"Which", "staged"}},
      {{"Method", "DiscardCertificate"}, {"Which", 1}},
      {{"Method", "DiscardCertificate"}, {"Which", "Staged"}, {"Thumbprint", "zz"}},
  };
  for (const Json& request : bad) {
    SCOPED_TRACE(request.dump());
    TentacleCall c = Call(request, Ids().server);
    EXPECT_EQ(c.outcome, HealthOutcome::kHealthy);
    EXPECT_EQ(c.status.code(), StatusCode::kInvalidArgument) << c.status.message();
    EXPECT_EQ(StringField(c.answer, "Code"), "InvalidArgument");
    EXPECT_FALSE(StringField(c.answer, "Error").empty());
  }
  EXPECT_EQ(HashFile(path_), before);
  // Lower case and colons are a thumbprint still, as on the command line.
  auto colons = AskTrustThumbprint(client_, Pinned(), "aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa");
  ASSERT_TRUE(colons.ok()) << colons.status().message();
  EXPECT_THAT(StoredTrust(), ::testing::Contains(std::string(40, 'A')));
}

// A Server the Tentacle does not trust gets no answer at all: the handshake
// is refused, nothing is changed.
TEST_F(RotationMethodsTest, AnUntrustedServerGetsNoAnswer) {
  const std::string before = HashFile(path_);
  for (const Json& request : {Json{{"Method", "TrustThumbprint"}, {"Thumbprint", Tp(Ids().stranger)}},
                              Json{{"Method", "StageCertificate"}}, Json{{"Method", "GetCertificateStatus"}}}) {
    SCOPED_TRACE(request.dump());
    TentacleCall c = Call(request, Ids().stranger);
    EXPECT_EQ(c.outcome, HealthOutcome::kAborted);
    EXPECT_EQ(c.status.code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(c.answer.is_null());
  }
  EXPECT_EQ(HashFile(path_), before);
  EXPECT_EQ(agent_->trusted()->count(Tp(Ids().stranger)), 0u);
}

// A Tentacle pinned to another certificate is not asked anything.
TEST_F(RotationMethodsTest, TheServerAsksOnlyThePinnedTentacle) {
  const std::string before = HashFile(path_);
  auto r = AskTrustThumbprint(client_, PinnedTo({std::string(40, 'B')}), Tp(Ids().stranger));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(HashFile(path_), before);
}

// A change made over the channel and commands changing the same file at
// the same time (as `configure --trust` does, through its own TrustStore
// under the config's lock): nothing is lost.
TEST_F(RotationMethodsTest, ConcurrentCommandsAndChannelChangesAllLand) {
  constexpr int kEach = 6;
  std::vector<std::string> by_channel, by_command;
  for (int i = 0; i < kEach; ++i) {
    by_channel.push_back(std::string(39, 'C') + static_cast<char>('0' + i));
    by_command.push_back(std::string(39, 'D') + static_cast<char>('0' + i));
  }
  std::thread command([&] {
    auto other = TrustStore::Open(path_);
    ASSERT_TRUE(other.ok());
    for (const auto& tp : by_command) {
      auto c = (*other)->Edit([&](ConfigFile& cfg, bool* save) {
        auto r = ApplyTrustChanges(cfg, TrustChanges{false, {}, {tp}});
        if (!r.ok()) return r.status();
        *save = r->Changed();
        return Status::Ok();
      });
      EXPECT_TRUE(c.ok());
    }
  });
  for (const auto& tp : by_channel) EXPECT_TRUE(AskTrustThumbprint(client_, Pinned(), tp).ok());
  command.join();
  const auto stored = StoredTrust();
  for (const auto& tp : by_channel) EXPECT_THAT(stored, ::testing::Contains(tp));
  for (const auto& tp : by_command) EXPECT_THAT(stored, ::testing::Contains(tp));
  // The agent's set catches up with the file (the watch is not running
  // here: a reload is what the command's notification would do).
  ASSERT_TRUE(live_->Reload("test").ok());
  EXPECT_EQ(agent_->trusted()->size(), stored.size());
}

// Without an admin (a library user that wired none) the methods are there
// but refuse, and Health is unaffected.
TEST_F(RotationMethodsTest, WithoutAnAdminTheMethodsRefuse) {
  agent_->SetAdmin(nullptr);
  TentacleCall c = Call(Json{{"Method", "StageCertificate"}}, Ids().server);
  EXPECT_EQ(c.outcome, HealthOutcome::kHealthy);
  EXPECT_EQ(c.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Stored().Has("Tentacle.StagedCertificate"));
  EXPECT_TRUE(Check(Ids().server, {Tp(Ids().tentacle)}).healthy);
}

// --- The slots themselves (certificate_slots.h) -----------------------------

TEST(CertificateSlots, KeysAreNamedAfterTheCurrentOnes) {
  const SlotKeys staged = CertificateSlotKeys(Product::kTentacle, CertificateSlot::kStaged);
  EXPECT_EQ(staged.sealed, "Tentacle.StagedCertificate");
  EXPECT_EQ(staged.thumbprint, "Tentacle.StagedCertificateThumbprint");
  EXPECT_EQ(staged.public_der, "Tentacle.StagedPublicCertificate");
  const SlotKeys previous = CertificateSlotKeys(Product::kServer, CertificateSlot::kPrevious);
  EXPECT_EQ(previous.sealed, "Octopus.Server.PreviousCertificate");
  EXPECT_EQ(previous.thumbprint, "Octopus.Server.PreviousCertificateThumbprint");
  EXPECT_EQ(previous.public_der, "Octopus.Server.PreviousPublicCertificate");
  const SlotKeys current = CertificateSlotKeys(Product::kTentacle, CertificateSlot::kCurrent);
  EXPECT_EQ(current.sealed, Traits(Product::kTentacle).certificate_key);
  EXPECT_EQ(current.thumbprint, Traits(Product::kTentacle).thumbprint_key);
  EXPECT_EQ(current.public_der, Traits(Product::kTentacle).public_certificate_key);
  for (CertificateSlot s : {CertificateSlot::kCurrent, CertificateSlot::kStaged, CertificateSlot::kPrevious}) {
    EXPECT_EQ(CertificateSlotFromName(CertificateSlotName(s)), s);
  }
  EXPECT_FALSE(CertificateSlotFromName("staged"));
}

TEST(CertificateSlots, StagingWithoutTheKeyFileFailsAndChangesNothing) {
  TempDir dir;
  const std::string path = dir.Path("tentacle-T.config");
  ConfigFile cfg = ConfigFile::New(path);
  cfg.Set(Traits(Product::kTentacle).key_file_key, dir.Path("missing.machinekey"));
  ASSERT_TRUE(cfg.Save().ok());
  auto inst = Instance::Open(Product::kTentacle, "T", path, Instance::Access::kUpdate);
  ASSERT_TRUE(inst.ok());
  auto r = StageCertificate(*inst);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(inst->config().Has("Tentacle.StagedCertificate"));
}

}  // namespace
}  // namespace octo
