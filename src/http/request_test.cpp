#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/server.h"
#include "http/target.h"

namespace moat::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(PercentDecode, DecodesEscapesAndPlusOnlyWhenAsked) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc%3a%3A", false), "a b/c::");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(*PercentDecode("a+b%2B", true), "a b+");
  EXPECT_EQ(*PercentDecode("%e2%9c%93", false), "\xe2\x9c\x93");
  EXPECT_EQ(*PercentDecode("", true), "");
}

TEST(PercentDecode, BadEscapesNameTheirOffset) {
  for (const char* bad : {"%", "%2", "ab%zz", "%g0", "x%2"}) {
    auto decoded = PercentDecode(bad, true);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_NE(decoded.error().message.find("bad percent-escape at offset"), std::string::npos);
  }
  EXPECT_NE(PercentDecode("ab%zz", false).error().message.find("offset 2"), std::string::npos);
}

TEST(ParseQuery, KeepsOrderRepeatsAndEmptyValues) {
  EXPECT_EQ(*ParseQuery("a=1&a=2&b=x%20y+z&flag&&c="),
            (Pairs{{"a", "1"}, {"a", "2"}, {"b", "x y z"}, {"flag", ""}, {"c", ""}}));
  EXPECT_EQ(*ParseQuery("k%3Dey=v%3Dalue=more"), (Pairs{{"k=ey", "v=alue=more"}}));
  EXPECT_TRUE(ParseQuery("")->empty());
  auto bad = ParseQuery("ok=1&severity=HIGH%");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("query parameter 'severity'"), std::string::npos);
}

TEST(ParseTarget, SplitsAndDecodesOriginAndAbsoluteForm) {
  auto parsed = ParseTarget("/api/v1/images/sha256%3Aab?severity=HIGH&q=a+b");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->path, "/api/v1/images/sha256:ab");
  EXPECT_EQ(parsed->query, (Pairs{{"severity", "HIGH"}, {"q", "a b"}}));

  parsed = ParseTarget("http://moat.example:8443/metrics?x=1");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->path, "/metrics");
  EXPECT_EQ(parsed->query, (Pairs{{"x", "1"}}));
  EXPECT_EQ(ParseTarget("HTTPS://moat.example")->path, "/");
  // '+' is a space only in the query.
  EXPECT_EQ(ParseTarget("/a+b")->path, "/a+b");
}

TEST(ParseTarget, RejectsWhatHandlersMustNeverSee) {
  for (const char* bad : {"*", "images", "", "/a/%zz", "/a%00b", "/a/../etc/passwd", "/a/./b",
                          "/a/%2e%2e/b", "/a/%2E%2E", "/..", "/ok?x=%", "http://host?x=1"}) {
    EXPECT_FALSE(ParseTarget(bad).ok()) << bad;
  }
  // Dots inside a segment are names, not navigation.
  EXPECT_EQ(ParseTarget("/files/..hidden/a.b.c/...")->path, "/files/..hidden/a.b.c/...");
}

TEST(Request, HeaderLookupIgnoresCaseQueryAndParams) {
  Request request;
  request.headers = {{"content-type", "application/json"}, {"x-moat", "1"}, {"x-moat", "2"}};
  request.query = {{"severity", "HIGH,CRITICAL"}, {"severity", " LOW ,,"}, {"empty", ""}};
  request.path_params = {{"digest", "sha256:ab"}};
  EXPECT_EQ(request.Header("Content-Type"), "application/json");
  EXPECT_EQ(request.Header("X-MOAT"), "1");
  EXPECT_EQ(request.Header("absent"), "");
  EXPECT_EQ(request.Query("severity"), "HIGH,CRITICAL");
  EXPECT_TRUE(request.HasQuery("empty"));
  EXPECT_FALSE(request.HasQuery("Severity"));
  EXPECT_EQ(request.QueryList("severity"), (std::vector<std::string>{"HIGH", "CRITICAL", "LOW"}));
  EXPECT_TRUE(request.QueryList("empty").empty());
  EXPECT_EQ(request.PathParam("digest"), "sha256:ab");
  EXPECT_EQ(request.PathParam("name"), "");
}

TEST(Response, ErrorIsJsonWithTheMessageEscaped) {
  Response error = Response::Error(404, "not found: /a\"b\n\x01");
  EXPECT_EQ(error.status, 404);
  EXPECT_EQ(error.content_type, "application/json");
  auto parsed = nlohmann::json::parse(error.body);
  EXPECT_EQ(parsed.at("error"), "not found: /a\"b\n\x01");
  Response text = Response::Text(200, "ok", "text/plain; version=0.0.4");
  EXPECT_EQ(text.content_type, "text/plain; version=0.0.4");
  EXPECT_EQ(Response::Json(201, "{}").body, "{}");
}

TEST(ParseListenAddress, HostPortAndBracketedIpv6) {
  EXPECT_EQ(*ParseListenAddress("127.0.0.1:8080"),
            std::make_pair(std::string("127.0.0.1"), uint16_t{8080}));
  EXPECT_EQ(*ParseListenAddress("[::1]:0"), std::make_pair(std::string("::1"), uint16_t{0}));
  EXPECT_EQ(*ParseListenAddress("localhost:65535"),
            std::make_pair(std::string("localhost"), uint16_t{65535}));
  EXPECT_EQ(ParseListenAddress("[::]:443")->first, "::");
  for (const char* bad : {"8080", ":8080", "::1:8080", "[::1]8080", "[::1]", "[nope]:1",
                          "host:", "host:65536", "host:-1", "host:80x", "[::1:80"}) {
    auto parsed = ParseListenAddress(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find(bad), std::string::npos) << parsed.error().message;
  }
}

TEST(IsLoopbackHost, LoopbackRangeOnly) {
  for (const char* loopback :
       {"127.0.0.1", "127.255.0.9", "::1", "localhost", "LocalHost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(loopback)) << loopback;
  }
  for (const char* other : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::2", "localhost.evil",
                            "127.0.0.1.nip.io", "", "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackHost(other)) << other;
  }
}

}  // namespace
}  // namespace moat::http
