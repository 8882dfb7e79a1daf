#pragma once
// The REST API of the security center (/api/v1, documented in openapi.json, served at
// /api/v1/openapi.json). Every route but /healthz and /readyz needs a bearer token; each route
// names the access it needs and the roles that have it:
//   read   - admin, analyst, reader     triage - admin, analyst
//   ingest - admin, agent               admin  - admin

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "http/server.h"

namespace moat::server {

class Center;

/// Who may call a route: kRead admin, analyst, reader; kTriage admin, analyst; kIngest admin,
/// agent; kAdmin admin; kPolicies the readers and the agents (the admission policy modes, which
/// webhooks and the cluster agent's admission audit pull).
enum class Access { kPublic, kRead, kTriage, kIngest, kAdmin, kPolicies };

struct ApiOptions {
  /// Requests per second per token (token bucket), and the burst allowed above it.
  double rate_per_second = 200;
  double burst = 1000;
  /// Stamped into the SBOMs the API writes.
  std::string tool_version = "unknown";
  /// Only /healthz, /readyz and /metrics, no data routes and no dashboard (`moat worker
  /// --metrics-listen`: a worker's own job counters).
  bool metrics_only = false;
};

struct ApiRoute {
  std::string method;
  std::string pattern;
  Access access;
};

class Api {
 public:
  Api(Center& center, ApiOptions options);
  ~Api();
  http::Response Handle(http::Request& request);
  /// Every route with the access it needs (the authorization tests walk this list).
  const std::vector<ApiRoute>& routes() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The OpenAPI 3.1 document of the API.
const std::string& OpenApiDocument();

}  // namespace moat::server
