#pragma once
// Report writers for benchmark results: table, json (controls -> groups -> checks, totals, the
// shape kube-bench and docker-bench users know), sarif (2.1.0), junit. Generic over BenchReport.

#include <string>
#include <string_view>

#include "cis/engine.h"
#include "core/result.h"

namespace moat::cis {

/// format: "table", "json", "sarif", "junit". Unknown format -> Error.
Result<std::string> RenderBenchReport(const BenchReport& report, std::string_view format);

}  // namespace moat::cis
