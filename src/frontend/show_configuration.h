// `show-configuration` of both executables: the instance's settings (never
// the sealed certificate) in the real programs' three formats.
//
//   xml                <octopus-settings><set key="K">V</set>...</octopus-settings>
//   json               {"K": V, ...} with the dotted keys of the config file
//   json-hierarchical  {"Octopus": {"Home": ...}, ...}
//
// The Server defaults to xml and the Tentacle to json-hierarchical, as the
// real ones do. --file F writes the output to F instead of the console.
#pragma once

#include <string>

#include "common/config/config_file.h"
#include "frontend/cli.h"

namespace octo::cli {

void SetupShowConfiguration(CommandTable& table);

// The formats, exposed for tests.
std::string ConfigurationAsXml(const Json& flat);
Json ConfigurationHierarchical(const Json& flat);

}  // namespace octo::cli
