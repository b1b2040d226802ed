#include "common/config/instance.h"

#include <gtest/gtest.h>

#include "common/base/json.h"
#include "common/crypto/key_store.h"
#include "support/temp_dir.h"

namespace octo {
namespace {

using testing::ReadTestFile;
using testing::TempDir;

class InstanceTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::SetEnv("OCTOPUS_CONFIG_ROOT", root_.path()); }
  void TearDown() override { testing::UnsetEnv("OCTOPUS_CONFIG_ROOT"); }
  TempDir root_;
};

// `path` exists and, where files have mode bits (not Windows: ACLs), has
// mode `mode`.
void ExpectMode(const std::string& path, unsigned mode) {
  EXPECT_TRUE(FileExists(path)) << path;
#ifndef _WIN32
  EXPECT_EQ(FileModeBits(path).value_or(0) & 0777, mode) << path;
#else
  (void)mode;
#endif
}

TEST_F(InstanceTest, ConfigRootComesFromTheEnvironment) {
  EXPECT_EQ(ConfigRoot(), root_.path());
  testing::UnsetEnv("OCTOPUS_CONFIG_ROOT");
#ifdef _WIN32
  // The ProgramData known folder, as the real Windows products use it, not
  // %ProgramData% (which a service's environment may set otherwise: wine
  // gives its services C:\users\Public).
  testing::SetEnv("ProgramData", "D:\\Data");
  EXPECT_EQ(ConfigRoot(), ProgramDataDirectory() + "\\Octopus");
  EXPECT_NE(ProgramDataDirectory(), "D:\\Data");
  EXPECT_EQ(ProgramDataDirectory().substr(1), ":\\ProgramData");
#else
  EXPECT_EQ(ConfigRoot(), "/etc/octopus");
#endif
}

TEST_F(InstanceTest, ServerCreateMakesKeyCertificateConfigAndRegistryEntry) {
  auto inst = Instance::Create(Product::kServer, {"OctopusServer", {}, {}, {}});
  ASSERT_TRUE(inst.ok()) << inst.status().message();
  // Paths as the platform writes them ('\\' on Windows: file_util.h JoinPath).
  const std::string home = JoinPath(root_.Path("OctopusServer"), "OctopusServer");
  EXPECT_EQ(inst->config_path(), JoinPath(home, "octopusserver-OctopusServer.config"));
  ExpectMode(home, 0700);
  ExpectMode(inst->config_path(), 0600);
  ExpectMode(JoinPath(home, "OctopusServer.masterkey"), 0600);
  // Named as the real products name it: lower case (spaces as '-').
  EXPECT_EQ(ReadTestFile(JoinPath(root_.Path("OctopusServer"), "Instances") + kPathSeparator + "octopusserver.config"),
            "{\n  \"Name\": \"OctopusServer\",\n  \"ConfigurationFilePath\": " + Json(inst->config_path()).dump() +
                "\n}\n");
  ASSERT_TRUE(inst->HasCertificate());
  auto id = inst->LoadIdentity();
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(Describe(id->certificate.get()).subject, "CN=Octopus Portal");
  EXPECT_EQ(Thumbprint(id->certificate.get()), inst->StoredThumbprint());
  // The private key is never in the config in clear.
  std::string text = ReadTestFile(inst->config_path());
  EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
  EXPECT_NE(text.find("\"Octopus.Server.Certificate\": \"v1:"), std::string::npos);
}

TEST_F(InstanceTest, TentacleCreateHasDefaultsAndNoCertificateYet) {
  auto inst = Instance::Create(Product::kTentacle, {"Tentacle", {}, {}, {}});
  ASSERT_TRUE(inst.ok()) << inst.status().message();
  EXPECT_FALSE(inst->HasCertificate());
  EXPECT_EQ(*inst->config().GetInt(keys::kPort, 0), 10933);
  EXPECT_EQ(*inst->config().GetBool(keys::kNoListen, true), false);
  EXPECT_EQ(inst->config().GetArray(keys::kTrustedServers)->size(), 0u);
  EXPECT_EQ(inst->LoadIdentity().status().code(), StatusCode::kNotFound);
}

TEST_F(InstanceTest, CreateNeverOverwrites) {
  ASSERT_TRUE(Instance::Create(Product::kServer, {"A", {}, {}, {}}).ok());
  std::string before = ReadTestFile(root_.path() + "/OctopusServer/A/octopusserver-A.config");
  // Run again (a set-up script twice): the registered instance is used as it is.
  auto again = Instance::Create(Product::kServer, {"A", {}, {}, {}});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->adopted());
  EXPECT_EQ(ReadTestFile(root_.path() + "/OctopusServer/A/octopusserver-A.config"), before);
  // The name with another configuration file is refused.
  TempDir elsewhere;
  auto other = Instance::Create(Product::kServer, {"A", elsewhere.Path("a.config"), {}, {}});
  EXPECT_EQ(other.status().code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(elsewhere.Path("a.config")));
  EXPECT_EQ(ReadTestFile(root_.path() + "/OctopusServer/A/octopusserver-A.config"), before);
}

TEST_F(InstanceTest, OpenByNameAndByConfigPath) {
  TempDir elsewhere;
  auto made = Instance::Create(Product::kTentacle, {"T2", elsewhere.Path("t.config"), {}, {}});
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(made->config_path(), elsewhere.Path("t.config"));
  EXPECT_EQ(*made->KeyFilePath(), elsewhere.Path("T2.machinekey"));
  auto by_name = Instance::Open(Product::kTentacle, "T2", {});
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->config_path(), elsewhere.Path("t.config"));
  auto by_path = Instance::Open(Product::kTentacle, "whatever", elsewhere.Path("t.config"));
  ASSERT_TRUE(by_path.ok());
  auto missing = Instance::Open(Product::kTentacle, "Nope", {});
  EXPECT_EQ(missing.status().message(),
            "there is no Tentacle instance named 'Nope' (see list-instances; create one with create-instance)");
}

TEST_F(InstanceTest, MissingKeyFileIsReportedNotRegenerated) {
  auto inst = Instance::Create(Product::kServer, {"S", {}, {}, {}});
  ASSERT_TRUE(inst.ok());
  const std::string key = *inst->KeyFilePath();
  ASSERT_EQ(::unlink(key.c_str()), 0);
  auto id = inst->LoadIdentity();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kNotFound);
  EXPECT_NE(id.status().message().find("the Octopus Master Key file " + key + " is missing"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(key));
}

TEST_F(InstanceTest, AnotherKeyCannotOpenTheCertificate) {
  auto inst = Instance::Create(Product::kServer, {"S", {}, {}, {}});
  ASSERT_TRUE(inst.ok());
  const std::string key = *inst->KeyFilePath();
  ASSERT_EQ(::unlink(key.c_str()), 0);
  ASSERT_TRUE(CreateKeyFile(key).ok());
  auto id = inst->LoadIdentity();
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(InstanceTest, RegistryListsAndRemoves) {
  ASSERT_TRUE(Instance::Create(Product::kTentacle, {"B", {}, {}, {}}).ok());
  ASSERT_TRUE(Instance::Create(Product::kTentacle, {"A", {}, {}, {}}).ok());
  InstanceRegistry reg(Product::kTentacle);
  auto list = reg.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "A");
  EXPECT_EQ((*list)[1].name, "B");
  ASSERT_TRUE(reg.Remove("A").ok());
  EXPECT_EQ(reg.List()->size(), 1u);
  EXPECT_EQ(reg.Remove("A").code(), StatusCode::kNotFound);
  EXPECT_EQ(InstanceRegistry(Product::kServer).List()->size(), 0u);
}

TEST_F(InstanceTest, RegistryFilesAreNamedAsTheRealProductsNameThem) {
  ASSERT_TRUE(Instance::Create(Product::kTentacle, {"My Tentacle", {}, {}, {}}).ok());
  const std::string dir = JoinPath(root_.Path("Tentacle"), "Instances");
  EXPECT_TRUE(FileExists(JoinPath(dir, "my-tentacle.config")));
  InstanceRegistry reg(Product::kTentacle);
  auto found = reg.Find("my tentacle");  // matched without regard to case, as the real products match
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->name, "My Tentacle");
  EXPECT_EQ(reg.Find("my-tentacle").status().code(), StatusCode::kNotFound);  // its file, not its name
  EXPECT_EQ(Instance::Create(Product::kTentacle, {"my-tentacle", {}, {}, {}}).status().code(),
            StatusCode::kAlreadyExists);

  // A registry file of an earlier version, under the name as given.
  const auto config = found->config_path;
  testing::WriteTestFile(JoinPath(dir, "Old One.config"),
                "{\"Name\": \"Old One\", \"ConfigurationFilePath\": " + Json(config).dump() + "}\n");
  auto old = reg.Find("Old One");
  ASSERT_TRUE(old.ok()) << old.status().message();
  EXPECT_EQ(old->config_path, config);
  auto list = reg.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "My Tentacle");
  EXPECT_EQ((*list)[1].name, "Old One");
  ASSERT_TRUE(reg.Remove("Old One").ok());
  EXPECT_FALSE(FileExists(JoinPath(dir, "Old One.config")));
  EXPECT_EQ(reg.List()->size(), 1u);
}

TEST(ValidateInstanceName, AcceptsAndRejects) {
  for (const char* good : {"Tentacle", "My Tentacle", "t-1.prod_2"}) EXPECT_TRUE(ValidateInstanceName(good).ok()) << good;
  for (const char* bad : {"", ".hidden", " lead", "a/b", "../x", "Instances", "tab\there"}) {
    EXPECT_EQ(ValidateInstanceName(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateInstanceName(std::string(101, 'a')).ok());
}

}  // namespace
}  // namespace octo
