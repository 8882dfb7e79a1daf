#pragma once
// The sink a layer's bytes are pushed into: decompression -> tar walker -> analyzers.

#include <memory>
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

}  // namespace moat
