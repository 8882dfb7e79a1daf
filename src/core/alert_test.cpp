// The Alert shape against real inputs: an alert as Falco prints it, every rule of Falco's own
// rule files (priorities, MITRE tags), the ATT&CK technique list and the seed's alert types from
// ../shared/data, GNU date as the oracle of RFC 3339 times; errors with their JSON paths;
// batches; dedupe keys and incidents.
#include "core/alert.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

namespace moat {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::minutes;

const fs::path kRuntime = fs::path(MOAT_SHARED_DATA_DIR) / "runtime";

// ATT&CK's enterprise tactics by short name (attack.mitre.org/tactics/enterprise).
const std::set<std::string> kAttackTactics = {"reconnaissance",  "resource-development",
                                              "initial-access",  "execution",
                                              "persistence",     "privilege-escalation",
                                              "defense-evasion", "credential-access",
                                              "discovery",       "lateral-movement",
                                              "collection",      "command-and-control",
                                              "exfiltration",    "impact"};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string RunCommand(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (!pipe) return "";
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  EXPECT_EQ(::pclose(pipe), 0) << command;
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// An alert exactly as Falco 0.38 prints it with json_output and json_include_output_property for
// its stable rule "Terminal shell in container" (output, priority and tags from falco_rules.yaml).
constexpr const char* kFalcoAlert =
    R"({"hostname":"node-1","output":"12:00:01.123456789: Notice A shell was spawned in a )"
    R"(container with an attached terminal | evt_type=execve user=root user_uid=0 )"
    R"(user_loginuid=-1 process=bash proc_exepath=/usr/bin/bash parent=runc command=bash -il )"
    R"(terminal=34816 exe_flags=EXE_WRITABLE container_id=3ad7b26ded6d container_name=web )"
    R"(container_image_repository=docker.io/library/nginx container_image_tag=1.25 )"
    R"(k8s_ns_name=shop k8s_pod_name=web-6d4cf56db6-x2x7k",)"
    R"("output_fields":{"container.id":"3ad7b26ded6d","container.image.repository":)"
    R"("docker.io/library/nginx","container.image.tag":"1.25","container.name":"web",)"
    R"("evt.arg.flags":"EXE_WRITABLE","evt.time":1714564801123456789,"evt.type":"execve",)"
    R"("k8s.ns.name":"shop","k8s.pod.name":"web-6d4cf56db6-x2x7k","proc.cmdline":"bash -il",)"
    R"("proc.exepath":"/usr/bin/bash","proc.name":"bash","proc.pname":"runc",)"
    R"("proc.tty":34816,"user.loginuid":-1,"user.name":"root","user.uid":0},)"
    R"("priority":"Notice","rule":"Terminal shell in container","source":"syscall",)"
    R"("tags":["T1059","container","maturity_stable","mitre_execution","shell"],)"
    R"("time":"2024-05-01T12:00:01.123456789Z"})";

// A Falco k8s_audit alert (rule "Attach/Exec Pod" of the k8saudit plugin's rules).
constexpr const char* kFalcoAuditAlert =
    R"j({"hostname":"falco-k8saudit-0","output":"12:00:05.000000000: Notice Attach/Exec to pod )j"
    R"j((user=alice pod=web-6d4cf56db6-x2x7k resource=pods ns=shop action=exec )j"
    R"j(command=/bin/sh)","output_fields":{"evt.time":1714564805000000000,)j"
    R"j("ka.target.name":"web-6d4cf56db6-x2x7k","ka.target.namespace":"shop",)j"
    R"j("ka.target.resource":"pods","ka.target.subresource":"exec","ka.uri.param[command]":)j"
    R"j("/bin/sh","ka.user.name":"alice"},"priority":"Notice","rule":"Attach/Exec Pod",)j"
    R"j("source":"k8s_audit","tags":["k8s"],"time":"2024-05-01T12:00:05.000000000Z"})j";

// Every field of the shape set explicitly.
Alert FullAlert() {
  Alert alert;
  alert.time_ns = 1714564801123456789;
  alert.time = "2024-05-01T12:00:01.123456789Z";
  alert.rule = "Reverse shell";
  alert.priority = AlertPriority::kCritical;
  alert.source = "syscall";
  alert.hostname = "node-1";
  alert.tags = {"K8S.NODE_ReverseShell", "network"};
  alert.mitre = {{"execution", "T1059.004", "Unix Shell"},
                 {"command-and-control", "T1071", "Application Layer Protocol"}};
  alert.output = "Reverse shell from bash to 203.0.113.7:4444";
  alert.output_fields = R"({"fd.cip":"10.1.2.3","fd.sip":"203.0.113.7","fd.sport":4444})";
  alert.container = {"3ad7b26ded6d", "web", "docker.io/library/nginx:1.25", "sha256:abcd"};
  alert.k8s = {"prod", "shop", "web-6d4cf56db6-x2x7k", "node-1", "Deployment", "web", ""};
  alert.proc.pid = 4242;
  alert.proc.ppid = 4200;
  alert.proc.name = "bash";
  alert.proc.exe = "/usr/bin/bash";
  alert.proc.cmdline = "bash -i";
  alert.proc.user = "root";
  alert.proc.ancestors = {{4200, "sh", "sh -c bash -i"}, {1, "nginx", "nginx: master process"}};
  alert.image = {"docker.io/library/nginx", "1.25", "sha256:abcd"};
  return alert;
}

TEST(AlertPriority, FalcoNamesCaseInsensitiveCanonicalOutput) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"EMERGENCY", "Emergency"},
      {"alert", "Alert"},
      {"Critical", "Critical"},
      {"error", "Error"},
      {"WARNING", "Warning"},
      {"notice", "Notice"},
      {"informational", "Informational"},
      {"INFO", "Informational"},
      {"debug", "Debug"}};
  for (const auto& [input, name] : cases) {
    auto priority = ParseAlertPriority(input);
    ASSERT_TRUE(priority) << input;
    EXPECT_EQ(AlertPriorityName(*priority), name);
  }
  for (const char* bad : {"", "warn", "high", "critical ", "inform"})
    EXPECT_FALSE(ParseAlertPriority(bad)) << bad;
  // The numeric values are syslog's severities.
  EXPECT_EQ(static_cast<int>(*ParseAlertPriority("error")), 3);
  EXPECT_TRUE(AtLeast(AlertPriority::kCritical, AlertPriority::kWarning));
  EXPECT_TRUE(AtLeast(AlertPriority::kWarning, AlertPriority::kWarning));
  EXPECT_FALSE(AtLeast(AlertPriority::kNotice, AlertPriority::kWarning));
}

TEST(Rfc3339, AgreesWithGnuDate) {
  // Random instants over the whole int64-nanosecond range, written with random offsets and
  // fraction lengths, then parsed by us and by `date`.
  std::mt19937_64 random(20261202);
  const int64_t kFirst = -9'200'000'000'000'000'000;  // 1678
  const int64_t kLast = 9'200'000'000'000'000'000;    // 2261
  std::vector<std::string> texts;
  std::vector<int64_t> instants;
  for (int n = 0; n < 3000; ++n) {
    const uint64_t span = static_cast<uint64_t>(kLast) - static_cast<uint64_t>(kFirst);
    int64_t instant = static_cast<int64_t>(static_cast<uint64_t>(kFirst) + random() % span);
    const int digits = static_cast<int>(random() % 10);
    // Cut the instant to the precision written.
    int64_t unit = 1;
    for (int i = digits; i < 9; ++i) unit *= 10;
    instant -= ((instant % unit) + unit) % unit;
    const int offset_minutes = static_cast<int>(random() % (2 * 14 * 60 + 1)) - 14 * 60;
    // Write the local time at that offset by formatting the shifted instant and swapping "Z".
    std::string text = FormatRfc3339Nanos(instant + offset_minutes * 60'000'000'000LL, digits);
    text.pop_back();
    if (offset_minutes == 0 && n % 2 == 0) {
      text += n % 4 == 0 ? "Z" : "z";
    } else {
      char offset[16];
      std::snprintf(offset, sizeof offset, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+',
                    std::abs(offset_minutes) / 60, std::abs(offset_minutes) % 60);
      text += offset;
    }
    texts.push_back(text);
    instants.push_back(instant);
  }
  const fs::path file =
      fs::temp_directory_path() / ("moat_alert_times_" + std::to_string(getpid()));
  {
    std::ofstream out(file);
    for (const std::string& text : texts) out << text << "\n";
  }
  const std::vector<std::string> oracle =
      Lines(RunCommand("TZ=UTC date -f " + file.string() + " '+%s %N'"));
  fs::remove(file);
  ASSERT_EQ(oracle.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    long long seconds = 0, nanos = 0;
    ASSERT_EQ(std::sscanf(oracle[i].c_str(), "%lld %lld", &seconds, &nanos), 2) << oracle[i];
    const int64_t expected = seconds * 1'000'000'000LL + nanos;
    auto parsed = ParseRfc3339Nanos(texts[i]);
    ASSERT_TRUE(parsed) << texts[i];
    EXPECT_EQ(*parsed, expected) << texts[i];
    EXPECT_EQ(*parsed, instants[i]) << texts[i];
  }
}

TEST(Rfc3339, FormatsAsGnuDate) {
  std::mt19937_64 random(7);
  std::vector<int64_t> instants = {
      0, -1, 1, 1714564801123456789, -1'000'000'000, 951782400'000000000 /* 2000-02-29 */};
  for (int n = 0; n < 1000; ++n)
    instants.push_back(static_cast<int64_t>(random() % 18'000'000'000'000'000'000ULL -
                                            9'000'000'000'000'000'000ULL));
  std::string script;
  for (int64_t instant : instants) {
    const int64_t seconds = instant >= 0 ? instant / 1'000'000'000 : -((-instant) / 1'000'000'000);
    const int64_t nanos = std::llabs(instant % 1'000'000'000);
    char line[64];
    std::snprintf(line, sizeof line, "@%s%lld.%09lld\n", instant < 0 ? "-" : "",
                  static_cast<long long>(std::llabs(seconds)), static_cast<long long>(nanos));
    script += line;
  }
  const fs::path file =
      fs::temp_directory_path() / ("moat_alert_epochs_" + std::to_string(getpid()));
  std::ofstream(file) << script;
  const std::vector<std::string> oracle =
      Lines(RunCommand("date -u -f " + file.string() + " '+%Y-%m-%dT%H:%M:%S.%NZ'"));
  fs::remove(file);
  ASSERT_EQ(oracle.size(), instants.size());
  for (size_t i = 0; i < instants.size(); ++i) {
    EXPECT_EQ(FormatRfc3339Nanos(instants[i]), oracle[i]) << instants[i];
    EXPECT_EQ(FormatRfc3339Nanos(instants[i], 6), oracle[i].substr(0, 26) + "Z");
    EXPECT_EQ(FormatRfc3339Nanos(instants[i], 0), oracle[i].substr(0, 19) + "Z");
  }
}

TEST(Rfc3339, RejectsWhatIsNotRfc3339) {
  for (const char* bad : {"",
                          "2024-05-01",
                          "2024-05-01T12:00:00",
                          "2024-05-01 12:00:00Z",
                          "2024-05-01T12:00Z",
                          "2024-13-01T00:00:00Z",
                          "2024-02-30T00:00:00Z",
                          "2023-02-29T00:00:00Z",
                          "2024-05-01T24:00:00Z",
                          "2024-05-01T12:60:00Z",
                          "2024-05-01T12:00:61Z",
                          "2024-05-01T12:00:00.Z",
                          "2024-05-01T12:00:00+2:00",
                          "2024-05-01T12:00:00+24:00",
                          "2024-05-01T12:00:00+0200",
                          "2024-05-01T12:00:00ZZ",
                          "24-05-01T12:00:00Z",
                          "2024-05-01T12:00:00 Z",
                          "1677-01-01T00:00:00Z",
                          "2263-01-01T00:00:00Z",
                          "+2024-05-01T12:00:00Z",
                          "2024-05-01T12:00:00.１Z"})
    EXPECT_FALSE(ParseRfc3339Nanos(bad)) << bad;
  // Leap years, a leap second, sub-nanosecond digits dropped.
  EXPECT_EQ(*ParseRfc3339Nanos("2000-02-29T00:00:00Z"), 951782400'000000000);
  EXPECT_EQ(*ParseRfc3339Nanos("1998-12-31T23:59:60Z"), 915148800'000000000);
  EXPECT_EQ(*ParseRfc3339Nanos("1970-01-01T00:00:00.0000000019Z"), 1);
  EXPECT_EQ(*ParseRfc3339Nanos("1970-01-01t01:00:00+01:00"), 0);
}

TEST(ParseAlert, FalcoJsonAlert) {
  auto alert = ParseAlert(kFalcoAlert, "falco.json");
  ASSERT_TRUE(alert.ok()) << alert.error().message;
  EXPECT_EQ(alert->time, "2024-05-01T12:00:01.123456789Z");
  // Falco's own evt.time is the same instant.
  EXPECT_EQ(alert->time_ns, 1714564801123456789);
  EXPECT_EQ(alert->rule, "Terminal shell in container");
  EXPECT_EQ(alert->priority, AlertPriority::kNotice);
  EXPECT_EQ(alert->source, "syscall");
  EXPECT_EQ(alert->hostname, "node-1");
  EXPECT_EQ(alert->tags, (std::vector<std::string>{"T1059", "container", "maturity_stable",
                                                   "mitre_execution", "shell"}));
  EXPECT_EQ(alert->mitre, (std::vector<MitreReference>{{"execution", "T1059", ""}}));
  EXPECT_TRUE(alert->output.starts_with("12:00:01.123456789: Notice A shell was spawned"));
  EXPECT_EQ(json::parse(alert->output_fields), json::parse(kFalcoAlert)["output_fields"]);
  // The resources, from the output fields.
  EXPECT_EQ(alert->container, (AlertContainer{"3ad7b26ded6d", "web", "", ""}));
  EXPECT_EQ(alert->image, (AlertImage{"docker.io/library/nginx", "1.25", ""}));
  EXPECT_EQ(alert->k8s.namespace_name, "shop");
  EXPECT_EQ(alert->k8s.pod, "web-6d4cf56db6-x2x7k");
  EXPECT_EQ(alert->proc.name, "bash");
  EXPECT_EQ(alert->proc.exe, "/usr/bin/bash");
  EXPECT_EQ(alert->proc.cmdline, "bash -il");
  EXPECT_EQ(alert->proc.user, "root");
  EXPECT_EQ(alert->proc.ancestors, (std::vector<AlertProcessAncestor>{{0, "runc", ""}}));
  EXPECT_EQ(SeedAlertType(*alert), "");

  auto audit = ParseAlert(kFalcoAuditAlert, "audit.json");
  ASSERT_TRUE(audit.ok()) << audit.error().message;
  EXPECT_EQ(audit->source, "k8s_audit");
  EXPECT_EQ(audit->k8s.user, "alice");
  EXPECT_EQ(audit->k8s.namespace_name, "shop");
  EXPECT_EQ(audit->k8s.pod, "web-6d4cf56db6-x2x7k");
  EXPECT_TRUE(audit->container.empty());
  EXPECT_TRUE(audit->mitre.empty());
}

TEST(ParseAlert, ExplicitResourcesWinOverOutputFieldsAndProcessTree) {
  json doc = json::parse(kFalcoAlert);
  doc["container"] = {{"id", "ffffffffffff"}, {"image", "nginx@sha256:1234"}};
  doc["proc"] = {{"pid", 7}, {"ancestors", {{{"pid", 6}, {"name", "sh"}}}}};
  doc["mitre"] = json::array();
  doc["output_fields"]["proc.pid"] = 4242;
  doc["output_fields"]["proc.aname[2]"] = "containerd-shim";
  doc["output_fields"]["proc.apid[2]"] = 90;
  doc["output_fields"]["container.id"] = "host";
  auto alert = ParseAlert(doc.dump(), "mixed.json");
  ASSERT_TRUE(alert.ok()) << alert.error().message;
  EXPECT_EQ(alert->container.id, "ffffffffffff");
  EXPECT_EQ(alert->container.name, "web");  // not given explicitly: from the fields
  EXPECT_EQ(alert->container.image, "nginx@sha256:1234");
  EXPECT_EQ(alert->proc.pid, 7);
  EXPECT_EQ(alert->proc.ancestors, (std::vector<AlertProcessAncestor>{{6, "sh", ""}}));
  EXPECT_TRUE(alert->mitre.empty());  // explicitly none, although the tags have some

  doc.erase("container");
  doc.erase("proc");
  auto from_fields = ParseAlert(doc.dump(), "fields.json");
  ASSERT_TRUE(from_fields.ok()) << from_fields.error().message;
  EXPECT_EQ(from_fields->container.id, "");  // Falco's "host" is no container
  EXPECT_EQ(from_fields->proc.pid, 4242);
  EXPECT_EQ(from_fields->proc.ancestors,
            (std::vector<AlertProcessAncestor>{{0, "runc", ""}, {90, "containerd-shim", ""}}));
}

// Every rule of Falco's rule files, as Falco would print its alert: the priority parses, the
// mitre_ tags become ATT&CK tactics (the tactic names of ATT&CK's own list) and the T tags
// techniques.
TEST(ParseAlert, EveryFalcoRulePriorityAndMitreTags) {
  size_t rules = 0, references = 0;
  for (const char* file :
       {"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"}) {
    const std::vector<std::string> lines = Lines(ReadFile(kRuntime / "falco-rules" / file));
    std::string rule, priority;
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string& line = lines[i];
      if (line.starts_with("- rule: ")) rule = line.substr(8), priority.clear();
      if (line.starts_with("  priority:")) {
        priority = line.substr(11);
        if (priority.find_first_not_of(' ') == std::string::npos && i + 1 < lines.size())
          priority = lines[i + 1];
        priority = priority.substr(priority.find_first_not_of(' '));
      }
      if (!line.starts_with("  tags: [") || rule.empty()) continue;
      json tags = json::array();
      std::istringstream list(line.substr(9, line.size() - 10));
      for (std::string tag; std::getline(list, tag, ',');)
        tags.push_back(tag.substr(tag.find_first_not_of(' ')));
      json doc = {{"time", "2024-05-01T12:00:00.000000000Z"},
                  {"rule", rule},
                  {"priority", priority},
                  {"output", "x"},
                  {"tags", tags},
                  {"source", "syscall"},
                  {"output_fields", json::object()}};
      auto alert = ParseAlert(doc.dump(), file);
      ASSERT_TRUE(alert.ok()) << rule << ": " << alert.error().message;
      ++rules;
      std::string lower = priority;
      for (char& c : lower) c = static_cast<char>(std::tolower(c));
      EXPECT_EQ(AlertPriorityName(alert->priority),
                lower == "info"
                    ? "Informational"
                    : std::string(1, static_cast<char>(std::toupper(lower[0]))) + lower.substr(1))
          << rule;
      std::set<std::string> techniques;
      for (const auto& tag : tags) {
        const std::string text = tag.get<std::string>();
        if (text.starts_with("T1")) techniques.insert(text);
      }
      for (const MitreReference& reference : alert->mitre) {
        ++references;
        // A technique of a rule with two tactics stands alone (which tactic it serves is not said).
        EXPECT_TRUE(kAttackTactics.count(reference.tactic) ||
                    (reference.tactic.empty() && !reference.technique_id.empty()))
            << rule << ": " << reference.tactic;
        if (!reference.technique_id.empty()) {
          EXPECT_TRUE(techniques.erase(reference.technique_id)) << rule;
        }
      }
      EXPECT_TRUE(techniques.empty()) << rule << ": techniques without a reference";
      rule.clear();
    }
  }
  EXPECT_GE(rules, 90u);
  EXPECT_GE(references, 90u);
}

// ATT&CK's technique list: every id and tactic is accepted as is and survives the round trip,
// and its tactics are among those the Falco and seed tests expect.
TEST(ParseAlert, AttackTechniqueListRoundTrips) {
  size_t count = 0;
  for (const std::string& line :
       Lines(ReadFile(kRuntime / "mitre_attack_containers_techniques.tsv"))) {
    std::istringstream fields(line);
    std::string id, name, tactics;
    std::getline(fields, id, '\t');
    std::getline(fields, name, '\t');
    std::getline(fields, tactics, '\t');
    if (id == "technique_id") continue;
    Alert alert = FullAlert();
    alert.mitre.clear();
    std::istringstream list(tactics);
    for (std::string tactic; std::getline(list, tactic, ',');) {
      EXPECT_TRUE(kAttackTactics.count(tactic)) << id << ": " << tactic;
      alert.mitre.push_back({tactic, id, name});
    }
    auto parsed = ParseAlert(AlertToJson(alert), "attack");
    ASSERT_TRUE(parsed.ok()) << id << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, alert) << id;
    ++count;
  }
  EXPECT_GE(count, 30u);
}

// The seed's Kubernetes alerts: the alert type tag is found, and their MITRE tactics in the
// seed's spelling ("Lateral Movement", "PrivilegeEscalation") are ATT&CK's tactics.
TEST(ParseAlert, SeedAlertTypesAndTactics) {
  const std::string rows = RunCommand(
      "python3 -c 'import csv,sys\n"
      "for r in csv.DictReader(open(sys.argv[1])): print(r[\"alert_type\"] + \"\\t\" + "
      "r[\"mitre_tactics\"])' " +
      (fs::path(MOAT_SHARED_DATA_DIR) / "seed" / "mdc_alerts_k8s_cluster_2022_2024.csv").string());
  size_t count = 0, tactics = 0;
  for (const std::string& row : Lines(rows)) {
    const size_t tab = row.find('\t');
    ASSERT_NE(tab, std::string::npos) << row;
    const std::string type = row.substr(0, tab);
    json doc = {{"time", "2024-05-01T12:00:00Z"}, {"rule", type},
                {"priority", "warning"},          {"output", "x"},
                {"tags", {"k8s", type}},          {"mitre", json::array()}};
    std::istringstream list(row.substr(tab + 1));
    for (std::string tactic; std::getline(list, tactic, ',');) {
      if (tactic.find_first_not_of(' ') == std::string::npos) continue;
      tactic = tactic.substr(tactic.find_first_not_of(' '));
      doc["mitre"].push_back({{"tactic", tactic}});
    }
    auto alert = ParseAlert(doc.dump(), "seed");
    ASSERT_TRUE(alert.ok()) << type << ": " << alert.error().message;
    EXPECT_EQ(SeedAlertType(*alert), type);
    for (const MitreReference& reference : alert->mitre) {
      ++tactics;
      // The seed's legacy intents, which ATT&CK does not have, are kept as they are.
      EXPECT_TRUE(kAttackTactics.count(reference.tactic) || reference.tactic == "Exploitation" ||
                  reference.tactic == "Probing" || reference.tactic == "Unknown")
          << type << ": " << reference.tactic;
    }
    ++count;
  }
  EXPECT_GE(count, 60u);
  EXPECT_GE(tactics, 60u);
}

TEST(ParseAlert, ErrorsNameTheInputAndThePath) {
  const json base = {
      {"time", "2024-05-01T12:00:00Z"}, {"rule", "r"}, {"priority", "warning"}, {"output", "o"}};
  struct Case {
    std::function<void(json&)> change;
    std::string error;
  };
  const std::vector<Case> cases = {
      {[](json& d) { d.erase("time"); }, "in.json: time: missing (required)"},
      {[](json& d) { d.erase("rule"); }, "in.json: rule: missing (required)"},
      {[](json& d) { d.erase("priority"); }, "in.json: priority: missing (required)"},
      {[](json& d) { d.erase("output"); }, "in.json: output: missing (required)"},
      {[](json& d) { d["rule"] = " "; }, "in.json: rule: empty"},
      {[](json& d) { d["time"] = 1714564801; }, "in.json: time: expected a string, got a number"},
      {[](json& d) { d["time"] = "yesterday"; },
       "in.json: time: \"yesterday\" is not an RFC 3339 date-time"},
      {[](json& d) { d["priority"] = "high"; }, "in.json: priority: unknown priority \"high\""},
      {[](json& d) {
         d["tags"] = {"a", "b", 3};
       },
       "in.json: tags[2]: expected a string, got a number"},
      {[](json& d) { d["tags"] = "a"; }, "in.json: tags: expected an array, got a string"},
      {[](json& d) {
         d["mitre"] = {{{"tactic", "execution"}, {"technique", 1}}};
       },
       "in.json: mitre[0].technique: expected a string, got a number"},
      {[](json& d) {
         d["mitre"] = {{{"tactic", "execution"}}, {{"technique_id", "1059"}}};
       },
       "in.json: mitre[1].technique_id: \"1059\" is not an ATT&CK technique id"},
      {[](json& d) { d["mitre"] = {json::object()}; },
       "in.json: mitre[0]: needs a tactic or a technique_id"},
      {[](json& d) { d["mitre"] = {"execution"}; },
       "in.json: mitre[0]: expected an object, got a string"},
      {[](json& d) {
         d["proc"] = {{"pid", "42"}};
       },
       "in.json: proc.pid: expected an integer, got a string"},
      {[](json& d) {
         d["proc"] = {{"pid", 1.5}};
       },
       "in.json: proc.pid: expected an integer, got a number"},
      {[](json& d) {
         d["proc"] = {{"ancestors", {{{"pid", 1}}, {{"pid", -1}}}}};
       },
       "in.json: proc.ancestors[1].pid: negative"},
      {[](json& d) {
         d["container"] = {{"id", true}};
       },
       "in.json: container.id: expected a string, got a boolean"},
      {[](json& d) { d["k8s"] = json::array(); }, "in.json: k8s: expected an object, got an array"},
      {[](json& d) { d["output_fields"] = "x=1"; },
       "in.json: output_fields: expected an object, got a string"},
      {[](json& d) { d["output"] = std::string(kMaxAlertTextBytes + 1, 'x'); },
       "in.json: output: longer than 16384 bytes (16385)"},
      {[](json& d) { d["rule"] = std::string(kMaxAlertNameBytes + 1, 'x'); },
       "in.json: rule: longer than 1024 bytes"},
      {[](json& d) {
         d["tags"] = json::array();
         for (int i = 0; i < 129; ++i) d["tags"].push_back("t");
       },
       "in.json: tags: more than 128 items (129)"},
      {[](json& d) {
         d["output_fields"] = {{"proc.cmdline", std::string(kMaxAlertTextBytes + 1, 'x')}};
       },
       "in.json: output_fields.proc.cmdline: longer than 16384 bytes"},
      {[](json& d) {
         d["output_fields"] = json::object();
         for (int i = 0; i < 8; ++i)
           d["output_fields"]["f" + std::to_string(i)] = std::string(9000, 'x');
       },
       "in.json: alert of "},
      {[](json& d) { d = json::array({d}); }, "in.json: expected an object, got an array"},
  };
  for (const Case& c : cases) {
    json doc = base;
    c.change(doc);
    auto alert = ParseAlert(doc.dump(), "in.json");
    ASSERT_FALSE(alert.ok()) << doc.dump().substr(0, 200);
    EXPECT_TRUE(alert.error().message.starts_with(c.error))
        << alert.error().message << "\nwanted: " << c.error;
  }
  EXPECT_TRUE(ParseAlert(base.dump(), "in.json").ok());
  // Not JSON, not UTF-8, too deep, too large.
  auto broken = ParseAlert(R"({"time": )", "in.json");
  EXPECT_TRUE(broken.error().message.starts_with("in.json: not valid JSON: "))
      << broken.error().message;
  auto latin1 = ParseAlert("{\"time\":\"2024-05-01T12:00:00Z\",\"rule\":\"\xE9\"}", "in.json");
  EXPECT_TRUE(latin1.error().message.starts_with("in.json: not valid JSON: "));
  std::string deep =
      "{\"output_fields\":{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}}";
  EXPECT_EQ(ParseAlert(deep, "in.json").error().message, "in.json: nested deeper than 32 levels");
  EXPECT_TRUE(
      ParseAlert(std::string(kMaxAlertBytes + 1, ' '), "in.json")
          .error()
          .message.starts_with("in.json: alert of 65537 bytes is over the limit of 64 KiB"));
}

TEST(ParseAlert, MitreTacticSpellings) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"PrivilegeEscalation", "privilege-escalation"},
      {"Privilege Escalation", "privilege-escalation"},
      {"mitre_privilege_escalation", "privilege-escalation"},
      {"command-and-control", "command-and-control"},
      {"CommandAndControl", "command-and-control"},
      {"Exploitation", "Exploitation"}};  // a legacy intent of the seed, not an ATT&CK tactic
  for (const auto& [input, tactic] : cases) {
    json doc = {{"time", "2024-05-01T12:00:00Z"},
                {"rule", "r"},
                {"priority", "info"},
                {"output", "o"},
                {"mitre", {{{"tactic", input}}}}};
    auto alert = ParseAlert(doc.dump(), "x");
    ASSERT_TRUE(alert.ok()) << alert.error().message;
    EXPECT_EQ(alert->mitre.at(0).tactic, tactic) << input;
  }
  // Two tactic tags: techniques cannot be paired with one, so each stands alone.
  json doc = {{"time", "2024-05-01T12:00:00Z"},
              {"rule", "r"},
              {"priority", "info"},
              {"output", "o"},
              {"tags", {"mitre_persistence", "mitre_privilege_escalation", "T1098"}}};
  auto alert = ParseAlert(doc.dump(), "x");
  ASSERT_TRUE(alert.ok());
  EXPECT_EQ(alert->mitre,
            (std::vector<MitreReference>{
                {"persistence", "", ""}, {"privilege-escalation", "", ""}, {"", "T1098", ""}}));
}

TEST(AlertToJson, CanonicalShapeAndRoundTrip) {
  const Alert alert = FullAlert();
  EXPECT_EQ(
      AlertToJson(alert),
      R"({"time":"2024-05-01T12:00:01.123456789Z","rule":"Reverse shell","priority":"Critical",)"
      R"("source":"syscall","hostname":"node-1","tags":["K8S.NODE_ReverseShell","network"],)"
      R"("mitre":[{"tactic":"execution","technique_id":"T1059.004","technique":"Unix Shell"},)"
      R"({"tactic":"command-and-control","technique_id":"T1071","technique":"Application Layer )"
      R"(Protocol"}],"output":"Reverse shell from bash to 203.0.113.7:4444",)"
      R"("output_fields":{"fd.cip":"10.1.2.3","fd.sip":"203.0.113.7","fd.sport":4444},)"
      R"("container":{"id":"3ad7b26ded6d","name":"web","image":"docker.io/library/nginx:1.25",)"
      R"("image_digest":"sha256:abcd"},"k8s":{"cluster":"prod","namespace":"shop",)"
      R"("pod":"web-6d4cf56db6-x2x7k","node":"node-1","workload_kind":"Deployment",)"
      R"("workload_name":"web"},"proc":{"pid":4242,"ppid":4200,"name":"bash",)"
      R"("exe":"/usr/bin/bash","cmdline":"bash -i","user":"root","ancestors":[{"pid":4200,)"
      R"("name":"sh","cmdline":"sh -c bash -i"},{"pid":1,"name":"nginx","cmdline":"nginx: )"
      R"(master process"}]},"image":{"repository":"docker.io/library/nginx","tag":"1.25",)"
      R"("digest":"sha256:abcd"}})");
  auto parsed = ParseAlert(AlertToJson(alert), "canonical");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, alert);
  EXPECT_EQ(SeedAlertType(*parsed), "K8S.NODE_ReverseShell");

  // Falco's alert is stable through its canonical form, which Falco's consumers also read.
  auto falco = ParseAlert(kFalcoAlert, "falco.json");
  ASSERT_TRUE(falco.ok());
  auto again = ParseAlert(AlertToJson(*falco), "again");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *falco);
  const json canonical = json::parse(AlertToJson(*falco));
  for (const char* key :
       {"time", "rule", "priority", "output", "output_fields", "tags", "source", "hostname"})
    EXPECT_EQ(canonical[key], json::parse(kFalcoAlert)[key]) << key;

  // A minimal alert has no resources; an offset time becomes UTC with nanoseconds.
  auto minimal = ParseAlert(
      R"({"time":"2024-05-01T14:00:01.5+02:00","rule":"r","priority":"INFO","output":"o"})", "m");
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(AlertToJson(*minimal),
            R"({"time":"2024-05-01T12:00:01.500000000Z","rule":"r","priority":"Informational",)"
            R"("tags":[],"mitre":[],"output":"o","output_fields":{}})");

  // Bytes that are not UTF-8 (a command line built in code) still give valid JSON.
  Alert raw = alert;
  raw.proc.cmdline = "cat \xff\xfe";
  raw.output_fields = "not json";
  const std::string text = AlertToJson(raw);
  ASSERT_TRUE(json::accept(text)) << text;
  EXPECT_EQ(json::parse(text)["output_fields"], json::object());
  EXPECT_TRUE(json::accept(AlertsToJson({alert, raw})));
  EXPECT_EQ(json::parse(AlertsToJson({alert, raw})).size(), 2u);
}

TEST(ParseAlertBatch, ArrayObjectLinesAndSingle) {
  const std::string good = AlertToJson(FullAlert());
  const std::string bad_rule =
      R"({"time":"2024-05-01T12:00:00Z","priority":"warning","output":"o"})";
  const std::string bad_mitre =
      R"({"time":"2024-05-01T12:00:00Z","rule":"r","priority":"warning","output":"o",)"
      R"("mitre":[{"tactic":"execution","technique":7}]})";

  auto array = ParseAlertBatch("[" + good + "," + bad_rule + "," + good + "]", "post");
  ASSERT_TRUE(array.ok()) << array.error().message;
  ASSERT_EQ(array->size(), 3u);
  EXPECT_TRUE((*array)[0].ok());
  EXPECT_EQ((*array)[1].error().message, "post: [1].rule: missing (required)");
  EXPECT_TRUE((*array)[2].ok());
  EXPECT_EQ(*(*array)[2], FullAlert());

  auto wrapped = ParseAlertBatch(
      R"({"alerts":[)" + good + "," + good + "," + good + "," + bad_mitre + "]}", "post");
  ASSERT_TRUE(wrapped.ok());
  ASSERT_EQ(wrapped->size(), 4u);
  EXPECT_EQ((*wrapped)[3].error().message,
            "post: alerts[3].mitre[0].technique: expected a string, got a number");

  auto lines = ParseAlertBatch(good + "\n\n" + good + "\r\n" + bad_mitre + "\n" + good + "\n",
                               "agent.jsonl");
  ASSERT_TRUE(lines.ok()) << lines.error().message;
  ASSERT_EQ(lines->size(), 4u);
  EXPECT_TRUE((*lines)[0].ok() && (*lines)[1].ok() && (*lines)[3].ok());
  EXPECT_EQ((*lines)[2].error().message,
            "agent.jsonl: line 4: mitre[0].technique: expected a string, got a number");
  // A broken line is that line's error only.
  auto broken_line = ParseAlertBatch(good + "\n{\"time\": \n" + good, "agent.jsonl");
  ASSERT_TRUE(broken_line.ok());
  EXPECT_TRUE((*broken_line)[1].error().message.starts_with("agent.jsonl: line 2: not valid JSON"));

  auto single = ParseAlertBatch(kFalcoAlert, "falco");
  ASSERT_TRUE(single.ok());
  ASSERT_EQ(single->size(), 1u);
  EXPECT_EQ((*single)[0]->rule, "Terminal shell in container");

  EXPECT_TRUE(ParseAlertBatch(" \n", "empty")->empty());
  EXPECT_TRUE(ParseAlertBatch("[]", "empty")->empty());
  EXPECT_TRUE(ParseAlertBatch("[1,", "x").error().message.starts_with("x: not valid JSON"));
  EXPECT_EQ(ParseAlertBatch("42", "x").error().message,
            "x: expected an alert, an array of alerts, {\"alerts\": [...]} or JSON lines, got a "
            "number");
  EXPECT_EQ(ParseAlertBatch(R"({"alerts":{}})", "x").error().message,
            "x: alerts: expected an array, got an object");
  // A pretty-printed document with a syntax error is one document, not lines.
  EXPECT_TRUE(ParseAlertBatch("{\n\"rule\": \"r\",\n}", "x")
                  .error()
                  .message.starts_with("x: not valid JSON"));
  // An item over the size limit fails alone.
  Alert big = FullAlert();
  big.output = std::string(kMaxAlertTextBytes, 'x');
  json fields = json::object();
  for (int i = 0; i < 4; ++i)
    fields["f" + std::to_string(i)] = std::string(kMaxAlertTextBytes, 'y');
  big.output_fields = fields.dump();
  auto with_big = ParseAlertBatch("[" + good + "," + AlertToJson(big) + "]", "post");
  ASSERT_TRUE(with_big.ok());
  EXPECT_TRUE((*with_big)[0].ok());
  EXPECT_TRUE((*with_big)[1].error().message.starts_with("post: [1]: alert of "))
      << (*with_big)[1].error().message;
}

TEST(AlertDedupeKey, SameThingRepeatedIsOneKey) {
  const Alert first = FullAlert();
  Alert repeat = first;
  repeat.time_ns += 60'000'000'000;
  repeat.time = FormatRfc3339Nanos(repeat.time_ns);
  repeat.proc.pid = 5000;
  repeat.proc.ppid = 4999;
  repeat.proc.ancestors[0].pid = 4999;
  repeat.output = "Reverse shell from bash to 203.0.113.7:4444 (again)";
  repeat.output_fields =
      R"({"evt.time":1,"fd.cip":"10.1.2.3","fd.name":"10.1.2.3:51234->203.0.113.7:4444",)"
      R"("fd.sip":"203.0.113.7","fd.sport":4444})";
  EXPECT_EQ(AlertDedupeKey(first), AlertDedupeKey(repeat));
  EXPECT_TRUE(AlertDedupeKey(first).starts_with("sha256:"));
  EXPECT_EQ(AlertDedupeKey(first).size(), 7u + 64u);

  auto differs = [&](const std::function<void(Alert&)>& change) {
    Alert other = first;
    change(other);
    return AlertDedupeKey(other) != AlertDedupeKey(first);
  };
  EXPECT_TRUE(differs([](Alert& a) { a.rule = "Other rule"; }));
  EXPECT_TRUE(differs([](Alert& a) { a.container.id = "0123456789ab"; }));
  EXPECT_TRUE(differs([](Alert& a) { a.proc.exe = "/bin/sh"; }));
  EXPECT_TRUE(differs([](Alert& a) { a.proc.cmdline = "bash -c id"; }));
  EXPECT_TRUE(differs([](Alert& a) {
    a.output_fields = R"({"fd.cip":"10.1.2.3","fd.sip":"198.51.100.1","fd.sport":4444})";
  }));
  EXPECT_TRUE(differs([](Alert& a) { a.output_fields = R"({"fd.name":"/etc/shadow"})"; }));
  // Without a container, the pod; without a pod, the node.
  Alert pod = first;
  pod.container = {};
  Alert other_pod = pod;
  other_pod.k8s.pod = "web-6d4cf56db6-zzzzz";
  EXPECT_NE(AlertDedupeKey(pod), AlertDedupeKey(other_pod));

  auto audit = ParseAlert(kFalcoAuditAlert, "audit");
  ASSERT_TRUE(audit.ok());
  json doc = json::parse(kFalcoAuditAlert);
  doc["time"] = "2024-05-01T13:00:00Z";
  doc["output_fields"]["evt.time"] = 1;
  EXPECT_EQ(AlertDedupeKey(*ParseAlert(doc.dump(), "a")), AlertDedupeKey(*audit));
  doc["output_fields"]["ka.user.name"] = "mallory";
  EXPECT_NE(AlertDedupeKey(*ParseAlert(doc.dump(), "a")), AlertDedupeKey(*audit));
}

Alert At(int64_t minute, std::function<void(Alert&)> where) {
  Alert alert;
  alert.time_ns = minute * 60'000'000'000;
  alert.time = FormatRfc3339Nanos(alert.time_ns);
  alert.rule = "r";
  alert.output = "o";
  where(alert);
  return alert;
}

TEST(CorrelateIncidents, ContainerPodHostAndSlidingWindow) {
  auto container = [](const std::string& id) {
    return [id](Alert& a) {
      a.container.id = id;
      a.k8s.namespace_name = "shop";
      a.k8s.pod = "web";  // the container wins over its pod
    };
  };
  auto pod = [](const std::string& name) {
    return [name](Alert& a) {
      a.k8s.namespace_name = "shop";
      a.k8s.pod = name;
    };
  };
  auto host = [](const std::string& node, const std::string& exe) {
    return [node, exe](Alert& a) {
      a.hostname = node;
      a.proc.exe = exe;
    };
  };
  const std::vector<Alert> alerts = {
      At(0, container("aaa")),   // 0: incident 0
      At(10, container("aaa")),  // 1: 0
      At(35, container("aaa")),  // 2: 0 (25 min after the last one: the window slides)
      At(70, container("aaa")),  // 3: 0 (30 min after alert 12)
      At(5, container("bbb")),   // 4: its own container
      At(6, pod("web")),         // 5: pod incident
      At(30, pod("web")),        // 6: same pod, 24 min later
      At(7, host("node-1", "/usr/sbin/sshd")),  // 7
      At(8, host("node-1", "/usr/sbin/sshd")),  // 8: same node and process
      At(9, host("node-2", "/usr/sbin/sshd")),  // 9: another node
      At(9, [](Alert&) {}),                     // 10: nothing to tie it: alone
      At(9, [](Alert&) {}),                     // 11: alone too
      At(40, container("aaa")),                 // 12: out of input order: between 2 and 3
  };
  const IncidentCorrelation result = CorrelateIncidents(alerts);
  const auto& of = result.incident_of;
  ASSERT_EQ(of.size(), alerts.size());
  EXPECT_EQ(of[0], of[1]);
  EXPECT_EQ(of[0], of[2]);
  EXPECT_EQ(of[0], of[12]);
  EXPECT_EQ(of[3], of[0]);  // 30 min after alert 12: still within the sliding window
  EXPECT_NE(of[4], of[0]);
  EXPECT_EQ(of[5], of[6]);
  EXPECT_NE(of[5], of[0]);
  EXPECT_EQ(of[7], of[8]);
  EXPECT_NE(of[7], of[9]);
  EXPECT_NE(of[10], of[11]);
  const Incident& first = result.incidents[of[0]];
  EXPECT_EQ(first.key, "container:aaa");
  EXPECT_EQ(first.alerts, (std::vector<size_t>{0, 1, 2, 12, 3}));
  EXPECT_EQ(first.first_time_ns, 0);
  EXPECT_EQ(first.last_time_ns, 70 * 60'000'000'000LL);
  EXPECT_EQ(result.incidents[of[5]].key, "pod:/shop/web");
  EXPECT_EQ(result.incidents[of[7]].key, "host:node-1:/usr/sbin/sshd");
  EXPECT_EQ(result.incidents[of[10]].key, "");
  EXPECT_EQ(result.incidents.size(), 7u);
  EXPECT_EQ(of[0], 0u);  // incidents are numbered by their first alert's time

  // Without alert 12, alert 3 comes 35 minutes after alert 2 and opens a new incident; with a
  // 40-minute window it does not.
  std::vector<Alert> without(alerts.begin(), alerts.end() - 1);
  EXPECT_NE(CorrelateIncidents(without).incident_of[3], CorrelateIncidents(without).incident_of[2]);
  EXPECT_EQ(CorrelateIncidents(without, minutes(40)).incident_of[3],
            CorrelateIncidents(without, minutes(40)).incident_of[2]);
  EXPECT_TRUE(CorrelateIncidents({}).incidents.empty());
}

// Random alerts: every incident is one key with gaps within the window, and two incidents of one
// key are more than a window apart.
TEST(CorrelateIncidents, InvariantsOnRandomAlerts) {
  std::mt19937 random(99);
  for (int round = 0; round < 50; ++round) {
    std::vector<Alert> alerts;
    for (int i = 0; i < 200; ++i) {
      const int kind = static_cast<int>(random() % 4);
      const std::string which = std::to_string(random() % 4);
      alerts.push_back(At(random() % 600, [&](Alert& a) {
        if (kind == 0) a.container.id = "c" + which;
        if (kind == 1) a.k8s.pod = "p" + which;
        if (kind == 2) a.hostname = "h" + which, a.proc.exe = "/bin/x";
      }));
    }
    const std::chrono::nanoseconds window = minutes(1 + random() % 60);
    const IncidentCorrelation result = CorrelateIncidents(alerts, window);
    std::map<std::string, std::vector<const Incident*>> by_key;
    for (const Incident& incident : result.incidents) {
      ASSERT_FALSE(incident.alerts.empty());
      int64_t previous = alerts[incident.alerts[0]].time_ns;
      EXPECT_EQ(previous, incident.first_time_ns);
      for (size_t index : incident.alerts) {
        EXPECT_EQ(AlertIncidentKey(alerts[index]), incident.key);
        EXPECT_EQ(&result.incidents[result.incident_of[index]], &incident);
        EXPECT_GE(alerts[index].time_ns, previous);
        EXPECT_LE(alerts[index].time_ns - previous, window.count());
        previous = alerts[index].time_ns;
      }
      EXPECT_EQ(previous, incident.last_time_ns);
      if (incident.key.empty()) {
        EXPECT_EQ(incident.alerts.size(), 1u);
      } else {
        by_key[incident.key].push_back(&incident);
      }
    }
    for (const auto& [key, incidents] : by_key) {
      for (size_t i = 1; i < incidents.size(); ++i)
        EXPECT_GT(incidents[i]->first_time_ns - incidents[i - 1]->last_time_ns, window.count())
            << key;
    }
  }
}

// Mutations of real alerts never crash the parser (the fuzz target does this at length).
TEST(ParseAlert, MutatedInputsNeverCrash) {
  std::mt19937 random(5);
  const std::vector<std::string> seeds = {kFalcoAlert, kFalcoAuditAlert, AlertToJson(FullAlert())};
  for (int n = 0; n < 600; ++n) {
    std::string text = seeds[n % seeds.size()];
    for (int edits = 1 + static_cast<int>(random() % 4); edits > 0; --edits) {
      const size_t at = random() % text.size();
      switch (random() % 3) {
        case 0:
          text[at] = static_cast<char>(random());
          break;
        case 1:
          text.erase(at, 1 + random() % 8);
          break;
        default:
          text.insert(at, std::string(1 + random() % 3, "{}[]\",:0"[random() % 8]));
      }
      if (text.empty()) text = "{";
    }
    auto alert = ParseAlert(text, "mutated");
    if (alert.ok()) {
      EXPECT_TRUE(json::accept(AlertToJson(*alert)));
      (void)AlertDedupeKey(*alert);
    }
    (void)ParseAlertBatch(text + "\n" + text, "mutated");
  }
}

}  // namespace
}  // namespace moat
