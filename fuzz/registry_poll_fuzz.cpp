// Registry replies read when polling (catalog and tags-list JSON, their Link header, the
// Docker-Content-Digest header) are untrusted: any bytes must give a page or an error, never a
// crash, and what is accepted must be safe to put into the next request's URL.
// Input: the Link header, a NUL byte, the body (also tried as a digest header).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/monitor/registry_listing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string link(split == std::string_view::npos ? "" : input.substr(0, split));
  const std::string_view body = split == std::string_view::npos ? input : input.substr(split + 1);
  const std::string origin = "http://127.0.0.1:5000";
  for (auto listing :
       {moat::server::RegistryListing::kCatalog, moat::server::RegistryListing::kTags}) {
    auto page =
        moat::server::ParseRegistryListing(origin, "/v2/_catalog?n=1000", listing, body, link);
    if (!page.ok()) continue;
    for (const auto& item : page->items) {
      // Accepted names never leave the repository path.
      if (item.empty() || item.find("..") != std::string::npos ||
          item.find('?') != std::string::npos || item.find('#') != std::string::npos) {
        std::abort();
      }
    }
    if (!page->next_path.empty() && page->next_path.rfind("/v2/", 0) != 0) std::abort();
  }
  (void)moat::server::ParseContentDigest(origin, "/v2/app/manifests/v1", std::string(body));
  return 0;
}
