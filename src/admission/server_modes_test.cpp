#include "admission/server_modes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/test_http_server.h"

namespace moat::admission {
namespace {

using moat::testing::TestHttpRequest;
using moat::testing::TestHttpResponse;
using moat::testing::TestHttpServer;

TEST(ServerModes, ParsesThePoliciesSection) {
  auto rules = ServerModes::ParseRules(
      R"({"policies": [{"checks": ["pss-baseline"], "action": "deny"},
                       {"checks": ["image-vulnerabilities"], "action": "warn"}]})",
      "server");
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].checks, std::vector<std::string>{"pss-baseline"});
  EXPECT_EQ((*rules)[0].action, Action::kDeny);
  EXPECT_EQ((*rules)[1].action, Action::kWarn);
  auto empty = ServerModes::ParseRules(R"({"policies": []})", "server");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ServerModes, RefusesWhatIsNotOnlyModes) {
  auto unknown = ServerModes::ParseRules(
      R"({"policies": [{"checks": ["no-such-check"], "action": "deny"}]})", "server");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("server"), std::string::npos);
  auto mutations =
      ServerModes::ParseRules(R"({"mutations": [{"mutate": ["drop-capabilities"]}]})", "server");
  ASSERT_FALSE(mutations.ok());
  EXPECT_NE(mutations.error().message.find("mutations"), std::string::npos);
  EXPECT_FALSE(ServerModes::ParseRules("{not json", "server").ok());
}

TEST(ServerModes, PollsWithTheEtagAndSeesChanges) {
  std::atomic<int> version{1};
  std::atomic<int> not_modified{0};
  TestHttpServer server([&](const TestHttpRequest& request) {
    TestHttpResponse response;
    if (request.Header("Authorization") != "Bearer reader-token") {
      response.status = 401;
      return response;
    }
    const std::string etag = "\"v" + std::to_string(version.load()) + "\"";
    if (request.Header("If-None-Match") == etag) {
      not_modified++;
      response.status = 304;
      return response;
    }
    response.headers.emplace_back("ETag", etag);
    response.body = version == 1
                        ? R"({"policies": [{"checks": ["pss-baseline"], "action": "deny"}]})"
                        : R"({"policies": [{"checks": ["pss-baseline"], "action": "audit"}]})";
    return response;
  });
  ServerModesOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  options.token = "reader-token";
  options.interval = std::chrono::milliseconds(20);
  auto modes = ServerModes::Start(options);
  ASSERT_TRUE(modes.ok()) << modes.error().message;
  EXPECT_EQ((*modes)->rules().at(0).action, Action::kDeny);
  const uint64_t first = (*modes)->generation();
  for (int i = 0; i < 250 && not_modified == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GT(not_modified.load(), 0);
  EXPECT_EQ((*modes)->generation(), first);  // a 304 changes nothing
  version = 2;
  for (int i = 0; i < 250 && (*modes)->generation() == first; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GT((*modes)->generation(), first);
  EXPECT_EQ((*modes)->rules().at(0).action, Action::kAudit);

  options.token = "wrong";
  auto refused = ServerModes::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("refused the token (HTTP 401)"), std::string::npos);
}

}  // namespace
}  // namespace moat::admission
