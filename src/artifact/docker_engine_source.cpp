// Docker Engine source: inspects the image over the Engine API and streams `GET /images/{name}/get`
// through a tar parser, forwarding each layer blob to the scanner as it goes by.

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "artifact/image_source.h"
#include "artifact/sources.h"
#include "core/http.h"
#include "core/log.h"
#include "walker/tar_stream.h"

namespace moat {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kDefaultSocket = "/var/run/docker.sock";
constexpr int kMaxApiMinor = 41;                // the newest API version Moat speaks
constexpr uint64_t kMaxConfigBytes = 8u << 20;  // larger JSON entries are not image configs
constexpr size_t kSniffBytes = 512;

// Escapes what cannot appear in a URL path; "/", ":" and "@" are part of image names.
std::string EscapeImageName(std::string_view name) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) ||
        std::string_view("-._~/:@").find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::vector<std::string> StringArray(const Json& object, const char* key) {
  std::vector<std::string> values;
  auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return values;
  for (const Json& item : *it) {
    if (item.is_string()) values.push_back(item.get<std::string>());
  }
  return values;
}

bool LooksLikeLayer(ByteSpan prefix, std::string_view path, uint64_t size) {
  if (path.size() >= 9 && path.substr(path.size() - 9) == "layer.tar") return true;
  if (prefix.size() >= 2 && prefix[0] == 0x1f && prefix[1] == 0x8b) return true;  // gzip
  if (prefix.size() >= 4 && prefix[0] == 0x28 && prefix[1] == 0xb5 && prefix[2] == 0x2f &&
      prefix[3] == 0xfd) {
    return true;  // zstd
  }
  if (prefix.size() >= 262 && AsText(prefix.subspan(257, 5)) == "ustar") return true;
  // An empty layer is only the tar end marker: zero blocks.
  if (size >= 1024 && size % 512 == 0 && prefix.size() == kSniffBytes) {
    bool all_zero = true;
    for (uint8_t byte : prefix) all_zero = all_zero && byte == 0;
    return all_zero;
  }
  return false;
}

// Sorts the entries of the exported tar: layer blobs go to the handler, image configs to
// OnConfig, everything else (manifests, repositories, VERSION, symlinks) is skipped.
class ExportVisitor : public TarVisitor {
 public:
  explicit ExportVisitor(LayerHandler& handler) : handler_(handler) {}

  Result<bool> OnEntry(const TarEntry& entry) override {
    if (entry.type != TarEntry::Type::kFile) return false;
    state_ = State::kSniffing;
    path_ = entry.path;
    size_ = entry.size;
    buffer_.clear();
    sink_.reset();
    return true;
  }

  Result<void> OnData(ByteSpan chunk) override {
    switch (state_) {
      case State::kSniffing: {
        size_t take = std::min(chunk.size(), kSniffBytes - buffer_.size());
        buffer_.append(AsText(chunk.first(take)));
        chunk = chunk.subspan(take);
        if (buffer_.size() < kSniffBytes) return Ok();
        MOAT_TRY(Decide());
        if (state_ == State::kSkipping) return Ok();
        return OnData(chunk);
      }
      case State::kLayer:
        return sink_->Write(chunk);
      case State::kJson:
        buffer_.append(AsText(chunk));
        return Ok();
      case State::kSkipping:
        return Ok();
    }
    return Ok();
  }

  Result<void> OnEntryEnd() override {
    if (state_ == State::kSniffing) MOAT_TRY(Decide());
    if (state_ == State::kLayer) {
      ++layers_;
      auto closed = sink_->Close();
      sink_.reset();
      state_ = State::kSkipping;
      return closed;
    }
    if (state_ == State::kJson) {
      if (ParseImageConfig(buffer_, path_).ok()) {
        handler_.OnConfig(buffer_);
        found_config_ = true;
      }
    }
    state_ = State::kSkipping;
    buffer_.clear();
    return Ok();
  }

  size_t layers() const { return layers_; }
  bool found_config() const { return found_config_; }

 private:
  enum class State { kSniffing, kLayer, kJson, kSkipping };

  Result<void> Decide() {
    ByteSpan prefix = AsBytes(buffer_);
    if (!buffer_.empty() && buffer_[0] == '{' && size_ < kMaxConfigBytes) {
      state_ = State::kJson;
      return Ok();
    }
    if (!LooksLikeLayer(prefix, path_, size_)) {
      state_ = State::kSkipping;
      return Ok();
    }
    MOAT_ASSIGN_OR_RETURN(sink_, handler_.OpenLayer("", path_));
    state_ = State::kLayer;
    std::string prefix_bytes = std::move(buffer_);
    buffer_.clear();
    return sink_->Write(AsBytes(prefix_bytes));
  }

  LayerHandler& handler_;
  State state_ = State::kSkipping;
  std::string path_;
  uint64_t size_ = 0;
  std::string buffer_;
  std::unique_ptr<ByteSink> sink_;
  size_t layers_ = 0;
  bool found_config_ = false;
};

class DockerEngineImageSource : public ImageSource {
 public:
  DockerEngineImageSource(std::string reference, std::string socket, std::string api_prefix,
                          std::chrono::steady_clock::time_point deadline)
      : reference_(std::move(reference)),
        socket_(std::move(socket)),
        api_prefix_(std::move(api_prefix)),
        deadline_(deadline) {}

  std::string SourceName() const override { return "docker engine (" + socket_ + ")"; }

  Result<ImageDescription> Describe() override {
    HttpRequest request = MakeRequest("/images/" + EscapeImageName(reference_) + "/json");
    request.timeout_seconds = 60;
    MOAT_ASSIGN_OR_RETURN(HttpResponse response, HttpFetch(request));
    if (response.status == 404) return NotFound();
    if (response.status != 200) return StatusError("inspect", response);
    Json json = Json::parse(response.body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
      return Fail(SourceName(), ": image inspect reply for ", reference_, " is not a JSON object");
    }
    ImageDescription description;
    if (json.contains("Id") && json["Id"].is_string()) description.image_id = json["Id"];
    description.repo_tags = StringArray(json, "RepoTags");
    description.repo_digests = StringArray(json, "RepoDigests");
    auto rootfs = json.find("RootFS");
    if (rootfs != json.end() && rootfs->is_object()) {
      description.diff_ids = StringArray(*rootfs, "Layers");
    }
    return description;
  }

  Result<void> StreamLayers(const std::vector<std::string>& wanted, LayerHandler& handler,
                            size_t threads) override {
    (void)wanted;   // the export always carries every layer
    (void)threads;  // one HTTP stream, delivered in order
    ExportVisitor visitor(handler);
    std::string input_name = "docker engine export of " + reference_;
    TarStreamParser parser(visitor, input_name);
    HttpRequest request = MakeRequest("/images/" + EscapeImageName(reference_) + "/get");
    request.stall_timeout_seconds = 300;  // the engine may take a while to start the export
    MOAT_ASSIGN_OR_RETURN(HttpResponse response, HttpFetch(request, &parser));
    if (response.status == 404) return NotFound();
    if (response.status != 200) return StatusError("export", response);
    MOAT_TRY(parser.Close());
    if (!visitor.found_config()) {
      return Fail(input_name, ": the export holds no image configuration");
    }
    log::Debug(input_name + ": " + std::to_string(visitor.layers()) + " layer blobs");
    return Ok();
  }

 private:
  HttpRequest MakeRequest(const std::string& path) const {
    HttpRequest request;
    request.url = "http://localhost" + api_prefix_ + path;
    request.unix_socket = socket_;
    request.deadline = deadline_;
    return request;
  }

  Error NotFound() const { return Fail("image ", reference_, " not found in ", SourceName()); }

  Error StatusError(std::string_view what, const HttpResponse& response) const {
    std::string message = response.body.substr(0, 300);
    Json json = Json::parse(response.body, nullptr, false);
    if (!json.is_discarded() && json.is_object() && json.contains("message") &&
        json["message"].is_string()) {
      message = json["message"].get<std::string>();
    }
    return Fail(SourceName(), ": ", what, " of ", reference_, " failed with HTTP ",
                std::to_string(response.status), ": ", message);
  }

  std::string reference_;
  std::string socket_;
  std::string api_prefix_;
  std::chrono::steady_clock::time_point deadline_;
};

// "1.43" -> 43; anything unparsable -> -1.
int ApiMinor(std::string_view version) {
  if (version.size() < 3 || version.substr(0, 2) != "1.") return -1;
  int minor = 0;
  for (char c : version.substr(2)) {
    if (c < '0' || c > '9' || minor > 1000) return -1;
    minor = minor * 10 + (c - '0');
  }
  return minor;
}

}  // namespace

std::string DefaultDockerSocket() {
  const char* host = std::getenv("DOCKER_HOST");
  if (host != nullptr) {
    std::string_view value(host);
    if (value.rfind("unix://", 0) == 0 && value.size() > 7) return std::string(value.substr(7));
  }
  return std::string(kDefaultSocket);
}

Result<std::unique_ptr<ImageSource>> OpenDockerEngineImage(
    const std::string& reference, const std::string& docker_host,
    std::chrono::steady_clock::time_point deadline) {
  if (reference.empty()) return Fail("docker engine: empty image reference");
  std::string socket = docker_host.empty() ? DefaultDockerSocket() : docker_host;
  if (socket.rfind("unix://", 0) == 0) {
    socket = socket.substr(7);
  } else if (socket.find("://") != std::string::npos) {
    return Fail("docker engine: only unix:// hosts are supported, not ", socket);
  }
  HttpRequest ping;
  ping.url = "http://localhost/_ping";
  ping.unix_socket = socket;
  ping.connect_timeout_seconds = 5;
  ping.timeout_seconds = 15;
  ping.deadline = deadline;
  MOAT_ASSIGN_OR_RETURN(HttpResponse pong, HttpFetch(ping));
  if (pong.status != 200) {
    return Fail("docker engine (", socket, "): /_ping answered HTTP ", std::to_string(pong.status));
  }
  int minor = ApiMinor(pong.Header("Api-Version"));
  std::string prefix;
  if (minor > 0) {
    if (minor < 24) {
      return Fail("docker engine (", socket, "): API version 1.", std::to_string(minor),
                  " is too old (need 1.24 or newer)");
    }
    prefix = "/v1." + std::to_string(std::min(minor, kMaxApiMinor));
  }
  return std::unique_ptr<ImageSource>(
      std::make_unique<DockerEngineImageSource>(reference, socket, prefix, deadline));
}

}  // namespace moat
