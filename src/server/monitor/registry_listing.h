#pragma once
// The replies a registry gives to polling (src/server/monitor/registry_poll.cpp), parsed apart
// from the requests: catalog and tags-list pages with their Link headers, and manifest digests.
// Untrusted input (fuzz/registry_poll_fuzz.cpp).

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::server {

/// One page of a registry listing: GET /v2/_catalog ("repositories") or /v2/NAME/tags/list
/// ("tags"), paginated by Link headers.
enum class RegistryListing { kCatalog, kTags };
struct RegistryListingPage {
  std::vector<std::string> items;  // repository names or tags, each checked
  std::string next_path;           // "/v2/..." of the next page on the same registry; "" at the end
};

/// Parses one listing reply from `origin` (the registry's scheme://host:port) to GET `path`:
/// the JSON `body` and its `Link` header. Untrusted: an error names origin, path and what is
/// wrong (not an object, the list is not an array of strings, a name that is not a repository
/// name or tag, which could otherwise go into the next request's URL).
Result<RegistryListingPage> ParseRegistryListing(const std::string& origin, const std::string& path,
                                                 RegistryListing listing, std::string_view body,
                                                 const std::string& link);

/// Checks a Docker-Content-Digest header from `origin` for manifest `path`: "sha256:" and 64 or
/// "sha512:" and 128 lower-case hex digits.
Result<std::string> ParseContentDigest(const std::string& origin, const std::string& path,
                                       const std::string& header);

}  // namespace moat::server
