// The Azure Policy bundle through the webhook: for every policy, its violating and compliant
// object (src/k8s/azure_test_cases.h) as an AdmissionReview on /validate, with the policy in
// deny, warn and audit, named in the configuration as a user would (`azure: <definition>`).

#include <gtest/gtest.h>

#include "admission/test_util.h"
#include "admission/webhook.h"
#include "k8s/azure_test_cases.h"
#include "k8s/checks.h"
#include "k8s/loader.h"

namespace moat::admission {
namespace {

using k8s::testing::AzureCase;
using k8s::testing::AzureCases;
using nlohmann::json;

std::unique_ptr<Webhook> MakeWebhook(const std::string& config_yaml) {
  auto config = ParseAdmissionConfig(config_yaml, "moat.yaml");
  EXPECT_TRUE(config.ok()) << config.error().message << "\n" << config_yaml;
  if (!config.ok()) return nullptr;
  auto webhook = Webhook::Create([c = *config] { return PolicySet::Build(c); }, WebhookOptions{});
  EXPECT_TRUE(webhook.ok()) << webhook.error().message;
  return webhook.ok() ? std::move(*webhook) : nullptr;
}

/// The case's object as the API server sends it: JSON, in a CREATE review (or an UPDATE by
/// `user` for the policies about edits).
json Review(const std::string& yaml, const std::string& user) {
  auto value = k8s::ParseYamlDocument(yaml, "case.yaml");
  EXPECT_TRUE(value.ok()) << yaml;
  const json object = testing::ToJson(*value);
  const std::string ns = object["metadata"].value("namespace", "");
  json review = testing::CreateReview(object, ns);
  if (!user.empty()) {
    review["request"]["operation"] = "UPDATE";
    review["request"]["oldObject"] = object;
    review["request"]["userInfo"] = {{"username", user}, {"groups", {"system:authenticated"}}};
  }
  return review;
}

json Answer(Webhook& webhook, const json& review) {
  http::Request request;
  request.method = "POST";
  request.path = "/validate";
  request.headers.emplace_back("content-type", "application/json");
  request.body = review.dump();
  const http::Response response = webhook.Handle(request);
  EXPECT_EQ(response.status, 200) << response.body;
  return json::parse(response.body)["response"];
}

std::string Config(const AzureCase& c, const std::string& action) {
  std::string config = "policies:\n- azure: " + c.definition + "\n  action: " + action + "\n";
  if (!c.parameters.empty()) config += "  parameters: " + c.parameters + "\n";
  return config;
}

TEST(AzureBundleWebhook, EveryPolicyInDenyWarnAndAudit) {
  size_t tested = 0;
  for (const AzureCase& c : AzureCases()) {
    if (c.needs_inventory) continue;  // UniqueServiceSelectorsNeedTheOtherServices
    ++tested;
    for (const std::string action : {"deny", "warn", "audit"}) {
      SCOPED_TRACE(c.id + " in " + action);
      auto webhook = MakeWebhook(Config(c, action));
      ASSERT_NE(webhook, nullptr);
      const json bad = Answer(*webhook, Review(c.bad, c.bad_user));
      const json good = Answer(*webhook, Review(c.good, c.good_user));
      // The compliant object: allowed, nothing to say.
      EXPECT_EQ(good["allowed"], true) << good.dump();
      EXPECT_FALSE(good.contains("warnings")) << good.dump();
      EXPECT_FALSE(good.contains("auditAnnotations")) << good.dump();
      if (action == "deny") {
        EXPECT_EQ(bad["allowed"], false) << bad.dump();
        EXPECT_EQ(bad["status"]["code"], 403);
        EXPECT_NE(bad["status"]["message"].get<std::string>().find(c.id + ": "), std::string::npos)
            << bad.dump();
      } else if (action == "warn") {
        EXPECT_EQ(bad["allowed"], true) << bad.dump();
        ASSERT_TRUE(bad.contains("warnings")) << bad.dump();
        EXPECT_EQ(bad["warnings"][0].get<std::string>().rfind(c.id + ": ", 0), 0u) << bad.dump();
        EXPECT_FALSE(bad.contains("auditAnnotations"));
      } else {
        EXPECT_EQ(bad["allowed"], true) << bad.dump();
        EXPECT_FALSE(bad.contains("warnings")) << bad.dump();
        ASSERT_TRUE(bad.contains("auditAnnotations")) << bad.dump();
        EXPECT_TRUE(bad["auditAnnotations"].contains(c.id)) << bad.dump();
      }
    }
  }
  EXPECT_EQ(tested, AzureCases().size() - 1);
}

TEST(AzureBundleWebhook, DisabledEvaluatesNothing) {
  const AzureCase& c = AzureCases()[1];  // ContainerEnforceProbes
  auto webhook = MakeWebhook(Config(c, "disabled"));
  ASSERT_NE(webhook, nullptr);
  const json answer = Answer(*webhook, Review(c.bad, ""));
  EXPECT_EQ(answer["allowed"], true);
  EXPECT_FALSE(answer.contains("warnings"));
  EXPECT_FALSE(answer.contains("auditAnnotations"));
}

/// At admission one request carries one Service: the other Services are not known, so the
/// policy cannot fire (it does in `moat k8s` and in the audit of a cluster's objects).
TEST(AzureBundleWebhook, UniqueServiceSelectorsNeedTheOtherServices) {
  for (const AzureCase& c : AzureCases()) {
    if (!c.needs_inventory) continue;
    auto webhook = MakeWebhook(Config(c, "deny"));
    ASSERT_NE(webhook, nullptr);
    const std::string first = c.bad.substr(0, c.bad.find("---"));
    EXPECT_EQ(Answer(*webhook, Review(first, ""))["allowed"], true);
  }
}

TEST(AzureBundleWebhook, ConfigNamesDefinitionsAndChecksParameters) {
  // By display name, with the definition's parameter; the file name with .json; the check id.
  auto webhook = MakeWebhook(R"(policies:
- azure: Ensure cluster containers have readiness or liveness probes configured
  action: deny
  parameters: {requiredProbes: [readinessProbe]}
- checks: [ContainerAllowedImages.json, azure-no-privileged]
  action: warn
  parameters:
    allowedContainerImagesRegex: ^registry\.example\.com/
    excludedContainers: [sidecar]
)");
  ASSERT_NE(webhook, nullptr);
  const std::string pod = k8s::testing::Pod(
      "{containers: [{name: app, image: \"registry.example.com/app:1\", readinessProbe: "
      "{exec: {command: [\"true\"]}}}, {name: sidecar, image: \"docker.io/envoy:1\", "
      "readinessProbe: {exec: {command: [\"true\"]}}, securityContext: {privileged: true}}]}");
  json answer = Answer(*webhook, Review(pod, ""));
  EXPECT_EQ(answer["allowed"], true) << answer.dump();  // liveness not required; sidecar excluded
  EXPECT_FALSE(answer.contains("warnings")) << answer.dump();

  const std::string other = k8s::testing::Pod(
      "{containers: [{name: app, image: \"docker.io/app:1\", readinessProbe: {exec: {command: "
      "[\"true\"]}}}]}");
  answer = Answer(*webhook, Review(other, ""));
  EXPECT_EQ(answer["allowed"], true);
  ASSERT_TRUE(answer.contains("warnings")) << answer.dump();
  EXPECT_EQ(answer["warnings"][0].get<std::string>().rfind("azure-allowed-images: ", 0), 0u);

  // Errors name the file and line: an unknown definition, a parameter no policy of the entry has.
  auto config =
      ParseAdmissionConfig("policies:\n- azure: NoSuchPolicy\n  action: deny\n", "m.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("m.yaml:2"), std::string::npos) << config.error().message;
  config = ParseAdmissionConfig(
      "policies:\n- azure: ContainerEnforceProbes\n  action: deny\n  parameters: {cpuLimit: "
      "\"1\"}\n",
      "m.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("cpuLimit"), std::string::npos) << config.error().message;
  // A check of another group is not an Azure definition.
  config = ParseAdmissionConfig("policies:\n- azure: wl-privileged\n  action: deny\n", "m.yaml");
  EXPECT_FALSE(config.ok());
}

TEST(AzureBundleWebhook, RuleParametersStayWithinTheirRule) {
  // Two rules on the same policy with different maximums: each judges with its own.
  auto webhook = MakeWebhook(R"(policies:
- azure: ContainerResourceLimits
  action: deny
  parameters: {cpuLimit: "2", memoryLimit: 1Gi}
- azure: ContainerResourceLimits
  action: warn
  parameters: {cpuLimit: 500m, memoryLimit: 1Gi}
)");
  ASSERT_NE(webhook, nullptr);
  const json answer =
      Answer(*webhook,
             Review(k8s::testing::Pod(k8s::testing::Spec("resources: {limits: {cpu: \"1\", memory: "
                                                         "512Mi}}")),
                    ""));
  EXPECT_EQ(answer["allowed"], true) << answer.dump();
  ASSERT_TRUE(answer.contains("warnings")) << answer.dump();
  EXPECT_NE(answer["warnings"][0].get<std::string>().find("exceeds the maximum 500m"),
            std::string::npos)
      << answer.dump();
}

}  // namespace
}  // namespace moat::admission
