#include "server/monitor/registry_listing.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace moat::server {

namespace {

// Repository names as the distribution spec allows them (lower case, digits, separators, path
// components); anything else from a registry's reply is refused before it goes into a URL.
bool IsRepositoryName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.back() == '/') return false;
  if (name.find("..") != std::string::npos || name.find("//") != std::string::npos) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
          c == '/')) {
      return false;
    }
  }
  return true;
}

bool IsTag(const std::string& tag) {
  if (tag.empty() || tag.size() > 128 || tag.front() == '.' || tag.front() == '-') return false;
  for (char c : tag) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

// "sha256:<64 hex>" (or sha512): what a Docker-Content-Digest must be.
bool IsDigest(const std::string& digest) {
  size_t hex = 0;
  if (digest.rfind("sha256:", 0) == 0) {
    hex = 64;
  } else if (digest.rfind("sha512:", 0) == 0) {
    hex = 128;
  } else {
    return false;
  }
  if (digest.size() != 7 + hex) return false;
  for (size_t i = 7; i < digest.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(digest[i])) || std::isupper(digest[i])) {
      return false;
    }
  }
  return true;
}

// The next page of a paginated listing: `Link: </v2/_catalog?last=x&n=100>; rel="next"`.
// Only a path on the same registry is followed.
std::string NextPage(const std::string& link, const std::string& origin) {
  const size_t open = link.find('<'), close = link.find('>');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  if (link.find("rel=\"next\"", close) == std::string::npos &&
      link.find("rel=next", close) == std::string::npos) {
    return "";
  }
  std::string target = link.substr(open + 1, close - open - 1);
  if (target.rfind(origin, 0) == 0) target = target.substr(origin.size());
  return target.rfind("/v2/", 0) == 0 ? target : "";
}

}  // namespace

Result<RegistryListingPage> ParseRegistryListing(const std::string& origin, const std::string& path,
                                                 RegistryListing listing, std::string_view body,
                                                 const std::string& link) {
  const bool catalog = listing == RegistryListing::kCatalog;
  const char* field = catalog ? "repositories" : "tags";
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Fail(origin, path, ": not a JSON object");
  RegistryListingPage page;
  auto list = json.find(field);
  if (list != json.end() && !list->is_null()) {  // "tags": null when all were deleted
    if (!list->is_array()) return Fail(origin, path, ": \"", field, "\" is not an array");
    for (const auto& item : *list) {
      if (!item.is_string()) return Fail(origin, path, ": \"", field, "\" holds a non-string");
      std::string name = item.get<std::string>();
      if (catalog ? !IsRepositoryName(name) : !IsTag(name)) {
        return Fail(origin, path, ": \"", name.substr(0, 80), "\" is not a ",
                    catalog ? "repository name" : "tag");
      }
      page.items.push_back(std::move(name));
    }
  }
  page.next_path = NextPage(link, origin);
  return page;
}

Result<std::string> ParseContentDigest(const std::string& origin, const std::string& path,
                                       const std::string& header) {
  if (!IsDigest(header)) {
    return Fail(origin, path, ": Docker-Content-Digest \"", header.substr(0, 80),
                "\" is not a digest");
  }
  return header;
}

}  // namespace moat::server
