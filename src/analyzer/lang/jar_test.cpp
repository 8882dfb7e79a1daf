#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "analyzer/analyzer.h"
#include "analyzer/lang/jar_metadata.h"
#include "analyzer/lang/lang_test_util.h"

namespace moat {
namespace {

namespace fs = std::filesystem;
using lang::testing::AnalyzeAs;
using lang::testing::HaveTool;
using lang::testing::ReadFile;
using lang::testing::Relative;
using lang::testing::RunCommand;
using lang::testing::SplitString;
using lang::testing::TempDir;
using lang::testing::Wants;
using lang::testing::WriteFile;

constexpr char kJavaDir[] = "/usr/share/java";

using PackageKey = std::tuple<std::string, std::string, std::string>;  // name, version, file

std::set<PackageKey> Keys(const std::vector<Package>& packages) {
  std::set<PackageKey> keys;
  for (const Package& package : packages) {
    EXPECT_EQ(package.type, PackageType::kMaven);
    keys.insert({package.name, package.version, package.file_path});
  }
  return keys;
}

// Zips the contents of `dir` into `archive` with the zip tool.
void Zip(const fs::path& dir, const fs::path& archive) {
  int code = 0;
  std::string output =
      RunCommand("cd '" + dir.string() + "' && zip -q -r '" + archive.string() + "' . 2>&1", &code);
  ASSERT_EQ(code, 0) << output;
}

Result<AnalysisResult> AnalyzeFile(const fs::path& file) {
  auto analyzer = MakeJarAnalyzer();
  std::string relative = Relative(file);
  EXPECT_TRUE(Wants(*analyzer, relative));
  return AnalyzeAs(*analyzer, relative, ReadFile(file));
}

TEST(JarAnalyzerTest, WantsJavaArchives) {
  auto analyzer = MakeJarAnalyzer();
  EXPECT_EQ(analyzer->descriptor().name, "jar");
  EXPECT_TRUE(Wants(*analyzer, "usr/share/java/commons-lang3.jar"));
  EXPECT_TRUE(Wants(*analyzer, "opt/app/app.war"));
  EXPECT_TRUE(Wants(*analyzer, "opt/app/app.EAR"));
  EXPECT_FALSE(Wants(*analyzer, "opt/app/app.jar.sha1"));
  EXPECT_FALSE(Wants(*analyzer, "opt/app/app.zip"));
  EXPECT_FALSE(Wants(*analyzer, "opt/app/app.par"));
}

// The jars Debian installs (libcommons-lang3-java, libslf4j-java, libcommons-io-java and
// whatever else is there): every pom.properties Python's zipfile finds must be reported, and a
// jar whose own pom.properties is present gives exactly its pom.properties.
TEST(JarAnalyzerTest, MatchesPomPropertiesOfRealJars) {
  ASSERT_TRUE(fs::exists(kJavaDir))
      << kJavaDir
      << " missing: apt libcommons-lang3-java libslf4j-java libcommons-io-java "
         "(scripts/install-deps.sh test)";
  int code = 0;
  std::string oracle = RunCommand(
      "/usr/bin/python3 -c \"import zipfile, glob, os\n"
      "for j in sorted(glob.glob('" +
          std::string(kJavaDir) +
          "/*.jar')):\n"
          "  if os.path.islink(j): continue\n"
          "  print(j)\n"
          "  for n in zipfile.ZipFile(j).namelist():\n"
          "    if n.startswith('META-INF/maven/') and n.endswith('/pom.properties'):\n"
          "      p = {}\n"
          "      for l in zipfile.ZipFile(j).read(n).decode().splitlines():\n"
          "        if '=' in l and not l.startswith('#'): k, v = l.split('=', 1); "
          "p[k.strip()] = v.strip()\n"
          "      print(j, p['groupId'] + ':' + p['artifactId'], p['version'], sep='\\t')\"",
      &code);
  ASSERT_EQ(code, 0);
  std::map<std::string, std::set<PackageKey>> expected;
  for (const std::string& line : SplitString(oracle, '\n')) {
    std::vector<std::string> fields = SplitString(line, '\t');
    ASSERT_TRUE(fields.size() == 1 || fields.size() == 3) << line;
    auto& keys = expected[fields[0]];
    if (fields.size() == 3) keys.insert({fields[1], fields[2], fields[0]});
  }
  int with_poms = 0, exact = 0;
  for (const auto& [jar, poms] : expected) {
    SCOPED_TRACE(jar);
    auto result = AnalyzeFile(jar);
    ASSERT_TRUE(result.ok()) << result.error().message;
    std::set<PackageKey> found = Keys(result->packages);
    for (const PackageKey& pom : poms) EXPECT_TRUE(found.count(pom)) << std::get<0>(pom);
    if (!poms.empty()) ++with_poms;
    // Debian names jars after their artifact ("commons-lang3.jar"): then nothing else is added.
    std::string stem = fs::path(jar).stem().string();
    for (const PackageKey& pom : poms) {
      std::string name = std::get<0>(pom);
      if (name.substr(name.find(':') + 1) == stem) {
        EXPECT_EQ(found, poms);
        ++exact;
        break;
      }
    }
  }
  EXPECT_GE(with_poms, 3);
  EXPECT_GE(exact, 3);
  // The packages this test relies on (scripts/install-deps.sh installs them).
  auto lang3 = AnalyzeFile(fs::path(kJavaDir) / "commons-lang3.jar");
  ASSERT_TRUE(lang3.ok());
  ASSERT_EQ(lang3->packages.size(), 1u);
  EXPECT_EQ(lang3->packages[0].name, "org.apache.commons:commons-lang3");
}

class JarBuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(HaveTool("zip")) << "zip missing: apt zip (scripts/install-deps.sh test)";
  }
  TempDir dir_;
};

TEST_F(JarBuildTest, NestedArchivesUseBangSlashPaths) {
  const fs::path lang3 = fs::path(kJavaDir) / "commons-lang3.jar";
  const fs::path io = fs::path(kJavaDir) / "commons-io.jar";
  ASSERT_TRUE(fs::exists(lang3) && fs::exists(io))
      << "Debian jars missing: apt libcommons-lang3-java libcommons-io-java "
         "(scripts/install-deps.sh test)";
  auto lang3_alone = AnalyzeFile(lang3);
  auto io_alone = AnalyzeFile(io);
  ASSERT_TRUE(lang3_alone.ok() && io_alone.ok());
  ASSERT_EQ(lang3_alone->packages.size(), 1u);
  ASSERT_EQ(io_alone->packages.size(), 1u);

  // inner-app-3.1.jar holds lib/commons-io.jar; app.war holds it and commons-lang3.
  const fs::path inner = dir_.path() / "inner";
  fs::create_directories(inner / "lib");
  fs::copy_file(io, inner / "lib" / "commons-io.jar");
  WriteFile(inner / "com" / "example" / "Inner.class", "not really a class");
  Zip(inner, dir_.path() / "inner-app-3.1.jar");
  const fs::path war = dir_.path() / "war";
  fs::create_directories(war / "WEB-INF" / "lib");
  fs::copy_file(lang3, war / "WEB-INF" / "lib" / "commons-lang3.jar");
  fs::copy_file(dir_.path() / "inner-app-3.1.jar", war / "WEB-INF" / "lib" / "inner-app-3.1.jar");
  WriteFile(war / "index.html", "<html></html>");
  Zip(war, dir_.path() / "app.war");

  auto result = AnalyzeFile(dir_.path() / "app.war");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const std::string outer = (dir_.path() / "app.war").string();
  std::set<PackageKey> expected = {
      {lang3_alone->packages[0].name, lang3_alone->packages[0].version,
       outer + "!/WEB-INF/lib/commons-lang3.jar"},
      {"inner-app", "3.1", outer + "!/WEB-INF/lib/inner-app-3.1.jar"},
      {io_alone->packages[0].name, io_alone->packages[0].version,
       outer + "!/WEB-INF/lib/inner-app-3.1.jar!/lib/commons-io.jar"},
  };
  EXPECT_EQ(Keys(result->packages), expected);
}

TEST_F(JarBuildTest, ManifestAndFileNameIdentifyJarsWithoutPom) {
  const fs::path manifest_dir = dir_.path() / "m";
  WriteFile(manifest_dir / "META-INF" / "MANIFEST.MF",
            "Manifest-Version: 1.0\r\nImplementation-Title: Example Library\r\n"
            "Bundle-Name: my-lib\r\nImplementation-Version: 2.5.1\r\n"
            "Bundle-SymbolicName: com.example.mylib.my-lib;singleton:=true\r\n\r\n"
            "Name: com/example/\r\nImplementation-Version: 9.9\r\n");
  Zip(manifest_dir, dir_.path() / "renamed.jar");
  auto manifest = AnalyzeFile(dir_.path() / "renamed.jar");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_EQ(Keys(manifest->packages),
            (std::set<PackageKey>{
                {"com.example.mylib:my-lib", "2.5.1", (dir_.path() / "renamed.jar").string()}}));

  const fs::path plain = dir_.path() / "p";
  WriteFile(plain / "README.txt", "no metadata here");
  Zip(plain, dir_.path() / "log4j-1.2-api-2.17.1.jar");
  auto by_name = AnalyzeFile(dir_.path() / "log4j-1.2-api-2.17.1.jar");
  ASSERT_TRUE(by_name.ok()) << by_name.error().message;
  EXPECT_EQ(Keys(by_name->packages),
            (std::set<PackageKey>{
                {"log4j-1.2-api", "2.17.1", (dir_.path() / "log4j-1.2-api-2.17.1.jar").string()}}));

  Zip(plain, dir_.path() / "app.jar");
  auto unknown = AnalyzeFile(dir_.path() / "app.jar");
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->packages.empty());
}

TEST_F(JarBuildTest, NestingDepthIsBounded) {
  // level0-1.0.jar contains level1-1.0.jar contains ... level7-1.0.jar.
  fs::path previous;
  for (int level = 7; level >= 0; --level) {
    fs::path content = dir_.path() / ("d" + std::to_string(level));
    fs::create_directories(content / "lib");
    WriteFile(content / "x.txt", "x");
    if (!previous.empty()) fs::copy_file(previous, content / "lib" / previous.filename());
    fs::path archive = dir_.path() / ("level" + std::to_string(level) + "-1.0.jar");
    Zip(content, archive);
    previous = archive;
  }
  auto result = AnalyzeFile(previous);
  ASSERT_TRUE(result.ok()) << result.error().message;
  std::set<std::string> names;
  for (const Package& package : result->packages) names.insert(package.name);
  EXPECT_EQ(names, (std::set<std::string>{"level0", "level1", "level2", "level3", "level4"}));
}

TEST_F(JarBuildTest, CorruptArchivesGiveErrors) {
  std::string garbage;
  for (int i = 0; i < 10000; ++i) garbage.push_back(static_cast<char>((i * 2654435761u) >> 11));
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"empty", ""}, {"garbage", garbage}, {"zip-magic", "PK\x03\x04" + garbage}};
  const fs::path lang3 = fs::path(kJavaDir) / "commons-lang3.jar";
  std::string real = ReadFile(lang3);
  if (!real.empty()) {
    inputs.push_back({"truncated", real.substr(0, real.size() / 2)});
    std::string flipped = real;
    for (size_t i = 1000; i < flipped.size() / 2; i += 997) flipped[i] ^= 0x5a;
    inputs.push_back({"flipped", flipped});
  }
  auto analyzer = MakeJarAnalyzer();
  for (const auto& [label, content] : inputs) {
    auto result = AnalyzeAs(*analyzer, "app/x.jar", content);
    // Bit flips inside compressed data may still inflate (zip stores CRCs libarchive checks);
    // everything else must fail with the file named.
    if (label == "flipped" && result.ok()) continue;
    ASSERT_FALSE(result.ok()) << label;
    EXPECT_NE(result.error().message.find("/app/x.jar"), std::string::npos)
        << label << ": " << result.error().message;
  }

  // A corrupt nested jar: the error names the path inside the outer archive.
  const fs::path war = dir_.path() / "w";
  WriteFile(war / "WEB-INF" / "lib" / "broken.jar", garbage);
  Zip(war, dir_.path() / "bad.war");
  auto nested = AnalyzeFile(dir_.path() / "bad.war");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.error().message.find("bad.war!/WEB-INF/lib/broken.jar"), std::string::npos)
      << nested.error().message;
}

TEST(JarMetadataTest, PropertiesAndFileNames) {
  auto properties = lang::ParseJavaProperties(
      "#Generated by Maven\n! comment\ngroupId = org.example\nartifactId:demo\\\n  -core\n"
      "version 1.0\\:beta\n  \n");
  EXPECT_EQ(properties["groupId"], "org.example");
  EXPECT_EQ(properties["artifactId"], "demo-core");
  EXPECT_EQ(properties["version"], "1.0:beta");
  EXPECT_FALSE(lang::ParsePomProperties("groupId=a\nartifactId=b\n").has_value());

  auto name = lang::CoordinatesFromFileName("jackson-databind-2.13.4.2.jar");
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->artifact_id, "jackson-databind");
  EXPECT_EQ(name->version, "2.13.4.2");
  EXPECT_FALSE(lang::CoordinatesFromFileName("commons-lang3.jar").has_value());
  EXPECT_FALSE(lang::CoordinatesFromFileName("-1.0.jar").has_value());
  EXPECT_FALSE(lang::CoordinatesFromFileName("x-.jar").has_value());
}

}  // namespace
}  // namespace moat
