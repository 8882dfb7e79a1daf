// ScanRootfs over a source tree with the source-tree analyzers (what `moat fs` runs): lock files
// read, installed packages not, pruned directories not walked, includes read through the tree,
// a package two files name alike reported once; and the image analyzers leave lock files alone.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "analyzer/analyzer.h"
#include "scan/scanner.h"

namespace moat {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class SourceTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("moat-source-tree-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    Write(root_ / "web/package-lock.json", R"({"lockfileVersion": 3, "packages": {
      "": {"name": "web"},
      "node_modules/express": {"version": "4.17.1"},
      "node_modules/jest": {"version": "29.7.0", "dev": true}}})");
    // What npm installed from that lock file, and a lock file of an installed package.
    Write(root_ / "web/node_modules/express/package.json",
          R"({"name": "express", "version": "4.17.1"})");
    Write(root_ / "web/node_modules/qs/package-lock.json",
          R"({"lockfileVersion": 3, "packages": {"node_modules/tape": {"version": "5.0.0"}}})");
    Write(root_ / ".git/modules/x/requirements.txt", "django==1.0\n");
    Write(root_ / "api/requirements.txt", "-r requirements-base.txt\nflask==2.0.1\n");
    Write(root_ / "api/requirements-base.txt", "six==1.16.0\n");
    Write(root_ / "api/venv/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
          "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n");
  }
  void TearDown() override { fs::remove_all(root_); }

  std::set<std::string> Scan(const AnalyzerRegistry& analyzers, bool prune) {
    ScanOptions options;
    if (prune) {
      options.skip_dir = [](std::string_view dir) {
        return dir.ends_with(".git") || dir.ends_with("node_modules");
      };
    }
    auto inventory = ScanRootfs(root_.string(), analyzers, options);
    EXPECT_TRUE(inventory.ok()) << inventory.error().message;
    std::set<std::string> out;
    if (!inventory.ok()) return out;
    EXPECT_TRUE(inventory->assessment_gaps.empty());
    for (const Package& p : inventory->packages) {
      out.insert(p.name + "@" + p.version + " " + p.file_path + (p.dev ? " dev" : ""));
    }
    return out;
  }

  fs::path root_;
};

TEST_F(SourceTreeTest, LockFilesNotInstalledCopies) {
  AnalyzerRegistry source_tree;
  RegisterSourceTreeAnalyzers(source_tree);
  EXPECT_EQ(Scan(source_tree, true),
            (std::set<std::string>{
                "express@4.17.1 /web/package-lock.json", "jest@29.7.0 /web/package-lock.json dev",
                "flask@2.0.1 /api/requirements.txt", "six@1.16.0 /api/requirements-base.txt"}));
  // Without pruning, a lock file inside node_modules is still not wanted, and .git is walked.
  std::set<std::string> unpruned = Scan(source_tree, false);
  EXPECT_EQ(unpruned.count("django@1.0 /.git/modules/x/requirements.txt"), 1u);
  EXPECT_EQ(unpruned.count("tape@5.0.0 /web/node_modules/qs/package-lock.json"), 0u);
}

TEST_F(SourceTreeTest, ImageAnalyzersReadInstalledPackagesOnly) {
  AnalyzerRegistry image;
  RegisterBuiltinAnalyzers(image);
  EXPECT_EQ(
      Scan(image, false),
      (std::set<std::string>{
          "express@4.17.1 /web/node_modules/express/package.json",
          "six@1.16.0 /api/venv/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA"}));
}

}  // namespace
}  // namespace moat
