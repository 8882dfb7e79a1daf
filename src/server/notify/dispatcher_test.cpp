#include "server/notify/dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>

#include "core/bytes.h"
#include "core/test_http_server.h"

namespace moat::server::notify {
namespace {

TEST(ParseNotifyFlag, TakesKindUrlAndOptions) {
  auto webhook = ParseNotifyFlag("webhook=https://hooks.example/moat,min=warning,batch");
  ASSERT_TRUE(webhook.ok()) << webhook.error().message;
  EXPECT_EQ(webhook->kind, "webhook");
  EXPECT_EQ(webhook->url, "https://hooks.example/moat");
  EXPECT_EQ(webhook->min_priority, AlertPriority::kWarning);
  EXPECT_TRUE(webhook->batch);
  auto syslog = ParseNotifyFlag("syslog=udp://127.0.0.1:514");
  ASSERT_TRUE(syslog.ok()) << syslog.error().message;
  EXPECT_EQ(syslog->min_priority, AlertPriority::kDebug);
  for (const char* bad : {"webhook", "=https://x", "pager=https://x", "webhook=https://x,min=loud",
                          "webhook=https://x,often", "syslog=ftp://x"}) {
    auto parsed = ParseNotifyFlag(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_NE(parsed.error().message.find("--notify"), std::string::npos) << bad;
    }
  }
}

// A moat server's alert ingest wants a token of role agent and trusts its own CA: both are read
// from files when the flag is parsed.
TEST(ParseNotifyFlag, ReadsTheTokenAndCaFiles) {
  const std::string dir = ::testing::TempDir();
  const std::string token_file = dir + "/moat-notify-token";
  const std::string ca_file = dir + "/moat-notify-ca.pem";
  ASSERT_TRUE(WriteOutput(token_file, "moat_agent_abc123\n").ok());
  ASSERT_TRUE(WriteOutput(ca_file, "-----BEGIN CERTIFICATE-----\nMIIB\n").ok());
  auto config = ParseNotifyFlag("webhook=https://127.0.0.1:8443/api/v1/alerts,batch,token-file=" +
                                token_file + ",ca-file=" + ca_file);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config->batch);
  EXPECT_EQ(config->headers, (std::vector<std::pair<std::string, std::string>>{
                                 {"Authorization", "Bearer moat_agent_abc123"}}));
  EXPECT_EQ(config->ca_pem, "-----BEGIN CERTIFICATE-----\nMIIB\n");
  auto missing = ParseNotifyFlag("webhook=https://x/alerts,token-file=" + dir + "/no-such-token");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no-such-token"), std::string::npos)
      << missing.error().message;
  ASSERT_TRUE(WriteOutput(token_file, "two words\n").ok());
  auto two = ParseNotifyFlag("webhook=https://x/alerts,token-file=" + token_file);
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("expected one token"), std::string::npos);
}

// The token goes out as a bearer header on every POST.
TEST(Dispatcher, SendsTheTokenFromTheFlag) {
  std::string authorization;
  moat::testing::TestHttpServer receiver([&](const moat::testing::TestHttpRequest& request) {
    authorization = request.Header("Authorization");
    return moat::testing::TestHttpResponse{200, {}, "{}"};
  });
  const std::string token_file = ::testing::TempDir() + "/moat-notify-token-send";
  ASSERT_TRUE(WriteOutput(token_file, "moat_agent_xyz\n").ok());
  auto config = ParseNotifyFlag("webhook=" + receiver.BaseUrl() +
                                "/api/v1/alerts,batch,token-file=" + token_file);
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto notifier = MakeNotifier(*config);
  ASSERT_TRUE(notifier.ok()) << notifier.error().message;
  Alert alert;
  alert.rule = "r";
  alert.priority = AlertPriority::kCritical;
  alert.output = "o";
  alert.time = "2026-12-02T00:00:00.000000000Z";
  ASSERT_TRUE((*notifier)->Send({alert}).ok());
  EXPECT_EQ(authorization, "Bearer moat_agent_xyz");
}

Alert MakeAlert(const std::string& rule) {
  Alert alert;
  alert.rule = rule;
  alert.priority = AlertPriority::kCritical;
  alert.output = "output of " + rule;
  alert.time = "2026-12-02T00:00:00.000000000Z";
  alert.time_ns = 1'795'910'400'000'000'000;
  return alert;
}

TEST(Dispatcher, RetriesAFailingTargetThenDelivers) {
  std::atomic<int> calls{0};
  moat::testing::TestHttpServer receiver([&](const moat::testing::TestHttpRequest&) {
    // Down for the first two attempts.
    return moat::testing::TestHttpResponse{++calls <= 2 ? 503 : 200, {}, ""};
  });
  NotifierConfig config;
  config.kind = "webhook";
  config.url = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/";
  auto dispatcher = Dispatcher::Start({config});
  ASSERT_TRUE(dispatcher.ok()) << dispatcher.error().message;
  (*dispatcher)->Enqueue({MakeAlert("a")});
  (*dispatcher)->Drain();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ((*dispatcher)->sent(), 1);
}

TEST(Dispatcher, DropsTheOldestWhenTheQueueIsFull) {
  moat::testing::TestHttpServer receiver([](const moat::testing::TestHttpRequest&) {
    return moat::testing::TestHttpResponse{200, {}, ""};
  });
  NotifierConfig config;
  config.kind = "webhook";
  config.batch = true;
  config.url = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/";
  auto dispatcher = Dispatcher::Start({config}, /*max_queued=*/5);
  ASSERT_TRUE(dispatcher.ok());
  std::vector<Alert> many;
  for (int i = 0; i < 12; ++i) many.push_back(MakeAlert("r" + std::to_string(i)));
  (*dispatcher)->Enqueue(many);
  (*dispatcher)->Drain();
  EXPECT_EQ((*dispatcher)->dropped(), 7);
  EXPECT_EQ((*dispatcher)->sent(), 5);
}

TEST(Dispatcher, SetTargetsSwapsTheTargetsOfARunningDispatcher) {
  std::atomic<int> first{0}, second{0};
  moat::testing::TestHttpServer one([&](const moat::testing::TestHttpRequest&) {
    ++first;
    return moat::testing::TestHttpResponse{200, {}, ""};
  });
  moat::testing::TestHttpServer two([&](const moat::testing::TestHttpRequest&) {
    ++second;
    return moat::testing::TestHttpResponse{200, {}, ""};
  });
  NotifierConfig a;
  a.kind = "webhook";
  a.url = "http://127.0.0.1:" + std::to_string(one.port()) + "/";
  NotifierConfig b = a;
  b.url = "http://127.0.0.1:" + std::to_string(two.port()) + "/";
  auto dispatcher = Dispatcher::Start({});
  ASSERT_TRUE(dispatcher.ok());
  (*dispatcher)->Enqueue({MakeAlert("nobody hears this")});  // no target yet: dropped quietly
  ASSERT_TRUE((*dispatcher)->SetTargets({a}).ok());
  (*dispatcher)->Enqueue({MakeAlert("x")});
  (*dispatcher)->Drain();
  EXPECT_EQ(first.load(), 1);
  ASSERT_TRUE((*dispatcher)->SetTargets({b}).ok());
  (*dispatcher)->Enqueue({MakeAlert("y")});
  (*dispatcher)->Drain();
  EXPECT_EQ(first.load(), 1);
  EXPECT_EQ(second.load(), 1);
  // A bad target set is refused whole; the running targets stay.
  NotifierConfig bad = a;
  bad.kind = "pager";
  EXPECT_FALSE((*dispatcher)->SetTargets({a, bad}).ok());
  EXPECT_EQ((*dispatcher)->target_count(), 1u);
  (*dispatcher)->Enqueue({MakeAlert("z")});
  (*dispatcher)->Drain();
  EXPECT_EQ(second.load(), 2);
  EXPECT_EQ((*dispatcher)->sent(), 3);
}

}  // namespace
}  // namespace moat::server::notify
