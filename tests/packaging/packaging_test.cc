// The Debian packages of cmake/Packaging.cmake, as a user gets them: built
// with cpack from this build tree, installed with dpkg, used, removed.
// Hermetic: dpkg installs into a temporary root (--root, its own admin
// directory and log, maintainer scripts run without chroot and act under
// DPKG_ROOT), instances live under ROOT/etc/octopus, units under
// ROOT/etc/systemd/system, and systemctl is a stand-in. Nothing outside the
// temporary directories is touched. dpkg and cpack are required: without
// them the tests fail (scripts/install-deps.sh installs them).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <set>

#include "packaging/listening_script.h"
#include "support/cli_fixture.h"
#include "support/fake_systemctl.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace octo::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kVersion = OCTO_PROJECT_VERSION;

struct Product {
  std::string package, component, exe, dir;  // dir: under /opt/octopus
};
const Product kTentacle{"tentacle", "tentacle", "Tentacle", "tentacle"};
const Product kServer{"octopus-server", "server", "Octopus.Server", "server"};

// Every path (relative to the root, directories with a trailing '/') that a
// package lays out, for comparison with what is on disk.
std::set<std::string> PackageTree(const Product& p) {
  std::set<std::string> t = {"opt/",
                             "opt/octopus/",
                             "opt/octopus/" + p.dir + "/",
                             "opt/octopus/" + p.dir + "/" + p.exe,
                             "usr/",
                             "usr/bin/",
                             "usr/bin/" + p.exe,
                             "usr/share/",
                             "usr/share/doc/",
                             "usr/share/doc/" + p.package + "/",
                             "usr/share/doc/" + p.package + "/README.md",
                             "usr/share/doc/" + p.package + "/copyright",
                             "usr/share/doc/" + p.package + "/docs/"};
  for (const auto& e : fs::directory_iterator(std::string(OCTO_SOURCE_DIR) + "/docs")) {
    if (e.path().extension() == ".md") {
      t.insert("usr/share/doc/" + p.package + "/docs/" + e.path().filename().string());
    }
  }
  return t;
}

// What is under `root`, in PackageTree's form; what is inside the `skip`
// directories ("dir/") is left out (the directories themselves are listed).
std::set<std::string> TreeUnder(const std::string& root,
                                const std::vector<std::string>& skip = {}) {
  std::set<std::string> t;
  if (!fs::exists(root)) return t;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    if (it->is_directory() && !it->is_symlink()) rel += "/";
    bool skipped = false;
    for (const auto& s : skip) skipped = skipped || (rel.starts_with(s) && rel != s);
    if (!skipped) t.insert(rel);
  }
  return t;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Hash of every file under `dir`, by path.
std::map<std::string, std::string> Hashes(const std::string& dir) {
  std::map<std::string, std::string> h;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) h[e.path().string()] = HashFile(e.path().string());
  }
  return h;
}

// Fails the test (a requirement, never a skip) when a tool is missing.
void RequireTools() {
  for (const char* tool : {"dpkg", "dpkg-deb", "dpkg-query"}) {
    ASSERT_TRUE(HaveProgram(tool))
        << tool << " is not installed: the packaging tests need it "
        << "(Debian package 'dpkg'; scripts/install-deps.sh installs it)";
  }
  ASSERT_TRUE(fs::exists(OCTO_CPACK_COMMAND))
      << "cpack (" << OCTO_CPACK_COMMAND << ") is missing: the packaging tests need CMake's cpack";
}

class Packaging : public ::testing::Test {
 protected:
  // Runs a command that must succeed, with the hermetic environment.
  ProcessResult Must(const std::vector<std::string>& argv, int timeout_seconds = 120) {
    ProcessOptions o;
    o.env = Env();
    o.timeout_seconds = timeout_seconds;
    auto r = RunProcess(argv, o);
    EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(argv) << "\n" << r.out << r.err;
    return r;
  }
  std::map<std::string, std::string> Env() const {
    return {{"OCTOPUS_CONFIG_ROOT", Root("etc/octopus")},
            {"OCTOPUS_SYSTEMD_UNIT_DIR", Root("etc/systemd/system")},
            {"OCTOPUS_SYSTEMCTL", systemctl_.path()}};
  }
  std::string Root(const std::string& rel = "") const {
    return root_ + (rel.empty() ? "" : "/" + rel);
  }
  std::vector<std::string> Dpkg(std::vector<std::string> args) const {
    std::vector<std::string> argv = {"dpkg",
                                     "--root=" + root_,
                                     "--admindir=" + Root("var/lib/dpkg"),
                                     "--log=" + work_.Path("dpkg.log"),
                                     "--force-not-root",
                                     "--force-script-chrootless",
                                     "--force-depends"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Builds both packages into DIR/out with cpack; returns their paths.
  std::map<std::string, std::string> BuildPackages() {
    const std::string out = work_.Path("out");
    auto r = Must({OCTO_CPACK_COMMAND, "--config",
                   std::string(OCTO_BUILD_DIR) + "/CPackConfig.cmake", "-B", out},
                  300);
    std::map<std::string, std::string> debs;
    for (const auto& e : fs::directory_iterator(out)) {
      if (e.path().extension() == ".deb") {
        auto name = e.path().filename().string();
        debs[name.substr(0, name.find('_'))] = e.path().string();
      }
    }
    EXPECT_EQ(debs.size(), 2u) << r.out;
    return debs;
  }

  // Fields of a package's control file.
  std::string Field(const std::string& deb, const std::string& field) {
    auto r = Must({"dpkg-deb", "--field", deb, field});
    return r.out.substr(0, r.out.find_last_not_of('\n') + 1);
  }

  void CheckInstalled(const Product& p) {
    SCOPED_TRACE(p.package);
    const std::string exe = Root("opt/octopus/" + p.dir + "/" + p.exe);
    EXPECT_EQ(Mode(exe), 0755u) << exe;
    auto version = Must({exe, "version"});
    EXPECT_EQ(version.out, p.exe + " " + kVersion + "\n");
    const std::string link = Root("usr/bin/" + p.exe);
    ASSERT_TRUE(fs::is_symlink(link)) << link;
    EXPECT_EQ(fs::read_symlink(link).string(), "/opt/octopus/" + p.dir + "/" + p.exe);

    const std::string doc = Root("usr/share/doc/" + p.package);
    EXPECT_EQ(HashFile(doc + "/README.md"), HashFile(std::string(OCTO_SOURCE_DIR) + "/README.md"));
    EXPECT_EQ(Mode(doc + "/README.md"), 0644u);
    for (const auto& e : fs::directory_iterator(std::string(OCTO_SOURCE_DIR) + "/docs")) {
      if (e.path().extension() != ".md") continue;
      EXPECT_EQ(HashFile(doc + "/docs/" + e.path().filename().string()),
                HashFile(e.path().string()))
          << e.path().filename();
    }
    auto copyright = SplitLines(ReadTestFile(doc + "/copyright"));
    EXPECT_THAT(copyright, Contains("License: MIT"));
    EXPECT_THAT(copyright, Contains(" Copyright (c) 2026 The octopus-certificates authors"));
    EXPECT_THAT(
        copyright,
        Contains(" THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR"));

    auto status = Must({"dpkg-query", "--admindir=" + Root("var/lib/dpkg"), "--show",
                        "--showformat=${Status}", p.package});
    EXPECT_EQ(status.out, "install ok installed");
  }

  TempDir work_;
  TempDir bin_;
  FakeSystemctl systemctl_{bin_.path()};
  std::string root_ = work_.Path("root");
};

TEST_F(Packaging, BuildsInstallsRunsAndRemovesBothPackages) {
  RequireTools();
  auto debs = BuildPackages();
  ASSERT_TRUE(debs.count("tentacle") && debs.count("octopus-server"))
      << ::testing::PrintToString(debs);

  // The control fields a user (and apt) sees.
  const std::string arch = Must({"dpkg", "--print-architecture"}).out;
  for (const Product& p : {kTentacle, kServer}) {
    SCOPED_TRACE(p.package);
    const std::string& deb = debs[p.package];
    EXPECT_EQ(fs::path(deb).filename().string(),
              p.package + "_" + kVersion + "_" + arch.substr(0, arch.size() - 1) + ".deb");
    EXPECT_EQ(Field(deb, "Package"), p.package);
    EXPECT_EQ(Field(deb, "Version"), kVersion);
    const std::string depends = Field(deb, "Depends");
    EXPECT_THAT(depends, HasSubstr("libc6 (>="));
    EXPECT_THAT(depends, HasSubstr("libssl3 (>="));
    // The C++ runtime is linked in, except in sanitizer builds: libstdc++6
    // is a dependency exactly when the executable loads it.
    auto ldd = Must({"ldd", p.package == "tentacle" ? TentacleBin() : ServerBin()});
    if (ldd.out.find("libstdc++") == std::string::npos) {
      EXPECT_THAT(depends, ::testing::Not(HasSubstr("libstdc++")));
    } else {
      EXPECT_THAT(depends, HasSubstr("libstdc++6 (>="));
    }
  }

  // Install both into the temporary root, with dpkg's database there.
  for (const char* dir : {"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"}) {
    fs::create_directories(Root(dir));
  }
  WriteTestFile(Root("var/lib/dpkg/status"), "");
  WriteTestFile(Root("var/lib/dpkg/available"), "");
  auto install = Must(Dpkg({"--install", debs["tentacle"], debs["octopus-server"]}));
  // postinst says how to set up an instance.
  EXPECT_THAT(install.OutLines(), Contains("To set up a Tentacle instance, run:"));
  EXPECT_THAT(install.OutLines(),
              Contains("    Tentacle service --instance Tentacle --install --start"));
  EXPECT_THAT(install.OutLines(), Contains("To set up an Octopus Server instance, run:"));
  EXPECT_TRUE(systemctl_.Calls().empty()) << "installing the packages starts nothing";

  std::set<std::string> expected = PackageTree(kTentacle);
  expected.merge(PackageTree(kServer));
  expected.insert("var/");
  EXPECT_EQ(TreeUnder(root_, {"var/"}), expected)
      << "only the packages' files, and dpkg's database in var/";
  CheckInstalled(kTentacle);
  CheckInstalled(kServer);

  // A Server instance, and the published script through the installed Tentacle.
  const std::string server = Root("opt/octopus/server/Octopus.Server");
  Must({server, "create-instance", "--instance", "OctopusServer"});
  const std::string server_thumbprint = JsonField(
      Must({server, "show-thumbprint", "--instance", "OctopusServer", "--format", "json"}).out,
      "Thumbprint");
  ListeningScriptSetup script;
  script.tentacle = Root("opt/octopus/tentacle/Tentacle");
  script.server_thumbprint = server_thumbprint;
  script.config_path = Root("etc/octopus/default/tentacle-default.config");
  script.application_path = Root("home/Octopus/Applications/");
  script.config_root = Root("etc/octopus");
  script.unit_dir = Root("etc/systemd/system");
  script.systemctl = &systemctl_;
  script.script_path = work_.Path("linux-tentacle-listening.sh");
  RunListeningScriptAndCheck(script);
  const auto instance_files = Hashes(Root("etc/octopus"));
  ASSERT_FALSE(instance_files.empty());

  // Removal: prerm takes the Tentacle's unit away (stop, disable, remove),
  // then dpkg removes every file of both packages. The instances stay.
  systemctl_.ClearCalls();
  auto remove = Must(Dpkg({"--remove", "tentacle", "octopus-server"}));
  EXPECT_THAT(remove.OutLines(), ::testing::IsSupersetOf({"Removing systemd service: Tentacle",
                                                          "Service uninstalled"}));
  EXPECT_THAT(systemctl_.Calls(),
              ElementsAre("stop Tentacle.service", "disable Tentacle.service", "daemon-reload"));
  EXPECT_FALSE(fs::exists(Root("etc/systemd/system/Tentacle.service")));
  EXPECT_FALSE(fs::exists(Root("opt")));
  EXPECT_FALSE(fs::exists(Root("usr")));
  EXPECT_EQ(Hashes(Root("etc/octopus")), instance_files) << "the instances' files are the user's";
  // Left: the instances, the application directory the script configured,
  // dpkg's own database, and the (now empty) unit directory that
  // `service --install` made.
  std::set<std::string> left =
      TreeUnder(root_, {"etc/octopus/", "home/Octopus/Applications/", "var/lib/dpkg/"});
  EXPECT_THAT(left, ElementsAre("etc/", "etc/octopus/", "etc/systemd/", "etc/systemd/system/",
                                "home/", "home/Octopus/", "home/Octopus/Applications/", "var/",
                                "var/lib/", "var/lib/dpkg/"));
  for (const Product& p : {kTentacle, kServer}) {
    auto r = RunProcess({"dpkg-query", "--admindir=" + Root("var/lib/dpkg"), "--show",
                         "--showformat=${Status}", p.package});
    EXPECT_NE(r.out, "install ok installed") << p.package;
  }
}

// `cmake --install` to a prefix lays out the packages' tree under it.
TEST_F(Packaging, CmakeInstallToAPrefixLaysOutTheSameTree) {
  const std::string prefix = work_.Path("stage");
  Must({OCTO_CMAKE_COMMAND, "--install", OCTO_BUILD_DIR, "--prefix", prefix});
  std::set<std::string> expected = PackageTree(kTentacle);
  expected.merge(PackageTree(kServer));
  EXPECT_EQ(TreeUnder(prefix), expected);
  for (const Product& p : {kTentacle, kServer}) {
    const std::string exe = prefix + "/opt/octopus/" + p.dir + "/" + p.exe;
    EXPECT_EQ(Mode(exe), 0755u) << exe;
    EXPECT_EQ(Must({exe, "version"}).out, p.exe + " " + kVersion + "\n");
    EXPECT_EQ(fs::read_symlink(prefix + "/usr/bin/" + p.exe).string(),
              "/opt/octopus/" + p.dir + "/" + p.exe);
  }
}

}  // namespace
}  // namespace octo::testing
