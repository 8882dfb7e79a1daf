#pragma once
// Writers for `moat k8s` results: table, json, sarif (2.1.0, results point at file and line),
// junit (one test suite per resource, one test case per check).

#include <string>
#include <string_view>

#include "core/result.h"
#include "k8s/checks.h"

namespace moat::k8s {

/// Renders an assessment. format: "table", "json", "sarif", "junit".
Result<std::string> RenderAssessment(const Assessment& assessment, std::string_view format,
                                     const std::string& tool_version);

/// The checks as a table or JSON (`moat k8s checks`), for people and for docs.
std::string RenderCheckList(std::string_view format);

}  // namespace moat::k8s
