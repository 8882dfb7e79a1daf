// Falco's k8saudit fixtures (release 0.34.1) against Moat's own test rules
// (testdata/k8s_audit/rules.yaml): every fixture raises the rule that falcosecurity/testing
// expects, as many times as it expects (EXPECTED_from_falcosecurity-testing.tsv, read here), and
// nothing else but the extra rules listed below with their reason.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/bytes.h"
#include "core/text.h"
#include "rules/engine.h"
#include "rules/k8s_audit.h"

namespace moat::rules {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures =
    fs::path(MOAT_SHARED_DATA_DIR) / "runtime" / "k8saudit" / "falco-0.34.1-fixtures";
const fs::path kRules = fs::path(MOAT_SOURCE_DIR) / "src" / "rules" / "testdata" / "k8s_audit";

// The test suite's capture names are the fixture files in CamelCase.
std::string FixtureFile(std::string capture) {
  capture = capture.substr(std::string("K8SAudit").size());
  fs::path found;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    std::string name = entry.path().stem().string();
    std::string camel;
    bool upper = true;
    for (char c : name) {
      if (c == '_' || c == '-') {
        upper = true;
        continue;
      }
      camel += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
    if (AsciiLower(camel) == AsciiLower(capture)) return entry.path().string();
  }
  return "";
}

// The suite's rulesets as Moat files: the k8s_audit rules of every engine version are our one
// rules file; the others are the overlays beside it. The syscall rules (LegacyFalcoRules) are
// Falco's falco_rules.yaml, loaded too: with no syscall source its rules are all disabled.
std::vector<std::string> RulesetFiles(std::string_view ruleset) {
  if (ruleset == "LegacyFalcoRules_v1_0_1") {
    return {
        (fs::path(MOAT_SHARED_DATA_DIR) / "runtime" / "falco-rules" / "falco_rules.yaml").string()};
  }
  const std::map<std::string_view, std::string> overlays = {
      {"K8SAuditRules", "rules.yaml"},
      {"K8SAuditEngineV4K8SAuditRules", "rules.yaml"},
      {"K8SAuditAllowNamespaceFoo", "allow_namespace_foo.yaml"},
      {"K8SAuditAllowUserSomeUser", "allow_user_some_user.yaml"},
      {"K8SAuditDisallowKactivity", "disallow_activity.yaml"},
      {"K8SAuditAllowOnlyApacheContainer", "allow_only_apache.yaml"},
      {"K8SAuditEngineV4AllowOnlyApacheContainer", "allow_only_apache.yaml"},
      {"K8SAuditAllowNginxContainer", "allow_nginx.yaml"},
      {"K8SAuditEngineV4AllowNginxContainer", "allow_nginx.yaml"},
      {"K8SAuditTrustNginxContainer", "trust_nginx.yaml"},
      {"K8SAuditSingleRuleWithJsonPointer", "json_pointer.yaml"},
  };
  auto found = overlays.find(ruleset);
  if (found == overlays.end()) return {};
  return {(kRules / found->second).string()};
}

// Rules of ours that fire beside the expected one, and why (Falco's suite counts only the
// expected rule in these tests).
const std::map<std::string, std::map<std::string, int>> kAlsoFiring = {
    // Activity rules are on in these rulesets: the namespace creation is recorded too.
    {"TestK8SAudit_Legacy_NamespaceOutsideAllowedSet", {{"K8s Namespace Created", 1}}},
    {"TestK8SAudit_Legacy_UserOutsideAllowedSet", {{"K8s Namespace Created", 1}}},
    // The anonymous user's namespace is not one users may create.
    {"TestK8SAudit_Legacy_AnonymousUser", {{"Create Disallowed Namespace", 1}}},
    // A service account in kube-system is also an ordinary service-account creation.
    {"TestK8SAudit_Legacy_CreateServiceaccountInKubePublicNamespace",
     {{"K8s Serviceaccount Created", 1}}},
    {"TestK8SAudit_Legacy_CreateServiceaccountInKubeSystemNamespace",
     {{"K8s Serviceaccount Created", 1}}},
    // Each of these cluster roles is also created (activity) and some also grant writes.
    {"TestK8SAudit_Legacy_CreatePodExecClusterRole", {{"K8s ClusterRole Created", 1}}},
    {"TestK8SAudit_Legacy_CreateClusterRoleWildcardResources", {{"K8s ClusterRole Created", 1}}},
    {"TestK8SAudit_Legacy_CreateClusterRoleWildcardVerbs", {{"K8s ClusterRole Created", 1}}},
    {"TestK8SAudit_Legacy_CreateWritableClusterRole", {{"K8s ClusterRole Created", 1}}},
    {"TestK8SAudit_Legacy_CreateService", {}},
    {"TestK8SAudit_Legacy_AttachClusterAdminRole", {{"K8s ClusterRoleBinding Created", 1}}},
    {"TestK8SAudit_Legacy_SystemClusterroleDeleted", {{"K8s ClusterRole Deleted", 1}}},
    {"TestK8SAudit_Legacy_CreateNodeportService", {}},
};

struct Expectation {
  std::string test;
  std::string fixture;
  std::vector<std::string> rulesets;
  std::map<std::string, int> expected;  // empty for NONE
};

std::vector<Expectation> ReadExpectations() {
  std::vector<Expectation> out;
  auto text = ReadFileToString((kFixtures / "EXPECTED_from_falcosecurity-testing.tsv").string());
  EXPECT_TRUE(text.ok());
  if (!text.ok()) return out;
  bool header = true;
  for (std::string_view line : SplitLines(*text)) {
    if (header || line.empty()) {
      header = false;
      continue;
    }
    const std::vector<std::string_view> cols = Split(line, '\t');
    EXPECT_EQ(cols.size(), 4u) << line;
    if (cols.size() != 4) continue;
    Expectation e;
    e.test = std::string(cols[0]);
    e.fixture = FixtureFile(std::string(cols[1]));
    for (std::string_view r : Split(cols[2], ',')) e.rulesets.emplace_back(r);
    if (cols[3] != "NONE") {
      const size_t x = cols[3].rfind(" x");
      e.expected[std::string(cols[3].substr(0, x))] = std::stoi(std::string(cols[3].substr(x + 2)));
    }
    out.push_back(std::move(e));
  }
  return out;
}

TEST(K8sAuditFixtures, EveryFixtureRaisesExactlyTheExpectedRules) {
  const std::vector<Expectation> expectations = ReadExpectations();
  ASSERT_EQ(expectations.size(), 66u);
  auto source = MakeK8sAuditSource();
  size_t malformed_fixtures = 0;
  for (const Expectation& e : expectations) {
    SCOPED_TRACE(e.test);
    ASSERT_FALSE(e.fixture.empty()) << "no fixture file for " << e.test;
    Engine engine;
    engine.AddSource(source);
    for (const std::string& ruleset : e.rulesets) {
      const std::vector<std::string> files = RulesetFiles(ruleset);
      ASSERT_FALSE(files.empty()) << "unknown ruleset " << ruleset;
      for (const std::string& file : files) {
        auto added = engine.AddRulesPath(file);
        ASSERT_TRUE(added.ok()) << added.error().message;
      }
    }
    auto report = engine.Compile();
    ASSERT_TRUE(report.ok()) << report.error().message;
    for (const DisabledRule& disabled : report->disabled) {
      // Only the syscall rules are disabled: their source is not loaded here.
      EXPECT_EQ(disabled.source, "syscall") << disabled.name << ": " << disabled.reason;
    }
    std::map<std::string, int> fired;
    auto text = ReadFileToString(e.fixture);
    ASSERT_TRUE(text.ok());
    size_t line_number = 0;
    for (std::string_view line : SplitLines(*text)) {
      ++line_number;
      if (TrimSpace(line).empty()) continue;
      auto event =
          ParseAuditEvent(std::string(line), e.fixture + ":" + std::to_string(line_number));
      if (!event.ok()) {
        ++malformed_fixtures;
        EXPECT_NE(event.error().message.find("fal_01_003.json:1: kind"), std::string::npos)
            << event.error().message;
        continue;
      }
      for (const Alert& alert : engine.Evaluate(*source, *event)) {
        ++fired[alert.rule];
        EXPECT_EQ(alert.source, "k8s_audit");
        EXPECT_EQ(alert.output.find("<NA>"), std::string::npos)
            << alert.rule << ": " << alert.output;
      }
    }
    std::map<std::string, int> want = e.expected;
    if (auto extra = kAlsoFiring.find(e.test); extra != kAlsoFiring.end()) {
      for (const auto& [rule, count] : extra->second) want[rule] += count;
    }
    EXPECT_EQ(fired, want);
  }
  EXPECT_EQ(malformed_fixtures, 1u);  // fal_01_003.json: {"kind": 0}
}

TEST(K8sAuditFixtures, AlertCarriesTheEventIdentity) {
  Engine engine;
  auto source = MakeK8sAuditSource();
  engine.AddSource(source);
  ASSERT_TRUE(engine.AddRulesPath((kRules / "rules.yaml").string()).ok());
  ASSERT_TRUE(engine.Compile().ok());
  auto text = ReadFileToString((kFixtures / "exec_pod.json").string());
  ASSERT_TRUE(text.ok());
  auto event = ParseAuditEvent(std::string(TrimSpace(*text)), "exec_pod.json");
  ASSERT_TRUE(event.ok()) << event.error().message;
  const std::vector<Alert> alerts = engine.Evaluate(*source, *event);
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& alert = alerts[0];
  EXPECT_EQ(alert.rule, "Attach/Exec Pod");
  EXPECT_EQ(alert.priority, AlertPriority::kNotice);
  EXPECT_EQ(alert.k8s.user, "minikube-user");
  EXPECT_EQ(alert.k8s.namespace_name, "default");
  EXPECT_EQ(alert.k8s.pod, "nginx-deployment-7998647bdf-phvq7");
  ASSERT_EQ(alert.mitre.size(), 1u);
  EXPECT_EQ(alert.mitre[0].tactic, "execution");
  EXPECT_EQ(alert.mitre[0].technique_id, "T1609");
  EXPECT_EQ(alert.output,
            "exec into pod nginx-deployment-7998647bdf-phvq7 in default by minikube-user");
  EXPECT_NE(alert.output_fields.find("\"ka.auditid\":\""), std::string::npos)
      << alert.output_fields;
  EXPECT_NE(alert.output_fields.find("\"ka.verb\":\"create\""), std::string::npos);
  // The JSON form parses back as the same alert.
  auto parsed = ParseAlert(AlertToJson(alert), "alert");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(AlertToJson(*parsed), AlertToJson(alert));
  EXPECT_EQ(*parsed, alert);
}

}  // namespace
}  // namespace moat::rules
