// ValidatingAdmissionPolicy semantics beyond the documentation's examples: resource rules
// (subresources, wildcards, scope, names, exclusions, matchPolicy), selectors, binding
// intersections, validationActions, reasons, messageExpression fallbacks, lazy variables,
// oldObject/request/namespaceObject, auditAnnotations errors and params edge cases. Each policy
// is written inline, as an operator would write it.

#include <gtest/gtest.h>

#include "admission/vap_test_util.h"

namespace moat::admission {
namespace {

using testing::Deployment;
using testing::MakeRequest;
using testing::ReviewSpec;

/// A policy + binding document set from YAML text, evaluated as the webhook does.
class Vap {
 public:
  explicit Vap(const std::string& yaml, std::shared_ptr<const NamespaceCache> namespaces = {}) {
    k8s::LoadResult loaded;
    k8s::ParseManifests(yaml, "policies.yaml", loaded);
    VapEnvironment environment;
    environment.namespaces = std::move(namespaces);
    auto policy = VapPolicy::FromObjects(std::move(loaded), std::move(environment));
    EXPECT_TRUE(policy.ok()) << (policy.ok() ? "" : policy.error().message);
    if (policy.ok()) policy_ = std::move(*policy);
  }

  /// Covers + Evaluate + the response, as PolicySet::Decide does for this policy alone.
  AdmissionResponse Judge(const ReviewSpec& spec, bool* covered = nullptr) const {
    AdmissionRequest request = MakeRequest(spec);
    AdmissionResponse response;
    const bool covers = policy_ && policy_->Covers(request);
    if (covered != nullptr) *covered = covers;
    if (!covers) return response;
    std::vector<Violation> violations;
    policy_->Evaluate(request, violations);
    ApplyViolations(violations, response);
    return response;
  }
  bool Denies(const ReviewSpec& spec) const { return !Judge(spec).allowed; }
  const VapPolicy* get() const { return policy_.get(); }

 private:
  std::unique_ptr<VapPolicy> policy_;
};

/// A policy that denies everything its rules match, with `rules` as its matchConstraints and
/// `binding_spec` added to its binding's spec.
std::string DenyAll(const std::string& match_constraints, const std::string& binding_extra = "",
                    const std::string& actions = "[Deny]") {
  return "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
         "metadata: {name: p}\nspec:\n  matchConstraints:\n" +
         match_constraints +
         "  validations:\n  - expression: 'false'\n    message: nope\n---\n"
         "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n"
         "metadata: {name: b}\nspec:\n  policyName: p\n  validationActions: " +
         actions + "\n" + binding_extra;
}

ReviewSpec Request(const std::string& group, const std::string& version,
                   const std::string& resource, const std::string& sub = "",
                   const std::string& operation = "CREATE", const std::string& ns = "default") {
  ReviewSpec spec;
  spec.group = group;
  spec.version = version;
  spec.resource = resource;
  spec.sub_resource = sub;
  spec.operation = operation;
  spec.namespace_name = ns;
  spec.kind = "Thing";
  spec.object = "apiVersion: v1\nkind: Thing\nmetadata: {name: x}\n";
  if (operation == "UPDATE" || operation == "DELETE") spec.old_object = spec.object;
  if (operation == "DELETE") spec.object.clear();
  return spec;
}

TEST(VapMatch, ResourcesSubresourcesAndWildcards) {
  auto rules = [](const std::string& resources) {
    return "    resourceRules:\n    - apiGroups: ['*']\n      apiVersions: ['*']\n"
           "      operations: ['*']\n      resources: " +
           resources + "\n";
  };
  Vap pods(DenyAll(rules("[pods]")));
  EXPECT_TRUE(pods.Denies(Request("", "v1", "pods")));
  EXPECT_FALSE(pods.Denies(Request("", "v1", "pods", "status")));  // not the subresource
  EXPECT_FALSE(pods.Denies(Request("", "v1", "services")));

  Vap status(DenyAll(rules("[pods/status]")));
  EXPECT_TRUE(status.Denies(Request("", "v1", "pods", "status")));
  EXPECT_FALSE(status.Denies(Request("", "v1", "pods")));

  Vap star(DenyAll(rules("['*']")));
  EXPECT_TRUE(star.Denies(Request("apps", "v1", "deployments")));
  EXPECT_FALSE(star.Denies(Request("apps", "v1", "deployments", "scale")));

  Vap scale(DenyAll(rules("['*/scale']")));
  EXPECT_TRUE(scale.Denies(Request("apps", "v1", "deployments", "scale")));
  EXPECT_TRUE(scale.Denies(Request("apps", "v1", "statefulsets", "scale")));
  EXPECT_FALSE(scale.Denies(Request("apps", "v1", "deployments")));
  EXPECT_FALSE(scale.Denies(Request("", "v1", "pods", "status")));

  Vap all(DenyAll(rules("['*/*']")));
  EXPECT_TRUE(all.Denies(Request("", "v1", "pods", "exec", "CONNECT")));
  EXPECT_TRUE(all.Denies(Request("", "v1", "pods")));

  Vap pod_subs(DenyAll(rules("['pods/*']")));
  EXPECT_TRUE(pod_subs.Denies(Request("", "v1", "pods", "ephemeralcontainers", "UPDATE")));
  EXPECT_FALSE(pod_subs.Denies(Request("", "v1", "services", "status")));
}

TEST(VapMatch, OperationsGroupsVersionsNamesScope) {
  Vap v(
      DenyAll("    resourceRules:\n    - apiGroups: [apps]\n      apiVersions: [v1]\n"
              "      operations: [UPDATE, DELETE]\n      resources: [deployments]\n"
              "      resourceNames: [x]\n      scope: Namespaced\n"));
  EXPECT_FALSE(v.Denies(Request("apps", "v1", "deployments")));  // CREATE
  EXPECT_TRUE(v.Denies(Request("apps", "v1", "deployments", "", "UPDATE")));
  EXPECT_TRUE(v.Denies(Request("apps", "v1", "deployments", "", "DELETE")));
  EXPECT_FALSE(v.Denies(Request("apps", "v1beta1", "deployments", "", "UPDATE")));
  EXPECT_FALSE(v.Denies(Request("batch", "v1", "deployments", "", "UPDATE")));
  ReviewSpec other_name = Request("apps", "v1", "deployments", "", "UPDATE");
  other_name.object = other_name.old_object =
      "apiVersion: v1\nkind: Thing\nmetadata: {name: other}\n";
  EXPECT_FALSE(v.Denies(other_name));
  // Namespaced scope: a cluster-scoped request (no namespace) does not match.
  EXPECT_FALSE(v.Denies(Request("apps", "v1", "deployments", "", "UPDATE", "")));

  Vap cluster(
      DenyAll("    resourceRules:\n    - apiGroups: ['']\n      apiVersions: [v1]\n"
              "      operations: [CREATE]\n      resources: [namespaces, configmaps]\n"
              "      scope: Cluster\n"));
  // A Namespace is cluster-scoped even though the API server fills `namespace` with its name.
  EXPECT_TRUE(cluster.Denies(Request("", "v1", "namespaces", "", "CREATE", "team-a")));
  EXPECT_FALSE(cluster.Denies(Request("", "v1", "configmaps", "", "CREATE", "team-a")));
}

TEST(VapMatch, ExcludeRulesAndMatchPolicy) {
  Vap v(
      DenyAll("    resourceRules:\n    - apiGroups: ['*']\n      apiVersions: ['*']\n"
              "      operations: ['*']\n      resources: ['*']\n"
              "    excludeResourceRules:\n    - apiGroups: ['']\n      apiVersions: ['*']\n"
              "      operations: ['*']\n      resources: [configmaps]\n"));
  EXPECT_TRUE(v.Denies(Request("", "v1", "secrets")));
  EXPECT_FALSE(v.Denies(Request("", "v1", "configmaps")));

  const std::string rule =
      "    resourceRules:\n    - apiGroups: [apps]\n      apiVersions: [v1]\n"
      "      operations: [CREATE]\n      resources: [deployments]\n";
  // The client asked for extensions/v1beta1 deployments; the webhook got apps/v1.
  ReviewSpec converted = Request("apps", "v1", "deployments");
  converted.request_group = "extensions";
  converted.request_version = "v1beta1";
  converted.request_resource = "deployments";
  Vap equivalent(DenyAll(rule));  // matchPolicy defaults to Equivalent
  EXPECT_TRUE(equivalent.Denies(converted));
  Vap exact(DenyAll(rule + "    matchPolicy: Exact\n"));
  EXPECT_FALSE(exact.Denies(converted));
  EXPECT_TRUE(exact.Denies(Request("apps", "v1", "deployments")));
  // Equivalent also knows the groups a resource moved between.
  ReviewSpec old_group = Request("extensions", "v1beta1", "deployments");
  EXPECT_TRUE(equivalent.Denies(old_group));
  EXPECT_FALSE(exact.Denies(old_group));
}

TEST(VapMatch, SelectorsAndBindingIntersection) {
  auto namespaces = testing::Namespaces({{"prod", "{env: prod}"}, {"dev", "{env: dev}"}});
  const std::string rules =
      "    resourceRules:\n    - apiGroups: ['*']\n      apiVersions: ['*']\n"
      "      operations: ['*']\n      resources: ['*']\n"
      "    namespaceSelector: {matchLabels: {env: prod}}\n";
  // The binding narrows to objects labelled tier=web and to configmaps only.
  Vap v(DenyAll(rules,
                "  matchResources:\n    objectSelector: {matchLabels: {tier: web}}\n"
                "    resourceRules:\n    - apiGroups: ['']\n      apiVersions: ['*']\n"
                "      operations: ['*']\n      resources: [configmaps]\n"),
        namespaces);
  ReviewSpec cm = Request("", "v1", "configmaps", "", "CREATE", "prod");
  cm.object = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {tier: web}}\n";
  EXPECT_TRUE(v.Denies(cm));
  ReviewSpec dev = cm;
  dev.namespace_name = "dev";
  EXPECT_FALSE(v.Denies(dev));  // the policy's namespaceSelector
  ReviewSpec unlabelled = cm;
  unlabelled.object = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
  EXPECT_FALSE(v.Denies(unlabelled));  // the binding's objectSelector
  ReviewSpec secret = cm;
  secret.resource = "secrets";
  EXPECT_FALSE(v.Denies(secret));  // the binding's resourceRules
  // DELETE: the old object's labels are matched.
  ReviewSpec deleted = cm;
  deleted.operation = "DELETE";
  deleted.old_object = cm.object;
  deleted.object.clear();
  EXPECT_TRUE(v.Denies(deleted));
  // A Namespace request is matched by its own labels; other cluster-scoped objects always.
  ReviewSpec ns = Request("", "v1", "namespaces", "", "CREATE", "");
  ns.object =
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: new, labels: {env: prod, tier: web}}\n";
  Vap ns_policy(DenyAll(rules), namespaces);
  EXPECT_TRUE(ns_policy.Denies(ns));
  ns.object = "apiVersion: v1\nkind: Namespace\nmetadata: {name: new, labels: {env: dev}}\n";
  EXPECT_FALSE(ns_policy.Denies(ns));
  ReviewSpec node = Request("", "v1", "nodes", "", "CREATE", "");
  EXPECT_TRUE(ns_policy.Denies(node));
}

TEST(VapActions, WarnAuditDenyReasonsAndFirstReasonWins) {
  const std::string policy =
      "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
      "metadata: {name: limits}\nspec:\n  matchConstraints:\n    resourceRules:\n"
      "    - apiGroups: [apps]\n      apiVersions: [v1]\n      operations: [CREATE]\n"
      "      resources: [deployments]\n  validations:\n"
      "  - expression: object.spec.replicas < 10\n    reason: RequestEntityTooLarge\n"
      "    message: too many\n"
      "  - expression: object.metadata.name != 'root'\n    reason: Unauthorized\n"
      "    messageExpression: \"'name ' + object.metadata.name + ' is reserved'\"\n";
  auto bind = [&](const std::string& actions) {
    return policy +
           "---\napiVersion: admissionregistration.k8s.io/v1\n"
           "kind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec:\n"
           "  policyName: limits\n  validationActions: " +
           actions + "\n";
  };
  ReviewSpec spec;
  spec.object = Deployment("root", 20);
  AdmissionResponse deny = Vap(bind("[Deny]")).Judge(spec);
  EXPECT_FALSE(deny.allowed);
  EXPECT_EQ(deny.code, 413);  // the first failed validation's reason
  EXPECT_EQ(deny.reason, "RequestEntityTooLarge");
  EXPECT_NE(deny.message.find("denied by moat (2 violations)"), std::string::npos);
  EXPECT_NE(deny.message.find("denied request: name root is reserved"), std::string::npos);
  spec.object = Deployment("root", 1);
  AdmissionResponse unauthorized = Vap(bind("[Deny]")).Judge(spec);
  EXPECT_EQ(unauthorized.code, 401);

  AdmissionResponse warn = Vap(bind("[Warn]")).Judge(spec);
  EXPECT_TRUE(warn.allowed);
  ASSERT_EQ(warn.warnings.size(), 1u);
  EXPECT_EQ(warn.warnings[0],
            "Validation failed for ValidatingAdmissionPolicy 'limits' with binding 'b': name root "
            "is reserved");
  AdmissionResponse audit = Vap(bind("[Audit]")).Judge(spec);
  EXPECT_TRUE(audit.allowed);
  EXPECT_TRUE(audit.warnings.empty());
  ASSERT_EQ(audit.audit_annotations.size(), 1u);
  auto failures = nlohmann::json::parse(audit.audit_annotations[0].second);
  EXPECT_EQ(failures[0]["expressionIndex"], 1);
  EXPECT_EQ(failures[0]["validationActions"], nlohmann::json({"Audit"}));
  AdmissionResponse deny_audit = Vap(bind("[Deny, Audit]")).Judge(spec);
  EXPECT_FALSE(deny_audit.allowed);
  EXPECT_EQ(deny_audit.audit_annotations.size(), 1u);
}

TEST(VapEval, MessageExpressionFallbacksAndVariablesAreLazy) {
  const std::string yaml =
      "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
      "metadata: {name: p}\nspec:\n  matchConstraints:\n    resourceRules:\n"
      "    - apiGroups: [apps]\n      apiVersions: [v1]\n      operations: ['*']\n"
      "      resources: [deployments]\n"
      "  variables:\n"
      "  - name: broken\n    expression: object.spec.nothing.here\n"
      "  - name: replicas\n    expression: object.spec.replicas\n"
      "  - name: doubled\n    expression: variables.replicas * 2\n"
      "  validations:\n"
      // The broken variable is never read: its error does not matter.
      "  - expression: variables.doubled < 10 || variables.broken\n"
      "  - expression: variables.doubled < 10\n"
      "    messageExpression: \"'  '\"\n"  // blank: the static message is used
      "    message: static one\n"
      "  - expression: variables.doubled < 10\n"
      "    messageExpression: \"'line\\\\nbreak'\"\n"  // spans lines: the default message
      "  - expression: oldObject == null || oldObject.spec.replicas <= object.spec.replicas\n"
      "    messageExpression: \"'scaled down from ' + string(oldObject.spec.replicas)\"\n"
      "  - expression: request.operation != 'DELETE' || object == null\n"
      "  - expression: request.userInfo.username != 'mallory'\n"
      "    messageExpression: 1 + 1\n"  // not a string: the default message
      "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n"
      "metadata: {name: b}\nspec:\n  policyName: p\n  validationActions: [Warn]\n";
  Vap v(yaml);
  ReviewSpec spec;
  spec.object = Deployment("web", 3);
  EXPECT_TRUE(v.Judge(spec).warnings.empty());  // || short-circuits: the broken one unread
  spec.object = Deployment("web", 6);
  AdmissionResponse big = v.Judge(spec);
  ASSERT_EQ(big.warnings.size(), 3u) << ::testing::PrintToString(big.warnings);
  // The broken variable was read: its error is the validation's (failurePolicy Fail).
  EXPECT_NE(big.warnings[0].find("resulted in error: 1:1: variables.broken: "), std::string::npos)
      << big.warnings[0];
  EXPECT_NE(big.warnings[1].find("': static one"), std::string::npos);
  EXPECT_NE(big.warnings[2].find("': failed expression: variables.doubled < 10"),
            std::string::npos);
  spec.operation = "UPDATE";
  spec.object = Deployment("web", 2);
  spec.old_object = Deployment("web", 4);
  spec.username = "mallory";
  AdmissionResponse down = v.Judge(spec);
  ASSERT_EQ(down.warnings.size(), 2u) << ::testing::PrintToString(down.warnings);
  EXPECT_NE(down.warnings[0].find("scaled down from 4"), std::string::npos);
  EXPECT_NE(down.warnings[1].find("failed expression: request.userInfo.username != 'mallory'"),
            std::string::npos);
}

TEST(VapEval, NamespaceObjectFromTheCacheOrTheRequest) {
  const std::string yaml =
      "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
      "metadata: {name: p}\nspec:\n  matchConstraints:\n    resourceRules:\n"
      "    - apiGroups: ['*']\n      apiVersions: ['*']\n      operations: ['*']\n"
      "      resources: ['*']\n  validations:\n"
      "  - expression: namespaceObject == null || namespaceObject.metadata.labels["
      "'kubernetes.io/metadata.name'] == namespaceObject.metadata.name\n"
      "    message: inconsistent\n"
      "  - expression: \"namespaceObject == null || !has(namespaceObject.metadata.annotations) || "
      "namespaceObject.metadata.annotations['owner'] != 'nobody'\"\n"
      "    message: orphan namespace\n"
      "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n"
      "metadata: {name: b}\nspec:\n  policyName: p\n  validationActions: [Deny]\n";
  k8s::LoadResult loaded;
  k8s::ParseManifests(
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: lost\n  labels: "
      "{kubernetes.io/metadata.name: lost}\n  annotations: {owner: nobody}\n",
      "ns.yaml", loaded);
  Vap cached(yaml, NamespaceCache::FromObjects(loaded.objects));
  Vap bare(yaml);
  ReviewSpec spec = Request("", "v1", "configmaps", "", "CREATE", "lost");
  EXPECT_NE(cached.Judge(spec).message.find("orphan namespace"), std::string::npos);
  // Without the cache: the name and its label only, consistent, no annotations.
  EXPECT_TRUE(bare.Judge(spec).allowed);
  // Cluster-scoped request: namespaceObject is null.
  EXPECT_TRUE(cached.Judge(Request("", "v1", "nodes", "", "CREATE", "")).allowed);
}

TEST(VapEval, MatchConditionErrorsAndAuditAnnotationErrorsFollowFailurePolicy) {
  auto yaml = [](const std::string& failure_policy) {
    return "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
           "metadata: {name: p}\nspec:\n  failurePolicy: " +
           failure_policy +
           "\n  matchConstraints:\n    resourceRules:\n"
           "    - apiGroups: [apps]\n      apiVersions: [v1]\n      operations: ['*']\n"
           "      resources: [deployments]\n"
           "  matchConditions:\n  - name: is-web\n    expression: object.metadata.labels.tier == "
           "'web'\n  - name: not-skipped\n    expression: \"!('skip' in object.metadata.labels)\"\n"
           "  validations:\n  - expression: 'true'\n"
           "  auditAnnotations:\n  - key: weird\n    valueExpression: object.spec.replicas\n"
           "---\napiVersion: admissionregistration.k8s.io/v1\n"
           "kind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec:\n  policyName: p\n"
           "  validationActions: [Warn]\n";
  };
  ReviewSpec spec;
  spec.object = Deployment("web", 1, "nginx", "{}");  // no tier label: the condition errors
  AdmissionResponse fail = Vap(yaml("Fail")).Judge(spec);
  ASSERT_EQ(fail.warnings.size(), 1u);  // the error goes through validationActions: a warning
  EXPECT_NE(fail.warnings[0].find("matchCondition 'is-web'"), std::string::npos);
  EXPECT_TRUE(Vap(yaml("Ignore")).Judge(spec).warnings.empty());
  // One condition false and one erroring: the policy is skipped, whatever failurePolicy says.
  spec.object = Deployment("web", 1, "nginx", "{skip: yes}");
  EXPECT_TRUE(Vap(yaml("Fail")).Judge(spec).allowed);
  EXPECT_TRUE(Vap(yaml("Fail")).Judge(spec).warnings.empty());
  // Conditions true: the audit annotation's int value is an error that denies under Fail.
  spec.object = Deployment("web", 1, "nginx", "{tier: web}");
  AdmissionResponse annotated = Vap(yaml("Fail")).Judge(spec);
  EXPECT_FALSE(annotated.allowed);
  EXPECT_NE(annotated.message.find("unsupported return type int"), std::string::npos);
  EXPECT_TRUE(Vap(yaml("Ignore")).Judge(spec).allowed);
}

TEST(VapParams, NamespacedParamsAndMissingOnes) {
  const std::string yaml =
      "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
      "metadata: {name: p}\nspec:\n  paramKind: {apiVersion: v1, kind: ConfigMap}\n"
      "  matchConstraints:\n    resourceRules:\n"
      "    - apiGroups: ['*']\n      apiVersions: ['*']\n      operations: ['*']\n"
      "      resources: ['*']\n  validations:\n"
      "  - expression: params == null || object.metadata.name != params.data.forbidden\n"
      "    messageExpression: \"'name forbidden by ' + params.metadata.namespace\"\n"
      "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n"
      "metadata: {name: by-name}\nspec:\n  policyName: p\n  validationActions: [Deny]\n"
      "  paramRef: {name: rules, parameterNotFoundAction: Allow}\n"
      "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n"
      "metadata: {name: no-ref}\nspec:\n  policyName: p\n  validationActions: [Deny]\n"
      "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n"
      "metadata: {name: required}\nspec:\n  policyName: p\n  validationActions: [Deny]\n"
      "  paramRef: {name: rules, namespace: a, parameterNotFoundAction: Deny}\n"
      "  matchResources: {objectSelector: {matchLabels: {strict: 'true'}}}\n"
      "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n"
      "metadata: {name: absent}\nspec:\n  policyName: p\n  validationActions: [Deny]\n"
      "  paramRef: {name: absent}\n"  // parameterNotFoundAction defaults to Deny
      "  matchResources: {objectSelector: {matchLabels: {absent: 'true'}}}\n"
      "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: rules, namespace: a}\n"
      "data: {forbidden: x}\n"
      "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: rules, namespace: b}\n"
      "data: {forbidden: y}\n";
  Vap v(yaml);
  ASSERT_NE(v.get(), nullptr);
  EXPECT_EQ(v.get()->params(), 2u);
  ReviewSpec in_a = Request("", "v1", "configmaps", "", "CREATE", "a");
  AdmissionResponse denied = v.Judge(in_a);  // name x, namespace a's param forbids x
  EXPECT_FALSE(denied.allowed);
  EXPECT_NE(denied.message.find("name forbidden by a"), std::string::npos);
  ReviewSpec in_b = Request("", "v1", "configmaps", "", "CREATE", "b");
  EXPECT_TRUE(v.Judge(in_b).allowed);                                                // b forbids y
  EXPECT_TRUE(v.Judge(Request("", "v1", "configmaps", "", "CREATE", "c")).allowed);  // Allow
  // An explicit paramRef.namespace: namespace a's param for a request in b.
  ReviewSpec strict = in_b;
  strict.object = "apiVersion: v1\nkind: Thing\nmetadata: {name: x, labels: {strict: 'true'}}\n";
  EXPECT_NE(v.Judge(strict).message.find("binding 'required' denied request: name forbidden by a"),
            std::string::npos);
  // A missing param with parameterNotFoundAction Deny: the failure policy (Fail) denies, 403.
  ReviewSpec absent = in_b;
  absent.object = "apiVersion: v1\nkind: Thing\nmetadata: {name: z, labels: {absent: 'true'}}\n";
  AdmissionResponse missing = v.Judge(absent);
  EXPECT_FALSE(missing.allowed);
  EXPECT_EQ(missing.code, 403);
  EXPECT_EQ(missing.message,
            "ValidatingAdmissionPolicy 'p' with binding 'absent' denied request: no params found "
            "for policy binding with `Deny` parameterNotFoundAction (ConfigMap \"absent\" in "
            "namespace \"b\")");
  // A namespaced param for a cluster-scoped request without paramRef.namespace: a config error.
  AdmissionResponse cluster = v.Judge(Request("", "v1", "nodes", "", "CREATE", ""));
  EXPECT_FALSE(cluster.allowed);
  EXPECT_NE(cluster.message.find("cannot use a namespaced paramRef"), std::string::npos);
}

}  // namespace
}  // namespace moat::admission
