#include "scan/layer_analysis.h"

#include <gtest/gtest.h>

#include <string>

#include "analyzer/analyzer.h"

namespace moat {
namespace {

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// Runs the built-in analyzers over one file of layer "sha256:ab".
LayerResult AnalyzeOne(std::string_view path, std::string_view content) {
  AnalyzerRegistry analyzers;
  RegisterBuiltinAnalyzers(analyzers);
  LayerResult layer;
  AnalyzeFile(analyzers, FileMeta{path, 0644, content.size()}, AsBytes(content),
              "layer sha256:ab: /" + std::string(path), layer);
  return layer;
}

// A package database nothing can be read from is recorded with the file, as an incomplete
// assessment; its message names the line, and the file only once (the gap names the file).
TEST(AnalyzeFileTest, UnreadableDatabaseIsRecordedWithItsFile) {
  const LayerResult layer =
      AnalyzeOne("var/lib/dpkg/status", "Package: bash\nthis line is not a field\n");
  EXPECT_TRUE(layer.errors.empty());
  ASSERT_EQ(layer.files.size(), 1u);
  const AnalyzedFile& file = layer.files[0];
  EXPECT_EQ(file.path, "var/lib/dpkg/status");
  EXPECT_EQ(file.analyzer, "dpkg");
  EXPECT_EQ(file.error.rfind("line 2: expected", 0), 0u) << file.error;
  EXPECT_EQ(Count(file.error, "var/lib/dpkg/status"), 0u) << file.error;
}

// A release file that does not parse is a warning naming the layer, file and line.
TEST(AnalyzeFileTest, ReleaseFileErrorNamesLayerFileAndLineOnce) {
  const LayerResult layer = AnalyzeOne("etc/os-release", "ID=debian\nthis line is not KEY=value\n");
  ASSERT_EQ(layer.errors.size(), 1u);
  const std::string& error = layer.errors[0];
  EXPECT_EQ(error.rfind("layer sha256:ab: /etc/os-release", 0), 0u) << error;
  EXPECT_EQ(Count(error, "etc/os-release"), 1u) << error;
  EXPECT_TRUE(layer.files.empty());
}

}  // namespace
}  // namespace moat
