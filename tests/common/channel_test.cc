#include "common/channel.h"

#include <gtest/gtest.h>

namespace octo {
namespace {

TEST(Frame, EncodesLengthThenJson) {
  auto f = EncodeFrame(Json{{"Method", "Health"}});
  ASSERT_TRUE(f.ok());
  const std::string payload = R"({"Method":"Health"})";
  ASSERT_EQ(f->size(), 4 + payload.size());
  EXPECT_EQ(f->substr(0, 4), std::string("\0\0\0\x13", 4));
  EXPECT_EQ(f->substr(4), payload);
  auto len = ParseFrameHeader(f->substr(0, 4));
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(*len, payload.size());
  auto back = ParseFramePayload(f->substr(4));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)["Method"], "Health");
}

TEST(Frame, RefusesEmptyAndOversizedFrames) {
  EXPECT_EQ(ParseFrameHeader(std::string(4, '\0')).status().message(), "an empty frame");
  EXPECT_EQ(ParseFrameHeader(std::string("\x00\x01\x00\x01", 4)).status().message(),
            "a frame of 65537 bytes; at most 65536 are allowed");
  EXPECT_EQ(ParseFrameHeader(std::string("\xff\xff\xff\xff", 4)).status().message(),
            "a frame of 4294967295 bytes; at most 65536 are allowed");
  EXPECT_FALSE(ParseFrameHeader("abc").ok());
  EXPECT_TRUE(ParseFrameHeader(std::string("\x00\x01\x00\x00", 4)).ok());
  Json big = {{"x", std::string(kMaxFrame, 'a')}};
  EXPECT_FALSE(EncodeFrame(big).ok());
}

TEST(Frame, PayloadMustBeAJsonObject) {
  EXPECT_EQ(ParseFramePayload("[1]").status().message(), "the message is not a JSON object");
  EXPECT_EQ(ParseFramePayload("{").status().message(), "the message is not JSON");
  EXPECT_EQ(ParseFramePayload(std::string("\xff\xfe", 2)).status().message(), "the message is not JSON");
}

TEST(Identification, ExactLineOnly) {
  EXPECT_TRUE(CheckIdentification("MX-CLIENT 1.0", kClientIdentification).ok());
  EXPECT_EQ(CheckIdentification("MX-CLIENT 2.0", kClientIdentification).message(),
            "expected 'MX-CLIENT 1.0', got 'MX-CLIENT 2.0'");
  EXPECT_EQ(CheckIdentification(std::string("MX\x01\n", 4), kClientIdentification).message(),
            "expected 'MX-CLIENT 1.0', got 'MX?" "?'");
}

TEST(HttpWelcomePage, IsAnHttp10Response) {
  std::string page = HttpWelcomePage();
  EXPECT_EQ(page.rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
  auto body_at = page.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  std::string body = page.substr(body_at + 4);
  EXPECT_NE(page.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
}

}  // namespace
}  // namespace octo
