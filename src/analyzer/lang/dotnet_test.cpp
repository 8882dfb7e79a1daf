// .NET: real deps.json, packages.lock.json and packages.config files (testdata/SOURCES.md) with
// Python's json and xml.etree as the independent readers, and .nupkg archives made with zip.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "analyzer/lang/lang_test_util.h"

namespace moat {
namespace {

namespace fs = std::filesystem;
using lang::testing::AnalyzeAs;
using lang::testing::ReadFile;
using lang::testing::RunCommand;
using lang::testing::SplitString;
using lang::testing::TempDir;
using lang::testing::Wants;
using lang::testing::WriteFile;

const fs::path kTestdata = fs::path(MOAT_SOURCE_DIR) / "src/analyzer/lang/testdata/dotnet";

// Every package of the result is of this ecosystem; their names and versions.
std::vector<std::string> PackagesOf(const AnalysisResult& result) {
  for (const Package& p : result.packages) EXPECT_EQ(p.type, PackageType::kNuget) << p.name;
  return lang::testing::NameVersions(result);
}

// What Python reads from the file with `program` (given the path as sys.argv[1]), sorted lines.
std::vector<std::string> PythonReads(const std::string& program, const fs::path& file) {
  int code = 0;
  std::string output =
      RunCommand("/usr/bin/python3 -c '" + program + "' '" + file.string() + "' 2>&1", &code);
  EXPECT_EQ(code, 0) << output;
  std::vector<std::string> lines = SplitString(output, '\n');
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(DotnetDeps, LibrariesOfTypePackage) {
  const fs::path file = kTestdata / "ExampleApp1.deps.json";
  auto expected = PythonReads(
      "import json, sys; d = json.load(open(sys.argv[1]));"
      " print(\"\\n\".join(k.replace(\"/\", \" \") for k, v in d[\"libraries\"].items()"
      " if v[\"type\"] == \"package\"))",
      file);
  auto analyzer = MakeDotnetDepsAnalyzer();
  const std::string path = "app/ExampleApp1.deps.json";
  EXPECT_TRUE(Wants(*analyzer, path));
  auto result = AnalyzeAs(*analyzer, path, ReadFile(file));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(PackagesOf(*result), expected);
  EXPECT_EQ(PackagesOf(*result), std::vector<std::string>{"Newtonsoft.Json 13.0.1"});
  auto broken = AnalyzeAs(*analyzer, path, "{\"libraries\": {\n  \"a/1\": [}");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("/app/ExampleApp1.deps.json: invalid JSON at line 2"),
            std::string::npos)
      << broken.error().message;
}

TEST(NugetLock, ResolvedVersionsOfEveryFramework) {
  const fs::path file = kTestdata / "packages.lock.json";
  auto expected = PythonReads(
      "import json, sys; d = json.load(open(sys.argv[1]));"
      " print(\"\\n\".join(sorted(set(n + \" \" + p[\"resolved\"] for f in"
      " d[\"dependencies\"].values() for n, p in f.items() if p.get(\"type\") != \"Project\"))))",
      file);
  auto analyzer = MakeNugetLockAnalyzer();
  EXPECT_TRUE(Wants(*analyzer, "src/Api/packages.lock.json"));
  auto result = AnalyzeAs(*analyzer, "src/Api/packages.lock.json", ReadFile(file));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(PackagesOf(*result), expected);
  EXPECT_EQ(result->packages.size(), 8u);
  auto damaged = AnalyzeAs(*analyzer, "packages.lock.json",
                           R"({"version": 1, "dependencies": {"net8.0": {
                             "A": {"type": "Direct"}, "B": {"type": "Transitive", "resolved": "2.0.0"},
                             "C": {"type": "Project"}}}})");
  ASSERT_TRUE(damaged.ok());
  EXPECT_EQ(PackagesOf(*damaged), std::vector<std::string>{"B 2.0.0"});
  ASSERT_EQ(damaged->problems.size(), 1u);
  EXPECT_NE(damaged->problems[0].find("/dependencies/net8.0/A: no \"resolved\""), std::string::npos)
      << damaged->problems[0];
}

TEST(PackagesConfig, DevelopmentDependenciesMarked) {
  const fs::path file = kTestdata / "packages.config";
  auto expected = PythonReads(
      "import sys, xml.etree.ElementTree as E;"
      " print(\"\\n\".join(p.get(\"id\") + \" \" + p.get(\"version\") +"
      " (\" dev\" if p.get(\"developmentDependency\") == \"true\" else \"\")"
      " for p in E.parse(sys.argv[1]).getroot().iter(\"package\")))",
      file);
  auto analyzer = MakePackagesConfigAnalyzer();
  auto result = AnalyzeAs(*analyzer, "legacy/packages.config", ReadFile(file));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(PackagesOf(*result), expected);
  EXPECT_EQ(PackagesOf(*result), (std::vector<std::string>{"Microsoft.Net.Compilers 1.0.0 dev",
                                                           "Newtonsoft.Json 8.0.3"}));
  auto broken = AnalyzeAs(*analyzer, "legacy/packages.config", "<packages>\n<package id=\"x\"\n");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("/legacy/packages.config: line"), std::string::npos)
      << broken.error().message;
  // No external entities: the file is untrusted.
  auto entity = AnalyzeAs(*analyzer, "packages.config",
                          "<!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>\n"
                          "<packages><package id=\"a&x;\" version=\"1.0\"/></packages>");
  if (entity.ok()) {
    for (const Package& p : entity->packages) EXPECT_EQ(p.name.find('\n'), std::string::npos);
  }
}

constexpr const char* kNuspec = R"(<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>Newtonsoft.Json</id>
    <version>13.0.1</version>
    <license type="expression">MIT</license>
    <authors>James Newton-King</authors>
  </metadata>
</package>
)";

TEST(Nuspec, PackagesFolderAndNupkg) {
  auto analyzer = MakeNuspecAnalyzer();
  EXPECT_TRUE(analyzer->descriptor().installed_only);
  const std::string folder = "root/.nuget/packages/newtonsoft.json/13.0.1/";
  EXPECT_TRUE(Wants(*analyzer, folder + "newtonsoft.json.nuspec"));
  // The archive beside it in the packages folder is the same package.
  EXPECT_FALSE(Wants(*analyzer, folder + "newtonsoft.json.13.0.1.nupkg"));
  EXPECT_TRUE(Wants(*analyzer, "app/packages/Newtonsoft.Json.13.0.1.nupkg"));
  auto spec = AnalyzeAs(*analyzer, folder + "newtonsoft.json.nuspec", kNuspec);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(PackagesOf(*spec), std::vector<std::string>{"Newtonsoft.Json 13.0.1"});
  EXPECT_EQ(spec->packages[0].licenses, std::vector<std::string>{"MIT"});

  TempDir tmp;
  WriteFile(tmp.path() / "pkg/Newtonsoft.Json.nuspec", kNuspec);
  WriteFile(tmp.path() / "pkg/lib/netstandard2.0/Newtonsoft.Json.xml", "<doc/>");
  WriteFile(tmp.path() / "pkg/[Content_Types].xml", "<Types/>");
  int code = 0;
  std::string out =
      RunCommand("cd '" + (tmp.path() / "pkg").string() + "' && zip -qr ../x.nupkg . 2>&1", &code);
  ASSERT_EQ(code, 0) << "zip: " << out;
  auto nupkg = AnalyzeAs(*analyzer, "app/packages/x.nupkg", ReadFile(tmp.path() / "x.nupkg"));
  ASSERT_TRUE(nupkg.ok()) << nupkg.error().message;
  EXPECT_EQ(PackagesOf(*nupkg), std::vector<std::string>{"Newtonsoft.Json 13.0.1"});
  EXPECT_EQ(nupkg->packages[0].file_path, "/app/packages/x.nupkg");

  auto not_zip = AnalyzeAs(*analyzer, "app/y.nupkg", "PK\x03\x04 truncated");
  ASSERT_FALSE(not_zip.ok());
  EXPECT_NE(not_zip.error().message.find("/app/y.nupkg"), std::string::npos);
  auto no_id = AnalyzeAs(*analyzer, "a.nuspec",
                         "<package><metadata><version>1</version>"
                         "</metadata></package>");
  ASSERT_FALSE(no_id.ok());
  EXPECT_NE(no_id.error().message.find("without <id>"), std::string::npos);
}

}  // namespace
}  // namespace moat
