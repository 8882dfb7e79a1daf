#pragma once
// Reader of the build information the Go linker embeds in executables (what `go version -m`
// prints): the toolchain version and the module graph the binary was built from.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/analyzer.h"
#include "core/bytes.h"
#include "core/result.h"
#include "walker/file_parts.h"

namespace moat::lang {

struct GoModule {
  std::string path;
  std::string version;
  std::string sum;
  /// The "=>" replacement of this module, when there is one (path, version may be a local path
  /// with an empty version).
  std::string replace_path;
  std::string replace_version;
  std::string replace_sum;
  bool replaced = false;
};

struct GoBuildInfo {
  std::string go_version;  // "go1.21.3"
  std::string path;        // the main package path ("path" line)
  std::optional<GoModule> main;
  std::vector<GoModule> deps;
};

/// True when the bytes start like an ELF file: the cheap first test for any executable.
bool LooksLikeElf(ByteSpan data);

/// Finds and decodes the Go build info of an ELF executable (32/64-bit, either byte order; old
/// pointer-based and Go 1.18+ inline layouts). Returns nullopt for ELF files that are not Go
/// binaries (or non-ELF data). A Go build-info header whose contents do not decode is an Error
/// naming `source` and the offset.
Result<std::optional<GoBuildInfo>> ReadGoBuildInfo(ByteSpan data, std::string_view source);
/// The same from parts of a file of `file_size` bytes (bytes not in a part are missing).
Result<std::optional<GoBuildInfo>> ReadGoBuildInfo(const std::vector<FilePart>& parts,
                                                   uint64_t file_size, std::string_view source);
/// The ranges the reader still needs, given these parts: the ELF and program headers come first,
/// then the section header table, the section names, and the .go.buildinfo section (or, without
/// section headers, the start of the data segment). Empty when the parts answer.
std::vector<FileRange> GoBuildInfoRanges(const std::vector<FilePart>& parts, uint64_t file_size);

/// A named ELF section looked up in parts of a file (any ELF class and byte order).
struct ElfSectionLookup {
  bool found = false;              // the section headers name it
  uint64_t offset = 0, size = 0;   // where it lies in the file
  std::optional<ByteSpan> bytes;   // its contents, when at hand and at most max_size bytes
  std::vector<FileRange> missing;  // ranges to read before asking again (headers, names, data)
};
/// Finds section `name` (".dep-v0") through the section headers. Not ELF, no section headers or no
/// such section: found == false and nothing missing. `prefetch_before_headers` bytes before the
/// section header table are asked for with it, where linkers put the sections no segment loads.
ElfSectionLookup FindElfSection(const std::vector<FilePart>& parts, uint64_t file_size,
                                std::string_view name, uint64_t max_size,
                                uint64_t prefetch_before_headers = 0);

/// An analyzer of executables that reads only parts of them (headers, one section): files of any
/// size reach it in parts (ReadsInParts), and a file handed whole is one part at offset 0.
class ExecutablePartsAnalyzer : public Analyzer {
 public:
  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const final {
    FileMeta whole = file;
    whole.size = content.size();
    return AnalyzeParts(whole, {FilePart{0, content}});
  }
  bool ReadsInParts() const final { return true; }
};

/// Parses the modinfo text ("path\t...", "mod\t...", "dep\t...", "=>\t...", "build\t..." lines).
void ParseGoModInfo(std::string_view modinfo, GoBuildInfo& info);

}  // namespace moat::lang
