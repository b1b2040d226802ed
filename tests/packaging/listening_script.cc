#include "packaging/listening_script.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/temp_dir.h"

namespace octo::testing {
namespace {

using ::testing::ElementsAre;

constexpr char kPublishedTentacle[] = "/opt/octopus/tentacle/Tentacle";

// Replaces the one line of `text` that is exactly `line`.
void ReplaceLine(std::string& text, const std::string& line, const std::string& replacement) {
  const std::string needle = "\n" + line + "\n";
  size_t at = text.find(needle);
  ASSERT_NE(at, std::string::npos) << "the published script has no line: " << line;
  ASSERT_EQ(text.find(needle, at + 1), std::string::npos) << "the line is there twice: " << line;
  text.replace(at + 1, line.size(), replacement);
}

// A shell word in single quotes.
std::string Quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

std::string PublishedListeningScript() {
  return ReadTestFile(std::string(OCTO_TEST_DATA_DIR) + "/linux-tentacle-listening.sh");
}

std::string PrepareListeningScript(const ListeningScriptSetup& setup) {
  std::string script = PublishedListeningScript();
  ReplaceLine(script, "thumbprint=\"\"", "thumbprint=" + Quoted(setup.server_thumbprint));
  ReplaceLine(script, "configFilePath=\"/etc/octopus/default/tentacle-default.config\"",
              "configFilePath=" + Quoted(setup.config_path));
  ReplaceLine(script, "applicationPath=\"/home/Octopus/Applications/\"",
              "applicationPath=" + Quoted(setup.application_path));
  // Every command runs our executable in place of the published path.
  int commands = 0;
  for (size_t at = 0; (at = script.find(kPublishedTentacle, at)) != std::string::npos;) {
    script.replace(at, std::strlen(kPublishedTentacle), setup.tentacle);
    at += setup.tentacle.size();
    ++commands;
  }
  EXPECT_EQ(commands, 6)
      << "create-instance, new-certificate, configure twice, register-with, service";
  const std::string register_with = setup.tentacle +
                                    " register-with --server \"$serverUrl\" --apiKey \"$apiKey\" "
                                    "--space \"$spaceName\" --name \"$name\" "
                                    "--env \"$environment\" --role \"$role\"";
  ReplaceLine(script, register_with, "# (not run by the test) " + register_with);
  return script;
}

void RunListeningScriptAndCheck(const ListeningScriptSetup& setup) {
  ASSERT_NE(setup.systemctl, nullptr);
  WriteTestFile(setup.script_path, PrepareListeningScript(setup));
  setup.systemctl->ClearCalls();

  ProcessOptions options;
  options.env["OCTOPUS_CONFIG_ROOT"] = setup.config_root;
  options.env["OCTOPUS_SYSTEMD_UNIT_DIR"] = setup.unit_dir;
  options.env["OCTOPUS_SYSTEMCTL"] = setup.systemctl->path();
  options.env["HOSTNAME"] = "web01";
  options.timeout_seconds = 120;
  auto r = RunProcess({"bash", setup.script_path}, options);

  // The script has no `set -e`: its exit code is only the last command's, so
  // every step is checked by what it printed and what it left behind.
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "") << "a step failed or warned";

  const std::string home = std::filesystem::path(setup.config_path).parent_path().string();
  const std::string unit_file = setup.unit_dir + "/Tentacle.service";
  ProcessOptions show;
  show.env["OCTOPUS_CONFIG_ROOT"] = setup.config_root;
  auto thumb = RunProcess({setup.tentacle, "show-thumbprint", "--instance", "Tentacle"}, show);
  ASSERT_EQ(thumb.exit_code, 0) << thumb.out << thumb.err;
  const std::string tentacle_thumbprint = thumb.out.substr(0, thumb.out.find('\n'));
  ASSERT_EQ(tentacle_thumbprint.size(), 40u) << thumb.out;

  EXPECT_THAT(
      r.OutLines(),
      ElementsAre(
          // create-instance --config "$configFilePath"
          "Creating installation for instance 'Tentacle'...", "Saving instance: Tentacle",
          "Configuration file: " + setup.config_path,
          "The Tentacle machine key was written to " + home + "/Tentacle.machinekey.",
          // new-certificate --if-blank
          "A new certificate has been generated and installed. Thumbprint:", tentacle_thumbprint,
          "These changes require a restart of the Tentacle.",
          // configure --port 10933 --noListen False --reset-trust --app "$applicationPath"
          "Removing all trusted Octopus Servers...", "Services listen port: 10933",
          "Tentacle will listen on a TCP port",
          "Application directory set to: " + std::filesystem::path(setup.application_path).string(),
          "These changes require a restart of the Tentacle.",
          // configure --trust $thumbprint
          "Adding 1 trusted Octopus Servers", "These changes require a restart of the Tentacle.",
          // the script's own echo before register-with
          "Registering the Tentacle web01 with server https://my-octopus in environment Test with "
          "role web server",
          // service --install --start
          "Service installed: Tentacle", "Service started: Tentacle"));

  // The configuration: the certificate, port 10933, listening, only the Server trusted.
  auto config = nlohmann::json::parse(ReadTestFile(setup.config_path), nullptr, false);
  ASSERT_TRUE(config.is_object()) << setup.config_path;
  EXPECT_TRUE(config.contains("Tentacle.Certificate") &&
              config["Tentacle.Certificate"].is_string());
  EXPECT_EQ(config.value("Tentacle.CertificateThumbprint", ""), tentacle_thumbprint);
  EXPECT_EQ(config.value("Tentacle.Services.PortNumber", 0), 10933);
  EXPECT_EQ(config.value("Tentacle.Services.NoListen", true), false);
  std::vector<std::string> trusted;
  for (const auto& entry :
       config.value("Tentacle.Communication.TrustedOctopusServers", nlohmann::json::array())) {
    trusted.push_back(entry.value("Thumbprint", ""));
  }
  EXPECT_THAT(trusted, ElementsAre(setup.server_thumbprint));

  // configure --app makes the application directory, as the real one does.
  EXPECT_TRUE(std::filesystem::is_directory(setup.application_path)) << setup.application_path;

  // The systemd unit, named after the instance as the real Linux Tentacle names it.
  ASSERT_TRUE(std::filesystem::exists(unit_file)) << unit_file;
  const std::string exe = std::filesystem::canonical(setup.tentacle).string();
  auto unit = SplitLines(ReadTestFile(unit_file));
  EXPECT_THAT(
      unit, ::testing::Contains("ExecStart=" + exe + " run --instance=Tentacle --noninteractive"));
  EXPECT_THAT(unit, ::testing::Contains("User=root"));
  EXPECT_THAT(unit, ::testing::Contains("After=network.target"));
  EXPECT_THAT(setup.systemctl->Calls(),
              ElementsAre("daemon-reload", "enable Tentacle.service", "start Tentacle.service"));
}

}  // namespace octo::testing
