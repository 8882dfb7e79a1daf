// Runs every pod-security-admission fixture (../shared/data/k8s/psa, all versions) at its level
// and version; each must give exactly the expected pass/fail.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/bytes.h"
#include "k8s/checks.h"
#include "k8s/loader.h"

namespace moat::k8s {
namespace {

namespace fs = std::filesystem;
const fs::path kPsa = fs::path(MOAT_SHARED_DATA_DIR) / "k8s" / "psa";

TEST(PodSecurityStandards, EveryAdmissionFixture) {
  std::ifstream index(kPsa / "INDEX.tsv");
  ASSERT_TRUE(index.good()) << kPsa;
  std::string line;
  std::getline(index, line);  // header
  size_t total = 0, passed = 0;
  std::map<std::string, size_t> failures_by_check;
  while (std::getline(index, line)) {
    std::istringstream fields(line);
    std::string level, version, expected, check, path;
    std::getline(fields, level, '\t');
    std::getline(fields, version, '\t');
    std::getline(fields, expected, '\t');
    std::getline(fields, check, '\t');
    std::getline(fields, path, '\t');
    ++total;
    auto minor = ParsePssVersion(version);
    ASSERT_TRUE(minor.ok()) << version;
    auto text = ReadFileToString((kPsa / path).string());
    ASSERT_TRUE(text.ok()) << text.error().message;
    LoadResult loaded;
    ParseManifests(*text, path, loaded);
    ASSERT_TRUE(loaded.errors.empty()) << loaded.errors[0].ToString();
    ASSERT_EQ(loaded.objects.size(), 1u) << path;
    const std::vector<Finding> findings = EvaluatePodSecurity(loaded.objects[0], level, *minor);
    const bool allowed = findings.empty();
    if (allowed == (expected == "pass")) {
      ++passed;
      continue;
    }
    ++failures_by_check[check];
    std::string detail;
    for (const Finding& f : findings) detail += "\n  " + f.check->id + ": " + f.message;
    ADD_FAILURE() << path << " (" << level << " " << version << "): expected " << expected
                  << ", got " << (allowed ? "pass" : "fail") << detail;
  }
  std::printf("PSA fixtures: %zu/%zu as expected (%.2f%%)\n", passed, total,
              total == 0 ? 0.0 : 100.0 * static_cast<double>(passed) / total);
  for (const auto& [check, n] : failures_by_check)
    std::printf("  mismatches in %s: %zu\n", check.c_str(), n);
  EXPECT_GT(total, 4000u);
  EXPECT_EQ(passed, total);
}

TEST(PodSecurityStandards, WorkloadTemplatesAttributedToOwner) {
  const std::string yaml = R"(apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: ops
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          hostPID: true
          containers:
          - name: c
            image: busybox:1.36
            securityContext:
              privileged: true
)";
  LoadResult loaded;
  ParseManifests(yaml, "cron.yaml", loaded);
  ASSERT_EQ(loaded.objects.size(), 1u);
  auto findings = EvaluatePodSecurity(loaded.objects[0], "baseline", -1);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].check->id, "pss-baseline-host-namespaces");
  EXPECT_EQ(findings[0].path, "spec.jobTemplate.spec.template.spec.hostPID");
  EXPECT_EQ(findings[0].line, 12u);
  EXPECT_EQ(findings[1].check->id, "pss-baseline-privileged");
  EXPECT_EQ(findings[1].path,
            "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged");
  EXPECT_EQ(findings[1].line, 17u);
}

TEST(PodSecurityStandards, VersionSelection) {
  EXPECT_EQ(*ParsePssVersion("v1.25"), 25);
  EXPECT_EQ(*ParsePssVersion("1.8"), 8);
  EXPECT_EQ(*ParsePssVersion("latest"), LatestPssMinor());
  EXPECT_FALSE(ParsePssVersion("v2.1").ok());
  EXPECT_FALSE(ParsePssVersion("v1.x").ok());
  // host-probes exists from 1.34 only.
  const std::string yaml = R"(kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: x:1
    livenessProbe:
      httpGet: {host: evil.example, port: 80}
)";
  LoadResult loaded;
  ParseManifests(yaml, "p.yaml", loaded);
  ASSERT_EQ(loaded.objects.size(), 1u);
  EXPECT_TRUE(EvaluatePodSecurity(loaded.objects[0], "baseline", 33).empty());
  EXPECT_EQ(EvaluatePodSecurity(loaded.objects[0], "baseline", 34).size(), 1u);
}

}  // namespace
}  // namespace moat::k8s
