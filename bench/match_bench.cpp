// Matching 10,000 packages against a database built from the whole OSV PyPI and Go data
// ($MOAT_SHARED_DATA_DIR/vuln/osv). Half the packages are names that have advisories (taken from
// the feeds), half are names without any. Two inventories: "typical", where one package with
// advisories in ten is at an old version (0.1.0, affected by nearly all of them) and the rest at a
// version newer than any fix, and "worst", where every one of them is at 0.1.0, affected by
// nearly every advisory of its name.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "match/match.h"
#include "vulndb/build.h"

namespace {

std::string DataDir() {
  const char* env = std::getenv("MOAT_SHARED_DATA_DIR");
  return std::string(env ? env : "/work/shared/data") + "/vuln/osv";
}

struct Fixture {
  std::unique_ptr<moat::vulndb::Database> db;
  moat::Inventory typical;
  moat::Inventory worst;
};

// Distinct package names with advisories, as an image holds each package once (counting a name
// once per advisory would over-represent the few modules with hundreds of them).
std::vector<std::string> Names(const std::string& dir, size_t limit) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json" || names.size() >= limit) continue;
    std::ifstream in(entry.path());
    auto doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.contains("affected")) continue;
    for (const auto& a : doc["affected"]) {
      if (a.contains("package") && a["package"].contains("name")) {
        auto name = a["package"]["name"].get<std::string>();
        if (seen.insert(name).second) names.push_back(std::move(name));
      }
    }
  }
  return names;
}

std::string DbPath() { return "/tmp/moat-match-bench-" + std::to_string(::getpid()) + ".db"; }

Fixture& Get() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    const std::string path = DbPath();
    auto stats =
        moat::vulndb::BuildDatabase({{moat::vulndb::FeedKind::kOsv, DataDir() + "/PyPI", ""},
                                     {moat::vulndb::FeedKind::kOsv, DataDir() + "/Go", ""}},
                                    path);
    if (!stats.ok()) {
      std::fprintf(stderr, "db build: %s\n", stats.error().message.c_str());
      std::exit(1);
    }
    f->db = std::move(moat::vulndb::OpenDatabase(path).value());
    // Matching opens one connection per thread, so the file stays until the process exits.
    std::atexit([] { std::filesystem::remove(DbPath()); });
    auto pypi = Names(DataDir() + "/PyPI", 2500);
    auto go = Names(DataDir() + "/Go", 2500);
    for (size_t i = 0; i < 10000; ++i) {
      moat::Package p;
      bool hit = i % 2 == 0;
      if (i % 4 < 2) {
        p.type = moat::PackageType::kPypi;
        p.name =
            hit && !pypi.empty() ? pypi[i % pypi.size()] : "no-such-project-" + std::to_string(i);
        p.version = "0.1.0";
      } else {
        p.type = moat::PackageType::kGolang;
        p.name = hit && !go.empty() ? go[i % go.size()] : "example.com/none/m" + std::to_string(i);
        p.version = "v0.1.0";
      }
      p.file_path = "/app/f" + std::to_string(i % 50);
      f->worst.packages.push_back(p);
      if (i % 20 != 0) p.version = p.type == moat::PackageType::kGolang ? "v999.0.0" : "999.0";
      f->typical.packages.push_back(std::move(p));
    }
    return f;
  }();
  return *fixture;
}

void Match(benchmark::State& state, const moat::Inventory& inventory) {
  Fixture& f = Get();
  size_t findings = 0;
  for (auto _ : state) {
    auto result =
        moat::match::MatchInventory(inventory, *f.db, {static_cast<size_t>(state.range(0))});
    findings = result.findings.size();
    benchmark::DoNotOptimize(result);
  }
  state.counters["packages"] = static_cast<double>(inventory.packages.size());
  state.counters["findings"] = static_cast<double>(findings);
}

// Arg: matcher threads (0 = one per core).
void BM_Match10kTypical(benchmark::State& state) { Match(state, Get().typical); }
void BM_Match10kWorst(benchmark::State& state) { Match(state, Get().worst); }
BENCHMARK(BM_Match10kTypical)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Match10kWorst)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
