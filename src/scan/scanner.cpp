#include "scan/scanner.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "core/log.h"
#include "core/parallel.h"
#include "core/sha256.h"
#include "purl/purl.h"
#include "scan/layer_analysis.h"
#include "scan/layer_cache.h"

namespace moat {
namespace {

std::string ShortDigest(std::string_view digest) {
  if (digest.substr(0, 7) == "sha256:") digest.remove_prefix(7);
  return std::string(digest.substr(0, 12));
}

// Collects analyzed layers from the source's threads and checks each against what the source
// said the layer is.
class CollectingLayerHandler : public LayerHandler {
 public:
  CollectingLayerHandler(const AnalyzerRegistry& analyzers, const ScanOptions& options,
                         std::string image_name, size_t expected_layers)
      : analyzers_(analyzers),
        options_(options),
        image_name_(std::move(image_name)),
        expected_layers_(expected_layers) {}

  Result<std::unique_ptr<ByteSink>> OpenLayer(std::string_view expected_diff_id,
                                              std::string_view blob_name) override {
    std::string name =
        image_name_ + ": layer " +
        (expected_diff_id.empty() ? std::string(blob_name) : std::string(expected_diff_id));
    return std::unique_ptr<ByteSink>(
        std::make_unique<RecordingSink>(*this, std::string(expected_diff_id), std::move(name)));
  }

  void OnConfig(std::string_view config_json) override {
    std::lock_guard<std::mutex> lock(mutex_);
    configs_.emplace_back(config_json);
  }

  std::map<std::string, LayerResult> TakeLayers() { return std::move(layers_); }
  std::vector<std::string> TakeConfigs() { return std::move(configs_); }

 private:
  class RecordingSink : public ByteSink {
   public:
    RecordingSink(CollectingLayerHandler& owner, std::string expected, std::string name)
        : owner_(owner),
          expected_(std::move(expected)),
          name_(name),
          sink_(owner.analyzers_, std::move(name),
                {owner.options_.max_layer_bytes, owner.options_.max_file_bytes}) {}
    Result<void> Write(ByteSpan chunk) override { return sink_.Write(chunk); }
    Result<void> Close() override {
      MOAT_TRY(sink_.Close());
      LayerResult& layer = sink_.result();
      if (!expected_.empty() && layer.diff_id != expected_) {
        return Fail(name_, ": uncompressed content has digest ", layer.diff_id,
                    ", not the diff ID the image config names");
      }
      owner_.Record(std::move(layer));
      return Ok();
    }

   private:
    CollectingLayerHandler& owner_;
    std::string expected_;
    std::string name_;
    LayerAnalysisSink sink_;
  };

  void Record(LayerResult layer) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string diff_id = layer.diff_id;
    layers_.insert_or_assign(diff_id, std::move(layer));
    if (options_.on_progress) options_.on_progress(layers_.size(), expected_layers_);
  }

  const AnalyzerRegistry& analyzers_;
  const ScanOptions& options_;
  std::string image_name_;
  size_t expected_layers_;
  std::mutex mutex_;
  std::map<std::string, LayerResult> layers_;
  std::vector<std::string> configs_;
};

void FillPurls(Inventory& inventory) {
  for (Package& package : inventory.packages) {
    package.purl = PurlForPackage(package, inventory.os);
  }
}

// Picks the config among those met while streaming: the one whose digest is the image ID, else
// (sources that do not know the ID) the only one.
std::optional<std::string> ChooseConfig(const std::vector<std::string>& configs,
                                        const std::string& image_id) {
  for (const auto& config : configs) {
    if (!image_id.empty() && "sha256:" + Sha256Hex(AsBytes(config)) == image_id) return config;
  }
  if (image_id.empty() && configs.size() == 1) return configs.front();
  return std::nullopt;
}

}  // namespace

std::string DefaultCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/moat";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.cache/moat";
  }
  return "/tmp/moat-cache";
}

Result<Inventory> ScanImage(ImageSource& source, const std::string& target_name,
                            const AnalyzerRegistry& analyzers, const ScanOptions& options) {
  MOAT_ASSIGN_OR_RETURN(ImageDescription description, source.Describe());
  LayerCache cache(options.cache_dir, analyzers.VersionKey());

  std::string config_json = description.config_json;
  if (config_json.empty()) {
    if (auto cached = cache.GetImageConfig(description.image_id)) config_json = *cached;
  }
  std::vector<std::string> diff_ids = description.diff_ids;
  std::optional<ImageConfig> config;
  if (!config_json.empty()) {
    MOAT_ASSIGN_OR_RETURN(config, ParseImageConfig(config_json, target_name + ": image config"));
    diff_ids = config->diff_ids;
  }

  std::map<std::string, LayerResult> layers;
  std::vector<std::string> wanted;
  for (const auto& diff_id : diff_ids) {
    if (layers.count(diff_id)) continue;
    if (auto cached = cache.GetLayer(diff_id)) {
      layers.emplace(diff_id, std::move(*cached));
    } else {
      wanted.push_back(diff_id);
    }
  }
  // A source that knows no diff IDs up front (nothing described) must stream everything.
  if (!wanted.empty() || diff_ids.empty() || !config) {
    CollectingLayerHandler handler(analyzers, options, target_name, diff_ids.size());
    MOAT_TRY(source.StreamLayers(wanted, handler, options.threads));
    for (auto& [diff_id, layer] : handler.TakeLayers()) {
      cache.PutLayer(layer);
      layers.insert_or_assign(diff_id, std::move(layer));
    }
    if (!config) {
      auto chosen = ChooseConfig(handler.TakeConfigs(), description.image_id);
      if (!chosen)
        return Fail(target_name, ": the image config was not found in the ", source.SourceName(),
                    " stream");
      config_json = *chosen;
      MOAT_ASSIGN_OR_RETURN(config, ParseImageConfig(config_json, target_name + ": image config"));
      if (!diff_ids.empty() && diff_ids != config->diff_ids) {
        return Fail(target_name, ": the layers of the image config differ from the engine's");
      }
      diff_ids = config->diff_ids;
    }
  }
  cache.PutImageConfig(description.image_id, config_json);

  std::vector<const LayerResult*> ordered;
  for (const auto& diff_id : diff_ids) {
    auto it = layers.find(diff_id);
    if (it == layers.end()) {
      return Fail(target_name, ": layer ", diff_id, " was not delivered by the ",
                  source.SourceName());
    }
    ordered.push_back(&it->second);
  }
  std::vector<std::string> created_by = config->LayerCreatedBy();
  SquashedView view = Squash(ordered, created_by);

  Inventory inventory;
  inventory.artifact.name = target_name;
  inventory.artifact.type = "container_image";
  inventory.artifact.image_id = description.image_id;
  if (inventory.artifact.image_id.empty()) {
    inventory.artifact.image_id = "sha256:" + Sha256Hex(AsBytes(config_json));
  }
  inventory.artifact.manifest_digest = description.manifest_digest;
  inventory.artifact.repo_tags = description.repo_tags;
  inventory.artifact.repo_digests = description.repo_digests;
  inventory.artifact.os = config->os;
  inventory.artifact.architecture = config->architecture;
  inventory.artifact.created = config->created;
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    LayerInfo info;
    info.diff_id = diff_ids[i];
    if (i < description.layer_digests.size()) info.digest = description.layer_digests[i];
    if (i < created_by.size()) info.created_by = created_by[i];
    info.size = ordered[i]->size;
    inventory.artifact.layers.push_back(std::move(info));
  }
  inventory.os = std::move(view.os);
  inventory.packages = std::move(view.packages);
  inventory.os_package_files = std::move(view.os_package_files);
  inventory.warnings = std::move(view.warnings);
  inventory.assessment_gaps = std::move(view.gaps);
  FillPurls(inventory);
  log::Debug(target_name + ": " + std::to_string(inventory.packages.size()) + " packages in " +
             std::to_string(diff_ids.size()) + " layers (" + std::to_string(wanted.size()) +
             " analyzed, " + std::to_string(diff_ids.size() - wanted.size()) +
             " from cache); top layer " + (diff_ids.empty() ? "-" : ShortDigest(diff_ids.back())));
  return inventory;
}

namespace {

// Maps a file read-only for analysis; analyzers touch only the pages they need.
class MappedFile {
 public:
  Result<void> Open(const std::string& path, uint64_t size) {
    if (size == 0) return Ok();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Fail(path, ": cannot open");
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (data == MAP_FAILED) return Fail(path, ": cannot map");
    data_ = static_cast<const uint8_t*>(data);
    size_ = size;
    return Ok();
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  ByteSpan bytes() const { return {data_, size_}; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

Result<Inventory> ScanRootfs(const std::string& root_dir, const AnalyzerRegistry& analyzers,
                             const ScanOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path root = fs::absolute(root_dir, ec);
  if (ec || !fs::is_directory(root, ec)) return Fail(root_dir, ": not a directory");
  const bool is_host_root = fs::equivalent(root, "/", ec);

  struct Candidate {
    std::string relative;
    uint32_t mode;
    uint64_t size;
  };
  std::vector<Candidate> candidates;
  std::vector<std::string> warnings;
  auto it =
      fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) return Fail(root_dir, ": ", ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      warnings.push_back(root_dir + ": " + ec.message());
      ec.clear();
      continue;
    }
    const fs::directory_entry& entry = *it;
    std::string relative = entry.path().lexically_relative(root).string();
    if (is_host_root && it.depth() == 0 &&
        (relative == "proc" || relative == "sys" || relative == "dev")) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st;
    if (::lstat(entry.path().c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode) && options.skip_dir && options.skip_dir(relative)) {
      it.disable_recursion_pending();
      continue;
    }
    if (!S_ISREG(st.st_mode)) continue;
    FileMeta meta{relative, static_cast<uint32_t>(st.st_mode & 07777),
                  static_cast<uint64_t>(st.st_size)};
    for (const auto& analyzer : analyzers.analyzers()) {
      if (analyzer->Wants(meta)) {
        candidates.push_back({relative, meta.mode, meta.size});
        break;
      }
    }
  }

  // Analyzers read the tree's other files (a pom.xml's parent, a requirements file's includes)
  // as regular files under the root, never through a final symlink.
  const TreeFileReader read_tree = [&root,
                                    &options](std::string_view relative) -> Result<std::string> {
    std::string full = (root / std::string(relative)).string();
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Fail("/", relative, ": not a regular file in the scanned tree");
    }
    if (static_cast<uint64_t>(st.st_size) > options.max_file_bytes) {
      return Fail("/", relative, ": ", OverSizeLimit(st.st_size));
    }
    MappedFile mapped;
    MOAT_TRY(mapped.Open(full, st.st_size));
    return std::string(AsText(mapped.bytes()));
  };
  // Each worker fills its own partial layer; they are merged in candidate order afterwards.
  std::vector<LayerResult> partial(candidates.size());
  ParallelFor(candidates.size(), options.threads, [&](size_t i) {
    const Candidate& candidate = candidates[i];
    std::string full = (root / candidate.relative).string();
    FileMeta meta{candidate.relative, candidate.mode, candidate.size, &read_tree};
    const bool over_limit = candidate.size > options.max_file_bytes;
    if (over_limit && !AnyReadsInParts(analyzers, meta)) {
      RecordUnanalyzedFile(analyzers, meta, OverSizeLimit(candidate.size), partial[i]);
      return;
    }
    MappedFile mapped;
    if (auto opened = mapped.Open(full, candidate.size); !opened.ok()) {
      RecordUnanalyzedFile(analyzers, meta, opened.error().message, partial[i]);
      return;
    }
    if (over_limit) {
      // The mapping is read only where the analyzer looks (headers, one section).
      AnalyzeFileInParts(analyzers, meta, {FilePart{0, mapped.bytes()}}, full, partial[i]);
    } else {
      AnalyzeFile(analyzers, meta, mapped.bytes(), full, partial[i]);
    }
  });
  LayerResult layer;
  for (auto& part : partial) {
    for (auto& file : part.files) layer.files.push_back(std::move(file));
    for (auto& error : part.errors) layer.errors.push_back(std::move(error));
  }
  SquashedView view = Squash({&layer}, {});

  Inventory inventory;
  inventory.artifact.name = root_dir;
  inventory.artifact.type = "filesystem";
  inventory.os = std::move(view.os);
  inventory.packages = std::move(view.packages);
  inventory.os_package_files = std::move(view.os_package_files);
  for (Package& package : inventory.packages) package.layer_diff_id.clear();
  // Sorted: identical packages are neighbours.
  inventory.packages.erase(std::unique(inventory.packages.begin(), inventory.packages.end(),
                                       [](const Package& a, const Package& b) {
                                         return a.type == b.type && a.name == b.name &&
                                                a.version == b.version &&
                                                a.file_path == b.file_path && a.dev == b.dev;
                                       }),
                           inventory.packages.end());
  inventory.warnings = std::move(warnings);
  for (auto& w : view.warnings) inventory.warnings.push_back(std::move(w));
  inventory.assessment_gaps = std::move(view.gaps);
  FillPurls(inventory);
  return inventory;
}

const AnalyzerRegistry& BuiltinAnalyzers() {
  static const AnalyzerRegistry* registry = [] {
    auto* r = new AnalyzerRegistry();
    RegisterBuiltinAnalyzers(*r);
    return r;
  }();
  return *registry;
}

}  // namespace moat
