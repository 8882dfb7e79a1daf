// Lock files of 5,000 packages (issue 15's target: scanning one under 100 ms): each format
// parsed by its analyzer, and the whole `moat fs` path (ScanRootfs over a directory holding the
// lock file, then matching) for a package-lock.json and a requirements.txt, the latter against a
// database built from the whole OSV PyPI data with real PyPI names at old versions.
//
// The generated files follow each tool's own shape (npm lockfileVersion 3 with nested installs
// and dev packages, yarn v1 blocks, pnpm 9 snapshots, pinned requirements, poetry [[package]]
// tables, go.mod require blocks, Gradle's lock lines).

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "analyzer/analyzer.h"
#include "match/match.h"
#include "scan/scanner.h"
#include "vulndb/build.h"

namespace {

constexpr int kPackages = 5000;

std::string Name(int i) {
  return (i % 7 == 0 ? "@scope" + std::to_string(i % 50) + "/" : "") + "pkg-" + std::to_string(i);
}
std::string Version(int i) {
  return std::to_string(i % 9) + "." + std::to_string(i % 23) + "." + std::to_string(i % 5);
}

std::string PackageLock() {
  nlohmann::json packages = nlohmann::json::object();
  packages[""] = {{"name", "app"}, {"version", "1.0.0"}};
  for (int i = 0; i < kPackages; ++i) {
    // One in ten installed nested under another package, one in four a dev dependency.
    std::string path = i % 10 == 0 && i > 0
                           ? "node_modules/" + Name(i - 1) + "/node_modules/" + Name(i)
                           : "node_modules/" + Name(i);
    nlohmann::json entry = {{"version", Version(i)},
                            {"resolved", "https://registry.npmjs.org/" + Name(i) + "/-/x.tgz"},
                            {"integrity", "sha512-" + std::string(86, 'A')},
                            {"license", "MIT"}};
    if (i % 4 == 0) entry["dev"] = true;
    if (i % 3 == 0) entry["dependencies"] = {{Name((i + 1) % kPackages), "^" + Version(i + 1)}};
    packages[path] = entry;
  }
  return nlohmann::json({{"name", "app"},
                         {"version", "1.0.0"},
                         {"lockfileVersion", 3},
                         {"requires", true},
                         {"packages", packages}})
      .dump(2);
}

std::string YarnLock() {
  std::string out = "# yarn lockfile v1\n\n\n";
  for (int i = 0; i < kPackages; ++i) {
    out += "\"" + Name(i) + "@^" + Version(i) + "\":\n  version \"" + Version(i) +
           "\"\n  resolved \"https://registry.yarnpkg.com/" + Name(i) +
           "/-/x.tgz#0123456789abcdef\"\n  integrity sha512-" + std::string(86, 'A') +
           "\n  dependencies:\n    " + Name((i + 1) % kPackages) + " \"^" +
           Version((i + 1) % kPackages) + "\"\n\n";
  }
  return out;
}

std::string PnpmLock() {
  std::string out = "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n";
  for (int i = 0; i < kPackages; i += 10) {
    out += "      '" + Name(i) + "':\n        specifier: ^" + Version(i) +
           "\n        version: " + Version(i) + "\n";
  }
  out += "\npackages:\n\n";
  for (int i = 0; i < kPackages; ++i) {
    out += "  '" + Name(i) + "@" + Version(i) + "':\n    resolution: {integrity: sha512-" +
           std::string(86, 'A') + "}\n\n";
  }
  out += "snapshots:\n\n";
  for (int i = 0; i < kPackages; ++i) {
    out += "  '" + Name(i) + "@" + Version(i) + "':\n    dependencies:\n      '" +
           Name((i + 1) % kPackages) + "': " + Version((i + 1) % kPackages) + "\n\n";
  }
  return out;
}

std::string PoetryLock() {
  std::string out;
  for (int i = 0; i < kPackages; ++i) {
    out += "[[package]]\nname = \"py-" + std::to_string(i) + "\"\nversion = \"" + Version(i) +
           "\"\ndescription = \"x\"\noptional = false\npython-versions = \">=3.8\"\ngroups = [\"" +
           (i % 4 ? "main" : "dev") + "\"]\nfiles = [\n    {file = \"py_" + std::to_string(i) +
           ".whl\", hash = \"sha256:" + std::string(64, 'a') + "\"},\n]\n\n";
  }
  return out + "[metadata]\nlock-version = \"2.1\"\n";
}

std::string GoMod() {
  std::string out = "module example.com/app\n\ngo 1.22\n\nrequire (\n";
  for (int i = 0; i < kPackages; ++i) {
    out += "\tgithub.com/org" + std::to_string(i % 97) + "/mod" + std::to_string(i) + " v" +
           Version(i) + (i % 2 ? " // indirect" : "") + "\n";
  }
  return out + ")\n";
}

std::string GradleLock() {
  std::string out = "# This is a Gradle generated file for dependency locking.\n";
  for (int i = 0; i < kPackages; ++i) {
    out += "org.example" + std::to_string(i % 97) + ":lib" + std::to_string(i) + ":" + Version(i) +
           (i % 4 ? "=compileClasspath,runtimeClasspath\n" : "=testRuntimeClasspath\n");
  }
  return out + "empty=annotationProcessor\n";
}

void Parse(benchmark::State& state, std::unique_ptr<moat::Analyzer> analyzer, const char* path,
           const std::string& content, const moat::TreeFileReader* tree = nullptr) {
  moat::FileMeta meta{path, 0644, content.size(), tree};
  size_t packages = 0;
  for (auto _ : state) {
    auto result = analyzer->Analyze(meta, moat::AsBytes(content));
    if (!result.ok()) {
      state.SkipWithError(result.error().message.c_str());
      return;
    }
    packages = result->packages.size();
    benchmark::DoNotOptimize(result);
  }
  state.counters["packages"] = static_cast<double>(packages);
  state.counters["MB"] = static_cast<double>(content.size()) / 1e6;
}

void BM_PackageLockV3(benchmark::State& s) {
  Parse(s, moat::MakeNpmLockAnalyzer(), "package-lock.json", PackageLock());
}
void BM_YarnLockV1(benchmark::State& s) {
  Parse(s, moat::MakeYarnLockAnalyzer(), "yarn.lock", YarnLock());
}
// The same with the package.json beside it: every tenth package a dependency, every other tenth
// a development one, the rest reached through the lock file's dependency lists.
void BM_YarnLockV1DevMarking(benchmark::State& s) {
  std::string dependencies, dev;
  for (int i = 0; i < kPackages; i += 10) {
    dependencies += std::string(dependencies.empty() ? "" : ",") + "\"" + Name(i) + "\":\"^" +
                    Version(i) + "\"";
    dev +=
        std::string(dev.empty() ? "" : ",") + "\"" + Name(i + 5) + "\":\"^" + Version(i + 5) + "\"";
  }
  const std::string manifest =
      "{\"dependencies\":{" + dependencies + "},\"devDependencies\":{" + dev + "}}";
  const moat::TreeFileReader tree = [&manifest](std::string_view) -> moat::Result<std::string> {
    return manifest;
  };
  Parse(s, moat::MakeYarnLockAnalyzer(), "yarn.lock", YarnLock(), &tree);
}
void BM_PnpmLockV9(benchmark::State& s) {
  Parse(s, moat::MakePnpmLockAnalyzer(), "pnpm-lock.yaml", PnpmLock());
}
void BM_PoetryLock(benchmark::State& s) {
  Parse(s, moat::MakePoetryLockAnalyzer(), "poetry.lock", PoetryLock());
}
void BM_GoMod(benchmark::State& s) { Parse(s, moat::MakeGoModAnalyzer(), "go.mod", GoMod()); }
void BM_GradleLock(benchmark::State& s) {
  Parse(s, moat::MakeGradleLockAnalyzer(), "gradle.lockfile", GradleLock());
}
BENCHMARK(BM_PackageLockV3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_YarnLockV1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_YarnLockV1DevMarking)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PnpmLockV9)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PoetryLock)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GoMod)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GradleLock)->Unit(benchmark::kMillisecond);

// ---- the whole `moat fs` path: walk, parse, match ----

std::string SharedData() {
  const char* env = std::getenv("MOAT_SHARED_DATA_DIR");
  return env ? env : MOAT_SHARED_DATA_DIR;
}

struct FsFixture {
  std::filesystem::path dir;
  std::unique_ptr<moat::vulndb::Database> db;
  moat::AnalyzerRegistry analyzers;
};

// A directory with a 5,000-package package-lock.json and a requirements.txt of 5,000 real PyPI
// names (those of the OSV data, padded with names without advisories) at version 0.1.0, and the
// database of the whole OSV PyPI data.
FsFixture& Fixture() {
  static FsFixture* fixture = [] {
    auto* f = new FsFixture();
    f->dir = std::filesystem::temp_directory_path() /
             ("moat-lockfile-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(f->dir / "web");
    std::filesystem::create_directories(f->dir / "api");
    std::ofstream(f->dir / "web/package-lock.json") << PackageLock();
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(SharedData() + "/vuln/osv/PyPI")) {
      if (names.size() >= kPackages / 2) break;
      std::ifstream in(entry.path());
      auto doc = nlohmann::json::parse(in, nullptr, false);
      if (doc.is_discarded() || !doc.contains("affected")) continue;
      for (const auto& a : doc["affected"]) names.insert(a["package"].value("name", "x"));
    }
    std::string requirements;
    int filler = 0;
    for (const auto& name : names) requirements += name + "==0.1.0\n";
    while (filler + names.size() < static_cast<size_t>(kPackages)) {
      requirements += "no-advisory-" + std::to_string(filler++) + "==1.0.0\n";
    }
    std::ofstream(f->dir / "api/requirements.txt") << requirements;
    const std::string db_path = (f->dir / "pypi.db").string();
    auto built = moat::vulndb::BuildDatabase(
        {{moat::vulndb::FeedKind::kOsv, SharedData() + "/vuln/osv/PyPI", ""}}, db_path);
    if (!built.ok()) std::abort();
    auto db = moat::vulndb::OpenDatabase(db_path);
    if (!db.ok()) std::abort();
    f->db = std::move(*db);
    moat::RegisterSourceTreeAnalyzers(f->analyzers);
    return f;
  }();
  return *fixture;
}

void ScanTree(benchmark::State& state, const std::string& subdir) {
  FsFixture& f = Fixture();
  moat::ScanOptions options;
  size_t packages = 0, findings = 0;
  for (auto _ : state) {
    auto inventory = moat::ScanRootfs((f.dir / subdir).string(), f.analyzers, options);
    if (!inventory.ok()) {
      state.SkipWithError(inventory.error().message.c_str());
      return;
    }
    auto matched = moat::match::MatchInventory(*inventory, *f.db);
    packages = inventory->packages.size();
    findings = matched.findings.size();
    benchmark::DoNotOptimize(matched);
  }
  state.counters["packages"] = static_cast<double>(packages);
  state.counters["findings"] = static_cast<double>(findings);
}

void BM_FsPackageLock(benchmark::State& s) { ScanTree(s, "web"); }
void BM_FsRequirements(benchmark::State& s) { ScanTree(s, "api"); }
// The matcher runs on threads of its own: the CPU column counts the whole process.
BENCHMARK(BM_FsPackageLock)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();
BENCHMARK(BM_FsRequirements)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

}  // namespace

BENCHMARK_MAIN();
