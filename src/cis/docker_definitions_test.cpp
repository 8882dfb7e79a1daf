// The definitions must cover exactly the controls of sections 1-7 of CIS Docker Benchmark v1.6.0
// as listed in ../shared/data/seed/cis_docker_benchmark_v1.6_docker-bench.csv, with the same
// titles.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "cis/docker/collect.h"
#include "core/bytes.h"
#include "csv.h"

namespace moat::cis::docker {
namespace {

TEST(DockerDefinitions, CoverExactlyTheCsvControlsOfSections1To7) {
  auto text = ReadFileToString(std::string(MOAT_SHARED_DATA_DIR) +
                               "/seed/cis_docker_benchmark_v1.6_docker-bench.csv");
  ASSERT_TRUE(text.ok()) << text.error().message;
  auto rows = ParseCsv(*text);
  ASSERT_GT(rows.size(), 1u);
  std::map<std::string, std::string> expected;  // id -> title
  std::map<std::string, std::string> tags;
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::string& id = rows[i][0];
    if (id.empty() || id[0] < '1' || id[0] > '7') continue;  // sections 8 and C are out of scope
    expected[id] = rows[i][1];
    tags[id] = rows[i][2];
  }
  EXPECT_EQ(expected.size(), 117u);
  std::map<std::string, std::string> defined;
  for (const auto& check : DockerChecks()) {
    EXPECT_TRUE(defined.emplace(check.control.id, check.control.title).second)
        << "duplicate " << check.control.id;
    EXPECT_FALSE(check.control.remediation.empty()) << check.control.id;
    EXPECT_FALSE(check.control.reads.empty()) << check.control.id;
    EXPECT_TRUE(check.control.level == 1 || check.control.level == 2) << check.control.id;
    EXPECT_TRUE(static_cast<bool>(check.evaluate)) << check.control.id;
  }
  EXPECT_EQ(defined, expected);
  // Automated per the benchmark tags (docker-bench's "Automated"/"Scored" vs "Manual").
  for (const auto& check : DockerChecks()) {
    auto tag = tags.find(check.control.id);
    if (tag == tags.end()) continue;
    bool automated = tag->second == "Automated" || tag->second == "Scored";
    EXPECT_EQ(check.control.automated, automated) << check.control.id << " " << tag->second;
  }
}

TEST(DockerDefinitions, GroupsExistForEveryControl) {
  std::set<std::string> groups;
  for (const auto& group : DockerGroups()) groups.insert(group.id);
  for (const auto& check : DockerChecks()) {
    EXPECT_TRUE(groups.count(check.control.group)) << check.control.id;
    EXPECT_EQ(check.control.id.rfind(check.control.group + ".", 0), 0u) << check.control.id;
  }
}

}  // namespace
}  // namespace moat::cis::docker
