// The audit of a live cluster: the objects `moat k8s cluster` reads from an API server (a
// loopback stand-in serving recorded list responses, client certificate required) judged by the
// webhook's policies; the objects it would deny are those `moat k8s` finds failing the same
// checks, minus the excluded namespaces.

#include "admission/audit.h"

#include <gtest/gtest.h>

#include <set>

#include "k8s/cluster.h"
#include "k8s/kubeconfig.h"
#include "k8s/test_api_server.h"

namespace moat::admission {
namespace {

namespace fs = std::filesystem;

TEST(AdmissionAudit, LiveClusterAsTheWebhookWouldJudgeIt) {
  k8s::testing::TestPki pki;
  ASSERT_TRUE(pki.ok()) << "openssl (package openssl) failed";
  const fs::path recordings = fs::path(MOAT_SOURCE_DIR) / "src" / "k8s" / "testdata" / "cluster";
  k8s::testing::TlsApiServer api_server(pki.dir(), [&recordings](const std::string& target) {
    return k8s::testing::ServeRecordedFrom({recordings}, target);
  });
  ASSERT_TRUE(api_server.ready());
  const std::string kubeconfig = (pki.dir() / "kubeconfig").string();
  k8s::testing::WriteText(kubeconfig, pki.Kubeconfig(api_server.Url()));
  auto connection = k8s::ResolveConnection({kubeconfig, "", false});
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  auto listing = k8s::ListCluster(*connection, k8s::ClusterListOptions{});
  ASSERT_TRUE(listing.ok()) << listing.error().message;
  ASSERT_FALSE(listing->input.objects.empty());

  AdmissionConfig config;
  ASSERT_TRUE(AddFlagRule(config, Action::kDeny, {"pss-baseline"}, "--enforce").ok());
  auto policies = PolicySet::Build(config);
  ASSERT_TRUE(policies.ok());
  k8s::LoadResult copy = listing->input;
  AuditResult audit = Audit(**policies, std::move(copy));

  k8s::AssessOptions options;
  options.checks = {"pss-baseline"};
  options.exclude_namespaces = config.excluded_namespaces;
  auto assessment = k8s::Assess(std::move(listing->input), options);
  ASSERT_TRUE(assessment.ok());
  std::set<std::string> expected, denied;
  for (const k8s::Finding& f : assessment->findings)
    expected.insert(assessment->objects[f.object].Reference());
  for (const k8s::Finding& f : audit.assessment.findings) {
    EXPECT_EQ(f.message.rfind("[deny] ", 0), 0u) << f.message;
    denied.insert(audit.assessment.objects[f.object].Reference());
    EXPECT_TRUE(audit.assessment.objects[f.object].live);
  }
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(denied, expected);
  EXPECT_EQ(audit.denied_objects, expected.size());
  EXPECT_EQ(audit.assessment.findings.size(), assessment->findings.size());
}

}  // namespace
}  // namespace moat::admission
