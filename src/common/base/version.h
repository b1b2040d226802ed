// The project's version, set by CMake.
#pragma once

namespace octo {
const char* ProjectVersion();
}  // namespace octo
