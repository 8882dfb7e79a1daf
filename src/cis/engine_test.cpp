#include "cis/engine.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cis/output.h"

namespace moat::cis {
namespace {

struct FakeFacts {
  int value = 0;
};

std::vector<Check<FakeFacts>> FakeChecks() {
  return {
      {{"1.1", "one", "1", 1, true, "value", "value > 0", "raise it"},
       {},
       [](const FakeFacts& f) { return f.value > 0 ? Pass({"value=1"}) : Failed({"value=0"}); }},
      {{"1.2", "needs input", "1", 2, true, "x", "x", "fix x"},
       {"x"},
       [](const FakeFacts&) { return Pass(); }},
      {{"2.1", "manual", "2", 1, false, "-", "-", "look"},
       {},
       [](const FakeFacts&) { return Manual("look at it"); }},
  };
}

TEST(Engine, SelectionPatterns) {
  EXPECT_TRUE(MatchesPattern("1.1.3", "1.1.*"));
  EXPECT_TRUE(MatchesPattern("1.1.3", "1.1"));
  EXPECT_TRUE(MatchesPattern("5.10", "5"));
  EXPECT_FALSE(MatchesPattern("5.10", "5.1"));
  EXPECT_TRUE(MatchesPattern("5.10", "5.10"));
  EXPECT_FALSE(MatchesPattern("15.1", "5"));
  EXPECT_EQ(SplitPatterns(" 5.4, 5.10,,"), (std::vector<std::string>{"5.4", "5.10"}));
  EXPECT_FALSE(ValidateSelection({"1.1", "1.2"}, {{"9.9"}, {}, 0}).ok());
  EXPECT_TRUE(ValidateSelection({"1.1", "1.2"}, {{"1"}, {}, 1}).ok());
}

TEST(Engine, MissingInputIsWarnAndEvaluatorNotCalled) {
  FakeFacts facts{1};
  auto results = RunChecks<FakeFacts>(FakeChecks(), facts, {}, [](std::string_view input) {
    static const std::string why = "unreadable";
    return input == "x" ? &why : nullptr;
  });
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].outcome.status, Status::kPass);
  EXPECT_EQ(results[1].outcome.status, Status::kWarn);
  ASSERT_EQ(results[1].outcome.evidence.size(), 1u);
  EXPECT_EQ(results[1].outcome.evidence[0], "x: unreadable");
  Totals totals = ComputeTotals(results);
  EXPECT_EQ(totals.pass, 1u);
  EXPECT_EQ(totals.warn, 1u);
  EXPECT_EQ(totals.manual, 1u);
  EXPECT_EQ(totals.automated, 2u);
  EXPECT_DOUBLE_EQ(totals.Score(), 50.0);
}

TEST(Engine, LevelAndSkip) {
  FakeFacts facts{0};
  auto none = [](std::string_view) -> const std::string* { return nullptr; };
  auto level1 = RunChecks<FakeFacts>(FakeChecks(), facts, {{}, {}, 1}, none);
  EXPECT_EQ(level1.size(), 2u);
  auto skipped = RunChecks<FakeFacts>(FakeChecks(), facts, {{}, {"1.*"}, 0}, none);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].control.id, "2.1");
}

BenchReport SampleReport() {
  FakeFacts facts{0};
  BenchReport report;
  report.benchmark = "Fake <Benchmark>";
  report.benchmark_version = "1.0";
  report.tool_version = "0.1.0";
  report.target = "host";
  report.summary = {{"Docker version", "24.0"}};
  report.groups = {{"1", "Section one"}, {"2", "Section two"}};
  report.results = RunChecks<FakeFacts>(FakeChecks(), facts, {}, [](std::string_view) {
    return static_cast<const std::string*>(nullptr);
  });
  report.totals = ComputeTotals(report.results);
  return report;
}

TEST(Output, JsonShape) {
  auto text = RenderBenchReport(SampleReport(), "json");
  ASSERT_TRUE(text.ok());
  auto json = nlohmann::json::parse(*text);
  ASSERT_EQ(json["controls"].size(), 2u);
  const auto& check = json["controls"][0]["groups"][0]["checks"][0];
  EXPECT_EQ(check["id"], "1.1");
  EXPECT_EQ(check["result"], "FAIL");
  EXPECT_EQ(check["evidence"][0], "value=0");
  EXPECT_EQ(check["remediation"], "raise it");
  EXPECT_EQ(json["totals"]["fail"], 1);
  EXPECT_EQ(json["host"]["Docker version"], "24.0");
}

TEST(Output, JunitHasOneTestcasePerControlAndFailures) {
  auto text = RenderBenchReport(SampleReport(), "junit");
  ASSERT_TRUE(text.ok());
  size_t cases = 0;
  for (size_t at = text->find("<testcase"); at != std::string::npos;
       at = text->find("<testcase", at + 1)) {
    ++cases;
  }
  EXPECT_EQ(cases, 3u);
  EXPECT_NE(text->find("<failure"), std::string::npos);
  EXPECT_NE(text->find("Fake &lt;Benchmark&gt;"), std::string::npos);
}

TEST(Output, SarifResultsForFailures) {
  auto text = RenderBenchReport(SampleReport(), "sarif");
  ASSERT_TRUE(text.ok());
  auto json = nlohmann::json::parse(*text);
  EXPECT_EQ(json["version"], "2.1.0");
  EXPECT_EQ(json["runs"][0]["tool"]["driver"]["rules"].size(), 3u);
  ASSERT_EQ(json["runs"][0]["results"].size(), 1u);  // the FAIL; PASS and MANUAL have none
  EXPECT_EQ(json["runs"][0]["results"][0]["level"], "error");
  EXPECT_FALSE(RenderBenchReport(SampleReport(), "xml").ok());
}

}  // namespace
}  // namespace moat::cis
