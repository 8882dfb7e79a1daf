#include "report/table_layout.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace moat::report {
namespace {

constexpr std::string_view kEllipsis = "\xe2\x80\xa6";  // U+2026, one column
constexpr size_t kGap = 2;

// Byte length of the first `columns` columns of `text`.
size_t PrefixBytes(std::string_view text, size_t columns) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (seen == columns) return i;
    ++seen;
  }
  return text.size();
}

}  // namespace

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (char c : text) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

std::string Truncate(std::string_view text, size_t width) {
  if (DisplayWidth(text) <= width) return std::string(text);
  if (width == 0) return "";
  std::string out(text.substr(0, PrefixBytes(text, width - 1)));
  return out + std::string(kEllipsis);
}

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  return out;
}

std::string WrapIndented(std::string_view text, size_t width, std::string_view first_prefix,
                         std::string_view next_prefix) {
  const std::string printable = Printable(text);
  const size_t indent = std::max(first_prefix.size(), next_prefix.size());
  const std::vector<std::string> lines =
      width > indent + 4 ? Wrap(printable, width - indent) : std::vector{printable};
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out.append(i == 0 ? first_prefix : next_prefix).append(lines[i]).append("\n");
  }
  return out;
}

std::vector<std::string> Wrap(std::string_view text, size_t width) {
  std::vector<std::string> lines;
  if (width == 0) width = 1;
  while (DisplayWidth(text) > width) {
    size_t cut = PrefixBytes(text, width);
    // Break at the last space that fits; only a word longer than the line is split.
    size_t space = text.substr(0, cut + 1).rfind(' ');
    size_t next = cut;
    if (space != std::string_view::npos && space > 0) {
      cut = space;
      next = space + 1;
    }
    lines.emplace_back(text.substr(0, cut));
    text.remove_prefix(next);
  }
  lines.emplace_back(text);
  return lines;
}

TableLayout FitColumns(const std::vector<std::vector<std::string>>& rows, size_t total_width,
                       const std::vector<size_t>& min_widths, size_t wrap_column) {
  TableLayout layout;
  layout.wrap_column = wrap_column;
  std::vector<size_t>& natural = layout.widths;
  for (const auto& row : rows) {
    if (natural.size() < row.size()) natural.resize(row.size());
    for (size_t c = 0; c < row.size(); ++c) natural[c] = std::max(natural[c], DisplayWidth(row[c]));
  }
  const size_t count = natural.size();
  if (total_width == 0 || count == 0) return layout;
  const size_t gaps = kGap * (count - 1);
  const size_t needed = std::accumulate(natural.begin(), natural.end(), size_t{0}) + gaps;
  if (needed <= total_width) return layout;
  // Water-filling: the narrowest columns take what they need, each wider one an equal share of
  // the rest, but never less than its minimum.
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), size_t{0});
  auto minimum = [&](size_t c) {
    return std::min(natural[c], c < min_widths.size() ? min_widths[c] : size_t{1});
  };
  // Columns that are never cut leave the others less room, so they are placed first.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const bool fixed_a = minimum(a) == natural[a], fixed_b = minimum(b) == natural[b];
    if (fixed_a != fixed_b) return fixed_a;
    return natural[a] < natural[b];
  });
  size_t remaining = total_width > gaps ? total_width - gaps : 0;
  std::vector<size_t> widths(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t c = order[i];
    const size_t share = remaining / (count - i);
    widths[c] = std::max(minimum(c), std::min(natural[c], share));
    remaining -= std::min(remaining, widths[c]);
  }
  layout.widths = std::move(widths);
  return layout;
}

std::string RenderRow(const std::vector<std::string>& cells, const TableLayout& layout) {
  std::vector<std::vector<std::string>> columns(cells.size());
  size_t height = 1;
  for (size_t c = 0; c < cells.size(); ++c) {
    const size_t width = c < layout.widths.size() ? layout.widths[c] : DisplayWidth(cells[c]);
    if (c == layout.wrap_column) {
      columns[c] = Wrap(cells[c], width);
    } else {
      columns[c] = {Truncate(cells[c], width)};
    }
    height = std::max(height, columns[c].size());
  }
  std::string out;
  for (size_t line_index = 0; line_index < height; ++line_index) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) line.append(kGap, ' ');
      const std::string cell = line_index < columns[c].size() ? columns[c][line_index] : "";
      line += cell;
      const size_t width = c < layout.widths.size() ? layout.widths[c] : 0;
      line.append(width - std::min(width, DisplayWidth(cell)), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string WarningShape(std::string_view warning) {
  std::string shape;
  size_t start = 0;
  while (start <= warning.size()) {
    size_t end = warning.find(' ', start);
    if (end == std::string_view::npos) end = warning.size();
    std::string_view word = warning.substr(start, end - start);
    const bool particular =
        word.find_first_of("/0123456789") != std::string_view::npos || word.starts_with("sha256:");
    shape += particular ? std::string_view("*") : word;
    shape += ' ';
    start = end + 1;
  }
  return shape;
}

std::vector<std::string> GroupWarnings(const std::vector<std::string>& warnings) {
  std::vector<std::string> shapes;
  std::map<std::string, std::pair<size_t, size_t>> groups;  // shape -> (first index, count)
  for (size_t i = 0; i < warnings.size(); ++i) {
    std::string shape = WarningShape(warnings[i]);
    auto [it, inserted] = groups.try_emplace(shape, i, 0);
    if (inserted) shapes.push_back(std::move(shape));
    ++it->second.second;
  }
  std::vector<std::string> out;
  for (const auto& shape : shapes) {
    const auto [first, count] = groups[shape];
    out.push_back(warnings[first]);
    if (count > 1) out.back() += " (" + std::to_string(count - 1) + " more like this)";
  }
  return out;
}

}  // namespace moat::report
