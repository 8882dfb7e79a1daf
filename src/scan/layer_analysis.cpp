#include "scan/layer_analysis.h"

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

}  // namespace

void AnalyzeFile(const AnalyzerRegistry& analyzers, const FileMeta& meta, ByteSpan content,
                 const std::string& context, LayerResult& layer) {
  for (const auto& analyzer : analyzers.analyzers()) {
    if (!analyzer->Wants(meta)) continue;
    auto result = analyzer->Analyze(meta, content);
    if (!result.ok()) {
      layer.errors.push_back(context + ErrorAfterPath(meta.path, result.error().message));
      continue;
    }
    if (result->empty()) continue;
    layer.files.push_back(
        {std::string(meta.path), analyzer->descriptor().name, std::move(*result)});
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
    if (entry.size > limits_.max_file_bytes) {
      layer_.errors.push_back(layer_name_ + ": /" + entry.path + ": skipped, " +
                              std::to_string(entry.size) + " bytes is over the file size limit");
      return false;
    }
    content_.clear();
    content_.reserve(entry.size);
    return true;
  }

  Result<void> OnData(ByteSpan chunk) override {
    content_.insert(content_.end(), chunk.begin(), chunk.end());
    return Ok();
  }

  Result<void> OnEntryEnd() override {
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
  return Ok();
}

LayerResult& LayerAnalysisSink::result() { return impl_->layer; }

std::string LayerAnalysisSink::input_digest() const { return impl_->decompress.input_digest(); }

}  // namespace moat
