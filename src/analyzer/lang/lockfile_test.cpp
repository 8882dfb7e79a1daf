// Lock-file analyzers against real lock files: npm's own lock files (the dashboard's and the CEL
// oracle's, rewritten by npm itself as lockfileVersion 1, 2 and 3) with `npm ls` as the oracle,
// `go mod edit -json` as the go.mod oracle, Trivy's test lock files (tests/data/lockfiles,
// SOURCES.md) and small files written in each format's documented shape.

#include "analyzer/lang/lockfile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "analyzer/lang/lang_test_util.h"

namespace moat {
namespace {

using lang::testing::AnalyzeAs;
using lang::testing::ReadFile;
using lang::testing::RunCommand;
using lang::testing::TempDir;
using lang::testing::Wants;
using lang::testing::WriteFile;

const std::string kData = std::string(MOAT_SOURCE_DIR) + "/tests/data/lockfiles/";

// "name@version" of each package, with " (dev)" for development ones.
std::set<std::string> Listed(const AnalysisResult& result) {
  std::set<std::string> out;
  for (const Package& p : result.packages) {
    out.insert(p.name + "@" + p.version + (p.dev ? " (dev)" : ""));
  }
  return out;
}

std::set<std::string> Production(const AnalysisResult& result) {
  std::set<std::string> out;
  for (const Package& p : result.packages) {
    if (!p.dev) out.insert(p.name + "@" + p.version);
  }
  return out;
}

std::set<std::string> All(const AnalysisResult& result) {
  std::set<std::string> out;
  for (const Package& p : result.packages) out.insert(p.name + "@" + p.version);
  return out;
}

// A reader over a map of files, as ScanRootfs gives analyzers.
TreeFileReader MapReader(const std::map<std::string, std::string>& files) {
  return [files](std::string_view path) -> Result<std::string> {
    auto it = files.find(std::string(path));
    if (it == files.end()) return Fail("/", path, ": not a regular file in the scanned tree");
    return it->second;
  };
}

Result<AnalysisResult> AnalyzeInTree(const Analyzer& analyzer, const std::string& path,
                                     const std::map<std::string, std::string>& files) {
  TreeFileReader reader = MapReader(files);
  const std::string& content = files.at(path);
  FileMeta meta{path, 0644, content.size(), &reader};
  return analyzer.Analyze(meta, AsBytes(content));
}

// ---- npm ----

void CollectNpmLs(const nlohmann::json& node, std::set<std::string>& out) {
  auto deps = node.find("dependencies");
  if (deps == node.end()) return;
  for (const auto& [name, dep] : deps->items()) {
    if (dep.contains("version")) out.insert(name + "@" + dep["version"].get<std::string>());
    CollectNpmLs(dep, out);
  }
}

// `npm ls --all --package-lock-only` (reads only the lock file): every package, or with
// --omit=dev the production ones.
std::set<std::string> NpmLs(const std::filesystem::path& dir, bool omit_dev) {
  int code = 0;
  std::string out =
      RunCommand("cd '" + dir.string() + "' && npm ls --all --package-lock-only --json --offline" +
                     (omit_dev ? " --omit=dev" : "") + " 2>/dev/null",
                 &code);
  std::set<std::string> listed;
  CollectNpmLs(nlohmann::json::parse(out), listed);
  return listed;
}

TEST(NpmLock, EveryLockfileVersionAgainstNpmLs) {
  ASSERT_TRUE(lang::testing::HaveTool("npm")) << "npm missing (scripts/install-deps.sh)";
  auto analyzer = MakeNpmLockAnalyzer();
  for (const char* project : {"web", "tests/cel"}) {
    const std::string source = std::string(MOAT_SOURCE_DIR) + "/" + project;
    // npm's reading of the checked-in (v3) lock file; v1 cannot say which packages are peers
    // npm installed (`npm ls` leaves them out there), so each version is held to this one.
    TempDir original;
    std::filesystem::copy_file(source + "/package.json", original.path() / "package.json");
    std::filesystem::copy_file(source + "/package-lock.json",
                               original.path() / "package-lock.json");
    const std::set<std::string> all = NpmLs(original.path(), false);
    const std::set<std::string> production = NpmLs(original.path(), true);
    ASSERT_FALSE(all.empty());
    for (int version : {1, 2, 3}) {
      SCOPED_TRACE(std::string(project) + " lockfileVersion " + std::to_string(version));
      TempDir dir;
      std::filesystem::copy_file(source + "/package.json", dir.path() / "package.json");
      std::filesystem::copy_file(source + "/package-lock.json", dir.path() / "package-lock.json");
      int code = 0;
      // npm rewrites its own lock file in the asked version from what it holds (no network).
      RunCommand("cd '" + dir.path().string() +
                     "' && npm install --package-lock-only --ignore-scripts --offline "
                     "--no-audit --no-fund --lockfile-version " +
                     std::to_string(version) + " >/dev/null 2>&1",
                 &code);
      ASSERT_EQ(code, 0) << "npm could not rewrite the lock file offline";
      const std::string lock = ReadFile(dir.path() / "package-lock.json");
      ASSERT_NE(lock.find("\"lockfileVersion\": " + std::to_string(version)), std::string::npos);
      auto result = AnalyzeAs(*analyzer, "app/package-lock.json", lock);
      ASSERT_TRUE(result.ok()) << result.error().message;
      EXPECT_TRUE(result->problems.empty()) << result->problems.front();
      EXPECT_EQ(All(*result), all);
      EXPECT_EQ(Production(*result), production);
      for (const Package& p : result->packages) {
        EXPECT_EQ(p.type, PackageType::kNpm);
        EXPECT_EQ(p.file_path, "/app/package-lock.json");
      }
    }
  }
}

TEST(NpmLock, WantsAndErrors) {
  auto analyzer = MakeNpmLockAnalyzer();
  EXPECT_TRUE(Wants(*analyzer, "package-lock.json"));
  EXPECT_TRUE(Wants(*analyzer, "src/app/npm-shrinkwrap.json"));
  EXPECT_FALSE(Wants(*analyzer, "node_modules/x/package-lock.json"));
  EXPECT_FALSE(Wants(*analyzer, "app/node_modules/.package-lock.json"));
  auto bad = AnalyzeAs(*analyzer, "a/package-lock.json", "{\n  \"lockfileVersion\": 3,\n  x\n}");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message,
              ::testing::HasSubstr("/a/package-lock.json: invalid JSON at line 3"));
  auto unknown = AnalyzeAs(*analyzer, "package-lock.json", R"({"lockfileVersion": 7})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, ::testing::HasSubstr("/lockfileVersion 7"));
  // Aliases name the real package; links, local directories and git dependencies no version.
  auto v3 = AnalyzeAs(*analyzer, "package-lock.json", R"({"lockfileVersion": 3, "packages": {
      "": {"name": "app"},
      "node_modules/lodash": {"name": "lodash-es", "version": "4.17.21"},
      "node_modules/ws": {"version": "8.17.0", "dev": true},
      "node_modules/a/node_modules/@s/b": {"version": "1.0.0", "devOptional": true},
      "node_modules/local": {"resolved": "packages/local", "link": true},
      "packages/local": {"version": "0.1.0"},
      "node_modules/g": {"version": "git+ssh://git@github.com/x/g.git#abc"}}})");
  ASSERT_TRUE(v3.ok()) << v3.error().message;
  EXPECT_EQ(Listed(*v3),
            (std::set<std::string>{"lodash-es@4.17.21", "ws@8.17.0 (dev)", "@s/b@1.0.0"}));
}

// ---- yarn ----

TEST(YarnLock, V1AndBerry) {
  auto analyzer = MakeYarnLockAnalyzer();
  EXPECT_TRUE(Wants(*analyzer, "yarn.lock"));
  EXPECT_FALSE(Wants(*analyzer, "node_modules/x/yarn.lock"));
  auto v1 = AnalyzeAs(*analyzer, "yarn.lock", ReadFile(kData + "yarn/yarn_with_aliases.lock"));
  ASSERT_TRUE(v1.ok()) << v1.error().message;
  EXPECT_EQ(Listed(*v1), (std::set<std::string>{"braces@3.0.2-root.io.1", "fill-range@7.0.1",
                                                "ip@2.0.0-root.io.1", "lodash-es@4.17.21"}));
  auto berry =
      AnalyzeAs(*analyzer, "yarn.lock", ReadFile(kData + "yarn/yarn_v2_deps_with_protocol.lock"));
  ASSERT_TRUE(berry.ok()) << berry.error().message;
  // The workspace itself ("app@workspace:.") is no registry package.
  EXPECT_EQ(Listed(*berry), (std::set<std::string>{"debug@4.3.4", "ms@2.1.2"}));
  // A damaged v1 entry is named by line and the rest read.
  auto damaged = AnalyzeAs(*analyzer, "yarn.lock",
                           "# yarn lockfile v1\n\nbroken line\n\"ms@^2\":\n  version \"2.1.3\"\n");
  ASSERT_TRUE(damaged.ok());
  EXPECT_EQ(Listed(*damaged), std::set<std::string>{"ms@2.1.3"});
  ASSERT_EQ(damaged->problems.size(), 1u);
  EXPECT_THAT(damaged->problems[0], ::testing::StartsWith("line 3:"));
}

// yarn.lock has no dev flag: the package.json beside it tells, through the lock file's
// dependency lists (as Trivy marks them). Lock files yarn 1 and yarn 4 wrote for the same
// project: debug (production) -> ms, is-number (optional), chalk (development) -> ansi-styles ->
// color-convert -> color-name and supports-color -> has-flag, and ms also a development
// dependency (production wins).
TEST(YarnLock, DevDependenciesFromPackageJson) {
  const std::set<std::string> expected{"debug@4.3.4",
                                       "ms@2.1.2",
                                       "is-number@7.0.0",
                                       "chalk@4.1.2 (dev)",
                                       "ansi-styles@4.3.0 (dev)",
                                       "color-convert@2.0.1 (dev)",
                                       "color-name@1.1.4 (dev)",
                                       "supports-color@7.2.0 (dev)",
                                       "has-flag@4.0.0 (dev)"};
  auto analyzer = MakeYarnLockAnalyzer();
  for (const char* dir : {"yarn/dev-v1/", "yarn/dev-berry/"}) {
    SCOPED_TRACE(dir);
    const std::string lock = ReadFile(kData + dir + "yarn.lock");
    const std::string manifest = ReadFile(kData + dir + "package.json");
    TreeFileReader tree = MapReader({{"app/package.json", manifest}, {"app/yarn.lock", lock}});
    FileMeta meta;
    meta.path = "app/yarn.lock";
    meta.size = lock.size();
    meta.read_tree = &tree;
    auto marked = analyzer->Analyze(meta, AsBytes(lock));
    ASSERT_TRUE(marked.ok()) << marked.error().message;
    EXPECT_EQ(Listed(*marked), expected);
    EXPECT_TRUE(marked->problems.empty());
    // Without the package.json (a layer streaming by): everything is production.
    auto alone = AnalyzeAs(*analyzer, "app/yarn.lock", lock);
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ(Production(*alone), All(*marked));
    // A broken package.json is named, and nothing is marked.
    TreeFileReader broken = MapReader({{"app/package.json", "{\"devDependencies\": "}});
    meta.read_tree = &broken;
    auto unmarked = analyzer->Analyze(meta, AsBytes(lock));
    ASSERT_TRUE(unmarked.ok());
    EXPECT_EQ(Production(*unmarked), All(*marked));
    ASSERT_EQ(unmarked->problems.size(), 1u);
    EXPECT_THAT(unmarked->problems[0], ::testing::StartsWith("/app/package.json: "));
  }
}

// ---- pnpm ----

TEST(PnpmLock, Versions5And6And9) {
  auto analyzer = MakePnpmLockAnalyzer();
  const std::set<std::string> three{"asap@2.0.6", "jquery@3.6.0", "promise@8.1.0"};
  for (const char* file : {"pnpm/pnpm-lock_v5.yaml", "pnpm/pnpm-lock_v6.yaml"}) {
    auto result = AnalyzeAs(*analyzer, "pnpm-lock.yaml", ReadFile(kData + file));
    ASSERT_TRUE(result.ok()) << file << ": " << result.error().message;
    EXPECT_EQ(Listed(*result), three) << file;
  }
  // v9: dev packages are those only the importers' devDependencies reach through the
  // snapshots; tarball dependencies carry their version apart; a local directory has none.
  auto v9 = AnalyzeAs(*analyzer, "pnpm-lock.yaml", ReadFile(kData + "pnpm/pnpm-lock_v9.yaml"));
  ASSERT_TRUE(v9.ok()) << v9.error().message;
  EXPECT_TRUE(v9->problems.empty()) << v9->problems.front();
  EXPECT_EQ(Listed(*v9), (std::set<std::string>{"@babel/helper-string-parser@7.24.1",
                                                "asap@2.0.6",
                                                "asynckit@0.4.0",
                                                "await-sleep@0.0.1 (dev)",
                                                "debug@4.3.4",
                                                "debug@4.3.5",
                                                "ee-first@1.1.1",
                                                "encodeurl@1.0.2",
                                                "escape-html@1.0.3",
                                                "finalhandler@1.1.1",
                                                "is-negative@2.0.1",
                                                "jquery@3.6.0 (dev)",
                                                "lodash@4.17.21 (dev)",
                                                "ms@2.0.0",
                                                "ms@2.1.2",
                                                "on-finished@2.3.0",
                                                "parseurl@1.3.3",
                                                "promise@8.1.0",
                                                "sleep-utils@1.0.3",
                                                "statuses@1.4.0",
                                                "unpipe@1.0.0"}));
  // v5/v6 mark dev packages themselves; peer suffixes are not part of the version.
  auto v6 = AnalyzeAs(*analyzer, "pnpm-lock.yaml", R"(lockfileVersion: '6.0'
packages:
  /debug@4.3.4(supports-color@8.1.1):
    dev: true
  /@babel/runtime@7.22.3:
    dev: false
)");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(Listed(*v6), (std::set<std::string>{"debug@4.3.4 (dev)", "@babel/runtime@7.22.3"}));
  auto v5 = AnalyzeAs(*analyzer, "pnpm-lock.yaml", R"(lockfileVersion: 5.4
packages:
  /@types/react-dom/18.0.6_react@18.2.0:
    dev: true
)");
  ASSERT_TRUE(v5.ok()) << v5.error().message;
  EXPECT_EQ(Listed(*v5), std::set<std::string>{"@types/react-dom@18.0.6 (dev)"});
  auto bad = AnalyzeAs(*analyzer, "pnpm-lock.yaml", "lockfileVersion: '6.0'\npackages: [\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, ::testing::HasSubstr("pnpm-lock.yaml:"));
  auto old = AnalyzeAs(*analyzer, "pnpm-lock.yaml", "lockfileVersion: 3\n");
  ASSERT_FALSE(old.ok());
  EXPECT_THAT(old.error().message, ::testing::HasSubstr("line 1: lockfileVersion 3"));
}

// ---- Python ----

// pip's own requirement grammar (python3-packaging, what pip vendors) is the oracle for which
// lines pin a version with ==.
TEST(PipRequirements, PinnedLinesIncludesExtrasMarkersHashes) {
  auto analyzer = MakePipRequirementsAnalyzer();
  EXPECT_TRUE(Wants(*analyzer, "requirements.txt"));
  EXPECT_TRUE(Wants(*analyzer, "app/requirements-dev.txt"));
  EXPECT_FALSE(Wants(*analyzer, "app/constraints.txt"));
  const std::string main = R"(# the application
-r requirements/base.txt
--requirement=requirements/web.txt
Django==4.2.1 ; python_version >= "3.8"
requests[security,socks]==2.31.0 \
    --hash=sha256:942c5a758f98d790eaed1a29cb6eefc7ffb0d1cf7af05c3d2791656dbd6ad1e1
flask>=2.0
numpy==1.*
-e ./local-package
https://example.com/pkg-1.0.tar.gz
urllib3 == 1.26.5  # pinned for botocore
)";
  std::map<std::string, std::string> files{
      {"app/requirements.txt", main},
      {"app/requirements/base.txt", "-r ../requirements.txt\nsix==1.16.0\n"},
      {"app/requirements/web.txt", "gunicorn==21.2.0\n-r missing.txt\n"}};
  auto result = AnalyzeInTree(*analyzer, "app/requirements.txt", files);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Listed(*result),
            (std::set<std::string>{"Django@4.2.1", "requests@2.31.0", "urllib3@1.26.5",
                                   "six@1.16.0", "gunicorn@21.2.0"}));
  std::map<std::string, std::string> where;
  for (const Package& p : result->packages) where[p.name] = p.file_path;
  EXPECT_EQ(where["six"], "/app/requirements/base.txt");
  EXPECT_EQ(where["Django"], "/app/requirements.txt");
  ASSERT_EQ(result->problems.size(), 1u);
  EXPECT_THAT(result->problems[0],
              ::testing::StartsWith("/app/requirements/web.txt:2: -r missing.txt: "));

  // The oracle: every line python3-packaging parses as a requirement pinned with == (and no
  // other specifier) is read, with the name and version packaging sees.
  int code = 0;
  TempDir dir;
  WriteFile(dir.path() / "requirements.txt", main);
  WriteFile(dir.path() / "oracle.py", R"(import sys
from packaging.requirements import Requirement
text = open(sys.argv[1]).read().replace("\\\n", "")
for line in text.splitlines():
    line = line.split(" #")[0].split(" --hash")[0].strip()
    if not line or line.startswith(("-", "#")):
        continue
    try:
        r = Requirement(line)
    except Exception:
        continue
    s = list(r.specifier)
    if len(s) == 1 and s[0].operator == "==" and "*" not in s[0].version:
        print(r.name + "@" + s[0].version)
)");
  std::string oracle = RunCommand("/usr/bin/python3 '" + (dir.path() / "oracle.py").string() +
                                      "' '" + (dir.path() / "requirements.txt").string() + "'",
                                  &code);
  ASSERT_EQ(code, 0) << "python3-packaging missing (scripts/install-deps.sh)";
  std::set<std::string> expected;
  for (const std::string& line : lang::testing::SplitString(oracle, '\n')) {
    if (!line.empty()) expected.insert(line);
  }
  auto alone = AnalyzeAs(*analyzer, "requirements.txt", main);
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ(All(*alone), expected);
  // Without the tree (an image layer) an include is named as not read.
  ASSERT_FALSE(alone->problems.empty());
  EXPECT_THAT(alone->problems[0],
              ::testing::HasSubstr("/requirements.txt:2: -r requirements/base.txt"));
}

TEST(PipenvLock, DefaultAndDevelop) {
  auto analyzer = MakePipenvLockAnalyzer();
  auto normal =
      AnalyzeAs(*analyzer, "Pipfile.lock", ReadFile(kData + "python/Pipfile_normal.lock"));
  ASSERT_TRUE(normal.ok()) << normal.error().message;
  EXPECT_EQ(Listed(*normal),
            (std::set<std::string>{"certifi@2019.3.9", "chardet@3.0.4", "idna@2.8", "pyyaml@5.1",
                                   "requests@2.21.0", "urllib3@1.24.2"}));
  auto dev = AnalyzeAs(*analyzer, "Pipfile.lock",
                       R"({"default": {"six": {"version": "==1.16.0"}},
                           "develop": {"pytest": {"version": "==8.0.0"},
                                       "six": {"version": "==1.16.0"},
                                       "local": {"path": ".", "editable": true}}})");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(Listed(*dev), (std::set<std::string>{"six@1.16.0", "pytest@8.0.0 (dev)"}));
  auto bad =
      AnalyzeAs(*analyzer, "Pipfile.lock", "{\"default\": {\n  \"six\": {\"version\": }\n}}");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, ::testing::HasSubstr("/Pipfile.lock: invalid JSON at line 2"));
}

TEST(PoetryLock, CategoryAndGroups) {
  auto analyzer = MakePoetryLockAnalyzer();
  // Poetry 1.1 (category) and Poetry 2 (groups; a package in "main" and "dev" is production).
  auto old = AnalyzeAs(*analyzer, "poetry.lock", R"(
[[package]]
name = "flask"
version = "1.0.3"
category = "main"
optional = false

[[package]]
name = "pytest"
version = "5.4.3"
category = "dev"
optional = false

[metadata]
lock-version = "1.1"
)");
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(Listed(*old), (std::set<std::string>{"flask@1.0.3", "pytest@5.4.3 (dev)"}));
  auto v2 =
      AnalyzeAs(*analyzer, "poetry.lock", R"(# This file is automatically @generated by Poetry 2.0.1
[[package]]
name = "atomicwrites"
version = "1.4.1"
groups = ["dev"]
markers = "sys_platform == \"win32\""

[[package]]
name = "colorama"
version = "0.4.6"
groups = ["main", "dev"]

[package.dependencies]
x = "*"
)");
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  EXPECT_EQ(Listed(*v2), (std::set<std::string>{"atomicwrites@1.4.1 (dev)", "colorama@0.4.6"}));
  auto bad = AnalyzeAs(*analyzer, "poetry.lock", "[[package]]\nname = \"x\"\nversion = 1.0.0\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, ::testing::HasSubstr("/poetry.lock: line 3"));
}

TEST(UvLock, DevDependenciesThroughTheGraph) {
  auto analyzer = MakeUvLockAnalyzer();
  auto result = AnalyzeAs(*analyzer, "uv.lock", R"(version = 1
requires-python = ">=3.9"

[[package]]
name = "anyio"
version = "4.7.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "idna" },
    { name = "sniffio" },
]

[[package]]
name = "idna"
version = "3.10"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "iniconfig"
version = "2.0.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "normal"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "anyio" },
]

[package.dev-dependencies]
dev = [
    { name = "pytest" },
]

[package.metadata]
requires-dist = [{ name = "anyio", specifier = ">=4.7.0" }]

[[package]]
name = "pytest"
version = "8.3.4"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "iniconfig" },
    { name = "idna" },
]

[[package]]
name = "sniffio"
version = "1.3.1"
source = { registry = "https://pypi.org/simple" }
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Listed(*result),
            (std::set<std::string>{"anyio@4.7.0", "idna@3.10", "sniffio@1.3.1",
                                   "iniconfig@2.0.0 (dev)", "pytest@8.3.4 (dev)"}));
}

// ---- Go ----

// `go mod edit -json` is the oracle for go.mod's requires and replaces.
TEST(GoMod, RequiresAndReplacesAgainstGoModEdit) {
  ASSERT_TRUE(lang::testing::HaveTool("go")) << "golang-go missing (scripts/install-deps.sh)";
  const std::string go_mod = R"(module example.com/app

go 1.19

require (
	github.com/gin-gonic/gin v1.9.0
	golang.org/x/net v0.17.0 // indirect
	"github.com/quoted/mod" v1.0.0
	example.com/local v0.0.0-00010101000000-000000000000
)

require github.com/pkg/errors v0.9.1

replace golang.org/x/net v0.17.0 => golang.org/x/net v0.23.0

replace example.com/local => ../local

exclude github.com/pkg/errors v0.9.0
)";
  TempDir dir;
  WriteFile(dir.path() / "go.mod", go_mod);
  int code = 0;
  std::string json =
      RunCommand("cd '" + dir.path().string() + "' && go mod edit -json 2>&1", &code);
  ASSERT_EQ(code, 0) << json;
  auto parsed = nlohmann::json::parse(json);
  std::map<std::string, std::pair<std::string, std::string>> replaced;
  for (const auto& r : parsed["Replace"]) {
    replaced[r["Old"]["Path"]] = {r["New"]["Path"], r["New"].value("Version", "")};
  }
  std::set<std::string> expected;
  for (const auto& r : parsed["Require"]) {
    std::string path = r["Path"], version = r["Version"];
    if (auto it = replaced.find(path); it != replaced.end()) {
      if (it->second.second.empty()) continue;  // a local directory
      path = it->second.first;
      version = it->second.second;
    }
    expected.insert(path + "@" + version);
  }
  ASSERT_EQ(expected.size(), 4u);
  auto analyzer = MakeGoModAnalyzer();
  auto result = AnalyzeAs(*analyzer, "go.mod", go_mod);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(All(*result), expected);
  EXPECT_TRUE(result->problems.empty());
}

TEST(GoMod, GoSumBeforeGo117) {
  auto analyzer = MakeGoModAnalyzer();
  std::map<std::string, std::string> files{
      {"svc/go.mod",
       "module example.com/svc\n\ngo 1.16\n\nrequire github.com/gin-gonic/gin "
       "v1.7.0\n"},
      {"svc/go.sum",
       "github.com/gin-gonic/gin v1.7.0 h1:abc=\n"
       "github.com/gin-gonic/gin v1.7.0/go.mod h1:def=\n"
       "github.com/go-playground/validator/v10 v10.4.1 h1:ghi=\n"
       "github.com/go-playground/validator/v10 v10.4.1/go.mod h1:jkl=\n"
       "golang.org/x/sys v0.0.0-20200116001909-b77594299b42/go.mod h1:mno=\n"}};
  auto result = AnalyzeInTree(*analyzer, "svc/go.mod", files);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(All(*result),
            (std::set<std::string>{"github.com/gin-gonic/gin@v1.7.0",
                                   "github.com/go-playground/validator/v10@v10.4.1",
                                   "golang.org/x/sys@v0.0.0-20200116001909-b77594299b42"}));
  // Go 1.17 and later list every module in go.mod: go.sum is not read.
  files["svc/go.mod"] =
      "module example.com/svc\n\ngo 1.22\n\ntoolchain go1.22.1\n\nrequire github.com/gin-gonic/gin "
      "v1.7.0\n";
  auto modern = AnalyzeInTree(*analyzer, "svc/go.mod", files);
  ASSERT_TRUE(modern.ok());
  EXPECT_EQ(All(*modern), std::set<std::string>{"github.com/gin-gonic/gin@v1.7.0"});
  auto damaged = AnalyzeAs(*analyzer, "go.mod", "module m\nrequire (\n  github.com/x/y\n)\n");
  ASSERT_TRUE(damaged.ok());
  ASSERT_EQ(damaged->problems.size(), 1u);
  EXPECT_THAT(damaged->problems[0], ::testing::StartsWith("line 3: require"));
}

// ---- Maven and Gradle ----

TEST(Pom, PropertiesManagementParentsAndScopes) {
  const std::string parent = R"(<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>parent</artifactId>
  <version>2.1.0</version>
  <packaging>pom</packaging>
  <properties>
    <jackson.version>2.15.2</jackson.version>
    <junit.version>5.10.0</junit.version>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>com.fasterxml.jackson.core</groupId>
        <artifactId>jackson-databind</artifactId>
        <version>${jackson.version}</version>
      </dependency>
      <dependency>
        <groupId>org.junit.jupiter</groupId>
        <artifactId>junit-jupiter</artifactId>
        <version>${junit.version}</version>
        <scope>test</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
      <version>2.0.9</version>
    </dependency>
  </dependencies>
</project>
)";
  const std::string child = R"(<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>com.example</groupId>
    <artifactId>parent</artifactId>
    <version>2.1.0</version>
  </parent>
  <artifactId>service</artifactId>
  <properties>
    <jackson.version>2.16.0</jackson.version>
  </properties>
  <dependencies>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
    </dependency>
    <dependency>
      <groupId>${project.groupId}</groupId>
      <artifactId>common</artifactId>
      <version>${project.version}</version>
    </dependency>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
    </dependency>
    <dependency>
      <groupId>jakarta.servlet</groupId>
      <artifactId>jakarta.servlet-api</artifactId>
      <version>6.0.0</version>
      <scope>provided</scope>
    </dependency>
    <dependency>
      <groupId>org.example</groupId>
      <artifactId>unresolved</artifactId>
      <version>${undefined.version}</version>
    </dependency>
  </dependencies>
</project>
)";
  auto analyzer = MakePomAnalyzer();
  auto result = AnalyzeInTree(*analyzer, "service/pom.xml",
                              {{"pom.xml", parent}, {"service/pom.xml", child}});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Listed(*result),
            (std::set<std::string>{
                "com.fasterxml.jackson.core:jackson-databind@2.16.0", "com.example:common@2.1.0",
                "org.junit.jupiter:junit-jupiter@5.10.0 (dev)",
                "jakarta.servlet:jakarta.servlet-api@6.0.0 (dev)", "org.slf4j:slf4j-api@2.0.9"}));
  ASSERT_EQ(result->problems.size(), 1u);
  EXPECT_THAT(result->problems[0],
              ::testing::StartsWith("/service/pom.xml:33: org.example:unresolved: version "
                                    "${undefined.version}: ${undefined.version} is not defined"));
  // Without the parent in the tree: what needs it is named, the rest read.
  auto alone = AnalyzeAs(*analyzer, "service/pom.xml", child);
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ(alone->problems.size(), 3u);
  auto bad = AnalyzeAs(*analyzer, "pom.xml", "<project>\n<dependencies>\n</project>\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message,
              ::testing::StartsWith("/pom.xml: line 4: Premature end of data"));
  // External entities are never fetched or expanded.
  auto xxe = AnalyzeAs(*analyzer, "pom.xml",
                       "<?xml version=\"1.0\"?>\n<!DOCTYPE p [<!ENTITY x SYSTEM "
                       "\"file:///etc/hostname\">]>\n<project><dependencies><dependency>"
                       "<groupId>g</groupId><artifactId>&x;</artifactId><version>1</version>"
                       "</dependency></dependencies></project>");
  if (xxe.ok()) {
    for (const Package& p : xxe->packages) EXPECT_EQ(p.name.find('\n'), std::string::npos);
  }
}

TEST(GradleLock, ConfigurationsMarkTestOnly) {
  auto analyzer = MakeGradleLockAnalyzer();
  EXPECT_TRUE(Wants(*analyzer, "gradle.lockfile"));
  EXPECT_TRUE(Wants(*analyzer, "app/buildscript-gradle.lockfile"));
  auto result = AnalyzeAs(*analyzer, "gradle.lockfile",
                          R"(# This is a Gradle generated file for dependency locking.
# Manual edits can break the build and are not advised.
# This file is expected to be part of source control.
com.google.code.gson:gson:2.10.1=compileClasspath,runtimeClasspath
junit:junit:4.13.2=testCompileClasspath,testRuntimeClasspath
org.hamcrest:hamcrest-core:1.3=testRuntimeClasspath
broken-line
empty=annotationProcessor
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Listed(*result),
            (std::set<std::string>{"com.google.code.gson:gson@2.10.1", "junit:junit@4.13.2 (dev)",
                                   "org.hamcrest:hamcrest-core@1.3 (dev)"}));
  ASSERT_EQ(result->problems.size(), 1u);
  EXPECT_THAT(result->problems[0], ::testing::StartsWith("/gradle.lockfile:7:"));
}

// ---- shared ----

TEST(Lockfile, Helpers) {
  EXPECT_EQ(lang::PlaceOfOffset("ab\ncd", 4), "line 2, column 2");
  EXPECT_EQ(lang::PlaceOfOffset("ab", 0), "line 1, column 1");
  EXPECT_EQ(lang::JoinRelative("a/b", "../c.txt"), "a/c.txt");
  EXPECT_EQ(lang::JoinRelative("", "../x"), std::nullopt);
  EXPECT_EQ(lang::JoinRelative("a", "./b/../c"), "a/c");
  EXPECT_TRUE(lang::InNodeModules("node_modules/a/yarn.lock"));
  EXPECT_FALSE(lang::InNodeModules("src/node_modules_x/yarn.lock"));
}

}  // namespace
}  // namespace moat
