#include "report/table_layout.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/package.h"
#include "core/vulnerability.h"
#include "report/report.h"

namespace moat::report {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

size_t WidestLine(const std::string& text) {
  size_t widest = 0;
  for (const auto& line : Lines(text)) widest = std::max(widest, DisplayWidth(line));
  return widest;
}

TEST(TableLayout, TruncateCountsColumnsNotBytes) {
  EXPECT_EQ(Truncate("short", 10), "short");
  EXPECT_EQ(Truncate("abcdefghij", 10), "abcdefghij");
  EXPECT_EQ(Truncate("abcdefghijk", 10), "abcdefghi\xe2\x80\xa6");
  EXPECT_EQ(DisplayWidth(Truncate("abcdefghijk", 10)), 10u);
  // Multi-byte characters are kept whole.
  EXPECT_EQ(Truncate("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3), "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
}

TEST(TableLayout, WrapBreaksAtSpacesAndSplitsLongWords) {
  EXPECT_EQ(Wrap("openssl: denial of service in X.509 parsing", 16),
            (std::vector<std::string>{"openssl: denial", "of service in", "X.509 parsing"}));
  EXPECT_EQ(Wrap("aaaaaaaaaaaaaaaaaaaa", 8),
            (std::vector<std::string>{"aaaaaaaa", "aaaaaaaa", "aaaa"}));
  EXPECT_EQ(Wrap("fits", 8), (std::vector<std::string>{"fits"}));
}

TEST(TableLayout, FitColumnsKeepsNarrowAndFixedColumnsAndSharesTheRest) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "ID", "PATH"},
      {std::string(100, 'n'), "CVE-2024-12345", std::string(200, 'p')},
  };
  TableLayout unbounded = FitColumns(rows, 0, {8, SIZE_MAX, 8});
  EXPECT_EQ(unbounded.widths, (std::vector<size_t>{100, 14, 200}));
  TableLayout fitted = FitColumns(rows, 80, {8, SIZE_MAX, 8});
  EXPECT_EQ(fitted.widths[1], 14u);  // never cut
  EXPECT_EQ(fitted.widths[0] + fitted.widths[1] + fitted.widths[2] + 4, 80u);
  EXPECT_EQ(fitted.widths[0], fitted.widths[2]);  // the wide ones share equally
  const std::string line = RenderRow(rows[1], fitted);
  EXPECT_EQ(DisplayWidth(line) - 1, 80u);  // "\n" ends it
  EXPECT_NE(line.find("CVE-2024-12345"), std::string::npos);
}

TEST(TableLayout, GroupWarningsThatDifferOnlyInParticulars) {
  std::vector<std::string> warnings;
  for (int i = 0; i < 6; ++i) {
    warnings.push_back("layer sha256:" + std::to_string(i) + "abc: /usr/bin/tool" +
                       std::to_string(i) + ": skipped, " + std::to_string(1000 + i) +
                       " bytes is over the file size limit");
  }
  warnings.push_back("vulnerability database is 9 days old");
  std::vector<std::string> grouped = GroupWarnings(warnings);
  ASSERT_EQ(grouped.size(), 2u);
  EXPECT_EQ(grouped[0], warnings[0] + " (5 more like this)");
  EXPECT_EQ(grouped[1], warnings[6]);
}

// One long Go module path used to set the width of every line (406 columns for `moat rootfs /`).
Inventory WideInventory() {
  Inventory inventory;
  inventory.artifact.name = "/";
  for (int i = 0; i < 5; ++i) {
    Package package;
    package.type = i < 3 ? PackageType::kDeb : PackageType::kGolang;
    package.name = i == 4 ? "github.com/hashicorp/terraform-provider-aws/internal/service/" +
                                std::string(150, 'x')
                          : "libpackage" + std::to_string(i);
    package.version = "1.2." + std::to_string(i);
    package.file_path =
        i < 3 ? "/var/lib/dpkg/status"
              : "/usr/local/bin/terraform-provider-aws_v5.31.0_x5" + std::string(100, 'y');
    inventory.packages.push_back(package);
  }
  for (int i = 0; i < 4; ++i) {
    inventory.warnings.push_back("/usr/share/app" + std::to_string(i) + "/x.jar: not a zip file");
  }
  return inventory;
}

std::string RenderAt(const Inventory& inventory, size_t width) {
  ReportContext context{"test", "2024-01-01T00:00:00Z"};
  context.table_width = width;
  auto text = RenderInventory(inventory, "table", context);
  EXPECT_TRUE(text.ok());
  return text.ok() ? *text : "";
}

TEST(TableWidth, InventoryFitsTheTerminalAndIsWholeWithoutOne) {
  const Inventory inventory = WideInventory();
  for (size_t width : {80u, 120u}) {
    const std::string text = RenderAt(inventory, width);
    EXPECT_LE(WidestLine(text), width) << text;
    EXPECT_NE(text.find("\xe2\x80\xa6"), std::string::npos) << text;  // the long cells are cut
    EXPECT_NE(text.find("libpackage0"), std::string::npos) << text;   // short ones are not
    EXPECT_NE(text.find("(3 more like this)"), std::string::npos) << text;
  }
  const std::string full = RenderAt(inventory, 0);
  EXPECT_NE(full.find(inventory.packages[4].name), std::string::npos);
  EXPECT_NE(full.find(inventory.packages[4].file_path), std::string::npos);
  EXPECT_EQ(full.find("\xe2\x80\xa6"), std::string::npos);
}

TEST(TableWidth, VulnerabilityTitlesWrapInsteadOfBeingCut) {
  Inventory inventory = WideInventory();
  inventory.vulnerability_scan = true;
  DetectedVulnerability finding;
  finding.id = "CVE-2023-45288";
  finding.package_name = inventory.packages[4].name;
  finding.package_version = "1.2.4";
  finding.package_type = "golang";
  finding.file_path = inventory.packages[4].file_path;
  finding.fixed_versions = {"1.2.5"};
  finding.status = "fixed";
  finding.severity = "high";
  finding.title =
      "net/http, x/net/http2: unlimited number of CONTINUATION frames causes denial of service "
      "when a client sends headers that never end, exhausting the server's memory";
  inventory.vulnerabilities.push_back(finding);
  for (size_t width : {80u, 120u}) {
    const std::string text = RenderAt(inventory, width);
    EXPECT_LE(WidestLine(text), width) << text;
    EXPECT_NE(text.find("CVE-2023-45288"), std::string::npos) << text;
    // Every word of the title is there, in order, over several lines.
    size_t position = 0;
    for (const char* word : {"net/http,", "CONTINUATION", "denial", "exhausting", "memory"}) {
      position = text.find(word, position);
      ASSERT_NE(position, std::string::npos) << word << " in\n" << text;
    }
  }
  const std::string full = RenderAt(inventory, 0);
  EXPECT_NE(full.find(finding.title), std::string::npos) << full;
}

}  // namespace
}  // namespace moat::report
