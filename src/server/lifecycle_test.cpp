// `moat worker` start-up on both stores: its /metrics (the server's metrics code, a read token
// needed) counts the jobs its workers ran; it serves nothing else.

#include "server/lifecycle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "core/http.h"
#include "server/monitor/image_scan.h"
#include "server/store/secret_box.h"
#include "server/store/test_postgres.h"

namespace moat::server {
namespace {

class WorkerLifecycleTest : public testing::StoreUrlTest {
 protected:
  WorkerOptions Options() {
    WorkerOptions options;
    options.center.store_url = url();
    options.center.secret_key = key_;
    // No vulnerability database: a re-match stores the inventory's (empty) findings.
    options.center.db_path =
        (std::filesystem::temp_directory_path() / "moat-no-such-database.db").string();
    options.workers = 1;
    options.name = "worker-test";
    return options;
  }
  HttpResponse Get(const std::string& url, const std::string& token) {
    HttpRequest request;
    request.url = url;
    if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
    auto response = HttpFetch(request);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? *response : HttpResponse{};
  }

  std::string key_ = NewSecretKey();
};

TEST_P(WorkerLifecycleTest, MetricsCountTheWorkersJobsBehindAToken) {
  WorkerOptions options = Options();
  options.metrics_listen = "127.0.0.1:0";
  auto worker = RunningWorker::Start(options);
  ASSERT_TRUE(worker.ok()) << worker.error().message;
  const std::string base = (*worker)->metrics_url();
  ASSERT_FALSE(base.empty());
  Store& store = (*worker)->center().store();
  auto token = store.CreateToken("prometheus", Role::kReader, "test");
  ASSERT_TRUE(token.ok()) << token.error().message;
  Inventory inventory;
  inventory.artifact.manifest_digest = "sha256:a";
  inventory.packages.push_back(Package{});
  inventory.packages.back().type = PackageType::kNpm;
  inventory.packages.back().name = "left-pad";
  inventory.packages.back().version = "1.3.0";
  const ImageScan scan = MatchImage(std::move(inventory), nullptr);
  ASSERT_TRUE(store
                  .SaveImageScan("sha256:a", "", "linux/amd64", scan.inventory_json,
                                 scan.package_keys, scan.findings, 100)
                  .ok());
  ASSERT_TRUE(*(*worker)->center().EnqueueMatch("sha256:a", "test"));

  const std::string done = "moat_jobs_total{kind=\"match\",result=\"done\"} 1\n";
  std::string metrics;
  for (int i = 0; i < 300 && metrics.find(done) == std::string::npos; ++i) {
    auto response = Get(base + "/metrics", *token);
    ASSERT_EQ(response.status, 200) << response.body;
    metrics = response.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find(done), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("moat_jobs{state=\"done\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("moat_jobs_total{kind=\"scan\",result=\"done\"} 0\n"), std::string::npos)
      << metrics;

  EXPECT_EQ(Get(base + "/metrics", "").status, 401);
  EXPECT_EQ(Get(base + "/metrics", "not-a-token").status, 401);
  EXPECT_EQ(Get(base + "/healthz", "").status, 200);
  // Only the probes and /metrics: no data route, no dashboard.
  EXPECT_EQ(Get(base + "/api/v1/images", *token).status, 404);
  EXPECT_EQ(Get(base + "/", *token).status, 404);
  (*worker)->Stop();
}

TEST_P(WorkerLifecycleTest, MetricsListenFollowsTheServersListenPolicy) {
  WorkerOptions options = Options();
  options.metrics_listen = "0.0.0.0:0";  // no TLS: loopback only
  auto refused = RunningWorker::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("--metrics-listen 0.0.0.0:0: without --tls-cert"),
            std::string::npos)
      << refused.error().message;
  options.metrics_listen = "";  // no /metrics at all
  auto worker = RunningWorker::Start(options);
  ASSERT_TRUE(worker.ok()) << worker.error().message;
  EXPECT_EQ((*worker)->metrics_url(), "");
}

MOAT_STORE_TEST_SUITE(WorkerLifecycleTest);

}  // namespace
}  // namespace moat::server
