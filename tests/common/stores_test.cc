// TrustStore and TargetStore (ConfigStore underneath): what the commands
// write is what the services' snapshots show; a failed or empty change
// writes nothing; another process's write is seen; a damaged file keeps the
// snapshot before it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/config/target_store.h"
#include "common/config/trust.h"
#include "common/config/trust_store.h"
#include "support/temp_dir.h"

namespace octo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::HashFile;
using testing::ReadTestFile;
using testing::TempDir;
using testing::WriteTestFile;

const std::string kA(40, 'A');
const std::string kB(40, 'B');
const std::string kC(40, 'C');

// A Tentacle config trusting `thumbprints`, written to `path`.
void WriteTentacleConfig(const std::string& path, const std::vector<std::string>& thumbprints) {
  ConfigFile cfg = ConfigFile::New(path);
  Json list = Json::array();
  for (const auto& tp : thumbprints) {
    list.push_back({{"Thumbprint", tp}, {"CommunicationStyle", kCommunicationStyleListening}});
  }
  cfg.Set(keys::kTrustedServers, list);
  cfg.Set("Unknown.Key", "kept");
  ASSERT_TRUE(cfg.Save().ok());
}

// Applies `changes` through `store`, failing the test on error.
TrustChange Apply(TrustStore& store, const TrustChanges& changes) {
  auto c = store.Edit([&](ConfigFile& cfg, bool* save) {
    auto r = ApplyTrustChanges(cfg, changes);
    if (!r.ok()) return r.status();
    *save = r->Changed();
    return Status::Ok();
  });
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : TrustChange{};
}

std::vector<std::string> Sorted(const std::set<std::string>& s) { return {s.begin(), s.end()}; }

TEST(TrustStore, OpensWithTheStoredSetAsGenerationOne) {
  TempDir dir;
  const std::string path = dir.Path("tentacle.config");
  WriteTentacleConfig(path, {kB, kA});
  auto store = TrustStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_THAT(Sorted((*store)->Current()->thumbprints), ElementsAre(kA, kB));
  EXPECT_EQ((*store)->Current()->generation, 1u);
  EXPECT_FALSE((*store)->FileChanged());
}

TEST(TrustStore, AnEditIsWrittenAndPublishedTogether) {
  TempDir dir;
  const std::string path = dir.Path("tentacle.config");
  WriteTentacleConfig(path, {kA});
  auto store = TrustStore::Open(path);
  ASSERT_TRUE(store.ok());
  TrustChange c = Apply(**store, TrustChanges{false, {kA}, {kB, kC}});
  EXPECT_THAT(c.added, ElementsAre(kB, kC));
  EXPECT_THAT(c.removed, ElementsAre(kA));
  EXPECT_EQ((*store)->Current()->generation, 2u);
  EXPECT_THAT(Sorted((*store)->Current()->thumbprints), ElementsAre(kB, kC));
  // The file says the same, keeps the key it does not know, and the store
  // knows it wrote it (no reload is due).
  auto cfg = ConfigFile::Load(path);
  ASSERT_TRUE(cfg.ok());
  auto stored = TrustedThumbprints(*cfg);
  ASSERT_TRUE(stored.ok());
  EXPECT_THAT(*stored, ElementsAre(kB, kC));
  EXPECT_EQ(*cfg->GetString("Unknown.Key"), "kept");
  EXPECT_FALSE((*store)->FileChanged());
}

TEST(TrustStore, AnEditThatChangesNothingWritesNothing) {
  TempDir dir;
  const std::string path = dir.Path("tentacle.config");
  WriteTentacleConfig(path, {kA});
  auto store = TrustStore::Open(path);
  ASSERT_TRUE(store.ok());
  const std::string before = HashFile(path);
  const auto snapshot = (*store)->Current();
  TrustChange c = Apply(**store, TrustChanges{false, {}, {kA}});  // already trusted
  EXPECT_FALSE(c.changed());
  EXPECT_EQ(HashFile(path), before);
  EXPECT_EQ((*store)->Current(), snapshot);
}

TEST(TrustStore, AFailedEditWritesNothingAndKeepsTheSnapshot) {
  TempDir dir;
  const std::string path = dir.Path("tentacle.config");
  WriteTentacleConfig(path, {kA});
  auto store = TrustStore::Open(path);
  ASSERT_TRUE(store.ok());
  const std::string before = HashFile(path);
  auto c = (*store)->Edit([&](ConfigFile& cfg, bool* save) {
    *save = true;
    return UpdateTrust(cfg, kC, kB);  // kC is not trusted: NotFound
  });
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(HashFile(path), before);
  EXPECT_EQ((*store)->Current()->generation, 1u);
}

TEST(TrustStore, AnEditThatWouldLeaveAnUnreadableListIsRefused) {
  TempDir dir;
  const std::string path = dir.Path("tentacle.config");
  WriteTentacleConfig(path, {kA});
  auto store = TrustStore::Open(path);
  ASSERT_TRUE(store.ok());
  const std::string before = HashFile(path);
  auto c = (*store)->Edit([&](ConfigFile& cfg, bool* save) {
    cfg.Set(keys::kTrustedServers, "not a list");
    *save = true;
    return Status::Ok();
  });
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(HashFile(path), before);
}

// A command holds the config's lock from before it reads the instance; its
// store edits under that lock instead of waiting for it.
TEST(TrustStore, AnEditUnderTheCallersLockDoesNotWaitForIt) {
  TempDir dir;
  const std::string path = dir.Path("tentacle.config");
  WriteTentacleConfig(path, {kA});
  auto held = LockFile(path, std::chrono::seconds(1));
  ASSERT_TRUE(held.ok());
  auto store = TrustStore::Open(path, *held);
  ASSERT_TRUE(store.ok());
  TrustChange c = Apply(**store, TrustChanges{false, {}, {kB}});
  EXPECT_THAT(c.added, ElementsAre(kB));
  // Another writer still waits for the lock (here: gives up after 100 ms).
  EXPECT_EQ(LockFile(path, std::chrono::milliseconds(100)).status().code(), StatusCode::kFailedPrecondition);
}

TEST(TrustStore, ReloadSeesAnotherProcessesWrite) {
  TempDir dir;
  const std::string path = dir.Path("tentacle.config");
  WriteTentacleConfig(path, {kA});
  auto running = TrustStore::Open(path);  // the agent's
  auto command = TrustStore::Open(path);  // a configure command's
  ASSERT_TRUE(running.ok() && command.ok());
  Apply(**command, TrustChanges{false, {}, {kB}});
  EXPECT_TRUE((*running)->FileChanged());
  auto c = (*running)->Reload();
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(c->added, ElementsAre(kB));
  EXPECT_TRUE(c->removed.empty());
  EXPECT_EQ(c->now->generation, 2u);
  EXPECT_FALSE((*running)->FileChanged());
  // A second reload of the same file changes nothing.
  auto again = (*running)->Reload();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed());
  EXPECT_EQ(again->now, c->now);
}

TEST(TrustStore, ADamagedFileKeepsTheSnapshotAndIsReportedOnce) {
  TempDir dir;
  const std::string path = dir.Path("tentacle.config");
  WriteTentacleConfig(path, {kA});
  auto store = TrustStore::Open(path);
  ASSERT_TRUE(store.ok());
  WriteTestFile(path, "{\"Tentacle.Communication.TrustedOctopusServers\": [");
  ASSERT_TRUE((*store)->FileChanged());
  auto c = (*store)->Reload();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kCorrupt);
  EXPECT_THAT(c.status().message(), HasSubstr(path));
  EXPECT_THAT(Sorted((*store)->Current()->thumbprints), ElementsAre(kA));
  EXPECT_FALSE((*store)->FileChanged());  // the watch does not report it again
}

// Two stores on one file stand for the agent and many configure commands:
// every change lands in the file, and the agent's reloads end with all of
// them, while readers take snapshots throughout (run under TSan in CI).
TEST(TrustStore, ConcurrentEditsAllLandAndReadersNeverSeeAGenerationGoBack) {
  TempDir dir;
  const std::string path = dir.Path("tentacle.config");
  WriteTentacleConfig(path, {});
  auto agent = TrustStore::Open(path);
  ASSERT_TRUE(agent.ok());
  constexpr int kWriters = 4;
  constexpr int kEach = 10;
  std::atomic<bool> done{false};
  std::atomic<bool> went_back{false};
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done.load()) {
      const uint64_t g = (*agent)->Current()->generation;
      if (g < last) went_back = true;
      last = g;
      if ((*agent)->FileChanged()) (void)(*agent)->Reload();
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto mine = TrustStore::Open(path);
      ASSERT_TRUE(mine.ok());
      for (int i = 0; i < kEach; ++i) {
        // 40 hex digits, one per writer and change: "0W0I000...".
        std::string tp = "0" + std::to_string(w) + "0" + std::to_string(i % 10) + std::to_string(i / 10);
        tp.resize(40, '0');
        Apply(**mine, TrustChanges{false, {}, {tp}});
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  ASSERT_TRUE((*agent)->Reload().ok());
  EXPECT_EQ((*agent)->Current()->thumbprints.size(), static_cast<size_t>(kWriters * kEach));
  EXPECT_FALSE(went_back.load());
  auto cfg = ConfigFile::Load(path);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(TrustedThumbprints(*cfg)->size(), static_cast<size_t>(kWriters * kEach));
}

// A Server config with the targets `list`, written to `path`.
void WriteServerConfig(const std::string& path, const std::vector<Target>& targets) {
  ConfigFile cfg = ConfigFile::New(path);
  cfg.Set(kTargetsKey, Json::array());
  for (const auto& t : targets) ASSERT_TRUE(AddTarget(cfg, t).ok());
  ASSERT_TRUE(cfg.Save().ok());
}

TEST(TargetStore, CommandsWriteAndPublishThroughTheStore) {
  TempDir dir;
  const std::string path = dir.Path("server.config");
  WriteServerConfig(path, {Target("one", "https://127.0.0.1:1", kA)});
  auto store = TargetStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_NE((*store)->Current()->Find("one"), nullptr);
  EXPECT_EQ((*store)->Current()->Find("two"), nullptr);

  ASSERT_TRUE((*store)->Add(Target("two", "https://127.0.0.1:2", std::vector<std::string>{kB, kC})).ok());
  EXPECT_EQ((*store)->Current()->generation, 2u);
  ASSERT_NE((*store)->Current()->Find("two"), nullptr);
  EXPECT_THAT((*store)->Current()->Find("two")->thumbprints, ElementsAre(kB, kC));

  PinChanges pins;
  pins.remove = {kB};
  auto report = (*store)->Update("two", pins, std::nullopt);
  ASSERT_TRUE(report.ok());
  EXPECT_THAT(report->removed, ElementsAre(kB));
  EXPECT_THAT((*store)->Current()->Find("two")->thumbprints, ElementsAre(kC));

  ASSERT_TRUE((*store)->Remove("one").ok());
  EXPECT_EQ((*store)->Current()->Find("one"), nullptr);
  EXPECT_EQ((*store)->Current()->generation, 4u);

  // What the file holds is what was published.
  auto cfg = ConfigFile::Load(path);
  ASSERT_TRUE(cfg.ok());
  auto stored = LoadTargets(*cfg);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, (*store)->Current()->targets);
}

// Under the caller's lock an edit uses the config as the store last read or
// wrote it, not the file again; unless the file changed since (a hand edit).
TEST(TargetStore, EditsUnderTheCallersLockBuildOnEachOtherAndOnHandEdits) {
  TempDir dir;
  const std::string path = dir.Path("server.config");
  WriteServerConfig(path, {Target("one", "https://127.0.0.1:1", kA)});
  auto held = LockFile(path, std::chrono::seconds(1));
  ASSERT_TRUE(held.ok());
  auto store = TargetStore::Open(path, *held);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Add(Target("two", "https://127.0.0.1:2", kB)).ok());
  PinChanges pins;
  pins.add = {kC};
  ASSERT_TRUE((*store)->Update("two", pins, std::nullopt).ok());
  WriteServerConfig(path, {Target("one", "https://127.0.0.1:1", kA), Target("two", "https://127.0.0.1:2", kB),
                           Target("by hand", "https://127.0.0.1:3", kC)});
  ASSERT_TRUE((*store)->Remove("one").ok());
  auto cfg = ConfigFile::Load(path);
  ASSERT_TRUE(cfg.ok());
  auto stored = LoadTargets(*cfg);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0], Target("two", "https://127.0.0.1:2", kB));
  EXPECT_EQ((*stored)[1].name, "by hand");
  EXPECT_EQ(*stored, (*store)->Current()->targets);
}

TEST(TargetStore, AnUpdateThatChangesNothingWritesNothing) {
  TempDir dir;
  const std::string path = dir.Path("server.config");
  WriteServerConfig(path, {Target("one", "https://127.0.0.1:1", kA)});
  auto store = TargetStore::Open(path);
  ASSERT_TRUE(store.ok());
  const std::string before = HashFile(path);
  PinChanges pins;
  pins.add = {kA};  // already pinned
  auto report = (*store)->Update("one", pins, std::nullopt);
  ASSERT_TRUE(report.ok());
  EXPECT_THAT(report->already_pinned, ElementsAre(kA));
  EXPECT_EQ(HashFile(path), before);
  EXPECT_EQ((*store)->Current()->generation, 1u);
}

TEST(TargetStore, FailedChangesWriteNothing) {
  TempDir dir;
  const std::string path = dir.Path("server.config");
  WriteServerConfig(path, {Target("one", "https://127.0.0.1:1", kA)});
  auto store = TargetStore::Open(path);
  ASSERT_TRUE(store.ok());
  const std::string before = HashFile(path);
  EXPECT_EQ((*store)->Add(Target("one", "https://127.0.0.1:9", kB)).code(), StatusCode::kAlreadyExists);
  PinChanges last;
  last.remove = {kA};
  EXPECT_EQ((*store)->Update("one", last, std::nullopt).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*store)->Remove("nobody").code(), StatusCode::kNotFound);
  EXPECT_EQ(HashFile(path), before);
  EXPECT_EQ((*store)->Current()->generation, 1u);
}

TEST(TargetStore, RefreshSeesAnotherProcessesWriteAndKeepsTheLastGoodListOnDamage) {
  TempDir dir;
  const std::string path = dir.Path("server.config");
  WriteServerConfig(path, {Target("one", "https://127.0.0.1:1", kA)});
  auto service = TargetStore::Open(path);
  auto command = TargetStore::Open(path);
  ASSERT_TRUE(service.ok() && command.ok());
  PinChanges pins;
  pins.add = {kB};
  ASSERT_TRUE((*command)->Update("one", pins, std::nullopt).ok());
  auto now = (*service)->Refresh();
  ASSERT_TRUE(now.ok());
  EXPECT_THAT((*now)->Find("one")->thumbprints, ElementsAre(kA, kB));
  // Nothing changed since: the same snapshot, without reading the file.
  auto same = (*service)->Refresh();
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, *now);

  WriteTestFile(path, "{\"Octopus.Server.DeploymentTargets\": [{\"Name\": \"one\"}]}");
  auto damaged = (*service)->Refresh();
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), StatusCode::kCorrupt);
  EXPECT_THAT((*service)->Current()->Find("one")->thumbprints, ElementsAre(kA, kB));
}

}  // namespace
}  // namespace octo
