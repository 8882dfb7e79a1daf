#include "agent/agent.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/alerts_tail.h"
#include "agent/host_report.h"
#include "agent/test_receiver.h"
#include "artifact/test_fixture.h"
#include "cis/docker/collect.h"
#include "core/test_http_server.h"

namespace moat::agent {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr const char* kAlertLine =
    R"({"time":"2026-12-02T01:00:0%dZ","rule":"Terminal shell in container","priority":"Notice",)"
    R"("output":"A shell was spawned","tags":["container","shell"],"container":{"id":"4f1c%d"}})";

std::string Alert(int n) {
  char line[512];
  std::snprintf(line, sizeof line, kAlertLine, n, n);
  return line;
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver_.Start();
    options_.server = {receiver_.Url(), "agent-token", "", 30};
    options_.registration = {"docker-host-1", "host", "0.1.0", "docker-host-1"};
    options_.spool_dir = dir_ + "/spool";
    // No engine here: the report still goes out, with the CIS controls that need it as WARN.
    options_.report.docker_host = "unix://" + dir_ + "/no-docker.sock";
    options_.report.tool_version = "0.1.0-test";
    options_.alerts_file = dir_ + "/alerts.jsonl";
    options_.sender.initial_backoff = std::chrono::milliseconds(20);
    options_.once_timeout = std::chrono::seconds(30);
  }
  void AppendToAlerts(const std::string& text) {
    std::ofstream out(options_.alerts_file, std::ios::app);
    out << text;
  }

  std::vector<testing::ProtocolReceiver::Applied> OfType(const std::string& type) {
    std::vector<testing::ProtocolReceiver::Applied> out;
    for (auto& message : receiver_.applied()) {
      if (message.type == type) out.push_back(message);
    }
    return out;
  }

  moat::testing::TempDir temp_;
  const std::string dir_ = temp_.path();
  testing::ProtocolReceiver receiver_;
  AgentOptions options_;
};

TEST_F(AgentTest, OnceSendsAHostReportWithTheCisReportAndForwardsAlertsOnce) {
  AppendToAlerts(Alert(1) + "\n" + "{\"rule\": \"no time\"}\n" + Alert(2) + "\n" + Alert(3));
  options_.once = true;
  std::atomic<bool> stop{false};
  auto result = RunAgent(options_, stop);
  ASSERT_TRUE(result.ok()) << result.error().message;

  auto reports = OfType("host_report");
  ASSERT_EQ(reports.size(), 1u);
  const Json& body = reports[0].message["body"];
  EXPECT_TRUE(body["containers"].is_array());
  EXPECT_TRUE(body["containers"].empty());
  EXPECT_FALSE(body["host"]["kernel"].get<std::string>().empty());
  const Json& cis = body["cis"];
  EXPECT_EQ(cis["benchmark"], "CIS Docker Benchmark");
  EXPECT_EQ(cis["tool"]["version"], "0.1.0-test");
  size_t checks = 0;
  for (const auto& section : cis["controls"]) {
    for (const auto& group : section["groups"]) checks += group["checks"].size();
  }
  EXPECT_EQ(checks, cis::docker::DockerChecks().size());
  bool engine_note = false;
  for (const auto& note : body["notes"]) {
    engine_note |= note.get<std::string>().find("no-docker.sock") != std::string::npos;
  }
  EXPECT_TRUE(engine_note) << body["notes"].dump();

  // Two valid complete lines; the invalid one is skipped, the unfinished last line waits.
  auto alerts = OfType("alerts");
  ASSERT_EQ(alerts.size(), 1u);
  const Json& forwarded = alerts[0].message["body"]["alerts"];
  ASSERT_EQ(forwarded.size(), 2u);
  EXPECT_EQ(forwarded[0]["rule"], "Terminal shell in container");
  EXPECT_EQ(forwarded[1]["container"]["id"], "4f1c2");

  // A second run (a new process) resends nothing already forwarded, and picks up the line
  // finished since.
  AppendToAlerts("\n");
  result = RunAgent(options_, stop);
  ASSERT_TRUE(result.ok()) << result.error().message;
  alerts = OfType("alerts");
  ASSERT_EQ(alerts.size(), 2u);
  ASSERT_EQ(alerts[1].message["body"]["alerts"].size(), 1u);
  EXPECT_EQ(alerts[1].message["body"]["alerts"][0]["container"]["id"], "4f1c3");
  EXPECT_EQ(OfType("host_report").size(), 2u);
  EXPECT_EQ(receiver_.acked(), 4u);
}

TEST_F(AgentTest, RunsUntilStoppedReportingHeartbeatsAndAlerts) {
  options_.watch_events = false;
  options_.heartbeat = std::chrono::milliseconds(300);
  std::atomic<bool> stop{false};
  auto running = std::async(std::launch::async, [&] { return RunAgent(options_, stop); });
  auto wait_for = [&](const std::string& type) {
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (OfType(type).empty() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return !OfType(type).empty();
  };
  EXPECT_TRUE(wait_for("host_report"));
  AppendToAlerts(Alert(5) + "\n");
  EXPECT_TRUE(wait_for("alerts"));
  EXPECT_TRUE(wait_for("heartbeat"));
  stop = true;
  auto result = running.get();
  ASSERT_TRUE(result.ok()) << result.error().message;
  auto applied = receiver_.applied();
  for (size_t i = 0; i < applied.size(); ++i) EXPECT_EQ(applied[i].seq, i + 1);
}

TEST_F(AgentTest, RefusedTokenEndsTheAgentWithTheReason) {
  options_.server.token = "revoked";
  options_.watch_events = false;
  std::atomic<bool> stop{false};
  auto running = std::async(std::launch::async, [&] { return RunAgent(options_, stop); });
  ASSERT_EQ(running.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  auto result = running.get();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("HTTP 401"), std::string::npos) << result.error().message;
}

TEST(HostReportTest, PicksTheDigestOfTheContainersRepository) {
  std::vector<std::string> digests = {
      "127.0.0.1:5000/web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
      "nginx@sha256:2222222222222222222222222222222222222222222222222222222222222222"};
  EXPECT_EQ(PickImageDigest(digests, "nginx:1.25"),
            "sha256:2222222222222222222222222222222222222222222222222222222222222222");
  EXPECT_EQ(PickImageDigest(digests, "docker.io/library/nginx"),
            "sha256:2222222222222222222222222222222222222222222222222222222222222222");
  EXPECT_EQ(PickImageDigest(digests, "127.0.0.1:5000/web:2"),
            "sha256:1111111111111111111111111111111111111111111111111111111111111111");
  // A container started from an image id: the first repository digest.
  EXPECT_EQ(PickImageDigest(digests, "sha256:abcd"),
            "sha256:1111111111111111111111111111111111111111111111111111111111111111");
  EXPECT_EQ(PickImageDigest({}, "nginx"), "");
  EXPECT_EQ(PickImageDigest({"nginx@md5:00"}, "nginx"), "");
}

TEST(ContainerEventsTest, FollowsTheEngineEventStreamInWindows) {
  moat::testing::TempDir temp;
  std::string socket = temp.path() + "/docker.sock";
  // Two events as dockerd writes them, the second split over its newline by the stream.
  moat::testing::TestHttpServer engine(
      [](const moat::testing::TestHttpRequest&) {
        moat::testing::TestHttpResponse response;
        response.body =
            R"({"status":"start","id":"4f1c","Type":"container","Action":"start","Actor":{"ID":"4f1c"},"time":1764637200,"timeNano":1764637200000000000})"
            "\n"
            R"({"Type":"container","Action":"die","Actor":{"ID":"4f1c","Attributes":{"exitCode":"0"}}})"
            "\n";
        return response;
      },
      socket);
  std::atomic<bool> stop{false};
  std::vector<std::string> actions;
  WatchContainerEvents("unix://" + socket, stop, [&](const std::string& action) {
    actions.push_back(action);
    if (actions.size() == 4) stop = true;
  });
  ASSERT_EQ(actions.size(), 4u);
  EXPECT_EQ(actions[0], "start");
  EXPECT_EQ(actions[1], "die");
  auto requests = engine.Requests();
  ASSERT_GE(requests.size(), 2u);
  const std::string& first = requests[0].target;
  EXPECT_EQ(first.rfind("/events?since=", 0), 0u) << first;
  EXPECT_NE(first.find("&filters=%7B%22type%22%3A%5B%22container%22%5D"), std::string::npos);
  // The second window starts where the first ended.
  std::string until = first.substr(first.find("until=") + 6);
  until = until.substr(0, until.find('&'));
  EXPECT_NE(requests[1].target.find("since=" + until + "&"), std::string::npos)
      << requests[1].target;
}

}  // namespace
}  // namespace moat::agent
