// The streamed `moat k8s` report writers on the real fixtures (manifests and recorded API list
// responses). JSON and SARIF were built as nlohmann trees and printed with dump(2) before they
// streamed; a streamed document must print exactly what dump(2) of its own parse prints (same
// key order, indentation and escaping) and carry every finding.
#include "k8s/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "core/bytes.h"
#include "k8s/cluster.h"
#include "k8s/loader.h"
#include "schema_validation.h"

namespace moat::k8s {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kTestdata = fs::path(MOAT_SOURCE_DIR) / "src" / "k8s" / "testdata";

/// The mixed manifests (a malformed document among them) plus the recorded cluster's list pages
/// as live objects, and a warning as a cluster listing leaves one.
Assessment MixedAndLive() {
  LoadResult input = LoadManifests({(kTestdata / "mixed").string()});
  for (const ResourceKind& kind : ClusterResourceKinds()) {
    const fs::path page = kTestdata / "cluster" / (kind.resource + ".json");
    if (!fs::exists(page)) continue;
    auto body = ReadFileToString(page.string());
    EXPECT_TRUE(body.ok()) << page;
    if (!body.ok() || body->find("\"kind\":\"Status\"") != std::string::npos)
      continue;  // the recorded 403
    auto next = ParseListPage(*body, kind, "https://10.0.0.1:6443" + kind.Path(), input);
    EXPECT_TRUE(next.ok()) << page;
  }
  input.warnings.push_back("ingresses: HTTP 403 \"forbidden\"");
  auto assessment = Assess(std::move(input), AssessOptions{});
  EXPECT_TRUE(assessment.ok());
  return std::move(*assessment);
}

std::string Render(const Assessment& a, std::string_view format) {
  auto text = RenderAssessment(a, format, "1.2.3-test");
  EXPECT_TRUE(text.ok()) << format;
  return text.ok() ? *text : std::string();
}

TEST(K8sReport, FixturesCoverWhatTheWritersBranchOn) {
  const Assessment a = MixedAndLive();
  bool live = false, file = false, error = false, items = false;
  for (const Object& o : a.objects) (o.live ? live : file) = true;
  for (const Object& o : a.objects) items |= !o.item_path.empty();
  error = !a.errors.empty();
  EXPECT_TRUE(live && file && error && items);
  EXPECT_GT(a.findings.size(), 100u);
}

TEST(K8sReport, JsonPrintsWhatTheTreeDumpPrintedAndCarriesEveryFinding) {
  const Assessment a = MixedAndLive();
  const std::string text = Render(a, "json");
  const json doc = json::parse(text);
  EXPECT_EQ(doc.dump(2) + "\n", text);

  EXPECT_EQ(doc["tool"]["version"], "1.2.3-test");
  EXPECT_EQ(doc["summary"]["findings"], a.findings.size());
  EXPECT_EQ(doc["summary"]["objects"], a.objects.size());
  EXPECT_EQ(doc["errors"].size(), a.errors.size());
  EXPECT_EQ(doc["warnings"][0], a.warnings[0]);
  EXPECT_EQ(doc["checks"].size(), a.checks.size());
  ASSERT_EQ(doc["resources"].size(), a.objects.size());
  size_t next = 0, by_severity = 0;
  for (const auto& [name, count] : doc["summary"]["bySeverity"].items())
    by_severity += count.get<size_t>();
  EXPECT_EQ(by_severity, a.findings.size());
  for (size_t i = 0; i < a.objects.size(); ++i) {
    const Object& o = a.objects[i];
    const json& r = doc["resources"][i];
    EXPECT_EQ(r["kind"], o.kind);
    EXPECT_EQ(r["name"], o.name);
    EXPECT_EQ(r.contains("url"), o.live);
    EXPECT_EQ(r.contains("file"), !o.live);
    EXPECT_EQ(r["checks"].size(), a.evaluated[i].size());
    for (const json& f : r["findings"]) {
      ASSERT_LT(next, a.findings.size());
      const Finding& expected = a.findings[next++];
      EXPECT_EQ(expected.object, i);
      EXPECT_EQ(f["checkId"], expected.check->id);
      EXPECT_EQ(f["path"], expected.path);
      EXPECT_EQ(f["message"], expected.message);
      EXPECT_EQ(f.value("line", 0u), o.live ? 0u : expected.line);
    }
    EXPECT_EQ(r["status"] == "fail", !r["findings"].empty());
  }
  EXPECT_EQ(next, a.findings.size());
}

TEST(K8sReport, SarifPrintsWhatTheTreeDumpPrintedAndIsValid) {
  const Assessment a = MixedAndLive();
  const std::string text = Render(a, "sarif");
  const json doc = json::parse(text);
  EXPECT_EQ(doc.dump(2) + "\n", text);
  auto [code, log] = ValidateWithSchema("sarif-2.1.0", text);
  EXPECT_EQ(code, 0) << log;

  const json& run = doc["runs"][0];
  const json& rules = run["tool"]["driver"]["rules"];
  ASSERT_EQ(run["results"].size(), a.findings.size());
  for (size_t k = 0; k < a.findings.size(); ++k) {
    const Finding& f = a.findings[k];
    const Object& o = a.objects[f.object];
    const json& result = run["results"][k];
    EXPECT_EQ(result["ruleId"], f.check->id);
    EXPECT_EQ(rules[result["ruleIndex"].get<size_t>()]["id"], f.check->id);
    EXPECT_EQ(result["message"]["text"], o.Reference() + ": " + f.message);
    const json& location = result["locations"][0];
    EXPECT_EQ(location["logicalLocations"][0]["fullyQualifiedName"], o.Reference() + "#" + f.path);
    EXPECT_EQ(location.contains("physicalLocation"), !o.live);
  }
  const json& invocation = run["invocations"][0];
  EXPECT_FALSE(invocation["executionSuccessful"]);
  EXPECT_EQ(invocation["toolExecutionNotifications"].size(), a.errors.size() + a.warnings.size());
}

TEST(K8sReport, JunitTotalsAreTheSumOfItsSuites) {
  const Assessment a = MixedAndLive();
  const std::string text = Render(a, "junit");
  const std::regex suite(R"re(<testsuite name="[^"]*" tests="(\d+)" failures="(\d+)")re");
  size_t tests = 0, failures = 0, suites = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), suite);
       it != std::sregex_iterator(); ++it, ++suites) {
    tests += std::stoul((*it)[1]);
    failures += std::stoul((*it)[2]);
  }
  EXPECT_GT(suites, a.errors.size());
  EXPECT_NE(text.find("<testsuites name=\"moat k8s\" tests=\"" + std::to_string(tests) +
                      "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
                      std::to_string(a.errors.size()) + "\">"),
            std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 14), "</testsuites>\n");
}

TEST(K8sReport, TableListsEveryFindingAndTheTotals) {
  const Assessment a = MixedAndLive();
  const std::string text = Render(a, "table");
  size_t lines = 0;
  for (size_t at = text.find("\n      at "); at != std::string::npos;
       at = text.find("\n      at ", at + 1))
    ++lines;
  EXPECT_EQ(lines, a.findings.size());
  EXPECT_NE(text.find(std::to_string(a.findings.size()) + " findings, " +
                      std::to_string(a.errors.size()) + " errors, 1 warnings\n"),
            std::string::npos);
}

// Names are untrusted bytes: a file name that is not UTF-8 still gives valid JSON and SARIF
// (the old tree writer threw on it).
TEST(K8sReport, FileNamesThatAreNotUtf8StillGiveValidDocuments) {
  const fs::path dir = fs::path(MOAT_BINARY_DIR) / "k8s_report_test" / std::to_string(getpid());
  fs::create_directories(dir);
  const fs::path file = dir / "pod-\xff\xfe.yaml";
  std::ofstream(file) << "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n"
                         "spec:\n  containers:\n  - name: c\n    image: nginx\n"
                         "    securityContext: {privileged: true}\n";
  auto a = Assess(LoadManifests({dir.string()}), AssessOptions{});
  ASSERT_TRUE(a.ok());
  ASSERT_FALSE(a->findings.empty());
  const json doc = json::parse(Render(*a, "json"));
  EXPECT_NE(doc["resources"][0]["file"].get<std::string>().find("pod-\xEF\xBF\xBD\xEF\xBF\xBD"),
            std::string::npos);
  auto [code, log] = ValidateWithSchema("sarif-2.1.0", Render(*a, "sarif"));
  EXPECT_EQ(code, 0) << log;
  fs::remove_all(dir);
}

TEST(K8sReport, UnknownFormatWritesNothing) {
  const Assessment a = MixedAndLive();
  std::ostringstream out;
  auto written = WriteAssessment(a, "xml", "1", out);
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("xml"), std::string::npos);
  EXPECT_TRUE(out.str().empty());
}

// The CLI's path: a report streamed to a file through WriteOutputStream is the rendered text.
TEST(K8sReport, StreamedToAFileIsTheRenderedText) {
  const Assessment a = MixedAndLive();
  const fs::path file =
      fs::path(MOAT_BINARY_DIR) / ("k8s_report_test-" + std::to_string(getpid()) + ".json");
  auto written = WriteOutputStream(file.string(), [&](std::ostream& out) {
    return WriteAssessment(a, "json", "1.2.3-test", out);
  });
  ASSERT_TRUE(written.ok()) << written.error().message;
  auto text = ReadFileToString(file.string());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, Render(a, "json"));
  fs::remove(file);
  auto unwritable = WriteOutputStream("/nonexistent-dir/report.json", [&](std::ostream& out) {
    return WriteAssessment(a, "json", "1", out);
  });
  ASSERT_FALSE(unwritable.ok());
  EXPECT_NE(unwritable.error().message.find("/nonexistent-dir/report.json"), std::string::npos);
}

}  // namespace
}  // namespace moat::k8s
