#include "walker/file_parts.h"

#include <gtest/gtest.h>

#include <string>

namespace moat {
namespace {

std::string Content(size_t size) {
  std::string text(size, '\0');
  for (size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
  return text;
}

std::string Text(const FilePart& part) {
  return std::string(reinterpret_cast<const char*>(part.bytes.data()), part.bytes.size());
}

// Feeds `content` in chunks of `chunk` bytes.
void Stream(FilePartsCollector& collector, const std::string& content, size_t chunk) {
  for (size_t offset = 0; offset < content.size(); offset += chunk) {
    collector.Write(AsBytes(std::string_view(content).substr(offset, chunk)));
  }
}

TEST(FilePartsCollector, AsksAgainAfterEachPartEvenInsideOneChunk) {
  const std::string content = Content(10000);
  int plans = 0;
  FilePartsCollector collector(content.size(), 100, 1 << 20,
                               [&](const std::vector<FilePart>& parts) {
                                 ++plans;
                                 // 50 bytes 2000 further for each part held, three times.
                                 if (parts.size() >= 4) return std::vector<FileRange>{};
                                 return std::vector<FileRange>{{parts.size() * 2000, 50}};
                               });
  Stream(collector, content, content.size());  // one chunk: the plans happen inside it
  const std::vector<FilePart> parts = collector.parts();
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(Text(parts[0]), content.substr(0, 100));
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(parts[i].offset, i * 2000);
    EXPECT_EQ(Text(parts[i]), content.substr(i * 2000, 50));
  }
  EXPECT_EQ(plans, 4);
  EXPECT_EQ(collector.held_bytes(), 250u);
}

TEST(FilePartsCollector, RangesBehindTheStreamComeOnlyFromHeldBytes) {
  const std::string content = Content(5000);
  bool asked = false;
  FilePartsCollector collector(content.size(), 1000, 1 << 20, [&](const std::vector<FilePart>&) {
    if (asked) return std::vector<FileRange>{};
    asked = true;
    // Straddles the head's end (held + ahead) and one lies behind.
    return std::vector<FileRange>{{900, 200}, {3000, 10}};
  });
  collector.Write(AsBytes(std::string_view(content).substr(0, 1000)));
  Stream(collector, content.substr(1000), 700);
  const std::vector<FilePart> parts = collector.parts();
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].offset, 900u);
  EXPECT_EQ(Text(parts[1]), content.substr(900, 200));
  EXPECT_EQ(Text(parts[2]), content.substr(3000, 10));

  // Asked only once the stream has passed it, and not held: missing.
  FilePartsCollector late(content.size(), 10, 1 << 20, [&](const std::vector<FilePart>& parts) {
    if (parts.size() == 1) return std::vector<FileRange>{{50, 10}};
    if (parts.size() == 2) return std::vector<FileRange>{{20, 5}};  // passed at 60
    return std::vector<FileRange>{};
  });
  late.Write(AsBytes(std::string_view(content).substr(0, 100)));
  ASSERT_EQ(late.parts().size(), 2u);
  EXPECT_EQ(late.parts()[1].offset, 50u);
}

TEST(FilePartsCollector, HoldsNoMoreThanItsBudget) {
  const std::string content = Content(100000);
  FilePartsCollector collector(content.size(), 100, 1000, [&](const std::vector<FilePart>&) {
    return std::vector<FileRange>{{50000, 5000}, {60000, 500}};
  });
  Stream(collector, content, 4096);
  EXPECT_LE(collector.held_bytes(), 1000u);
  const std::vector<FilePart> parts = collector.parts();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].offset, 60000u);
}

}  // namespace
}  // namespace moat
