// Registry requests of the image policies: HEAD/GET manifests and small blobs with the
// registry's authentication, each request bounded by the admission's deadline.

#include "admission/image_gate_registry.h"

#include <cstdlib>

#include "artifact/manifest.h"
#include "artifact/source_util.h"
#include "core/bytes.h"
#include "core/sha256.h"
#include "core/text.h"

namespace moat::admission {
namespace {

constexpr size_t kMaxManifestBytes = 4u << 20;

std::string ManifestAccept() {
  return std::string(media_type::kOciIndex) + ", " + std::string(media_type::kOciManifest) + ", " +
         std::string(media_type::kDockerManifestList) + ", " +
         std::string(media_type::kDockerManifest);
}

std::string DockerConfigPath(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0')
    return std::string(dir) + "/config.json";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::string(home) + "/.docker/config.json";
  return "";
}

/// Seconds left before `deadline` (at least 1: curl's timeouts are whole seconds; the deadline
/// itself is passed to the request too and cuts it at the millisecond).
long SecondsLeft(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return 30;
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
  return std::max<long>(1, static_cast<long>(left.count()) + 1);
}

}  // namespace

bool ImageRegistryClient::Insecure(const std::string& registry) const {
  for (const std::string& pattern : access_.insecure_registries) {
    if (GlobMatch(pattern, registry)) return true;
  }
  return false;
}

std::string ImageRegistryClient::BaseUrl(const ImageReference& image) const {
  return std::string(Insecure(image.registry) ? "http://" : "https://") + image.ApiHost() + "/v2/" +
         image.repository;
}

RegistryOptions ImageRegistryClient::Options(const std::string& registry,
                                             Clock::time_point deadline) const {
  RegistryOptions options;
  options.platform = access_.platform;
  options.insecure = Insecure(registry);
  options.docker_config_path = access_.docker_config;
  options.deadline = deadline;
  options.max_retries = 1;
  return options;
}

Result<RegistryCredentials> ImageRegistryClient::Credentials(const std::string& registry) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = credentials_.find(registry); it != credentials_.end()) return it->second;
  }
  RegistryCredentials credentials;
  const std::string path = DockerConfigPath(access_.docker_config);
  if (!path.empty()) {
    auto text = ReadFileToString(path, 4u << 20);
    if (text.ok()) {
      MOAT_ASSIGN_OR_RETURN(credentials, CredentialsFromDockerConfig(*text, registry, path));
    } else if (!access_.docker_config.empty()) {
      return text.error();  // a file the configuration names must be readable
    }
  }
  std::lock_guard lock(mutex_);
  credentials_[registry] = credentials;
  return credentials;
}

Result<HttpResponse> ImageRegistryClient::Send(const ImageReference& image, HttpRequest request,
                                               Clock::time_point deadline) {
  const std::string repository_key = image.registry + "/" + image.repository;
  request.verify_tls = !Insecure(image.registry);
  request.deadline = deadline;
  request.connect_timeout_seconds = SecondsLeft(deadline);
  request.timeout_seconds = SecondsLeft(deadline);
  request.stall_timeout_seconds = SecondsLeft(deadline);
  for (int attempt = 0; attempt < 2; ++attempt) {
    HttpRequest sent = request;
    {
      std::lock_guard lock(mutex_);
      if (auto it = authorization_.find(repository_key); it != authorization_.end())
        sent.headers.emplace_back("Authorization", it->second);
    }
    MOAT_ASSIGN_OR_RETURN(HttpResponse response, HttpFetch(sent));
    if (response.status != 401 || attempt == 1) return response;
    const std::string header = response.Header("WWW-Authenticate");
    if (header.empty())
      return Fail("registry ", image.registry, ": HTTP 401 without a WWW-Authenticate header");
    MOAT_ASSIGN_OR_RETURN(AuthChallenge challenge, ParseWwwAuthenticate(header));
    MOAT_ASSIGN_OR_RETURN(RegistryCredentials credentials, Credentials(image.registry));
    std::string authorization;
    if (challenge.scheme == "basic") {
      if (credentials.username.empty())
        return Fail("registry ", image.registry,
                    ": basic authentication required and no credentials in the Docker config");
      authorization = "Basic " + Base64Encode(credentials.username + ":" + credentials.password);
    } else if (challenge.scheme == "bearer") {
      HttpRequest token_request;
      token_request.verify_tls = request.verify_tls;
      token_request.deadline = deadline;
      token_request.stall_timeout_seconds = request.stall_timeout_seconds;
      const auto scope = challenge.params.find("scope");
      MOAT_ASSIGN_OR_RETURN(
          std::string token,
          FetchRegistryToken(challenge,
                             scope != challenge.params.end()
                                 ? scope->second
                                 : "repository:" + image.repository + ":pull",
                             credentials, token_request, "registry " + image.registry));
      authorization = "Bearer " + token;
    } else {
      return Fail("registry ", image.registry, ": unsupported authentication scheme \"",
                  challenge.scheme, "\"");
    }
    std::lock_guard lock(mutex_);
    authorization_[repository_key] = authorization;
  }
  return Fail("registry ", image.registry, ": unreachable");  // not reached
}

Result<std::optional<RegistryManifest>> ImageRegistryClient::FetchManifest(
    const ImageReference& image, const std::string& ref, Clock::time_point deadline) {
  const std::string name = image.registry + "/" + image.repository + " manifest " + ref;
  HttpRequest request;
  request.url = BaseUrl(image) + "/manifests/" + ref;
  request.headers.emplace_back("Accept", ManifestAccept());
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send(image, request, deadline));
  if (response.status == 404) return std::optional<RegistryManifest>();
  if (response.status != 200)
    return Fail(name, ": registry answered HTTP ", std::to_string(response.status));
  if (response.body.size() > kMaxManifestBytes) return Fail(name, ": manifest too large");
  RegistryManifest manifest;
  manifest.digest = "sha256:" + Sha256Hex(AsBytes(response.body));
  const std::string announced = response.Header("Docker-Content-Digest");
  if (IsSha256Digest(announced) && announced != manifest.digest)
    return Fail(name, ": the registry announced ", announced, " but the manifest hashes to ",
                manifest.digest);
  if (IsSha256Digest(ref) && ref != manifest.digest)
    return Fail(name, ": the manifest hashes to ", manifest.digest);
  manifest.content_type = response.Header("Content-Type");
  manifest.body = std::move(response.body);
  return std::optional<RegistryManifest>(std::move(manifest));
}

Result<std::string> ImageRegistryClient::ResolveDigest(const ImageReference& image,
                                                       Clock::time_point deadline) {
  if (!image.digest.empty()) return image.digest;
  const std::string name = image.ToString();
  HttpRequest request;
  request.method = "HEAD";
  request.url = BaseUrl(image) + "/manifests/" + image.tag;
  request.headers.emplace_back("Accept", ManifestAccept());
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send(image, request, deadline));
  if (response.status == 404) return Fail(name, ": no such tag in registry ", image.registry);
  if (response.status != 200)
    return Fail(name, ": registry ", image.registry, " answered HTTP ",
                std::to_string(response.status), " to HEAD of the manifest");
  const std::string announced = response.Header("Docker-Content-Digest");
  if (IsSha256Digest(announced)) return announced;
  // Registries need not send the header on HEAD: the digest is the manifest's own hash.
  MOAT_ASSIGN_OR_RETURN(auto manifest, FetchManifest(image, image.tag, deadline));
  if (!manifest) return Fail(name, ": no such tag in registry ", image.registry);
  return manifest->digest;
}

Result<std::string> ImageRegistryClient::FetchBlob(const ImageReference& image,
                                                   const std::string& digest, size_t max_bytes,
                                                   Clock::time_point deadline) {
  const std::string name = image.registry + "/" + image.repository + " blob " + digest;
  if (!IsSha256Digest(digest)) return Fail(name, ": not a sha256 digest");
  HttpRequest request;
  request.url = BaseUrl(image) + "/blobs/" + digest;
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send(image, request, deadline));
  if (response.status != 200)
    return Fail(name, ": registry answered HTTP ", std::to_string(response.status));
  if (response.body.size() > max_bytes) return Fail(name, ": larger than expected");
  if ("sha256:" + Sha256Hex(AsBytes(response.body)) != digest)
    return Fail(name, ": the content does not hash to its digest");
  return std::move(response.body);
}

}  // namespace moat::admission
