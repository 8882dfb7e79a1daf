// The server against real sockets on loopback: moat's libcurl client for well-formed traffic,
// raw sockets (and raw OpenSSL connections) for what curl would never send: malformed, slow,
// oversized and pipelined requests, connections kept open on purpose.

#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "core/http.h"
#include "core/text.h"

namespace moat::http {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// --- a raw HTTP/1.1 client over a socket or an OpenSSL connection --------------------------

struct RawHead {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string Header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "";
  }
  bool Has(const std::string& name) const {
    for (const auto& header : headers) {
      if (header.first == name) return true;
    }
    return false;
  }
};

struct RawResponse {
  RawHead head;
  std::string body;
};

class Connection {
 public:
  /// Connects to 127.0.0.1:port; with `tls`, also does the TLS handshake (nullptr on failure).
  static std::unique_ptr<Connection> Open(uint16_t port, SSL_CTX* tls = nullptr,
                                          const char* host = "127.0.0.1") {
    auto connection = std::unique_ptr<Connection>(new Connection());
    bool v6 = std::string(host).find(':') != std::string::npos;
    connection->fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc;
    if (v6) {
      sockaddr_in6 address{};
      address.sin6_family = AF_INET6;
      address.sin6_port = htons(port);
      ::inet_pton(AF_INET6, host, &address.sin6_addr);
      rc = ::connect(connection->fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    } else {
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port);
      ::inet_pton(AF_INET, host, &address.sin_addr);
      rc = ::connect(connection->fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    }
    if (rc != 0) return nullptr;
    if (tls != nullptr) {
      connection->ssl_ = SSL_new(tls);
      SSL_set_fd(connection->ssl_, connection->fd_);
      if (SSL_connect(connection->ssl_) != 1) return nullptr;
    }
    return connection;
  }

  ~Connection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ssl_ != nullptr ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                                  : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  /// Closes the sending side only (TCP half-close): the client can still read the answer.
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  /// The status line and headers of the next response.
  std::optional<RawHead> ReadHead(milliseconds timeout = milliseconds(5000)) {
    auto deadline = Clock::now() + timeout;
    size_t end;
    while ((end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(deadline)) return std::nullopt;
    }
    std::istringstream lines(buffered_.substr(0, end));
    buffered_.erase(0, end + 4);
    RawHead head;
    std::string line;
    std::getline(lines, line);
    if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) return std::nullopt;
    head.status = std::stoi(line.substr(9, 3));
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      head.headers.emplace_back(AsciiLower(line.substr(0, colon)), value);
    }
    return head;
  }

  /// One chunk of a chunked body: its data; "" for the last chunk; nullopt on failure.
  std::optional<std::string> ReadChunk(milliseconds timeout = milliseconds(5000)) {
    auto deadline = Clock::now() + timeout;
    size_t line_end;
    while ((line_end = buffered_.find("\r\n")) == std::string::npos) {
      if (!ReadMore(deadline)) return std::nullopt;
    }
    size_t size = std::stoul(buffered_.substr(0, line_end), nullptr, 16);
    size_t needed = line_end + 2 + size + 2;
    while (buffered_.size() < needed) {
      if (!ReadMore(deadline)) return std::nullopt;
    }
    std::string data = buffered_.substr(line_end + 2, size);
    buffered_.erase(0, needed);
    return data;
  }

  std::optional<std::string> ReadBytes(size_t size, milliseconds timeout = milliseconds(5000)) {
    auto deadline = Clock::now() + timeout;
    while (buffered_.size() < size) {
      if (!ReadMore(deadline)) return std::nullopt;
    }
    std::string data = buffered_.substr(0, size);
    buffered_.erase(0, size);
    return data;
  }

  /// A whole response; `head_request` for the answer to HEAD, which has no body.
  std::optional<RawResponse> ReadResponse(bool head_request = false,
                                          milliseconds timeout = milliseconds(5000)) {
    RawResponse response;
    auto head = ReadHead(timeout);
    if (!head) return std::nullopt;
    response.head = *head;
    if (head_request) return response;
    if (AsciiLower(head->Header("transfer-encoding")) == "chunked") {
      for (;;) {
        auto chunk = ReadChunk(timeout);
        if (!chunk) return std::nullopt;
        if (chunk->empty()) break;
        response.body += *chunk;
      }
      return response;
    }
    auto body = ReadBytes(std::stoul("0" + head->Header("content-length")), timeout);
    if (!body) return std::nullopt;
    response.body = *body;
    return response;
  }

  /// True when the server closes the connection within `timeout` (bytes before the close are
  /// dropped); false when it is still open then.
  bool WaitClosed(milliseconds timeout = milliseconds(5000)) {
    auto deadline = Clock::now() + timeout;
    while (ReadMore(deadline)) buffered_.clear();
    return closed_;
  }

  X509* PeerCertificate() const { return SSL_get1_peer_certificate(ssl_); }

 private:
  Connection() = default;

  // Appends what arrives before the deadline; false on close, error or timeout.
  bool ReadMore(Clock::time_point deadline) {
    char data[16384];
    if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      pollfd descriptor{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&descriptor, 1, static_cast<int>(left)) <= 0) return false;
    }
    ssize_t n =
        ssl_ != nullptr ? SSL_read(ssl_, data, sizeof data) : ::recv(fd_, data, sizeof data, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buffered_.append(data, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buffered_;
  bool closed_ = false;
};

std::string Get(const std::string& path, const std::string& extra_headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: moat\r\n" + extra_headers + "\r\n";
}

// --- the server under test ----------------------------------------------------------------

HttpResponse Fetch(const std::string& url, const std::string& method = "GET",
                   const std::string& body = "", const std::string& ca_pem = "") {
  HttpRequest request;
  request.method = method;
  request.url = url;
  request.body = body;
  request.ca_pem = ca_pem;
  request.timeout_seconds = 20;
  auto response = HttpFetch(request);
  EXPECT_TRUE(response.ok()) << url << ": " << response.error().message;
  return response.ok() ? *response : HttpResponse{};
}

// The routes every test serves.
struct TestRoutes {
  std::promise<void> first_chunk_read;
  std::promise<int> ticks_until_gone;
  std::atomic<int> slow_started{0};

  Handler MakeHandler() {
    auto router = std::make_shared<Router>();
    router->Add("GET", "/hello", [](const Request&) { return Response::Text(200, "hello"); });
    router->Add("GET", "/echo/{rest...}", [](const Request& request) {
      nlohmann::json query = nlohmann::json::array();
      for (const auto& [name, value] : request.query) query.push_back({name, value});
      return Response::Json(200, nlohmann::json{{"method", request.method},
                                                {"path", request.path},
                                                {"target", request.target},
                                                {"rest", request.PathParam("rest")},
                                                {"query", query},
                                                {"tags", request.QueryList("tag")},
                                                {"x_test", request.Header("X-Test")},
                                                {"remote", request.remote_address}}
                                     .dump());
    });
    router->Add("POST", "/upload", [](const Request& request) {
      return Response::Text(200, std::to_string(request.body.size()));
    });
    router->Add("GET", "/throw", [](const Request&) -> Response {
      throw std::runtime_error("database is on fire");
    });
    router->Add("GET", "/bad-status", [](const Request&) { return Response::Text(42, "?"); });
    router->Add("GET", "/headers", [](const Request&) {
      Response response = Response::Text(200, "h");
      response.headers = {{"X-Injected", "a\r\nSet-Cookie: evil=1"},
                          {"Content-Length", "999"},
                          {"X-Fine", "yes"},
                          {"Cache-Control", "max-age=60"}};
      return response;
    });
    router->Add("GET", "/slow", [this](const Request&) {
      ++slow_started;
      std::this_thread::sleep_for(milliseconds(500));
      return Response::Text(200, "slow");
    });
    router->Add("GET", "/stream", [this](const Request&) {
      Response response = Response::Text(200, "", "text/event-stream");
      response.stream = [this](const ChunkWriter& write) {
        write("data: one\n\n");
        first_chunk_read.get_future().wait_for(std::chrono::seconds(10));
        write("");  // nothing to send: must not end the body
        write("data: two\n\n");
      };
      return response;
    });
    router->Add("GET", "/ticks", [this](const Request&) {
      Response response = Response::Text(200, "", "text/event-stream");
      response.stream = [this](const ChunkWriter& write) {
        int ticks = 0;
        while (write("tick\n") && ticks < 5000) {
          ++ticks;
          std::this_thread::sleep_for(milliseconds(5));
        }
        ticks_until_gone.set_value(ticks);
      };
      return response;
    });
    router->Add("GET", "/stream-throws", [](const Request&) {
      Response response = Response::Text(200, "", "text/plain");
      response.stream = [](const ChunkWriter& write) {
        write("partial");
        throw std::runtime_error("export failed");
      };
      return response;
    });
    return [router](const Request& request) {
      Request routed = request;
      return router->Route(routed);
    };
  }
};

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    if (options.listen == ServerOptions().listen) options.listen = "127.0.0.1:0";
    auto started = Server::Start(options, routes_.MakeHandler());
    ASSERT_TRUE(started.ok()) << started.error().message;
    server_ = std::move(*started);
    ASSERT_NE(server_->port(), 0);
  }
  std::string Url(const std::string& path) const { return server_->url() + path; }
  std::unique_ptr<Connection> Connect() {
    auto connection = Connection::Open(server_->port());
    EXPECT_NE(connection, nullptr);
    return connection;
  }

  TestRoutes routes_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, RoutesParametersAnd404And405) {
  StartServer();
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(server_->port()));
  HttpResponse hello = Fetch(Url("/hello"));
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "hello");

  HttpResponse echo = Fetch(Url("/echo/registry:5000/library/nginx"));
  ASSERT_EQ(echo.status, 200);
  auto body = nlohmann::json::parse(echo.body);
  EXPECT_EQ(body["rest"], "registry:5000/library/nginx");
  EXPECT_EQ(body["remote"], "127.0.0.1");

  HttpResponse missing = Fetch(Url("/nothing/here"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"], "not found: /nothing/here");

  HttpResponse wrong = Fetch(Url("/hello"), "DELETE");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.Header("Allow"), "GET, HEAD");
}

TEST_F(ServerTest, PathAndQueryArePercentDecoded) {
  StartServer();
  HttpResponse echo =
      Fetch(Url("/echo/a%20b/sha256%3Aab?q=x%2By+z&tag=HIGH,CRITICAL&tag=LOW&empty&u=%E2%9C%93"));
  ASSERT_EQ(echo.status, 200) << echo.body;
  auto body = nlohmann::json::parse(echo.body);
  EXPECT_EQ(body["path"], "/echo/a b/sha256:ab");
  EXPECT_EQ(body["rest"], "a b/sha256:ab");
  EXPECT_EQ(body["target"],
            "/echo/a%20b/sha256%3Aab?q=x%2By+z&tag=HIGH,CRITICAL&tag=LOW&empty&u=%E2%9C%93");
  EXPECT_EQ(body["query"], nlohmann::json::parse(R"([["q","x+y z"],["tag","HIGH,CRITICAL"],
      ["tag","LOW"],["empty",""],["u","✓"]])"));
  EXPECT_EQ(body["tags"], nlohmann::json::parse(R"(["HIGH","CRITICAL","LOW"])"));

  for (const char* bad : {"/echo/%zz", "/echo/x?a=%4"}) {
    HttpResponse rejected = Fetch(Url(bad));
    EXPECT_EQ(rejected.status, 400) << bad;
    EXPECT_TRUE(nlohmann::json::parse(rejected.body).contains("error")) << rejected.body;
  }
  // The connection that got the 400 for a bad target stays usable: the request was whole.
  auto connection = Connect();
  ASSERT_TRUE(connection->Send(Get("/echo/%zz") + Get("/echo/%2e%2e/secret") + Get("/hello")));
  EXPECT_EQ(connection->ReadResponse()->head.status, 400);
  auto dots = connection->ReadResponse();
  EXPECT_EQ(dots->head.status, 400);
  EXPECT_EQ(nlohmann::json::parse(dots->body)["error"],
            "request path '/echo/%2e%2e/secret' has a '..' segment");
  EXPECT_EQ(connection->ReadResponse()->body, "hello");
}

TEST_F(ServerTest, ResponseHeaders) {
  StartServer();
  auto connection = Connect();
  ASSERT_TRUE(connection->Send(Get("/echo/x") + Get("/hello") + Get("/headers")));
  auto json = connection->ReadResponse();
  ASSERT_TRUE(json);
  EXPECT_EQ(json->head.Header("content-type"), "application/json");
  EXPECT_EQ(json->head.Header("cache-control"), "no-store");
  EXPECT_EQ(json->head.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(json->head.Header("content-length"), std::to_string(json->body.size()));
  auto text = connection->ReadResponse();
  ASSERT_TRUE(text);
  EXPECT_EQ(text->head.Header("content-type"), "text/plain");
  EXPECT_FALSE(text->head.Has("cache-control"));
  EXPECT_EQ(text->head.Header("x-content-type-options"), "nosniff");
  auto custom = connection->ReadResponse();
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->body, "h");
  EXPECT_EQ(custom->head.Header("content-length"), "1");  // the handler's 999 is ignored
  EXPECT_EQ(custom->head.Header("x-fine"), "yes");
  EXPECT_EQ(custom->head.Header("cache-control"), "max-age=60");
  EXPECT_FALSE(custom->head.Has("x-injected"));
  EXPECT_FALSE(custom->head.Has("set-cookie"));
}

TEST_F(ServerTest, KeepAliveHeadPipeliningAndIdleTimeout) {
  ServerOptions options;
  options.idle_timeout = milliseconds(400);
  StartServer(options);
  auto connection = Connect();
  ASSERT_TRUE(connection->Send(Get("/hello")));
  auto first = connection->ReadResponse();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "hello");
  EXPECT_FALSE(first->head.Has("connection"));  // HTTP/1.1: kept alive without saying so
  // HEAD: GET's headers, no body (else the next response would be misread).
  ASSERT_TRUE(connection->Send("HEAD /hello HTTP/1.1\r\nHost: moat\r\n\r\n"));
  auto head = connection->ReadResponse(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->head.status, 200);
  EXPECT_EQ(head->head.Header("content-length"), "5");
  // Two requests in one write, answered in order on the same connection.
  ASSERT_TRUE(connection->Send(Get("/echo/one") + Get("/echo/two")));
  EXPECT_EQ(nlohmann::json::parse(connection->ReadResponse()->body)["rest"], "one");
  EXPECT_EQ(nlohmann::json::parse(connection->ReadResponse()->body)["rest"], "two");
  // "Connection: close" is honoured.
  ASSERT_TRUE(connection->Send(Get("/hello", "Connection: close\r\n")));
  auto last = connection->ReadResponse();
  ASSERT_TRUE(last);
  EXPECT_EQ(AsciiLower(last->head.Header("connection")), "close");
  EXPECT_TRUE(connection->WaitClosed(milliseconds(2000)));

  // An idle keep-alive connection is closed after idle_timeout, not before.
  auto idle = Connect();
  ASSERT_TRUE(idle->Send(Get("/hello")));
  ASSERT_TRUE(idle->ReadResponse());
  auto start = Clock::now();
  EXPECT_TRUE(idle->WaitClosed(milliseconds(3000)));
  auto waited = Clock::now() - start;
  EXPECT_GE(waited, milliseconds(300));
  EXPECT_LT(waited, milliseconds(2500));

  // HTTP/1.0 closes unless asked to keep alive.
  auto old = Connect();
  ASSERT_TRUE(old->Send("GET /hello HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(old->ReadResponse()->body, "hello");
  EXPECT_TRUE(old->WaitClosed(milliseconds(2000)));
}

TEST_F(ServerTest, BodyOverTheLimitIs413) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  StartServer(options);
  EXPECT_EQ(Fetch(Url("/upload"), "POST", std::string(1000, 'x')).body, "1000");
  HttpResponse over = Fetch(Url("/upload"), "POST", std::string(5000, 'x'));
  EXPECT_EQ(over.status, 413);
  EXPECT_EQ(nlohmann::json::parse(over.body)["error"], "request body over 1000 bytes");

  // Content-Length is checked before the body is read: the 413 comes without it.
  auto announced = Connect();
  ASSERT_TRUE(
      announced->Send("POST /upload HTTP/1.1\r\nHost: moat\r\nContent-Length: 1000000\r\n\r\n"));
  auto early = announced->ReadResponse();
  ASSERT_TRUE(early);
  EXPECT_EQ(early->head.status, 413);
  EXPECT_TRUE(announced->WaitClosed());

  // Chunked bodies have no Content-Length; they are counted as they come.
  auto chunk = [](size_t size) {
    std::ostringstream out;
    out << std::hex << size << "\r\n" << std::string(size, 'c') << "\r\n";
    return out.str();
  };
  std::string chunked_head =
      "POST /upload HTTP/1.1\r\nHost: moat\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto small = Connect();
  ASSERT_TRUE(small->Send(chunked_head + chunk(300) + chunk(300) + "0\r\n\r\n"));
  EXPECT_EQ(small->ReadResponse()->body, "600");
  auto large = Connect();
  ASSERT_TRUE(large->Send(chunked_head + chunk(600) + chunk(600)));
  auto rejected = large->ReadResponse();
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->head.status, 413);
  EXPECT_TRUE(large->WaitClosed());

  // Expect: 100-continue gets its interim answer before the body is sent.
  auto polite = Connect();
  ASSERT_TRUE(polite->Send(
      "POST /upload HTTP/1.1\r\nHost: moat\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = polite->ReadHead();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(polite->Send("12345"));
  EXPECT_EQ(polite->ReadResponse()->body, "5");
}

TEST_F(ServerTest, HugeHeaderIs431) {
  ServerOptions options;
  options.max_header_bytes = 4096;
  StartServer(options);
  auto connection = Connect();
  ASSERT_TRUE(connection->Send(Get("/hello", "X-Big: " + std::string(8000, 'a') + "\r\n")));
  auto response = connection->ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->head.status, 431);
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"], "request header over 4096 bytes");
  EXPECT_TRUE(connection->WaitClosed());
  EXPECT_EQ(Fetch(Url("/hello")).status, 200);
}

TEST_F(ServerTest, MalformedRequestsAre400AndTheServerGoesOn) {
  StartServer();
  for (std::string bad :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET /hello HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string("GET /hello HTTP/1.1\r\nContent-Length: 1\r\n"
                    "Content-Length: 2\r\n\r\n"),
        // Request smuggling: the two framings disagree.
        std::string("POST /upload HTTP/1.1\r\nContent-Length: 4\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        std::string("POST /upload HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")}) {
    auto connection = Connect();
    ASSERT_TRUE(connection->Send(bad));
    auto response = connection->ReadResponse();
    ASSERT_TRUE(response) << bad;
    EXPECT_EQ(response->head.status, 400) << bad;
    EXPECT_TRUE(nlohmann::json::parse(response->body).contains("error"));
    EXPECT_TRUE(connection->WaitClosed()) << bad;
  }
  // A client that connects and leaves says nothing and gets nothing.
  { auto silent = Connect(); }
  EXPECT_EQ(Fetch(Url("/hello")).body, "hello");
}

TEST_F(ServerTest, HalfClosedMidRequestIs400AndTheServerGoesOn) {
  StartServer();
  for (std::string partial :
       {std::string("GET /hello HTTP/1.1\r\nHost: moat\r\n"),
        std::string("POST /upload HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")}) {
    auto connection = Connect();
    ASSERT_TRUE(connection->Send(partial));
    connection->ShutdownWrite();
    auto response = connection->ReadResponse();
    ASSERT_TRUE(response) << partial;
    EXPECT_EQ(response->head.status, 400) << partial;
    EXPECT_NE(response->body.find("cut short"), std::string::npos) << response->body;
    EXPECT_TRUE(connection->WaitClosed()) << partial;
  }
  // A client that half-closes before sending anything gets nothing, at once.
  auto silent = Connect();
  silent->ShutdownWrite();
  EXPECT_FALSE(silent->ReadResponse(false, milliseconds(2000)));
  EXPECT_EQ(Fetch(Url("/hello")).body, "hello");
}

TEST_F(ServerTest, SlowClientsAreCutOffWhileOthersAreServed) {
  ServerOptions options;
  options.read_timeout = milliseconds(500);
  StartServer(options);
  // Half a request, then nothing.
  auto half = Connect();
  auto start = Clock::now();
  ASSERT_TRUE(half->Send("GET /hello HTTP/1.1\r\nHost: moat\r\n"));
  // A byte every 100 ms: each read makes progress, but the whole request is late.
  auto trickle = Connect();
  std::atomic<bool> stop_trickle{false};
  std::thread trickler([&] {
    std::string request = Get("/hello", "X-Padding: " + std::string(100, 'p') + "\r\n");
    for (char c : request) {
      if (stop_trickle || !trickle->Send(std::string_view(&c, 1))) return;
      std::this_thread::sleep_for(milliseconds(100));
    }
  });
  EXPECT_EQ(Fetch(Url("/hello")).body, "hello");
  for (Connection* slow : {half.get(), trickle.get()}) {
    auto response = slow->ReadResponse(false, milliseconds(3000));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->head.status, 408);
    EXPECT_TRUE(slow->WaitClosed(milliseconds(3000)));
  }
  auto elapsed = Clock::now() - start;
  stop_trickle = true;
  trickler.join();
  EXPECT_GE(elapsed, milliseconds(450));
  EXPECT_LT(elapsed, milliseconds(3000));
  EXPECT_EQ(Fetch(Url("/hello")).body, "hello");
}

TEST_F(ServerTest, HandlerExceptionIs500AndTheServerGoesOn) {
  StartServer();
  HttpResponse failed = Fetch(Url("/throw"));
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(nlohmann::json::parse(failed.body)["error"],
            "internal error while handling GET /throw");
  EXPECT_EQ(failed.body.find("fire"), std::string::npos);  // internals stay in the log
  EXPECT_EQ(Fetch(Url("/bad-status")).status, 500);
  EXPECT_EQ(Fetch(Url("/hello")).body, "hello");
}

TEST_F(ServerTest, StreamedResponseArrivesChunkByChunk) {
  ServerOptions options;
  options.threads = 1;  // the stream must not hold the only server thread
  StartServer(options);
  auto connection = Connect();
  ASSERT_TRUE(connection->Send(Get("/stream")));
  auto head = connection->ReadHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(AsciiLower(head->Header("transfer-encoding")), "chunked");
  EXPECT_FALSE(head->Has("content-length"));
  EXPECT_EQ(head->Header("content-type"), "text/event-stream");
  // The first event is here while the callback still waits to write the second.
  EXPECT_EQ(connection->ReadChunk(), "data: one\n\n");
  EXPECT_EQ(Fetch(Url("/hello")).body, "hello");
  routes_.first_chunk_read.set_value();
  EXPECT_EQ(connection->ReadChunk(), "data: two\n\n");
  EXPECT_EQ(connection->ReadChunk(), "");  // the last chunk
  // The connection is kept alive after the stream.
  ASSERT_TRUE(connection->Send(Get("/hello")));
  EXPECT_EQ(connection->ReadResponse()->body, "hello");
}

TEST_F(ServerTest, StreamWriterReturnsFalseOnceTheClientIsGone) {
  StartServer();
  auto ticks = routes_.ticks_until_gone.get_future();
  {
    auto connection = Connect();
    ASSERT_TRUE(connection->Send(Get("/ticks")));
    ASSERT_TRUE(connection->ReadHead());
    EXPECT_EQ(connection->ReadChunk(), "tick\n");
  }
  ASSERT_EQ(ticks.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_LT(ticks.get(), 5000);

  // libcurl reads a stream whole; a stream cut short by an exception is not complete.
  HttpRequest request;
  request.url = Url("/stream-throws");
  auto cut = HttpFetch(request);
  EXPECT_FALSE(cut.ok());
  EXPECT_EQ(Fetch(Url("/hello")).body, "hello");
}

TEST_F(ServerTest, ConnectionsOverTheLimitGet503) {
  ServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  auto first = Connect();
  auto second = Connect();
  for (Connection* held : {first.get(), second.get()}) {
    ASSERT_TRUE(held->Send(Get("/hello")));
    ASSERT_EQ(held->ReadResponse()->head.status, 200);  // both counted, both kept open
  }
  auto third = Connect();
  ASSERT_TRUE(third->Send(Get("/hello")));
  auto refused = third->ReadResponse();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->head.status, 503);
  EXPECT_EQ(refused->head.Header("retry-after"), "1");
  EXPECT_TRUE(third->WaitClosed());

  first.reset();  // a slot frees once the server sees the close
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    auto next = Connect();
    ASSERT_TRUE(next->Send(Get("/hello")));
    auto response = next->ReadResponse();
    status = response ? response->head.status : 0;
    if (status != 200) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(status, 200);
}

TEST_F(ServerTest, ManyClientsAtOnce) {
  ServerOptions options;
  options.threads = 4;
  StartServer(options);
  constexpr int kClients = 8;
  constexpr int kRequests = 200;
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([&, client] {
      for (int i = 0; i < kRequests; ++i) {
        std::string rest = std::to_string(client) + "/" + std::to_string(i);
        HttpRequest request;
        request.url = Url("/echo/" + rest);
        auto response = HttpFetch(request);
        if (response.ok() && response->status == 200 &&
            nlohmann::json::parse(response->body)["rest"] == rest) {
          ++answered;
        }
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(answered, kClients * kRequests);
}

TEST_F(ServerTest, StopFinishesRequestsInFlight) {
  StartServer();
  std::future<HttpResponse> slow =
      std::async(std::launch::async, [&] { return Fetch(Url("/slow")); });
  auto stream = Connect();
  ASSERT_TRUE(stream->Send(Get("/ticks")));
  ASSERT_TRUE(stream->ReadHead());
  while (routes_.slow_started == 0) std::this_thread::sleep_for(milliseconds(5));
  auto idle = Connect();
  ASSERT_TRUE(idle->Send(Get("/hello")));
  ASSERT_TRUE(idle->ReadResponse());

  auto start = Clock::now();
  server_->Stop();
  // The slow handler's 500 ms, not a 2 s linger nor the 5 s grace.
  EXPECT_LT(Clock::now() - start, milliseconds(1900));
  HttpResponse finished = slow.get();
  EXPECT_EQ(finished.status, 200);
  EXPECT_EQ(finished.body, "slow");
  EXPECT_TRUE(idle->WaitClosed(milliseconds(1000)));
  EXPECT_TRUE(stream->WaitClosed(milliseconds(1000)));
  EXPECT_EQ(Connection::Open(server_->port()), nullptr);  // nobody listens any more
  server_->Stop();                                        // idempotent
}

TEST(ServerStart, ListensOnIpv6Loopback) {
  ServerOptions options;
  options.listen = "[::1]:0";
  auto server = Server::Start(
      options, [](const Request& request) { return Response::Text(200, request.remote_address); });
  ASSERT_TRUE(server.ok()) << server.error().message;
  EXPECT_EQ((*server)->url(), "http://[::1]:" + std::to_string((*server)->port()));
  EXPECT_EQ(Fetch((*server)->url() + "/").body, "::1");
}

TEST(ServerStart, BadOptionsAreErrors) {
  auto handler = [](const Request&) { return Response::Text(200, ""); };
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  auto first = Server::Start(options, handler);
  ASSERT_TRUE(first.ok());
  options.listen = "127.0.0.1:" + std::to_string((*first)->port());
  auto taken = Server::Start(options, handler);
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.error().message.find(options.listen), std::string::npos);

  options.listen = "nonsense";
  EXPECT_FALSE(Server::Start(options, handler).ok());
  options.listen = "127.0.0.1:0";
  options.tls_cert_file = "/nonexistent/cert.pem";
  auto half_tls = Server::Start(options, handler);
  ASSERT_FALSE(half_tls.ok());
  EXPECT_NE(half_tls.error().message.find("key"), std::string::npos);
  options.tls_key_file = "/nonexistent/key.pem";
  auto missing = Server::Start(options, handler);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/cert.pem"), std::string::npos);
}

// --- TLS -----------------------------------------------------------------------------------

class TlsServerTest : public ServerTest {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/moat-http-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  /// A self-signed certificate for 127.0.0.1 made with the openssl CLI; returns its PEM.
  std::string MakeCertificate(const std::string& name, const std::string& common_name) {
    std::string command = "cd " + dir_.string() +
                          " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
                          " -nodes -days 2 -keyout " +
                          name + ".key -out " + name + ".crt -subj /CN=" + common_name +
                          " -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null";
    EXPECT_EQ(std::system(command.c_str()), 0) << "openssl (package openssl) failed: " << command;
    std::ifstream in(dir_ / (name + ".crt"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  ServerOptions TlsOptions() {
    ServerOptions options;
    options.tls_cert_file = (dir_ / "server.crt").string();
    options.tls_key_file = (dir_ / "server.key").string();
    return options;
  }

  static std::string CommonName(X509* certificate) {
    char name[256] = "";
    if (certificate != nullptr) {
      X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, name,
                                sizeof name);
      X509_free(certificate);
    }
    return name;
  }

  // A client context that accepts any certificate (the tests compare names) and speaks only
  // the given protocol versions.
  static SSL_CTX* ClientContext(int min_version, int max_version) {
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(context, 0);  // let the client offer TLS 1.1 at all
    SSL_CTX_set_min_proto_version(context, min_version);
    SSL_CTX_set_max_proto_version(context, max_version);
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
    return context;
  }

  fs::path dir_;
};

TEST_F(TlsServerTest, ServesHttpsAndRotatesCertificatesWithoutDroppingConnections) {
  std::string ca_one = MakeCertificate("server", "moat-one");
  StartServer(TlsOptions());
  EXPECT_EQ(server_->url(), "https://127.0.0.1:" + std::to_string(server_->port()));
  HttpResponse hello = Fetch(Url("/hello"), "GET", "", ca_one);
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "hello");

  SSL_CTX* client = ClientContext(TLS1_2_VERSION, TLS1_3_VERSION);
  auto kept = Connection::Open(server_->port(), client);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(CommonName(kept->PeerCertificate()), "moat-one");
  ASSERT_TRUE(kept->Send(Get("/hello")));
  EXPECT_EQ(kept->ReadResponse()->body, "hello");

  // Rotation as cert-manager does it: new files renamed over the old ones.
  std::string ca_two = MakeCertificate("next", "moat-two");
  fs::rename(dir_ / "next.key", dir_ / "server.key");
  fs::rename(dir_ / "next.crt", dir_ / "server.crt");
  auto rotated = Clock::now();
  bool seen = false;
  while (!seen && Clock::now() - rotated < std::chrono::seconds(10)) {
    auto fresh = Connection::Open(server_->port(), client);
    ASSERT_NE(fresh, nullptr);
    seen = CommonName(fresh->PeerCertificate()) == "moat-two";
    if (!seen) std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_TRUE(seen);
  EXPECT_LT(Clock::now() - rotated, std::chrono::seconds(5));
  // New connections verify against the new certificate only.
  EXPECT_EQ(Fetch(Url("/hello"), "GET", "", ca_two).body, "hello");
  HttpRequest old_trust;
  old_trust.url = Url("/hello");
  old_trust.ca_pem = ca_one;
  EXPECT_FALSE(HttpFetch(old_trust).ok());
  // The connection opened before the rotation goes on, with its certificate.
  ASSERT_TRUE(kept->Send(Get("/echo/after")));
  EXPECT_EQ(nlohmann::json::parse(kept->ReadResponse()->body)["rest"], "after");
  EXPECT_EQ(CommonName(kept->PeerCertificate()), "moat-one");

  // A half-written rotation (a key that does not match) keeps the current certificate.
  MakeCertificate("stray", "moat-stray");
  fs::rename(dir_ / "stray.key", dir_ / "server.key");
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_EQ(Fetch(Url("/hello"), "GET", "", ca_two).body, "hello");
  SSL_CTX_free(client);
}

TEST_F(TlsServerTest, OnlyTls12AndLater) {
  MakeCertificate("server", "moat-tls");
  StartServer(TlsOptions());
  struct Attempt {
    int version;
    bool accepted;
  };
  for (Attempt attempt : {Attempt{TLS1_VERSION, false}, Attempt{TLS1_1_VERSION, false},
                          Attempt{TLS1_2_VERSION, true}, Attempt{TLS1_3_VERSION, true}}) {
    SSL_CTX* client = ClientContext(attempt.version, attempt.version);
    ERR_clear_error();
    auto connection = Connection::Open(server_->port(), client);
    EXPECT_EQ(connection != nullptr, attempt.accepted) << std::hex << attempt.version;
    if (!attempt.accepted) {
      // Refused by the server (its protocol_version alert), not by our own client.
      EXPECT_EQ(ERR_GET_REASON(ERR_peek_last_error()), SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
          << ERR_error_string(ERR_peek_last_error(), nullptr);
    } else {
      ASSERT_TRUE(connection->Send(Get("/hello")));
      EXPECT_EQ(connection->ReadResponse()->body, "hello");
    }
    SSL_CTX_free(client);
  }
  // A plain-HTTP request to the TLS port is no request.
  auto plain = Connect();
  ASSERT_TRUE(plain->Send(Get("/hello")));
  EXPECT_FALSE(plain->ReadResponse());
  HttpRequest untrusted;
  untrusted.url = Url("/hello");
  untrusted.ca_pem = MakeCertificate("unused", "moat-unused");
  EXPECT_FALSE(HttpFetch(untrusted).ok());
}

TEST_F(TlsServerTest, MismatchedKeyIsAStartError) {
  MakeCertificate("server", "moat-one");
  MakeCertificate("other", "moat-two");
  ServerOptions options = TlsOptions();
  options.listen = "127.0.0.1:0";
  options.tls_key_file = (dir_ / "other.key").string();
  auto started = Server::Start(options, [](const Request&) { return Response::Text(200, ""); });
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("does not match"), std::string::npos)
      << started.error().message;
}

}  // namespace
}  // namespace moat::http
