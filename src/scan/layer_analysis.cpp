#include "scan/layer_analysis.h"

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "walker/tar_stream.h"

namespace moat {

namespace {

// Analyzers name the file they parse ("var/lib/dpkg/status:12: ..."), and the context already
// ends with that path; the path is dropped from the message so it is not printed twice.
std::string ErrorAfterPath(std::string_view path, std::string_view message) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string_view rest = message;
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (!path.empty() && rest.starts_with(path) &&
      (rest.size() == path.size() || rest[path.size()] == ':')) {
    rest.remove_prefix(path.size());
    return std::string(rest);
  }
  return ": " + std::string(message);
}

// Records what one analyzer made of a file.
void RecordAnalysis(const Analyzer& analyzer, const FileMeta& meta, Result<AnalysisResult> result,
                    const std::string& context, LayerResult& layer) {
  if (!result.ok()) {
    std::string message = ErrorAfterPath(meta.path, result.error().message);
    // A release file that does not parse leaves the OS unknown (a warning; matching then
    // reports the OS as not assessed); any other file is a package source the scan missed.
    if (analyzer.descriptor().kind == AnalyzerKind::kOs) {
      layer.errors.push_back(context + message);
    } else {
      if (message.starts_with(": ")) message.erase(0, 2);
      layer.files.push_back(
          {std::string(meta.path), analyzer.descriptor().name, {}, std::move(message)});
    }
    return;
  }
  if (result->empty()) return;
  layer.files.push_back(
      {std::string(meta.path), analyzer.descriptor().name, std::move(*result), ""});
}

}  // namespace

void AnalyzeFile(const AnalyzerRegistry& analyzers, const FileMeta& meta, ByteSpan content,
                 const std::string& context, LayerResult& layer) {
  for (const auto& analyzer : analyzers.analyzers()) {
    if (analyzer->Wants(meta)) {
      RecordAnalysis(*analyzer, meta, analyzer->Analyze(meta, content), context, layer);
    }
  }
}

bool AnyReadsInParts(const AnalyzerRegistry& analyzers, const FileMeta& meta) {
  for (const auto& analyzer : analyzers.analyzers()) {
    if (analyzer->ReadsInParts() && analyzer->Wants(meta)) return true;
  }
  return false;
}

std::vector<FileRange> NextFileRanges(const AnalyzerRegistry& analyzers, const FileMeta& meta,
                                      const std::vector<FilePart>& parts) {
  std::vector<FileRange> ranges;
  for (const auto& analyzer : analyzers.analyzers()) {
    if (!analyzer->ReadsInParts() || !analyzer->Wants(meta)) continue;
    for (const FileRange& range : analyzer->NextRanges(meta, parts)) ranges.push_back(range);
  }
  return ranges;
}

std::string OverSizeLimit(uint64_t size) {
  return "not analyzed: " + std::to_string(size) + " bytes is over the file size limit";
}

void AnalyzeFileInParts(const AnalyzerRegistry& analyzers, const FileMeta& meta,
                        const std::vector<FilePart>& parts, const std::string& context,
                        LayerResult& layer) {
  for (const auto& analyzer : analyzers.analyzers()) {
    if (!analyzer->Wants(meta)) continue;
    if (analyzer->ReadsInParts()) {
      RecordAnalysis(*analyzer, meta, analyzer->AnalyzeParts(meta, parts), context, layer);
    } else if (analyzer->descriptor().kind != AnalyzerKind::kOs) {
      layer.files.push_back(
          {std::string(meta.path), analyzer->descriptor().name, {}, OverSizeLimit(meta.size)});
    }
  }
}

void RecordUnanalyzedFile(const AnalyzerRegistry& analyzers, const FileMeta& meta,
                          const std::string& reason, LayerResult& layer) {
  for (const auto& analyzer : analyzers.analyzers()) {
    if (analyzer->descriptor().kind == AnalyzerKind::kOs || !analyzer->Wants(meta)) continue;
    layer.files.push_back({std::string(meta.path), analyzer->descriptor().name, {}, reason});
  }
}

namespace {

class LayerVisitor : public TarVisitor {
 public:
  LayerVisitor(const AnalyzerRegistry& analyzers, const std::string& layer_name,
               const LayerAnalysisLimits& limits, LayerResult& layer)
      : analyzers_(analyzers), layer_name_(layer_name), limits_(limits), layer_(layer) {}

  Result<bool> OnEntry(const TarEntry& entry) override {
    if (IsOpaqueWhiteout(entry.path)) {
      layer_.opaque_dirs.push_back(WhiteoutTarget(entry.path));
      return false;
    }
    if (IsWhiteout(entry.path)) {
      layer_.whiteouts.push_back(WhiteoutTarget(entry.path));
      return false;
    }
    // Hard links are names of the same executable (perl and perl5.36.0): exec by either name
    // is from the image.
    if ((entry.type == TarEntry::Type::kFile || entry.type == TarEntry::Type::kHardlink) &&
        (entry.mode & 0111) != 0) {
      layer_.executables.push_back(entry.path);
    }
    if (entry.type != TarEntry::Type::kFile) return false;
    meta_ = FileMeta{};
    path_ = entry.path;
    meta_.path = path_;
    meta_.mode = entry.mode;
    meta_.size = entry.size;
    bool wanted = false;
    for (const auto& analyzer : analyzers_.analyzers()) {
      if (analyzer->Wants(meta_)) {
        wanted = true;
        break;
      }
    }
    if (!wanted) return false;
    parts_.reset();
    if (entry.size > limits_.max_file_bytes && AnyReadsInParts(analyzers_, meta_)) {
      // Too large to hold, but some analyzers need only a few ranges of it (Go build info).
      parts_ =
          std::make_unique<FilePartsCollector>(entry.size, kFilePartsHeadBytes, kFilePartsMaxBytes,
                                               [this](const std::vector<FilePart>& parts) {
                                                 return NextFileRanges(analyzers_, meta_, parts);
                                               });
      return true;
    }
    if (entry.size > limits_.max_file_bytes) {
      RecordUnanalyzedFile(analyzers_, meta_, OverSizeLimit(entry.size), layer_);
      layer_.depends_on_limits = true;
      return false;
    }
    content_.clear();
    content_.reserve(entry.size);
    return true;
  }

  Result<void> OnData(ByteSpan chunk) override {
    if (parts_) {
      parts_->Write(chunk);
    } else {
      content_.insert(content_.end(), chunk.begin(), chunk.end());
    }
    return Ok();
  }

  Result<void> OnEntryEnd() override {
    if (parts_) {
      AnalyzeFileInParts(analyzers_, meta_, parts_->parts(), layer_name_ + ": /" + path_, layer_);
      parts_.reset();
      return Ok();
    }
    AnalyzeFile(analyzers_, meta_, ByteSpan(content_.data(), content_.size()),
                layer_name_ + ": /" + path_, layer_);
    // Keep memory bounded by the largest wanted file, not by the sum of them.
    if (content_.capacity() > (8u << 20)) std::vector<uint8_t>().swap(content_);
    return Ok();
  }

 private:
  const AnalyzerRegistry& analyzers_;
  const std::string& layer_name_;
  const LayerAnalysisLimits& limits_;
  LayerResult& layer_;
  FileMeta meta_;
  std::string path_;
  std::vector<uint8_t> content_;
  std::unique_ptr<FilePartsCollector> parts_;  // a file over the size limit, read in parts
};

}  // namespace

struct LayerAnalysisSink::Impl {
  Impl(const AnalyzerRegistry& analyzers, std::string name, LayerAnalysisLimits lim)
      : layer_name(std::move(name)),
        limits(lim),
        visitor(analyzers, layer_name, limits, layer),
        tar(visitor, layer_name),
        decompress(tar, layer_name, limits.max_layer_bytes) {}
  std::string layer_name;
  LayerAnalysisLimits limits;
  LayerResult layer;
  LayerVisitor visitor;
  TarStreamParser tar;
  DecompressingSink decompress;
};

LayerAnalysisSink::LayerAnalysisSink(const AnalyzerRegistry& analyzers, std::string layer_name,
                                     LayerAnalysisLimits limits)
    : impl_(std::make_unique<Impl>(analyzers, std::move(layer_name), limits)) {}

LayerAnalysisSink::~LayerAnalysisSink() = default;

Result<void> LayerAnalysisSink::Write(ByteSpan chunk) { return impl_->decompress.Write(chunk); }

Result<void> LayerAnalysisSink::Close() {
  MOAT_TRY(impl_->decompress.Close());
  impl_->layer.diff_id = impl_->decompress.plain_digest();
  impl_->layer.size = impl_->decompress.plain_bytes();
  std::vector<std::string>& executables = impl_->layer.executables;
  std::sort(executables.begin(), executables.end());
  executables.erase(std::unique(executables.begin(), executables.end()), executables.end());
  return Ok();
}

LayerResult& LayerAnalysisSink::result() { return impl_->layer; }

std::string LayerAnalysisSink::input_digest() const { return impl_->decompress.input_digest(); }

}  // namespace moat
