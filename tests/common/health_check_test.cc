#include "common/channel/health_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace octo {
namespace {

const std::string kA(40, 'A');
const std::string kB(40, 'B');
const std::string kC(40, 'C');

// Halibut's text after the expected part, spelled out so that a change is caught.
const std::string kRest =
    "'. This usually happens when the client has been configured to expect the server to have the wrong "
    "certificate, or when the certificate on the server has been regenerated and the client has not been updated. "
    "It may also happen if someone is performing a man-in-the-middle attack on the remote machine, or if a proxy "
    "server is intercepting requests. Please check the certificate used on the server, and verify that the client "
    "has been configured correctly.";

TEST(UnexpectedCertificateText, OnePinIsHalibutsTextExactly) {
  const std::string halibut =
      "The server at https://h:1 presented an unexpected security certificate. We expected the server to present a "
      "certificate with the thumbprint '" +
      kA + "'. Instead, it presented a certificate with a thumbprint of '" + kC + "' and subject 'CN=Octopus Tentacle" +
      kRest;
  EXPECT_EQ(UnexpectedCertificateText("https://h:1", kA, kC, "CN=Octopus Tentacle"), halibut);
  EXPECT_EQ(UnexpectedCertificateText("https://h:1", std::vector<std::string>{kA}, kC, "CN=Octopus Tentacle"), halibut);
}

TEST(UnexpectedCertificateText, SeveralPinsAreListedInOrder) {
  EXPECT_EQ(UnexpectedCertificateText("https://h:1", std::vector<std::string>{kB, kA}, kC, "CN=Octopus Tentacle"),
            "The server at https://h:1 presented an unexpected security certificate. We expected the server to "
            "present a certificate with one of the thumbprints '" +
                kB + "', '" + kA + "'. Instead, it presented a certificate with a thumbprint of '" + kC +
                "' and subject 'CN=Octopus Tentacle" + kRest);
}

TEST(HealthResult, JsonCarriesThePresentedThumbprintAndThePins) {
  HealthResult r;
  r.name = "web";
  r.address = "https://h:1";
  r.healthy = true;
  r.version = "0.1.0";
  r.elapsed_ms = 2.5;
  r.checked_at = "2026-11-27T00:13:08Z";
  r.thumbprint = kB;
  r.pinned = {kA, kB};
  const Json j = r.ToJson();
  EXPECT_EQ(j["Thumbprint"], kB);
  EXPECT_EQ(j["PinnedThumbprints"], Json::array({kA, kB}));
  const HealthResult back = HealthResult::FromJson(j);
  EXPECT_EQ(back.thumbprint, kB);
  EXPECT_THAT(back.pinned, ::testing::ElementsAre(kA, kB));
  EXPECT_EQ(back.ToJson(), j);
  // A result from a Server before pin sets has neither.
  const HealthResult old = HealthResult::FromJson(Json{{"Name", "web"}, {"Healthy", true}});
  EXPECT_EQ(old.thumbprint, "");
  EXPECT_TRUE(old.pinned.empty());
}

TEST(HealthResult, JsonCarriesTheOutcomeByName) {
  const std::pair<HealthOutcome, const char*> names[] = {
      {HealthOutcome::kHealthy, "Healthy"},   {HealthOutcome::kUnexpectedCertificate, "UnexpectedCertificate"},
      {HealthOutcome::kRefused, "Refused"},   {HealthOutcome::kTimedOut, "TimedOut"},
      {HealthOutcome::kAborted, "Aborted"},   {HealthOutcome::kNotRunning, "NotRunning"},
      {HealthOutcome::kError, "Error"},
  };
  for (const auto& [outcome, name] : names) {
    SCOPED_TRACE(name);
    HealthResult r;
    r.name = "web";
    r.outcome = outcome;
    r.healthy = outcome == HealthOutcome::kHealthy;
    const Json j = r.ToJson();
    EXPECT_EQ(j["Outcome"], name);
    EXPECT_EQ(HealthResult::FromJson(j).outcome, outcome);
    EXPECT_EQ(HealthOutcomeFromName(name), outcome);
  }
  // Every key there was before stays, in its place; Outcome comes last.
  std::vector<std::string> keys;
  const Json empty = HealthResult().ToJson();
  for (const auto& item : empty.items()) keys.push_back(item.key());
  EXPECT_THAT(keys, ::testing::ElementsAre("Name", "Address", "Healthy", "Reason", "TentacleVersion",
                                           "ElapsedMilliseconds", "CheckedAt", "Thumbprint", "PinnedThumbprints",
                                           "Outcome"));
  // A result from a Server before outcomes: Healthy or Error by "Healthy".
  EXPECT_EQ(HealthResult::FromJson(Json{{"Healthy", true}}).outcome, HealthOutcome::kHealthy);
  EXPECT_EQ(HealthResult::FromJson(Json{{"Healthy", false}}).outcome, HealthOutcome::kError);
  EXPECT_EQ(HealthOutcomeFromName("Nonsense"), std::nullopt);
}

TEST(Target, OneThumbprintIsASetOfOne) {
  const Target t{"web", "https://h:1", kA};
  EXPECT_THAT(t.thumbprints, ::testing::ElementsAre(kA));
}

}  // namespace
}  // namespace octo
