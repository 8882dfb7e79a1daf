// The Azure Policy bundle against the seed's CSV (every in-scope definition is a check with the
// definition's parameter names and defaults) and, policy by policy, a violating and a compliant
// object through `moat k8s`'s check runner.

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/text.h"
#include "csv.h"
#include "k8s/azure_test_cases.h"
#include "k8s/checks.h"
#include "k8s/loader.h"

namespace moat::k8s {
namespace {

using testing::AzureCase;
using testing::AzureCases;

std::vector<std::map<std::string, std::string>> ReadDefinitions() {
  const std::string path =
      std::string(MOAT_SHARED_DATA_DIR) + "/seed/azure_policy_kubernetes_builtin_definitions.csv";
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  const auto rows = ParseCsv(text.str());
  std::vector<std::map<std::string, std::string>> out;
  for (size_t r = 1; r < rows.size(); ++r) {
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < rows[0].size() && c < rows[r].size(); ++c) row[rows[0][c]] = rows[r][c];
    out.push_back(std::move(row));
  }
  return out;
}

LoadResult LoadManifestText(const std::string& yaml, const std::string& file) {
  LoadResult out;
  ParseManifests(yaml, file, out);
  return out;
}

std::string WithoutJson(const std::string& file) {
  return file.size() > 5 ? file.substr(0, file.size() - 5) : file;
}

/// Why a Kubernetes-data definition has no Moat policy, or "" when it is in the bundle. The rule
/// the issue gives: Audit/Deny, not Windows-only, not AKS infrastructure, not Mutate.
std::string OutOfScope(const std::map<std::string, std::string>& row) {
  const std::string name = WithoutJson(row.at("file"));
  if (row.at("effect_allowed").find("Mutate") != std::string::npos) return "mutation";
  if (row.at("deprecated") == "yes") return "deprecated";
  if (name.rfind("Windows", 0) == 0) return "windows";
  static const std::set<std::string> kAksInfrastructure = {
      "NoAKSSpecificLabels", "ReservedSystemPoolTaints", "PrintMutationsAnnotations",
      "ImageIntegrityNotationVerification"};
  if (kAksInfrastructure.count(name)) return "aks";
  return "";
}

/// name -> default as the CSV writes it ("<required>" when the definition has none).
std::map<std::string, std::string> CsvDefaults(const std::string& custom) {
  std::map<std::string, std::string> out;
  for (std::string_view part : Split(custom, ';')) {
    part = TrimSpace(part);
    const size_t eq = part.find('=');
    if (part.empty() || eq == std::string_view::npos) continue;
    std::string value(TrimSpace(part.substr(eq + 1)));
    if (const size_t allowed = value.find(" allowed=["); allowed != std::string::npos)
      value.resize(allowed);
    out[std::string(TrimSpace(part.substr(0, eq)))] = value;
  }
  return out;
}

std::set<std::string> CsvParameterNames(const std::map<std::string, std::string>& row) {
  std::set<std::string> names = {"excludedNamespaces"};
  static const std::regex kRef(R"(parameters\('([A-Za-z]+)'\))");
  for (const std::string& column : {row.at("constraint_values"), row.at("kinds")}) {
    for (auto it = std::sregex_iterator(column.begin(), column.end(), kRef);
         it != std::sregex_iterator(); ++it)
      names.insert((*it)[1]);
  }
  for (const auto& [name, value] : CsvDefaults(row.at("custom_parameters"))) names.insert(name);
  return names;
}

/// The strings of a JSON array as far as it is complete (the CSV truncates a long cell).
std::vector<std::string> QuotedItems(const std::string& json) {
  std::vector<std::string> out;
  static const std::regex kItem(R"("([^"]*)\")");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), kItem);
       it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

std::vector<std::string> OurList(const std::string& value) {
  if (!value.empty() && value[0] == '[') return QuotedItems(value);
  std::vector<std::string> out;
  for (std::string_view part : Split(value, ',')) {
    if (!TrimSpace(part).empty()) out.emplace_back(TrimSpace(part));
  }
  return out;
}

std::string NoSpace(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

void ExpectSameDefault(const std::string& policy, const std::string& name, const std::string& csv,
                       const std::string& ours) {
  SCOPED_TRACE(policy + " " + name + ": CSV " + csv + ", Moat \"" + ours + "\"");
  if (csv == "\"<required>\"") {
    EXPECT_TRUE(ours.empty());
  } else if (!csv.empty() && csv[0] == '[') {
    const bool complete = csv.back() == ']';
    const std::vector<std::string> want = QuotedItems(csv), have = OurList(ours);
    if (complete) {
      EXPECT_EQ(have, want);
    } else {  // truncated in the CSV: ours starts with what it shows
      ASSERT_GE(have.size(), want.size());
      EXPECT_TRUE(std::equal(want.begin(), want.end(), have.begin()));
    }
  } else if (!csv.empty() && csv[0] == '{') {
    EXPECT_EQ(NoSpace(ours), NoSpace(csv));
  } else if (!csv.empty() && csv[0] == '"') {
    EXPECT_EQ(ours, csv.substr(1, csv.size() - 2));
  } else {
    EXPECT_EQ(ours, csv);  // false, numbers
  }
}

TEST(AzureBundle, EveryInScopeDefinitionIsAPolicyWithTheDefinitionsParameters) {
  size_t in_scope = 0, kubernetes_data = 0;
  std::set<std::string> bundle_ids;
  for (const auto& row : ReadDefinitions()) {
    if (row.at("mode") != "Microsoft.Kubernetes.Data") continue;
    ++kubernetes_data;
    const std::string name = WithoutJson(row.at("file"));
    const CheckInfo* info = FindCheck(name);
    if (!OutOfScope(row).empty()) {
      EXPECT_TRUE(info == nullptr || info->group != "azure") << name << " is " << OutOfScope(row);
      continue;
    }
    ++in_scope;
    ASSERT_NE(info, nullptr) << name << " has no policy";
    EXPECT_EQ(info->group, "azure");
    EXPECT_TRUE(info->bundle);
    EXPECT_EQ(FindCheck(row.at("file")), info);
    EXPECT_EQ(FindCheck(row.at("displayName")), info) << row.at("displayName");
    bundle_ids.insert(info->id);
    std::set<std::string> ours;
    for (const Parameter& p : info->parameters) ours.insert(p.name);
    EXPECT_EQ(ours, CsvParameterNames(row)) << name;
    const auto defaults = CsvDefaults(row.at("custom_parameters"));
    for (const Parameter& p : info->parameters) {
      if (p.name == "excludedNamespaces") {
        ExpectSameDefault(name, p.name, row.at("excludedNamespaces_default"), p.default_value);
      } else if (auto it = defaults.find(p.name); it != defaults.end()) {
        ExpectSameDefault(name, p.name, it->second, p.default_value);
      } else {
        EXPECT_EQ(p.default_value, "") << name << " " << p.name << " has no default in the CSV";
      }
    }
  }
  EXPECT_EQ(kubernetes_data, 75u);
  EXPECT_EQ(in_scope, 45u);
  size_t azure_checks = 0;
  for (const CheckInfo& info : AllChecks()) azure_checks += info.group == "azure";
  EXPECT_EQ(azure_checks, in_scope) << "a policy of group azure with no in-scope definition";
  EXPECT_EQ(bundle_ids.size(), in_scope);
}

Assessment RunCase(const std::string& yaml, const std::vector<std::string>& checks,
                   const std::string& parameters, std::vector<std::string> exclude = {}) {
  LoadResult input = LoadManifestText(yaml, "case.yaml");
  EXPECT_TRUE(input.errors.empty()) << yaml;
  AssessOptions options;
  options.checks = checks;
  options.exclude_namespaces = std::move(exclude);
  if (!parameters.empty()) {
    auto values = ParseYamlDocument(parameters, "parameters");
    EXPECT_TRUE(values.ok()) << parameters;
    auto ids = SelectChecks(checks);
    EXPECT_TRUE(ids.ok());
    auto parsed = ParseCheckParameters(*values, *ids, "parameters", options.parameters);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  }
  auto a = Assess(std::move(input), options);
  EXPECT_TRUE(a.ok()) << a.error().message;
  return a.ok() ? std::move(*a) : Assessment{};
}

std::string Describe(const Assessment& a) {
  std::string out;
  for (const Finding& f : a.findings) out += "\n  " + f.check->id + " " + f.path + ": " + f.message;
  return out;
}

TEST(AzureBundle, EveryPolicyFailsItsViolatingObjectAndPassesItsCompliantOne) {
  std::set<std::string> covered;
  for (const AzureCase& c : AzureCases()) {
    SCOPED_TRACE(c.id);
    const CheckInfo* info = FindCheck(c.definition);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->id, c.id);
    covered.insert(c.id);
    if (!c.bad_user.empty()) continue;  // an admission-only rule: AdmissionOnlyRuleNeedsARequest
    // By id, and by the definition's name as a user types it.
    for (const std::string& selector : {c.id, c.definition}) {
      const Assessment bad = RunCase(c.bad, {selector}, c.parameters);
      ASSERT_FALSE(bad.findings.empty()) << "passed its violating object:\n" << c.bad;
      for (const Finding& f : bad.findings) {
        EXPECT_EQ(f.check->id, c.id);
        EXPECT_FALSE(f.path.empty());
        EXPECT_GT(f.line, 0u) << f.path;
      }
      const Assessment good = RunCase(c.good, {selector}, c.parameters);
      EXPECT_TRUE(good.findings.empty()) << "failed its compliant object:" << Describe(good);
    }
  }
  for (const CheckInfo& info : AllChecks()) {
    if (info.group != "azure") continue;
    EXPECT_TRUE(covered.count(info.id)) << "no case for " << info.id;
  }
}

TEST(AzureBundle, AdmissionOnlyRuleNeedsARequest) {
  const AzureCase* node = nullptr;
  for (const AzureCase& c : AzureCases()) {
    if (c.id == "azure-node-edits") node = &c;
  }
  ASSERT_NE(node, nullptr);
  AssessOptions options;
  options.checks = {"azure-node-edits"};
  auto runner = CheckRunner::Create(options);
  ASSERT_TRUE(runner.ok());
  LoadResult input = LoadManifestText(node->bad, "node.yaml");
  ASSERT_EQ(input.objects.size(), 1u);
  Object& object = input.objects[0];
  EXPECT_TRUE(runner->Run(object).findings.empty()) << "a manifest is no edit";
  const std::vector<std::string> groups = {"system:authenticated"};
  RequestInfo update{"UPDATE", node->bad_user, &groups};
  EXPECT_EQ(runner->Run(object, &update).findings.size(), 1u);
  RequestInfo create{"CREATE", node->bad_user, &groups};
  EXPECT_TRUE(runner->Run(object, &create).findings.empty());
  update.username = node->good_user;
  EXPECT_TRUE(runner->Run(object, &update).findings.empty());
  const std::vector<std::string> node_groups = {"system:node"};  // the allowedGroups default
  RequestInfo by_group{"UPDATE", "system:node:aks-nodepool1-0", &node_groups};
  EXPECT_TRUE(runner->Run(object, &by_group).findings.empty());
}

TEST(AzureBundle, DefinitionsExcludedNamespacesApplyUnlessOverridden) {
  const std::string privileged = testing::Pod(testing::Spec("securityContext: {privileged: true}"));
  for (const std::string ns : {"gatekeeper-system", "azure-arc", "azure-extensions-usage-system"}) {
    std::string yaml = privileged;
    yaml.replace(yaml.find("namespace: shop"), 15, "namespace: " + ns);
    EXPECT_TRUE(RunCase(yaml, {"azure-no-privileged"}, "").findings.empty()) << ns;
    EXPECT_FALSE(RunCase(yaml, {"azure-no-privileged"}, "{excludedNamespaces: [kube-system]}")
                     .findings.empty())
        << ns;
  }
  // The shorter default of some definitions leaves azure-extensions-usage-system in.
  std::string latest = testing::Pod("{containers: [{name: app, image: nginx}]}");
  latest.replace(latest.find("namespace: shop"), 15, "namespace: azure-extensions-usage-system");
  EXPECT_FALSE(RunCase(latest, {"azure-no-latest-image"}, "").findings.empty());
}

TEST(AzureBundle, ExcludedContainersAndImages) {
  const std::string yaml = testing::Pod(
      "{containers: [{name: app, image: \"registry.example.com/app:1\", securityContext: "
      "{privileged: true}}, {name: istio-proxy, image: \"docker.io/istio/proxyv2:1.22\", "
      "securityContext: {privileged: true}}]}");
  EXPECT_EQ(RunCase(yaml, {"azure-no-privileged"}, "").findings.size(), 2u);
  Assessment a = RunCase(yaml, {"azure-no-privileged"}, "{excludedContainers: [istio-proxy]}");
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_EQ(a.findings[0].path, "spec.containers[0].securityContext.privileged");
  a = RunCase(yaml, {"azure-no-privileged"}, "{excludedImages: [\"docker.io/istio/*\"]}");
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_EQ(a.findings[0].path, "spec.containers[0].securityContext.privileged");
  EXPECT_TRUE(RunCase(yaml, {"azure-no-privileged"},
                      "{excludedImages: [\"docker.io/istio/*\", \"registry.example.com/*\"]}")
                  .findings.empty());
}

TEST(AzureBundle, OffUnlessSelectedAndNotInAll) {
  auto all = SelectChecks({"all"});
  ASSERT_TRUE(all.ok());
  for (const std::string& id : *all) EXPECT_EQ(id.rfind("azure-", 0), std::string::npos) << id;
  auto none = SelectChecks({});
  ASSERT_TRUE(none.ok());
  for (const std::string& id : *none) EXPECT_EQ(id.rfind("azure-", 0), std::string::npos) << id;
  auto azure = SelectChecks({"azure"});
  ASSERT_TRUE(azure.ok());
  EXPECT_EQ(azure->size(), 45u);
  auto by_name = SelectChecks({"ContainerEnforceProbes.json"});
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(*by_name, std::vector<std::string>{"azure-container-probes"});
}

TEST(AzureBundle, BadParametersAreErrorsNamingTheParameter) {
  AssessOptions options;
  options.checks = {"azure-host-paths"};
  options.parameters["azure-host-paths"]["allowedHostPaths"] = {
      "{\"paths\": [{\"readOnly\": true}]}"};
  auto runner = CheckRunner::Create(options);
  ASSERT_FALSE(runner.ok());
  EXPECT_NE(runner.error().message.find("allowedHostPaths"), std::string::npos)
      << runner.error().message;
  options.checks = {"azure-allowed-images"};
  options.parameters["azure-allowed-images"]["allowedContainerImagesRegex"] = {"(unclosed"};
  runner = CheckRunner::Create(options);
  ASSERT_FALSE(runner.ok());
  EXPECT_NE(runner.error().message.find("allowedContainerImagesRegex"), std::string::npos);
  options.checks = {"azure-users-groups"};
  options.parameters["azure-users-groups"]["runAsUserRule"] = {"MayRunAs"};
  EXPECT_FALSE(CheckRunner::Create(options).ok()) << "MayRunAs is not a runAsUser rule";
}

TEST(AzureBundle, PodDisruptionBudgetAgainstTheWorkloadsOfTheInput) {
  const std::string deployment = testing::Deployment(testing::Spec(), "2");
  const std::string pdb =
      "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: "
      "shop}\nspec: {minAvailable: MIN, selector: {matchLabels: {app: web}}}\n";
  auto with_min = [&](const std::string& min) {
    std::string p = pdb;
    p.replace(p.find("MIN"), 3, min);
    return deployment + "---\n" + p;
  };
  EXPECT_FALSE(RunCase(with_min("2"), {"azure-pod-disruption-budget"}, "").findings.empty());
  EXPECT_TRUE(RunCase(with_min("1"), {"azure-pod-disruption-budget"}, "").findings.empty());
  EXPECT_FALSE(RunCase(with_min("\"100%\""), {"azure-pod-disruption-budget"}, "").findings.empty());
}

TEST(AzureBundle, PullSecretsOfTheServiceAccountCount) {
  const std::string pod = testing::Pod(testing::Spec());
  const std::string account =
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: "
      "shop}\nimagePullSecrets: [{name: regcred}]\n";
  EXPECT_FALSE(RunCase(pod, {"azure-image-pull-secrets"}, "").findings.empty());
  EXPECT_TRUE(RunCase(pod + "---\n" + account, {"azure-image-pull-secrets"}, "").findings.empty());
}

}  // namespace
}  // namespace moat::k8s
