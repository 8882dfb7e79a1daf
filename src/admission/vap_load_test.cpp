// Loading ValidatingAdmissionPolicies: what the API server would refuse is refused here too, and
// every error names the file, the line, the object, the field and (for CEL) the position.

#include <gtest/gtest.h>

#include "admission/vap_test_util.h"

namespace moat::admission {
namespace {

std::string LoadError(const std::string& yaml) {
  k8s::LoadResult loaded;
  k8s::ParseManifests(yaml, "policies.yaml", loaded);
  auto policy = VapPolicy::FromObjects(std::move(loaded));
  return policy.ok() ? std::string("loaded") : policy.error().message;
}

const char kHeader[] =
    "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
    "metadata: {name: demo}\nspec:\n  matchConstraints:\n    resourceRules:\n"
    "    - apiGroups: [apps]\n      apiVersions: [v1]\n      operations: [CREATE]\n"
    "      resources: [deployments]\n";

TEST(VapLoad, CompileErrorsNameFileLinePolicyFieldAndPosition) {
  const std::string yaml = std::string(kHeader) +
                           "  validations:\n"
                           "  - expression: object.spec.replicas <= 5\n"
                           "  - expression: object.spec.replicas <= (5\n";
  EXPECT_EQ(LoadError(yaml),
            "policies.yaml:13: ValidatingAdmissionPolicy \"demo\": spec.validations[1].expression: "
            "1:27: syntax error: expected ')' but found end of expression");
  EXPECT_EQ(LoadError(std::string(kHeader) + "  validations:\n  - expression: objet.x == 1\n"),
            "policies.yaml:12: ValidatingAdmissionPolicy \"demo\": spec.validations[0].expression: "
            "1:1: undeclared reference to 'objet'");
  // The authorizer library is not available: said so at load.
  const std::string authz =
      LoadError(std::string(kHeader) +
                "  validations:\n  - expression: authorizer.group('').resource('pods')."
                "check('create').allowed()\n");
  EXPECT_NE(authz.find("spec.validations[0].expression: 1:1: undeclared reference to "
                       "'authorizer'"),
            std::string::npos)
      << authz;
  EXPECT_NE(authz.find("authorizer checks cannot run here"), std::string::npos);
  // Variables: a later one may use an earlier one, never the reverse.
  EXPECT_EQ(
      LoadError(std::string(kHeader) + "  variables:\n  - name: a\n    expression: variables.b\n"
                                       "  - name: b\n    expression: '1'\n  validations:\n"
                                       "  - expression: variables.a == 1\n"),
      "loaded");  // resolved lazily: b is not visible to a (see the semantics test)
  EXPECT_NE(LoadError(std::string(kHeader) + "  variables:\n  - name: 'not valid'\n"
                                             "    expression: '1'\n  validations:\n"
                                             "  - expression: 'true'\n")
                .find("spec.variables[0].name: \"not valid\" is not a CEL identifier"),
            std::string::npos);
}

TEST(VapLoad, ApiServerValidationRules) {
  auto error = [](const std::string& spec_tail) {
    return LoadError(std::string(kHeader) + spec_tail);
  };
  EXPECT_NE(error("").find("validations or auditAnnotations are required"), std::string::npos);
  EXPECT_NE(error("  validations:\n  - expression: 'true'\n    reason: Teapot\n")
                .find("spec.validations[0].reason: \"Teapot\" is not Unauthorized"),
            std::string::npos);
  EXPECT_NE(error("  validations:\n  - expression: 'true'\n    message: \"a\\nb\"\n")
                .find("must not contain line breaks"),
            std::string::npos);
  EXPECT_NE(error("  validations:\n  - expression: \"true &&\\n true\"\n")
                .find("required when the expression contains line breaks"),
            std::string::npos);
  EXPECT_NE(error("  failurePolicy: Sometimes\n  validations:\n  - expression: 'true'\n")
                .find("spec.failurePolicy: \"Sometimes\" is not Fail or Ignore"),
            std::string::npos);
  EXPECT_NE(error("  validatons:\n  - expression: 'true'\n").find("spec.validatons: unknown field"),
            std::string::npos);
  EXPECT_NE(error("  validations:\n  - expression: 'true'\n  auditAnnotations:\n"
                  "  - key: a/b\n    valueExpression: \"'x'\"\n")
                .find("spec.auditAnnotations[0].key: \"a/b\" is not a valid key"),
            std::string::npos);
  EXPECT_NE(LoadError("apiVersion: admissionregistration.k8s.io/v1\n"
                      "kind: ValidatingAdmissionPolicy\nmetadata: {name: demo}\nspec:\n"
                      "  validations:\n  - expression: 'true'\n")
                .find("spec.matchConstraints: required"),
            std::string::npos);
  EXPECT_NE(error("  validations:\n  - expression: 'true'\n  matchConditions:\n"
                  "  - name: a\n    expression: 'true'\n  - name: a\n    expression: 'true'\n")
                .find("spec.matchConditions[1].name: duplicate name \"a\""),
            std::string::npos);
}

TEST(VapLoad, BindingRules) {
  const std::string policy = std::string(kHeader) + "  validations:\n  - expression: 'true'\n---\n";
  auto binding = [&](const std::string& spec) {
    return LoadError(policy +
                     "apiVersion: admissionregistration.k8s.io/v1\n"
                     "kind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec:\n"
                     "  policyName: demo\n" +
                     spec);
  };
  EXPECT_EQ(binding("  validationActions: [Warn, Audit]\n"), "loaded");
  EXPECT_NE(
      binding("  validationActions: [Deny, Warn]\n").find("Deny and Warn may not be used together"),
      std::string::npos);
  EXPECT_NE(binding("").find("spec.validationActions: required"), std::string::npos);
  EXPECT_NE(binding("  validationActions: [Block]\n").find("\"Block\" is not Deny, Warn or Audit"),
            std::string::npos);
  EXPECT_NE(binding("  validationActions: [Deny]\n  paramRef: {}\n")
                .find("exactly one of name and selector is required"),
            std::string::npos);
  EXPECT_NE(binding("  validationActions: [Deny]\n  paramRef: {name: x, "
                    "parameterNotFoundAction: Maybe}\n")
                .find("\"Maybe\" is not Allow or Deny"),
            std::string::npos);
  EXPECT_NE(binding("  validationActions: [Deny]\n  matchResources:\n    resourceRules:\n"
                    "    - operations: [PATCH]\n")
                .find("spec.matchResources.resourceRules[0].operations: \"PATCH\" is not CREATE"),
            std::string::npos);
  EXPECT_NE(LoadError(policy + policy).find("is defined twice"), std::string::npos);
  EXPECT_NE(LoadError("apiVersion: admissionregistration.k8s.io/v2\n"
                      "kind: ValidatingAdmissionPolicy\nmetadata: {name: x}\nspec: {}\n")
                .find("apiVersion: \"admissionregistration.k8s.io/v2\" is not"),
            std::string::npos);
}

TEST(VapLoad, DirectoriesOfTheDocumentationLoadWithTheirCounts) {
  struct Expected {
    const char* dir;
    size_t policies, bindings, params;
  };
  for (const Expected& e : {Expected{"basic", 1, 1, 0}, Expected{"replicalimit", 1, 2, 2},
                            Expected{"configmap-params", 1, 1, 3}, Expected{"variables", 1, 1, 0},
                            Expected{"failure-policy", 2, 2, 0}, Expected{"cost", 2, 2, 0}}) {
    auto policy = VapPolicy::Load({(testing::kVapData / e.dir).string()});
    ASSERT_TRUE(policy.ok()) << e.dir << ": " << policy.error().message;
    EXPECT_EQ((*policy)->policies(), e.policies) << e.dir;
    EXPECT_EQ((*policy)->bindings(), e.bindings) << e.dir;
    EXPECT_EQ((*policy)->params(), e.params) << e.dir;
  }
  auto replicas = VapPolicy::Load({(testing::kVapData / "replicalimit").string()});
  ASSERT_TRUE(replicas.ok());
  ASSERT_EQ((*replicas)->ParamKinds().size(), 1u);
  EXPECT_EQ((*replicas)->ParamKinds()[0].api_version, "rules.example.com/v1");
  EXPECT_EQ((*replicas)->ParamKinds()[0].kind, "ReplicaLimit");
}

TEST(VapLoad, GuessResourceAsTheRestMapper) {
  EXPECT_EQ(GuessResource("Deployment"), "deployments");
  EXPECT_EQ(GuessResource("Ingress"), "ingresses");
  EXPECT_EQ(GuessResource("NetworkPolicy"), "networkpolicies");
  EXPECT_EQ(GuessResource("ReplicaLimit"), "replicalimits");
  EXPECT_EQ(GuessResource("Gateway"), "gateways");
  EXPECT_EQ(GuessResource("Endpoints"), "endpoints");
}

}  // namespace
}  // namespace moat::admission
