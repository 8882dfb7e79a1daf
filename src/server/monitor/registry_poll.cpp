#include "server/monitor/registry_poll.h"

#include <map>
#include <set>

#include "artifact/registry_auth.h"
#include "artifact/source_util.h"
#include "core/bytes.h"
#include "core/http.h"
#include "core/log.h"
#include "core/sha256.h"
#include "server/center.h"
#include "server/monitor/registry_listing.h"

namespace moat::server {

namespace {

constexpr const char* kManifestTypes =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr size_t kMaxPages = 10'000;

// Requests to one registry with its credentials: a 401 is answered once per request (Basic, or a
// Bearer token for the request's scope, kept for the next requests of that scope).
class RegistryClient {
 public:
  explicit RegistryClient(const RegistryRecord& registry) : registry_(registry) {
    origin_ = registry.url;
    if (origin_.find("://") == std::string::npos) origin_ = "https://" + origin_;
    const size_t path = origin_.find('/', origin_.find("://") + 3);
    if (path != std::string::npos) origin_.resize(path);
    credentials_.username = registry.username;
    credentials_.password = registry.secret;
  }

  const std::string& origin() const { return origin_; }

  Result<HttpResponse> Send(const std::string& method, const std::string& path,
                            const std::string& scope, const std::string& accept = "") {
    for (int attempt = 0;; ++attempt) {
      HttpRequest request;
      request.method = method;
      request.url = origin_ + path;
      request.timeout_seconds = 60;
      request.follow_redirects = false;
      if (!accept.empty()) request.headers.emplace_back("Accept", accept);
      const std::string authorization = bearer_.count(scope) ? bearer_[scope] : basic_;
      if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
      MOAT_ASSIGN_OR_RETURN(HttpResponse response, HttpFetch(request));
      if (response.status != 401 || attempt > 0) return response;
      MOAT_TRY(Answer(response.Header("WWW-Authenticate"), scope));
    }
  }

  /// Every item of a paginated listing (the catalog's repositories, a repository's tags). A 404
  /// lists nothing (a repository whose last manifest was deleted).
  Result<std::vector<std::string>> ListAll(std::string path, const std::string& scope,
                                           RegistryListing listing) {
    std::vector<std::string> items;
    std::set<std::string> seen_pages;
    for (size_t page = 0; !path.empty(); ++page) {
      if (page >= kMaxPages || !seen_pages.insert(path).second) {
        return Fail(origin_, path, ": pagination does not end");
      }
      MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send("GET", path, scope));
      if (response.status == 404) break;
      if (response.status != 200) {
        return Fail(origin_, path, ": HTTP ", std::to_string(response.status));
      }
      MOAT_ASSIGN_OR_RETURN(auto parsed, ParseRegistryListing(origin_, path, listing, response.body,
                                                              response.Header("Link")));
      items.insert(items.end(), std::make_move_iterator(parsed.items.begin()),
                   std::make_move_iterator(parsed.items.end()));
      path = std::move(parsed.next_path);
    }
    return items;
  }

 private:
  Result<void> Answer(const std::string& header, const std::string& scope) {
    const std::string name = "registry " + registry_.name;
    if (header.empty()) return Fail(name, ": HTTP 401 without a WWW-Authenticate header");
    MOAT_ASSIGN_OR_RETURN(AuthChallenge challenge, ParseWwwAuthenticate(header));
    if (credentials_.username.empty() && challenge.scheme == "basic") {
      return Fail(name, ": the registry requires credentials and none are stored");
    }
    if (challenge.scheme == "basic") {
      basic_ = "Basic " + Base64Encode(credentials_.username + ":" + credentials_.password);
      return Ok();
    }
    if (challenge.scheme != "bearer") {
      return Fail(name, ": unsupported authentication scheme \"", challenge.scheme, "\"");
    }
    auto asked = challenge.params.find("scope");
    HttpRequest token_request;
    MOAT_ASSIGN_OR_RETURN(
        std::string token,
        FetchRegistryToken(challenge, asked != challenge.params.end() ? asked->second : scope,
                           credentials_, token_request, name));
    bearer_[scope] = "Bearer " + token;
    return Ok();
  }

  const RegistryRecord& registry_;
  std::string origin_;
  RegistryCredentials credentials_;
  std::string basic_;
  std::map<std::string, std::string> bearer_;  // by scope
};

std::string PullScope(const std::string& repository) {
  return "repository:" + repository + ":pull";
}

// The digest `reference` (a tag or a digest) resolves to now; "" when the registry has no such
// manifest (404).
Result<std::string> ResolveManifest(RegistryClient& client, const std::string& repository,
                                    const std::string& reference) {
  const std::string path = "/v2/" + repository + "/manifests/" + reference;
  MOAT_ASSIGN_OR_RETURN(HttpResponse head,
                        client.Send("HEAD", path, PullScope(repository), kManifestTypes));
  if (head.status == 404) return std::string();
  if (head.status != 200) {
    return Fail(client.origin(), path, ": HTTP ", std::to_string(head.status));
  }
  const std::string digest = head.Header("Docker-Content-Digest");
  if (digest.empty()) {
    // Registries need not send the header on HEAD: the digest is the manifest's own hash.
    MOAT_ASSIGN_OR_RETURN(HttpResponse get,
                          client.Send("GET", path, PullScope(repository), kManifestTypes));
    if (get.status != 200)
      return Fail(client.origin(), path, ": HTTP ", std::to_string(get.status));
    return "sha256:" + Sha256Hex(AsBytes(get.body));
  }
  return ParseContentDigest(client.origin(), path, digest);
}

}  // namespace

RegistryCheck CheckRegistryConnection(const RegistryRecord& registry) {
  RegistryClient client(registry);
  RegistryCheck check;
  auto response = client.Send("GET", "/v2/", "");
  if (!response.ok()) {
    check.message = response.error().message;
    return check;
  }
  check.status = response->status;
  check.ok = response->status == 200;
  check.message = check.ok ? "the registry answered /v2/ with HTTP 200"
                  : response->status == 401
                      ? "the registry refused the stored credentials (HTTP 401)"
                      : client.origin() + "/v2/: HTTP " + std::to_string(response->status) +
                            " (not a registry v2 API?)";
  return check;
}

Result<RegistryPollResult> PollRegistry(Center& center, const RegistryRecord& registry,
                                        int64_t now) {
  Store& store = center.store();
  RegistryClient client(registry);
  RegistryPollResult result;
  MOAT_ASSIGN_OR_RETURN(
      auto repositories,
      client.ListAll("/v2/_catalog?n=1000", "registry:catalog:*", RegistryListing::kCatalog));
  // (repository, tag) -> digest, as the registry has them now.
  std::map<std::pair<std::string, std::string>, std::string> current;
  for (const auto& repository : repositories) {
    ++result.repositories;
    MOAT_ASSIGN_OR_RETURN(auto tags, client.ListAll("/v2/" + repository + "/tags/list?n=1000",
                                                    PullScope(repository), RegistryListing::kTags));
    for (const auto& tag : tags) {
      MOAT_ASSIGN_OR_RETURN(std::string digest, ResolveManifest(client, repository, tag));
      if (digest.empty()) continue;  // deleted between the listing and now
      current[{repository, tag}] = digest;
      ++result.tags;
    }
  }
  MOAT_ASSIGN_OR_RETURN(auto known, store.ListRepositoryImages(registry.id));
  std::set<std::pair<std::string, std::string>> known_digests;
  std::map<std::pair<std::string, std::string>, std::string> known_tags;
  for (const auto& image : known) {
    known_digests.emplace(image.repository, image.digest);
    for (const auto& tag : image.tags) known_tags[{image.repository, tag}] = image.digest;
  }
  std::set<std::pair<std::string, std::string>> referenced;
  for (const auto& [key, digest] : current) {
    const auto& [repository, tag] = key;
    referenced.emplace(repository, digest);
    auto tagged = known_tags.find(key);
    if (tagged != known_tags.end() && tagged->second == digest) continue;  // unchanged
    MOAT_TRY(store.RecordPush(registry.id, repository, digest, tag, now));
    if (known_digests.emplace(repository, digest).second) {
      ++result.new_digests;
      MOAT_TRY(center.EnqueueScan(registry.id, repository, digest, "registry poll"));
    } else {
      ++result.moved_tags;
    }
  }
  for (const auto& [key, digest] : known_tags) {
    if (!current.count(key)) MOAT_TRY(store.DeleteTag(registry.id, key.first, key.second));
  }
  // A digest no tag points at: an untagged manifest (a moved tag's old image) stays with its
  // findings; one the registry no longer has is deleted.
  for (const auto& image : known) {
    if (referenced.count({image.repository, image.digest})) continue;
    MOAT_ASSIGN_OR_RETURN(std::string still,
                          ResolveManifest(client, image.repository, image.digest));
    if (!still.empty()) continue;
    MOAT_TRY(store.RecordDelete(registry.id, image.repository, image.digest));
    ++result.deleted;
  }
  return result;
}

Result<PollPassResult> PollDueRegistries(Center& center, int64_t now) {
  MOAT_ASSIGN_OR_RETURN(auto registries, center.store().ListRegistries());
  PollPassResult pass;
  for (const auto& registry : registries) {
    if (registry.poll_seconds <= 0 || now - registry.last_polled_at < registry.poll_seconds) {
      continue;
    }
    auto polled = PollRegistry(center, registry, now);
    std::string error;
    if (polled.ok()) {
      log::Info("polled registry " + registry.name + ": " + std::to_string(polled->tags) +
                " tags, " + std::to_string(polled->new_digests) + " new images, " +
                std::to_string(polled->deleted) + " deleted");
    } else {
      error = polled.error().message;
      pass.errors.push_back("registry " + registry.name + ": " + error);
    }
    MOAT_TRY(center.store().MarkRegistryPolled(registry.id, error));
    ++pass.polled;
  }
  return pass;
}

}  // namespace moat::server
