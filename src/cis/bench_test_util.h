#pragma once
// Helpers for the bench tests: recorded Engine API documents and a facts builder.

#include <gtest/gtest.h>

#include <string>

#include "cis/docker/collect.h"
#include "cis/docker/facts.h"
#include "core/bytes.h"

namespace moat::cis::testing {

inline std::string TestData(const std::string& name) {
  auto text = ReadFileToString(std::string(MOAT_SOURCE_DIR) + "/src/cis/testdata/" + name);
  EXPECT_TRUE(text.ok()) << name;
  return text.ok() ? *text : std::string();
}

/// Runs one control over the facts and returns its result.
inline ControlResult RunOne(const docker::DockerFacts& facts, const std::string& id) {
  Selection selection;
  selection.only = {id};
  BenchReport report = docker::AssessDocker(facts, selection);
  EXPECT_EQ(report.results.size(), 1u) << id;
  if (report.results.empty()) return {};
  return report.results.front();
}

inline std::string Joined(const ControlResult& result) {
  std::string out = std::string(StatusName(result.outcome.status)) + " " + result.outcome.reason;
  for (const auto& line : result.outcome.evidence) out += "\n  " + line;
  return out;
}

}  // namespace moat::cis::testing
