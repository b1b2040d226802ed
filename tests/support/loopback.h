// Loopback sockets for the tests that drive the socket seam (net.h) and
// the reactor directly, on Linux and Windows alike.
#pragma once

#include "common/base/net.h"

namespace octo::testing {

// Accepts one connection on `listener` within 5 s, non-blocking; an
// invalid Fd otherwise.
Fd AcceptOne(const Fd& listener);

// A connected pair of loopback sockets.
struct Pair {
  Fd a;  // the connecting side
  Fd b;  // the accepted side
};
// Fails the test (and gives invalid Fds) when it cannot be made.
Pair Connected();

}  // namespace octo::testing
