// Berkeley DB hash databases, as rpm's "Packages" (RHEL/CentOS up to 8, Amazon Linux 2, ...).
// We walk the pages ourselves instead of linking libdb: every hash page holds key/value item
// pairs; rpm's keys are 4-byte header numbers and its values are header blobs, stored on chains
// of overflow pages because they are larger than a page allows inline.
//
// Layout (Berkeley DB dbinc/db_page.h), in the byte order of the machine that wrote the file,
// which the metadata magic tells:
//   metadata page 0: lsn[8] pgno magic(0x061561)@12 version pagesize@20 encrypt_alg@24 type@25
//                    metaflags@26 unused free last_pgno@32 ...
//   other pages:     lsn[8] pgno@8 prev_pgno@12 next_pgno@16 entries@20(u16) hf_offset@22(u16)
//                    level@24 type@25, then `entries` u16 item offsets from byte 26.
//   hash item:       type byte: 1 = inline key/data (bytes follow), 3 = off-page
//                    {type, pad[3], pgno, tlen}.
//   overflow page:   hf_offset is the number of data bytes on the page, next_pgno chains them.

#include <string>
#include <vector>

#include "analyzer/rpm/endian.h"
#include "analyzer/rpm/rpm_db.h"

namespace moat::rpm {
namespace {

constexpr uint32_t kHashMagic = 0x00061561;
constexpr uint64_t kMetaSize = 72;  // generic metadata header; enough for what we read
constexpr uint64_t kPageHeaderSize = 26;

constexpr uint8_t kPageHashUnsorted = 2;
constexpr uint8_t kPageOverflow = 7;
constexpr uint8_t kPageHashMeta = 8;
constexpr uint8_t kPageHash = 13;

constexpr uint8_t kItemKeyData = 1;
constexpr uint8_t kItemOffPage = 3;
constexpr uint64_t kOffPageItemSize = 12;

constexpr uint8_t kMetaFlagChecksum = 0x01;

class BdbHashReader {
 public:
  explicit BdbHashReader(ByteSpan content) : content_(content) {}

  Result<void> Read(RpmRecordSink& sink) {
    MOAT_TRY(ReadMetadata());
    LimitToWholePages(sink);
    // A damaged page loses its records only; the other pages are still read.
    for (uint64_t page = 1; page <= last_page_; ++page) {
      if (Result<void> read = ReadHashPage(page, sink); !read.ok()) {
        sink.OnDamage(read.error().message);
      }
    }
    return Ok();
  }

 private:
  uint16_t Load16(const uint8_t* p) const { return big_endian_ ? LoadBe16(p) : LoadLe16(p); }
  uint32_t Load32(const uint8_t* p) const { return big_endian_ ? LoadBe32(p) : LoadLe32(p); }
  uint64_t PageOffset(uint64_t page) const { return page * page_size_; }
  const uint8_t* Page(uint64_t page) const { return content_.data() + PageOffset(page); }

  std::string PageAt(uint64_t page) const {
    return "page " + std::to_string(page) + " (offset " + std::to_string(PageOffset(page)) + ")";
  }

  Result<void> ReadMetadata() {
    if (content_.size() < kMetaSize) {
      return Fail("offset 0: truncated metadata page (", std::to_string(content_.size()),
                  " bytes)");
    }
    const uint8_t* meta = content_.data();
    if (LoadLe32(meta + 12) == kHashMagic) {
      big_endian_ = false;
    } else if (LoadBe32(meta + 12) == kHashMagic) {
      big_endian_ = true;
    } else {
      return Fail("offset 12: not a Berkeley DB hash database (bad magic)");
    }
    page_size_ = Load32(meta + 20);
    if (page_size_ < 512 || page_size_ > 65536 || (page_size_ & (page_size_ - 1)) != 0) {
      return Fail("offset 20: invalid page size ", std::to_string(page_size_));
    }
    if (meta[24] != 0) return Fail("offset 24: encrypted Berkeley DB databases are not supported");
    if (meta[25] != kPageHashMeta) {
      return Fail("offset 25: page 0 has type ", std::to_string(meta[25]),
                  ", not a hash metadata page");
    }
    if ((meta[26] & kMetaFlagChecksum) != 0) {
      return Fail("offset 26: checksummed Berkeley DB pages are not supported");
    }
    last_page_ = Load32(meta + 32);
    page_count_ = content_.size() / page_size_;
    return Ok();
  }

  // A truncated file still has its first pages: they are read, the missing ones reported.
  void LimitToWholePages(RpmRecordSink& sink) {
    if (last_page_ < page_count_) return;
    sink.OnDamage("offset 32: last page is " + std::to_string(last_page_) + " but the file holds " +
                  std::to_string(page_count_) + " whole pages of " + std::to_string(page_size_) +
                  " bytes (truncated database): pages from " + std::to_string(page_count_) +
                  " on are missing");
    last_page_ = page_count_ == 0 ? 0 : page_count_ - 1;
  }

  Result<void> ReadHashPage(uint64_t page, RpmRecordSink& sink) {
    const uint8_t* p = Page(page);
    const uint8_t type = p[25];
    if (type != kPageHash && type != kPageHashUnsorted) return Ok();
    if (Load32(p + 8) != page) {
      return Fail(PageAt(page), ": page claims to be page ", std::to_string(Load32(p + 8)));
    }
    const uint64_t entries = Load16(p + 20);
    const uint64_t items_start = kPageHeaderSize + 2 * entries;
    if (entries % 2 != 0) {
      return Fail(PageAt(page), ": odd number of hash items (", std::to_string(entries), ")");
    }
    if (items_start > page_size_) {
      return Fail(PageAt(page), ": ", std::to_string(entries), " items do not fit the page");
    }
    for (uint64_t i = 0; i < entries; i += 2) {
      MOAT_ASSIGN_OR_RETURN(ByteSpan key, Item(page, i, items_start));
      MOAT_ASSIGN_OR_RETURN(ByteSpan value, Item(page, i + 1, items_start));
      if (IsCounterKey(key)) continue;
      DeliverRecord(PairRecord(page, i, key, value), sink);
    }
    return Ok();
  }

  // rpm keeps its next-instance counter under header number 0; it is not a package.
  bool IsCounterKey(ByteSpan key) const {
    return key.size() == 5 && key[0] == kItemKeyData && Load32(key.data() + 1) == 0;
  }

  // The bytes of item `index` of a hash page, type byte included. Items are packed from the end
  // of the page downwards, so an item ends where the previous one starts.
  Result<ByteSpan> Item(uint64_t page, uint64_t index, uint64_t items_start) const {
    const uint8_t* p = Page(page);
    const uint64_t begin = Load16(p + kPageHeaderSize + 2 * index);
    const uint64_t end = index == 0 ? page_size_ : Load16(p + kPageHeaderSize + 2 * (index - 1));
    if (begin < items_start || begin >= end || end > page_size_) {
      return Fail(PageAt(page), ": hash item ", std::to_string(index), " at page offset ",
                  std::to_string(begin), " is out of bounds");
    }
    return content_.subspan(PageOffset(page) + begin, end - begin);
  }

  Result<RpmDbRecord> PairRecord(uint64_t page, uint64_t index, ByteSpan key, ByteSpan value) {
    if (key[0] != kItemKeyData) {
      return Fail(PageAt(page), ": hash item ", std::to_string(index), " has key type ",
                  std::to_string(key[0]));
    }
    const ByteSpan key_bytes = key.subspan(1);
    std::string id = "key ";
    if (key_bytes.size() == 4) {
      id += std::to_string(Load32(key_bytes.data()));
    } else {
      id += "of " + std::to_string(key_bytes.size()) + " bytes";
    }
    id += " (" + PageAt(page) + " item " + std::to_string(index + 1) + ")";

    if (value[0] == kItemKeyData) {
      const uint64_t offset = PageOffset(page) + (value.data() - Page(page)) + 1;
      return RpmDbRecord{id, offset, value.subspan(1)};
    }
    if (value[0] != kItemOffPage) {
      return Fail(PageAt(page), ": hash item ", std::to_string(index + 1), " has unsupported type ",
                  std::to_string(value[0]));
    }
    if (value.size() < kOffPageItemSize) {
      return Fail(PageAt(page), ": off-page item ", std::to_string(index + 1), " is truncated");
    }
    const uint32_t first_page = Load32(value.data() + 4);
    const uint32_t total_length = Load32(value.data() + 8);
    if (Result<void> gathered = GatherOverflow(first_page, total_length); !gathered.ok()) {
      return gathered.error().Wrap("package record " + id);
    }
    return RpmDbRecord{id, PageOffset(first_page) + kPageHeaderSize,
                       ByteSpan(overflow_buffer_.data(), overflow_buffer_.size())};
  }

  // Concatenates a chain of overflow pages into overflow_buffer_. The walk is bounded by the page
  // count, so a looping chain ends in an error rather than a hang.
  Result<void> GatherOverflow(uint64_t first_page, uint64_t total_length) {
    overflow_buffer_.clear();
    if (total_length > content_.size()) {
      return Fail(PageAt(first_page), ": overflow value of ", std::to_string(total_length),
                  " bytes is larger than the file");
    }
    overflow_buffer_.reserve(total_length);
    uint64_t page = first_page;
    uint64_t steps = 0;
    while (page != 0) {
      if (page > last_page_) {
        return Fail("overflow chain from page ", std::to_string(first_page), " points to page ",
                    std::to_string(page), " past the last page ", std::to_string(last_page_));
      }
      if (++steps > page_count_) {
        return Fail("overflow chain from page ", std::to_string(first_page),
                    " loops (revisits page ", std::to_string(page), ")");
      }
      const uint8_t* p = Page(page);
      if (p[25] != kPageOverflow) {
        return Fail(PageAt(page), ": expected an overflow page, found type ",
                    std::to_string(p[25]));
      }
      if (Load32(p + 8) != page) {
        return Fail(PageAt(page), ": page claims to be page ", std::to_string(Load32(p + 8)));
      }
      const uint64_t length = Load16(p + 22);
      if (length > page_size_ - kPageHeaderSize) {
        return Fail(PageAt(page), ": overflow length ", std::to_string(length),
                    " exceeds the page");
      }
      if (overflow_buffer_.size() + length > total_length) {
        return Fail(PageAt(page), ": overflow chain holds more than the ",
                    std::to_string(total_length), " bytes announced");
      }
      overflow_buffer_.insert(overflow_buffer_.end(), p + kPageHeaderSize,
                              p + kPageHeaderSize + length);
      page = Load32(p + 16);
    }
    if (overflow_buffer_.size() != total_length) {
      return Fail("overflow chain from page ", std::to_string(first_page), " holds ",
                  std::to_string(overflow_buffer_.size()), " bytes, announced ",
                  std::to_string(total_length));
    }
    return Ok();
  }

  ByteSpan content_;
  bool big_endian_ = false;
  uint64_t page_size_ = 0;
  uint64_t last_page_ = 0;
  uint64_t page_count_ = 0;
  std::vector<uint8_t> overflow_buffer_;
};

}  // namespace

Result<void> ReadBerkeleyDbHash(ByteSpan content, RpmRecordSink& sink) {
  return BdbHashReader(content).Read(sink);
}

}  // namespace moat::rpm
