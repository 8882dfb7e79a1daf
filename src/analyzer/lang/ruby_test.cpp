// Gem specifications and Gemfile.lock against Ruby itself: every installed gem's specification
// on this machine (Debian's ruby, ruby-rack, rubygems-integration) read by
// Gem::Specification.load, and Gemfile.lock files read by Bundler::LockfileParser.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
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

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ",") + part;
  return out;
}

std::vector<fs::path> InstalledGemspecs() {
  std::vector<fs::path> out;
  for (const char* dir : {"/usr/lib/ruby/gems/3.1.0/specifications",
                          "/usr/lib/ruby/gems/3.1.0/specifications/default",
                          "/usr/share/rubygems-integration/all/specifications"}) {
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".gemspec") out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Gemspec, EveryInstalledSpecificationAsRubyLoadsIt) {
  ASSERT_TRUE(lang::testing::HaveTool("ruby"))
      << "ruby is missing (scripts/install-deps.sh test: ruby ruby-rack)";
  std::vector<fs::path> specs = InstalledGemspecs();
  ASSERT_GT(specs.size(), 60u) << "ruby's default gems and ruby-rack are missing";
  std::string command =
      "ruby -e 'ARGV.each { |f| s = Gem::Specification.load(f); puts [f, s.name, s.version.to_s, "
      "s.licenses.join(\",\")].join(\"\\t\") }'";
  for (const auto& spec : specs) command += " '" + spec.string() + "'";
  int code = 0;
  std::string output = RunCommand(command + " 2>/dev/null", &code);
  ASSERT_EQ(code, 0) << output;
  std::map<std::string, std::vector<std::string>> expected;
  for (const std::string& line : SplitString(output, '\n')) {
    std::vector<std::string> fields = SplitString(line, '\t');
    if (fields.size() == 3) fields.push_back("");
    ASSERT_EQ(fields.size(), 4u) << line;
    expected[fields[0]] = {fields[1], fields[2], fields[3]};
  }
  ASSERT_EQ(expected.size(), specs.size());
  auto analyzer = MakeGemspecAnalyzer();
  EXPECT_TRUE(analyzer->descriptor().installed_only);
  size_t rack = 0;
  for (const auto& spec : specs) {
    const std::string relative = Relative(spec);
    ASSERT_TRUE(Wants(*analyzer, relative)) << relative;
    auto result = AnalyzeAs(*analyzer, relative, ReadFile(spec));
    ASSERT_TRUE(result.ok()) << result.error().message;
    ASSERT_EQ(result->packages.size(), 1u) << spec;
    EXPECT_TRUE(result->problems.empty()) << spec << ": " << result->problems.front();
    const Package& p = result->packages[0];
    EXPECT_EQ(p.type, PackageType::kGem);
    EXPECT_EQ(p.file_path, spec.string());
    const auto& want = expected[spec.string()];
    EXPECT_EQ(p.name, want[0]) << spec;
    EXPECT_EQ(p.version, want[1]) << spec;
    EXPECT_EQ(Join(p.licenses), want[2]) << spec;
    rack += p.name == "rack";
  }
  EXPECT_EQ(rack, 1u) << "ruby-rack's specification (rubygems-integration) was not read";
}

TEST(Gemspec, WantsOnlyInstalledSpecifications) {
  auto analyzer = MakeGemspecAnalyzer();
  EXPECT_TRUE(Wants(*analyzer, "usr/local/bundle/specifications/rails-7.0.4.gemspec"));
  EXPECT_TRUE(Wants(*analyzer, "var/lib/gems/3.1.0/specifications/default/json-2.6.1.gemspec"));
  EXPECT_FALSE(Wants(*analyzer, "app/rails.gemspec"));  // a build recipe in a source tree
  EXPECT_FALSE(Wants(*analyzer, "usr/local/bundle/specifications/rails-7.0.4.gemspec",
                     /*size=*/64ull << 20));
}

TEST(Gemspec, LiteralsAndDamage) {
  auto analyzer = MakeGemspecAnalyzer();
  const std::string path = "usr/local/bundle/specifications/x-1.0.gemspec";
  auto odd = AnalyzeAs(*analyzer, path,
                       "Gem::Specification.new do |spec|\n"
                       "  spec.name = %q{caf\\u00e9}\n"
                       "  spec.version = Gem::Version.new('1.0.beta')\n"
                       "  spec.license = \"Apache-2.0\"\n"
                       "  spec.summary = \"ignored\"\n"
                       "end\n");
  ASSERT_TRUE(odd.ok()) << odd.error().message;
  ASSERT_EQ(odd->packages.size(), 1u);
  EXPECT_EQ(odd->packages[0].name, "caf\\u00e9");  // %q does not interpret escapes
  EXPECT_EQ(odd->packages[0].version, "1.0.beta");
  EXPECT_EQ(odd->packages[0].licenses, std::vector<std::string>{"Apache-2.0"});
  auto escaped = AnalyzeAs(*analyzer, path, "s.name = \"caf\\u00E9\".freeze\ns.version = \"2\"\n");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->packages[0].name, "caf\xc3\xa9");
  auto computed = AnalyzeAs(*analyzer, path, "s.name = \"x\"\ns.version = VERSION\n");
  ASSERT_FALSE(computed.ok());
  EXPECT_NE(computed.error().message.find("/" + path), std::string::npos);
  EXPECT_NE(computed.error().message.find("no version"), std::string::npos);
}

// Bundler::LockfileParser (Debian's ruby) on the lock files Debian ships and on one with every
// section kind and a platform-specific gem.
TEST(GemfileLock, AsBundlerParsesIt) {
  ASSERT_TRUE(lang::testing::HaveTool("ruby")) << "ruby is missing (scripts/install-deps.sh test)";
  TempDir tmp;
  std::vector<fs::path> locks;
  for (const char* real : {"/usr/lib/ruby/gems/3.1.0/gems/rbs-2.1.0/steep/Gemfile.lock",
                           "/usr/lib/ruby/gems/3.1.0/gems/typeprof-0.21.2/Gemfile.lock"}) {
    ASSERT_TRUE(fs::exists(real)) << real << " (Debian's libruby3.1) is missing";
    fs::path copy = tmp.path() / ("real" + std::to_string(locks.size())) / "Gemfile.lock";
    WriteFile(copy, ReadFile(real));
    locks.push_back(copy);
  }
  fs::path made = tmp.path() / "made" / "Gemfile.lock";
  WriteFile(made,
            "GIT\n"
            "  remote: https://github.com/rails/rails.git\n"
            "  revision: 0123456789abcdef0123456789abcdef01234567\n"
            "  branch: main\n"
            "  specs:\n"
            "    actionpack (7.1.0.alpha)\n"
            "      rack (~> 2.0)\n"
            "\n"
            "PATH\n"
            "  remote: .\n"
            "  specs:\n"
            "    myapp (0.1.0)\n"
            "\n"
            "GEM\n"
            "  remote: https://rubygems.org/\n"
            "  specs:\n"
            "    nokogiri (1.13.10-x86_64-linux)\n"
            "      racc (~> 1.4)\n"
            "    racc (1.6.2)\n"
            "    rack (2.2.4)\n"
            "\n"
            "PLATFORMS\n"
            "  x86_64-linux\n"
            "\n"
            "DEPENDENCIES\n"
            "  actionpack!\n"
            "  myapp!\n"
            "  nokogiri\n"
            "\n"
            "BUNDLED WITH\n"
            "   2.3.7\n");
  locks.push_back(made);
  auto analyzer = MakeGemfileLockAnalyzer();
  for (const fs::path& lock : locks) {
    WriteFile(lock.parent_path() / "Gemfile", "");
    int code = 0;
    std::string output = RunCommand(
        "cd '" + lock.parent_path().string() +
            "' && ruby -rbundler -e 'puts Bundler::LockfileParser.new(File.read(\"Gemfile.lock\"))"
            ".specs.map { |s| \"#{s.name} #{s.version}\" }.sort' 2>&1",
        &code);
    ASSERT_EQ(code, 0) << output;
    auto result = AnalyzeAs(*analyzer, Relative(lock), ReadFile(lock));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_TRUE(result->problems.empty());
    std::vector<std::string> ours;
    for (const Package& p : result->packages) {
      EXPECT_EQ(p.type, PackageType::kGem);
      EXPECT_FALSE(p.dev);
      ours.push_back(p.name + " " + p.version);
    }
    std::sort(ours.begin(), ours.end());
    std::vector<std::string> theirs = SplitString(output, '\n');
    EXPECT_EQ(ours, theirs) << lock;
    EXPECT_GE(ours.size(), 4u);
  }
}

TEST(GemfileLock, DamageNamesTheLine) {
  auto analyzer = MakeGemfileLockAnalyzer();
  EXPECT_TRUE(Wants(*analyzer, "app/Gemfile.lock"));
  EXPECT_FALSE(analyzer->descriptor().installed_only);
  auto damaged = AnalyzeAs(*analyzer, "app/Gemfile.lock",
                           "GEM\n  specs:\n    rack (2.2.4)\n    broken-line\n    rake (13.0.6)\n");
  ASSERT_TRUE(damaged.ok());
  EXPECT_EQ(damaged->packages.size(), 2u);
  ASSERT_EQ(damaged->problems.size(), 1u);
  EXPECT_NE(damaged->problems[0].find("/app/Gemfile.lock: line 4"), std::string::npos)
      << damaged->problems[0];
  auto not_lock = AnalyzeAs(*analyzer, "app/Gemfile.lock", "  just text\n");
  ASSERT_FALSE(not_lock.ok());
  EXPECT_NE(not_lock.error().message.find("/app/Gemfile.lock"), std::string::npos);
}

}  // namespace
}  // namespace moat
