// The webhook backend over real HTTPS on loopback (src/http's server, TLS with client
// certificates from openssl), fed EventList batches built from the seed events, with the real
// detector behind it.

#include "auditlog/webhook_backend.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "auditlog/detector.h"
#include "core/bytes.h"
#include "core/http.h"
#include "k8s/test_api_server.h"
#include "rules/output.h"

namespace moat::auditlog {
namespace {

using Json = nlohmann::json;

std::vector<Json> SeedEvents() {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/src/auditlog/testdata/seed_events.jsonl");
  std::vector<Json> events;
  for (std::string line; std::getline(in, line);) events.push_back(Json::parse(line));
  return events;
}

std::string EventList(const std::vector<Json>& items, const std::string& version = "v1") {
  return Json{{"kind", "EventList"},
              {"apiVersion", "audit.k8s.io/" + version},
              {"metadata", Json::object()},
              {"items", items}}
      .dump();
}

class WebhookBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok()) << "openssl failed";
    alerts_file_ = pki_.dir().string() + "/alerts.jsonl";
  }

  // The backend behind an HTTPS server that requires the PKI's client certificate.
  void Start(WebhookBackendOptions options = {}, bool with_detector = true,
             AuditWebhookBackend::BatchHandler handler = nullptr) {
    if (with_detector) {
      rules::OutputOptions output_options;
      output_options.file = alerts_file_;
      output_options.rate_window = std::chrono::seconds(0);
      auto outputs = rules::AlertOutputs::Open(output_options);
      ASSERT_TRUE(outputs.ok()) << outputs.error().message;
      outputs_ = std::move(*outputs);
      auto detector = Detector::Create({}, outputs_.get(), nullptr);
      ASSERT_TRUE(detector.ok()) << detector.error().message;
      detector_ = std::move(*detector);
      handler = [this](std::string body, const std::string& name) {
        detector_->ProcessBatch(std::move(body), name);
      };
    }
    backend_ = AuditWebhookBackend::Start(options, std::move(handler));
    http::ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_options.tls_cert_file = pki_.dir().string() + "/server.crt";
    server_options.tls_key_file = pki_.dir().string() + "/server.key";
    server_options.tls_client_ca_file = pki_.dir().string() + "/ca.crt";
    server_options.max_body_bytes = 64 << 20;
    server_options.threads = 4;
    auto server = http::Server::Start(server_options, [this](http::Request& request) {
      if (request.path == "/metrics") {
        std::string out;
        backend_->RenderMetrics(out);
        return http::Response::Text(200, out);
      }
      return backend_->Handle(request);
    });
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
  }

  Result<HttpResponse> Post(const std::string& body, bool client_certificate = true,
                            const std::string& content_type = "application/json") {
    HttpRequest request;
    request.method = "POST";
    request.url = server_->url() + "/k8s-audit";
    request.body = body;
    request.headers = {{"Content-Type", content_type}};
    request.ca_pem = *ReadFileToString(pki_.dir().string() + "/ca.crt");
    if (client_certificate) {
      request.client_cert_pem = *ReadFileToString(pki_.dir().string() + "/client.crt");
      request.client_key_pem = *ReadFileToString(pki_.dir().string() + "/client.key");
    }
    return HttpFetch(request);
  }

  std::vector<Json> Alerts() {
    outputs_->Flush();
    std::ifstream in(alerts_file_);
    std::vector<Json> alerts;
    for (std::string line; std::getline(in, line);) alerts.push_back(Json::parse(line));
    return alerts;
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (backend_) backend_->Stop();
  }

  k8s::testing::TestPki pki_;
  std::string alerts_file_;
  std::unique_ptr<rules::AlertOutputs> outputs_;
  std::unique_ptr<Detector> detector_;
  std::unique_ptr<AuditWebhookBackend> backend_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(WebhookBackendTest, AnEventListBatchRaisesTheSameAlertsAsTheEventsOneByOne) {
  Start();
  const std::vector<Json> events = SeedEvents();
  ASSERT_GT(events.size(), 40u);
  auto response = Post(EventList(events));
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  backend_->Drain();
  const std::vector<Json> from_batch = Alerts();

  // The same events as JSON lines through a second detector.
  const std::string lines_file = pki_.dir().string() + "/lines.jsonl";
  rules::OutputOptions options;
  options.file = lines_file;
  options.rate_window = std::chrono::seconds(0);
  auto outputs = rules::AlertOutputs::Open(options);
  ASSERT_TRUE(outputs.ok());
  auto detector = Detector::Create({}, outputs->get(), nullptr);
  ASSERT_TRUE(detector.ok());
  for (size_t i = 0; i < events.size(); ++i) {
    (*detector)->ProcessLine(events[i].dump(), "line " + std::to_string(i + 1));
  }
  (*outputs)->Flush();
  std::ifstream in(lines_file);
  std::vector<Json> from_lines;
  for (std::string line; std::getline(in, line);) from_lines.push_back(Json::parse(line));
  ASSERT_FALSE(from_batch.empty());
  EXPECT_EQ(from_batch, from_lines);
  EXPECT_EQ(detector_->stats().events, events.size());
  EXPECT_EQ(detector_->stats().malformed, 0u);
}

TEST_F(WebhookBackendTest, V1beta1IsAcceptedAndOtherVersionsAreCountedNotFatal) {
  Start();
  std::vector<Json> events = SeedEvents();
  events.resize(3);
  for (Json& event : events) event["apiVersion"] = "audit.k8s.io/v1beta1";
  EXPECT_EQ(Post(EventList(events, "v1beta1"))->status, 200);
  for (Json& event : events) event["apiVersion"] = "audit.k8s.io/v2";
  EXPECT_EQ(Post(EventList(events, "v2"))->status, 200);  // answered: decoding is later
  EXPECT_EQ(Post("{not json")->status, 200);
  backend_->Drain();
  EXPECT_EQ(detector_->stats().events, 3u);
  EXPECT_EQ(detector_->stats().malformed, 2u);
  // Still serving.
  EXPECT_EQ(Post(EventList(SeedEvents()))->status, 200);
}

TEST_F(WebhookBackendTest, RefusesWhatIsNotAnEventListPost) {
  Start();
  EXPECT_EQ(Post("x=1", true, "application/x-www-form-urlencoded")->status, 415);
  EXPECT_EQ(Post("")->status, 400);
  HttpRequest get;
  get.url = server_->url() + "/k8s-audit";
  get.ca_pem = *ReadFileToString(pki_.dir().string() + "/ca.crt");
  get.client_cert_pem = *ReadFileToString(pki_.dir().string() + "/client.crt");
  get.client_key_pem = *ReadFileToString(pki_.dir().string() + "/client.key");
  EXPECT_EQ(HttpFetch(get)->status, 405);
  EXPECT_EQ(backend_->stats().rejected_bad, 3u);
}

TEST_F(WebhookBackendTest, AClientWithoutACertificateIsRefused) {
  Start();
  auto response = Post(EventList(SeedEvents()), /*client_certificate=*/false);
  EXPECT_FALSE(response.ok());
  EXPECT_EQ(backend_->stats().accepted, 0u);
}

// Eight API servers' worth of batches at once against a queue of four batches and a slow rules
// stage: the overflow gets 429 (counted), the clients retry after the backoff as the API server
// does, and in the end every event was handled exactly once.
TEST_F(WebhookBackendTest, ABurstOfBatchesGetsBackPressureAndLosesNothing) {
  std::atomic<uint64_t> handled_events{0};
  std::atomic<uint64_t> handled_batches{0};
  WebhookBackendOptions options;
  options.max_queued_batches = 4;
  Start(options, /*with_detector=*/false, [&](std::string body, const std::string& name) {
    auto events = rules::ParseAuditEvents(std::move(body), name);
    ASSERT_TRUE(events.ok()) << events.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    handled_events += events->size();
    ++handled_batches;
  });
  const std::vector<Json> seed = SeedEvents();
  std::vector<Json> items;
  for (int i = 0; i < 100; ++i) items.push_back(seed[i % seed.size()]);
  const std::string batch = EventList(items);
  constexpr int kClients = 8, kBatchesEach = 15;
  std::atomic<int> too_many{0}, failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int b = 0; b < kBatchesEach; ++b) {
        for (;;) {
          auto response = Post(batch);
          if (!response.ok() || (response->status != 200 && response->status != 429)) {
            ++failures;
            break;
          }
          if (response->status == 200) break;
          EXPECT_EQ(response->Header("Retry-After"), "1");
          ++too_many;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  backend_->Drain();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(handled_batches.load(), uint64_t{kClients * kBatchesEach});
  EXPECT_EQ(handled_events.load(), uint64_t{kClients * kBatchesEach * 100});
  const WebhookBackendStats stats = backend_->stats();
  EXPECT_EQ(stats.rejected_full, static_cast<uint64_t>(too_many.load()));
  EXPECT_GT(stats.rejected_full, 0u) << "the queue never filled: the test proves nothing";
  std::string metrics;
  backend_->RenderMetrics(metrics);
  EXPECT_NE(metrics.find("moat_auditlog_webhook_batches_total{outcome=\"rejected_full\"} " +
                         std::to_string(too_many.load())),
            std::string::npos)
      << metrics;
}

TEST_F(WebhookBackendTest, StoppingAnswers503) {
  Start();
  backend_->Stop();
  auto response = Post(EventList(SeedEvents()));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(backend_->stats().rejected_stopping, 1u);
}

}  // namespace
}  // namespace moat::auditlog
