// Mutations: each one on its own (what it adds, what it leaves alone), the JSON Patch applied by
// an independent implementation (nlohmann's json::patch, RFC 6902) giving the tree the mutator
// built, a second review of the result giving no patch, every Pod Security admission fixture
// (as a Pod, a Deployment and a CronJob) made to pass the restricted level where only missing
// or mutable fields kept it from passing, the seed's Mutate definitions accepted by name and id,
// the configuration's errors, and /mutate through the webhook's handler.

#include "admission/mutation.h"

#include <gtest/gtest.h>

#include <set>

#include "admission/test_util.h"
#include "admission/webhook.h"
#include "artifact/source_util.h"
#include "core/bytes.h"
#include "csv.h"
#include "k8s/checks.h"
#include "k8s/loader.h"

namespace moat::admission {
namespace {

using nlohmann::json;

const std::string kEveryMutation = R"(mutations:
- mutate: [drop-capabilities, read-only-root-filesystem, automount-service-account-token,
           run-as-non-root, run-as-user, seccomp-runtime-default, no-privilege-escalation,
           cpu-limits, memory-limits, pdb-max-unavailable, pdb-unhealthy-pod-eviction]
)";

AdmissionConfig Config(const std::string& yaml) {
  auto config = ParseAdmissionConfig(yaml, "moat.yaml");
  EXPECT_TRUE(config.ok()) << config.error().message;
  return config.ok() ? *config : AdmissionConfig{};
}

json Review(const json& object, const std::string& ns = "team-a",
            const std::string& operation = "CREATE") {
  json review = testing::CreateReview(object, ns);
  review["request"]["operation"] = operation;
  return review;
}

struct Mutated {
  MutationResult result;
  json patch;   // the operations, parsed
  json object;  // the request's object after Mutate (the mutator's own tree)
};

Mutated MutateReview(const Mutator& mutator, const json& review) {
  auto request = DecodeAdmissionReview(review.dump());
  EXPECT_TRUE(request.ok()) << request.error().message;
  Mutated out;
  if (!request.ok()) return out;
  out.result = mutator.Mutate(*request);
  out.patch = out.result.patch.empty() ? json::array() : json::parse(out.result.patch);
  out.object = testing::ToJson(request->object.root);
  return out;
}

/// Mutates `object`, applies the patch with nlohmann (an implementation of RFC 6902 of its own),
/// checks that it gives the mutator's tree and that a second review of it changes nothing, and
/// returns the patched object.
json MutateAndCheck(const Mutator& mutator, const json& object, json* patch_out = nullptr) {
  const Mutated first = MutateReview(mutator, Review(object));
  const json patched = object.patch(first.patch);
  EXPECT_EQ(patched, first.object) << first.result.patch;
  EXPECT_EQ(first.result.operations, first.patch.size());
  const Mutated second = MutateReview(mutator, Review(patched));
  EXPECT_EQ(second.result.patch, "") << "not idempotent on " << patched.dump();
  EXPECT_TRUE(second.result.applied.empty());
  if (patch_out != nullptr) *patch_out = first.patch;
  return patched;
}

json Pod(json spec) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "p"}, {"namespace", "team-a"}}},
          {"spec", std::move(spec)}};
}

json OneContainer(json container_extra = json::object()) {
  json container = {{"name", "app"}, {"image", "nginx:1.27"}};
  container.update(container_extra);
  return {{"containers", json::array({container})}};
}

TEST(JsonPointer, EscapesTildeAndSlash) {
  std::string pointer;
  AppendJsonPointerToken(pointer, "metadata");
  AppendJsonPointerToken(pointer, "annotations");
  AppendJsonPointerToken(pointer, "seccomp.security.alpha.kubernetes.io/pod~x");
  EXPECT_EQ(pointer, "/metadata/annotations/seccomp.security.alpha.kubernetes.io~1pod~0x");
  // nlohmann's reader of RFC 6901 finds the same member.
  const json doc = {
      {"metadata", {{"annotations", {{"seccomp.security.alpha.kubernetes.io/pod~x", "ok"}}}}}};
  EXPECT_EQ(doc.at(json::json_pointer(pointer)), "ok");
  std::string empty_token;
  AppendJsonPointerToken(empty_token, "");
  EXPECT_EQ(empty_token, "/");
}

TEST(Mutation, MissingSecurityContextIsOneAddOfTheNestedObject) {
  const Mutator mutator(Config("mutations:\n- mutate: [drop-capabilities]\n"));
  json patch;
  const json out = MutateAndCheck(mutator, Pod(OneContainer()), &patch);
  ASSERT_EQ(patch.size(), 1u) << patch.dump();
  EXPECT_EQ(patch[0], json::parse(R"({"op":"add","path":"/spec/containers/0/securityContext",
      "value":{"capabilities":{"drop":["ALL"]}}})"));
  EXPECT_EQ(out["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"],
            json::array({"ALL"}));
}

TEST(Mutation, LaterMutationsAddIntoWhatEarlierOnesCreated) {
  const Mutator mutator(
      Config("mutations:\n- mutate: [drop-capabilities, read-only-root-filesystem, "
             "no-privilege-escalation]\n"));
  json patch;
  const json out = MutateAndCheck(mutator, Pod(OneContainer()), &patch);
  ASSERT_EQ(patch.size(), 3u) << patch.dump();
  EXPECT_EQ(patch[1]["path"], "/spec/containers/0/securityContext/readOnlyRootFilesystem");
  EXPECT_EQ(patch[2]["path"], "/spec/containers/0/securityContext/allowPrivilegeEscalation");
  EXPECT_EQ(out["spec"]["containers"][0]["securityContext"],
            json::parse(R"({"capabilities":{"drop":["ALL"]},"readOnlyRootFilesystem":true,
                            "allowPrivilegeEscalation":false})"));
}

TEST(Mutation, DropAllIsAppendedToAnExistingList) {
  const Mutator mutator(Config("mutations:\n- mutate: [drop-capabilities]\n"));
  json patch;
  const json out = MutateAndCheck(
      mutator,
      Pod(OneContainer({{"securityContext", {{"capabilities", {{"drop", {"NET_RAW"}}}}}}})),
      &patch);
  ASSERT_EQ(patch.size(), 1u);
  EXPECT_EQ(patch[0]["path"], "/spec/containers/0/securityContext/capabilities/drop/-");
  EXPECT_EQ(out["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"],
            json::array({"NET_RAW", "ALL"}));
  // Already there: nothing.
  EXPECT_EQ(MutateReview(mutator, Review(out)).result.patch, "");
}

TEST(Mutation, ANullSecurityContextIsReplacedByAdd) {
  const Mutator mutator(Config("mutations:\n- mutate: [read-only-root-filesystem]\n"));
  json patch;
  const json out =
      MutateAndCheck(mutator, Pod(OneContainer({{"securityContext", nullptr}})), &patch);
  ASSERT_EQ(patch.size(), 1u);
  EXPECT_EQ(patch[0]["op"], "add");
  EXPECT_EQ(patch[0]["path"], "/spec/containers/0/securityContext");
  EXPECT_EQ(out["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"], true);
}

TEST(Mutation, ExplicitValuesStay) {
  const Mutator mutator(Config(kEveryMutation));
  const json spec = {
      {"automountServiceAccountToken", false},
      {"securityContext",
       {{"runAsNonRoot", false}, {"runAsUser", 0}, {"seccompProfile", {{"type", "Unconfined"}}}}},
      {"containers",
       {{{"name", "app"},
         {"image", "nginx:1.27"},
         {"resources", {{"limits", {{"cpu", "2"}, {"memory", "1Gi"}}}}},
         {"securityContext",
          {{"readOnlyRootFilesystem", false},
           {"allowPrivilegeEscalation", false},
           {"capabilities", {{"drop", {"ALL"}}}}}}}}}};
  const Mutated m = MutateReview(mutator, Review(Pod(spec)));
  EXPECT_EQ(m.result.patch, "") << m.result.patch;
  EXPECT_TRUE(m.result.evaluated);
}

TEST(Mutation, PodLevelValuesCoverTheContainers) {
  // runAsNonRoot, runAsUser and seccompProfile of the pod apply to containers that set none.
  const Mutator mutator(
      Config("mutations:\n- mutate: [MutateRunAsNonRoot, MutateRunAsNonRootUserContainers, "
             "MutateSeccompProfileContainers]\n"));
  const json spec = {
      {"securityContext",
       {{"runAsNonRoot", true}, {"runAsUser", 2000}, {"seccompProfile", {{"type", "Localhost"}}}}},
      {"containers", {{{"name", "app"}, {"image", "nginx:1.27"}}}}};
  EXPECT_EQ(MutateReview(mutator, Review(Pod(spec))).result.patch, "");
  // Without the pod's values the containers get theirs.
  json patch;
  const json out = MutateAndCheck(mutator, Pod(OneContainer()), &patch);
  EXPECT_EQ(out["spec"]["containers"][0]["securityContext"],
            json::parse(R"({"runAsNonRoot":true,"runAsUser":1000,
                            "seccompProfile":{"type":"RuntimeDefault"}})"));
}

TEST(Mutation, PrivilegeEscalationAndTokenAreSetFalseAsAzureDoes) {
  const Mutator mutator(
      Config("mutations:\n- mutate: [no-privilege-escalation, automount-service-account-token]\n"));
  json spec = OneContainer({{"securityContext", {{"allowPrivilegeEscalation", true}}}});
  spec["automountServiceAccountToken"] = true;
  json patch;
  const json out = MutateAndCheck(mutator, Pod(spec), &patch);
  ASSERT_EQ(patch.size(), 2u) << patch.dump();
  EXPECT_EQ(patch[0]["op"], "replace");
  EXPECT_EQ(patch[1]["op"], "replace");
  EXPECT_EQ(out["spec"]["automountServiceAccountToken"], false);
  EXPECT_EQ(out["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"], false);
}

TEST(Mutation, NoPrivilegeEscalationLeavesWhatTheApiServerWouldRefuse) {
  // allowPrivilegeEscalation false beside privileged or CAP_SYS_ADMIN is an invalid pod.
  const Mutator mutator(Config("mutations:\n- mutate: [no-privilege-escalation]\n"));
  json spec = {{"containers",
                {{{"name", "a"}, {"image", "x"}, {"securityContext", {{"privileged", true}}}},
                 {{"name", "b"},
                  {"image", "x"},
                  {"securityContext", {{"capabilities", {{"add", {"SYS_ADMIN"}}}}}}},
                 {{"name", "c"}, {"image", "x"}}}}};
  json patch;
  MutateAndCheck(mutator, Pod(spec), &patch);
  ASSERT_EQ(patch.size(), 1u) << patch.dump();
  EXPECT_EQ(patch[0]["path"], "/spec/containers/2/securityContext");
}

TEST(Mutation, ContainerKindsOfEachName) {
  json spec = OneContainer();
  spec["initContainers"] = {{{"name", "init"}, {"image", "busybox"}}};
  spec["ephemeralContainers"] = {{{"name", "debug"}, {"image", "busybox"}}};
  auto paths = [&spec](const std::string& names) {
    const Mutator mutator(Config("mutations:\n- mutate: [" + names + "]\n"));
    json patch;
    MutateAndCheck(mutator, Pod(spec), &patch);
    std::vector<std::string> out;
    for (const json& op : patch) out.push_back(op["path"]);
    return out;
  };
  EXPECT_EQ(paths("MutateReadOnlyRootFilesystem"),
            std::vector<std::string>({"/spec/containers/0/securityContext"}));
  EXPECT_EQ(paths("MutateReadOnlyRootFilesystemInitContainers"),
            std::vector<std::string>({"/spec/initContainers/0/securityContext"}));
  EXPECT_EQ(paths("read-only-root-filesystem"),
            std::vector<std::string>({"/spec/containers/0/securityContext",
                                      "/spec/initContainers/0/securityContext",
                                      "/spec/ephemeralContainers/0/securityContext"}));
  // Resources are refused on ephemeral containers.
  EXPECT_EQ(paths("cpu-limits"), std::vector<std::string>({"/spec/containers/0/resources",
                                                           "/spec/initContainers/0/resources"}));
  // run-as-user is the pod's; the container definitions write the containers.
  EXPECT_EQ(paths("run-as-user"), std::vector<std::string>({"/spec/securityContext"}));
  EXPECT_EQ(paths("MutateRunAsNonRootUserInitContainers"),
            std::vector<std::string>({"/spec/initContainers/0/securityContext"}));
}

TEST(Mutation, LimitsDefaultToTheParametersOrToALargerRequest) {
  const Mutator defaults(Config("mutations:\n- mutate: [cpu-limits, memory-limits]\n"));
  json out = MutateAndCheck(defaults, Pod(OneContainer()));
  EXPECT_EQ(out["spec"]["containers"][0]["resources"],
            json::parse(R"({"limits":{"cpu":"500m","memory":"500Mi"}})"));
  const Mutator configured(
      Config("mutations:\n- mutate: [cpu-limits, memory-limits]\n"
             "  parameters: {cpuLimit: 250m, memoryLimit: 256Mi}\n"));
  out = MutateAndCheck(configured,
                       Pod(OneContainer({{"resources", {{"requests", {{"cpu", "1"}}}}}})));
  EXPECT_EQ(out["spec"]["containers"][0]["resources"]["limits"],
            json::parse(R"({"cpu":"1","memory":"256Mi"})"));
  out = MutateAndCheck(configured,
                       Pod(OneContainer({{"resources", {{"requests", {{"cpu", "100m"}}}}}})));
  EXPECT_EQ(out["spec"]["containers"][0]["resources"]["limits"]["cpu"], "250m");
}

TEST(Mutation, RunAsUserParameter) {
  const Mutator mutator(
      Config("mutations:\n- mutate: [run-as-user]\n  parameters: {runAsUser: 65532}\n"));
  const json out = MutateAndCheck(mutator, Pod(OneContainer()));
  EXPECT_EQ(out["spec"]["securityContext"]["runAsUser"], 65532);
}

TEST(Mutation, WindowsPodsGetOnlyWhatWindowsAccepts) {
  const Mutator mutator(Config(kEveryMutation));
  json spec = OneContainer();
  spec["os"] = {{"name", "windows"}};
  json patch;
  const json out = MutateAndCheck(mutator, Pod(spec), &patch);
  EXPECT_EQ(out["spec"]["containers"][0]["securityContext"],
            json::parse(R"({"runAsNonRoot":true})"));
  EXPECT_FALSE(out["spec"].contains("securityContext"));
  EXPECT_EQ(out["spec"]["automountServiceAccountToken"], false);
}

TEST(Mutation, WorkloadTemplates) {
  const Mutator mutator(Config(kEveryMutation));
  const json pod_spec = OneContainer();
  const std::vector<std::pair<json, std::string>> objects = {
      {{{"apiVersion", "apps/v1"},
        {"kind", "Deployment"},
        {"metadata", {{"name", "d"}}},
        {"spec", {{"template", {{"spec", pod_spec}}}}}},
       "/spec/template/spec"},
      {{{"apiVersion", "v1"},
        {"kind", "ReplicationController"},
        {"metadata", {{"name", "rc"}}},
        {"spec", {{"template", {{"spec", pod_spec}}}}}},
       "/spec/template/spec"},
      {{{"apiVersion", "batch/v1"},
        {"kind", "CronJob"},
        {"metadata", {{"name", "c"}}},
        {"spec", {{"jobTemplate", {{"spec", {{"template", {{"spec", pod_spec}}}}}}}}}},
       "/spec/jobTemplate/spec/template/spec"},
  };
  for (const auto& [object, spec_pointer] : objects) {
    SCOPED_TRACE(object["kind"].get<std::string>());
    json patch;
    const json out = MutateAndCheck(mutator, object, &patch);
    ASSERT_FALSE(patch.empty());
    for (const json& op : patch)
      EXPECT_EQ(op["path"].get<std::string>().rfind(spec_pointer + "/", 0), 0u) << op.dump();
    EXPECT_EQ(out.at(json::json_pointer(spec_pointer + "/automountServiceAccountToken")), false);
  }
  // Workload updates are mutated (their template is not immutable).
  const Mutated update = MutateReview(mutator, Review(objects[0].first, "team-a", "UPDATE"));
  EXPECT_FALSE(update.result.patch.empty());
}

TEST(Mutation, PodDisruptionBudgets) {
  const Mutator mutator(Config(kEveryMutation));
  const json pdb = {{"apiVersion", "policy/v1"},
                    {"kind", "PodDisruptionBudget"},
                    {"metadata", {{"name", "web"}}},
                    {"spec", {{"selector", {{"matchLabels", {{"app", "web"}}}}}}}};
  json out = MutateAndCheck(mutator, pdb);
  EXPECT_EQ(out["spec"]["maxUnavailable"], 1);
  EXPECT_EQ(out["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow");
  json with_min = pdb;
  with_min["spec"]["minAvailable"] = "50%";
  out = MutateAndCheck(mutator, with_min);
  EXPECT_FALSE(out["spec"].contains("maxUnavailable"));
  json no_spec = pdb;
  no_spec.erase("spec");
  out = MutateAndCheck(mutator, no_spec);
  EXPECT_EQ(out["spec"]["maxUnavailable"], 1);
}

TEST(Mutation, OperationsAndSubresources) {
  const Mutator mutator(Config(kEveryMutation));
  const json pod = Pod(OneContainer());
  // DELETE carries no object to change.
  json del = Review(pod, "team-a", "DELETE");
  del["request"]["oldObject"] = pod;
  del["request"].erase("object");
  Mutated m = MutateReview(mutator, del);
  EXPECT_EQ(m.result.patch, "");
  EXPECT_FALSE(m.result.evaluated);
  // A pod's spec is immutable: an UPDATE of a pod is left alone.
  EXPECT_EQ(MutateReview(mutator, Review(pod, "team-a", "UPDATE")).result.patch, "");
  // Other subresources too.
  json status = Review(pod, "team-a", "UPDATE");
  status["request"]["subResource"] = "status";
  EXPECT_EQ(MutateReview(mutator, status).result.patch, "");
  // pods/ephemeralcontainers: only the containers it adds.
  json with_debug = pod;
  with_debug["spec"]["ephemeralContainers"] = {{{"name", "old"}, {"image", "busybox"}},
                                               {{"name", "new"}, {"image", "busybox"}}};
  json old = pod;
  old["spec"]["ephemeralContainers"] = {{{"name", "old"}, {"image", "busybox"}}};
  json ephemeral = Review(with_debug, "team-a", "UPDATE");
  ephemeral["request"]["subResource"] = "ephemeralcontainers";
  ephemeral["request"]["oldObject"] = old;
  m = MutateReview(mutator, ephemeral);
  ASSERT_FALSE(m.patch.empty());
  for (const json& op : m.patch)
    EXPECT_EQ(op["path"].get<std::string>().rfind("/spec/ephemeralContainers/1/", 0), 0u)
        << op.dump();
}

TEST(Mutation, Selectors) {
  const Mutator mutator(Config(R"(excludedNamespaces: [kube-system]
mutations:
- mutate: [read-only-root-filesystem]
  namespaces: ["prod-*"]
  excludedNamespaces: [prod-legacy]
- mutate: [drop-capabilities]
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
- mutate: [run-as-user]
  objectSelector: {matchExpressions: [{key: moat.dev/no-mutation, operator: DoesNotExist}]}
)"));
  auto changed = [&mutator](const std::string& ns, json labels = json::object()) {
    json pod = Pod(OneContainer());
    pod["metadata"]["namespace"] = ns;
    pod["metadata"]["labels"] = labels;
    return MutateReview(mutator, Review(pod, ns)).result.applied;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(changed("prod-eu"), Names({"read-only-root-filesystem", "run-as-user"}));
  EXPECT_EQ(changed("prod-legacy"), Names({"run-as-user"}));
  EXPECT_EQ(changed("shop"), Names({"drop-capabilities", "run-as-user"}));
  EXPECT_EQ(changed("prod-eu", {{"moat.dev/no-mutation", "yes"}}),
            Names({"read-only-root-filesystem"}));
  EXPECT_EQ(changed("kube-system"), Names());
}

TEST(Mutation, TheFirstRuleThatSetsAValueWins) {
  const Mutator mutator(Config(R"(mutations:
- mutate: [cpu-limits]
  namespaces: [batch]
  parameters: {cpuLimit: "4"}
- mutate: [cpu-limits]
)"));
  json pod = Pod(OneContainer());
  json out = MutateAndCheck(mutator, pod);
  EXPECT_EQ(out["spec"]["containers"][0]["resources"]["limits"]["cpu"], "500m");
  pod["metadata"]["namespace"] = "batch";
  const Mutated m = MutateReview(mutator, Review(pod, "batch"));
  EXPECT_EQ(m.object["spec"]["containers"][0]["resources"]["limits"]["cpu"], "4");
}

// --- the seed's definitions and the configuration ----------------------------------------------

TEST(MutationConfig, EverySeedMutateDefinitionIsAcceptedByNameAndId) {
  auto text = ReadFileToString(std::string(MOAT_SHARED_DATA_DIR) +
                               "/seed/azure_policy_kubernetes_builtin_definitions.csv");
  ASSERT_TRUE(text.ok());
  const auto rows = ParseCsv(*text);
  ASSERT_GT(rows.size(), 1u);
  const std::vector<std::string>& header = rows[0];
  auto column = [&header](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const size_t file = column("file"), id = column("policy_definition_id"),
               effect = column("effect_default");
  ASSERT_LT(effect, header.size());
  size_t mutate = 0, accepted = 0;
  std::set<std::string> documented;
  for (const MutationInfo& info : AllMutations())
    for (const std::string& d : info.azure_definitions) documented.insert(d);
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() <= effect || rows[r][effect] != "Mutate") continue;
    ++mutate;
    const std::string stem = rows[r][file].substr(0, rows[r][file].rfind(".json"));
    for (const std::string& name : {stem, rows[r][id], rows[r][file]}) {
      auto parsed = ParseAdmissionConfig("mutations:\n- mutate: [\"" + name + "\"]\n", "m.yaml");
      if (stem == "MutateReservedSystemPoolTaints") {
        ASSERT_FALSE(parsed.ok());
        EXPECT_NE(parsed.error().message.find("AKS system node pools"), std::string::npos);
        continue;
      }
      ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.error().message;
      ++accepted;
    }
    if (stem != "MutateReservedSystemPoolTaints") {
      EXPECT_TRUE(documented.count(stem + " (" + rows[r][id] + ")")) << stem;
    }
  }
  EXPECT_EQ(mutate, 19u);
  EXPECT_EQ(accepted, 18u * 3);
}

TEST(MutationConfig, ErrorsNameTheFileAndLine) {
  auto error = [](const std::string& yaml) {
    auto parsed = ParseAdmissionConfig(yaml, "moat.yaml");
    return parsed.ok() ? std::string("(ok)") : parsed.error().message;
  };
  EXPECT_EQ(error("mutations:\n- mutate: [drop-capabilities, drop-everything]\n")
                .rfind("moat.yaml:2: unknown mutation \"drop-everything\"", 0),
            0u);
  EXPECT_EQ(error("mutations:\n- mutate: [cpu-limits]\n  parameters:\n    cpuLimt: 1\n")
                .rfind("moat.yaml:4: parameter \"cpuLimt\" is not", 0),
            0u);
  EXPECT_EQ(error("mutations:\n- mutate: [memory-limits]\n  parameters: {cpuLimit: 1}\n")
                .rfind("moat.yaml:3: parameter \"cpuLimit\"", 0),
            0u);
  EXPECT_NE(error("mutations:\n- mutate: [cpu-limits]\n  parameters: {cpuLimit: lots}\n")
                .find("moat.yaml:3: cpuLimit \"lots\" is not a positive Kubernetes quantity"),
            std::string::npos);
  EXPECT_NE(error("mutations:\n- mutate: [run-as-user]\n  parameters: {runAsUser: 0}\n")
                .find("moat.yaml:3: runAsUser \"0\" must be a non-root user id"),
            std::string::npos);
  EXPECT_EQ(error("mutations:\n- mutate: [run-as-user]\n  action: deny\n")
                .rfind("moat.yaml:3: unknown key \"action\" in a mutation entry", 0),
            0u);
  EXPECT_EQ(error("mutations:\n- namespaces: [a]\n"),
            "moat.yaml:2: a mutation entry needs mutate: [names]");
  EXPECT_EQ(error("mutations:\n- mutate: [run-as-user]\n  namespaceSelector: {matchLabels: 3}\n")
                .rfind("moat.yaml:3: matchLabels must be a map", 0),
            0u);
  EXPECT_EQ(error("mutations: {a: 1}\n"), "moat.yaml:1: mutations must be a list");
  // Azure names are case-insensitive and may keep their .json.
  EXPECT_EQ(error("mutations:\n- mutate: [mutatemaxunavailablepods.json]\n"), "(ok)");
}

// --- the PSA fixtures ----------------------------------------------------------------------------

using testing::kPsa;

/// Whether the mutations can make a fixture that fails the restricted level pass it: only where
/// what fails is a missing field, or one the mutations replace (allowPrivilegeEscalation true),
/// or a drop list without ALL. Explicit values the user chose (privileged, host namespaces,
/// hostPath, added capabilities, runAsNonRoot false, runAsUser 0, seccomp Unconfined, ...) stay.
bool MutationCanFix(const std::string& check, const json& pod_spec) {
  std::vector<json> contexts = {pod_spec.value("securityContext", json::object())};
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"})
    for (const json& c : pod_spec.value(list, json::array()))
      contexts.push_back(c.value("securityContext", json::object()));
  auto any = [&contexts](auto predicate) {
    return std::any_of(contexts.begin(), contexts.end(),
                       [&](const json& sc) { return sc.is_object() && predicate(sc); });
  };
  if (check == "allowprivilegeescalation") return true;
  if (check == "capabilities_restricted")
    return !any([](const json& sc) {
      const json add = sc.value("capabilities", json::object()).value("add", json::array());
      return std::any_of(add.begin(), add.end(),
                         [](const json& a) { return a != "NET_BIND_SERVICE"; });
    });
  if (check == "runasnonroot")
    return !any([](const json& sc) { return sc.value("runAsNonRoot", true) == false; });
  if (check == "seccompprofile_restricted")
    return !any([](const json& sc) {
      const std::string type = sc.value("seccompProfile", json::object()).value("type", "");
      return !type.empty() && type != "RuntimeDefault" && type != "Localhost";
    });
  return false;
}

std::vector<std::string> Findings(const json& object, const std::string& level, int minor) {
  k8s::LoadResult loaded;
  k8s::ParseManifests(object.dump(), "mutated.json", loaded);
  EXPECT_EQ(loaded.objects.size(), 1u);
  k8s::AssessOptions options;
  options.checks = {"pss-" + level};
  options.pss_minor = minor;
  auto assessment = k8s::Assess(std::move(loaded), options);
  EXPECT_TRUE(assessment.ok());
  std::vector<std::string> out;
  if (assessment.ok())
    for (const k8s::Finding& f : assessment->findings) out.push_back(f.check->id + " " + f.path);
  return out;
}

TEST(MutationPsa, EveryFixtureIsFixedWhereMutationCanFixItAndIdempotent) {
  const Mutator mutator(Config(kEveryMutation));
  size_t fixtures = 0, fixed = 0, still_failing = 0, kept_passing = 0;
  for (const testing::PsaFixture& f : testing::PsaFixtures()) {
    const std::string &level = f.level, &version = f.version, &expected = f.expected,
                      &check = f.check, &path = f.path;
    SCOPED_TRACE(path);
    auto text = ReadFileToString((kPsa / path).string());
    ASSERT_TRUE(text.ok());
    k8s::LoadResult loaded;
    k8s::ParseManifests(*text, path, loaded);
    ASSERT_EQ(loaded.objects.size(), 1u);
    const json pod = testing::ToJson(loaded.objects[0].root);
    const int minor = *k8s::ParsePssVersion(version);
    ++fixtures;

    const json mutated = MutateAndCheck(mutator, pod);
    const std::vector<std::string> findings = Findings(mutated, level, minor);
    const bool should_pass =
        expected == "pass" || (level == "restricted" && MutationCanFix(check, pod["spec"]));
    EXPECT_EQ(findings.empty(), should_pass) << ::testing::PrintToString(findings);
    if (expected == "pass") {
      ++kept_passing;
    } else if (findings.empty()) {
      ++fixed;
    } else {
      ++still_failing;
    }
    // The same pod in workload templates, for the newest version (the other kinds' paths).
    if (version != "v1." + std::to_string(k8s::LatestPssMinor())) continue;
    const json deployment = {
        {"apiVersion", "apps/v1"},
        {"kind", "Deployment"},
        {"metadata", {{"name", "d"}}},
        {"spec", {{"template", {{"metadata", pod["metadata"]}, {"spec", pod["spec"]}}}}}};
    const json cronjob = {
        {"apiVersion", "batch/v1"},
        {"kind", "CronJob"},
        {"metadata", {{"name", "c"}}},
        {"spec",
         {{"schedule", "@daily"},
          {"jobTemplate",
           {{"spec", {{"template", {{"metadata", pod["metadata"]}, {"spec", pod["spec"]}}}}}}}}}};
    for (const json& workload : {deployment, cronjob}) {
      const json out = MutateAndCheck(mutator, workload);
      EXPECT_EQ(Findings(out, level, minor).empty(), should_pass) << workload["kind"];
    }
  }
  std::printf(
      "PSA fixtures mutated: %zu (%zu failing fixed, %zu still failing, %zu kept passing)\n",
      fixtures, fixed, still_failing, kept_passing);
  EXPECT_GT(fixtures, 4000u);
  EXPECT_GT(fixed, 100u);
}

// --- through the webhook
// ----------------------------------------------------------------------------

http::Response Post(Webhook& webhook, const std::string& path, const json& review) {
  http::Request request;
  request.method = "POST";
  request.path = path;
  request.headers.emplace_back("content-type", "application/json");
  request.body = review.dump();
  return webhook.Handle(request);
}

TEST(MutationWebhook, PatchIsBase64JsonPatchInTheRequestsVersion) {
  const AdmissionConfig config =
      Config(kEveryMutation + "policies:\n- {checks: [pss-restricted], action: deny}\n");
  auto webhook = Webhook::Create([config] { return PolicySet::Build(config); }, WebhookOptions{});
  ASSERT_TRUE(webhook.ok());
  const json pod = Pod(OneContainer());
  for (const std::string version : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
    json review = Review(pod);
    review["apiVersion"] = version;
    const http::Response response = Post(**webhook, "/mutate", review);
    ASSERT_EQ(response.status, 200);
    const json body = json::parse(response.body);
    EXPECT_EQ(body["apiVersion"], version);
    const json answer = body["response"];
    EXPECT_EQ(answer["uid"], "uid-1");
    EXPECT_EQ(answer["allowed"], true);
    EXPECT_EQ(answer["patchType"], "JSONPatch");
    auto decoded = Base64Decode(answer["patch"].get<std::string>());
    ASSERT_TRUE(decoded.ok());
    const json patched = pod.patch(json::parse(*decoded));
    // /validate is unchanged by the mutations: the original pod is denied, the mutated one not.
    EXPECT_EQ(json::parse(Post(**webhook, "/validate", Review(pod)).body)["response"]["allowed"],
              false);
    const json validated = json::parse(Post(**webhook, "/validate", Review(patched)).body);
    EXPECT_EQ(validated["response"]["allowed"], true) << validated.dump();
    EXPECT_FALSE(validated["response"].contains("patch"));
    // The mutated object again: no patch at all.
    const json again = json::parse(Post(**webhook, "/mutate", Review(patched)).body)["response"];
    EXPECT_EQ(again["allowed"], true);
    EXPECT_FALSE(again.contains("patch"));
    EXPECT_FALSE(again.contains("patchType"));
  }
  const std::string metrics = (*webhook)->metrics().Render();
  EXPECT_NE(metrics.find("moat_admission_mutations_total{mutation=\"drop-capabilities\"} 2"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("decision=\"patched\"} 2"), std::string::npos) << metrics;
}

TEST(MutationWebhook, DryRunGetsThePatchWithoutBeingCounted) {
  const AdmissionConfig config = Config(kEveryMutation);
  auto webhook = Webhook::Create([config] { return PolicySet::Build(config); }, WebhookOptions{});
  ASSERT_TRUE(webhook.ok());
  json review = Review(Pod(OneContainer()));
  review["request"]["dryRun"] = true;
  const json answer = json::parse(Post(**webhook, "/mutate", review).body)["response"];
  EXPECT_TRUE(answer.contains("patch"));
  EXPECT_EQ((*webhook)->metrics().Render().find("moat_admission_mutations_total{"),
            std::string::npos);
  // Without mutations /mutate allows with no patch, as before.
  const AdmissionConfig none = Config("policies:\n- {checks: [pss-baseline], action: deny}\n");
  auto plain = Webhook::Create([none] { return PolicySet::Build(none); }, WebhookOptions{});
  ASSERT_TRUE(plain.ok());
  const json plain_answer =
      json::parse(Post(**plain, "/mutate", Review(Pod(OneContainer()))).body)["response"];
  EXPECT_EQ(plain_answer["allowed"], true);
  EXPECT_FALSE(plain_answer.contains("patch"));
}

}  // namespace
}  // namespace moat::admission
