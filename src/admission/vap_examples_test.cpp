// The ValidatingAdmissionPolicy examples of the Kubernetes documentation (testdata/vap), loaded
// unchanged from YAML and judged through the webhook's policy set on AdmissionReviews decoded
// by the webhook's own decoder: the verdicts and messages the documentation shows.

#include <gtest/gtest.h>

#include <chrono>

#include "admission/vap_test_util.h"

namespace moat::admission {
namespace {

using testing::Decide;
using testing::Deployment;
using testing::Namespaces;
using testing::ReviewSpec;
using testing::VapPolicies;

ReviewSpec CreateDeployment(const std::string& ns, const std::string& object) {
  ReviewSpec spec;
  spec.namespace_name = ns;
  spec.object = object;
  return spec;
}

TEST(VapExamples, BasicReplicasLimitDeniesWithTheApiServersMessage) {
  auto policies = VapPolicies("basic", Namespaces({{"test-ns", "{environment: test}"},
                                                   {"prod-ns", "{environment: prod}"}}));
  ASSERT_TRUE(policies);
  Decision denied = Decide(*policies, CreateDeployment("test-ns", Deployment("web", 6)));
  EXPECT_FALSE(denied.response.allowed);
  EXPECT_EQ(denied.response.message,
            "ValidatingAdmissionPolicy 'demo-policy.example.com' with binding "
            "'demo-binding-test.example.com' denied request: failed expression: "
            "object.spec.replicas <= 5");
  // No reason in the validation: Invalid, 422.
  EXPECT_EQ(denied.response.code, 422);
  EXPECT_EQ(denied.response.reason, "Invalid");

  EXPECT_TRUE(
      Decide(*policies, CreateDeployment("test-ns", Deployment("web", 5))).response.allowed);
  // The binding's namespaceSelector leaves other environments alone.
  EXPECT_TRUE(
      Decide(*policies, CreateDeployment("prod-ns", Deployment("web", 6))).response.allowed);
  // Without the label cache the webhook knows only kubernetes.io/metadata.name: no match.
  auto no_cache = VapPolicies("basic");
  EXPECT_TRUE(
      Decide(*no_cache, CreateDeployment("test-ns", Deployment("web", 6))).response.allowed);
}

TEST(VapExamples, ReplicaLimitCustomResourceParamsPerEnvironment) {
  auto policies = VapPolicies("replicalimit", Namespaces({{"test-ns", "{environment: test}"},
                                                          {"prod-ns", "{environment: prod}"}}));
  ASSERT_TRUE(policies);
  // test: maxReplicas 3 from replica-limit-test.example.com.
  Decision test = Decide(*policies, CreateDeployment("test-ns", Deployment("web", 4)));
  EXPECT_FALSE(test.response.allowed);
  EXPECT_EQ(test.response.message,
            "ValidatingAdmissionPolicy 'replicalimit-policy.example.com' with binding "
            "'replicalimit-binding-test.example.com' denied request: failed expression: "
            "object.spec.replicas <= params.maxReplicas");
  EXPECT_EQ(test.response.code, 422);
  EXPECT_TRUE(
      Decide(*policies, CreateDeployment("test-ns", Deployment("web", 3))).response.allowed);
  // Every other environment: maxReplicas 100.
  EXPECT_TRUE(
      Decide(*policies, CreateDeployment("prod-ns", Deployment("web", 99))).response.allowed);
  Decision prod = Decide(*policies, CreateDeployment("prod-ns", Deployment("web", 101)));
  EXPECT_FALSE(prod.response.allowed);
  EXPECT_NE(prod.response.message.find("'replicalimit-binding-nontest'"), std::string::npos);
  // Other resources are not the policy's business.
  ReviewSpec pod;
  pod.group = "";
  pod.resource = "pods";
  pod.kind = "Pod";
  pod.object = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n";
  EXPECT_FALSE(Decide(*policies, pod).evaluated);
}

TEST(VapExamples, MessageExpressionNamesTheLimit) {
  auto policies = VapPolicies("message-expression");
  ASSERT_TRUE(policies);
  Decision denied = Decide(*policies, CreateDeployment("default", Deployment("nginx", 5)));
  EXPECT_FALSE(denied.response.allowed);
  EXPECT_EQ(denied.response.message,
            "ValidatingAdmissionPolicy 'deploy-replica-policy.example.com' with binding "
            "'demo-binding-test.example.com' denied request: object.spec.replicas must be no "
            "greater than 3");
  // The webhook's excluded namespaces (kube-system by default) are not evaluated.
  Decision system = Decide(*policies, CreateDeployment("kube-system", Deployment("dns", 9)));
  EXPECT_FALSE(system.evaluated);
  EXPECT_TRUE(system.response.allowed);
  // paramRef.namespace is "default": requests in any namespace use that param.
  EXPECT_TRUE(
      Decide(*policies, CreateDeployment("other", Deployment("nginx", 3))).response.allowed);
  EXPECT_FALSE(
      Decide(*policies, CreateDeployment("other", Deployment("nginx", 4))).response.allowed);
}

TEST(VapExamples, ConfigMapParamsBySelectorMustAllPass) {
  auto policies = VapPolicies("configmap-params");
  ASSERT_TRUE(policies);
  // Two labelled ConfigMaps in shop (10 and 4): 5 replicas fail the second only.
  Decision denied = Decide(*policies, CreateDeployment("shop", Deployment("web", 5)));
  EXPECT_FALSE(denied.response.allowed);
  EXPECT_EQ(denied.response.code, 403);  // reason: Forbidden
  EXPECT_EQ(denied.response.reason, "Forbidden");
  EXPECT_EQ(denied.response.message,
            "ValidatingAdmissionPolicy 'replicas-from-configmap.example.com' with binding "
            "'replicas-from-configmap-binding' denied request: at most 4 replicas (ConfigMap "
            "quota-limit)");
  EXPECT_TRUE(Decide(*policies, CreateDeployment("shop", Deployment("web", 4))).response.allowed);
  // No labelled ConfigMap in the namespace and parameterNotFoundAction Allow: admitted.
  EXPECT_TRUE(Decide(*policies, CreateDeployment("empty", Deployment("web", 50))).response.allowed);
  // The scale subresource ("deployments/scale") is matched too: its object is a Scale.
  ReviewSpec scale;
  scale.operation = "UPDATE";
  scale.namespace_name = "shop";
  scale.sub_resource = "scale";
  scale.kind = "Scale";
  scale.object =
      "apiVersion: autoscaling/v1\nkind: Scale\nmetadata: {name: web, namespace: shop}\n"
      "spec: {replicas: 7}\n";
  scale.old_object =
      "apiVersion: autoscaling/v1\nkind: Scale\nmetadata: {name: web, namespace: shop}\n"
      "spec: {replicas: 2}\n";
  Decision scaled = Decide(*policies, scale);
  EXPECT_FALSE(scaled.response.allowed);
  EXPECT_NE(scaled.response.message.find("at most 4 replicas"), std::string::npos);
}

TEST(VapExamples, AuditAnnotationAndWarnAudit) {
  auto policies = VapPolicies("audit-annotation");
  ASSERT_TRUE(policies);
  Decision high = Decide(*policies, CreateDeployment("default", Deployment("web", 128)));
  EXPECT_TRUE(high.response.allowed);  // Warn and Audit admit
  ASSERT_EQ(high.response.warnings.size(), 1u);
  EXPECT_EQ(high.response.warnings[0],
            "Validation failed for ValidatingAdmissionPolicy 'demo-policy.example.com' with "
            "binding 'demo-binding.example.com': Deployment spec.replicas set to 128");
  std::map<std::string, std::string> annotations(high.response.audit_annotations.begin(),
                                                 high.response.audit_annotations.end());
  EXPECT_EQ(annotations["demo-policy.example.com_high-replica-count"],
            "Deployment spec.replicas set to 128");
  const auto failure =
      nlohmann::json::parse(annotations["validation.policy.admission.k8s.io_validation_failure"]);
  ASSERT_EQ(failure.size(), 1u);
  EXPECT_EQ(failure[0]["message"], "Deployment spec.replicas set to 128");
  EXPECT_EQ(failure[0]["policy"], "demo-policy.example.com");
  EXPECT_EQ(failure[0]["binding"], "demo-binding.example.com");
  EXPECT_EQ(failure[0]["expressionIndex"], 0);
  EXPECT_EQ(failure[0]["validationActions"], nlohmann::json({"Warn", "Audit"}));
  // 10 replicas: the annotation's expression gives null, so no annotation, and no failure.
  Decision low = Decide(*policies, CreateDeployment("default", Deployment("web", 10)));
  EXPECT_TRUE(low.response.warnings.empty());
  EXPECT_TRUE(low.response.audit_annotations.empty());
}

TEST(VapExamples, MatchConditionsExcludeLeasesNodesAndRbac) {
  auto policies = VapPolicies("match-conditions");
  ASSERT_TRUE(policies);
  ReviewSpec cm;
  cm.group = "";
  cm.resource = "configmaps";
  cm.kind = "ConfigMap";
  cm.object = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n";
  Decision denied = Decide(*policies, cm);
  EXPECT_FALSE(denied.response.allowed);
  EXPECT_NE(denied.response.message.find("failed expression: "
                                         "object.metadata.name.startsWith('demo')"),
            std::string::npos);
  cm.object = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo-settings}\n";
  EXPECT_TRUE(Decide(*policies, cm).response.allowed);

  ReviewSpec lease;
  lease.group = "coordination.k8s.io";
  lease.resource = "leases";
  lease.kind = "Lease";
  lease.object = "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: node-1}\n";
  EXPECT_TRUE(Decide(*policies, lease).response.allowed);

  ReviewSpec kubelet = cm;
  kubelet.object = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n";
  kubelet.username = "system:node:node-1";
  kubelet.groups = {"system:nodes", "system:authenticated"};
  EXPECT_TRUE(Decide(*policies, kubelet).response.allowed);

  ReviewSpec role;
  role.group = "rbac.authorization.k8s.io";
  role.resource = "roles";
  role.kind = "Role";
  role.object = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\n";
  EXPECT_TRUE(Decide(*policies, role).response.allowed);
}

TEST(VapExamples, VariablesImageMustMatchNamespaceEnvironment) {
  auto policies = VapPolicies("variables", Namespaces({{"default", "{environment: prod}"}}));
  ASSERT_TRUE(policies);
  Decision denied = Decide(
      *policies, CreateDeployment("default", Deployment("invalid", 1, "dev.example.com/nginx")));
  EXPECT_FALSE(denied.response.allowed);
  EXPECT_EQ(denied.response.message,
            "ValidatingAdmissionPolicy 'image-matches-namespace-environment.policy.example.com' "
            "with binding 'demo-binding-test.example.com' denied request: only prod images are "
            "allowed in namespace default");
  EXPECT_TRUE(
      Decide(*policies, CreateDeployment("default", Deployment("ok", 1, "prod.example.com/nginx")))
          .response.allowed);
  // Images outside example.com are not checked; the exempt label skips the check.
  EXPECT_TRUE(Decide(*policies, CreateDeployment("default", Deployment("hub", 1, "nginx:1.27")))
                  .response.allowed);
  EXPECT_TRUE(
      Decide(*policies, CreateDeployment("default", Deployment("exempt", 1, "dev.example.com/x",
                                                               "{exempt: \"true\"}")))
          .response.allowed);
}

TEST(VapExamples, FailurePolicyIgnoreAdmitsErrorsFailDenies) {
  auto policies = VapPolicies("failure-policy");
  ASSERT_TRUE(policies);
  // Only the Ignore policy's binding matches: the error is ignored.
  EXPECT_TRUE(
      Decide(*policies, CreateDeployment("default", Deployment("web", 1))).response.allowed);
  // The Fail policy's binding matches objects labelled strict=true: the error denies, 403.
  Decision denied = Decide(
      *policies, CreateDeployment("default", Deployment("web", 1, "nginx", "{strict: \"true\"}")));
  EXPECT_FALSE(denied.response.allowed);
  EXPECT_EQ(denied.response.code, 403);
  EXPECT_EQ(denied.response.message,
            "ValidatingAdmissionPolicy 'fail-on-errors.example.com' with binding 'fail-binding' "
            "denied request: expression 'object.spec.xyz == 1' resulted in error: 1:12: no such "
            "key: 'xyz'");
}

TEST(VapExamples, HostileNestedComprehensionStopsAtTheCostLimitQuickly) {
  auto policies = VapPolicies("cost");
  ASSERT_TRUE(policies);
  const auto start = std::chrono::steady_clock::now();
  Decision denied = Decide(
      *policies, CreateDeployment("default", Deployment("web", 1, "nginx", "{policy: fail}")));
  Decision ignored = Decide(
      *policies, CreateDeployment("default", Deployment("web", 1, "nginx", "{policy: ignore}")));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(denied.response.allowed);
  EXPECT_NE(denied.response.message.find("cost budget exceeded"), std::string::npos)
      << denied.response.message;
  EXPECT_NE(denied.response.message.find("(limit 1000000)"), std::string::npos);
  EXPECT_TRUE(ignored.response.allowed);
  // 10^8 steps unbounded; two evaluations of 10^6 take milliseconds (seconds under ASan).
  EXPECT_LT(seconds, 5.0);
}

}  // namespace
}  // namespace moat::admission
