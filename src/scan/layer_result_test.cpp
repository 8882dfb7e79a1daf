#include "scan/layer_result.h"

#include <gtest/gtest.h>

namespace moat {
namespace {

Package Deb(const std::string& name, const std::string& version) {
  Package p;
  p.type = PackageType::kDeb;
  p.name = name;
  p.version = version;
  p.arch = "amd64";
  p.file_path = "/var/lib/dpkg/status";
  return p;
}

AnalyzedFile Status(std::vector<Package> packages) {
  AnalyzedFile file;
  file.path = "var/lib/dpkg/status";
  file.analyzer = "dpkg";
  file.result.packages = std::move(packages);
  return file;
}

LayerResult Layer(const std::string& id) {
  LayerResult layer;
  layer.diff_id = "sha256:" + std::string(64, id[0]);
  return layer;
}

TEST(SquashTest, AttributesEachPackageToTheLayerThatIntroducedIt) {
  LayerResult base = Layer("a"), install = Layer("b"), upgrade = Layer("c");
  base.files.push_back(Status({Deb("libc6", "2.36-9"), Deb("bash", "5.2-1")}));
  install.files.push_back(
      Status({Deb("libc6", "2.36-9"), Deb("bash", "5.2-1"), Deb("jq", "1.6-2")}));
  upgrade.files.push_back(
      Status({Deb("libc6", "2.36-10"), Deb("bash", "5.2-1"), Deb("jq", "1.6-2")}));
  SquashedView view =
      Squash({&base, &install, &upgrade}, {"ADD rootfs", "RUN install", "RUN upgrade"});
  ASSERT_EQ(view.packages.size(), 3u);
  for (const auto& p : view.packages) {
    if (p.name == "bash") {
      EXPECT_EQ(p.layer_created_by, "ADD rootfs");
    }
    if (p.name == "jq") {
      EXPECT_EQ(p.layer_created_by, "RUN install");
    }
    if (p.name == "libc6") {
      EXPECT_EQ(p.version, "2.36-10");
      EXPECT_EQ(p.layer_diff_id, upgrade.diff_id);
    }
  }
}

TEST(SquashTest, WhiteoutRemovesFileAndEverythingBelowIt) {
  LayerResult base = Layer("a"), removal = Layer("b");
  AnalyzedFile app;
  app.path = "app/node_modules/left-pad/package.json";
  app.analyzer = "npm";
  Package pad;
  pad.type = PackageType::kNpm;
  pad.name = "left-pad";
  pad.version = "1.3.0";
  app.result.packages.push_back(pad);
  base.files.push_back(app);
  base.files.push_back(Status({Deb("jq", "1.6-2")}));
  removal.whiteouts.push_back("app/node_modules");
  SquashedView view = Squash({&base, &removal}, {});
  ASSERT_EQ(view.packages.size(), 1u);
  EXPECT_EQ(view.packages[0].name, "jq");
}

TEST(SquashTest, OpaqueDirectoryHidesLowerLayersButNotItsOwnLayer) {
  LayerResult base = Layer("a"), rewrite = Layer("b");
  base.files.push_back(Status({Deb("old", "1")}));
  rewrite.opaque_dirs.push_back("var/lib/dpkg");
  AnalyzedFile other = Status({Deb("new", "2")});
  other.path = "var/lib/dpkg/status";
  rewrite.files.push_back(other);
  SquashedView view = Squash({&base, &rewrite}, {});
  ASSERT_EQ(view.packages.size(), 1u);
  EXPECT_EQ(view.packages[0].name, "new");
  EXPECT_EQ(view.packages[0].layer_diff_id, rewrite.diff_id);
}

TEST(SquashTest, DeletedThenRecreatedFileRestartsAttribution) {
  LayerResult a = Layer("a"), b = Layer("b"), c = Layer("c");
  a.files.push_back(Status({Deb("jq", "1.6-2")}));
  b.whiteouts.push_back("var/lib/dpkg/status");
  c.files.push_back(Status({Deb("jq", "1.6-2")}));
  SquashedView view = Squash({&a, &b, &c}, {});
  ASSERT_EQ(view.packages.size(), 1u);
  EXPECT_EQ(view.packages[0].layer_diff_id, c.diff_id);
}

TEST(SquashTest, OsReleaseOutranksFallbackFilesAndLowerOnesFillGaps) {
  LayerResult layer = Layer("a");
  AnalyzedFile os_release;
  os_release.path = "etc/os-release";
  os_release.analyzer = "os-release";
  os_release.result.os = {"debian", "Debian GNU/Linux trixie/sid", "", "trixie"};
  os_release.result.os_priority = 100;
  AnalyzedFile debian_version;
  debian_version.path = "etc/debian_version";
  debian_version.analyzer = "os-release";
  debian_version.result.os = {"debian", "", "trixie/sid", ""};
  debian_version.result.os_priority = 10;
  layer.files = {debian_version, os_release};
  SquashedView view = Squash({&layer}, {});
  EXPECT_EQ(view.os.family, "debian");
  EXPECT_EQ(view.os.name, "Debian GNU/Linux trixie/sid");
  EXPECT_EQ(view.os.version, "trixie/sid");
}

TEST(LayerResultTest, SerializationRoundTrips) {
  LayerResult layer = Layer("d");
  layer.size = 1234;
  layer.files.push_back(Status({Deb("jq", "1.6-2")}));
  layer.whiteouts = {"etc/x"};
  layer.opaque_dirs = {"opt"};
  auto parsed = ParseLayerResult(SerializeLayerResult(layer), "test");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->diff_id, layer.diff_id);
  EXPECT_EQ(parsed->size, 1234u);
  ASSERT_EQ(parsed->files.size(), 1u);
  EXPECT_EQ(parsed->files[0].result.packages[0].name, "jq");
  EXPECT_EQ(parsed->whiteouts, layer.whiteouts);
  EXPECT_EQ(parsed->opaque_dirs, layer.opaque_dirs);
}

TEST(LayerResultTest, GarbageIsAnErrorNamingTheInput) {
  for (std::string text : {"", "{", "[]", "{\"schema\":1}", "{\"schema\":1,\"diff_id\":3}"}) {
    auto parsed = ParseLayerResult(text, "cache/x.json");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find("cache/x.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace moat
