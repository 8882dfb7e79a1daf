#include "agent/sender.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/spool.h"
#include "agent/test_receiver.h"
#include "artifact/test_fixture.h"

namespace moat::agent {
namespace {

using Clock = std::chrono::steady_clock;
using testing::ProtocolReceiver;

class SenderTest : public ::testing::Test {
 protected:
  void SetUp() override { spool_ = OpenSpool(); }

  std::unique_ptr<Spool> OpenSpool() {
    auto spool = Spool::Open(dir_, {});
    EXPECT_TRUE(spool.ok());
    return spool.ok() ? std::move(*spool) : nullptr;
  }

  // A new Sender, as a new agent process would make.
  std::unique_ptr<Sender> MakeSender(size_t batch = 5, std::string token = "agent-token") {
    ServerConfig server{receiver_.Url(), std::move(token), "", 10};
    Registration registration{"docker-host-1", "host", "0.1.0", "docker-host-1"};
    SenderOptions options;
    options.max_batch_messages = batch;
    options.initial_backoff = std::chrono::milliseconds(20);
    options.max_backoff = std::chrono::milliseconds(200);
    return std::make_unique<Sender>(*spool_, server, registration, options);
  }

  void AppendMessages(int count) {
    for (int i = 0; i < count; ++i) {
      uint64_t n = spool_->last_seq() + 1;
      auto kind = n % 3 == 0 ? MessageKind::kHeartbeat
                             : (n % 3 == 1 ? MessageKind::kHostReport : MessageKind::kAlerts);
      std::string body = kind == MessageKind::kAlerts
                             ? R"({"alerts":[{"n":)" + std::to_string(n) + "}]}"
                             : R"({"n":)" + std::to_string(n) + "}";
      ASSERT_EQ(*spool_->Append(kind, "2026-12-02T01:00:00Z", body), n);
    }
  }

  static Result<void> Flush(Sender& sender,
                            std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    return sender.Flush([] { return false; }, Clock::now() + limit);
  }

  // Every seq 1..last applied exactly once, in order, with the body that was spooled.
  void ExpectExactlyOnceInOrder(uint64_t last) {
    auto applied = receiver_.applied();
    uint64_t expected = 1;
    for (const auto& message : applied) {
      EXPECT_EQ(message.seq, expected);
      if (message.type != "dropped") {
        uint64_t n = message.message["type"] == "alerts"
                         ? message.message["body"]["alerts"][0]["n"].get<uint64_t>()
                         : message.message["body"]["n"].get<uint64_t>();
        EXPECT_EQ(n, message.seq);
      }
      expected = message.through + 1;
    }
    EXPECT_EQ(expected, last + 1);
    EXPECT_EQ(receiver_.acked(), last);
  }

  moat::testing::TempDir temp_;
  const std::string dir_ = temp_.path();
  ProtocolReceiver receiver_;
  std::unique_ptr<Spool> spool_;
};

TEST_F(SenderTest, ServerDownAtStartThenUp) {
  AppendMessages(23);
  auto sender = MakeSender();
  auto flushed = std::async(std::launch::async, [&] { return Flush(*sender); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(sender->registered());  // connection refused so far: retrying
  receiver_.Start();
  auto result = flushed.get();
  ASSERT_TRUE(result.ok()) << result.error().message;
  ExpectExactlyOnceInOrder(23);
  EXPECT_EQ(spool_->pending(), 0u);
  EXPECT_EQ(spool_->acked_through(), 23u);
  EXPECT_EQ(receiver_.batches(), 5u);  // 23 in batches of 5, none resent
  // Later messages go on from there.
  AppendMessages(2);
  ASSERT_TRUE(Flush(*sender).ok());
  ExpectExactlyOnceInOrder(25);
}

TEST_F(SenderTest, ServerRestartedMidStreamLosingAnUnacknowledgedBatch) {
  receiver_.Start();
  AppendMessages(30);
  auto sender = MakeSender();
  // Batch 1..5 arrives; then the server crashes while committing 6..10 and is down a while.
  std::atomic<bool> restarted{false};
  std::thread chaos([&] {
    while (receiver_.acked() < 5) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    receiver_.LoseNextBatch();
    while (!receiver_.Crashed()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    receiver_.Stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    receiver_.DropNextAnswer();  // and once up again, one answer is lost after commit
    receiver_.Start();
    restarted = true;
  });
  auto result = Flush(*sender);
  chaos.join();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(restarted);
  ExpectExactlyOnceInOrder(30);
  EXPECT_EQ(spool_->pending(), 0u);
  // The lost batch and the batch whose answer was lost were each sent twice.
  EXPECT_GE(receiver_.batches(), 8u);
}

TEST_F(SenderTest, AgentRestartedResumesFromWhatTheServerApplied) {
  receiver_.Start();
  AppendMessages(12);
  {
    // The first process: its last answer is lost, then it is killed before it can retry.
    auto sender = MakeSender();
    std::atomic<bool> stop{false};
    std::thread killer([&] {
      while (receiver_.acked() < 5) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      receiver_.DropNextAnswer();
      while (!receiver_.Crashed()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      stop = true;
    });
    auto result =
        sender->Flush([&] { return stop.load(); }, Clock::now() + std::chrono::seconds(20));
    killer.join();
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(spool_->acked_through(), 5u);  // it never learnt that 6..10 were applied
    EXPECT_EQ(receiver_.acked(), 10u);
  }
  // The new process appends more, registers, learns acked_through 10 and sends only 11..15.
  spool_ = OpenSpool();
  AppendMessages(3);
  auto sender = MakeSender();
  size_t batches_before = receiver_.batches();
  auto result = Flush(*sender);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ExpectExactlyOnceInOrder(15);
  EXPECT_EQ(receiver_.batches() - batches_before, 1u);
  EXPECT_EQ(receiver_.registrations(), 2u);
}

TEST_F(SenderTest, ServerThatForgotAcknowledgedMessagesGetsADroppedRangeAfterA409) {
  receiver_.Start();
  AppendMessages(10);
  auto sender = MakeSender();
  ASSERT_TRUE(Flush(*sender).ok());
  EXPECT_EQ(spool_->pending(), 0u);  // 1..10 deleted from the spool
  receiver_.ForgetAfter(4);          // a database restored from an older backup
  AppendMessages(3);
  auto result = Flush(*sender);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(receiver_.conflicts(), 1u);
  auto applied = receiver_.applied();
  ASSERT_EQ(applied.size(), 4u + 1u + 3u);
  EXPECT_EQ(applied[4].type, "dropped");
  EXPECT_EQ(applied[4].seq, 5u);
  EXPECT_EQ(applied[4].through, 10u);
  ExpectExactlyOnceInOrder(13);
}

TEST_F(SenderTest, ServerAheadOfANewSpoolRenumbersIt) {
  receiver_.Start();
  AppendMessages(6);
  ASSERT_TRUE(Flush(*MakeSender()).ok());
  // The spool directory is lost; a fresh one starts again at 1.
  spool_.reset();
  std::filesystem::remove_all(dir_);
  spool_ = OpenSpool();
  ASSERT_EQ(*spool_->Append(MessageKind::kHeartbeat, "t", "{}"), 1u);
  ASSERT_TRUE(Flush(*MakeSender()).ok());
  auto applied = receiver_.applied();
  ASSERT_EQ(applied.size(), 7u);
  EXPECT_EQ(applied[6].seq, 7u);
  EXPECT_EQ(applied[6].type, "heartbeat");
  EXPECT_EQ(spool_->last_seq(), 7u);
}

TEST_F(SenderTest, RefusedTokenStopsWithAClearError) {
  receiver_.Start();
  AppendMessages(1);
  auto sender = MakeSender(5, "wrong-token");
  auto result = Flush(*sender, std::chrono::seconds(5));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(sender->fatal());
  EXPECT_NE(result.error().message.find("refused the agent's token (HTTP 401"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(spool_->pending(), 1u);
}

TEST_F(SenderTest, ServerStillDownAtTheDeadlineLeavesMessagesSpooled) {
  AppendMessages(2);
  auto sender = MakeSender();
  auto started = Clock::now();
  auto result = Flush(*sender, std::chrono::milliseconds(600));
  ASSERT_FALSE(result.ok());
  EXPECT_FALSE(sender->fatal());
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(3));
  EXPECT_NE(result.error().message.find("2 messages still spooled"), std::string::npos)
      << result.error().message;
}

TEST(ServerUrlTest, PlainHttpOnlyOnLoopback) {
  EXPECT_TRUE(ValidateServerUrl("https://moat.example.com:8443").ok());
  EXPECT_TRUE(ValidateServerUrl("https://10.0.0.5").ok());
  EXPECT_TRUE(ValidateServerUrl("http://127.0.0.1:8080").ok());
  EXPECT_TRUE(ValidateServerUrl("http://127.10.0.1/").ok());
  EXPECT_TRUE(ValidateServerUrl("http://localhost:8080").ok());
  EXPECT_TRUE(ValidateServerUrl("http://[::1]:8080").ok());
  auto refused = ValidateServerUrl("http://10.0.0.5:8080");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("only to a loopback address"), std::string::npos);
  EXPECT_FALSE(ValidateServerUrl("http://127.0.0.1.evil.example").ok());
  EXPECT_FALSE(ValidateServerUrl("http://localhost.evil.example").ok());
  EXPECT_FALSE(ValidateServerUrl("http://user:pw@127.0.0.1").ok());
  EXPECT_FALSE(ValidateServerUrl("ftp://127.0.0.1").ok());
  EXPECT_FALSE(ValidateServerUrl("moat.example.com").ok());
}

TEST(BackoffTest, GrowsExponentiallyWithJitterUpToTheCap) {
  using std::chrono::milliseconds;
  for (int round = 0; round < 50; ++round) {
    auto first = BackoffDelay(1, milliseconds(1000), milliseconds(30000));
    EXPECT_GE(first, milliseconds(500));
    EXPECT_LE(first, milliseconds(1000));
    auto fourth = BackoffDelay(4, milliseconds(1000), milliseconds(30000));
    EXPECT_GE(fourth, milliseconds(4000));
    EXPECT_LE(fourth, milliseconds(8000));
    auto late = BackoffDelay(40, milliseconds(1000), milliseconds(30000));
    EXPECT_GE(late, milliseconds(15000));
    EXPECT_LE(late, milliseconds(30000));
  }
}

}  // namespace
}  // namespace moat::agent
