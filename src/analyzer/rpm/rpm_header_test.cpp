// The header blob decoder on a real installed-package header (Fedora's publicsuffix-list-dafsa,
// from go-rpmdb's test data) and on damaged variants of it. What the real blob decodes to is
// checked against rpm itself in rpm_oracle_test.cpp; here we check that every inconsistency is
// refused with the offset of the problem and that nothing crashes.

#include <random>
#include <string>

#include "analyzer/rpm/endian.h"
#include "analyzer/rpm/rpm_db.h"
#include "analyzer/rpm/rpm_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace moat::rpm {
namespace {

using ::testing::HasSubstr;

std::string RealBlob() {
  return testing::ReadBinary(testing::SharedRpmDir() + "/go-rpmdb_blob.bin");
}

const uint8_t* Bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

void StoreBe32(std::string& bytes, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((value >> (24 - 8 * i)) & 0xff);
}

uint32_t IndexCount(const std::string& blob) { return LoadBe32(Bytes(blob)); }
uint32_t DataLength(const std::string& blob) { return LoadBe32(Bytes(blob) + 4); }
size_t EntryAt(uint32_t index) { return 8 + 16 * static_cast<size_t>(index); }
size_t DataStart(const std::string& blob) { return EntryAt(IndexCount(blob)); }

// Index of the entry with `tag`, or the index count when absent.
uint32_t FindEntry(const std::string& blob, uint32_t tag) {
  for (uint32_t i = 0; i < IndexCount(blob); ++i) {
    if (LoadBe32(Bytes(blob) + EntryAt(i)) == tag) return i;
  }
  return IndexCount(blob);
}

Result<RpmHeaderFields> Decode(const std::string& blob) { return DecodeRpmHeader(AsBytes(blob)); }

TEST(RpmHeaderTest, RealBlobDecodes) {
  const std::string blob = RealBlob();
  ASSERT_GT(blob.size(), 1000u);
  Result<RpmHeaderFields> fields = Decode(blob);
  ASSERT_TRUE(fields.ok()) << fields.error().message;
  // The decoded values equal the strings the index points at; rpm_oracle_test compares them with
  // what rpm reports for the same blob.
  const uint32_t name_entry = FindEntry(blob, kTagName);
  ASSERT_LT(name_entry, IndexCount(blob));
  const uint32_t name_offset = LoadBe32(Bytes(blob) + EntryAt(name_entry) + 8);
  EXPECT_EQ(fields->name, std::string(blob.c_str() + DataStart(blob) + name_offset));
  EXPECT_FALSE(fields->version.empty());
  EXPECT_FALSE(fields->release.empty());
  EXPECT_FALSE(fields->source_rpm.empty());
}

TEST(RpmHeaderTest, EveryTruncationIsAnError) {
  const std::string blob = RealBlob();
  for (size_t size = 0; size < blob.size(); ++size) {
    Result<RpmHeaderFields> fields = Decode(blob.substr(0, size));
    ASSERT_FALSE(fields.ok()) << size;
    EXPECT_THAT(fields.error().message, HasSubstr("header offset"));
  }
  Result<RpmHeaderFields> fields = Decode(blob + std::string(4, '\0'));
  ASSERT_FALSE(fields.ok());
  EXPECT_THAT(fields.error().message, HasSubstr("need"));
}

TEST(RpmHeaderTest, WrongCountsAreErrors) {
  const std::string blob = RealBlob();
  std::string bad = blob;
  StoreBe32(bad, 0, IndexCount(blob) + 1);
  EXPECT_FALSE(Decode(bad).ok());
  bad = blob;
  StoreBe32(bad, 0, 0);
  EXPECT_FALSE(Decode(bad).ok());
  bad = blob;
  StoreBe32(bad, 0, 0xffffffff);
  EXPECT_FALSE(Decode(bad).ok());
  bad = blob;
  StoreBe32(bad, 4, DataLength(blob) - 1);
  EXPECT_FALSE(Decode(bad).ok());
  bad = blob;
  StoreBe32(bad, 4, 0x7fffffff);
  Result<RpmHeaderFields> fields = Decode(bad);
  ASSERT_FALSE(fields.ok());
  EXPECT_THAT(fields.error().message, HasSubstr("header offset 4"));
}

TEST(RpmHeaderTest, EntryOffsetsPastTheDataAreErrors) {
  const std::string blob = RealBlob();
  const uint32_t name_entry = FindEntry(blob, kTagName);
  std::string bad = blob;
  StoreBe32(bad, EntryAt(name_entry) + 8, DataLength(blob));
  Result<RpmHeaderFields> fields = Decode(bad);
  ASSERT_FALSE(fields.ok());
  EXPECT_THAT(fields.error().message,
              HasSubstr("header offset " + std::to_string(EntryAt(name_entry))));
  EXPECT_THAT(fields.error().message, HasSubstr("past the data store"));

  // A string whose terminator is missing: point NAME at the last byte and make it non-NUL.
  bad = blob;
  StoreBe32(bad, EntryAt(name_entry) + 8, DataLength(blob) - 1);
  bad.back() = 'x';
  EXPECT_FALSE(Decode(bad).ok());

  // A string array claiming more strings than the data store holds.
  bad = blob;
  StoreBe32(bad, EntryAt(name_entry) + 4, 8);  // STRING_ARRAY
  StoreBe32(bad, EntryAt(name_entry) + 12, 0x00ffffff);
  EXPECT_FALSE(Decode(bad).ok());

  // INT32 data running past the end.
  const uint32_t epoch_like = FindEntry(blob, 1006);  // BUILDTIME, INT32
  ASSERT_LT(epoch_like, IndexCount(blob));
  bad = blob;
  StoreBe32(bad, EntryAt(epoch_like) + 12, DataLength(blob));
  EXPECT_FALSE(Decode(bad).ok());
  bad = blob;
  StoreBe32(bad, EntryAt(epoch_like) + 8, LoadBe32(Bytes(blob) + EntryAt(epoch_like) + 8) + 1);
  fields = Decode(bad);
  ASSERT_FALSE(fields.ok());
  EXPECT_THAT(fields.error().message, HasSubstr("misaligned"));
}

TEST(RpmHeaderTest, WrongTypesAreErrors) {
  const std::string blob = RealBlob();
  const uint32_t name_entry = FindEntry(blob, kTagName);
  for (uint32_t type : {0u, 4u, 10u, 0xffffffffu}) {
    std::string bad = blob;
    StoreBe32(bad, EntryAt(name_entry) + 4, type);
    EXPECT_FALSE(Decode(bad).ok()) << type;
  }
}

TEST(RpmHeaderTest, BrokenRegionIsAnError) {
  const std::string blob = RealBlob();
  ASSERT_EQ(LoadBe32(Bytes(blob)), IndexCount(blob));
  ASSERT_EQ(LoadBe32(Bytes(blob) + EntryAt(0)), static_cast<uint32_t>(kTagHeaderImmutable));
  const uint32_t trailer_offset = LoadBe32(Bytes(blob) + EntryAt(0) + 8);
  const size_t trailer = DataStart(blob) + trailer_offset;

  std::string bad = blob;
  StoreBe32(bad, EntryAt(0) + 8, DataLength(blob) - 8);  // trailer past the data
  EXPECT_FALSE(Decode(bad).ok());
  bad = blob;
  StoreBe32(bad, trailer, kTagHeaderSignatures);  // trailer tag differs
  Result<RpmHeaderFields> fields = Decode(bad);
  ASSERT_FALSE(fields.ok());
  EXPECT_THAT(fields.error().message, HasSubstr("header offset " + std::to_string(trailer)));
  bad = blob;
  StoreBe32(bad, trailer + 8,
            static_cast<uint32_t>(-16 * static_cast<int32_t>(IndexCount(blob) + 1)));
  EXPECT_FALSE(Decode(bad).ok());
  bad = blob;
  StoreBe32(bad, trailer + 8, 16);  // positive
  EXPECT_FALSE(Decode(bad).ok());
  bad = blob;
  StoreBe32(bad, EntryAt(0) + 12, 15);  // region count must be 16
  EXPECT_FALSE(Decode(bad).ok());
}

TEST(RpmHeaderTest, RandomBytesNeverCrash) {
  std::mt19937 random(7);
  const std::string blob = RealBlob();
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = blob;
    for (int flips = 0; flips < 1 + round % 5; ++flips) {
      // Damage the intro and the index most of the time: that is where the structure is.
      const size_t limit = round % 2 ? DataStart(blob) : bytes.size();
      bytes[random() % limit] = static_cast<char>(random());
    }
    (void)Decode(bytes);
  }
  for (int round = 0; round < 500; ++round) {
    std::string bytes(random() % 600, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    if (bytes.size() >= 8 && round % 2) {
      StoreBe32(bytes, 0, static_cast<uint32_t>(random() % 8));
      StoreBe32(bytes, 4, static_cast<uint32_t>(random() % 200));
    }
    (void)Decode(bytes);
  }
}

TEST(RpmSourceRpmNameTest, SplitsNameVersionRelease) {
  auto source = ParseSourceRpmName("bash-5.1.8-6.el9.src.rpm");
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(source->name, "bash");
  EXPECT_EQ(source->version, "5.1.8");
  EXPECT_EQ(source->release, "6.el9");

  source = ParseSourceRpmName("util-linux-2.32.1-42.el8_8.src.rpm");
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(source->name, "util-linux");
  EXPECT_EQ(source->version, "2.32.1");
  EXPECT_EQ(source->release, "42.el8_8");

  source = ParseSourceRpmName("kernel-5.14.0-1.nosrc.rpm");
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(source->name, "kernel");

  for (const char* bad : {"", "(none)", "bash.src.rpm", "bash-5.src.rpm", "-1-2.src.rpm",
                          "bash--1.src.rpm", "bash-1-.src.rpm"}) {
    EXPECT_FALSE(ParseSourceRpmName(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace moat::rpm
