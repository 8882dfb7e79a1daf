#pragma once
// Writers for `moat k8s` results: table, json, sarif (2.1.0, results point at file and line),
// junit (one test suite per resource, one test case per check). They stream: the report goes to
// the output as it is written, never held whole in memory.

#include <iosfwd>
#include <string>
#include <string_view>

#include "core/result.h"
#include "k8s/checks.h"

namespace moat::k8s {

/// Writes an assessment to `out`. format: "table", "json", "sarif", "junit"; an unknown format is
/// an error before anything is written. Write failures show in the stream's state.
Result<void> WriteAssessment(const Assessment& assessment, std::string_view format,
                             const std::string& tool_version, std::ostream& out);

/// WriteAssessment into a string (tests, small reports).
Result<std::string> RenderAssessment(const Assessment& assessment, std::string_view format,
                                     const std::string& tool_version);

/// The checks as a table or JSON (`moat k8s checks`), for people and for docs.
std::string RenderCheckList(std::string_view format);

}  // namespace moat::k8s
