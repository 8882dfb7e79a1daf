// The cluster agent on watch events: `moat agent --kind cluster` (running, not --once) against a
// loopback HTTPS stand-in of the API server that serves the recorded lists and answers watches
// with chunked streams of recorded WatchEvents, written a line at a time as an API server does.
// The first Deployment watch gets a 410 Gone (its resourceVersion is too old): the agent lists
// again and watches from the new version; the next stream brings a bookmark and a new
// Deployment with a privileged container, which shows up in the server's recommendations long
// before the one-hour interval.

#include "agent/cluster_watch.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "agent/agent.h"
#include "agent/test_center.h"
#include "artifact/test_fixture.h"
#include "k8s/test_api_server.h"

namespace moat::agent {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const fs::path kRecorded = fs::path(MOAT_SOURCE_DIR) / "src/k8s/testdata/cluster";
const fs::path kOverlay = fs::path(MOAT_SOURCE_DIR) / "src/agent/testdata/cluster";
const fs::path kWatched = fs::path(MOAT_SOURCE_DIR) / "src/agent/testdata/cluster-watch";

// An API server stand-in over HTTPS with client certificates (as k8s::testing::TlsApiServer),
// but each connection on its own thread and, for a watch, a chunked body written a line at a
// time with a pause between lines.
class StreamingApiServer {
 public:
  struct Reply {
    int status = 200;
    std::vector<std::string> lines;  // a watch: each line one chunk
    std::string body;                // a list: the whole body
    int pause_ms = 0;                // between a watch's lines, and after the last
  };
  using Handler = std::function<Reply(const std::string& target)>;

  StreamingApiServer(const fs::path& pki, Handler handler) : handler_(std::move(handler)) {
    ctx_ = k8s::testing::NewApiServerContext(pki);
    if (ctx_ == nullptr) return;
    listen_fd_ = k8s::testing::ListenLoopback(port_);
    if (listen_fd_ >= 0) accept_thread_ = std::thread([this] { Loop(); });
  }
  ~StreamingApiServer() {
    stop_ = true;
    if (accept_thread_.joinable()) accept_thread_.join();
    std::vector<std::thread> connections;
    {
      std::lock_guard lock(mutex_);
      connections.swap(connections_);
    }
    for (auto& thread : connections) thread.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  }
  bool ready() const { return accept_thread_.joinable(); }
  std::string Url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> Targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd poll_fd{listen_fd_, POLLIN, 0};
      if (::poll(&poll_fd, 1, 50) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mutex_);
      connections_.emplace_back([this, fd] {
        Serve(fd);
        ::close(fd);
      });
    }
  }

  void Serve(int fd) {
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      ERR_clear_error();
      SSL_free(ssl);
      return;
    }
    const std::string target = k8s::testing::RequestTarget(k8s::testing::ReadRequestHead(ssl));
    {
      std::lock_guard lock(mutex_);
      targets_.push_back(target);
    }
    const Reply reply = handler_(target);
    auto write = [&](const std::string& text) {
      return SSL_write(ssl, text.data(), static_cast<int>(text.size())) > 0;
    };
    if (reply.lines.empty()) {
      write("HTTP/1.1 " + std::to_string(reply.status) +
            " Status\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n" + reply.body);
    } else {
      bool ok = write(
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
      for (const std::string& line : reply.lines) {
        std::this_thread::sleep_for(std::chrono::milliseconds(reply.pause_ms));
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", line.size() + 1);
        ok = ok && write(size + line + "\n\r\n");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(reply.pause_ms));
      if (ok) write("0\r\n\r\n");
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }

  Handler handler_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  mutable std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::vector<std::string> targets_;
};

std::vector<std::string> Lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::istringstream in(k8s::testing::ReadText(file));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

TEST(WatchEventTest, ParsesTheApiServersWatchEvents) {
  const auto added = Lines(kWatched / "deployments-watch.jsonl");
  ASSERT_EQ(added.size(), 3u);
  auto bookmark = ParseWatchEvent(added[0]);
  ASSERT_TRUE(bookmark.ok()) << bookmark.error().message;
  EXPECT_EQ(bookmark->type, "BOOKMARK");
  EXPECT_EQ(bookmark->resource_version, "49001");
  auto deployment = ParseWatchEvent(added[1]);
  ASSERT_TRUE(deployment.ok()) << deployment.error().message;
  EXPECT_EQ(deployment->type, "ADDED");
  EXPECT_EQ(deployment->kind, "Deployment");
  EXPECT_EQ(deployment->namespace_name, "shop");
  EXPECT_EQ(deployment->name, "miner");
  EXPECT_EQ(deployment->generation, 1);
  EXPECT_EQ(deployment->resource_version, "49002");
  EXPECT_FALSE(deployment->controlled);
  auto gone = ParseWatchEvent(Lines(kWatched / "deployments-watch-gone.jsonl").at(0));
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_EQ(gone->type, "ERROR");
  EXPECT_EQ(gone->code, 410);
  // A pod of a ReplicaSet is its controller's: not watched for itself.
  auto pod = ParseWatchEvent(
      R"({"type":"DELETED","object":{"kind":"Pod","metadata":{"name":"cart-1","uid":"u",)"
      R"("ownerReferences":[{"kind":"ReplicaSet","name":"cart","controller":true}]}}})");
  ASSERT_TRUE(pod.ok());
  EXPECT_TRUE(pod->controlled);
  for (const char* bad : {"", "[]", R"({"type":"ADDED"})", R"({"type":"SOMETHING","object":{}})",
                          R"({"type":"ADDED","object":{"metadata":7}})"}) {
    EXPECT_FALSE(ParseWatchEvent(bad).ok()) << bad;
  }
}

TEST(ClusterWatchTest, ANewPrivilegedDeploymentIsAssessedOnItsWatchEvent) {
  moat::testing::TempDir temp;
  const std::string dir = temp.path();
  k8s::testing::TestPki pki;
  ASSERT_TRUE(pki.ok()) << "openssl could not make the test PKI";
  testing::LoopbackCenter center(dir, "prod");
  ASSERT_TRUE(center.ok());

  // The API server: recorded lists (with the new Deployment once its ADDED event was sent),
  // and watches. Deployments: 410 Gone first, then the new Deployment; every other watch a
  // bookmark a second later.
  std::atomic<int> deployment_watches{0};
  std::atomic<bool> created{false};
  StreamingApiServer api_server(pki.dir(), [&](const std::string& target) {
    StreamingApiServer::Reply reply;
    const bool watch = k8s::testing::QueryParameter(target, "watch") == "1";
    if (!watch) {
      std::vector<fs::path> dirs = {kOverlay, kRecorded};
      if (created) dirs.insert(dirs.begin(), kWatched);
      auto [status, body] = k8s::testing::ServeRecordedFrom(dirs, target);
      reply.status = status;
      reply.body = body;
      return reply;
    }
    if (target.rfind("/apis/apps/v1/deployments?", 0) == 0) {
      const int n = ++deployment_watches;
      if (n == 1) {
        reply.lines = Lines(kWatched / "deployments-watch-gone.jsonl");
        return reply;
      }
      if (n == 2) {
        created = true;
        reply.lines = Lines(kWatched / "deployments-watch.jsonl");
        reply.pause_ms = 100;
        return reply;
      }
    }
    reply.lines = {
        R"({"type":"BOOKMARK","object":{"kind":"Bookmark","metadata":{"resourceVersion":")" +
        k8s::testing::QueryParameter(target, "resourceVersion") + R"("}}})"};
    reply.pause_ms = 1000;
    return reply;
  });
  ASSERT_TRUE(api_server.ready());
  k8s::testing::WriteText(dir + "/kubeconfig", pki.Kubeconfig(api_server.Url()));

  AgentOptions options;
  options.server = {center.url(), center.agent_token(), "", 30};
  options.registration = {"prod", "cluster", "0.1.0-test", "agent-pod"};
  options.spool_dir = dir + "/spool";
  options.sender.initial_backoff = std::chrono::milliseconds(20);
  options.cluster.cluster_name = "prod";
  options.cluster.connection.kubeconfig = dir + "/kubeconfig";
  options.interval = std::chrono::hours(1);
  options.debounce = std::chrono::milliseconds(300);
  options.cluster_watch.watch_seconds = 5;
  options.cluster_watch.first_retry = std::chrono::milliseconds(100);
  std::atomic<bool> stop{false};
  std::thread agent([&] {
    auto ran = RunAgent(options, stop);
    EXPECT_TRUE(ran.ok()) << ran.error().message;
  });

  auto privileged = [&] { return center.Unhealthy("workload-privileged-containers"); };
  // The watches of Deployments the agent has opened so far.
  auto deployment_watches_opened = [&] {
    size_t opened = 0;
    for (const std::string& target : api_server.Targets()) {
      opened += target.rfind("/apis/apps/v1/deployments?", 0) == 0 &&
                k8s::testing::QueryParameter(target, "watch") == "1";
    }
    return opened;
  };
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  bool assessed = false;
  while (Clock::now() < deadline && !assessed) {
    assessed = privileged().count("prod/shop/Deployment/miner") > 0;
    if (!assessed) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // The report of the event can come before the agent resumes the watch after the stream ends:
  // the resumed watch is checked below, so it is waited for, not raced.
  while (Clock::now() < deadline && deployment_watches_opened() < 3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  agent.join();
  EXPECT_TRUE(assessed) << "the new Deployment was not assessed on its watch event";
  EXPECT_TRUE(privileged().count("prod/shop/Deployment/cart"));  // from the first report

  // List, then watch from the list's version; after the 410 a list again, then the watch from
  // the version that list gave; after the stream, resumed from the last event's version.
  std::vector<std::string> deployments;
  for (const std::string& target : api_server.Targets()) {
    if (target.rfind("/apis/apps/v1/deployments?", 0) != 0) continue;
    const bool watch = k8s::testing::QueryParameter(target, "watch") == "1";
    deployments.push_back(watch ? "watch@" + k8s::testing::QueryParameter(target, "resourceVersion")
                                : "list");
    if (watch) {
      EXPECT_EQ(k8s::testing::QueryParameter(target, "allowWatchBookmarks"), "true") << target;
    }
  }
  // The reports' own listings are lists too; the watch's sequence is what matters.
  std::vector<std::string> watches;
  for (const std::string& d : deployments) {
    if (d != "list") watches.push_back(d);
  }
  ASSERT_GE(watches.size(), 3u) << ::testing::PrintToString(deployments);
  EXPECT_EQ(watches[0], "watch@48213");
  EXPECT_EQ(watches[1], "watch@48213");  // the recorded list still says 48213
  EXPECT_EQ(watches[2], "watch@49003");  // the last event's version
}

}  // namespace
}  // namespace moat::agent
