#pragma once
// Manifest loader: YAML (any number of documents), JSON, `kind: List` and typed lists
// (PodList, ...), Helm and kustomize output; files, directories (recursive *.yaml, *.yml, *.json)
// and "-" for stdin. A malformed document is an error with file:line and the other documents of
// the same file are still loaded. Depth and size are bounded.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "k8s/value.h"

namespace moat::k8s {

struct LoadLimits {
  uint64_t max_file_bytes = 256ull << 20;
  uint32_t max_depth = 128;  // nesting of maps and sequences
  size_t max_nodes_per_document = 4'000'000;
  size_t max_alias_nodes = 200'000;  // values copied by aliases per document (billion laughs)
};

struct LoadError {
  std::string file;
  uint32_t line = 0;  // 1-based; 0 when the error is about the whole file
  uint32_t column = 0;
  std::string message;
  /// "file:line:column: message".
  std::string ToString() const;
};

struct LoadResult {
  std::vector<Object> objects;
  std::vector<LoadError> errors;
  /// Problems that leave the rest of the input usable (a kind the cluster would not list).
  std::vector<std::string> warnings;
  size_t files = 0;
  size_t documents = 0;        // non-empty documents seen
  size_t empty_documents = 0;  // documents with no content (comments only, "---" separators)
};

/// An object from its parsed document: apiVersion, kind, name (or generateName) and namespace
/// read from `root`, which it takes over. `file` names where it came from.
Object ObjectFromValue(Value root, const std::string& file);

/// Parses one input's text (a file's contents) and appends its objects and errors to `out`.
void ParseManifests(std::string_view text, const std::string& file, LoadResult& out,
                    const LoadLimits& limits = {});

/// Loads every path: a file, a directory (recursively, *.yaml/*.yml/*.json, in sorted order) or
/// "-" (stdin). Unreadable paths are errors in the result, the others are still loaded.
LoadResult LoadManifests(const std::vector<std::string>& paths, const LoadLimits& limits = {});

/// Parses a text that holds one YAML or JSON document (a config file). `name` is used in errors.
Result<Value> ParseYamlDocument(std::string_view text, const std::string& name,
                                const LoadLimits& limits = {});

}  // namespace moat::k8s
