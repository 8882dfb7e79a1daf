// Fuzzes the lock-file analyzers (src/analyzer/lang/lockfile_*.cpp): the first byte picks the
// analyzer, the rest is the file. Other files of the tree (a requirements include, a parent
// POM, go.sum) read as the same bytes, so the include and parent paths run too.
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
    list->push_back({moat::MakeNpmLockAnalyzer(), "app/package-lock.json"});
    list->push_back({moat::MakeYarnLockAnalyzer(), "app/yarn.lock"});
    list->push_back({moat::MakePnpmLockAnalyzer(), "app/pnpm-lock.yaml"});
    list->push_back({moat::MakePipRequirementsAnalyzer(), "app/requirements.txt"});
    list->push_back({moat::MakePipenvLockAnalyzer(), "app/Pipfile.lock"});
    list->push_back({moat::MakePoetryLockAnalyzer(), "app/poetry.lock"});
    list->push_back({moat::MakeUvLockAnalyzer(), "app/uv.lock"});
    list->push_back({moat::MakeGoModAnalyzer(), "app/go.mod"});
    list->push_back({moat::MakePomAnalyzer(), "app/module/pom.xml"});
    list->push_back({moat::MakeGradleLockAnalyzer(), "app/gradle.lockfile"});
    return list;
  }();
  if (size == 0) return 0;
  const Target& target = (*targets)[data[0] % targets->size()];
  const std::string content(reinterpret_cast<const char*>(data + 1), size - 1);
  const moat::TreeFileReader read_tree = [&content](std::string_view) -> moat::Result<std::string> {
    return content;
  };
  moat::FileMeta file{target.path, 0644, content.size(), &read_tree};
  auto result = target.analyzer->Analyze(file, moat::AsBytes(content));
  (void)result;
  return 0;
}
