// Status codes by name, and the service's start-up report carrying its code
// to the starter (supervisor.h), so that "already running" is a code.
#include "common/base/status.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "common/service/supervisor.h"

namespace octo {
namespace {

TEST(StatusCode, EveryCodeHasANameThatReadsBack) {
  for (int i = 0; i <= static_cast<int>(StatusCode::kUnavailable); ++i) {
    const auto code = static_cast<StatusCode>(i);
    SCOPED_TRACE(StatusCodeName(code));
    EXPECT_EQ(StatusCodeFromName(StatusCodeName(code)), code);
  }
  EXPECT_STREQ(StatusCodeName(StatusCode::kDeadlineExceeded), "DeadlineExceeded");
  EXPECT_STREQ(StatusCodeName(StatusCode::kUnavailable), "Unavailable");
  EXPECT_EQ(StatusCodeFromName("Nonsense"), std::nullopt);
}

TEST(StatusCode, NewHelpersMakeTheirCodes) {
  EXPECT_EQ(DeadlineExceeded("timed out").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(DeadlineExceeded("timed out").message(), "timed out");
  EXPECT_EQ(Unavailable("x").code(), StatusCode::kUnavailable);
}

TEST(ParseErrorLine, CarriesTheCodeAndTheMessage) {
  const Status st = ParseErrorLine("ERROR AlreadyExists the Tentacle service for instance 'T' is already running (pid 7)\n");
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(st.message(), "the Tentacle service for instance 'T' is already running (pid 7)");
  const Status internal = ParseErrorLine("ERROR Internal cannot listen on *:10933: Address already in use\n");
  EXPECT_EQ(internal.code(), StatusCode::kInternal);
  EXPECT_EQ(internal.message(), "cannot listen on *:10933: Address already in use");
}

TEST(ParseErrorLine, ALineWithoutACodeIsFailedPreconditionWithTheWholeText) {
  const Status st = ParseErrorLine("ERROR something went wrong\n");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "something went wrong");
  EXPECT_EQ(ParseErrorLine("ERROR Ok but not really").code(), StatusCode::kFailedPrecondition);
}

// The service's side: NotifyFailed writes the code's name before the text,
// on one line.
TEST(NotifyFailed, WritesTheCodeAndTheMessageOnOneLine) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ASSERT_EQ(::setenv(kReadyFdVariable, std::to_string(fds[1]).c_str(), 1), 0);
  NotifyFailed(AlreadyExists("it is already running\n(pid 7)"));
  ::close(fds[1]);
  char buf[256];
  const ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  ASSERT_GT(n, 0);
  const std::string line(buf, static_cast<size_t>(n));
  EXPECT_EQ(line, "ERROR AlreadyExists it is already running (pid 7)\n");
  EXPECT_EQ(ParseErrorLine(line).code(), StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace octo
