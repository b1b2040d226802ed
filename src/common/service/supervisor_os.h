// What supervisor.cc needs from each platform's supervisor file
// (supervisor_posix.cc, supervisor_win.cc). Internal to the library.
#pragma once

#include <string>

namespace octo {

int CurrentPid();
// Writes the one start-up report line to the supervisor that started this
// process (no-op when none did); see NotifyReady/NotifyFailed.
void NotifySupervisor(const std::string& line, bool close_now);

}  // namespace octo
