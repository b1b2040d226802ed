// The Server's deployment targets (the UI's Infrastructure > Deployment
// Targets), kept in its config under "Octopus.Server.DeploymentTargets" as
// [{"Name", "Address", "Thumbprint", "Thumbprints"}].
//
// A target pins one or more thumbprints: "Thumbprints" holds the set, in
// the order given; "Thumbprint" repeats its first pin so that versions
// before pin sets go on reading the file. An entry with "Thumbprint" alone
// (as those versions write it) is a set of one. Whenever the list is
// written, every entry is written in the new form; keys this version does
// not know are kept. Not thread-safe: one ConfigFile per caller.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config/config_file.h"
#include "common/config/target.h"

namespace octo {

inline constexpr char kTargetsKey[] = "Octopus.Server.DeploymentTargets";

// The targets, their pins parsed (upper case, without repeats). Corrupt,
// naming the file (and the target, when it is known), if the list or an
// entry is malformed: a missing name or address, no pins, a pin that is not
// a thumbprint, or a "Thumbprint" that is not the first of "Thumbprints"
// (as when a version before pin sets changed it).
Result<std::vector<Target>> LoadTargets(const ConfigFile& config);

// Adds a target; its pins must already be parsed. AlreadyExists if the name
// is taken (names compare exactly); InvalidArgument if it pins nothing.
Status AddTarget(ConfigFile& config, const Target& target);

// One update-target call's changes to a target's pins, applied in this
// order: replace, then remove, then add. Thumbprints must already be parsed.
struct PinChanges {
  std::optional<std::vector<std::string>> replace;  // the whole new set
  std::vector<std::string> remove;
  std::vector<std::string> add;
};

// What UpdateTarget did, for the console.
struct PinReport {
  std::vector<std::string> removed;     // in the order asked
  std::vector<std::string> not_pinned;  // asked to remove, but were not pinned
  std::vector<std::string> added;
  std::vector<std::string> already_pinned;  // asked to add, but were pinned
  std::vector<std::string> pins;            // the set afterwards
  bool Changed() const { return !removed.empty() || !added.empty(); }
};

// Changes a target's pins and/or address. NotFound if there is no such
// target; FailedPrecondition if the change would leave it no pin. On any
// error `config` is unchanged.
Result<PinReport> UpdateTarget(ConfigFile& config, const std::string& name, const PinChanges& pins,
                               const std::optional<std::string>& address);

Status RemoveTarget(ConfigFile& config, const std::string& name);

// Checks a target name: 1-200 printable characters. InvalidArgument otherwise.
Status ValidateTargetName(const std::string& name);

}  // namespace octo
