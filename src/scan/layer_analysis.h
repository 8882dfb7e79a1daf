#pragma once
// The sink a layer's bytes are pushed into: decompression -> tar walker -> analyzers.

#include <memory>
#include <cstdint>
#include <string>

#include "analyzer/analyzer.h"
#include "core/bytes.h"
#include "scan/layer_result.h"

namespace moat {

struct LayerAnalysisLimits {
  uint64_t max_layer_bytes = 32ull << 30;
  uint64_t max_file_bytes = 512ull << 20;
};

class LayerAnalysisSink : public ByteSink {
 public:
  LayerAnalysisSink(const AnalyzerRegistry& analyzers, std::string layer_name,
                    LayerAnalysisLimits limits);
  ~LayerAnalysisSink() override;
  Result<void> Write(ByteSpan chunk) override;
  /// Finishes the stream; afterwards result() holds the layer with diff_id set from the
  /// digest of the uncompressed bytes.
  Result<void> Close() override;
  LayerResult& result();
  /// Digest of the bytes as received (the blob digest).
  std::string input_digest() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Runs every analyzer that wants the file; appends results and errors to `layer`.
void AnalyzeFile(const AnalyzerRegistry& analyzers, const FileMeta& meta, ByteSpan content,
                 const std::string& context, LayerResult& layer);

/// True when an analyzer that reads in parts wants the file (it may be of any size).
bool AnyReadsInParts(const AnalyzerRegistry& analyzers, const FileMeta& meta);
/// The ranges those analyzers still need, given the parts read so far.
std::vector<FileRange> NextFileRanges(const AnalyzerRegistry& analyzers, const FileMeta& meta,
                                      const std::vector<FilePart>& parts);
/// Why a file of `size` bytes was not analyzed: "not analyzed: N bytes is over the file size
/// limit".
std::string OverSizeLimit(uint64_t size);
/// For a file over the size limit: analyzers that read in parts get `parts`; the other package
/// analyzers that want it record it as not analyzed (OverSizeLimit).
void AnalyzeFileInParts(const AnalyzerRegistry& analyzers, const FileMeta& meta,
                        const std::vector<FilePart>& parts, const std::string& context,
                        LayerResult& layer);

/// Records a wanted file that could not be analyzed at all (too large, unreadable), for every
/// package analyzer that wants it, so the report names it as not assessed.
void RecordUnanalyzedFile(const AnalyzerRegistry& analyzers, const FileMeta& meta,
                          const std::string& reason, LayerResult& layer);

}  // namespace moat
