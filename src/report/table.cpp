// The human table: one row per package, grouped by type, columns sized to their content and
// columns that are empty for every row left out.

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "report/render.h"
#include "report/table_layout.h"

namespace moat::report {
namespace {

// "sha256:0123456789abcdef..." -> "0123456789ab", as `docker history` shortens ids.
std::string ShortDigest(std::string_view digest) {
  if (const size_t colon = digest.find(':'); colon != std::string_view::npos) {
    digest.remove_prefix(colon + 1);
  }
  return std::string(digest.substr(0, 12));
}

// Control characters from package metadata would break the layout (or the terminal).
std::string SourceOf(const Package& package) {
  if (package.source_name.empty()) return "";
  std::string source = package.source_name;
  std::string version = package.source_version;
  if (!package.source_release.empty()) version += "-" + package.source_release;
  if (!version.empty() && version != package.DisplayVersion()) source += " " + version;
  return source;
}

// The warnings section: repeated kinds grouped, long ones wrapped to the width.
std::string WarningsSection(const std::vector<std::string>& warnings, size_t width) {
  if (warnings.empty()) return "";
  std::string out = "\nWarnings:\n";
  for (const auto& warning : GroupWarnings(warnings))
    out += WrapIndented(warning, width, "  - ", "    ");
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(sep)) + item;
  return out;
}

std::string SeverityCounts(const std::vector<const DetectedVulnerability*>& findings) {
  static constexpr std::array<std::string_view, 5> kOrder = {"critical", "high", "medium", "low",
                                                             "unknown"};
  std::map<std::string, size_t> counts;
  for (const auto* f : findings) {
    std::string s = SeverityRank(f->severity) >= 2 ? f->severity : std::string("unknown");
    if (SeverityRank(f->severity) == 1) s = "low";
    ++counts[s];
  }
  std::string out = "Total: " + std::to_string(findings.size()) + " (";
  for (size_t i = 0; i < kOrder.size(); ++i) {
    if (i > 0) out += ", ";
    out += Upper(std::string(kOrder[i])) + ": " + std::to_string(counts[std::string(kOrder[i])]);
  }
  return out + ")";
}

// Vulnerability findings, one table per target (the OS packages, each language file), rows
// sorted by severity, with a count per severity under each table and for the whole scan.
std::string RenderVulnerabilityTables(const Inventory& inventory, size_t width) {
  std::string os_target = inventory.os.family.empty()
                              ? std::string("OS packages")
                              : inventory.os.family + " " + inventory.os.version + " (OS packages)";
  std::map<std::string, std::vector<const DetectedVulnerability*>> groups;
  for (const auto& f : inventory.vulnerabilities) {
    auto type = ParsePackageType(f.package_type);
    bool os = type && IsOsPackageType(*type);
    groups[os ? "0" + os_target : "1" + f.file_path + " (" + f.package_type + ")"].push_back(&f);
  }
  std::string out;
  if (groups.empty()) out += "No vulnerabilities found.\n";
  for (auto& [key, findings] : groups) {
    std::stable_sort(findings.begin(), findings.end(), [](const auto* a, const auto* b) {
      int ra = SeverityRank(a->severity), rb = SeverityRank(b->severity);
      if (ra != rb) return ra > rb;
      if (a->package_name != b->package_name) return a->package_name < b->package_name;
      return a->id < b->id;
    });
    std::string title = Printable(key.substr(1));
    if (width > 0) title = Truncate(title, width);
    out += title + "\n" + std::string(DisplayWidth(title), '=') + "\n";
    out += SeverityCounts(findings) + "\n\n";
    std::vector<std::vector<std::string>> rows{
        {"LIBRARY", "VULNERABILITY", "SEVERITY", "STATUS", "INSTALLED", "FIXED", "TITLE"}};
    for (const auto* f : findings) {
      std::string title_text = f->title;
      if (title_text.empty()) title_text = f->description.substr(0, f->description.find('\n'));
      rows.push_back({Printable(f->package_name), Printable(f->id), Upper(f->severity),
                      Printable(f->status), Printable(f->package_version),
                      Printable(Join(f->fixed_versions, ", ")), Printable(title_text)});
    }
    // Ids, severities and statuses are never cut; the title wraps; the rest share the width.
    constexpr size_t kTitle = 6;
    const TableLayout layout =
        FitColumns(rows, width, {12, SIZE_MAX, SIZE_MAX, SIZE_MAX, 10, 10, 12}, kTitle);
    for (const auto& row : rows) out += RenderRow(row, layout);
    out += "\n";
  }
  std::vector<const DetectedVulnerability*> all;
  for (const auto& f : inventory.vulnerabilities) all.push_back(&f);
  out += "Vulnerabilities: " + SeverityCounts(all) + "\n";
  if (!inventory.suppressed_vulnerabilities.empty()) {
    out += "Suppressed (VEX or ignore file): " +
           std::to_string(inventory.suppressed_vulnerabilities.size()) + "\n";
  }
  return out;
}

}  // namespace

std::string RenderTable(const PreparedInventory& input) {
  const Inventory& inventory = input.inventory;
  if (inventory.vulnerability_scan) {
    std::string head =
        Printable(inventory.artifact.name.empty() ? "(unnamed)" : inventory.artifact.name);
    if (!inventory.os.name.empty()) head += "  OS: " + Printable(inventory.os.name);
    head += "  packages: " + std::to_string(inventory.packages.size()) + "\n\n";
    std::string out = head + GapNotice(inventory, input.context.table_width) +
                      RenderVulnerabilityTables(inventory, input.context.table_width);
    return out + WarningsSection(inventory.warnings, input.context.table_width);
  }
  std::string out =
      Printable(inventory.artifact.name.empty() ? "(unnamed)" : inventory.artifact.name);
  if (!inventory.artifact.image_id.empty()) {
    out += " (" + ShortDigest(inventory.artifact.image_id) + ")";
  }
  out += "  OS: ";
  if (!inventory.os.name.empty()) {
    out += Printable(inventory.os.name);
  } else if (!inventory.os.family.empty()) {
    out += Printable(inventory.os.family + " " + inventory.os.version);
  } else {
    out += "unknown";
  }
  out += "\n\n" + GapNotice(inventory, input.context.table_width);

  enum Column { kName, kVersion, kType, kArch, kSource, kLayer, kPath, kColumnCount };
  static constexpr std::array<std::string_view, kColumnCount> kHeaders = {
      "NAME", "VERSION", "TYPE", "ARCH", "SOURCE", "LAYER", "PATH"};
  std::vector<std::array<std::string, kColumnCount>> rows;
  std::map<std::string, size_t> counts;
  for (const Package& package : inventory.packages) {
    const std::string type(PackageTypeName(package.type));
    ++counts[type];
    rows.push_back({Printable(package.name), Printable(package.DisplayVersion()), type,
                    Printable(package.arch), Printable(SourceOf(package)),
                    ShortDigest(package.layer_diff_id), Printable(package.file_path)});
  }
  if (rows.empty()) {
    out += "No packages found.\n";
  } else {
    std::array<bool, kColumnCount> shown{};
    for (size_t c = 0; c < kColumnCount; ++c) shown[c] = c <= kType;
    for (const auto& row : rows) {
      for (size_t c = 0; c < kColumnCount; ++c) shown[c] = shown[c] || !row[c].empty();
    }
    // The shown columns only; the first row is the header.
    std::vector<std::vector<std::string>> table;
    std::vector<size_t> min_widths;
    // What each column keeps at least when the terminal is narrow (80 columns fit them all).
    static constexpr std::array<size_t, kColumnCount> kMinWidths = {
        12, 8, SIZE_MAX, SIZE_MAX, 8, SIZE_MAX, 10};
    auto shown_cells = [&](const auto& cells) {
      std::vector<std::string> out_cells;
      for (size_t c = 0; c < kColumnCount; ++c) {
        if (shown[c]) out_cells.emplace_back(cells[c]);
      }
      return out_cells;
    };
    table.push_back(shown_cells(kHeaders));
    for (const auto& row : rows) table.push_back(shown_cells(row));
    for (size_t c = 0; c < kColumnCount; ++c) {
      if (shown[c]) min_widths.push_back(kMinWidths[c]);
    }
    const TableLayout layout = FitColumns(table, input.context.table_width, min_widths);
    out += RenderRow(table[0], layout);
    for (size_t i = 0; i < rows.size(); ++i) {
      // A blank line between types keeps the groups readable.
      if (i > 0 && rows[i][kType] != rows[i - 1][kType]) out += "\n";
      out += RenderRow(table[i + 1], layout);
    }
  }

  out += "\nTotal: " + std::to_string(inventory.packages.size()) + " packages";
  if (!counts.empty()) {
    std::string per_type;
    for (const auto& [type, count] : counts) {
      per_type += (per_type.empty() ? "" : ", ") + type + " " + std::to_string(count);
    }
    out += " (" + per_type + ")";
  }
  out += "\n";
  return out + WarningsSection(inventory.warnings, input.context.table_width);
}

}  // namespace moat::report
