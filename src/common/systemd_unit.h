// systemd units for the services: what `service --install` writes.
//
// The unit directory is $OCTOPUS_SYSTEMD_UNIT_DIR, else /etc/systemd/system;
// the systemctl program is $OCTOPUS_SYSTEMCTL, else "systemctl" (tests point
// both at temporary stand-ins, never at the real systemd).
#pragma once

#include <string>
#include <vector>

#include "common/instance.h"
#include "common/status.h"

namespace octo {

std::string UnitDirectory();
std::string SystemctlProgram();

// "tentacle-NAME.service" / "octopus-server-NAME.service", with characters
// systemd does not allow in unit names escaped as \xHH (systemd-escape).
std::string UnitName(Product product, const std::string& instance);

// The unit: Type=simple, ExecStart=EXE run --instance=NAME [--config=PATH],
// Restart=always.
std::string RenderUnit(Product product, const std::string& instance, const std::string& executable,
                       const std::string& config_path);

// Runs a program to completion (standard output and error inherited),
// returning its exit code.
Result<int> RunProgram(const std::vector<std::string>& argv);

}  // namespace octo
