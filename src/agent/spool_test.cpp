#include "agent/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "artifact/test_fixture.h"
#include "core/bytes.h"

namespace moat::agent {
namespace {

using Json = nlohmann::json;

class SpoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<Spool> Open(SpoolOptions options = {},
                              std::vector<std::string>* notes = nullptr) {
    auto spool = Spool::Open(dir_, options, notes);
    EXPECT_TRUE(spool.ok()) << (spool.ok() ? "" : spool.error().message);
    return spool.ok() ? std::move(*spool) : nullptr;
  }

  std::vector<std::string> Segments() const {
    std::vector<std::string> names;
    for (const auto& item : std::filesystem::directory_iterator(dir_)) {
      std::string name = item.path().filename();
      if (name.rfind("seg-", 0) == 0) names.push_back(item.path());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::vector<SpooledMessage> ReadAll(const Spool& spool, uint64_t from = 1) {
    auto messages = spool.ReadFrom(from, 1000000, 1ull << 40);
    EXPECT_TRUE(messages.ok()) << (messages.ok() ? "" : messages.error().message);
    return messages.ok() ? *messages : std::vector<SpooledMessage>{};
  }

  // The stream the server would see: parses, and every seq follows the previous through.
  static void ExpectGapFree(const std::vector<SpooledMessage>& messages, uint64_t from) {
    uint64_t expected = from;
    for (const SpooledMessage& message : messages) {
      Json json = Json::parse(message.json);
      EXPECT_EQ(json["seq"].get<uint64_t>(), message.seq);
      EXPECT_EQ(json.value("through", message.seq), message.through);
      EXPECT_EQ(json["type"].get<std::string>(), MessageKindName(message.kind));
      EXPECT_TRUE(json["body"].is_object());
      EXPECT_EQ(message.seq, expected) << message.json;
      expected = message.through + 1;
    }
  }

  moat::testing::TempDir temp_;
  const std::string dir_ = temp_.path();
};

TEST_F(SpoolTest, AppendReopenAndContinueTheSequence) {
  {
    auto spool = Open();
    ASSERT_TRUE(spool);
    EXPECT_EQ(*spool->Append(MessageKind::kHeartbeat, "2026-12-02T01:00:00Z", "{}"), 1u);
    EXPECT_EQ(*spool->Append(MessageKind::kHostReport, "2026-12-02T01:00:01Z",
                             R"({"host":{"name":"h\u00e9"}})"),
              2u);
    EXPECT_EQ(*spool->Append(MessageKind::kAlerts, "2026-12-02T01:00:02Z", R"({"alerts":[]})"), 3u);
  }
  auto spool = Open();
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->last_seq(), 3u);
  EXPECT_EQ(spool->pending(), 3u);
  auto messages = ReadAll(*spool);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].json,
            R"({"seq":1,"type":"heartbeat","time":"2026-12-02T01:00:00Z","body":{}})");
  EXPECT_EQ(Json::parse(messages[1].json)["body"]["host"]["name"], "h\u00e9");
  ExpectGapFree(messages, 1);
  EXPECT_EQ(*spool->Append(MessageKind::kHeartbeat, "t", "{}"), 4u);
  // Reading from the middle, and the batch limits (the first message always fits).
  auto from3 = spool->ReadFrom(3, 10, 1);
  ASSERT_TRUE(from3.ok());
  ASSERT_EQ(from3->size(), 1u);
  EXPECT_EQ((*from3)[0].seq, 3u);
  auto two = spool->ReadFrom(2, 2, 1 << 20);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].seq, 3u);
}

TEST_F(SpoolTest, AcknowledgeDeletesWhollyAcknowledgedSegmentsAndPersists) {
  SpoolOptions options;
  options.segment_bytes = 150;  // about two records per segment
  {
    auto spool = Open(options);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(spool
                      ->Append(MessageKind::kAlerts, "2026-12-02T01:00:00Z",
                               R"({"alerts":[{"rule":"r)" + std::to_string(i) + R"("}]})")
                      .ok());
    }
    EXPECT_GE(Segments().size(), 4u);
    size_t before = Segments().size();
    ASSERT_TRUE(spool->Acknowledge(5).ok());
    EXPECT_LT(Segments().size(), before);
    EXPECT_EQ(spool->acked_through(), 5u);
    EXPECT_EQ(spool->pending(), 5u);
    auto messages = ReadAll(*spool, 6);
    ASSERT_EQ(messages.size(), 5u);
    ExpectGapFree(messages, 6);
    EXPECT_TRUE(spool->Acknowledge(3).ok());  // going back is ignored
    EXPECT_EQ(spool->acked_through(), 5u);
  }
  EXPECT_EQ(*ReadFileToString(dir_ + "/acked"), "5\n");
  {
    auto spool = Open(options);
    EXPECT_EQ(spool->acked_through(), 5u);
    EXPECT_EQ(spool->pending(), 5u);
    ASSERT_TRUE(spool->Acknowledge(10).ok());
    EXPECT_TRUE(Segments().empty());
    EXPECT_EQ(spool->bytes(), 0u);
  }
  // Everything acknowledged and deleted: the sequence still continues after the acked one.
  auto spool = Open(options);
  EXPECT_EQ(*spool->Append(MessageKind::kHeartbeat, "t", "{}"), 11u);
  // A server that forgot what it acknowledged gets those seqs as one dropped range.
  auto messages = ReadAll(*spool, 7);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].kind, MessageKind::kDropped);
  EXPECT_EQ(messages[0].seq, 7u);
  EXPECT_EQ(messages[0].through, 10u);
  ExpectGapFree(messages, 7);
}

TEST_F(SpoolTest, TornTailIsReportedAndCutOffKeepingEarlierMessages) {
  {
    auto spool = Open();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(
          spool->Append(MessageKind::kHostReport, "t", R"({"n":)" + std::to_string(i) + "}").ok());
    }
  }
  auto segments = Segments();
  ASSERT_EQ(segments.size(), 1u);
  const auto full_size = std::filesystem::file_size(segments[0]);
  // A crash in the middle of writing the third record.
  std::filesystem::resize_file(segments[0], full_size - 5);
  std::vector<std::string> notes;
  {
    auto spool = Open({}, &notes);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_NE(notes[0].find("cut short"), std::string::npos) << notes[0];
    EXPECT_NE(notes[0].find("messages through seq 2 kept"), std::string::npos) << notes[0];
    EXPECT_EQ(spool->last_seq(), 2u);
    auto messages = ReadAll(*spool);
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(Json::parse(messages[1].json)["body"]["n"], 1);
    // The cut-off seq is given again: it was never durably appended.
    EXPECT_EQ(*spool->Append(MessageKind::kHeartbeat, "t", "{}"), 3u);
  }
  // Garbage after the last record (a torn header), and a flipped byte inside a payload.
  {
    int fd = ::open(segments[0].c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "\x07\x00\x00", 3), 3);
    ::close(fd);
  }
  notes.clear();
  {
    auto spool = Open({}, &notes);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_NE(notes[0].find("header is cut short"), std::string::npos) << notes[0];
    EXPECT_EQ(spool->last_seq(), 3u);
  }
  auto size = std::filesystem::file_size(segments[0]);
  {
    int fd = ::open(segments[0].c_str(), O_RDWR);
    char byte;
    ASSERT_EQ(::pread(fd, &byte, 1, static_cast<off_t>(size - 3)), 1);
    byte ^= 0x20;
    ASSERT_EQ(::pwrite(fd, &byte, 1, static_cast<off_t>(size - 3)), 1);
    ::close(fd);
  }
  notes.clear();
  auto spool = Open({}, &notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("checksum does not match"), std::string::npos) << notes[0];
  EXPECT_EQ(spool->last_seq(), 2u);
  EXPECT_EQ(spool->losses().corrupt_records, 1u);
}

TEST_F(SpoolTest, DamageInAnEarlierSegmentBecomesADroppedRange) {
  SpoolOptions options;
  options.segment_bytes = 1;  // one record per segment
  {
    auto spool = Open(options);
    for (int i = 0; i < 4; ++i)
      ASSERT_TRUE(spool->Append(MessageKind::kHostReport, "t", "{}").ok());
  }
  auto segments = Segments();
  ASSERT_EQ(segments.size(), 4u);
  std::filesystem::resize_file(segments[1], 10);
  std::vector<std::string> notes;
  auto spool = Open(options, &notes);
  ASSERT_EQ(notes.size(), 1u);
  auto messages = ReadAll(*spool);
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[1].kind, MessageKind::kDropped);
  EXPECT_EQ(messages[1].seq, 2u);
  EXPECT_EQ(messages[1].through, 2u);
  EXPECT_EQ(Json::parse(messages[1].json)["body"]["messages"], 1);
  ExpectGapFree(messages, 1);
  EXPECT_EQ(*spool->Append(MessageKind::kHeartbeat, "t", "{}"), 5u);
}

TEST_F(SpoolTest, CapDropsHeartbeatsFirstThenTheOldestMessages) {
  SpoolOptions options;
  options.max_bytes = 8000;
  options.segment_bytes = 2000;
  auto spool = Open(options);
  const std::string report = R"({"pad":")" + std::string(900, 'x') + R"("})";
  // 5 reports (~950 bytes each) with heartbeats (~80 bytes) between them: under the cap.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(spool->Append(MessageKind::kHostReport, "t", report).ok());
    for (int h = 0; h < 4; ++h) ASSERT_TRUE(spool->Append(MessageKind::kHeartbeat, "t", "{}").ok());
  }
  EXPECT_EQ(spool->losses().heartbeats, 0u);
  // Three more reports go over the cap: heartbeats go first.
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(spool->Append(MessageKind::kHostReport, "t", report).ok());
  EXPECT_LE(spool->bytes(), options.max_bytes);
  SpoolLosses losses = spool->losses();
  EXPECT_GT(losses.heartbeats, 0u);
  auto messages = ReadAll(*spool);
  ExpectGapFree(messages, 1);
  uint64_t reports = 0;
  for (const auto& message : messages) reports += message.kind == MessageKind::kHostReport;
  if (losses.messages == 0) {
    EXPECT_EQ(reports, 8u);
  }
  // Many more: with no heartbeat left to drop, the oldest reports go; the newest is always kept.
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(spool->Append(MessageKind::kHostReport, "t", report).ok());
  EXPECT_LE(spool->bytes(), options.max_bytes);
  losses = spool->losses();
  EXPECT_EQ(losses.heartbeats, 20u);
  EXPECT_GT(losses.messages, 10u);
  messages = ReadAll(*spool);
  ExpectGapFree(messages, 1);
  EXPECT_EQ(messages.back().seq, spool->last_seq());
  EXPECT_EQ(messages.back().kind, MessageKind::kHostReport);
  uint64_t dropped_heartbeats = 0, dropped_messages = 0, kept = 0;
  for (const auto& message : messages) {
    if (message.kind == MessageKind::kDropped) {
      Json body = Json::parse(message.json)["body"];
      dropped_heartbeats += body["heartbeats"].get<uint64_t>();
      dropped_messages += body["messages"].get<uint64_t>();
      EXPECT_EQ(body["heartbeats"].get<uint64_t>() + body["messages"].get<uint64_t>(),
                message.through - message.seq + 1);
    } else {
      ++kept;
    }
  }
  // Every message is either kept or counted in a dropped record, and it survives a reopen.
  EXPECT_EQ(dropped_heartbeats, losses.heartbeats);
  EXPECT_EQ(dropped_messages, losses.messages);
  EXPECT_EQ(kept + dropped_heartbeats + dropped_messages, spool->last_seq());
  spool.reset();
  spool = Open(options);
  auto reopened = ReadAll(*spool);
  ASSERT_EQ(reopened.size(), messages.size());
  for (size_t i = 0; i < messages.size(); ++i) EXPECT_EQ(reopened[i].seq, messages[i].seq);
}

TEST_F(SpoolTest, RebaseRenumbersUnsentMessagesAfterTheServersAck) {
  auto spool = Open();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(spool->Append(MessageKind::kHostReport, "t", "{}").ok());
  ASSERT_TRUE(spool->Acknowledge(2).ok());
  ASSERT_TRUE(spool->Rebase(41).ok());
  EXPECT_EQ(spool->acked_through(), 41u);
  auto messages = ReadAll(*spool, 42);
  ASSERT_EQ(messages.size(), 2u);
  ExpectGapFree(messages, 42);
  EXPECT_EQ(*spool->Append(MessageKind::kHeartbeat, "t", "{}"), 44u);
  spool.reset();
  spool = Open();
  EXPECT_EQ(spool->last_seq(), 44u);
  ExpectGapFree(ReadAll(*spool, 42), 42);
}

}  // namespace
}  // namespace moat::agent
