// The human table: one row per package, grouped by type, columns sized to their content and
// columns that are empty for every row left out.

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "report/render.h"

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
std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  return out;
}

// Terminal columns, roughly: UTF-8 continuation bytes take no column.
size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (char c : text) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

std::string SourceOf(const Package& package) {
  if (package.source_name.empty()) return "";
  std::string source = package.source_name;
  std::string version = package.source_version;
  if (!package.source_release.empty()) version += "-" + package.source_release;
  if (!version.empty() && version != package.DisplayVersion()) source += " " + version;
  return source;
}

}  // namespace

std::string RenderTable(const PreparedInventory& input) {
  const Inventory& inventory = input.inventory;
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
  out += "\n\n";

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
    std::array<size_t, kColumnCount> widths{};
    std::array<bool, kColumnCount> shown{};
    for (size_t c = 0; c < kColumnCount; ++c) {
      widths[c] = kHeaders[c].size();
      shown[c] = c <= kType;
    }
    for (const auto& row : rows) {
      for (size_t c = 0; c < kColumnCount; ++c) {
        widths[c] = std::max(widths[c], DisplayWidth(row[c]));
        if (!row[c].empty()) shown[c] = true;
      }
    }
    auto append_row = [&](const auto& cells) {
      std::string line;
      for (size_t c = 0; c < kColumnCount; ++c) {
        if (!shown[c]) continue;
        if (!line.empty()) line += "  ";
        line += cells[c];
        line.append(widths[c] - DisplayWidth(cells[c]), ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    };
    append_row(kHeaders);
    std::string previous_type;
    for (const auto& row : rows) {
      // A blank line between types keeps the groups readable.
      if (!previous_type.empty() && row[kType] != previous_type) out += "\n";
      previous_type = row[kType];
      append_row(row);
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
  if (!inventory.warnings.empty()) {
    out += "\nWarnings:\n";
    for (const auto& warning : inventory.warnings) out += "  - " + Printable(warning) + "\n";
  }
  return out;
}

}  // namespace moat::report
