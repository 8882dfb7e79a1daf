// Tests of the streaming tar parser and the decompressing sink against archives made by the
// system's GNU tar, gzip and zstd, fed in chunks of many sizes.

#include "walker/tar_stream.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/sha256.h"

namespace moat {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Helpers

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/moat_walker_test_XXXXXX";
    const char* made = mkdtemp(pattern);
    if (made != nullptr) path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Quote(const std::string& text) { return "'" + text + "'"; }

bool RunCommand(const std::string& command) {
  int status = std::system(command.c_str());
  if (status != 0) ADD_FAILURE() << "command failed (" << status << "): " << command;
  return status == 0;
}

bool ToolAvailable(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

/// sha256sum(1) of a file, as "sha256:<hex>": the oracle for the digests.
std::string Sha256SumTool(const std::string& path) {
  std::string command = "sha256sum " + Quote(path);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char buffer[128] = {};
  size_t got = fread(buffer, 1, 64, pipe);
  pclose(pipe);
  return "sha256:" + std::string(buffer, got);
}

std::string PseudoRandomBytes(size_t size, uint32_t seed) {
  std::mt19937 generator(seed);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(generator() & 0xff);
  return bytes;
}

struct SeenEntry {
  TarEntry entry;
  bool wanted = false;
  uint64_t bytes_received = 0;
  std::string content_sha256;  // hex, for requested files
  bool ended = false;
};

/// Records every entry and requests (and hashes) the content of every regular file.
class RecordingVisitor : public TarVisitor {
 public:
  explicit RecordingVisitor(bool want_content = true) : want_content_(want_content) {}

  Result<bool> OnEntry(const TarEntry& entry) override {
    EXPECT_FALSE(in_entry_) << "OnEntry before OnEntryEnd of " << entries.back().entry.path;
    SeenEntry seen;
    seen.entry = entry;
    seen.wanted = want_content_ && entry.type == TarEntry::Type::kFile;
    entries.push_back(seen);
    in_entry_ = seen.wanted;
    hash_ = std::make_unique<Sha256>();
    return seen.wanted;
  }
  Result<void> OnData(ByteSpan chunk) override {
    EXPECT_TRUE(in_entry_);
    if (entries.empty()) return Fail("OnData without an entry");
    entries.back().bytes_received += chunk.size();
    hash_->Update(chunk);
    last_chunk = chunk;
    return Ok();
  }
  Result<void> OnEntryEnd() override {
    EXPECT_TRUE(in_entry_);
    in_entry_ = false;
    if (entries.empty()) return Fail("OnEntryEnd without an entry");
    entries.back().ended = true;
    entries.back().content_sha256 = hash_->HexDigest();
    return Ok();
  }

  std::map<std::string, SeenEntry> ByPath() const {
    std::map<std::string, SeenEntry> by_path;
    for (const auto& seen : entries) by_path[seen.entry.path] = seen;
    return by_path;
  }

  std::vector<SeenEntry> entries;
  ByteSpan last_chunk;

 private:
  bool want_content_;
  bool in_entry_ = false;
  std::unique_ptr<Sha256> hash_;
};

/// A sink that records nothing; the end of a DecompressingSink chain for digest-only tests.
class CountingSink : public ByteSink {
 public:
  Result<void> Write(ByteSpan chunk) override {
    bytes += chunk.size();
    return Ok();
  }
  Result<void> Close() override {
    closed = true;
    return Ok();
  }
  uint64_t bytes = 0;
  bool closed = false;
};

struct ParseOutcome {
  Result<void> status = Ok();
  Compression compression = Compression::kNone;
  std::string plain_digest;
  std::string input_digest;
  uint64_t plain_bytes = 0;
};

/// Pushes `data` in chunks of `chunk_size` (0 = all at once) through DecompressingSink and
/// TarStreamParser, stopping at the first error.
ParseOutcome ParseChunked(const std::string& data, size_t chunk_size, RecordingVisitor& visitor,
                          uint64_t max_output_bytes = 1ull << 34) {
  TarStreamParser tar(visitor, "test-layer");
  DecompressingSink sink(tar, "test-layer", max_output_bytes);
  ParseOutcome outcome;
  ByteSpan all = AsBytes(data);
  size_t step = chunk_size == 0 ? std::max<size_t>(all.size(), 1) : chunk_size;
  for (size_t position = 0; position < all.size() && outcome.status.ok(); position += step) {
    outcome.status = sink.Write(all.subspan(position, std::min(step, all.size() - position)));
  }
  if (outcome.status.ok()) outcome.status = sink.Close();
  outcome.compression = sink.compression();
  if (outcome.status.ok()) {
    outcome.plain_digest = sink.plain_digest();
    outcome.input_digest = sink.input_digest();
    outcome.plain_bytes = sink.plain_bytes();
  }
  return outcome;
}

Result<void> ParseTarOnly(const std::string& data, size_t chunk_size, RecordingVisitor& visitor) {
  TarStreamParser tar(visitor, "plain.tar");
  ByteSpan all = AsBytes(data);
  size_t step = chunk_size == 0 ? std::max<size_t>(all.size(), 1) : chunk_size;
  for (size_t position = 0; position < all.size(); position += step) {
    MOAT_TRY(tar.Write(all.subspan(position, std::min(step, all.size() - position))));
  }
  return tar.Close();
}

/// What the file system says the tree holds: the oracle for the parsed entries.
struct ExpectedEntry {
  TarEntry::Type type;
  uint32_t mode = 0;
  std::string content_sha256;
  std::string link_target;
  uint64_t size = 0;
  ino_t inode = 0;
};

std::map<std::string, ExpectedEntry> DescribeTree(const std::string& root) {
  std::map<std::string, ExpectedEntry> expected;
  for (const auto& item : fs::recursive_directory_iterator(root)) {
    std::string relative = item.path().lexically_relative(root).string();
    struct stat info {};
    lstat(item.path().c_str(), &info);
    ExpectedEntry entry;
    entry.mode = info.st_mode & 07777;
    entry.inode = info.st_ino;
    if (S_ISLNK(info.st_mode)) {
      entry.type = TarEntry::Type::kSymlink;
      entry.link_target = fs::read_symlink(item.path()).string();
    } else if (S_ISDIR(info.st_mode)) {
      entry.type = TarEntry::Type::kDirectory;
    } else {
      entry.type = TarEntry::Type::kFile;
      std::string content = ReadFile(item.path().string());
      entry.content_sha256 = Sha256Hex(AsBytes(content));
      entry.size = content.size();
    }
    expected[relative] = entry;
  }
  return expected;
}

void ExpectMatchesTree(const RecordingVisitor& visitor, const std::string& root,
                       const std::string& context) {
  auto expected = DescribeTree(root);
  auto seen = visitor.ByPath();
  ASSERT_EQ(seen.size(), visitor.entries.size()) << context << ": duplicate paths";
  std::vector<std::string> expected_paths, seen_paths;
  for (const auto& [path, entry] : expected) expected_paths.push_back(path);
  for (const auto& [path, entry] : seen) seen_paths.push_back(path);
  ASSERT_EQ(seen_paths, expected_paths) << context;
  for (const auto& [path, want] : expected) {
    const SeenEntry& got = seen.at(path);
    SCOPED_TRACE(context + ": " + path);
    EXPECT_EQ(got.entry.mode, want.mode);
    if (want.type == TarEntry::Type::kFile && got.entry.type == TarEntry::Type::kHardlink) {
      // tar stores the second name of a hard-linked file as a link to the first.
      ASSERT_TRUE(expected.count(got.entry.link_target)) << got.entry.link_target;
      EXPECT_EQ(expected.at(got.entry.link_target).inode, want.inode);
      EXPECT_EQ(got.entry.size, 0u);
      continue;
    }
    ASSERT_EQ(static_cast<int>(got.entry.type), static_cast<int>(want.type));
    if (want.type == TarEntry::Type::kFile) {
      EXPECT_EQ(got.entry.size, want.size);
      EXPECT_TRUE(got.ended);
      EXPECT_EQ(got.bytes_received, want.size);
      EXPECT_EQ(got.content_sha256, want.content_sha256);
    } else if (want.type == TarEntry::Type::kSymlink) {
      EXPECT_EQ(got.entry.link_target, want.link_target);
    }
  }
}

/// Builds a tree exercising regular files (empty, small, larger than many blocks, executable),
/// directories, symlinks and hard links; with `long_names`, paths and a symlink target beyond
/// the 100-byte ustar fields.
void BuildTree(const std::string& root, bool long_names, bool very_long_names) {
  fs::create_directories(root + "/etc/apt");
  fs::create_directories(root + "/usr/bin");
  WriteFile(root + "/etc/hostname", "moat\n");
  WriteFile(root + "/etc/empty", "");
  WriteFile(root + "/etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\n");
  WriteFile(root + "/usr/bin/tool", PseudoRandomBytes(300 * 1024 + 17, 1));
  fs::permissions(root + "/usr/bin/tool", fs::perms(0755));
  WriteFile(root + "/usr/bin/block", PseudoRandomBytes(4096, 2));  // exact multiple of 512
  fs::create_symlink("tool", root + "/usr/bin/tool-alias");
  fs::create_symlink("/etc/hostname", root + "/etc/hostname-link");
  fs::create_hard_link(root + "/etc/hostname", root + "/etc/hostname-hard");
  if (long_names) {
    // 120+ bytes, splittable into ustar prefix and name.
    std::string deep = root + "/usr/share/" + std::string(60, 'a') + "/" + std::string(50, 'b');
    fs::create_directories(deep);
    WriteFile(deep + "/" + std::string(40, 'c') + ".txt", "long path\n");
  }
  if (very_long_names) {
    std::string deeper = root + "/opt";
    for (int i = 0; i < 4; ++i) deeper += "/" + std::string(90, static_cast<char>('d' + i));
    fs::create_directories(deeper);
    WriteFile(deeper + "/" + std::string(120, 'x'), PseudoRandomBytes(1000, 3));
    fs::create_symlink(std::string("../") + std::string(150, 'y') + "/target",
                       root + "/opt/long-link");
  }
}

const std::vector<size_t> kChunkSizes = {1, 7, 512, 4096, 0};

struct FormatCase {
  std::string format;
  bool long_names;
  bool very_long_names;
};

const std::vector<FormatCase> kFormats = {
    {"gnu", true, true}, {"pax", true, true}, {"ustar", true, false}, {"v7", false, false}};

// ---------------------------------------------------------------------------------------------
// Archives made by GNU tar, compressed by gzip and zstd

class RealArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    if (!ToolAvailable("zstd")) {
      (void)std::system("apt-get install -y zstd >/dev/null 2>&1");
    }
    ASSERT_TRUE(ToolAvailable("tar") && ToolAvailable("gzip") && ToolAvailable("zstd"));
  }

  /// Makes tree and archive for one format; returns the archive's path.
  std::string MakeArchive(const FormatCase& format) {
    std::string root = temp_.path() + "/tree-" + format.format;
    BuildTree(root, format.long_names, format.very_long_names);
    std::string archive = temp_.path() + "/" + format.format + ".tar";
    RunCommand("tar --sort=name --format=" + format.format + " -C " + Quote(root) + " -cf " +
               Quote(archive) + " .");
    return archive;
  }

  TempDir temp_;
};

TEST_F(RealArchiveTest, AllFormatsCompressionsAndChunkSizes) {
  for (const auto& format : kFormats) {
    std::string archive = MakeArchive(format);
    std::string root = temp_.path() + "/tree-" + format.format;
    ASSERT_TRUE(RunCommand("gzip -k -6 " + Quote(archive)));
    ASSERT_TRUE(RunCommand("zstd -q -k " + Quote(archive) + " -o " + Quote(archive + ".zst")));
    std::string tar_digest = Sha256SumTool(archive);
    struct Variant {
      std::string path;
      Compression compression;
    };
    for (const Variant& variant :
         {Variant{archive, Compression::kNone}, Variant{archive + ".gz", Compression::kGzip},
          Variant{archive + ".zst", Compression::kZstd}}) {
      std::string data = ReadFile(variant.path);
      for (size_t chunk : kChunkSizes) {
        std::string context = variant.path + " chunk " + std::to_string(chunk);
        RecordingVisitor visitor;
        ParseOutcome outcome = ParseChunked(data, chunk, visitor);
        ASSERT_TRUE(outcome.status.ok()) << context << ": " << outcome.status.error().message;
        EXPECT_EQ(static_cast<int>(outcome.compression), static_cast<int>(variant.compression));
        EXPECT_EQ(outcome.plain_digest, tar_digest) << context;
        EXPECT_EQ(outcome.input_digest, Sha256SumTool(variant.path)) << context;
        EXPECT_EQ(outcome.plain_bytes, fs::file_size(archive)) << context;
        ExpectMatchesTree(visitor, root, context);
      }
    }
  }
}

TEST_F(RealArchiveTest, MultiMemberGzip) {
  std::string archive = MakeArchive({"gnu", true, true});
  std::string data = ReadFile(archive);
  // Split at an odd place inside an entry, compress both halves, concatenate the members.
  size_t split = data.size() / 3 + 5;
  WriteFile(temp_.path() + "/part1", data.substr(0, split));
  WriteFile(temp_.path() + "/part2", data.substr(split));
  ASSERT_TRUE(RunCommand("gzip -k " + Quote(temp_.path() + "/part1") + " " +
                         Quote(temp_.path() + "/part2")));
  std::string joined = temp_.path() + "/joined.tar.gz";
  ASSERT_TRUE(RunCommand("cat " + Quote(temp_.path() + "/part1.gz") + " " +
                         Quote(temp_.path() + "/part2.gz") + " > " + Quote(joined)));
  // gzip itself agrees the concatenation is the original archive.
  ASSERT_TRUE(RunCommand("gzip -dc " + Quote(joined) + " | cmp -s - " + Quote(archive)));
  std::string compressed = ReadFile(joined);
  for (size_t chunk : kChunkSizes) {
    RecordingVisitor visitor;
    ParseOutcome outcome = ParseChunked(compressed, chunk, visitor);
    ASSERT_TRUE(outcome.status.ok()) << chunk << ": " << outcome.status.error().message;
    EXPECT_EQ(outcome.plain_digest, Sha256SumTool(archive));
    ExpectMatchesTree(visitor, temp_.path() + "/tree-gnu",
                      "multi-member chunk " + std::to_string(chunk));
  }
}

TEST_F(RealArchiveTest, LargeWritesSplitAroundMemberEnds) {
  std::string archive = MakeArchive({"gnu", true, true});
  std::string data = ReadFile(archive);
  size_t split = data.size() / 2;
  WriteFile(temp_.path() + "/m1", data.substr(0, split));
  WriteFile(temp_.path() + "/m2", data.substr(split));
  ASSERT_TRUE(
      RunCommand("gzip -k " + Quote(temp_.path() + "/m1") + " " + Quote(temp_.path() + "/m2")));
  std::string first = ReadFile(temp_.path() + "/m1.gz");
  std::string compressed = first + ReadFile(temp_.path() + "/m2.gz");
  ASSERT_GT(first.size(), 100000u);
  std::string expected_digest = Sha256SumTool(archive);
  // Two large writes (no internal batching) whose boundary falls inside the first member's
  // trailer, exactly at its end, and inside the second member's header.
  for (size_t boundary = first.size() - 9; boundary <= first.size() + 12; ++boundary) {
    RecordingVisitor visitor;
    TarStreamParser tar(visitor, "split");
    DecompressingSink sink(tar, "split", 1ull << 34);
    ByteSpan all = AsBytes(compressed);
    auto status = sink.Write(all.subspan(0, boundary));
    if (status.ok()) status = sink.Write(all.subspan(boundary));
    if (status.ok()) status = sink.Close();
    ASSERT_TRUE(status.ok()) << boundary << ": " << status.error().message;
    EXPECT_EQ(sink.plain_digest(), expected_digest) << boundary;
  }
}

TEST_F(RealArchiveTest, OutputExactlyFillingBuffers) {
  // 1 MiB of plain bytes: a multiple of any power-of-two output buffer size.
  std::string plain_path = temp_.path() + "/exact";
  WriteFile(plain_path, PseudoRandomBytes(1 << 20, 21));
  ASSERT_TRUE(RunCommand("gzip -k " + Quote(plain_path) + " && zstd -q -k " + Quote(plain_path)));
  for (std::string suffix : {".gz", ".zst"}) {
    std::string compressed = ReadFile(plain_path + suffix);
    CountingSink counter;
    DecompressingSink sink(counter, "exact", 1 << 20);
    ASSERT_TRUE(sink.Write(AsBytes(compressed)).ok()) << suffix;
    auto status = sink.Close();
    ASSERT_TRUE(status.ok()) << suffix << ": " << status.error().message;
    EXPECT_EQ(counter.bytes, 1u << 20);
    EXPECT_EQ(sink.plain_digest(), Sha256SumTool(plain_path));
    EXPECT_EQ(sink.input_digest(), Sha256SumTool(plain_path + suffix));
  }
}

TEST_F(RealArchiveTest, MultiFrameZstd) {
  std::string archive = MakeArchive({"pax", true, true});
  std::string data = ReadFile(archive);
  size_t split = data.size() / 2 + 3;
  WriteFile(temp_.path() + "/p1", data.substr(0, split));
  WriteFile(temp_.path() + "/p2", data.substr(split));
  ASSERT_TRUE(
      RunCommand("zstd -q " + Quote(temp_.path() + "/p1") + " " + Quote(temp_.path() + "/p2")));
  std::string compressed = ReadFile(temp_.path() + "/p1.zst") + ReadFile(temp_.path() + "/p2.zst");
  RecordingVisitor visitor;
  ParseOutcome outcome = ParseChunked(compressed, 1000, visitor);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error().message;
  EXPECT_EQ(outcome.plain_digest, Sha256SumTool(archive));
  ExpectMatchesTree(visitor, temp_.path() + "/tree-pax", "multi-frame zstd");
}

TEST_F(RealArchiveTest, GnuSparseFileIsOtherAndFollowingEntriesSurvive) {
  std::string root = temp_.path() + "/sparse";
  fs::create_directories(root);
  // Many data islands so the old GNU format needs sparse extension blocks.
  {
    std::ofstream out(root + "/a-sparse", std::ios::binary);
    for (int i = 0; i < 40; ++i) {
      out.seekp(static_cast<std::streamoff>(i) * 64 * 1024);
      out << "island " << i;
    }
    out.seekp(4 << 20);
    out << "end";
  }
  WriteFile(root + "/b-after", "still parsed\n");
  for (std::string format : {"gnu", "pax"}) {
    std::string archive = temp_.path() + "/sparse-" + format + ".tar";
    ASSERT_TRUE(RunCommand("tar --sparse --sort=name --format=" + format + " -C " + Quote(root) +
                           " -cf " + Quote(archive) + " a-sparse b-after"));
    std::string data = ReadFile(archive);
    for (size_t chunk : {size_t{1}, size_t{0}}) {
      RecordingVisitor visitor;
      ParseOutcome outcome = ParseChunked(data, chunk, visitor);
      ASSERT_TRUE(outcome.status.ok()) << format << ": " << outcome.status.error().message;
      ASSERT_EQ(visitor.entries.size(), 2u) << format;
      EXPECT_EQ(static_cast<int>(visitor.entries[0].entry.type),
                static_cast<int>(TarEntry::Type::kOther))
          << format;
      EXPECT_EQ(visitor.entries[1].entry.path, "b-after");
      EXPECT_EQ(visitor.entries[1].content_sha256, Sha256Hex(AsBytes("still parsed\n")));
    }
  }
}

TEST_F(RealArchiveTest, PassthroughForwardsWithoutCopying) {
  std::string archive = MakeArchive({"gnu", false, false});
  std::string data = ReadFile(archive);
  RecordingVisitor visitor;
  ParseOutcome outcome = ParseChunked(data, 0, visitor);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error().message;
  // The last content chunk handed to the visitor points into the caller's buffer.
  const uint8_t* begin = AsBytes(data).data();
  ASSERT_FALSE(visitor.last_chunk.empty());
  EXPECT_GE(visitor.last_chunk.data(), begin);
  EXPECT_LE(visitor.last_chunk.data() + visitor.last_chunk.size(), begin + data.size());
}

TEST_F(RealArchiveTest, UnrequestedContentIsSkipped) {
  std::string archive = MakeArchive({"pax", true, true});
  RecordingVisitor visitor(/*want_content=*/false);
  ASSERT_TRUE(ParseTarOnly(ReadFile(archive), 333, visitor).ok());
  EXPECT_EQ(visitor.ByPath().size(), DescribeTree(temp_.path() + "/tree-pax").size());
  for (const auto& seen : visitor.entries) EXPECT_EQ(seen.bytes_received, 0u);
}

TEST_F(RealArchiveTest, AbsolutePathFromTarIsRejected) {
  std::string file = temp_.path() + "/abs-file";
  WriteFile(file, "x");
  std::string archive = temp_.path() + "/abs.tar";
  ASSERT_TRUE(RunCommand("tar -P -cf " + Quote(archive) + " " + Quote(file)));
  RecordingVisitor visitor;
  auto status = ParseTarOnly(ReadFile(archive), 0, visitor);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("absolute path"), std::string::npos)
      << status.error().message;
  EXPECT_NE(status.error().message.find(file), std::string::npos) << status.error().message;
  EXPECT_NE(status.error().message.find("offset 0"), std::string::npos) << status.error().message;
}

TEST_F(RealArchiveTest, TruncatedArchiveFailsOnClose) {
  std::string archive = MakeArchive({"gnu", false, false});
  std::string data = ReadFile(archive);
  // usr/bin/tool is the largest entry; cut in the middle of the archive, inside it.
  std::string truncated = data.substr(0, data.size() / 2);
  for (size_t chunk : {size_t{1}, size_t{4096}, size_t{0}}) {
    RecordingVisitor visitor;
    ParseOutcome outcome = ParseChunked(truncated, chunk, visitor);
    ASSERT_FALSE(outcome.status.ok());
    EXPECT_NE(outcome.status.error().message.find("truncated"), std::string::npos)
        << outcome.status.error().message;
    EXPECT_NE(outcome.status.error().message.find("test-layer"), std::string::npos);
  }
  // Cut inside a header.
  RecordingVisitor visitor;
  auto status = ParseTarOnly(data.substr(0, 700), 0, visitor);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("truncated inside"), std::string::npos)
      << status.error().message;
}

TEST_F(RealArchiveTest, MissingEndMarkerAfterCompleteEntryIsAccepted) {
  std::string archive = MakeArchive({"ustar", false, false});
  std::string data = ReadFile(archive);
  // Strip the end-of-archive blocks (and tar's record padding): all trailing zero blocks.
  size_t end = data.size();
  while (end >= 512 && data.find_first_not_of('\0', end - 512) >= end) end -= 512;
  ASSERT_LT(end, data.size());
  RecordingVisitor visitor;
  ASSERT_TRUE(ParseTarOnly(data.substr(0, end), 512, visitor).ok());
  ExpectMatchesTree(visitor, temp_.path() + "/tree-ustar", "no end marker");
}

TEST_F(RealArchiveTest, TrailingDataAfterEndIsIgnored) {
  std::string archive = MakeArchive({"gnu", false, false});
  std::string data = ReadFile(archive) + "garbage after the end of the archive";
  RecordingVisitor visitor;
  ASSERT_TRUE(ParseTarOnly(data, 0, visitor).ok());
  ExpectMatchesTree(visitor, temp_.path() + "/tree-gnu", "trailing garbage");
}

TEST_F(RealArchiveTest, BadChecksumNamesOffset) {
  std::string archive = MakeArchive({"ustar", false, false});
  std::string data = ReadFile(archive);
  // Corrupt the second header's name (the first is "./", 512 bytes).
  ASSERT_GT(data.size(), 1100u);
  data[512 + 3] ^= 0x20;
  RecordingVisitor visitor;
  auto status = ParseTarOnly(data, 7, visitor);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("checksum"), std::string::npos) << status.error().message;
  EXPECT_NE(status.error().message.find("offset 512"), std::string::npos) << status.error().message;
}

TEST_F(RealArchiveTest, TruncatedGzip) {
  std::string archive = MakeArchive({"gnu", false, false});
  ASSERT_TRUE(RunCommand("gzip -k " + Quote(archive)));
  std::string compressed = ReadFile(archive + ".gz");
  for (size_t keep :
       {size_t{1}, size_t{2}, size_t{10}, compressed.size() / 2, compressed.size() - 4}) {
    for (size_t chunk : {size_t{1}, size_t{0}}) {
      RecordingVisitor visitor;
      ParseOutcome outcome = ParseChunked(compressed.substr(0, keep), chunk, visitor);
      ASSERT_FALSE(outcome.status.ok()) << keep;
      EXPECT_NE(outcome.status.error().message.find("test-layer"), std::string::npos);
      EXPECT_NE(outcome.status.error().message.find("truncated"), std::string::npos)
          << keep << ": " << outcome.status.error().message;
    }
  }
}

TEST_F(RealArchiveTest, CorruptGzipNamesCompressedOffset) {
  std::string archive = MakeArchive({"gnu", false, false});
  ASSERT_TRUE(RunCommand("gzip -k " + Quote(archive)));
  std::string compressed = ReadFile(archive + ".gz");
  std::mt19937 generator(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::string corrupt = compressed;
    size_t at = 20 + generator() % (corrupt.size() - 40);
    for (int i = 0; i < 8; ++i) corrupt[at + i] = static_cast<char>(generator());
    // The tar layer may notice first; either way there must be an error.
    RecordingVisitor visitor;
    ParseOutcome outcome = ParseChunked(corrupt, 4096, visitor);
    ASSERT_FALSE(outcome.status.ok()) << "corruption at " << at;
    EXPECT_NE(outcome.status.error().message.find("test-layer"), std::string::npos);
  }
  // A corrupted deflate block header straight after the gzip header.
  std::string corrupt = compressed;
  size_t header_end = 10 + ReadFile(archive + ".gz").substr(10).find('\0') + 1;  // after FNAME
  corrupt[header_end] = static_cast<char>(0xff);  // BTYPE 11 (reserved)
  RecordingVisitor visitor;
  ParseOutcome outcome = ParseChunked(corrupt, 0, visitor);
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_NE(outcome.status.error().message.find("corrupt gzip data near compressed offset"),
            std::string::npos)
      << outcome.status.error().message;
  // Checksum error in the trailer.
  corrupt = compressed;
  corrupt[corrupt.size() - 6] ^= 1;
  RecordingVisitor visitor2;
  outcome = ParseChunked(corrupt, 0, visitor2);
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_NE(outcome.status.error().message.find("checksum"), std::string::npos)
      << outcome.status.error().message;
}

TEST_F(RealArchiveTest, ZstdGarbageAndTruncation) {
  std::string garbage = std::string("\x28\xb5\x2f\xfd", 4) + PseudoRandomBytes(5000, 9);
  RecordingVisitor visitor;
  ParseOutcome outcome = ParseChunked(garbage, 100, visitor);
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_NE(outcome.status.error().message.find("zstd"), std::string::npos)
      << outcome.status.error().message;

  std::string archive = MakeArchive({"gnu", false, false});
  ASSERT_TRUE(RunCommand("zstd -q -k " + Quote(archive)));
  std::string compressed = ReadFile(archive + ".zst");
  for (size_t keep : {size_t{4}, size_t{20}, compressed.size() / 2, compressed.size() - 1}) {
    RecordingVisitor truncated_visitor;
    outcome = ParseChunked(compressed.substr(0, keep), 0, truncated_visitor);
    ASSERT_FALSE(outcome.status.ok()) << keep;
    EXPECT_NE(outcome.status.error().message.find("truncated"), std::string::npos)
        << keep << ": " << outcome.status.error().message;
  }
}

TEST_F(RealArchiveTest, DecompressionBombIsStopped) {
  // 16 MiB of zeros compresses to ~16 KiB.
  std::string zeros = temp_.path() + "/zeros";
  ASSERT_TRUE(RunCommand("head -c 16777216 /dev/zero > " + Quote(zeros)));
  std::string archive = temp_.path() + "/bomb.tar";
  ASSERT_TRUE(RunCommand("tar -C " + Quote(temp_.path()) + " -cf " + Quote(archive) + " zeros"));
  ASSERT_TRUE(RunCommand("gzip -k " + Quote(archive) + " && zstd -q -k " + Quote(archive)));
  for (std::string suffix : {"", ".gz", ".zst"}) {
    std::string data = ReadFile(archive + suffix);
    RecordingVisitor visitor(/*want_content=*/false);
    ParseOutcome outcome = ParseChunked(data, 0, visitor, /*max_output_bytes=*/4 << 20);
    ASSERT_FALSE(outcome.status.ok()) << suffix;
    EXPECT_NE(outcome.status.error().message.find(
                  "test-layer: layer expands past 4194304 bytes (decompression bomb?)"),
              std::string::npos)
        << outcome.status.error().message;
    // The same input under a sufficient limit is fine.
    RecordingVisitor ok_visitor(false);
    ParseOutcome ok = ParseChunked(data, 0, ok_visitor, fs::file_size(archive));
    EXPECT_TRUE(ok.status.ok()) << suffix;
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-made headers: cases GNU tar refuses to write

/// One ustar header block (POSIX magic), with a correct checksum unless told otherwise.
std::string MakeHeader(const std::string& name, char type, uint64_t size,
                       const std::string& link = "", bool base256_size = false) {
  std::string block(512, '\0');
  auto put = [&](size_t offset, const std::string& value) {
    block.replace(offset, value.size(), value);
  };
  put(0, name.substr(0, 100));
  put(100, "0000644");
  put(108, "0000000");
  put(116, "0000000");
  if (base256_size) {
    block[124] = static_cast<char>(0x80);
    for (int i = 0; i < 8; ++i) block[135 - i] = static_cast<char>((size >> (8 * i)) & 0xff);
  } else {
    char octal[16];
    snprintf(octal, sizeof(octal), "%011llo", static_cast<unsigned long long>(size));
    put(124, octal);
  }
  put(136, "00000000000");
  block[156] = type;
  put(157, link.substr(0, 100));
  put(257, std::string("ustar\0"
                       "00",
                       8));
  put(148, "        ");
  unsigned sum = 0;
  for (unsigned char c : block) sum += c;
  char checksum[8];
  snprintf(checksum, sizeof(checksum), "%06o", sum);
  put(148, std::string(checksum, 6) + std::string("\0 ", 2));
  return block;
}

std::string Padded(const std::string& content) {
  return content + std::string((512 - content.size() % 512) % 512, '\0');
}

std::string EndMarker() { return std::string(1024, '\0'); }

TEST(HandMadeTarTest, Base256Size) {
  std::string content = PseudoRandomBytes(1500, 11);
  std::string data =
      MakeHeader("big", '0', content.size(), "", true) + Padded(content) + EndMarker();
  for (size_t chunk : kChunkSizes) {
    RecordingVisitor visitor;
    ASSERT_TRUE(ParseTarOnly(data, chunk, visitor).ok());
    ASSERT_EQ(visitor.entries.size(), 1u);
    EXPECT_EQ(visitor.entries[0].entry.size, 1500u);
    EXPECT_EQ(visitor.entries[0].content_sha256, Sha256Hex(AsBytes(content)));
  }
  // Over 8 GiB: the size is reported, and the missing content is a truncation.
  uint64_t huge = (8ull << 30) + 1;
  std::string huge_header = MakeHeader("huge", '0', huge, "", true) + std::string(4096, 'z');
  RecordingVisitor visitor(false);
  auto status = ParseTarOnly(huge_header, 0, visitor);
  ASSERT_EQ(visitor.entries.size(), 1u);
  EXPECT_EQ(visitor.entries[0].entry.size, huge);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("truncated inside entry content"), std::string::npos);
}

TEST(HandMadeTarTest, DotDotEscapeIsRejected) {
  for (std::string name : {"../etc/passwd", "a/../../b", "./../x"}) {
    std::string data = MakeHeader("ok", '0', 0) + MakeHeader(name, '0', 0) + EndMarker();
    RecordingVisitor visitor;
    auto status = ParseTarOnly(data, 0, visitor);
    ASSERT_FALSE(status.ok()) << name;
    EXPECT_NE(status.error().message.find("escapes"), std::string::npos);
    EXPECT_NE(status.error().message.find(name), std::string::npos) << status.error().message;
    EXPECT_NE(status.error().message.find("offset 512"), std::string::npos)
        << status.error().message;
  }
  // ".." that stays inside the root is resolved.
  std::string data = MakeHeader("a/../b/./c", '0', 0) + EndMarker();
  RecordingVisitor visitor;
  ASSERT_TRUE(ParseTarOnly(data, 0, visitor).ok());
  ASSERT_EQ(visitor.entries.size(), 1u);
  EXPECT_EQ(visitor.entries[0].entry.path, "b/c");
  // A hard link pointing out of the root is rejected too.
  RecordingVisitor link_visitor;
  auto status =
      ParseTarOnly(MakeHeader("h", '1', 0, "../../etc/shadow") + EndMarker(), 1, link_visitor);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("hard link"), std::string::npos);
}

TEST(HandMadeTarTest, PaxOverridesAndGlobalHeaders) {
  std::string long_path = std::string(200, 'p') + "/file";
  auto record = [](const std::string& key, const std::string& value) {
    std::string body = " " + key + "=" + value + "\n";
    // The length counts its own digits.
    size_t length = body.size() + 1;
    while (std::to_string(length).size() + body.size() != length) ++length;
    return std::to_string(length) + body;
  };
  std::string global = record("comment", "ignored") + record("mtime", "1");
  std::string pax = record("path", long_path) + record("size", "5");
  std::string data = MakeHeader("pax_global_header", 'g', global.size()) + Padded(global) +
                     MakeHeader("PaxHeaders/file", 'x', pax.size()) + Padded(pax) +
                     MakeHeader("short", '0', 0) + Padded("hello") + EndMarker();
  for (size_t chunk : kChunkSizes) {
    RecordingVisitor visitor;
    auto status = ParseTarOnly(data, chunk, visitor);
    ASSERT_TRUE(status.ok()) << status.error().message;
    ASSERT_EQ(visitor.entries.size(), 1u);
    EXPECT_EQ(visitor.entries[0].entry.path, long_path);
    EXPECT_EQ(visitor.entries[0].entry.size, 5u);
    EXPECT_EQ(visitor.entries[0].content_sha256, Sha256Hex(AsBytes("hello")));
  }
  // A malformed record is an error naming the header's offset.
  std::string bad = "99 path=x\n";
  RecordingVisitor visitor;
  auto status = ParseTarOnly(
      MakeHeader("x", 'x', bad.size()) + Padded(bad) + MakeHeader("f", '0', 0) + EndMarker(), 0,
      visitor);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("pax record"), std::string::npos);
  EXPECT_NE(status.error().message.find("offset 0"), std::string::npos);
}

TEST(HandMadeTarTest, ExtendedHeaderLimit) {
  TarLimits limits;
  limits.max_entry_header_bytes = 1024;
  RecordingVisitor visitor;
  TarStreamParser tar(visitor, "limited", limits);
  std::string data = MakeHeader("././@LongLink", 'L', 4096) + Padded(std::string(4096, 'n'));
  auto status = tar.Write(AsBytes(data));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("over the limit"), std::string::npos);
  // The error sticks.
  EXPECT_FALSE(tar.Write(AsBytes(EndMarker())).ok());
}

TEST(HandMadeTarTest, GarbageIsNotATar) {
  std::string garbage = PseudoRandomBytes(10000, 5);
  RecordingVisitor visitor;
  auto status = ParseTarOnly(garbage, 100, visitor);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("plain.tar: tar offset 0"), std::string::npos)
      << status.error().message;
}

TEST(HandMadeTarTest, VisitorErrorsPropagate) {
  class FailingVisitor : public RecordingVisitor {
   public:
    Result<void> OnData(ByteSpan) override { return Fail("analyzer says no"); }
  };
  FailingVisitor visitor;
  auto status = ParseTarOnly(MakeHeader("f", '0', 3) + Padded("abc") + EndMarker(), 0, visitor);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "analyzer says no");
}

TEST(HandMadeTarTest, EmptyInput) {
  RecordingVisitor visitor;
  ParseOutcome outcome = ParseChunked("", 0, visitor);
  ASSERT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.plain_digest, "sha256:" + Sha256Hex(ByteSpan()));
  EXPECT_TRUE(visitor.entries.empty());
}

TEST(DecompressingSinkTest, ShortInputsPassThrough) {
  for (std::string input : {std::string("\x1f"), std::string("ab"), std::string("\x28\xb5\x2f")}) {
    CountingSink counter;
    DecompressingSink sink(counter, "short", 100);
    ASSERT_TRUE(sink.Write(AsBytes(input)).ok());
    ASSERT_TRUE(sink.Close().ok()) << input.size();
    EXPECT_EQ(counter.bytes, input.size());
    EXPECT_TRUE(counter.closed);
    EXPECT_EQ(sink.plain_digest(), "sha256:" + Sha256Hex(AsBytes(input)));
  }
}

// ---------------------------------------------------------------------------------------------
// Whiteouts

TEST(WhiteoutTest, Markers) {
  EXPECT_TRUE(IsWhiteout("etc/.wh.passwd"));
  EXPECT_TRUE(IsWhiteout(".wh.top"));
  EXPECT_FALSE(IsWhiteout("etc/passwd"));
  EXPECT_FALSE(IsWhiteout("etc/x.wh.passwd"));
  EXPECT_FALSE(IsWhiteout(".wh.dir/file"));
  EXPECT_TRUE(IsOpaqueWhiteout("var/lib/.wh..wh..opq"));
  EXPECT_TRUE(IsOpaqueWhiteout(".wh..wh..opq"));
  EXPECT_FALSE(IsOpaqueWhiteout("var/lib/.wh.opq"));
  EXPECT_EQ(WhiteoutTarget("etc/.wh.passwd"), "etc/passwd");
  EXPECT_EQ(WhiteoutTarget(".wh.top"), "top");
  EXPECT_EQ(WhiteoutTarget("var/lib/.wh..wh..opq"), "var/lib");
  EXPECT_EQ(WhiteoutTarget(".wh..wh..opq"), "");
}

}  // namespace
}  // namespace moat
