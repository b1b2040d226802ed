// Stop signals for the service processes: block SIGTERM, SIGINT and SIGHUP
// before any thread starts (so every thread inherits the mask), then wait
// for one of them on the main thread.
#pragma once

namespace octo::cli {

void BlockStopSignals();
// Returns the signal number received.
int WaitForStopSignal();

}  // namespace octo::cli
