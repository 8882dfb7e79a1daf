// The RPM header blob as rpm stores it in its package databases:
//
//   int32 il, int32 dl                      (big-endian: index entry count, data store length)
//   il x { int32 tag, type, offset, count } (big-endian index entries)
//   dl bytes of data store
//
// The first entry is normally a region tag (HEADERIMMUTABLE for installed packages) whose data is
// a 16-byte trailer in the data store; the trailer's negated offset is the size of the region's
// index. Entries after the region ("dribbles", added at install time) replace region entries of
// the same tag, as in rpm. Headers without a region (legacy) are plain lists of entries.
//
// The checks follow rpm's own (hdrblobVerifyRegion, hdrblobVerifyInfo) so that a header rpm would
// refuse is refused here too, with the offset of the problem.

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "analyzer/rpm/endian.h"
#include "analyzer/rpm/rpm_db.h"

namespace moat::rpm {
namespace {

enum RpmType : uint32_t {
  kTypeNull = 0,
  kTypeChar = 1,
  kTypeInt8 = 2,
  kTypeInt16 = 3,
  kTypeInt32 = 4,
  kTypeInt64 = 5,
  kTypeString = 6,
  kTypeBin = 7,
  kTypeStringArray = 8,
  kTypeI18nString = 9,
};

// rpm's limits (header.c): at most 64K tags and 256 MB of data.
constexpr uint64_t kMaxIndexEntries = 0xffff;
constexpr uint64_t kMaxDataLength = 0x0fffffff;
constexpr uint64_t kIntroSize = 8;
constexpr uint64_t kEntrySize = 16;

struct IndexEntry {
  uint32_t tag = 0;
  uint32_t type = 0;
  uint32_t offset = 0;  // into the data store; signed in rpm, so values >= 2^31 are invalid
  uint32_t count = 0;
};

IndexEntry LoadEntry(const uint8_t* p) {
  return {LoadBe32(p), LoadBe32(p + 4), LoadBe32(p + 8), LoadBe32(p + 12)};
}

bool IsRegionTag(uint32_t tag) { return tag >= kTagHeaderImage && tag <= kTagHeaderImmutable; }

bool IsStringType(uint32_t type) {
  return type == kTypeString || type == kTypeStringArray || type == kTypeI18nString;
}

uint64_t FixedTypeSize(uint32_t type) {
  switch (type) {
    case kTypeChar:
    case kTypeInt8:
    case kTypeBin:
      return 1;
    case kTypeInt16:
      return 2;
    case kTypeInt32:
      return 4;
    case kTypeInt64:
      return 8;
    default:
      return 0;
  }
}

std::string TagName(uint32_t tag) {
  switch (tag) {
    case kTagName:
      return "NAME";
    case kTagVersion:
      return "VERSION";
    case kTagRelease:
      return "RELEASE";
    case kTagEpoch:
      return "EPOCH";
    case kTagVendor:
      return "VENDOR";
    case kTagLicense:
      return "LICENSE";
    case kTagArch:
      return "ARCH";
    case kTagSourceRpm:
      return "SOURCERPM";
    case kTagModularityLabel:
      return "MODULARITYLABEL";
    case kTagOldFileNames:
      return "OLDFILENAMES";
    case kTagDirIndexes:
      return "DIRINDEXES";
    case kTagBaseNames:
      return "BASENAMES";
    case kTagDirNames:
      return "DIRNAMES";
    default:
      return std::to_string(tag);
  }
}

class HeaderDecoder {
 public:
  explicit HeaderDecoder(ByteSpan blob) : blob_(blob) {}

  Result<RpmHeaderFields> Decode() {
    if (blob_.size() < kIntroSize) {
      return Fail("header offset 0: truncated: ", std::to_string(blob_.size()),
                  " bytes, the header intro needs 8");
    }
    const uint64_t il = LoadBe32(blob_.data());
    const uint64_t dl = LoadBe32(blob_.data() + 4);
    if (il == 0 || il > kMaxIndexEntries) {
      return Fail("header offset 0: index entry count ", std::to_string(il), " out of range");
    }
    if (dl > kMaxDataLength) {
      return Fail("header offset 4: data length ", std::to_string(dl), " out of range");
    }
    const uint64_t expected = kIntroSize + il * kEntrySize + dl;
    if (blob_.size() != expected) {
      return Fail("header offset 0: blob is ", std::to_string(blob_.size()), " bytes but ",
                  std::to_string(il), " index entries and ", std::to_string(dl),
                  " data bytes need ", std::to_string(expected));
    }
    il_ = il;
    data_start_ = kIntroSize + il * kEntrySize;
    data_ = blob_.subspan(data_start_);

    uint64_t first_entry = 0;
    MOAT_TRY(CheckRegion(&first_entry));
    for (uint64_t i = first_entry; i < il_; ++i) {
      MOAT_TRY(TakeEntry(i));
    }
    if (fields_.name.empty()) return Fail("header offset 0: no NAME tag");
    JoinFileNames();
    return std::move(fields_);
  }

 private:
  uint64_t EntryOffset(uint64_t index) const { return kIntroSize + index * kEntrySize; }
  IndexEntry Entry(uint64_t index) const { return LoadEntry(blob_.data() + EntryOffset(index)); }

  Error EntryError(uint64_t index, const IndexEntry& entry, const std::string& what) const {
    return Fail("header offset ", std::to_string(EntryOffset(index)), ": index entry ",
                std::to_string(index), " (tag ", std::to_string(entry.tag), " type ",
                std::to_string(entry.type), " offset ", std::to_string(entry.offset), " count ",
                std::to_string(entry.count), "): ", what);
  }

  // Validates the leading region tag and its trailer, if the header has one.
  Result<void> CheckRegion(uint64_t* first_entry) {
    const IndexEntry region = Entry(0);
    if (!IsRegionTag(region.tag)) return Ok();  // legacy header without a region
    if (region.type != kTypeBin || region.count != kEntrySize) {
      return EntryError(0, region, "region tag must be BIN with count 16");
    }
    if (static_cast<uint64_t>(region.offset) + kEntrySize > data_.size()) {
      return EntryError(0, region, "region trailer lies past the data store");
    }
    const uint64_t trailer_at = data_start_ + region.offset;
    const IndexEntry trailer = LoadEntry(blob_.data() + trailer_at);
    if (trailer.tag != region.tag || trailer.type != kTypeBin || trailer.count != kEntrySize) {
      return Fail("header offset ", std::to_string(trailer_at), ": region trailer (tag ",
                  std::to_string(trailer.tag), " type ", std::to_string(trailer.type), " count ",
                  std::to_string(trailer.count), ") does not match region tag ",
                  std::to_string(region.tag));
    }
    // The trailer's offset is the negated byte size of the region's index entries.
    const int64_t region_index_bytes = -static_cast<int64_t>(static_cast<int32_t>(trailer.offset));
    if (region_index_bytes <= 0 || region_index_bytes % kEntrySize != 0 ||
        static_cast<uint64_t>(region_index_bytes) / kEntrySize > il_) {
      return Fail("header offset ", std::to_string(trailer_at + 8), ": region trailer offset ",
                  std::to_string(static_cast<int32_t>(trailer.offset)), " does not fit ",
                  std::to_string(il_), " index entries");
    }
    *first_entry = 1;
    return Ok();
  }

  // Validates one entry like rpm does and keeps its value when it is a tag we report.
  Result<void> TakeEntry(uint64_t index) {
    const IndexEntry entry = Entry(index);
    if (entry.type == kTypeNull || entry.type > kTypeI18nString) {
      return EntryError(index, entry, "unknown data type");
    }
    if (entry.count == 0 || entry.count > kMaxDataLength) {
      return EntryError(index, entry, "count out of range");
    }
    if (entry.offset >= data_.size()) {
      return EntryError(index, entry, "data offset past the data store");
    }
    const uint64_t fixed_size = FixedTypeSize(entry.type);
    if (fixed_size > 1 && entry.offset % fixed_size != 0) {
      return EntryError(index, entry, "misaligned data offset");
    }
    if (IsStringType(entry.type)) {
      if (entry.type == kTypeString && entry.count != 1) {
        return EntryError(index, entry, "STRING must have count 1");
      }
      // Every one of `count` strings must be NUL-terminated inside the data store.
      uint64_t at = entry.offset;
      for (uint32_t n = 0; n < entry.count; ++n) {
        if (at >= data_.size()) return EntryError(index, entry, "strings run past the data store");
        const void* nul = std::memchr(data_.data() + at, 0, data_.size() - at);
        if (nul == nullptr) {
          return EntryError(index, entry, "string not terminated inside the data store");
        }
        at = static_cast<uint64_t>(static_cast<const uint8_t*>(nul) - data_.data()) + 1;
      }
    } else if (static_cast<uint64_t>(entry.offset) + fixed_size * entry.count > data_.size()) {
      return EntryError(index, entry, "data runs past the data store");
    }
    return Keep(index, entry);
  }

  // The strings of a checked string entry (each NUL-terminated inside the data store).
  std::vector<std::string> Strings(const IndexEntry& entry) const {
    std::vector<std::string> out;
    out.reserve(entry.count);
    const char* at = reinterpret_cast<const char*>(data_.data() + entry.offset);
    for (uint32_t n = 0; n < entry.count; ++n) {
      out.emplace_back(at);
      at += out.back().size() + 1;
    }
    return out;
  }

  // rpm stores file names split (rpm 4.0+): BASENAMES[i] lies in DIRNAMES[DIRINDEXES[i]].
  // Older headers list whole names in OLDFILENAMES. A name whose directory index is out of range
  // (seen in real databases) is left out: the file list only tells which files the package
  // owns, and the package itself is intact.
  void JoinFileNames() {
    if (base_names_.empty()) {
      fields_.files = std::move(old_file_names_);
      return;
    }
    const size_t count = std::min(base_names_.size(), dir_indexes_.size());
    fields_.files.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (dir_indexes_[i] >= dir_names_.size()) continue;
      fields_.files.push_back(dir_names_[dir_indexes_[i]] + base_names_[i]);
    }
  }

  Result<void> Keep(uint64_t index, const IndexEntry& entry) {
    std::string* target = nullptr;
    switch (entry.tag) {
      case kTagBaseNames:
      case kTagDirNames:
      case kTagOldFileNames:
        if (entry.type != kTypeStringArray) {
          return EntryError(index, entry, TagName(entry.tag) + " must be a STRING_ARRAY");
        }
        (entry.tag == kTagBaseNames  ? base_names_
         : entry.tag == kTagDirNames ? dir_names_
                                     : old_file_names_) = Strings(entry);
        return Ok();
      case kTagDirIndexes:
        if (entry.type != kTypeInt32) return EntryError(index, entry, "DIRINDEXES must be INT32");
        dir_indexes_.clear();
        for (uint32_t n = 0; n < entry.count; ++n) {
          dir_indexes_.push_back(LoadBe32(data_.data() + entry.offset + 4 * n));
        }
        return Ok();
      case kTagName:
        target = &fields_.name;
        break;
      case kTagVersion:
        target = &fields_.version;
        break;
      case kTagRelease:
        target = &fields_.release;
        break;
      case kTagArch:
        target = &fields_.arch;
        break;
      case kTagSourceRpm:
        target = &fields_.source_rpm;
        break;
      case kTagLicense:
        target = &fields_.license;
        break;
      case kTagVendor:
        target = &fields_.vendor;
        break;
      case kTagModularityLabel:
        target = &fields_.modularity_label;
        break;
      case kTagEpoch:
        if (entry.type != kTypeInt32) {
          return EntryError(index, entry, "EPOCH must be INT32");
        }
        fields_.epoch = LoadBe32(data_.data() + entry.offset);
        return Ok();
      default:
        return Ok();
    }
    if (!IsStringType(entry.type)) {
      return EntryError(index, entry, TagName(entry.tag) + " must be a string");
    }
    // Checked above: the first string is NUL-terminated inside the data store.
    *target = std::string(reinterpret_cast<const char*>(data_.data() + entry.offset));
    return Ok();
  }

  ByteSpan blob_;
  ByteSpan data_;
  uint64_t il_ = 0;
  uint64_t data_start_ = 0;
  RpmHeaderFields fields_;
  std::vector<std::string> base_names_, dir_names_, old_file_names_;
  std::vector<uint32_t> dir_indexes_;
};

}  // namespace

Result<RpmHeaderFields> DecodeRpmHeader(ByteSpan blob) { return HeaderDecoder(blob).Decode(); }

}  // namespace moat::rpm
