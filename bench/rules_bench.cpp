// The rules engine on Kubernetes audit events (issue 14 "Speed": at least 200,000 events/s on one
// core through decoding and every rule). The events are Falco's k8saudit fixtures (release 0.34.1,
// ../shared/data/runtime/k8saudit); the rules are Moat's built-in audit rules
// (src/auditlog/rules) plus the test rules of src/rules/testdata/k8s_audit, all loaded at once.
//   build-*/rules_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rules/engine.h"
#include "rules/k8s_audit.h"

namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = MOAT_SOURCE_DIR;

std::vector<std::string> FixtureLines() {
  std::vector<std::string> lines;
  const fs::path dir =
      fs::path(MOAT_SHARED_DATA_DIR) / "runtime" / "k8saudit" / "falco-0.34.1-fixtures";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"Event\"") != std::string::npos) lines.push_back(line);
    }
  }
  return lines;
}

struct Loaded {
  moat::rules::Engine engine;
  std::shared_ptr<const moat::rules::EventSource> source = moat::rules::MakeK8sAuditSource();
  std::vector<std::string> lines = FixtureLines();
  std::string error;
  size_t rules = 0;

  Loaded() {
    engine.AddSource(source);
    for (const fs::path& path :
         {kSourceDir / "src" / "auditlog" / "rules",
          kSourceDir / "src" / "rules" / "testdata" / "k8s_audit" / "rules.yaml"}) {
      if (!fs::exists(path)) continue;
      auto added = engine.AddRulesPath(path.string());
      if (!added.ok()) error = added.error().message;
    }
    auto report = engine.Compile();
    if (!report.ok()) error = report.error().message;
    rules = engine.EnabledCount();
  }
};

const Loaded& Setup() {
  static const Loaded loaded;
  return loaded;
}

// Decode + every rule: what `moat audit-log` does per line.
void BM_DecodeAndMatch(benchmark::State& state) {
  const Loaded& loaded = Setup();
  if (!loaded.error.empty() || loaded.lines.empty()) {
    state.SkipWithError(loaded.error.empty() ? "no fixtures" : loaded.error.c_str());
    return;
  }
  size_t i = 0;
  size_t matches = 0;
  for (auto _ : state) {
    auto event = moat::rules::ParseAuditEvent(loaded.lines[i], "bench");
    if (event.ok()) matches += loaded.engine.Match(*loaded.source, *event).size();
    if (++i == loaded.lines.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["rules"] = static_cast<double>(loaded.rules);
  state.counters["matches/event"] =
      static_cast<double>(matches) / static_cast<double>(state.iterations());
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeAndMatch);

// Decoding alone.
void BM_Decode(benchmark::State& state) {
  const Loaded& loaded = Setup();
  size_t i = 0;
  for (auto _ : state) {
    auto event = moat::rules::ParseAuditEvent(loaded.lines[i], "bench");
    benchmark::DoNotOptimize(event.ok());
    if (++i == loaded.lines.size()) i = 0;
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Decode);

// Decode, match and build the alerts (output text, output_fields) of every match.
void BM_DecodeMatchAndAlert(benchmark::State& state) {
  const Loaded& loaded = Setup();
  size_t i = 0;
  for (auto _ : state) {
    auto event = moat::rules::ParseAuditEvent(loaded.lines[i], "bench");
    if (event.ok()) benchmark::DoNotOptimize(loaded.engine.Evaluate(*loaded.source, *event));
    if (++i == loaded.lines.size()) i = 0;
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeMatchAndAlert);

}  // namespace

BENCHMARK_MAIN();
