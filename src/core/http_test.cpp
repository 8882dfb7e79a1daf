#include "core/http.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/test_http_server.h"

namespace moat {
namespace {

using testing::TestHttpRequest;
using testing::TestHttpResponse;
using testing::TestHttpServer;

class StringSink : public ByteSink {
 public:
  Result<void> Write(ByteSpan chunk) override {
    data.append(AsText(chunk));
    if (fail_after > 0 && data.size() >= fail_after) return Fail("sink refuses more bytes");
    return Ok();
  }
  Result<void> Close() override {
    closed = true;
    return Ok();
  }
  std::string data;
  size_t fail_after = 0;
  bool closed = false;
};

int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);  // nobody listens on it now
  return ntohs(address.sin_port);
}

TEST(HttpFetchTest, GetsBodyStatusAndHeaders) {
  TestHttpServer server([](const TestHttpRequest& request) {
    TestHttpResponse response;
    response.headers = {{"X-Echo-Path", request.target}, {"Docker-Content-Digest", "sha256:ab"}};
    response.body = "hello " + request.Header("X-Name");
    return response;
  });
  HttpRequest request;
  request.url = server.BaseUrl() + "/v2/some/path?q=1";
  request.headers = {{"X-Name", "moat"}};
  auto response = HttpFetch(request);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello moat");
  EXPECT_EQ(response->Header("x-echo-path"), "/v2/some/path?q=1");
  EXPECT_EQ(response->Header("DOCKER-CONTENT-DIGEST"), "sha256:ab");
  EXPECT_EQ(response->Header("Absent"), "");
  EXPECT_EQ(response->effective_url, request.url);
}

TEST(HttpFetchTest, SendsMethodAndBody) {
  TestHttpServer server([](const TestHttpRequest& request) {
    TestHttpResponse response;
    response.status = 201;
    response.body = request.method + ":" + request.body;
    return response;
  });
  HttpRequest request;
  request.method = "PUT";
  request.url = server.BaseUrl() + "/upload";
  request.body = "{\"a\":1}";
  auto response = HttpFetch(request);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "PUT:{\"a\":1}");
}

TEST(HttpFetchTest, StreamsSuccessBodyIntoSinkWithoutClosingIt) {
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  TestHttpServer server([&](const TestHttpRequest&) {
    TestHttpResponse response;
    response.body = big;
    return response;
  });
  StringSink sink;
  HttpRequest request;
  request.url = server.BaseUrl() + "/blob";
  auto response = HttpFetch(request, &sink);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(sink.data, big);
  EXPECT_FALSE(sink.closed);
}

TEST(HttpFetchTest, ErrorBodyGoesToResponseNotSink) {
  TestHttpServer server([](const TestHttpRequest&) {
    TestHttpResponse response;
    response.status = 404;
    response.body = R"({"errors":[{"code":"BLOB_UNKNOWN"}]})";
    return response;
  });
  StringSink sink;
  HttpRequest request;
  request.url = server.BaseUrl() + "/missing";
  auto response = HttpFetch(request, &sink);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 404);
  EXPECT_NE(response->body.find("BLOB_UNKNOWN"), std::string::npos);
  EXPECT_TRUE(sink.data.empty());
}

TEST(HttpFetchTest, SinkErrorAbortsTransferAndIsReturned) {
  TestHttpServer server([](const TestHttpRequest&) {
    TestHttpResponse response;
    response.body = std::string(1 << 20, 'x');
    return response;
  });
  StringSink sink;
  sink.fail_after = 1;
  HttpRequest request;
  request.url = server.BaseUrl() + "/blob";
  auto response = HttpFetch(request, &sink);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().message, "sink refuses more bytes");
  EXPECT_LT(sink.data.size(), size_t{1} << 20);
}

// Registries redirect blob downloads to storage hosts; the registry's token must not go along.
TEST(HttpFetchTest, RedirectKeepsOnlyFinalHeadersAndDropsAuthorizationForOtherHost) {
  TestHttpServer storage([](const TestHttpRequest& request) {
    TestHttpResponse response;
    response.headers = {{"X-Final", "yes"}};
    response.body = "auth=[" + request.Header("Authorization") + "]";
    return response;
  });
  // Same address, different host name: curl treats it as another host.
  std::string storage_url = "http://localhost:" + std::to_string(storage.port()) + "/data";
  TestHttpServer registry([&](const TestHttpRequest& request) {
    TestHttpResponse response;
    if (request.target == "/same-host") {
      response.status = 307;
      response.headers = {{"Location", "/other-path"}, {"X-Redirect", "1"}};
      return response;
    }
    if (request.target == "/other-path") {
      response.body = "auth=[" + request.Header("Authorization") + "]";
      return response;
    }
    response.status = 307;
    response.headers = {{"Location", storage_url}, {"X-Redirect", "1"}};
    return response;
  });
  HttpRequest request;
  request.url = registry.BaseUrl() + "/blob";
  request.headers = {{"Authorization", "Bearer secret-token"}};
  auto response = HttpFetch(request);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "auth=[]");
  EXPECT_EQ(response->Header("X-Final"), "yes");
  EXPECT_EQ(response->Header("X-Redirect"), "");
  EXPECT_EQ(response->effective_url, storage_url);

  request.url = registry.BaseUrl() + "/same-host";
  response = HttpFetch(request);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->body, "auth=[Bearer secret-token]");
}

TEST(HttpFetchTest, RedirectNotFollowedWhenDisabled) {
  TestHttpServer server([](const TestHttpRequest&) {
    TestHttpResponse response;
    response.status = 302;
    response.headers = {{"Location", "/elsewhere"}};
    return response;
  });
  HttpRequest request;
  request.url = server.BaseUrl() + "/start";
  request.follow_redirects = false;
  auto response = HttpFetch(request);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(response->Header("Location"), "/elsewhere");
}

TEST(HttpFetchTest, UnixSocket) {
  std::string socket_path =
      (std::filesystem::temp_directory_path() / ("moat-http-test-" + std::to_string(getpid())))
          .string();
  {
    TestHttpServer server(
        [](const TestHttpRequest& request) {
          TestHttpResponse response;
          response.headers = {{"Api-Version", "1.41"}};
          response.body = request.target;
          return response;
        },
        socket_path);
    HttpRequest request;
    request.url = "http://localhost/_ping";
    request.unix_socket = socket_path;
    auto response = HttpFetch(request);
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->body, "/_ping");
    EXPECT_EQ(response->Header("API-Version"), "1.41");
  }
  std::filesystem::remove(socket_path);
  HttpRequest request;
  request.url = "http://localhost/_ping";
  request.unix_socket = socket_path;
  auto response = HttpFetch(request);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.error().message.find(socket_path), std::string::npos);
}

TEST(HttpFetchTest, ConnectionRefusedNamesUrl) {
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(UnusedPort()) + "/v2/";
  auto response = HttpFetch(request);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.error().message.find(request.url), std::string::npos)
      << response.error().message;
}

TEST(HttpFetchTest, StalledTransferTimesOut) {
  TestHttpServer server([](const TestHttpRequest&) {
    TestHttpResponse response;
    response.body = "late";
    response.delay_before_body_ms = 5000;
    return response;
  });
  HttpRequest request;
  request.url = server.BaseUrl() + "/slow";
  request.stall_timeout_seconds = 1;
  auto start = std::chrono::steady_clock::now();
  auto response = HttpFetch(request);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response.ok());
  EXPECT_LT(elapsed, std::chrono::seconds(4));

  request.stall_timeout_seconds = 0;
  request.timeout_seconds = 1;
  response = HttpFetch(request);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.error().message.find("/slow"), std::string::npos);
}

TEST(HttpFetchTest, TruncatedBodyIsAnError) {
  TestHttpServer server([](const TestHttpRequest&) {
    TestHttpResponse response;
    response.body = "partial";
    response.announce_extra_bytes = 100;
    return response;
  });
  StringSink sink;
  HttpRequest request;
  request.url = server.BaseUrl() + "/blob";
  auto response = HttpFetch(request, &sink);
  ASSERT_FALSE(response.ok());
}

}  // namespace
}  // namespace moat
