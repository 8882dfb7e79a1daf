// Composer: a project installed by Debian's composer at test time, offline, from path
// repositories (a production dependency, its own dependency and a dev dependency): the
// composer.lock and vendor/composer/installed.json it writes, checked against `composer show`.

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
using lang::testing::Relative;
using lang::testing::RunCommand;
using lang::testing::SplitString;
using lang::testing::TempDir;
using lang::testing::Wants;
using lang::testing::WriteFile;

// Every package of the result is of this ecosystem; their names and versions.
std::vector<std::string> PackagesOf(const AnalysisResult& result) {
  for (const Package& p : result.packages) EXPECT_EQ(p.type, PackageType::kComposer) << p.name;
  return lang::testing::NameVersions(result);
}

class ComposerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const fs::path root = dir_->path();
    WriteFile(root / "pkgs/alpha/composer.json",
              R"({"name": "acme/alpha", "version": "1.2.3", "license": "MIT",
                  "require": {"acme/beta": "^2.0"}})");
    WriteFile(root / "pkgs/beta/composer.json",
              R"({"name": "acme/beta", "version": "v2.0.1", "license": ["BSD-3-Clause", "MIT"]})");
    WriteFile(root / "pkgs/testkit/composer.json",
              R"({"name": "acme/testkit", "version": "0.9.0-beta2"})");
    WriteFile(root / "app/composer.json",
              R"({"name": "acme/app", "minimum-stability": "beta",
                  "repositories": [{"type": "path", "url": "../pkgs/*",
                                    "options": {"symlink": false}},
                                   {"packagist.org": false}],
                  "require": {"acme/alpha": "^1.2"},
                  "require-dev": {"acme/testkit": "0.9.0-beta2"}})");
    int code = 0;
    install_output_ = new std::string(RunCommand(
        "cd '" + (root / "app").string() + "' && COMPOSER_HOME='" + (root / "home").string() +
            "' composer install --no-interaction --no-plugins --no-scripts 2>&1",
        &code));
    installed_ = code == 0;
    // What Composer itself says is installed, with the dev packages apart.
    all_ = new std::string(RunCommand("cd '" + (root / "app").string() + "' && COMPOSER_HOME='" +
                                      (root / "home").string() +
                                      "' composer show --format=text 2>/dev/null | "
                                      "awk '{print $1 \" \" $2}'"));
    production_ = new std::string(RunCommand(
        "cd '" + (root / "app").string() + "' && COMPOSER_HOME='" + (root / "home").string() +
        "' composer show --no-dev --format=text 2>/dev/null | awk '{print $1 \" \" $2}'"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete install_output_;
    delete all_;
    delete production_;
  }
  // composer show's lines, "dev" added to those only the full listing has.
  static std::vector<std::string> Expected() {
    std::vector<std::string> production = SplitString(*production_, '\n');
    std::vector<std::string> out;
    for (const std::string& line : SplitString(*all_, '\n')) {
      if (line.empty()) continue;
      bool dev = std::find(production.begin(), production.end(), line) == production.end();
      out.push_back(line + (dev ? " dev" : ""));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static TempDir* dir_;
  static std::string* install_output_;
  static std::string* all_;
  static std::string* production_;
  static bool installed_;
};

TempDir* ComposerTest::dir_ = nullptr;
std::string* ComposerTest::install_output_ = nullptr;
std::string* ComposerTest::all_ = nullptr;
std::string* ComposerTest::production_ = nullptr;
bool ComposerTest::installed_ = false;

// composer show prints versions as installed ("v2.0.1" stays "v2.0.1").
TEST_F(ComposerTest, LockFileAsComposerInstalledIt) {
  ASSERT_TRUE(installed_) << "composer (scripts/install-deps.sh test): " << *install_output_;
  const std::vector<std::string> expected = Expected();
  ASSERT_EQ(expected, (std::vector<std::string>{"acme/alpha 1.2.3", "acme/beta v2.0.1",
                                                "acme/testkit 0.9.0-beta2 dev"}));
  auto analyzer = MakeComposerLockAnalyzer();
  const fs::path lock = dir_->path() / "app/composer.lock";
  EXPECT_TRUE(Wants(*analyzer, Relative(lock)));
  EXPECT_FALSE(analyzer->descriptor().installed_only);
  auto result = AnalyzeAs(*analyzer, Relative(lock), ReadFile(lock));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->problems.empty());
  EXPECT_EQ(PackagesOf(*result), expected);
  for (const Package& p : result->packages) {
    if (p.name == "acme/beta") {
      EXPECT_EQ(p.licenses, (std::vector<std::string>{"BSD-3-Clause", "MIT"}));
    }
  }
}

TEST_F(ComposerTest, InstalledJsonVersion2AsComposerWroteIt) {
  ASSERT_TRUE(installed_) << *install_output_;
  auto analyzer = MakeComposerInstalledAnalyzer();
  EXPECT_TRUE(analyzer->descriptor().installed_only);
  const fs::path installed = dir_->path() / "app/vendor/composer/installed.json";
  ASSERT_TRUE(Wants(*analyzer, Relative(installed)));
  EXPECT_FALSE(Wants(*analyzer, "app/composer/installed.json"));
  auto result = AnalyzeAs(*analyzer, Relative(installed), ReadFile(installed));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(PackagesOf(*result), Expected());
}

// Composer 1 wrote installed.json as a bare list (no dev information).
TEST_F(ComposerTest, InstalledJsonVersion1AndDamage) {
  auto analyzer = MakeComposerInstalledAnalyzer();
  const std::string path = "var/www/vendor/composer/installed.json";
  auto v1 = AnalyzeAs(*analyzer, path,
                      R"([{"name": "monolog/monolog", "version": "1.25.1",
                           "version_normalized": "1.25.1.0"},
                          {"name": "psr/log"}])");
  ASSERT_TRUE(v1.ok()) << v1.error().message;
  EXPECT_EQ(PackagesOf(*v1), std::vector<std::string>{"monolog/monolog 1.25.1"});
  ASSERT_EQ(v1->problems.size(), 1u);
  EXPECT_NE(v1->problems[0].find("/var/www/vendor/composer/installed.json: /1: no name"),
            std::string::npos)
      << v1->problems[0];
  auto broken = AnalyzeAs(*analyzer, path, "{\n\"packages\": [\n{,}]}");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("line 3"), std::string::npos) << broken.error().message;
}

}  // namespace
}  // namespace moat
