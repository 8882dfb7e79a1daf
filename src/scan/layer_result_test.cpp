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

// The executable list is stored front-coded; every path comes back, in order, including ones
// that share nothing, all, or part of a multi-byte name with the previous path.
TEST(LayerResultTest, ExecutablesRoundTripFrontCoded) {
  LayerResult layer = Layer("e");
  layer.executables = {"bin/ls",
                       "opt/app/bin/run",
                       "opt/app/bin/run-worker",
                       "opt/app/bin/r\xc3\xa9sum\xc3\xa9",
                       "usr/bin/a:b",
                       "usr/bin/python3",
                       "usr/bin/python3.11",
                       "usr/bin/\xc3\xa8",
                       "usr/bin/\xc3\xa9",
                       "usr/lib/gcc/x86_64-linux-gnu/12/cc1"};
  const std::string text = SerializeLayerResult(layer);
  EXPECT_NE(text.find("\"15:-worker\""), std::string::npos) << text;
  auto parsed = ParseLayerResult(text, "test");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->executables, layer.executables);
  layer.executables.clear();
  parsed = ParseLayerResult(SerializeLayerResult(layer), "test");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(parsed->executables.empty());
}

// A damaged list is refused with the entry named, never read as some other path.
TEST(LayerResultTest, DamagedExecutableListIsAnErrorNamingTheEntry) {
  const std::string head =
      R"({"schema":3,"diff_id":"sha256:x","files":[],"whiteouts":[],"opaque_dirs":[],)"
      R"("errors":[],"executables":)";
  const std::pair<std::string, std::string> cases[] = {
      {R"(["0:usr/bin/a","10:b"])", "executables[1]: shares 10 bytes with a previous path of 9"},
      {R"(["0:usr/bin/b","8:a"])", "executables[1]: paths must be non-empty, sorted and unique"},
      {R"(["0:usr/bin/a","9:"])", "executables[1]: paths must be non-empty, sorted and unique"},
      {R"(["usr/bin/a"])", "executables[0]: not \"N:SUFFIX\""},
      {R"([":usr/bin/a"])", "executables[0]: not \"N:SUFFIX\""},
      {R"(["x1:usr"])", "executables[0]: not \"N:SUFFIX\""},
      {R"([7])", "executables[0]: not a string"},
      {R"("usr/bin/a")", "executables: not an array"},
  };
  for (const auto& [list, message] : cases) {
    auto parsed = ParseLayerResult(head + list + "}", "cache/y.json");
    ASSERT_FALSE(parsed.ok()) << list;
    EXPECT_EQ(parsed.error().message, "cache/y.json: " + message) << list;
  }
  // An entry of the previous schema (no list) is not read as "no executables".
  auto old = ParseLayerResult(
      R"({"schema":2,"diff_id":"sha256:x","files":[],"whiteouts":[],"opaque_dirs":[],"errors":[]})",
      "cache/z.json");
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().message, "cache/z.json: unsupported layer result schema");
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

namespace moat {
namespace {

Package Pypi(const std::string& name, const std::string& version, const std::string& path) {
  Package p;
  p.type = PackageType::kPypi;
  p.name = name;
  p.version = version;
  p.file_path = path;
  return p;
}

AnalyzedFile InfoList(const std::string& package, std::vector<std::string> paths) {
  AnalyzedFile file;
  file.path = "var/lib/dpkg/info/" + package + ".list";
  file.analyzer = "dpkg";
  file.result.owned_files.push_back({package, std::move(paths)});
  return file;
}

AnalyzedFile Metadata(const Package& package) {
  AnalyzedFile file;
  file.path = package.file_path.substr(1);
  file.analyzer = "python";
  file.result.packages.push_back(package);
  return file;
}

TEST(SquashTest, GapsAreThoseOfTheFilesTheImageEndsWith) {
  LayerResult base = Layer("a"), repair = Layer("b");
  AnalyzedFile damaged = Status({Deb("bash", "5.2-1")});
  damaged.result.package_database = true;
  damaged.result.problems = {"line 7: expected \"Field: value\"; stanza at lines 5-9 skipped"};
  AnalyzedFile broken_metadata;
  broken_metadata.path = "usr/lib/python3/dist-packages/x-1.dist-info/METADATA";
  broken_metadata.analyzer = "python";
  broken_metadata.error = "line 1: no Name";
  base.files = {damaged, broken_metadata};

  SquashedView view = Squash({&base}, {});
  ASSERT_EQ(view.gaps.size(), 2u);
  EXPECT_EQ(view.gaps[0].kind, AssessmentGap::Kind::kUnreadable);
  EXPECT_EQ(view.gaps[0].subject, "/usr/lib/python3/dist-packages/x-1.dist-info/METADATA");
  EXPECT_EQ(view.gaps[0].source, "python");
  EXPECT_EQ(view.gaps[1].kind, AssessmentGap::Kind::kPartial);
  EXPECT_EQ(view.gaps[1].subject, "/var/lib/dpkg/status");
  EXPECT_EQ(view.gaps[1].packages, 1u);
  EXPECT_EQ(view.gaps[1].details, damaged.result.problems);

  // A later layer rewrites the status file intact and deletes the broken metadata.
  AnalyzedFile fixed = Status({Deb("bash", "5.2-1")});
  fixed.result.package_database = true;
  repair.files = {fixed};
  repair.whiteouts = {"usr/lib/python3/dist-packages/x-1.dist-info"};
  EXPECT_TRUE(Squash({&base, &repair}, {}).gaps.empty());
}

TEST(SquashTest, EmptyDatabaseIsAGapUnlessAnotherOfItsKindHasPackages) {
  LayerResult layer = Layer("a");
  AnalyzedFile empty_status = Status({});
  empty_status.result.package_database = true;
  layer.files = {empty_status};
  SquashedView view = Squash({&layer}, {});
  ASSERT_EQ(view.gaps.size(), 1u);
  EXPECT_EQ(view.gaps[0].kind, AssessmentGap::Kind::kEmpty);
  EXPECT_EQ(view.gaps[0].subject, "/var/lib/dpkg/status");

  // rpm: an empty Packages placeholder beside the SQLite database that has the packages.
  AnalyzedFile placeholder, sqlite;
  placeholder.path = "var/lib/rpm/Packages";
  sqlite.path = "var/lib/rpm/rpmdb.sqlite";
  placeholder.analyzer = sqlite.analyzer = "rpm";
  placeholder.result.package_database = sqlite.result.package_database = true;
  Package bash = Deb("bash", "5.1.8-6.el9");
  bash.type = PackageType::kRpm;
  sqlite.result.packages = {bash};
  layer.files = {placeholder, sqlite};
  EXPECT_TRUE(Squash({&layer}, {}).gaps.empty());
}

TEST(SquashTest, LanguagePackagesInstalledByAnOsPackageAreMarked) {
  const Package debian_crypto =
      Pypi("cryptography", "38.0.4",
           "/usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info/METADATA");
  const Package pip_requests =
      Pypi("requests", "2.31.0",
           "/usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA");
  Package go_tool;
  go_tool.type = PackageType::kGolang;
  go_tool.name = "stdlib";
  go_tool.version = "v1.19.8";
  go_tool.file_path = "/usr/bin/tool";  // listed by dpkg as /bin/tool (usr-merged)
  LayerResult base = Layer("a");
  base.files = {Status({Deb("python3-cryptography", "38.0.4-3+deb12u1"), Deb("tool", "1")}),
                InfoList("python3-cryptography",
                         {"/usr/lib/python3/dist-packages",
                          "/usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info/METADATA"}),
                InfoList("tool", {"/bin/tool"}), Metadata(debian_crypto), Metadata(pip_requests)};
  AnalyzedFile binary;
  binary.path = "usr/bin/tool";
  binary.analyzer = "gobinary";
  binary.result.packages = {go_tool};
  base.files.push_back(binary);

  auto owner_of = [](const SquashedView& view, const std::string& name) {
    for (const Package& p : view.packages) {
      if (p.name == name) return p.owned_by;
    }
    return std::string("(missing)");
  };
  SquashedView view = Squash({&base}, {});
  EXPECT_EQ(owner_of(view, "cryptography"), "python3-cryptography");
  EXPECT_EQ(owner_of(view, "stdlib"), "tool");
  EXPECT_EQ(owner_of(view, "requests"), "");
  EXPECT_EQ(owner_of(view, "python3-cryptography"), "");

  // The OS package is removed in a later layer (status rewritten without it; its list is left
  // behind, as a damaged or hand-edited image may have): it owns nothing any more.
  LayerResult removal = Layer("b");
  removal.files = {Status({Deb("tool", "1")})};
  view = Squash({&base, &removal}, {});
  EXPECT_EQ(owner_of(view, "cryptography"), "");
  EXPECT_EQ(owner_of(view, "stdlib"), "tool");
}

TEST(LayerResultTest, GapsOwnershipAndErrorsSurviveTheCache) {
  LayerResult layer = Layer("a");
  AnalyzedFile status = Status({Deb("bash", "5.2-1")});
  status.result.package_database = true;
  status.result.problems = {"line 3: bad"};
  AnalyzedFile broken;
  broken.path = "app/package.json";
  broken.analyzer = "npm";
  broken.error = "invalid JSON at byte 3";
  layer.files = {status, InfoList("bash", {"/usr/bin/bash"}), broken};
  Result<LayerResult> parsed = ParseLayerResult(SerializeLayerResult(layer), "cache entry");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->files.size(), 3u);
  EXPECT_EQ(parsed->files[0].result.problems, status.result.problems);
  EXPECT_TRUE(parsed->files[0].result.package_database);
  ASSERT_EQ(parsed->files[1].result.owned_files.size(), 1u);
  EXPECT_EQ(parsed->files[1].result.owned_files[0].paths,
            std::vector<std::string>{"/usr/bin/bash"});
  EXPECT_EQ(parsed->files[2].error, broken.error);
  EXPECT_EQ(Squash({&*parsed}, {}).gaps.size(), Squash({&layer}, {}).gaps.size());
}

}  // namespace
}  // namespace moat
