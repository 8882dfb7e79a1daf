// src/rules/output.h (the alert outputs shared with the sensor), tested here because its
// network targets link the agent's spool and the center's notifiers, which moat_auditlog_tests
// links and moat_rules_tests does not. The receiver is src/http's real server on loopback.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "http/server.h"
#include "rules/output.h"

namespace moat::rules {
namespace {

using Json = nlohmann::json;
constexpr int64_t kSecond = 1000000000LL;
constexpr int64_t kStart = 1714564800LL * kSecond;

Alert MakeAlert(int64_t time_ns, const std::string& target, int seq = 0) {
  Alert alert;
  alert.time_ns = time_ns;
  alert.time = FormatRfc3339Nanos(time_ns);
  alert.rule = "Moat Exec Or Attach Into Pod";
  alert.priority = AlertPriority::kNotice;
  alert.source = "k8s_audit";
  alert.tags = {"k8s", "mitre_execution", "T1609"};
  alert.output = "Exec or attach into a pod (pod=" + target + " seq=" + std::to_string(seq) + ")";
  alert.output_fields = Json{
      {"ka.verb", "create"},
      {"ka.target.resource", "pods"},
      {"ka.target.subresource", "exec"},
      {"ka.target.name", target},
      {"seq", seq}}.dump();
  alert.k8s.user = "alice";
  return alert;
}

std::vector<Json> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<Json> out;
  for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
  return out;
}

class AlertOutputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/moat-outputs-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    if (receiver_) receiver_->Stop();
    std::filesystem::remove_all(dir_);
  }

  // A webhook receiver that answers 503 until `available_`, and takes `delay_` per POST.
  void StartReceiver() {
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.max_body_bytes = 64 << 20;
    auto server = http::Server::Start(options, [this](http::Request& request) {
      std::this_thread::sleep_for(delay_);
      if (!available_) return http::Response::Error(503, "not yet");
      const Json body = Json::parse(request.body);
      std::lock_guard lock(mutex_);
      for (const Json& alert : body.at("alerts")) {
        received_.push_back(alert.at("output_fields").at("seq"));
      }
      return http::Response::Json(200, "{}");
    });
    ASSERT_TRUE(server.ok()) << server.error().message;
    receiver_ = std::move(*server);
  }

  std::string dir_;
  std::unique_ptr<http::Server> receiver_;
  std::atomic<bool> available_{false};
  std::chrono::milliseconds delay_{0};
  std::mutex mutex_;
  std::vector<int> received_;
};

TEST_F(AlertOutputsTest, RepeatsOfOneRuleOnOneResourceAreSuppressedAndCounted) {
  OutputOptions options;
  options.file = dir_ + "/alerts.jsonl";
  options.rate_window = std::chrono::seconds(60);
  auto outputs = AlertOutputs::Open(options);
  ASSERT_TRUE(outputs.ok()) << outputs.error().message;
  (*outputs)->Emit(MakeAlert(kStart, "web-1"));
  (*outputs)->Emit(MakeAlert(kStart + 10 * kSecond, "web-1"));
  (*outputs)->Emit(MakeAlert(kStart + 20 * kSecond, "web-1"));
  (*outputs)->Emit(MakeAlert(kStart + 20 * kSecond, "web-2"));  // another resource
  (*outputs)->Emit(MakeAlert(kStart + 61 * kSecond, "web-1"));
  (*outputs)->Emit(MakeAlert(kStart + 70 * kSecond, "web-1"));
  (*outputs)->Flush();
  const auto lines = ReadLines(options.file);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2]["output_fields"]["moat.suppressed_repeats"], 2);
  EXPECT_NE(lines[2]["output"].get<std::string>().find("(2 repeats suppressed)"),
            std::string::npos);
  const OutputStats stats = (*outputs)->stats();
  EXPECT_EQ(stats.alerts, 6u);
  EXPECT_EQ(stats.suppressed, 3u);
  std::string metrics;
  (*outputs)->RenderMetrics(metrics);
  EXPECT_NE(metrics.find("moat_alerts_suppressed_total 3\n"), std::string::npos) << metrics;
}

TEST_F(AlertOutputsTest, TheFileRotatesBySizeKeepingTheBackups) {
  OutputOptions options;
  options.file = dir_ + "/alerts.jsonl";
  options.file_max_bytes = 2000;
  options.file_backups = 2;
  options.rate_window = std::chrono::seconds(0);
  auto outputs = AlertOutputs::Open(options);
  ASSERT_TRUE(outputs.ok());
  for (int i = 0; i < 40; ++i) (*outputs)->Emit(MakeAlert(kStart + i, "web", i));
  (*outputs)->Flush();
  EXPECT_TRUE(std::filesystem::exists(options.file + ".1"));
  EXPECT_TRUE(std::filesystem::exists(options.file + ".2"));
  EXPECT_FALSE(std::filesystem::exists(options.file + ".3"));
  EXPECT_LE(std::filesystem::file_size(options.file), 2000u);
  // The newest alerts, in order, across the files kept.
  std::vector<int> seqs;
  for (const std::string& path : {options.file + ".2", options.file + ".1", options.file}) {
    for (const Json& line : ReadLines(path)) {
      seqs.push_back(line["output_fields"]["seq"]);
    }
  }
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.back(), 39);
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1);
  EXPECT_GT((*outputs)->stats().file_rotations, 2u);
}

TEST_F(AlertOutputsTest, ASlowReceiverLosesNothingWithinTheSpoolsBound) {
  StartReceiver();
  delay_ = std::chrono::milliseconds(20);
  OutputOptions options;
  options.targets = {"webhook=" + receiver_->url() + "/alerts,batch"};
  options.spool_dir = dir_ + "/spool";
  options.retry_initial = std::chrono::milliseconds(20);
  options.retry_max = std::chrono::milliseconds(100);
  options.send_batch = 25;
  options.rate_window = std::chrono::seconds(0);
  auto outputs = AlertOutputs::Open(options);
  ASSERT_TRUE(outputs.ok()) << outputs.error().message;
  constexpr int kAlerts = 300;
  for (int i = 0; i < kAlerts; ++i) (*outputs)->Emit(MakeAlert(kStart + i, "web", i));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a few refused attempts
  available_ = true;
  ASSERT_TRUE((*outputs)->Flush(std::chrono::seconds(60)));
  std::lock_guard lock(mutex_);
  ASSERT_EQ(received_.size(), static_cast<size_t>(kAlerts));
  for (int i = 0; i < kAlerts; ++i) EXPECT_EQ(received_[i], i);
  const TargetStats target = (*outputs)->stats().targets.at(0);
  EXPECT_EQ(target.delivered, static_cast<uint64_t>(kAlerts));
  EXPECT_EQ(target.lost, 0u);
  EXPECT_GT(target.failed_attempts, 0u);
  EXPECT_EQ(target.name.find("/alerts"), std::string::npos) << "the URL's path may be secret";
}

TEST_F(AlertOutputsTest, BeyondTheSpoolsBoundTheOldestAreDroppedAndCounted) {
  StartReceiver();
  OutputOptions options;
  options.targets = {"webhook=" + receiver_->url() + "/alerts,batch"};
  options.spool_dir = dir_ + "/spool";
  options.spool_max_bytes = 64 << 10;
  options.retry_initial = std::chrono::milliseconds(20);
  options.retry_max = std::chrono::milliseconds(50);
  options.rate_window = std::chrono::seconds(0);
  auto outputs = AlertOutputs::Open(options);
  ASSERT_TRUE(outputs.ok()) << outputs.error().message;
  constexpr int kAlerts = 1000;  // about 500 bytes each: far beyond 64 KiB
  for (int i = 0; i < kAlerts; ++i) (*outputs)->Emit(MakeAlert(kStart + i, "web", i));
  available_ = true;
  ASSERT_TRUE((*outputs)->Flush(std::chrono::seconds(60)));
  const TargetStats target = (*outputs)->stats().targets.at(0);
  std::lock_guard lock(mutex_);
  EXPECT_GT(target.lost, 0u);
  EXPECT_EQ(received_.size() + target.lost, static_cast<size_t>(kAlerts));
  // What arrived is in order and without repeats; the newest alert is among it.
  for (size_t i = 1; i < received_.size(); ++i) EXPECT_LT(received_[i - 1], received_[i]);
  ASSERT_FALSE(received_.empty());
  EXPECT_EQ(received_.back(), kAlerts - 1);
  std::string metrics;
  (*outputs)->RenderMetrics(metrics);
  EXPECT_NE(metrics.find("moat_alert_target_lost_total{target="), std::string::npos);
}

TEST_F(AlertOutputsTest, WhatWasNotDeliveredIsSentByTheNextRun) {
  StartReceiver();
  OutputOptions options;
  options.targets = {"webhook=" + receiver_->url() + "/alerts,batch"};
  options.spool_dir = dir_ + "/spool";
  options.retry_initial = std::chrono::milliseconds(20);
  options.rate_window = std::chrono::seconds(0);
  {
    auto outputs = AlertOutputs::Open(options);
    ASSERT_TRUE(outputs.ok());
    for (int i = 0; i < 50; ++i) (*outputs)->Emit(MakeAlert(kStart + i, "web", i));
    (*outputs)->Close();
  }
  available_ = true;
  auto outputs = AlertOutputs::Open(options);
  ASSERT_TRUE(outputs.ok());
  ASSERT_TRUE((*outputs)->Flush(std::chrono::seconds(30)));
  std::lock_guard lock(mutex_);
  EXPECT_EQ(received_.size(), 50u);
}

TEST_F(AlertOutputsTest, BadTargetsAreErrors) {
  OutputOptions options;
  options.targets = {"webhook=https://hooks.example/x"};
  EXPECT_FALSE(AlertOutputs::Open(options).ok());  // no spool directory
  options.spool_dir = dir_ + "/spool";
  options.targets = {"pager=https://x"};
  EXPECT_FALSE(AlertOutputs::Open(options).ok());
}

}  // namespace
}  // namespace moat::rules
