// A deployment target: a listening Tentacle the Server checks, and the
// thumbprints it pins. Kept in the Server's config (see targets.h) and read
// by the health checks (see channel/health_check.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace octo {

// It pins one or more thumbprints: the Tentacle is accepted when it
// presents any of them (two during a certificate rotation: the old and the
// new). An empty set accepts nothing.
struct Target {
  Target() = default;
  Target(std::string name, std::string address, std::vector<std::string> thumbprints)
      : name(std::move(name)), address(std::move(address)), thumbprints(std::move(thumbprints)) {}
  // A target pinning the one thumbprint `thumbprint`.
  Target(std::string name, std::string address, std::string thumbprint)
      : Target(std::move(name), std::move(address), std::vector<std::string>{std::move(thumbprint)}) {}

  std::string name;
  std::string address;                   // https://HOST:PORT
  std::vector<std::string> thumbprints;  // the pins, upper case, in the order given

  bool operator==(const Target&) const = default;
};

}  // namespace octo
