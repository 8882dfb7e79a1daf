#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <regex>
#include <set>

#include "analyzer/analyzer.h"
#include "analyzer/lang/go_buildinfo.h"
#include "analyzer/lang/lang_test_util.h"

namespace moat {
namespace {

using lang::testing::AnalyzeAs;
using lang::testing::HaveTool;
using lang::testing::ReadFile;
using lang::testing::Relative;
using lang::testing::RunCommand;
using lang::testing::SplitString;
using lang::testing::TempDir;
using lang::testing::Wants;
using lang::testing::WriteFile;

// What a binary should give: module (path, version) pairs, main module first.
struct Expected {
  std::string go_version;
  std::vector<std::pair<std::string, std::string>> modules;
  bool has_main = false;
};

// Reads `go version -m FILE` output: the oracle.
Expected ParseGoVersionM(const std::string& output, const std::string& file) {
  Expected expected;
  for (const std::string& line : SplitString(output, '\n')) {
    if (line.empty()) continue;
    if (line[0] != '\t') {
      std::string prefix = file + ": ";
      if (line.rfind(prefix, 0) == 0) expected.go_version = line.substr(prefix.size());
      continue;
    }
    std::vector<std::string> fields = SplitString(line.substr(1), '\t');
    if (fields.size() < 2) continue;
    std::string version = fields.size() > 2 ? fields[2] : "";
    if (fields[0] == "mod") {
      expected.modules.insert(expected.modules.begin(), {fields[1], version});
      expected.has_main = true;
    } else if (fields[0] == "dep") {
      expected.modules.push_back({fields[1], version});
    } else if (fields[0] == "=>") {
      // Replaces the module of the previous line, which is the last one added (or main).
      // It replaces the module of the previous line: the last one added ("mod" comes first).
      if (!expected.modules.empty()) expected.modules.back() = {fields[1], version};
    }
  }
  return expected;
}

void ExpectMatchesGoVersionM(const std::filesystem::path& file) {
  SCOPED_TRACE(file.string());
  int code = 0;
  std::string output = RunCommand("go version -m '" + file.string() + "' 2>/dev/null", &code);
  ASSERT_EQ(code, 0);
  Expected expected = ParseGoVersionM(output, file.string());
  ASSERT_FALSE(expected.go_version.empty()) << output;

  auto analyzer = MakeGoBinaryAnalyzer();
  std::string content = ReadFile(file);
  std::string relative = Relative(file);
  ASSERT_TRUE(Wants(*analyzer, relative, content.size(), 0755));
  auto result = AnalyzeAs(*analyzer, relative, content, 0755);
  ASSERT_TRUE(result.ok()) << result.error().message;
  // Every Go binary of a released toolchain also gives the standard library at the toolchain's
  // version ("go1.19.8" -> "v1.19.8"), last; vendor toolchains ("go1.25-20250209-RC00") do not.
  const std::string toolchain = expected.go_version.substr(0, expected.go_version.find(' '));
  const bool released =
      std::regex_match(toolchain, std::regex("go[0-9]+(\\.[0-9]+){0,2}((rc|beta)[0-9]+)?"));
  ASSERT_EQ(result->packages.size(), expected.modules.size() + (released ? 1 : 0));
  if (released) {
    const Package& stdlib = result->packages.back();
    EXPECT_EQ(stdlib.name, "stdlib");
    EXPECT_EQ(stdlib.go_version, expected.go_version);
    EXPECT_FALSE(stdlib.main_module);
    if (toolchain.find_first_of("rb") == std::string::npos) {
      const std::string semantic = "go" + stdlib.version.substr(1);  // without the "v"
      EXPECT_TRUE(semantic == toolchain || semantic == toolchain + ".0" ||
                  semantic == toolchain + ".0.0")
          << stdlib.version << " for " << toolchain;
    }
  }
  for (size_t i = 0; i < expected.modules.size(); ++i) {
    const Package& package = result->packages[i];
    EXPECT_EQ(package.type, PackageType::kGolang);
    EXPECT_EQ(package.name, expected.modules[i].first);
    EXPECT_EQ(package.version, expected.modules[i].second);
    EXPECT_EQ(package.go_version, expected.go_version);
    EXPECT_EQ(package.main_module, i == 0 && expected.has_main);
    EXPECT_EQ(package.file_path, "/" + relative);
  }
  // The lower-level reader agrees on the toolchain version even when there are no modules.
  auto info = lang::ReadGoBuildInfo(AsBytes(content), file.string());
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->go_version, expected.go_version);
}

TEST(GoBinaryAnalyzerTest, WantsExecutablesOfPlausibleSize) {
  auto analyzer = MakeGoBinaryAnalyzer();
  EXPECT_EQ(analyzer->descriptor().name, "gobinary");
  EXPECT_TRUE(Wants(*analyzer, "usr/bin/app", 5 << 20, 0755));
  EXPECT_TRUE(Wants(*analyzer, "usr/bin/app", 5 << 20, 0700));
  EXPECT_TRUE(Wants(*analyzer, "usr/bin/app", 5 << 20, 0001));
  EXPECT_FALSE(Wants(*analyzer, "usr/bin/app", 5 << 20, 0644));
  EXPECT_FALSE(Wants(*analyzer, "usr/bin/script.sh", 300, 0755));
}

// Every Go binary in /usr/bin and /usr/sbin of this machine (Debian's docker-registry, skopeo,
// dockerd built in GOPATH mode without modules, and module-built tools with hundreds of deps
// and replacements where installed; also /usr/local/bin) against `go version -m`.
TEST(GoBinaryAnalyzerTest, MatchesGoVersionMForBinariesOnThisMachine) {
  ASSERT_TRUE(HaveTool("go"))
      << "go toolchain missing: apt golang-go (scripts/install-deps.sh test)";
  // `go version FILE...` prints "FILE: goX.Y" for Go binaries only.
  std::string listing =
      RunCommand("go version /usr/bin/* /usr/sbin/* /usr/local/bin/* 2>/dev/null");
  std::set<std::string> files;
  for (const std::string& line : SplitString(listing, '\n')) {
    size_t colon = line.find(": go");
    if (colon == std::string::npos) continue;
    std::string file = line.substr(0, colon);
    // Symlinked tools (e.g. cloud SDK components) are compared once, at their real path.
    if (std::filesystem::is_regular_file(file)) files.insert(std::filesystem::canonical(file));
  }
  ASSERT_GE(files.size(), 1u) << "no Go binaries found; docker-registry is a test dependency";
  for (const std::string& file : files) ExpectMatchesGoVersionM(file);
}

TEST(GoBinaryAnalyzerTest, NonGoExecutablesGiveNothing) {
  auto analyzer = MakeGoBinaryAnalyzer();
  for (const char* file :
       {"/usr/bin/ls", "/usr/bin/bash", "/usr/bin/python3.11", "/usr/bin/cmake"}) {
    if (!std::filesystem::exists(file)) continue;
    auto result = AnalyzeAs(*analyzer, Relative(file), ReadFile(file), 0755);
    ASSERT_TRUE(result.ok()) << file << ": " << result.error().message;
    EXPECT_TRUE(result->packages.empty()) << file;
  }
  auto script = AnalyzeAs(*analyzer, "usr/bin/script", "#!/bin/sh\necho hi\n", 0755);
  ASSERT_TRUE(script.ok());
  EXPECT_TRUE(script->packages.empty());
}

// Builds a module with a replaced dependency, for several targets: 64-bit little endian, 32-bit
// (386), big endian (s390x), and stripped (-s -w), then a copy with the section headers removed
// so the build info must be found by scanning the data segment.
class GoBuildTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!HaveTool("go")) return;
    dir_ = new TempDir();
    const auto& root = dir_->path();
    WriteFile(root / "dep" / "go.mod", "module example.com/dep\n\ngo 1.19\n");
    WriteFile(root / "dep" / "dep.go", "package dep\n\nfunc Answer() int { return 42 }\n");
    WriteFile(root / "hello" / "go.mod",
              "module example.com/hello\n\ngo 1.19\n\nrequire example.com/dep v1.0.0\n\n"
              "replace example.com/dep => ../dep\n");
    WriteFile(
        root / "hello" / "main.go",
        "package main\n\nimport \"example.com/dep\"\n\nfunc main() { println(dep.Answer()) }\n");
    const std::string env =
        "cd '" + (root / "hello").string() + "' && GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local ";
    for (const auto& [name, flags] : std::vector<std::pair<std::string, std::string>>{
             {"amd64", ""},
             {"stripped", "-ldflags='-s -w'"},
             {"i386", "GOARCH=386"},
             {"s390x", "GOARCH=s390x -ldflags='-s -w'"}}) {
      std::string goarch, ldflags = flags;
      if (flags.rfind("GOARCH=", 0) == 0) {
        size_t space = flags.find(' ');
        goarch = flags.substr(0, space) + " ";
        ldflags = space == std::string::npos ? "" : flags.substr(space + 1);
      }
      int code = 0;
      std::string output = RunCommand(
          env + goarch + "go build " + ldflags + " -o '" + (root / name).string() + "' . 2>&1",
          &code);
      if (code != 0) {
        ADD_FAILURE() << "go build " << name << ": " << output;
      }
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(dir_, nullptr)
        << "go toolchain missing: apt golang-go (scripts/install-deps.sh test)";
  }
  static TempDir* dir_;
};
TempDir* GoBuildTest::dir_ = nullptr;

TEST_F(GoBuildTest, BuiltBinariesMatchGoVersionM) {
  for (const char* name : {"amd64", "stripped", "i386", "s390x"}) {
    ExpectMatchesGoVersionM(dir_->path() / name);
  }
  // The replacement is what is in the binary: "../dep (devel)" rather than example.com/dep.
  auto analyzer = MakeGoBinaryAnalyzer();
  auto result = AnalyzeAs(*analyzer, "app/hello", ReadFile(dir_->path() / "amd64"), 0755);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->packages.size(), 3u);
  EXPECT_EQ(result->packages[0].name, "example.com/hello");
  EXPECT_EQ(result->packages[0].version, "(devel)");
  EXPECT_TRUE(result->packages[0].main_module);
  EXPECT_EQ(result->packages[1].name, "../dep");
  EXPECT_FALSE(result->packages[1].main_module);
}

TEST_F(GoBuildTest, FindsBuildInfoWithoutSectionHeaders) {
  auto analyzer = MakeGoBinaryAnalyzer();
  for (const char* name : {"amd64", "i386"}) {
    std::string binary = ReadFile(dir_->path() / name);
    ASSERT_GT(binary.size(), 64u);
    auto original = AnalyzeAs(*analyzer, "app/hello", binary, 0755);
    ASSERT_TRUE(original.ok());
    // Zero e_shoff, e_shnum and e_shstrndx (little-endian ELF64 or ELF32 offsets).
    bool is64 = binary[4] == 2;
    for (size_t i = 0; i < (is64 ? 8u : 4u); ++i) binary[(is64 ? 40 : 32) + i] = 0;
    for (size_t i = 0; i < 4; ++i) binary[(is64 ? 60 : 48) + i] = 0;
    auto sectionless = AnalyzeAs(*analyzer, "app/hello", binary, 0755);
    ASSERT_TRUE(sectionless.ok()) << sectionless.error().message;
    ASSERT_EQ(sectionless->packages.size(), original->packages.size()) << name;
    for (size_t i = 0; i < original->packages.size(); ++i) {
      EXPECT_EQ(sectionless->packages[i].name, original->packages[i].name);
      EXPECT_EQ(sectionless->packages[i].version, original->packages[i].version);
      EXPECT_EQ(sectionless->packages[i].go_version, original->packages[i].go_version);
    }
  }
}

// The offset of the .go.buildinfo section as readelf(1) sees it.
uint64_t BuildInfoOffsetByReadelf(const std::filesystem::path& file) {
  std::string sections = RunCommand("readelf -SW '" + file.string() + "'");
  std::smatch match;
  if (!std::regex_search(sections, match,
                         std::regex(R"(\.go\.buildinfo\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+))"))) {
    return 0;
  }
  return std::stoull(match[1].str(), nullptr, 16);
}

void ExpectSamePackages(const AnalysisResult& a, const AnalysisResult& b) {
  ASSERT_EQ(a.packages.size(), b.packages.size());
  for (size_t i = 0; i < a.packages.size(); ++i) {
    EXPECT_EQ(a.packages[i].name, b.packages[i].name);
    EXPECT_EQ(a.packages[i].version, b.packages[i].version);
    EXPECT_EQ(a.packages[i].go_version, b.packages[i].go_version);
  }
}

// A 700 MB Terraform provider was skipped as over the file size limit. Streamed, as a layer
// delivers it (the real binary, then zero padding to 700 MB), only its start, the section names
// and the .go.buildinfo section are held, and the result is that of reading the binary whole.
TEST_F(GoBuildTest, HugeBinaryStreamedHoldsOnlyHeadersAndBuildInfo) {
  const std::string binary = ReadFile(dir_->path() / "amd64");
  constexpr uint64_t kPadded = 700ull << 20;
  auto analyzer = MakeGoBinaryAnalyzer();
  ASSERT_TRUE(analyzer->ReadsInParts());
  const std::string path = "usr/local/bin/terraform-provider-aws_v5.31.0_x5";
  const FileMeta meta{path, 0755, kPadded};
  EXPECT_TRUE(analyzer->Wants(meta));
  FilePartsCollector collector(
      kPadded, kFilePartsHeadBytes, kFilePartsMaxBytes,
      [&](const std::vector<FilePart>& parts) { return analyzer->NextRanges(meta, parts); });
  for (size_t offset = 0; offset < binary.size(); offset += 65536) {
    collector.Write(AsBytes(std::string_view(binary).substr(offset, 65536)));
  }
  const std::vector<uint8_t> zeros(1 << 20);
  for (uint64_t written = binary.size(); written < kPadded;) {
    const size_t count = static_cast<size_t>(std::min<uint64_t>(zeros.size(), kPadded - written));
    collector.Write(ByteSpan(zeros.data(), count));
    written += count;
  }
  EXPECT_LT(collector.held_bytes(), 128u << 10);
  const uint64_t section = BuildInfoOffsetByReadelf(dir_->path() / "amd64");
  ASSERT_NE(section, 0u);
  bool held_section = false;
  for (const FilePart& part : collector.parts()) held_section |= part.offset == section;
  EXPECT_TRUE(held_section) << "the .go.buildinfo section at " << section;

  auto in_parts = analyzer->AnalyzeParts(meta, collector.parts());
  ASSERT_TRUE(in_parts.ok()) << in_parts.error().message;
  auto whole = AnalyzeAs(*analyzer, path, binary, 0755);
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->packages.size(), 3u);
  ExpectSamePackages(*in_parts, *whole);
}

// Read with random access (a mapped file), the reader asks for the headers, the section header
// table, the section names and the .go.buildinfo section: a few kilobytes of the file.
TEST_F(GoBuildTest, RangesAreHeadersSectionNamesAndBuildInfo) {
  const std::string binary = ReadFile(dir_->path() / "i386");
  std::vector<std::string> held;
  std::vector<FilePart> parts;
  uint64_t total = 0;
  std::vector<FileRange> asked;
  for (int round = 0; round < 8; ++round) {
    std::vector<FileRange> ranges = lang::GoBuildInfoRanges(parts, binary.size());
    if (ranges.empty()) break;
    for (const FileRange& range : ranges) {
      asked.push_back(range);
      held.push_back(binary.substr(range.offset, range.size));
      total += range.size;
    }
    parts.clear();
    for (size_t i = 0; i < held.size(); ++i) parts.push_back({asked[i].offset, AsBytes(held[i])});
  }
  EXPECT_LT(total, 16u << 10) << asked.size() << " ranges";
  EXPECT_TRUE(lang::GoBuildInfoRanges(parts, binary.size()).empty());
  const uint64_t section = BuildInfoOffsetByReadelf(dir_->path() / "i386");
  EXPECT_TRUE(std::any_of(asked.begin(), asked.end(),
                          [&](const FileRange& r) { return r.offset == section; }));
  auto info = lang::ReadGoBuildInfo(parts, binary.size(), "i386");
  auto whole = lang::ReadGoBuildInfo(AsBytes(binary), "i386");
  ASSERT_TRUE(info.ok() && whole.ok());
  ASSERT_TRUE(info->has_value() && whole->has_value());
  EXPECT_EQ((*info)->go_version, (*whole)->go_version);
  EXPECT_EQ((*info)->deps.size(), (*whole)->deps.size());
}

TEST_F(GoBuildTest, TruncatedAndCorruptBinariesNeverCrash) {
  auto analyzer = MakeGoBinaryAnalyzer();
  std::string binary = ReadFile(dir_->path() / "amd64");
  size_t magic = binary.find(std::string("\xff Go buildinf:", 14));
  ASSERT_NE(magic, std::string::npos);
  for (size_t length : {size_t{0}, size_t{4}, size_t{52}, size_t{64}, size_t{4096}, magic,
                        magic + 20, magic + 33, magic + 40, binary.size() / 2, binary.size() - 1}) {
    auto result = AnalyzeAs(*analyzer, "app/hello", binary.substr(0, length), 0755);
    if (result.ok()) continue;
    EXPECT_NE(result.error().message.find("/app/hello"), std::string::npos);
  }
  // A version string length running past the end of the file.
  std::string corrupt = binary;
  corrupt[magic + 32] = '\xff';
  corrupt[magic + 33] = '\xff';
  corrupt[magic + 34] = '\xff';
  corrupt[magic + 35] = '\x7f';
  auto result = AnalyzeAs(*analyzer, "app/hello", corrupt, 0755);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("/app/hello"), std::string::npos);
  EXPECT_NE(result.error().message.find("offset 0x"), std::string::npos);
  // Garbage after an ELF magic.
  std::string garbage =
      "\x7f"
      "ELF\x02\x01";
  for (int i = 0; i < 100000; ++i) garbage.push_back(static_cast<char>((i * 2654435761u) >> 13));
  auto garbage_result = AnalyzeAs(*analyzer, "app/hello", garbage, 0755);
  if (!garbage_result.ok()) {
    EXPECT_NE(garbage_result.error().message.find("/app/hello"), std::string::npos);
  }
}

// Go before 1.18 stored pointers to Go string headers instead of the strings; this toolchain
// cannot produce that layout, so build a minimal ELF with it: one RW PT_LOAD, no sections.
std::string MakeOldFormatElf(bool is64, bool big_endian, const std::string& version,
                             const std::string& modinfo_text) {
  const size_t word = is64 ? 8 : 4;
  const uint64_t base = 0x400000;
  std::string file(0x1000, '\0');
  auto put = [&](size_t offset, uint64_t value, size_t width) {
    for (size_t i = 0; i < width; ++i) {
      size_t shift = big_endian ? (width - 1 - i) * 8 : i * 8;
      file[offset + i] = static_cast<char>((value >> shift) & 0xff);
    }
  };
  file[0] = 0x7f, file[1] = 'E', file[2] = 'L', file[3] = 'F';
  file[4] = is64 ? 2 : 1;
  file[5] = big_endian ? 2 : 1;
  file[6] = 1;
  const size_t phoff = is64 ? 64 : 52;
  if (is64) {
    put(32, phoff, 8);     // e_phoff
    put(54, 56, 2);        // e_phentsize
    put(56, 1, 2);         // e_phnum
    put(phoff, 1, 4);      // PT_LOAD
    put(phoff + 4, 6, 4);  // PF_R | PF_W
    put(phoff + 8, 0, 8);
    put(phoff + 16, base, 8);
    put(phoff + 32, file.size(), 8);
  } else {
    put(28, phoff, 4);
    put(42, 32, 2);
    put(44, 1, 2);
    put(phoff, 1, 4);
    put(phoff + 4, 0, 4);
    put(phoff + 8, base, 4);
    put(phoff + 16, file.size(), 4);
    put(phoff + 24, 6, 4);
  }
  const size_t header = 0x200;
  file.replace(header, 14, std::string("\xff Go buildinf:", 14));
  file[header + 14] = static_cast<char>(word);
  file[header + 15] = big_endian ? 1 : 0;
  const size_t version_header = 0x240, modinfo_header = 0x260;
  const size_t version_data = 0x300, modinfo_data = 0x400;
  put(header + 16, base + version_header, word);
  put(header + 16 + word, base + modinfo_header, word);
  put(version_header, base + version_data, word);
  put(version_header + word, version.size(), word);
  std::string modinfo = std::string(16, 'S') + modinfo_text + std::string(16, 'E');
  put(modinfo_header, base + modinfo_data, word);
  put(modinfo_header + word, modinfo.size(), word);
  file.replace(version_data, version.size(), version);
  file.replace(modinfo_data, modinfo.size(), modinfo);
  return file;
}

TEST(GoBuildInfoTest, OldPointerFormatAllLayouts) {
  const std::string modinfo =
      "path\texample.com/old/cmd/tool\n"
      "mod\texample.com/old\tv1.4.0\th1:abc=\n"
      "dep\tgithub.com/pkg/errors\tv0.9.1\th1:def=\n"
      "dep\tgolang.org/x/sys\tv0.0.0-20200930185726-fdedc70b468f\th1:ghi=\n"
      "=>\tgithub.com/fork/sys\tv0.1.0\th1:jkl=\n";
  auto analyzer = MakeGoBinaryAnalyzer();
  for (bool is64 : {true, false}) {
    for (bool big_endian : {false, true}) {
      SCOPED_TRACE(std::to_string(is64) + std::to_string(big_endian));
      std::string elf = MakeOldFormatElf(is64, big_endian, "go1.16.15", modinfo);
      auto result = AnalyzeAs(*analyzer, "bin/tool", elf, 0755);
      ASSERT_TRUE(result.ok()) << result.error().message;
      ASSERT_EQ(result->packages.size(), 4u);
      EXPECT_EQ(result->packages[0].name, "example.com/old");
      EXPECT_EQ(result->packages[0].version, "v1.4.0");
      EXPECT_TRUE(result->packages[0].main_module);
      EXPECT_EQ(result->packages[1].name, "github.com/pkg/errors");
      EXPECT_EQ(result->packages[1].version, "v0.9.1");
      EXPECT_EQ(result->packages[2].name, "github.com/fork/sys");
      EXPECT_EQ(result->packages[2].version, "v0.1.0");
      EXPECT_EQ(result->packages[3].name, "stdlib");
      EXPECT_EQ(result->packages[3].version, "v1.16.15");
      for (const Package& package : result->packages) {
        EXPECT_EQ(package.go_version, "go1.16.15");
        EXPECT_EQ(package.file_path, "/bin/tool");
      }
      // A pointer outside every segment (bits 16-23 of the version pointer flipped) is an error
      // naming the file and the offset.
      std::string bad = elf;
      bad[0x200 + 16 + (big_endian ? (is64 ? 5 : 1) : 2)] ^= 0x7f;
      auto error = AnalyzeAs(*analyzer, "bin/tool", bad, 0755);
      ASSERT_FALSE(error.ok());
      EXPECT_NE(error.error().message.find("/bin/tool"), std::string::npos);
      EXPECT_NE(error.error().message.find("offset 0x200"), std::string::npos);
    }
  }
}

TEST(GoBuildInfoTest, ModInfoWithoutModulesGivesNoPackages) {
  // GOPATH-mode binaries (as Debian builds them) have only a "path" line.
  lang::GoBuildInfo info;
  lang::ParseGoModInfo("path\tgithub.com/docker/distribution/cmd/registry\nbuild\tGOOS=linux\n",
                       info);
  EXPECT_EQ(info.path, "github.com/docker/distribution/cmd/registry");
  EXPECT_FALSE(info.main.has_value());
  EXPECT_TRUE(info.deps.empty());
  // Stray "=>" lines and short lines are ignored, not crashes.
  lang::ParseGoModInfo("=>\tx\ty\ndep\nmod\n\t\t\n", info);
  EXPECT_TRUE(info.deps.empty());
}

}  // namespace
}  // namespace moat
