// Stop requests for the service processes on Windows (signals_posix.cc on
// POSIX): Ctrl+C, Ctrl+Break and the console closing, and the service's
// stop event (StopEventName), which StopService and the Service Control
// Manager's stop set.
#include "frontend/signals.h"

#include <csignal>

#include "common/base/win32.h"
#include "common/service/supervisor.h"

namespace octo::cli {
namespace {

HANDLE g_stop = nullptr;
volatile LONG g_signal = SIGTERM;

BOOL WINAPI OnConsoleEvent(DWORD type) {
  g_signal = type == CTRL_C_EVENT ? SIGINT : type == CTRL_BREAK_EVENT ? SIGBREAK : SIGTERM;
  if (g_stop != nullptr) ::SetEvent(g_stop);
  return TRUE;  // handled: the main thread shuts down in order
}

}  // namespace

void BlockStopSignals() {
  if (g_stop != nullptr) return;
  const int pid = static_cast<int>(::GetCurrentProcessId());
  g_stop = ::CreateEventW(nullptr, TRUE, FALSE, Wide(StopEventName(pid)).c_str());
  if (g_stop == nullptr) g_stop = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);  // Ctrl+C still works
  ::SetConsoleCtrlHandler(OnConsoleEvent, TRUE);
}

int WaitForStopSignal() {
  if (g_stop == nullptr) BlockStopSignals();
  ::WaitForSingleObject(g_stop, INFINITE);
  return g_signal;
}

}  // namespace octo::cli
