// systemd units for the services: what `service --install` writes, named and
// shaped as the real Linux Tentacle writes them (LinuxServiceConfigurator):
// /etc/systemd/system/<instance>.service, ExecStart=EXE run
// --instance=<instance> --noninteractive, User=root, After=network.target.
//
// The unit directory is $OCTOPUS_SYSTEMD_UNIT_DIR, else /etc/systemd/system;
// the systemctl program is $OCTOPUS_SYSTEMCTL, else "systemctl" (tests point
// both at temporary stand-ins, never at the real systemd). Other directories
// searched for a unit of the same name (a clash) are
// $OCTOPUS_SYSTEMD_SEARCH_PATH (colon-separated); when it is unset, systemd's
// own directories if the unit directory is the default, else none.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config/instance.h"
#include "common/base/status.h"
#include "common/service/supervisor.h"  // RunProgram

namespace octo {

std::string UnitDirectory();
std::string SystemctlProgram();

// "<instance>.service" with whitespace runs replaced by '-', as the real
// product names it (instance "Tentacle" -> "Tentacle.service"). Fails when the
// result cannot name a systemd unit (it would start with '-').
Result<std::string> UnitName(const std::string& instance);

// The names earlier versions of this project used ("tentacle-NAME.service",
// "octopus-server-NAME.service"), recognised so an upgrade can move a unit.
std::string LegacyUnitName(Product product, const std::string& instance);

struct UnitSettings {
  std::string user = "root";    // User=
  std::string depend_on;        // added to After= (the real --dependOn)
  std::string config_path;      // --config=PATH on ExecStart when not empty
};

// The unit text.
std::string RenderUnit(Product product, const std::string& instance, const std::string& executable,
                       const UnitSettings& settings);

// An existing unit file of a given name.
struct ExistingUnit {
  std::string path;
  bool ours = false;  // it runs `run --instance=INSTANCE` of this product's executable
};

// Looks for `unit_name` in the unit directory, then in the search path.
// Returns nothing when no such file exists.
std::optional<ExistingUnit> FindUnit(const std::string& unit_name, Product product, const std::string& instance);

// Whether a unit's text runs this product's executable for `instance`.
bool UnitRunsInstance(const std::string& unit_text, Product product, const std::string& instance);


}  // namespace octo
