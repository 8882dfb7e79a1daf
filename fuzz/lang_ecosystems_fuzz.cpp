// Fuzzes the Ruby, Rust, .NET and PHP analyzers (src/analyzer/lang/{ruby,rust,dotnet,php}.cpp):
// the first byte picks the analyzer, the rest is the file. Nothing may crash; damage is an Error
// or a problem naming the place. The cargo-auditable reader also runs on parts of the input, as
// the walker streams an executable too large to hold.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  struct Target {
    std::unique_ptr<moat::Analyzer> analyzer;
    const char* path;
  };
  static const std::vector<Target>* targets = [] {
    auto* list = new std::vector<Target>();
    list->push_back({moat::MakeGemspecAnalyzer(), "usr/local/bundle/specifications/x-1.0.gemspec"});
    list->push_back({moat::MakeGemfileLockAnalyzer(), "app/Gemfile.lock"});
    list->push_back({moat::MakeCargoLockAnalyzer(), "app/Cargo.lock"});
    list->push_back({moat::MakeCargoAuditableAnalyzer(), "usr/local/bin/app"});
    list->push_back({moat::MakeDotnetDepsAnalyzer(), "app/App.deps.json"});
    list->push_back({moat::MakeNugetLockAnalyzer(), "app/packages.lock.json"});
    list->push_back({moat::MakePackagesConfigAnalyzer(), "app/packages.config"});
    list->push_back({moat::MakeNuspecAnalyzer(), "root/.nuget/packages/x/1.0.0/x.nuspec"});
    list->push_back({moat::MakeNuspecAnalyzer(), "app/packages/x.nupkg"});
    list->push_back({moat::MakeComposerLockAnalyzer(), "app/composer.lock"});
    list->push_back({moat::MakeComposerInstalledAnalyzer(), "app/vendor/composer/installed.json"});
    return list;
  }();
  if (size == 0) return 0;
  const Target& target = (*targets)[data[0] % targets->size()];
  const std::string content(reinterpret_cast<const char*>(data + 1), size - 1);
  const moat::FileMeta file{target.path, 0755, content.size()};
  auto result = target.analyzer->Analyze(file, moat::AsBytes(content));
  (void)result;
  if (target.analyzer->ReadsInParts()) {
    // The head first, then the ranges the planner asks for, served as far as the input goes.
    const moat::ByteSpan bytes = moat::AsBytes(content);
    std::vector<moat::FilePart> parts{{0, bytes.subspan(0, std::min<size_t>(bytes.size(), 4096))}};
    for (int round = 0; round < 8; ++round) {
      const std::vector<moat::FileRange> ranges = target.analyzer->NextRanges(file, parts);
      if (ranges.empty()) break;
      for (const moat::FileRange& range : ranges) {
        if (range.offset >= bytes.size()) continue;
        const size_t count =
            static_cast<size_t>(std::min<uint64_t>(range.size, bytes.size() - range.offset));
        parts.push_back({range.offset, bytes.subspan(range.offset, count)});
      }
    }
    auto in_parts = target.analyzer->AnalyzeParts(file, parts);
    (void)in_parts;
  }
  return 0;
}
