// Cargo.lock against Python's tomllib, and cargo-auditable executables made with binutils:
// the .dep-v0 section (zlib-compressed JSON, cargo-auditable's PARSING.md) added to a real ELF
// executable with objcopy, read whole and streamed in parts as a layer delivers it.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "analyzer/lang/lang_test_util.h"
#include "walker/file_parts.h"

namespace moat {
namespace {

namespace fs = std::filesystem;
using lang::testing::AnalyzeAs;
using lang::testing::NameVersions;
using lang::testing::ReadFile;
using lang::testing::RunCommand;
using lang::testing::SplitString;
using lang::testing::TempDir;
using lang::testing::Wants;
using lang::testing::WriteFile;

const fs::path kTestdata = fs::path(MOAT_SOURCE_DIR) / "src/analyzer/lang/testdata";

TEST(CargoLock, EveryPackageWithASourceAsTomllibReadsIt) {
  const fs::path lock = kTestdata / "rust/Cargo.lock";
  int code = 0;
  std::string output = RunCommand(
      "/usr/bin/python3 -c 'import sys, tomllib; d = tomllib.load(open(sys.argv[1], \"rb\"));"
      " print(\"\\n\".join(sorted(p[\"name\"] + \" \" + p[\"version\"] for p in d[\"package\"]"
      " if \"source\" in p)))' '" +
          lock.string() + "'",
      &code);
  ASSERT_EQ(code, 0) << output;
  auto analyzer = MakeCargoLockAnalyzer();
  EXPECT_TRUE(Wants(*analyzer, "src/app/Cargo.lock"));
  EXPECT_FALSE(analyzer->descriptor().installed_only);
  auto result = AnalyzeAs(*analyzer, "src/app/Cargo.lock", ReadFile(lock));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->problems.empty());
  EXPECT_EQ(NameVersions(*result), SplitString(output, '\n'));
  EXPECT_EQ(result->packages.size(), 8u);  // the workspace crate "app" is not a dependency
  for (const Package& p : result->packages) {
    EXPECT_EQ(p.type, PackageType::kCargo);
    EXPECT_EQ(p.file_path, "/src/app/Cargo.lock");
  }
}

TEST(CargoLock, ErrorsNameTheFileAndLine) {
  auto analyzer = MakeCargoLockAnalyzer();
  auto broken = AnalyzeAs(*analyzer, "Cargo.lock", "version = 3\n\n[[package]\nname = \"x\"\n");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("/Cargo.lock: line 3"), std::string::npos)
      << broken.error().message;
  auto partial = AnalyzeAs(*analyzer, "Cargo.lock",
                           "[[package]]\nname = \"a\"\nsource = \"registry+x\"\n\n[[package]]\n"
                           "name = \"b\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\n");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(NameVersions(*partial), std::vector<std::string>{"b 1.0.0"});
  ASSERT_EQ(partial->problems.size(), 1u);
  EXPECT_NE(partial->problems[0].find("line 1"), std::string::npos) << partial->problems[0];
}

class CargoAuditableTest : public ::testing::Test {
 protected:
  // A copy of a real executable with `json` zlib-compressed into its .dep-v0 section.
  std::string MakeBinary(const std::string& json, bool compress = true) {
    const fs::path payload = dir_.path() / "dep-v0";
    const fs::path binary = dir_.path() / "app";
    WriteFile(dir_.path() / "dep.json", json);
    int code = 0;
    std::string out =
        RunCommand("/usr/bin/python3 -c 'import sys, zlib; open(sys.argv[2], \"wb\").write(" +
                       std::string(compress ? "zlib.compress(" : "(") +
                       "open(sys.argv[1], \"rb\").read()))' '" +
                       (dir_.path() / "dep.json").string() + "' '" + payload.string() + "' 2>&1",
                   &code);
    EXPECT_EQ(code, 0) << out;
    out = RunCommand("objcopy --add-section .dep-v0='" + payload.string() + "' /usr/bin/ls '" +
                         binary.string() + "' 2>&1",
                     &code);
    EXPECT_EQ(code, 0) << "objcopy (binutils): " << out;
    return ReadFile(binary);
  }
  TempDir dir_;
};

constexpr const char* kAuditableJson = R"({"packages":[
  {"name":"rustls","version":"0.20.8","source":"crates.io","dependencies":[1,2]},
  {"name":"ring","version":"0.16.20","source":"crates.io","dependencies":[3]},
  {"name":"webpki","version":"0.22.0","source":"git"},
  {"name":"cc","version":"1.0.79","source":"crates.io","kind":"build"},
  {"name":"myapp","version":"0.1.0","source":"local","dependencies":[0],"root":true}]})";

TEST_F(CargoAuditableTest, DependencyListReadWholeAndStreamed) {
  const std::string binary = MakeBinary(kAuditableJson);
  auto analyzer = MakeCargoAuditableAnalyzer();
  EXPECT_TRUE(analyzer->descriptor().installed_only);
  ASSERT_TRUE(analyzer->ReadsInParts());
  const std::string path = "usr/local/bin/myapp";
  auto whole = AnalyzeAs(*analyzer, path, binary, 0755);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  const std::vector<std::string> expected = {"cc 1.0.79 dev", "ring 0.16.20", "rustls 0.20.8",
                                             "webpki 0.22.0"};
  EXPECT_EQ(NameVersions(*whole), expected);
  for (const Package& p : whole->packages) {
    EXPECT_EQ(p.type, PackageType::kCargo);
    EXPECT_EQ(p.file_path, "/" + path);
  }
  // Streamed as a layer delivers it, padded far past the head the walker keeps.
  constexpr uint64_t kPadded = 64ull << 20;
  const FileMeta meta{path, 0755, kPadded};
  FilePartsCollector collector(
      kPadded, kFilePartsHeadBytes, kFilePartsMaxBytes,
      [&](const std::vector<FilePart>& parts) { return analyzer->NextRanges(meta, parts); });
  collector.Write(AsBytes(binary));
  const std::vector<uint8_t> zeros(1 << 20);
  for (uint64_t written = binary.size(); written < kPadded;) {
    const size_t count = static_cast<size_t>(std::min<uint64_t>(zeros.size(), kPadded - written));
    collector.Write(ByteSpan(zeros.data(), count));
    written += count;
  }
  EXPECT_LT(collector.held_bytes(), 512u << 10);
  auto parts = analyzer->AnalyzeParts(meta, collector.parts());
  ASSERT_TRUE(parts.ok()) << parts.error().message;
  EXPECT_EQ(NameVersions(*parts), expected);
}

TEST_F(CargoAuditableTest, PlainExecutablesAndDamagedSections) {
  auto analyzer = MakeCargoAuditableAnalyzer();
  auto plain = AnalyzeAs(*analyzer, "usr/bin/ls", ReadFile("/usr/bin/ls"), 0755);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->packages.empty());
  auto script = AnalyzeAs(*analyzer, "usr/bin/x", std::string(20000, '#'), 0755);
  ASSERT_TRUE(script.ok());
  EXPECT_TRUE(script->packages.empty());

  auto not_zlib = AnalyzeAs(*analyzer, "app", MakeBinary(kAuditableJson, false), 0755);
  ASSERT_FALSE(not_zlib.ok());
  EXPECT_NE(not_zlib.error().message.find("/app: .dep-v0 section at offset"), std::string::npos)
      << not_zlib.error().message;
  auto not_json = AnalyzeAs(*analyzer, "app", MakeBinary("{\"packages\": [1, {\"name\": 2}"), 0755);
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.error().message.find("not a JSON object"), std::string::npos);
  auto bad_entry = AnalyzeAs(
      *analyzer, "app",
      MakeBinary(
          R"({"packages":[{"name":"a"},{"name":"b","version":"1.0.0","source":"crates.io"}]})"),
      0755);
  ASSERT_TRUE(bad_entry.ok()) << bad_entry.error().message;
  EXPECT_EQ(NameVersions(*bad_entry), std::vector<std::string>{"b 1.0.0"});
  ASSERT_EQ(bad_entry->problems.size(), 1u);
  EXPECT_NE(bad_entry->problems[0].find("/packages/0"), std::string::npos);
}

}  // namespace
}  // namespace moat
