#pragma once
// Polling of registries that send no notifications (RegistryRecord::poll_seconds > 0): the
// catalog, the tags of each repository and each tag's digest (OCI distribution API), compared
// with what the store saw last time. Only new digests are recorded as pushes and scanned.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "server/store/store.h"

namespace moat::server {

class Center;

/// What one poll of one registry changed.
struct RegistryPollResult {
  size_t repositories = 0;
  size_t tags = 0;
  size_t new_digests = 0;  // recorded as pushed and queued for a scan
  size_t moved_tags = 0;   // tags now on another digest that was known already
  size_t deleted = 0;      // manifests gone from the registry
};

/// Polls `registry` once: GET /v2/_catalog and /v2/<name>/tags/list (both paginated by Link
/// headers), HEAD /v2/<name>/manifests/<tag> for each tag's Docker-Content-Digest. New digests
/// get Store::RecordPush and a scan job; moved tags are updated; a digest no tag points at any
/// more is deleted only when the registry answers 404 for it (an untagged manifest stays, with
/// its findings). Anonymous, Basic and Bearer token auth, as image pulls do.
Result<RegistryPollResult> PollRegistry(Center& center, const RegistryRecord& registry,
                                        int64_t now);

struct PollPassResult {
  size_t polled = 0;
  std::vector<std::string> errors;  // "registry NAME: message"
};

/// The answer of a registry's API root (GET /v2/ with the registry's credentials, answering a
/// Basic or Bearer challenge as pulls do): whether the server can reach and sign in to it.
struct RegistryCheck {
  bool ok = false;
  int status = 0;       // HTTP status of /v2/ after authentication; 0 when unreachable
  std::string message;  // what went wrong, or "the registry answered /v2/ with HTTP 200"
};
RegistryCheck CheckRegistryConnection(const RegistryRecord& registry);

/// Polls each registry with poll_seconds > 0 whose last poll is poll_seconds old at `now`. A
/// registry's failure is recorded with Store::MarkRegistryPolled and the others go on.
Result<PollPassResult> PollDueRegistries(Center& center, int64_t now);

}  // namespace moat::server
