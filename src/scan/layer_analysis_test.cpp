#include "scan/layer_analysis.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "analyzer/analyzer.h"
#include "core/bytes.h"

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

namespace moat {
namespace {

// A layer made by GNU tar from real files: the regular files and hard links with an x bit for
// anyone are the layer's executables; symbolic links (the kernel reports their target),
// directories and files without an x bit are not.
TEST(LayerAnalysisSinkTest, RecordsTheLayersExecutablesSorted) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(::testing::TempDir()) / "moat-executables-layer";
  fs::remove_all(root);
  fs::create_directories(root / "usr/bin");
  fs::create_directories(root / "opt/app");
  fs::create_directories(root / "etc");
  auto write = [&](const std::string& path, fs::perms perms) {
    ASSERT_TRUE(WriteOutput((root / path).string(), "#!/bin/sh\n").ok());
    fs::permissions(root / path, perms);
  };
  write("usr/bin/tool", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  write("opt/app/run", fs::perms::owner_all);  // only the owner may run it: still a program
  write("etc/app.conf", fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  fs::create_hard_link(root / "usr/bin/tool", root / "usr/bin/tool-again");
  fs::create_symlink("tool", root / "usr/bin/tool-link");
  const std::string archive = (root.parent_path() / "moat-executables-layer.tar").string();
  const std::string command = "tar -C " + root.string() + " -cf " + archive + " .";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto bytes = ReadFileToString(archive);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;

  AnalyzerRegistry analyzers;
  RegisterBuiltinAnalyzers(analyzers);
  LayerAnalysisSink sink(analyzers, "layer.tar", {});
  ASSERT_TRUE(sink.Write(AsBytes(*bytes)).ok());
  ASSERT_TRUE(sink.Close().ok());
  EXPECT_EQ(sink.result().executables,
            (std::vector<std::string>{"opt/app/run", "usr/bin/tool", "usr/bin/tool-again"}));
  fs::remove_all(root);
  fs::remove(archive);
}

}  // namespace
}  // namespace moat
