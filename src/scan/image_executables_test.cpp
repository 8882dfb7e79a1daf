#include "scan/image_executables.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "scan/layer_cache.h"
#include "scan/layer_result.h"
#include "scan/scanner.h"

namespace moat {
namespace {

std::string DiffId(char digit) { return "sha256:" + std::string(64, digit); }

LayerResult LayerWith(char digit, std::vector<std::string> executables) {
  LayerResult layer;
  layer.diff_id = DiffId(digit);
  layer.executables = std::move(executables);
  return layer;
}

class ImageExecutablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::path(::testing::TempDir()) / "moat-image-executables").string();
    std::filesystem::remove_all(dir_);
    // Written as moat image writes them: the built-in analyzers' key.
    LayerCache cache(dir_, BuiltinAnalyzers().VersionKey());
    cache.PutLayer(LayerWith('1', {"bin/true", "usr/bin/dash", "usr/sbin/nologin"}));
    cache.PutLayer(LayerWith('2', {"usr/local/bin/app"}));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

// Known: the union of the layers, compared in /usr-merged form in both directions.
TEST_F(ImageExecutablesTest, UnionOfTheLayersInUsrMergedForm) {
  auto executables = ReadImageExecutables(dir_, {DiffId('1'), DiffId('2')});
  ASSERT_TRUE(executables.ok()) << executables.error().message;
  const ImageExecutables& image = **executables;
  EXPECT_EQ(image.size(), 4u);
  EXPECT_TRUE(image.Contains("/usr/local/bin/app"));
  EXPECT_TRUE(image.Contains("/usr/bin/true"));  // the image's bin/true as the kernel says it
  EXPECT_TRUE(image.Contains("/bin/true"));
  EXPECT_TRUE(image.Contains("/bin/dash"));  // the image's usr/bin/dash by its old name
  EXPECT_TRUE(image.Contains("/usr/sbin/nologin"));
  EXPECT_FALSE(image.Contains("/data/tool"));
  EXPECT_FALSE(image.Contains("/usr/local/bin"));
  EXPECT_FALSE(image.Contains("usr/local/bin/app"));  // not a path as a process sees it
}

// Unknown: a layer the cache lacks (the image was never scanned, or scanned with other
// analyzers), no cache, or no layers; the message names the layer and the cache.
TEST_F(ImageExecutablesTest, UnknownWhenALayerIsMissing) {
  auto missing = ReadImageExecutables(dir_, {DiffId('1'), DiffId('3'), DiffId('2')});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "layer " + DiffId('3') +
                                         " (2 of 3) is not in the layer cache " + dir_ +
                                         " (scan the image with moat image)");
  auto other_key = ReadImageExecutables(dir_, "other-analyzers", {DiffId('1')});
  EXPECT_FALSE(other_key.ok());
  EXPECT_FALSE(ReadImageExecutables("", {DiffId('1')}).ok());
  EXPECT_FALSE(ReadImageExecutables(dir_, {}).ok());
}

// An entry from before executables were recorded is never read as "no executables" (every exec
// would be drift): format 1 entries sit under other keys, and an entry of the previous schema
// even at the new key's place is refused, so the image is unknown.
TEST_F(ImageExecutablesTest, EntriesOfTheOldFormatAreNotRead) {
  const std::string old_dir = dir_ + "-old";
  std::filesystem::remove_all(old_dir);
  LayerCache cache(old_dir, BuiltinAnalyzers().VersionKey());
  cache.PutLayer(LayerWith('4', {"usr/bin/true"}));
  // Rewrite the entry as the previous schema wrote it, at the same place.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(old_dir)) {
    if (!entry.is_regular_file()) continue;
    ASSERT_TRUE(
        WriteOutput(entry.path().string(),
                    R"({"schema":2,"diff_id":")" + DiffId('4') +
                        R"(","size":0,"files":[],"whiteouts":[],"opaque_dirs":[],"errors":[]})")
            .ok());
  }
  EXPECT_FALSE(ReadImageExecutables(old_dir, {DiffId('4')}).ok());
  std::filesystem::remove_all(old_dir);
}

}  // namespace
}  // namespace moat
