// The Server's deployment targets (the UI's Infrastructure > Deployment
// Targets), kept in its config under "Octopus.Server.DeploymentTargets" as
// [{"Name", "Address", "Thumbprint"}]. Each target pins one thumbprint.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config_file.h"
#include "common/health_check.h"

namespace octo {

inline constexpr char kTargetsKey[] = "Octopus.Server.DeploymentTargets";

// Corrupt if the list or an entry is malformed.
Result<std::vector<Target>> LoadTargets(const ConfigFile& config);

// Adds a target. AlreadyExists if the name is taken (names compare exactly).
Status AddTarget(ConfigFile& config, const Target& target);

// Changes a target's thumbprint and/or address. NotFound if absent.
Status UpdateTarget(ConfigFile& config, const std::string& name, const std::optional<std::string>& thumbprint,
                    const std::optional<std::string>& address);

Status RemoveTarget(ConfigFile& config, const std::string& name);

// Checks a target name: 1-200 printable characters. InvalidArgument otherwise.
Status ValidateTargetName(const std::string& name);

}  // namespace octo
