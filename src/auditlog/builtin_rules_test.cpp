// The built-in audit rules (src/auditlog/rules/) through the real engine: they load with every
// rule enabled, each carries a seed alert type, MITRE ids that ATT&CK has, and a remediation;
// every seed K8S_ alert has a positive and a negative event (testdata/seed_events.jsonl, built
// from the captured AdmissionReviews by make_seed_events.py); Falco's own k8saudit fixtures
// raise what they show; docs/audit-log.md maps every seed K8S_ alert.

#include "auditlog/builtin_rules.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/bytes.h"
#include "csv.h"
#include "k8s/loader.h"
#include "rules/engine.h"
#include "rules/k8s_audit.h"

namespace moat::auditlog {
namespace {

using Json = nlohmann::json;

const std::string kShared = MOAT_SHARED_DATA_DIR;
const std::string kSource = MOAT_SOURCE_DIR;

std::string ReadAll(const std::string& path) {
  auto text = ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << path;
  return text.ok() ? *text : "";
}

// The engine with the built-in rules and, optionally, a deployment's own file after them.
struct Loaded {
  rules::Engine engine;
  std::shared_ptr<const rules::EventSource> source = rules::MakeK8sAuditSource();
  rules::LoadReport report;
};

std::unique_ptr<Loaded> Load(std::string_view extra = "") {
  auto loaded = std::make_unique<Loaded>();
  loaded->engine.AddSource(loaded->source);
  for (const BuiltinRuleFile& file : BuiltinRuleFiles()) {
    auto added = loaded->engine.AddRulesText(file.text, file.name);
    EXPECT_TRUE(added.ok()) << added.error().message;
  }
  if (!extra.empty()) {
    auto added = loaded->engine.AddRulesText(extra, "site.yaml");
    EXPECT_TRUE(added.ok()) << added.error().message;
  }
  auto report = loaded->engine.Compile();
  EXPECT_TRUE(report.ok()) << (report.ok() ? "" : report.error().message);
  if (report.ok()) loaded->report = *report;
  return loaded;
}

std::vector<Alert> Evaluate(const Loaded& loaded, const std::string& line,
                            const std::string& where) {
  auto event = rules::ParseAuditEvent(line, where);
  EXPECT_TRUE(event.ok()) << (event.ok() ? "" : event.error().message);
  if (!event.ok()) return {};
  return loaded.engine.Evaluate(*loaded.source, *event);
}

bool Raised(const std::vector<Alert>& alerts, const std::string& what) {
  for (const Alert& alert : alerts) {
    if (alert.rule == what) return true;
    for (const std::string& tag : alert.tags) {
      if (tag == what) return true;
    }
  }
  return false;
}

std::string Describe(const std::vector<Alert>& alerts) {
  std::string out;
  for (const Alert& alert : alerts) out += "[" + alert.rule + "] ";
  return out.empty() ? "none" : out;
}

// The seed's K8S_ alert types (the control-plane alerts of the modelled security center).
std::vector<std::string> SeedK8sAlertTypes() {
  std::vector<std::string> types;
  for (const auto& row :
       ParseCsv(ReadAll(kShared + "/seed/mdc_alerts_k8s_cluster_2022_2024.csv"))) {
    if (row.size() > 1 && row[1].rfind("K8S_", 0) == 0) types.push_back(row[1]);
  }
  return types;
}

// The alert types the learned baseline raises (baseline.cpp) rather than a rule.
const std::set<std::string> kBaselineTypes = {
    "K8S_ServiceAccountRareOperation", "K8S_AnomalousPodDeployment",
    "K8S_ServiceAcountPermissionAnomaly", "K8S_AbnormalMiAcitivty"};

TEST(BuiltinRules, LoadWithEveryRuleEnabled) {
  auto loaded = Load();
  EXPECT_TRUE(loaded->report.disabled.empty())
      << loaded->report.disabled.front().name << ": " << loaded->report.disabled.front().reason;
  EXPECT_GE(loaded->report.enabled.size(), 20u);
  for (const std::string& warning : loaded->report.warnings) ADD_FAILURE() << warning;
}

TEST(BuiltinRules, EachRuleHasPriorityMitreRemediationAndTheSeedTypes) {
  // ATT&CK technique ids and tactics of the containers matrix.
  std::map<std::string, std::string> techniques;  // id -> tactics
  {
    std::istringstream in(ReadAll(kShared + "/runtime/mitre_attack_containers_techniques.tsv"));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::istringstream row(line);
      for (std::string cell; std::getline(row, cell, '\t');) cells.push_back(cell);
      if (cells.size() >= 3) techniques[cells[0]] = cells[2];
    }
  }
  ASSERT_FALSE(techniques.empty());
  auto loaded = Load();
  std::set<std::string> covered;
  // The rules' metadata as written.
  auto document = k8s::ParseYamlDocument(BuiltinRuleFiles().front().text, "builtin");
  ASSERT_TRUE(document.ok()) << document.error().message;
  std::map<std::string, std::vector<std::string>> tags_of;
  std::map<std::string, std::string> remediation_of;
  for (const k8s::Value& item : document->Items()) {
    const k8s::Value* rule = item.Get("rule");
    if (!rule) continue;
    const std::string name(rule->Str());
    if (const k8s::Value* remediation = item.Get("remediation")) {
      remediation_of[name] = remediation->Str();
    }
    if (const k8s::Value* tags = item.Get("tags")) {
      for (const k8s::Value& tag : tags->Items()) tags_of[name].emplace_back(tag.Str());
    }
    const k8s::Value* priority = item.Get("priority");
    EXPECT_TRUE(priority && ParseAlertPriority(priority->Str())) << name;
  }
  ASSERT_EQ(tags_of.size(), loaded->report.enabled.size());
  for (const auto& [name, tags] : tags_of) {
    SCOPED_TRACE(name);
    std::string tactic;
    for (const std::string& tag : tags) {
      if (tag.rfind("K8S_", 0) == 0) covered.insert(tag);
      if (tag.rfind("mitre_", 0) == 0) {
        EXPECT_TRUE(tactic.empty()) << "one tactic per rule, so that techniques pair with it";
        tactic = tag.substr(6);
        for (char& c : tactic) c = c == '_' ? '-' : c;
      }
    }
    ASSERT_FALSE(tactic.empty());
    for (const std::string& tag : tags) {
      if (tag.size() > 1 && tag[0] == 'T' && isdigit(tag[1])) {
        ASSERT_TRUE(techniques.count(tag)) << tag << " is not in the ATT&CK containers matrix";
        EXPECT_NE(techniques[tag].find(tactic), std::string::npos)
            << tag << " is not a technique of " << tactic;
      }
    }
    EXPECT_GT(remediation_of[name].size(), 40u) << "no remediation";
  }
  // Every seed K8S_ alert is a rule's tag or the baseline's, except the ones docs say why not.
  for (const std::string& type : SeedK8sAlertTypes()) {
    EXPECT_TRUE(covered.count(type) || kBaselineTypes.count(type)) << type;
  }
}

TEST(BuiltinRules, DocsMapEverySeedAlertType) {
  const std::string docs = ReadAll(kSource + "/docs/audit-log.md");
  const auto types = SeedK8sAlertTypes();
  EXPECT_EQ(types.size(), 21u);
  for (const std::string& type : types) {
    EXPECT_NE(docs.find("| `" + type + "`"), std::string::npos) << type << " not in the table";
  }
}

TEST(BuiltinRules, EverySeedAlertHasAPositiveAndANegativeEvent) {
  // A deployment's threat-intelligence feed, appended as docs/audit-log.md shows.
  auto loaded = Load(
      "- list: moat_proxy_source_ips\n"
      "  items: [185.220.101.34]\n"
      "  append: true\n");
  std::ifstream in(kSource + "/src/auditlog/testdata/seed_events.jsonl");
  ASSERT_TRUE(in);
  std::map<std::string, int> positives, negatives;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = "seed_events.jsonl:" + std::to_string(number);
    const Json json = Json::parse(line);
    const Json& annotations = json.at("annotations");
    const std::vector<Alert> alerts = Evaluate(*loaded, line, where);
    if (annotations.contains("moat.test/expect")) {
      const std::string what = annotations["moat.test/expect"];
      EXPECT_TRUE(Raised(alerts, what))
          << where << ": expected " << what << ", got " << Describe(alerts);
      ++positives[what];
    } else {
      const std::string what = annotations.at("moat.test/expect-not");
      EXPECT_FALSE(Raised(alerts, what)) << where << ": " << what << " raised";
      ++negatives[what];
    }
    for (const Alert& alert : alerts) {
      // The alert names its event (auditID, user, verb, object) whatever the rule's output says.
      const Json fields = Json::parse(alert.output_fields);
      EXPECT_EQ(fields.value("ka.auditid", ""), json["auditID"]) << where;
      EXPECT_EQ(alert.k8s.user, json["user"]["username"]) << where;
      EXPECT_EQ(alert.source, "k8s_audit");
      EXPECT_FALSE(alert.mitre.empty()) << where << " " << alert.rule;
      // Every output names who did it (absent fields, as a cluster-wide request's namespace,
      // print <NA> as in Falco).
      EXPECT_NE(alert.output.find(json["user"]["username"].get<std::string>()), std::string::npos)
          << where << ": " << alert.output;
    }
  }
  for (const std::string& type : SeedK8sAlertTypes()) {
    if (kBaselineTypes.count(type)) continue;  // baseline_test.cpp
    EXPECT_GE(positives[type], 1) << type;
    EXPECT_GE(negatives[type], 1) << type;
  }
}

TEST(BuiltinRules, TrustedListsSilenceARule) {
  // A site file that trusts its GitOps controller for admission webhooks.
  auto loaded = Load(
      "- list: moat_trusted_admission_webhook_users\n"
      "  items: [kubernetes-admin]\n"
      "  append: true\n");
  std::ifstream in(kSource + "/src/auditlog/testdata/seed_events.jsonl");
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.find("\"moat.test/expect\":\"K8S_AdmissionController\"") == std::string::npos)
      continue;
    EXPECT_FALSE(Raised(Evaluate(*loaded, line, "seed"), "K8S_AdmissionController"));
    ++checked;
  }
  EXPECT_EQ(checked, 1);
}

// Falco's own k8saudit fixtures (falcosecurity/testing, release 0.34.1) through Moat's built-in
// rules: each raises exactly the rules its request shows.
TEST(BuiltinRules, FalcoFixturesRaiseWhatTheyShow) {
  const std::map<std::string, std::set<std::string>> expected = {
      {"create_nginx_pod_privileged.json", {"Moat Privileged Container Created"}},
      {"create_nginx_pod_privileged_2nd_container.json", {"Moat Privileged Container Created"}},
      {"create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json",
       {"Moat Privileged Container Created"}},
      {"create_nginx_pod_unprivileged.json", {}},
      {"create_nginx_pod_hostnetwork.json", {}},
      {"create_nginx_pod_sensitive_mount.json", {"Moat Container With Sensitive Host Mount"}},
      {"create_nginx_pod_sensitive_mount_2nd_container.json",
       {"Moat Container With Sensitive Host Mount"}},
      {"create_pod_kube_system_namespace.json", {"Moat Unexpected Container In kube-system"}},
      {"create_pod_kube_public_namespace.json", {}},
      {"attach_cluster_admin_role.json", {"Moat Binding To Cluster-Admin Role"}},
      {"create_clusterrolebinding.json", {}},
      {"create_cluster_role_wildcard_verbs.json", {"Moat Role With Wildcard Permissions"}},
      {"create_cluster_role_wildcard_resources.json", {"Moat Role With Wildcard Permissions"}},
      {"create_cluster_role_pod_exec.json", {"Moat Role With Escalation Privileges"}},
      {"create_cluster_role_write_privileges.json", {}},
      {"exec_pod.json", {"Moat Exec Or Attach Into Pod"}},
      {"attach_pod.json", {"Moat Exec Or Attach Into Pod"}},
      {"anonymous_creates_namespace_foo.json", {"Moat Anonymous Request Accepted"}},
      {"create_nginx_service_nodeport.json", {}},
      {"create_configmap.json", {}},
      {"delete_namespace_foo.json", {}},
  };
  auto loaded = Load();
  const std::string dir = kShared + "/runtime/k8saudit/falco-0.34.1-fixtures/";
  for (const auto& [fixture, rules] : expected) {
    SCOPED_TRACE(fixture);
    std::istringstream in(ReadAll(dir + fixture));
    std::set<std::string> raised;
    int number = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      for (const Alert& alert : Evaluate(*loaded, line, fixture + ":" + std::to_string(++number))) {
        raised.insert(alert.rule);
      }
    }
    EXPECT_EQ(raised, rules);
  }
}

}  // namespace
}  // namespace moat::auditlog
