#pragma once
// The one HTTP(S) server of Moat (moat server, the admission webhook, every /metrics): Boost.Beast
// over OpenSSL behind value types, so that no Beast or Asio header leaks out of src/http.
//
// HTTP/1.1 with keep-alive. Untrusted clients are bounded: header and body size limits, a deadline
// for reading a whole request (slow clients), an idle limit between keep-alive requests and a
// connection cap; a bad request gets a 4xx with a message and the server goes on serving.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace moat::http {

struct Request {
  std::string method;  // upper case: "GET"
  std::string target;  // as sent: "/api/v1/images?severity=HIGH"
  std::string path;    // percent-decoded path without the query: "/api/v1/images"
  /// Percent-decoded query parameters in order ("a=1&a=2" gives two entries; "+" is a space).
  std::vector<std::pair<std::string, std::string>> query;
  /// Header names in lower case, values as sent (trimmed).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;  // "127.0.0.1" or "::1"
  /// Path parameters filled by the Router: pattern "/images/{digest}" -> {"digest", "sha256:.."}.
  std::vector<std::pair<std::string, std::string>> path_params;

  /// First value of a header (name in any case); empty when absent.
  std::string Header(std::string_view name) const;
  /// First value of a query parameter; empty when absent.
  std::string Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const;
  /// Every value of a query parameter, comma-separated values split ("a=x,y&a=z" -> x, y, z).
  std::vector<std::string> QueryList(std::string_view name) const;
  std::string PathParam(std::string_view name) const;
};

/// Writes one chunk of a streamed body; returns false when the client has gone.
using ChunkWriter = std::function<bool(std::string_view chunk)>;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// When set, the body is streamed with chunked transfer encoding (server-sent events, large
  /// exports): called once on a server thread; returns when the stream is over.
  std::function<void(const ChunkWriter&)> stream;

  /// {"error": message} with the status.
  static Response Error(int status, std::string_view message);
  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body, std::string content_type = "text/plain");
};

/// The request is the handler's: the Router fills its path_params in place, so that no handler
/// has to copy a request (agent batches are up to 16 MiB). A handler that only reads may take a
/// `const Request&`.
using Handler = std::function<Response(Request&)>;

/// Method + path-pattern dispatch. Patterns are literal segments and "{name}" segments (one
/// segment each); a trailing "{name...}" takes the rest of the path (slashes included), as image
/// repositories need. Unknown path: 404; known path with another method: 405 with Allow.
class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler);
  Response Route(Request& request) const;
  /// Patterns added, in order: (method, pattern) for the OpenAPI consistency test.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  struct Entry {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Entry> routes_;
};

struct ServerOptions {
  /// "HOST:PORT", "[::1]:PORT"; port 0 picks a free port (see Server::port()).
  std::string listen = "127.0.0.1:8080";
  /// PEM files; both or neither. Re-read when either file changes (cert-manager rotation), without
  /// dropping open connections.
  std::string tls_cert_file;
  std::string tls_key_file;
  /// PEM CA file; when set (with TLS), a client must present a certificate it signed.
  std::string tls_client_ca_file;
  size_t max_header_bytes = 16 << 10;
  size_t max_body_bytes = 3 << 20;
  /// A request must arrive whole within this (slow or half-closed clients).
  std::chrono::milliseconds read_timeout{10000};
  /// A keep-alive connection with no new request for this long is closed.
  std::chrono::milliseconds idle_timeout{60000};
  size_t threads = 2;
  size_t max_connections = 1024;
};

class Server {
 public:
  /// Binds, starts the threads and returns; the handler runs on server threads, concurrently.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, Handler handler);
  virtual ~Server() = default;
  virtual uint16_t port() const = 0;
  /// "http://127.0.0.1:PORT" or "https://...".
  virtual std::string url() const = 0;
  /// Stops accepting, finishes the requests in flight, joins the threads. Idempotent.
  virtual void Stop() = 0;
};

/// Splits "host:port" / "[v6]:port" (for --listen validation).
Result<std::pair<std::string, uint16_t>> ParseListenAddress(std::string_view listen);
/// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(std::string_view host);

}  // namespace moat::http
