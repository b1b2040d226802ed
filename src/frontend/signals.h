// Stop signals for the service processes: block SIGTERM, SIGINT and SIGHUP
// before any thread starts (so every thread inherits the mask), then wait
// for one of them on the main thread. On Windows: Ctrl+C, Ctrl+Break, the
// console closing and the service's stop event (signals_win.cc).
#pragma once

namespace octo::cli {

void BlockStopSignals();
// Returns the signal number received.
int WaitForStopSignal();

}  // namespace octo::cli
