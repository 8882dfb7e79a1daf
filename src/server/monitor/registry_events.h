#pragma once
// The notification envelope a v2 registry (CNCF distribution, Harbor) posts to
// /api/v1/registry-events: {"events": [{"action": "push", "target": {...}, "request": {...}}]}.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::server {

struct RegistryEvent {
  std::string id;
  std::string action;  // push, pull, delete, mount
  std::string media_type;
  std::string digest;
  std::string repository;
  std::string tag;
  std::string url;           // target.url
  std::string request_host;  // request.host: the registry as the client addressed it
  std::string source_addr;   // source.addr: the registry instance
  int64_t time = 0;          // Unix seconds of the event's timestamp (0 when absent)

  /// An image manifest or index (not a layer blob): what a scan is about.
  bool IsManifest() const;
};

/// Parses an envelope; the error names the event index and field.
Result<std::vector<RegistryEvent>> ParseRegistryEvents(std::string_view body);

}  // namespace moat::server
