// Every Pod Security admission fixture (../shared/data/k8s/psa, all levels and versions) wrapped
// in an AdmissionReview and sent through the webhook's handler: the verdict and every reason
// equal what `moat k8s manifests --checks pss-LEVEL --pss-version V` (k8s::Assess) finds in the
// same manifest, and the expected pass/fail of the fixture.

#include <gtest/gtest.h>

#include <map>

#include "admission/test_util.h"
#include "admission/webhook.h"
#include "core/bytes.h"
#include "k8s/checks.h"
#include "k8s/loader.h"

namespace moat::admission {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::kPsa;
using Fixture = testing::PsaFixture;

/// A webhook enforcing one PSS level at one version, with no configuration file: what
/// `moat admission serve --enforce pss-LEVEL` with `pssVersion` does.
std::unique_ptr<Webhook> EnforcingWebhook(const std::string& level, int minor) {
  AdmissionConfig config;
  config.pss_minor = minor;
  EXPECT_TRUE(AddFlagRule(config, Action::kDeny, {"pss-" + level}, "--enforce").ok());
  auto webhook = Webhook::Create([config] { return PolicySet::Build(config); }, WebhookOptions{});
  EXPECT_TRUE(webhook.ok()) << webhook.error().message;
  return std::move(*webhook);
}

TEST(AdmissionPsa, EveryFixtureAsMoatK8sSeesIt) {
  const std::vector<Fixture> fixtures = testing::PsaFixtures();
  ASSERT_GT(fixtures.size(), 4000u);
  std::map<std::string, std::unique_ptr<Webhook>> webhooks;  // by level and version
  size_t denied = 0, agreed = 0;
  for (const Fixture& f : fixtures) {
    SCOPED_TRACE(f.path);
    auto minor = k8s::ParsePssVersion(f.version);
    ASSERT_TRUE(minor.ok());
    auto text = ReadFileToString((kPsa / f.path).string());
    ASSERT_TRUE(text.ok());

    // What `moat k8s manifests FILE --checks pss-LEVEL --pss-version V` finds.
    k8s::LoadResult loaded;
    k8s::ParseManifests(*text, f.path, loaded);
    ASSERT_EQ(loaded.objects.size(), 1u);
    const json object = testing::ToJson(loaded.objects[0].root);
    k8s::AssessOptions options;
    options.checks = {"pss-" + f.level};
    options.pss_minor = *minor;
    auto assessment = k8s::Assess(std::move(loaded), options);
    ASSERT_TRUE(assessment.ok());
    std::vector<std::string> expected_reasons;
    for (const k8s::Finding& finding : assessment->findings)
      expected_reasons.push_back(finding.check->id + ": " + finding.message + " (" + finding.path +
                                 ")");

    // The webhook, through its HTTP handler.
    std::unique_ptr<Webhook>& webhook = webhooks[f.level + f.version];
    if (!webhook) webhook = EnforcingWebhook(f.level, *minor);
    http::Request request;
    request.method = "POST";
    request.path = "/validate";
    request.headers.emplace_back("content-type", "application/json");
    request.body = testing::CreateReview(object, "team-a", "uid-" + f.path).dump();
    const http::Response response = webhook->Handle(request);
    ASSERT_EQ(response.status, 200) << response.body;
    const json answer = json::parse(response.body)["response"];
    EXPECT_EQ(answer["uid"], "uid-" + f.path);
    const bool allowed = answer["allowed"].get<bool>();
    EXPECT_EQ(allowed, expected_reasons.empty());
    EXPECT_EQ(allowed, f.expected == "pass") << f.level << " " << f.version;
    if (!allowed) {
      ++denied;
      EXPECT_EQ(answer["status"]["code"], 403);
      const std::string message = answer["status"]["message"];
      // Every reason moat k8s gives and nothing else. The order is the request body's (the
      // fields' order in the JSON), not the YAML file's, so each reason is looked for and the
      // length says nothing else is there.
      const std::string prefix =
          expected_reasons.size() == 1
              ? "denied by moat: "
              : "denied by moat (" + std::to_string(expected_reasons.size()) + " violations): ";
      EXPECT_EQ(message.rfind(prefix, 0), 0u) << message;
      size_t length = prefix.size() + 2 * (expected_reasons.size() - 1);
      for (const std::string& reason : expected_reasons) {
        EXPECT_NE(message.find(reason), std::string::npos) << reason << "\nin " << message;
        length += reason.size();
      }
      EXPECT_EQ(message.size(), length) << message;
    }
    agreed += allowed == expected_reasons.empty() ? 1 : 0;
  }
  std::printf("PSA fixtures through the webhook: %zu, %zu denied, %zu as moat k8s\n",
              fixtures.size(), denied, agreed);
  EXPECT_EQ(agreed, fixtures.size());
}

}  // namespace
}  // namespace moat::admission
