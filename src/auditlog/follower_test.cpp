#include "auditlog/follower.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace moat::auditlog {
namespace {

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/moat-follower-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
    log_ = dir_ + "/audit.log";
    position_ = dir_ + "/audit.pos";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<LogFollower> Open(bool start_at_end = false,
                                    std::vector<std::string>* notes = nullptr,
                                    size_t max_line_bytes = 8 << 20) {
    FollowerOptions options;
    options.path = log_;
    options.position_file = position_;
    options.start_at_end = start_at_end;
    options.max_line_bytes = max_line_bytes;
    auto follower = LogFollower::Open(options, notes);
    EXPECT_TRUE(follower.ok()) << (follower.ok() ? "" : follower.error().message);
    return follower.ok() ? std::move(*follower) : nullptr;
  }

  // Polls once and returns the lines.
  std::vector<std::string> Poll(LogFollower& follower) {
    std::vector<std::string> lines;
    auto count = follower.Poll([&](const FollowedLine& line) { lines.emplace_back(line.text); });
    EXPECT_TRUE(count.ok()) << (count.ok() ? "" : count.error().message);
    return lines;
  }

  void Append(const std::string& text, const std::string& path = "") {
    std::ofstream out(path.empty() ? log_ : path, std::ios::app | std::ios::binary);
    out << text;
  }

  static std::string Line(int seq) {
    // The shape of an audit event line, with a distinct auditID and time per event.
    char buffer[200];
    std::snprintf(buffer, sizeof buffer,
                  "{\"kind\":\"Event\",\"auditID\":\"00000000-0000-0000-0000-%012d\","
                  "\"stageTimestamp\":\"2024-05-01T12:00:00.%06dZ\",\"seq\":%d}",
                  seq, seq % 1000000, seq);
    return buffer;
  }
  static int SeqOf(const std::string& line) {
    const size_t at = line.rfind("\"seq\":");
    return at == std::string::npos ? -1 : std::atoi(line.c_str() + at + 6);
  }

  std::string dir_, log_, position_;
};

TEST_F(FollowerTest, GivesWholeLinesOnlyAndWaitsForTheRest) {
  Append(Line(1) + "\n" + Line(2).substr(0, 20));
  auto follower = Open();
  ASSERT_TRUE(follower);
  EXPECT_EQ(Poll(*follower), std::vector<std::string>{Line(1)});
  Append(Line(2).substr(20) + "\n\n" + Line(3) + "\r\n");
  // An empty line is no event; a CRLF line ending is taken off.
  EXPECT_EQ(Poll(*follower), (std::vector<std::string>{Line(2), Line(3)}));
  EXPECT_TRUE(Poll(*follower).empty());
}

TEST_F(FollowerTest, WaitsForTheFileToAppear) {
  auto follower = Open();
  ASSERT_TRUE(follower);
  EXPECT_TRUE(Poll(*follower).empty());
  Append(Line(1) + "\n");
  EXPECT_EQ(Poll(*follower), std::vector<std::string>{Line(1)});
}

TEST_F(FollowerTest, StartAtEndSkipsWhatIsThere) {
  Append(Line(1) + "\n" + Line(2) + "\n");
  auto follower = Open(/*start_at_end=*/true);
  ASSERT_TRUE(follower);
  EXPECT_TRUE(Poll(*follower).empty());
  Append(Line(3) + "\n");
  EXPECT_EQ(Poll(*follower), std::vector<std::string>{Line(3)});
}

TEST_F(FollowerTest, WhereNamesTheLineNumberOrTheOffset) {
  Append(Line(1) + "\n" + Line(2) + "\n");
  auto follower = Open();
  std::vector<std::string> where;
  ASSERT_TRUE(
      follower->Poll([&](const FollowedLine& line) { where.emplace_back(line.where); }).ok());
  EXPECT_EQ(where, (std::vector<std::string>{log_ + ":1", log_ + ":2"}));
  ASSERT_TRUE(follower->SavePosition().ok());
  follower.reset();
  Append(Line(3) + "\n");
  follower = Open();
  where.clear();
  ASSERT_TRUE(
      follower->Poll([&](const FollowedLine& line) { where.emplace_back(line.where); }).ok());
  // Resumed mid-file: the line number is unknown, the byte offset is exact.
  EXPECT_EQ(where, std::vector<std::string>{log_ + "@" + std::to_string(2 * (Line(1).size() + 1))});
}

TEST_F(FollowerTest, OversizedLineIsSkippedAndCounted) {
  Append(Line(1) + "\n" + std::string(5000, 'x') + "\n" + Line(2) + "\n");
  auto follower = Open(false, nullptr, /*max_line_bytes=*/1000);
  EXPECT_EQ(Poll(*follower), (std::vector<std::string>{Line(1), Line(2)}));
  EXPECT_EQ(follower->stats().oversized_lines, 1u);
}

TEST_F(FollowerTest, RestartMidFileResumesWithoutRepeating) {
  for (int i = 1; i <= 100; ++i) Append(Line(i) + "\n");
  Append(Line(101).substr(0, 30));  // a line being written when we stop
  auto follower = Open();
  EXPECT_EQ(Poll(*follower).size(), 100u);
  ASSERT_TRUE(follower->SavePosition().ok());
  follower.reset();
  Append(Line(101).substr(30) + "\n" + Line(102) + "\n");
  follower = Open();
  EXPECT_EQ(Poll(*follower), (std::vector<std::string>{Line(101), Line(102)}));
}

TEST_F(FollowerTest, RestartAfterRenameRotationReadsTheOldFileFirst) {
  for (int i = 1; i <= 10; ++i) Append(Line(i) + "\n");
  auto follower = Open();
  EXPECT_EQ(Poll(*follower).size(), 10u);
  ASSERT_TRUE(follower->SavePosition().ok());
  follower.reset();
  Append(Line(11) + "\n");
  // lumberjack's name for the backup (kube-apiserver --audit-log-maxsize).
  const std::string rotated = dir_ + "/audit-2024-05-01T12-00-00.000.log";
  ASSERT_EQ(std::rename(log_.c_str(), rotated.c_str()), 0);
  Append(Line(12) + "\n");
  std::vector<std::string> notes;
  follower = Open(false, &notes);
  const auto lines = Poll(*follower);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(SeqOf(lines[0]), 11);
  EXPECT_EQ(SeqOf(lines[1]), 12);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find(rotated), std::string::npos) << notes[0];
}

TEST_F(FollowerTest, RestartAfterCopyTruncateReadsTheRestFromTheCopy) {
  for (int i = 1; i <= 10; ++i) Append(Line(i) + "\n");
  auto follower = Open();
  EXPECT_EQ(Poll(*follower).size(), 10u);
  ASSERT_TRUE(follower->SavePosition().ok());
  follower.reset();
  Append(Line(11) + "\n");
  std::filesystem::copy_file(log_, log_ + ".1");
  ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
  // Written again past the old offset: only the bytes before it tell that it is another file.
  for (int i = 12; i <= 30; ++i) Append(Line(i) + "\n");
  follower = Open();
  const auto lines = Poll(*follower);
  ASSERT_EQ(lines.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(SeqOf(lines[i]), 11 + i);
}

TEST_F(FollowerTest, RotatedFileGoneWhileStoppedIsReportedAsLoss) {
  Append(Line(1) + "\n");
  auto follower = Open();
  EXPECT_EQ(Poll(*follower).size(), 1u);
  ASSERT_TRUE(follower->SavePosition().ok());
  follower.reset();
  ASSERT_EQ(std::remove(log_.c_str()), 0);
  Append(Line(2) + "\n");
  std::vector<std::string> notes;
  follower = Open(false, &notes);
  EXPECT_EQ(Poll(*follower), std::vector<std::string>{Line(2)});
  EXPECT_EQ(follower->stats().lost_rotations, 1u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("lost"), std::string::npos);
}

TEST_F(FollowerTest, ForeignPositionFileIsIgnoredWithANote) {
  Append(Line(1) + "\n");
  { std::ofstream(position_) << "{\"offset\": \"x\"}"; }
  std::vector<std::string> notes;
  auto follower = Open(false, &notes);
  EXPECT_EQ(Poll(*follower).size(), 1u);
  EXPECT_EQ(notes.size(), 1u);
}

// A writer appends a burst of events and rotates the log every kPerFile events, the way the API
// server's backend (rename, then a new file) or logrotate's copytruncate does, while the follower
// polls at its own pace, saves its position and now and then restarts; at the end every event
// has been read exactly once, in order. The writer does not rotate again before the follower has
// read from the file it rotated to: rotations are minutes apart in a cluster, and a file rotated
// twice between two polls is beyond any follower that reads only the current name.
void RotateDuringBurst(FollowerTest* test, const std::string& log, const std::string& dir,
                       bool copy_truncate,
                       const std::function<std::unique_ptr<LogFollower>()>& open) {
  constexpr int kEvents = 20000;
  constexpr int kPerFile = 1500;
  std::atomic<bool> done{false};
  std::atomic<int> max_seen{0};
  std::thread writer([&] {
    FILE* out = std::fopen(log.c_str(), "a");
    int rotation = 0;
    for (int i = 1; i <= kEvents; ++i) {
      const std::string line = [&] {
        char buffer[200];
        std::snprintf(buffer, sizeof buffer,
                      "{\"kind\":\"Event\",\"auditID\":\"00000000-0000-0000-0000-%012d\","
                      "\"stageTimestamp\":\"2024-05-01T12:00:00.%06dZ\",\"seq\":%d}\n",
                      i, i % 1000000, i);
        return std::string(buffer);
      }();
      // Two writes per line, so that the follower sees half lines too.
      std::fwrite(line.data(), 1, line.size() / 2, out);
      std::fflush(out);
      std::fwrite(line.data() + line.size() / 2, 1, line.size() - line.size() / 2, out);
      std::fflush(out);
      if (i % kPerFile == 0) {
        while (max_seen.load() <= i - kPerFile) std::this_thread::yield();
        ++rotation;
        const std::string rotated = dir + "/audit.log." + std::to_string(rotation);
        if (copy_truncate) {
          std::filesystem::copy_file(log, rotated);
          std::fclose(out);
          ::truncate(log.c_str(), 0);
          out = std::fopen(log.c_str(), "a");
        } else {
          std::rename(log.c_str(), rotated.c_str());
          std::fclose(out);
          out = std::fopen(log.c_str(), "a");
        }
      }
    }
    std::fclose(out);
    done = true;
  });
  std::vector<int> seen;
  auto follower = open();
  int restarts = 0;
  for (int round = 0;; ++round) {
    const bool finished = done.load();
    auto count = follower->Poll([&](const FollowedLine& line) {
      const std::string text(line.text);
      seen.push_back(std::atoi(text.c_str() + text.rfind("\"seq\":") + 6));
      max_seen = std::max(max_seen.load(), seen.back());
    });
    ASSERT_TRUE(count.ok()) << count.error().message;
    ASSERT_TRUE(follower->SavePosition().ok());
    if (finished) break;
    // Now and then the watcher restarts mid-file.
    if (round % 97 == 96) {
      follower = open();
      ++restarts;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  writer.join();
  for (size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i], static_cast<int>(i) + 1)
        << "at " << i << " of " << seen.size() << ", restarts: " << restarts;
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(kEvents)) << "restarts: " << restarts;
  for (int i = 0; i < kEvents; ++i) ASSERT_EQ(seen[i], i + 1) << "at " << i;
  (void)test;
}

TEST_F(FollowerTest, RenameRotationDuringAWriteBurstLosesAndRepeatsNothing) {
  RotateDuringBurst(this, log_, dir_, /*copy_truncate=*/false, [&] { return Open(); });
}

TEST_F(FollowerTest, CopyTruncateRotationDuringAWriteBurstLosesAndRepeatsNothing) {
  RotateDuringBurst(this, log_, dir_, /*copy_truncate=*/true, [&] { return Open(); });
}

}  // namespace
}  // namespace moat::auditlog
