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

TEST(AnalyzeFileTest, ParseErrorNamesLayerFileAndLineOnce) {
  AnalyzerRegistry analyzers;
  RegisterBuiltinAnalyzers(analyzers);
  const std::string status = "Package: bash\nthis line is not a field\n";
  const auto* bytes = reinterpret_cast<const uint8_t*>(status.data());
  FileMeta meta{"var/lib/dpkg/status", 0644, status.size()};
  LayerResult layer;
  AnalyzeFile(analyzers, meta, ByteSpan(bytes, status.size()),
              "layer sha256:ab: /" + std::string(meta.path), layer);
  ASSERT_EQ(layer.errors.size(), 1u);
  const std::string& error = layer.errors[0];
  EXPECT_EQ(error.rfind("layer sha256:ab: /var/lib/dpkg/status:", 0), 0u) << error;
  EXPECT_EQ(Count(error, "var/lib/dpkg/status"), 1u) << error;
  EXPECT_NE(error.find("line 2"), std::string::npos) << "the line is named: " << error;
}

}  // namespace
}  // namespace moat
