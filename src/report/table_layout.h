#pragma once
// Report-internal: fitting text tables to a terminal's width. Cells too wide for their column are
// cut with an ellipsis, one column (the vulnerability title) may wrap instead, and width 0 means
// no limit (every cell in full, as when the output is a file or a pipe).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "report/report.h"

namespace moat::report {

/// Terminal columns, roughly: UTF-8 continuation bytes take no column.
size_t DisplayWidth(std::string_view text);

/// `text` cut to at most `width` columns, ending in "…" when it was longer.
std::string Truncate(std::string_view text, size_t width);

/// `text` in lines of at most `width` columns, broken at spaces where possible.
std::vector<std::string> Wrap(std::string_view text, size_t width);

struct TableLayout {
  std::vector<size_t> widths;
  size_t wrap_column = std::string::npos;  // this column wraps; the others are truncated
};

/// Column widths for `rows` (the header among them) within `total_width` columns, two spaces
/// between columns. Each column gets its content's width when everything fits; otherwise the
/// narrow columns keep theirs and the wide ones share what is left, never going below
/// `min_widths` (a column whose minimum is at least its content is never cut: ids, severities).
TableLayout FitColumns(const std::vector<std::vector<std::string>>& rows, size_t total_width,
                       const std::vector<size_t>& min_widths,
                       size_t wrap_column = std::string::npos);

/// One row laid out (several lines when the wrap column wraps), trailing spaces trimmed, each
/// line ending in "\n".
std::string RenderRow(const std::vector<std::string>& cells, const TableLayout& layout);

/// `text` with control characters (a terminal's escape sequences among them) replaced by "?".
std::string Printable(std::string_view text);

/// What a warning says without the particulars (words holding a path, a digit or a digest become
/// "*"): warnings of one shape are grouped (GroupWarnings, the incomplete-assessment notice).
std::string WarningShape(std::string_view warning);

/// `text` made printable and wrapped to `width` columns (0: no limit) after its prefix: the first
/// line starts with `first_prefix`, the others with `next_prefix`; each line ends in "\n".
std::string WrapIndented(std::string_view text, size_t width, std::string_view first_prefix,
                         std::string_view next_prefix);

}  // namespace moat::report
