#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "analyzer/analyzer.h"
#include "analyzer/lang/lang_test_util.h"
#include "analyzer/lang/python_metadata.h"

namespace moat {
namespace {

using lang::testing::AnalyzeAs;
using lang::testing::ReadFile;
using lang::testing::Relative;
using lang::testing::RunCommand;
using lang::testing::SplitString;
using lang::testing::Wants;

constexpr char kSitePackages[] = "/usr/lib/python3/dist-packages";

TEST(PythonAnalyzerTest, WantsMetadataFilesOnly) {
  auto analyzer = MakePythonAnalyzer();
  EXPECT_EQ(analyzer->descriptor().name, "python");
  EXPECT_TRUE(Wants(*analyzer, "usr/lib/python3/dist-packages/attrs-22.2.0.dist-info/METADATA"));
  EXPECT_TRUE(Wants(*analyzer, "usr/lib/python3/dist-packages/idna-3.3.egg-info/PKG-INFO"));
  EXPECT_TRUE(Wants(*analyzer, "usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info"));
  EXPECT_TRUE(Wants(*analyzer, "opt/app/foo-1.0-py3.9.egg/EGG-INFO/PKG-INFO"));
  EXPECT_FALSE(Wants(*analyzer, "usr/lib/python3/dist-packages/attrs-22.2.0.dist-info/RECORD"));
  EXPECT_FALSE(Wants(*analyzer, "usr/lib/python3/dist-packages/idna-3.3.egg-info/top_level.txt"));
  EXPECT_FALSE(Wants(*analyzer, "usr/share/doc/METADATA"));
  EXPECT_FALSE(Wants(*analyzer, "x.dist-info/METADATA", 1ull << 40));
}

// Every distribution importlib.metadata finds in Debian's dist-packages must give the same name
// and version through the analyzer.
TEST(PythonAnalyzerTest, MatchesImportlibMetadataOnThisMachine) {
  ASSERT_TRUE(std::filesystem::exists(kSitePackages))
      << kSitePackages << " missing: apt the python3-* packages of scripts/install-deps.sh test";
  int code = 0;
  std::string oracle = RunCommand(
      "/usr/bin/python3 -c \"import importlib.metadata as m\n"
      "for d in m.distributions(path=['" +
          std::string(kSitePackages) +
          "']):\n"
          "  print(str(d._path), d.metadata['Name'], d.version, "
          "d.metadata.get('License-Expression') or '', "
          "d.metadata.get('License') or '', sep='\\t')\"",
      &code);
  ASSERT_EQ(code, 0);
  auto analyzer = MakePythonAnalyzer();
  int compared = 0, licenses_compared = 0;
  for (const std::string& line : SplitString(oracle, '\n')) {
    std::vector<std::string> fields = SplitString(line, '\t');
    ASSERT_GE(fields.size(), 3u) << line;
    std::filesystem::path dir = fields[0];
    std::filesystem::path file = dir;
    if (std::filesystem::is_directory(dir)) {
      file = dir / (dir.extension() == ".dist-info" ? "METADATA" : "PKG-INFO");
    }
    std::string relative = Relative(file);
    ASSERT_TRUE(Wants(*analyzer, relative)) << relative;
    auto result = AnalyzeAs(*analyzer, relative, ReadFile(file));
    ASSERT_TRUE(result.ok()) << result.error().message;
    ASSERT_EQ(result->packages.size(), 1u) << relative;
    const Package& package = result->packages[0];
    EXPECT_EQ(package.type, PackageType::kPypi);
    EXPECT_EQ(package.name, fields[1]) << relative;
    EXPECT_EQ(package.version, fields[2]) << relative;
    EXPECT_EQ(package.file_path, "/" + relative);
    // Where the licence is a one-line header, it is what importlib reads.
    std::string expression = fields.size() > 3 ? fields[3] : "";
    std::string license = fields.size() > 4 ? fields[4] : "";
    if (!expression.empty() ||
        (!license.empty() && license != "UNKNOWN" && license.find('\n') == std::string::npos)) {
      ASSERT_FALSE(package.licenses.empty()) << relative;
      EXPECT_EQ(package.licenses[0], expression.empty() ? license : expression) << relative;
      ++licenses_compared;
    }
    ++compared;
  }
  EXPECT_GE(compared, 20);
  EXPECT_GE(licenses_compared, 5);
}

TEST(PythonMetadataTest, LicenseExpressionWinsOverLicenseAndClassifiers) {
  auto parsed = lang::ParsePythonMetadata(
      "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense: MIT license text\n"
      "License-Expression: MIT OR Apache-2.0\n"
      "Classifier: License :: OSI Approved :: BSD License\n\nBody: not a header\n",
      "demo");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->licenses, std::vector<std::string>{"MIT OR Apache-2.0"});
}

TEST(PythonMetadataTest, ClassifiersWhenLicenseIsUnknownOrAWholeText) {
  auto unknown = lang::ParsePythonMetadata(
      "Name: a\nVersion: 2\nLicense: UNKNOWN\n"
      "Classifier: Programming Language :: Python\n"
      "Classifier: License :: OSI Approved :: MIT License\n"
      "Classifier: License :: OSI Approved\n"
      "Classifier: License :: OSI Approved :: Apache Software License\n",
      "a");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->licenses,
            (std::vector<std::string>{"MIT License", "Apache Software License"}));

  auto text = lang::ParsePythonMetadata(
      "Name: b\r\nVersion: 3.0\r\nLicense: Copyright (c) someone\r\n        Permission is hereby "
      "granted\r\nClassifier: License :: OSI Approved :: MIT License\r\n\r\n",
      "b");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->name, "b");
  EXPECT_EQ(text->version, "3.0");
  EXPECT_EQ(text->licenses, std::vector<std::string>{"MIT License"});

  auto plain = lang::ParsePythonMetadata("Name: c\nVersion: 1\nLicense: BSD-3-Clause\n", "c");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->licenses, std::vector<std::string>{"BSD-3-Clause"});
}

TEST(PythonMetadataTest, HeadersEndAtTheFirstBlankLine) {
  // The description body may contain "Name:" lines; they must not override the header.
  auto parsed = lang::ParsePythonMetadata(
      "Name: real\nVersion: 1.0\n\nName: fake\nVersion: 9.9\nLicense: GPL\n", "x");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->name, "real");
  EXPECT_EQ(parsed->version, "1.0");
  EXPECT_TRUE(parsed->licenses.empty());

  auto body_first = lang::ParsePythonMetadata("Name: real\n\nVersion: 1.0\n", "/x/METADATA");
  ASSERT_FALSE(body_first.ok());
  EXPECT_NE(body_first.error().message.find("/x/METADATA"), std::string::npos);
  EXPECT_NE(body_first.error().message.find("Version"), std::string::npos);
  EXPECT_NE(body_first.error().message.find("line 2"), std::string::npos);
}

TEST(PythonAnalyzerTest, BadInputGivesErrorsNamingTheFile) {
  auto analyzer = MakePythonAnalyzer();
  const std::string path = "usr/lib/python3/dist-packages/x-1.dist-info/METADATA";
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 7919) % 256));
  std::string real = ReadFile(std::string(kSitePackages) + "/attrs-22.2.0.dist-info/METADATA");
  std::vector<std::string> inputs = {
      "", "\n\n\n", garbage, "Name: only\n", ":\n:\n", std::string("Name: a\0b\nVersion", 17)};
  if (!real.empty()) inputs.push_back(real.substr(0, real.find("Version")));  // truncated
  for (const std::string& input : inputs) {
    auto result = AnalyzeAs(*analyzer, path, input);
    ASSERT_FALSE(result.ok()) << input.size();
    EXPECT_NE(result.error().message.find("/" + path), std::string::npos) << result.error().message;
  }
}

}  // namespace
}  // namespace moat

namespace moat {
namespace {

// Debian ships some packages (python3-cryptography) with both *.dist-info/METADATA and
// *.egg-info/PKG-INFO in one directory: every metadata file of dist-packages goes through the
// analyzer, and after merging there is one package per distinct (PEP 503 name, version), as
// importlib.metadata lists them.
TEST(PythonDuplicatesTest, OneInstalledPackageIsOnePackageOnThisMachine) {
  namespace fs = std::filesystem;
  ASSERT_TRUE(fs::exists(kSitePackages))
      << kSitePackages << " missing: apt the python3-* packages of scripts/install-deps.sh test";
  auto analyzer = MakePythonAnalyzer();
  std::vector<Package> packages;
  // The top level of the directory, as importlib looks at it.
  for (const auto& entry : fs::directory_iterator(kSitePackages)) {
    for (const fs::path& file : {entry.path(), entry.path() / "METADATA", entry.path() / "PKG-INFO",
                                 entry.path() / "EGG-INFO" / "PKG-INFO"}) {
      std::string relative = Relative(file);
      if (!fs::is_regular_file(file) || !Wants(*analyzer, relative)) continue;
      auto result = AnalyzeAs(*analyzer, relative, ReadFile(file));
      ASSERT_TRUE(result.ok()) << result.error().message;
      for (auto& package : result->packages) packages.push_back(std::move(package));
    }
  }
  int code = 0;
  std::string oracle = RunCommand(
      "/usr/bin/python3 -c \"import importlib.metadata as m, re\n"
      "print(len({(re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(), d.version) for d in "
      "m.distributions(path=['" +
          std::string(kSitePackages) + "'])}))\"",
      &code);
  ASSERT_EQ(code, 0);
  const size_t distinct = std::stoul(oracle);
  const size_t before = packages.size();
  MergeDuplicatePythonPackages(packages);
  EXPECT_EQ(packages.size(), distinct);

  // Debian's python3-cryptography (scripts/install-deps.sh test) ships both forms.
  ASSERT_TRUE(fs::exists(std::string(kSitePackages) + "/cryptography.egg-info"))
      << "apt python3-cryptography (it ships cryptography.egg-info)";
  size_t cryptography = 0;
  for (const Package& package : packages) {
    if (package.name != "cryptography") continue;
    ++cryptography;
    EXPECT_NE(package.file_path.find(".dist-info/METADATA"), std::string::npos)
        << package.file_path;
  }
  EXPECT_LT(packages.size(), before);
  EXPECT_EQ(cryptography, 1u);
}

Package PythonPackage(std::string name, std::string version, std::string path) {
  Package package;
  package.type = PackageType::kPypi;
  package.name = std::move(name);
  package.version = std::move(version);
  package.file_path = std::move(path);
  return package;
}

TEST(PythonDuplicatesTest, KeysAreNameVersionAndSiteDirectory) {
  std::vector<Package> packages = {
      PythonPackage("PyYAML", "6.0", "/usr/lib/python3/dist-packages/PyYAML-6.0.egg-info"),
      PythonPackage("pyyaml", "6.0",
                    "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA"),
      // Another directory (a virtualenv) is another installation.
      PythonPackage("PyYAML", "6.0",
                    "/opt/venv/lib/python3.11/site-packages/PyYAML-6.0.dist-info/METADATA"),
      // Another version in the same directory is kept too (a broken install, but two records).
      PythonPackage("PyYAML", "5.4", "/usr/lib/python3/dist-packages/PyYAML-5.4.egg-info/PKG-INFO"),
      PythonPackage("zope.interface", "5.5",
                    "/usr/lib/python3/dist-packages/zope.interface-5.5.egg-info/PKG-INFO"),
      PythonPackage("zope_interface", "5.5",
                    "/usr/lib/python3/dist-packages/foo-1-py3.egg/EGG-INFO/PKG-INFO"),
  };
  packages.push_back(packages[0]);
  packages.back().type = PackageType::kNpm;  // other ecosystems are left alone
  MergeDuplicatePythonPackages(packages);
  std::vector<std::string> paths;
  for (const Package& package : packages) paths.push_back(package.file_path);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA",
                       "/opt/venv/lib/python3.11/site-packages/PyYAML-6.0.dist-info/METADATA",
                       "/usr/lib/python3/dist-packages/PyYAML-5.4.egg-info/PKG-INFO",
                       "/usr/lib/python3/dist-packages/zope.interface-5.5.egg-info/PKG-INFO",
                       "/usr/lib/python3/dist-packages/PyYAML-6.0.egg-info",
                   }));
}

}  // namespace
}  // namespace moat
