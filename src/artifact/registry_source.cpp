// OCI distribution (v2) registry source: manifests, indexes, config and layer blobs over HTTP(S),
// with Bearer/Basic auth, digest verification and retries.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "artifact/manifest.h"
#include "artifact/reference.h"
#include "artifact/registry_auth.h"
#include "artifact/source_util.h"
#include "artifact/sources.h"
#include "core/http.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/text.h"

namespace moat {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxMetadataBytes = 16u << 20;  // manifests, configs, token replies

std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// "https://index.docker.io/v1/" -> "index.docker.io"
std::string HostOfConfigKey(std::string_view key) {
  size_t scheme = key.find("://");
  if (scheme != std::string_view::npos) key = key.substr(scheme + 3);
  key = key.substr(0, key.find('/'));
  return AsciiLower(key);
}

bool IsDockerHubHost(std::string_view host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

bool IsRetryableStatus(long status) { return status == 429 || (status >= 500 && status <= 599); }

// Registries explain failures as {"errors":[{"code":..,"message":..}]}.
std::string RegistryErrorText(const std::string& body) {
  Json json = Json::parse(body, nullptr, false);
  if (!json.is_discarded() && json.is_object()) {
    auto errors = json.find("errors");
    if (errors != json.end() && errors->is_array() && !errors->empty()) {
      const Json& first = (*errors)[0];
      std::string text;
      if (first.is_object()) {
        if (first.contains("code") && first["code"].is_string())
          text = first["code"].get<std::string>();
        if (first.contains("message") && first["message"].is_string()) {
          text += (text.empty() ? "" : ": ") + first["message"].get<std::string>();
        }
      }
      if (!text.empty()) return text.substr(0, 300);
    }
  }
  std::string trimmed = body.substr(0, 200);
  for (char& c : trimmed) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return trimmed;
}

// Counts bytes pushed into a sink so a retry is only attempted while nothing was delivered.
class CountingSink : public ByteSink {
 public:
  explicit CountingSink(ByteSink& next) : next_(next) {}
  Result<void> Write(ByteSpan chunk) override {
    bytes_ += chunk.size();
    return next_.Write(chunk);
  }
  Result<void> Close() override { return Ok(); }
  uint64_t bytes() const { return bytes_; }

 private:
  ByteSink& next_;
  uint64_t bytes_ = 0;
};

class RegistryImageSource : public ImageSource {
 public:
  RegistryImageSource(ImageReference reference, RegistryOptions options,
                      RegistryCredentials credentials, Platform platform)
      : reference_(std::move(reference)),
        options_(std::move(options)),
        credentials_(std::move(credentials)),
        platform_(std::move(platform)) {
    base_url_ = std::string(options_.insecure ? "http://" : "https://") + reference_.ApiHost() +
                "/v2/" + reference_.repository;
  }

  std::string SourceName() const override { return "registry " + reference_.registry; }

  Result<ImageDescription> Describe() override {
    if (described_) return description_;
    std::string image_name = reference_.ToString();
    MOAT_ASSIGN_OR_RETURN(FetchedManifest top, FetchManifest(reference_.ManifestRef(), image_name));
    std::string top_digest = top.digest;
    MOAT_ASSIGN_OR_RETURN(ManifestKind kind,
                          DetectManifestKind(top.body, top.content_type, top.name));
    if (kind == ManifestKind::kIndex) {
      MOAT_ASSIGN_OR_RETURN(ImageIndex index, ParseImageIndex(top.body, top.name));
      MOAT_ASSIGN_OR_RETURN(Descriptor chosen, SelectPlatform(index, platform_, top.name));
      MOAT_ASSIGN_OR_RETURN(top, FetchManifest(chosen.digest, image_name));
      MOAT_ASSIGN_OR_RETURN(kind, DetectManifestKind(top.body, top.content_type, top.name));
      if (kind != ManifestKind::kImageManifest) {
        return Fail(top.name, ": index entry for the platform is not an image manifest");
      }
    }
    MOAT_ASSIGN_OR_RETURN(manifest_, ParseImageManifest(top.body, top.name));
    MOAT_ASSIGN_OR_RETURN(std::string config_json, FetchSmallBlob(manifest_.config.digest));
    std::string config_name = image_name + " config " + manifest_.config.digest;
    MOAT_ASSIGN_OR_RETURN(ImageConfig config, ParseImageConfig(config_json, config_name));
    if (config.diff_ids.size() != manifest_.layers.size()) {
      return Fail(image_name, ": manifest lists ", std::to_string(manifest_.layers.size()),
                  " layers but the config has ", std::to_string(config.diff_ids.size()),
                  " diff IDs");
    }
    diff_ids_ = config.diff_ids;

    ImageDescription description;
    description.image_id = manifest_.config.digest;
    description.manifest_digest = top.digest;
    if (!reference_.tag.empty()) {
      description.repo_tags.push_back(reference_.FamiliarName() + ":" + reference_.tag);
    }
    description.repo_digests.push_back(reference_.FamiliarName() + "@" + top_digest);
    for (const Descriptor& layer : manifest_.layers)
      description.layer_digests.push_back(layer.digest);
    description.config_json = std::move(config_json);
    description.diff_ids = config.diff_ids;
    description_ = std::move(description);
    described_ = true;
    return description_;
  }

  Result<void> StreamLayers(const std::vector<std::string>& wanted, LayerHandler& handler,
                            size_t threads) override {
    MOAT_TRY(Describe());
    std::vector<size_t> indices;
    for (size_t i = 0; i < diff_ids_.size(); ++i) {
      bool is_wanted = std::find(wanted.begin(), wanted.end(), diff_ids_[i]) != wanted.end();
      bool seen = std::find(indices.begin(), indices.end(), i) != indices.end();
      // The same layer may appear twice in an image; one download serves both.
      bool duplicate = false;
      for (size_t j : indices) duplicate = duplicate || diff_ids_[j] == diff_ids_[i];
      if (is_wanted && !seen && !duplicate) indices.push_back(i);
    }
    return RunJobs(indices.size(), threads, [&](size_t job) {
      size_t layer = indices[job];
      return DownloadLayer(manifest_.layers[layer].digest, diff_ids_[layer], handler);
    });
  }

 private:
  struct FetchedManifest {
    std::string body;
    std::string content_type;
    std::string digest;  // sha256 of body
    std::string name;    // for messages
  };

  std::string BlobName(const std::string& digest) const {
    return reference_.ToString() + " blob " + digest;
  }

  Result<FetchedManifest> FetchManifest(const std::string& ref, const std::string& image_name) {
    HttpRequest request;
    request.url = base_url_ + "/manifests/" + ref;
    request.headers.emplace_back("Accept", std::string(media_type::kOciIndex) + ", " +
                                               std::string(media_type::kOciManifest) + ", " +
                                               std::string(media_type::kDockerManifestList) + ", " +
                                               std::string(media_type::kDockerManifest));
    std::string name = image_name + " manifest " + ref;
    MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send(request, nullptr, nullptr));
    if (response.status == 404) {
      return Fail("image ", image_name, " not found in ", SourceName(), " (",
                  RegistryErrorText(response.body), ")");
    }
    if (response.status != 200) {
      return Fail(name, ": registry answered HTTP ", std::to_string(response.status), " (",
                  RegistryErrorText(response.body), ")");
    }
    if (response.body.size() > kMaxMetadataBytes) return Fail(name, ": manifest too large");
    FetchedManifest fetched;
    fetched.digest = "sha256:" + Sha256Hex(AsBytes(response.body));
    fetched.name = name;
    fetched.content_type = response.Header("Content-Type");
    if (ref.rfind("sha256:", 0) == 0 && fetched.digest != ref) {
      return Fail(name, ": digest mismatch: content hashes to ", fetched.digest);
    }
    std::string announced = response.Header("Docker-Content-Digest");
    if (IsSha256Digest(announced) && announced != fetched.digest) {
      return Fail(name, ": digest mismatch: registry announced ", announced,
                  " but the content hashes to ", fetched.digest);
    }
    fetched.body = std::move(response.body);
    return fetched;
  }

  Result<std::string> FetchSmallBlob(const std::string& digest) {
    HttpRequest request;
    request.url = base_url_ + "/blobs/" + digest;
    MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send(request, nullptr, nullptr));
    if (response.status != 200) {
      return Fail(BlobName(digest), ": registry answered HTTP ", std::to_string(response.status),
                  " (", RegistryErrorText(response.body), ")");
    }
    std::string actual = "sha256:" + Sha256Hex(AsBytes(response.body));
    if (actual != digest) {
      return Fail(BlobName(digest), ": digest mismatch: content hashes to ", actual);
    }
    return std::move(response.body);
  }

  Result<void> DownloadLayer(const std::string& digest, const std::string& diff_id,
                             LayerHandler& handler) {
    std::string name = BlobName(digest);
    MOAT_ASSIGN_OR_RETURN(
        std::unique_ptr<ByteSink> sink,
        handler.OpenLayer(diff_id, "blobs/" + digest.substr(0, 6) + "/" + digest.substr(7)));
    DigestingSink digesting(*sink);
    CountingSink counting(digesting);
    HttpRequest request;
    request.url = base_url_ + "/blobs/" + digest;
    MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send(request, &counting, &counting));
    if (response.status != 200) {
      return Fail(name, ": registry answered HTTP ", std::to_string(response.status), " (",
                  RegistryErrorText(response.body), ")");
    }
    std::string actual = digesting.Digest();
    if (actual != digest) {
      return Fail(name, ": digest mismatch: downloaded ", std::to_string(digesting.bytes()),
                  " bytes hash to ", actual);
    }
    return sink->Close();
  }

  // Sends a request with auth, answering one 401 challenge and retrying transient failures
  // (transport errors, 429, 5xx) with exponential backoff while no body byte was delivered.
  Result<HttpResponse> Send(HttpRequest request, ByteSink* sink, const CountingSink* counter) {
    request.verify_tls = !options_.insecure;
    request.timeout_seconds = options_.timeout_seconds;
    request.stall_timeout_seconds = options_.stall_timeout_seconds;
    request.deadline = options_.deadline;
    bool answered_challenge = false;
    int attempt = 0;
    int stalls = 0;
    while (true) {
      HttpRequest attempt_request = request;
      std::string authorization = CurrentAuthorization();
      if (!authorization.empty())
        attempt_request.headers.emplace_back("Authorization", authorization);
      HttpFailure failure = HttpFailure::kNone;
      Result<HttpResponse> response = HttpFetch(attempt_request, sink, &failure);
      bool delivered = counter != nullptr && counter->bytes() > 0;
      if (failure == HttpFailure::kStalled) ++stalls;
      if (failure == HttpFailure::kDeadline ||
          (failure == HttpFailure::kStalled && stalls > options_.max_stall_retries)) {
        // Say what was waited for, and how often, so a hung registry is recognisable.
        return response.error().Wrap(SourceName() + " (" + std::to_string(attempt + 1) +
                                     (attempt == 0 ? " attempt)" : " attempts)"));
      }
      bool retryable = !response.ok() || IsRetryableStatus(response->status);
      if (retryable) {
        if (delivered) {
          std::string why =
              response.ok() ? "HTTP " + std::to_string(response->status) : response.error().message;
          return Fail(request.url, ": transfer failed after ", std::to_string(counter->bytes()),
                      " bytes were delivered: ", why);
        }
        if (attempt < options_.max_retries) {
          auto delay = std::chrono::milliseconds(250) * (1 << attempt);
          if (response.ok()) {
            long retry_after = std::atol(response->Header("Retry-After").c_str());
            if (retry_after > 0)
              delay = std::chrono::milliseconds(std::min(retry_after, 30L) * 1000);
          }
          log::Debug("retrying " + request.url + " after " +
                     (response.ok() ? "HTTP " + std::to_string(response->status)
                                    : response.error().message));
          std::this_thread::sleep_for(delay);
          ++attempt;
          continue;
        }
        if (!response.ok()) return response.error().Wrap(SourceName());
        return response;
      }
      if (response->status == 401 && !answered_challenge) {
        answered_challenge = true;
        MOAT_TRY(Authenticate(response->Header("WWW-Authenticate")));
        continue;
      }
      if (response->status == 401 || response->status == 403) {
        return Fail(SourceName(), ": access to ", reference_.repository, " denied (HTTP ",
                    std::to_string(response->status), ", ", RegistryErrorText(response->body),
                    credentials_.username.empty() ? "; no credentials given)" : ")");
      }
      return response;
    }
  }

  std::string CurrentAuthorization() {
    std::lock_guard<std::mutex> lock(auth_mutex_);
    return authorization_;
  }

  Result<void> Authenticate(const std::string& header) {
    if (header.empty()) return Fail(SourceName(), ": HTTP 401 without a WWW-Authenticate header");
    MOAT_ASSIGN_OR_RETURN(AuthChallenge challenge, ParseWwwAuthenticate(header));
    if (challenge.scheme == "basic") {
      if (credentials_.username.empty()) {
        return Fail(SourceName(),
                    ": registry requires basic authentication and no credentials "
                    "were given (--username/--password or ~/.docker/config.json)");
      }
      std::lock_guard<std::mutex> lock(auth_mutex_);
      authorization_ = "Basic " + Base64Encode(credentials_.username + ":" + credentials_.password);
      return Ok();
    }
    if (challenge.scheme != "bearer") {
      return Fail(SourceName(), ": unsupported authentication scheme \"", challenge.scheme, "\"");
    }
    std::string scope = challenge.params.count("scope")
                            ? challenge.params["scope"]
                            : "repository:" + reference_.repository + ":pull";
    {
      std::lock_guard<std::mutex> lock(auth_mutex_);
      auto cached = token_cache_.find(scope);
      // A cached token that just drew a 401 has expired: fetch a new one.
      if (cached != token_cache_.end() && "Bearer " + cached->second != authorization_) {
        authorization_ = "Bearer " + cached->second;
        return Ok();
      }
    }
    HttpRequest token_request;
    token_request.verify_tls = !options_.insecure;
    token_request.stall_timeout_seconds = options_.stall_timeout_seconds;
    token_request.deadline = options_.deadline;
    MOAT_ASSIGN_OR_RETURN(std::string token, FetchRegistryToken(challenge, scope, credentials_,
                                                                token_request, SourceName()));
    std::lock_guard<std::mutex> lock(auth_mutex_);
    token_cache_[scope] = token;
    authorization_ = "Bearer " + token;
    return Ok();
  }

  ImageReference reference_;
  RegistryOptions options_;
  RegistryCredentials credentials_;
  Platform platform_;
  std::string base_url_;

  std::mutex auth_mutex_;
  std::string authorization_;
  std::map<std::string, std::string> token_cache_;

  bool described_ = false;
  ImageDescription description_;
  ImageManifest manifest_;
  std::vector<std::string> diff_ids_;
};

std::string DefaultDockerConfigPath() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/config.json";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.docker/config.json";
  }
  return "";
}

}  // namespace

Result<AuthChallenge> ParseWwwAuthenticate(std::string_view header) {
  AuthChallenge challenge;
  size_t i = 0;
  auto skip_spaces = [&] {
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
  };
  auto is_token_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  };
  skip_spaces();
  size_t start = i;
  while (i < header.size() && is_token_char(header[i])) ++i;
  if (i == start) return Fail("WWW-Authenticate header has no scheme");
  challenge.scheme = AsciiLower(header.substr(start, i - start));
  while (i < header.size()) {
    skip_spaces();
    if (i < header.size() && header[i] == ',') {
      ++i;
      continue;
    }
    start = i;
    while (i < header.size() && is_token_char(header[i])) ++i;
    if (i == start) break;  // token68 or garbage: the params we need are name=value
    std::string key = AsciiLower(header.substr(start, i - start));
    skip_spaces();
    if (i >= header.size() || header[i] != '=') break;  // next challenge's scheme
    ++i;
    skip_spaces();
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      bool closed = false;
      while (i < header.size()) {
        char c = header[i++];
        if (c == '\\' && i < header.size()) {
          value += header[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value += c;
        }
      }
      if (!closed) return Fail("WWW-Authenticate header: unterminated quoted string for ", key);
    } else {
      start = i;
      while (i < header.size() && header[i] != ',' && header[i] != ' ') ++i;
      value = std::string(header.substr(start, i - start));
    }
    challenge.params[key] = value;
  }
  return challenge;
}

Result<std::string> FetchRegistryToken(const AuthChallenge& challenge, const std::string& scope,
                                       const RegistryCredentials& credentials, HttpRequest request,
                                       const std::string& source_name) {
  auto param = [&challenge](const char* name) {
    auto it = challenge.params.find(name);
    return it == challenge.params.end() ? std::string() : it->second;
  };
  const std::string realm = param("realm");
  if (realm.rfind("https://", 0) != 0 && realm.rfind("http://", 0) != 0) {
    return Fail(source_name, ": bearer challenge has no http(s) realm");
  }
  request.method = "GET";
  request.url =
      realm + (realm.find('?') == std::string::npos ? "?" : "&") + "scope=" + UrlEncode(scope);
  if (!param("service").empty()) request.url += "&service=" + UrlEncode(param("service"));
  request.timeout_seconds = 60;
  if (!credentials.username.empty()) {
    request.headers.emplace_back(
        "Authorization",
        "Basic " + Base64Encode(credentials.username + ":" + credentials.password));
  }
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, HttpFetch(request));
  if (response.status != 200) {
    return Fail(source_name, ": token server ", realm, " answered HTTP ",
                std::to_string(response.status), " (", RegistryErrorText(response.body), ")");
  }
  Json json = Json::parse(response.body, nullptr, false);
  std::string token;
  if (!json.is_discarded() && json.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      if (json.contains(key) && json[key].is_string() && !json[key].get<std::string>().empty()) {
        token = json[key].get<std::string>();
        break;
      }
    }
  }
  if (token.empty()) return Fail(source_name, ": token server ", realm, " sent no token");
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
      return Fail(source_name, ": token server ", realm, " sent a malformed token");
    }
  }
  return token;
}

Result<RegistryCredentials> CredentialsFromDockerConfig(std::string_view config_json,
                                                        std::string_view registry,
                                                        std::string_view input_name) {
  RegistryCredentials credentials;
  Json json = Json::parse(config_json.begin(), config_json.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Fail(input_name, ": not a JSON object");
  if (json.contains("credsStore") || json.contains("credHelpers")) {
    log::Debug(std::string(input_name) +
               ": credential helpers are not supported; using auths only");
  }
  auto auths = json.find("auths");
  if (auths == json.end() || !auths->is_object()) return credentials;
  std::string wanted = AsciiLower(registry);
  for (const auto& [key, entry] : auths->items()) {
    std::string host = HostOfConfigKey(key);
    bool matches = host == wanted || (IsDockerHubHost(wanted) && IsDockerHubHost(host));
    if (!matches || !entry.is_object()) continue;
    if (entry.contains("auth") && entry["auth"].is_string() &&
        !entry["auth"].get<std::string>().empty()) {
      auto decoded = Base64Decode(entry["auth"].get<std::string>());
      if (!decoded.ok()) return decoded.error().Wrap(std::string(input_name) + ": auths." + key);
      size_t colon = decoded->find(':');
      if (colon == std::string::npos) {
        return Fail(input_name, ": auths.", key, ".auth is not base64 of user:password");
      }
      credentials.username = decoded->substr(0, colon);
      credentials.password = decoded->substr(colon + 1);
      return credentials;
    }
    if (entry.contains("username") && entry["username"].is_string() && entry.contains("password") &&
        entry["password"].is_string()) {
      credentials.username = entry["username"].get<std::string>();
      credentials.password = entry["password"].get<std::string>();
      return credentials;
    }
  }
  return credentials;
}

Result<std::unique_ptr<ImageSource>> OpenRegistryImage(const std::string& reference_text,
                                                       const RegistryOptions& options) {
  MOAT_ASSIGN_OR_RETURN(ImageReference reference, ImageReference::Parse(reference_text));
  MOAT_ASSIGN_OR_RETURN(Platform platform, ParsePlatform(options.platform));
  RegistryCredentials credentials{options.username, options.password};
  if (credentials.username.empty()) {
    std::string path =
        options.docker_config_path.empty() ? DefaultDockerConfigPath() : options.docker_config_path;
    if (!path.empty()) {
      auto text = ReadFileToString(path, 4u << 20);
      if (text.ok()) {
        MOAT_ASSIGN_OR_RETURN(credentials,
                              CredentialsFromDockerConfig(*text, reference.registry, path));
      } else if (!options.docker_config_path.empty()) {
        return text.error();  // a config the user named must be readable
      }
    }
  }
  return std::unique_ptr<ImageSource>(std::make_unique<RegistryImageSource>(
      std::move(reference), options, std::move(credentials), std::move(platform)));
}

}  // namespace moat
