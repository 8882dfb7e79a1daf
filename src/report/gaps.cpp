// What the scan could not assess, as every writer reports it (render.h).

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "report/render.h"
#include "report/table_layout.h"

namespace moat::report {
namespace {

// A damaged database can have thousands of damaged stanzas; the first ones say enough.
constexpr size_t kDetailsShown = 5;

}  // namespace

std::vector<std::string> GapDetailLines(const AssessmentGap& gap) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < gap.details.size() && i < kDetailsShown; ++i) {
    lines.push_back(gap.details[i]);
  }
  if (gap.details.size() > kDetailsShown) {
    lines.push_back("... and " + std::to_string(gap.details.size() - kDetailsShown) + " more");
  }
  return lines;
}

std::string GapText(const AssessmentGap& gap) {
  std::string text = DescribeAssessmentGap(gap);
  std::string details;
  for (const std::string& line : GapDetailLines(gap)) {
    details += (details.empty() ? "" : "; ") + line;
  }
  return details.empty() ? text : text + ": " + details;
}

std::string GapNotice(const Inventory& inventory, size_t width) {
  if (inventory.assessment_gaps.empty()) return "";
  std::string out =
      WrapIndented("INCOMPLETE ASSESSMENT: " + std::to_string(inventory.assessment_gaps.size()) +
                       " part(s) of the target could not be assessed; what follows "
                       "does not cover them.",
                   width, "", "");
  // A thousand damaged archives of one kind are one line and a count, as grouped warnings are.
  std::vector<std::string> shapes;
  std::map<std::string, std::pair<const AssessmentGap*, size_t>> groups;  // first gap, count
  for (const AssessmentGap& gap : inventory.assessment_gaps) {
    std::string shape = WarningShape(GapText(gap));
    auto [it, inserted] = groups.try_emplace(shape, &gap, 0);
    if (inserted) shapes.push_back(std::move(shape));
    ++it->second.second;
  }
  for (const std::string& shape : shapes) {
    const auto [gap, count] = groups[shape];
    out += WrapIndented(DescribeAssessmentGap(*gap), width, "  ! ", "    ");
    for (const std::string& line : GapDetailLines(*gap)) {
      out += WrapIndented(line, width, "      ", "      ");
    }
    if (count > 1) {
      out += "    (" + std::to_string(count - 1) + " more like this; every one in --format json)\n";
    }
  }
  return out + "\n";
}

}  // namespace moat::report
