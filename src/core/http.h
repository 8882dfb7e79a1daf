#pragma once
// HTTP client (libcurl), used for the Docker Engine (unix socket) and registries.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace moat {

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // for unix sockets the host part is ignored: "http://localhost/v1.41/info"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string unix_socket;  // non-empty: connect through this socket
  long connect_timeout_seconds = 10;
  long timeout_seconds = 0;         // whole transfer; 0 = none
  long stall_timeout_seconds = 60;  // abort when under 1 byte/s for this long
  /// The end of the whole operation this request is part of (a scan's --timeout): the request
  /// gets at most the time left, and none once it has passed.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool follow_redirects = true;
  bool verify_tls = true;
  // TLS material as PEM text, because kubeconfigs carry it inline (*-data) and a file path
  // would need a temporary file. Empty = not used.
  std::string ca_pem;           // trust only these CAs for the server (not the system store)
  std::string client_cert_pem;  // client certificate (mutual TLS); needs client_key_pem
  std::string client_key_pem;
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // of the final response
  std::string body;                                          // empty when a body sink was given
  std::string effective_url;                                 // after redirects
  /// Case-insensitive lookup of the first header with this name ("" when absent).
  std::string Header(std::string_view name) const;
};

/// Why a request got no response, for callers that retry some failures and not others.
enum class HttpFailure {
  kNone,
  kStalled,   // nothing in time: no connection, no byte for stall_timeout_seconds, or the
              // whole transfer over timeout_seconds
  kDeadline,  // the request's deadline passed
  kOther,     // refused, reset, DNS, TLS, ...
};

/// Performs one request. Transport failures (refused, timeout, TLS) are Errors naming the URL
/// and, for timeouts, what was waited for and how long; `failure` (optional) says which kind.
/// HTTP error statuses are returned as responses. With a sink, a 2xx body streams into it
/// (non-2xx bodies are still collected into `body`, capped, for error messages) and the sink is
/// not closed.
Result<HttpResponse> HttpFetch(const HttpRequest& request, ByteSink* body_sink = nullptr,
                               HttpFailure* failure = nullptr);

}  // namespace moat
