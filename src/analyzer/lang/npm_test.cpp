#include <gtest/gtest.h>

#include <filesystem>

#include "analyzer/analyzer.h"
#include "analyzer/lang/lang_test_util.h"

namespace moat {
namespace {

using lang::testing::AnalyzeAs;
using lang::testing::ReadFile;
using lang::testing::Relative;
using lang::testing::RunCommand;
using lang::testing::SplitString;
using lang::testing::TempDir;
using lang::testing::Wants;
using lang::testing::WriteFile;

TEST(NpmAnalyzerTest, WantsPackageRootManifestsInNodeModules) {
  auto analyzer = MakeNpmAnalyzer();
  EXPECT_EQ(analyzer->descriptor().name, "npm");
  EXPECT_TRUE(Wants(*analyzer, "app/node_modules/express/package.json"));
  EXPECT_TRUE(Wants(*analyzer, "node_modules/express/package.json"));
  EXPECT_TRUE(Wants(*analyzer, "app/node_modules/@types/node/package.json"));
  EXPECT_TRUE(Wants(*analyzer, "app/node_modules/a/node_modules/b/package.json"));
  EXPECT_TRUE(Wants(*analyzer, "usr/lib/node_modules/npm/package.json"));
  EXPECT_TRUE(
      Wants(*analyzer, "usr/lib/node_modules/npm/node_modules/@npmcli/arborist/package.json"));
  EXPECT_FALSE(Wants(*analyzer, "app/package.json"));
  EXPECT_FALSE(Wants(*analyzer, "app/node_modules/a/test/fixtures/package.json"));
  EXPECT_FALSE(Wants(*analyzer, "app/node_modules/a/lib/esm/package.json"));
  EXPECT_FALSE(Wants(*analyzer, "app/node_modules/@types/package.json"));
  EXPECT_FALSE(Wants(*analyzer, "app/node_modules/.bin/package.json"));
  EXPECT_FALSE(Wants(*analyzer, "app/node_modules/a/package.json.bak"));
  EXPECT_FALSE(Wants(*analyzer, "app/node_modules/a/package.json", 1ull << 40));
}

// Every installed package under the global node_modules of this machine (npm's own bundled
// dependencies), checked against an independent JSON read by Python.
TEST(NpmAnalyzerTest, MatchesPythonJsonReadOfRealNodeModules) {
  // Where the nodejs.org and NodeSource builds install npm, else where Debian's npm package does.
  std::string root = "/usr/lib/node_modules";
  if (!std::filesystem::exists(root)) root = "/usr/share/nodejs/npm/node_modules";
  ASSERT_TRUE(std::filesystem::exists(root))
      << root << " missing: apt npm (scripts/install-deps.sh test)";
  int code = 0;
  std::string oracle =
      RunCommand("find " + root +
                     " -name package.json -type f | /usr/bin/python3 -c \"import sys, json\n"
                     "for p in sys.stdin.read().split():\n"
                     "  d = json.load(open(p))\n"
                     "  n, v = d.get('name'), d.get('version')\n"
                     "  l = d.get('license')\n"
                     "  l = l.get('type') if isinstance(l, dict) else l\n"
                     "  print(p, n if isinstance(n, str) else '', v if isinstance(v, str) else '', "
                     "l if isinstance(l, str) else '', sep='\\t')\"",
                 &code);
  ASSERT_EQ(code, 0);
  auto analyzer = MakeNpmAnalyzer();
  int compared = 0;
  for (const std::string& line : SplitString(oracle, '\n')) {
    std::vector<std::string> fields = SplitString(line + "\t", '\t');
    ASSERT_GE(fields.size(), 4u) << line;
    std::string relative = Relative(fields[0]);
    if (!Wants(*analyzer, relative)) continue;
    auto result = AnalyzeAs(*analyzer, relative, ReadFile(fields[0]));
    ASSERT_TRUE(result.ok()) << result.error().message;
    if (fields[1].empty() || fields[2].empty()) {
      EXPECT_TRUE(result->packages.empty()) << relative;
      continue;
    }
    ASSERT_EQ(result->packages.size(), 1u) << relative;
    const Package& package = result->packages[0];
    EXPECT_EQ(package.type, PackageType::kNpm);
    EXPECT_EQ(package.name, fields[1]);
    EXPECT_EQ(package.version, fields[2]);
    EXPECT_EQ(package.file_path, "/" + relative);
    if (!fields[3].empty()) {
      ASSERT_FALSE(package.licenses.empty()) << relative;
      EXPECT_EQ(package.licenses[0], fields[3]) << relative;
    }
    ++compared;
  }
  EXPECT_GE(compared, 40);  // Debian's npm 9.2 bundles 42
}

TEST(NpmAnalyzerTest, CraftedTreeLicenseFormsAndSkips) {
  TempDir dir;
  const auto modules = dir.path() / "app" / "node_modules";
  WriteFile(modules / "plain" / "package.json",
            R"({"name":"plain","version":"1.2.3","license":"MIT"})");
  WriteFile(modules / "@scope" / "pkg" / "package.json",
            R"({"name":"@scope/pkg","version":"0.1.0-beta.1","license":{"type":"ISC","url":"x"}})");
  WriteFile(
      modules / "legacy" / "package.json",
      R"({"name":"legacy","version":"0.0.1","licenses":[{"type":"MIT"},{"type":"Apache-2.0"},"BSD"]})");
  WriteFile(modules / "noversion" / "package.json", R"({"name":"noversion","private":true})");
  WriteFile(modules / "numeric" / "package.json", R"({"name":"numeric","version":1})");
  WriteFile(modules / "array" / "package.json", R"([1,2,3])");

  auto analyzer = MakeNpmAnalyzer();
  auto analyze = [&](const std::string& name) {
    auto file = modules / name / "package.json";
    std::string relative = Relative(file);
    EXPECT_TRUE(Wants(*analyzer, relative)) << relative;
    return AnalyzeAs(*analyzer, relative, ReadFile(file));
  };
  auto plain = analyze("plain");
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->packages.size(), 1u);
  EXPECT_EQ(plain->packages[0].licenses, std::vector<std::string>{"MIT"});
  EXPECT_EQ(plain->packages[0].file_path, (modules / "plain" / "package.json").string());

  auto scoped = analyze("@scope/pkg");
  ASSERT_TRUE(scoped.ok());
  ASSERT_EQ(scoped->packages.size(), 1u);
  EXPECT_EQ(scoped->packages[0].name, "@scope/pkg");
  EXPECT_EQ(scoped->packages[0].version, "0.1.0-beta.1");
  EXPECT_EQ(scoped->packages[0].licenses, std::vector<std::string>{"ISC"});

  auto legacy = analyze("legacy");
  ASSERT_TRUE(legacy.ok());
  ASSERT_EQ(legacy->packages.size(), 1u);
  EXPECT_EQ(legacy->packages[0].licenses, (std::vector<std::string>{"MIT", "Apache-2.0", "BSD"}));

  for (const char* skipped : {"noversion", "numeric", "array"}) {
    auto result = analyze(skipped);
    ASSERT_TRUE(result.ok()) << skipped;
    EXPECT_TRUE(result->packages.empty()) << skipped;
  }
}

TEST(NpmAnalyzerTest, InvalidJsonGivesErrorWithOffset) {
  auto analyzer = MakeNpmAnalyzer();
  const std::string path = "app/node_modules/bad/package.json";
  std::string deep(100000, '[');
  for (const std::string& input :
       {std::string(""), std::string("{\"name\": \"x\", \"version\": "), std::string("\xff\xfe{}"),
        std::string("{\"name\":\"x\"} trailing"), deep}) {
    auto result = AnalyzeAs(*analyzer, path, input);
    ASSERT_FALSE(result.ok()) << input.substr(0, 40);
    EXPECT_NE(result.error().message.find("/" + path), std::string::npos);
    EXPECT_NE(result.error().message.find("byte"), std::string::npos) << result.error().message;
  }
}

}  // namespace
}  // namespace moat
