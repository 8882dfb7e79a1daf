// Rust crates: Cargo.lock, and executables built with cargo-auditable, whose ".dep-v0" ELF
// section holds the crate graph as zlib-compressed JSON
// (https://github.com/rust-secure-code/cargo-auditable/blob/master/PARSING.md).

#include <isa-l/igzip_lib.h>
#include <toml++/toml.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/lang/go_buildinfo.h"
#include "analyzer/lang/lockfile.h"
#include "analyzer/lang/text_util.h"

namespace moat {
namespace {

constexpr uint64_t kMaxCargoLockSize = 32ull << 20;
// The compressed section of the largest real binaries is a few KB; the JSON it inflates to is
// bounded as cargo-auditable's own reader bounds it (8 MiB), so a zlib bomb stops early.
constexpr uint64_t kMaxDepSectionSize = 8ull << 20;
constexpr uint64_t kMaxDepJsonSize = 8ull << 20;
// Executables too large to read whole are streamed: the window before their section headers is
// held, where .dep-v0 lies among the other sections no segment loads (symbols, section names).
constexpr uint64_t kNonLoadedSectionsWindow = 4ull << 20;
// Rust executables are rarely below this; smaller executables are scripts and tiny C programs.
constexpr uint64_t kMinRustBinarySize = 16ull << 10;

// ---- Cargo.lock ----

class CargoLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxCargoLockSize && lang::BaseName(file.path) == "Cargo.lock";
  }

  // Every [[package]] with a source (a registry or a git repository); those without one are the
  // workspace's own crates, the project itself rather than a dependency. Cargo.lock does not say
  // which crates are dev-dependencies.
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    toml::table document;
    try {
      document = toml::parse(AsText(content), file_path);
    } catch (const toml::parse_error& error) {
      return Fail(file_path, ": line ", std::to_string(error.source().begin.line), ", column ",
                  std::to_string(error.source().begin.column), ": ",
                  std::string(error.description()));
    }
    AnalysisResult result;
    lang::LockfilePackages packages(PackageType::kCargo, file_path);
    const toml::array* list = document["package"].as_array();
    if (list == nullptr) {
      if (document.contains("package")) {
        return Fail(file_path, ": \"package\" is not an array of tables");
      }
      return result;  // a workspace with no dependencies at all
    }
    for (const toml::node& node : *list) {
      const toml::table* entry = node.as_table();
      const std::string place =
          file_path + ": line " + std::to_string(node.source().begin.line) + ": [[package]]";
      if (entry == nullptr) {
        result.AddProblem(place + " is not a table; skipped");
        continue;
      }
      auto name = (*entry)["name"].value<std::string>();
      auto version = (*entry)["version"].value<std::string>();
      if (!name || !version || name->empty() || version->empty()) {
        result.AddProblem(place + " without a name or version; skipped");
        continue;
      }
      if (!entry->contains("source")) continue;
      packages.Add(*name, *version, /*dev=*/false);
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"cargo-lock", 1, AnalyzerKind::kLanguage};
};

// ---- cargo-auditable ----

std::string JsonString(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// zlib stream (RFC 1950) -> bytes, at most `limit` of them.
Result<std::string> InflateZlib(ByteSpan data, uint64_t limit, const std::string& where) {
  inflate_state state;
  isal_inflate_init(&state);
  state.crc_flag = ISAL_ZLIB;
  state.next_in = const_cast<uint8_t*>(data.data());
  state.avail_in = static_cast<uint32_t>(data.size());
  std::string out;
  while (true) {
    const size_t used = out.size();
    if (used >= limit)
      return Fail(where, ": inflates to more than ", std::to_string(limit), " bytes");
    const size_t chunk = std::min<size_t>(64u << 10, limit - used);
    out.resize(used + chunk);
    state.next_out = reinterpret_cast<uint8_t*>(out.data() + used);
    state.avail_out = static_cast<uint32_t>(chunk);
    int status = isal_inflate(&state);
    out.resize(used + chunk - state.avail_out);
    if (status != ISAL_DECOMP_OK) {
      return Fail(where, ": not a valid zlib stream (error ", std::to_string(status), ")");
    }
    if (state.block_state == ISAL_BLOCK_FINISH) return out;
    if (state.avail_in == 0 && state.avail_out != 0) {
      return Fail(where, ": the zlib stream is truncated");
    }
  }
}

class CargoAuditableAnalyzer : public lang::ExecutablePartsAnalyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return (file.mode & 0111) != 0 && file.size >= kMinRustBinarySize;
  }

  std::vector<FileRange> NextRanges(const FileMeta& file,
                                    const std::vector<FilePart>& parts) const override {
    return lang::FindElfSection(parts, file.size, ".dep-v0", kMaxDepSectionSize,
                                kNonLoadedSectionsWindow)
        .missing;
  }

  Result<AnalysisResult> AnalyzeParts(const FileMeta& file,
                                      const std::vector<FilePart>& parts) const override {
    AnalysisResult result;
    const std::string file_path = "/" + std::string(file.path);
    lang::ElfSectionLookup section =
        lang::FindElfSection(parts, file.size, ".dep-v0", kMaxDepSectionSize);
    if (!section.found) return result;  // not ELF, or not built with cargo-auditable
    const std::string where =
        file_path + ": .dep-v0 section at offset " + std::to_string(section.offset);
    if (!section.bytes) {
      return Fail(where, ": ", std::to_string(section.size),
                  " bytes, unreadable or larger than the ", std::to_string(kMaxDepSectionSize),
                  " bytes allowed");
    }
    MOAT_ASSIGN_OR_RETURN(std::string json_text,
                          InflateZlib(*section.bytes, kMaxDepJsonSize, where));
    nlohmann::json document = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded() || !document.is_object()) {
      return Fail(where, ": the inflated dependency list is not a JSON object");
    }
    auto list = document.find("packages");
    if (list == document.end() || !list->is_array()) {
      return Fail(where, ": no \"packages\" array in the dependency list");
    }
    lang::LockfilePackages packages(PackageType::kCargo, file_path);
    for (size_t i = 0; i < list->size(); ++i) {
      const nlohmann::json& entry = (*list)[i];
      const std::string place = where + ": /packages/" + std::to_string(i);
      if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
          !entry.contains("version") || !entry["version"].is_string()) {
        result.AddProblem(place + ": no name or version; skipped");
        continue;
      }
      // "local" crates are the workspace being built (the binary's own crate among them).
      if (JsonString(entry, "source") == "local") continue;
      // A build dependency ran at build time only (build scripts, proc macros): not in the binary.
      const bool build_only = JsonString(entry, "kind") == "build";
      packages.Add(entry["name"].get<std::string>(), entry["version"].get<std::string>(),
                   build_only);
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"cargo-auditable", 1, AnalyzerKind::kLanguage,
                                 /*installed_only=*/true};
};

}  // namespace

std::unique_ptr<Analyzer> MakeCargoLockAnalyzer() { return std::make_unique<CargoLockAnalyzer>(); }
std::unique_ptr<Analyzer> MakeCargoAuditableAnalyzer() {
  return std::make_unique<CargoAuditableAnalyzer>();
}

}  // namespace moat
