#include "analyzer/pkg/stanza_file.h"

#include <utility>

#include "core/text.h"

namespace moat::pkg {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsBlank(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsBlank(text.back())) text.remove_suffix(1);
  return text;
}

StanzaFileParser::StanzaFileParser(std::string_view text, std::string display_path)
    : text_(text), path_(std::move(display_path)) {}

Result<AnalysisResult> StanzaFileParser::Parse() {
  AnalysisResult result;
  result.package_database = true;
  // Status paragraphs of real systems average about 1 KB; reserving avoids re-moving the
  // (large) Package records as the vector grows.
  result.packages.reserve(text_.size() / 1024 + 1);
  for (std::string_view line : SplitLines(text_)) {
    ++line_number_;
    if (IsSeparator(line)) {
      EndStanza(line_number_ - 1, result);
      continue;
    }
    if (stanza_start_ == 0) stanza_start_ = line_number_;
    Result<void> read = OnLine(line);
    if (!read.ok() && damage_.empty()) damage_ = read.error().message;
  }
  EndStanza(line_number_, result);
  if (stanzas_read_ == 0 && !result.problems.empty()) {
    std::string message = path_ + ": " + result.problems.front();
    if (const size_t more = result.problems.size() - 1 + result.unlisted_problems; more > 0) {
      message += " (and " + std::to_string(more) + " more damaged stanzas)";
    }
    return Fail(message, "; no stanza could be read");
  }
  return result;
}

void StanzaFileParser::EndStanza(size_t last_line, AnalysisResult& result) {
  if (stanza_start_ == 0) return;
  if (damage_.empty()) {
    Result<void> finished = OnStanzaEnd(result);
    if (finished.ok()) {
      ++stanzas_read_;
    } else {
      damage_ = finished.error().message;
    }
  }
  if (!damage_.empty()) {
    std::string problem = damage_ + "; stanza at lines " + std::to_string(stanza_start_) + "-" +
                          std::to_string(last_line);
    if (std::string_view name = StanzaName(); !name.empty()) {
      problem += " (package \"" + std::string(name) + "\")";
    }
    result.AddProblem(problem + " skipped");
  }
  stanza_start_ = 0;
  damage_.clear();
  Reset();
}

}  // namespace moat::pkg
