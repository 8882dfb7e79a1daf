// The NDB package database of rpm 4.16+ (SUSE's default): Packages.db. All integers are
// little-endian. Layout (rpm lib/backend/ndb/rpmpkg.c):
//
//   slot pages (4096 bytes each, `slot_pages` of them) holding 16-byte slots; the first 32 bytes
//   of page 0 are the database header: "RpmP", version 0, generation, slot_pages, next pkgidx.
//   slot:  "Slot", pkgidx, blkoff, blkcnt   (blkoff 0 = free slot; offsets in 16-byte blocks)
//   blob:  "BlbS", pkgidx, timestamp, bloblen, header blob, zero padding,
//          adler32, bloblen, "BlbE"          (occupying exactly blkcnt blocks)

#include <algorithm>
#include <string>
#include <vector>

#include "analyzer/rpm/endian.h"
#include "analyzer/rpm/rpm_db.h"

namespace moat::rpm {
namespace {

constexpr uint32_t FourCc(char a, char b, char c, char d) {
  return static_cast<uint32_t>(static_cast<uint8_t>(a)) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b)) << 8) |
         (static_cast<uint32_t>(static_cast<uint8_t>(c)) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(d)) << 24);
}

constexpr uint32_t kDbMagic = FourCc('R', 'p', 'm', 'P');
constexpr uint32_t kSlotMagic = FourCc('S', 'l', 'o', 't');
constexpr uint32_t kBlobHeadMagic = FourCc('B', 'l', 'b', 'S');
constexpr uint32_t kBlobTailMagic = FourCc('B', 'l', 'b', 'E');
constexpr uint64_t kDbHeaderSize = 32;
constexpr uint64_t kSlotSize = 16;
constexpr uint64_t kBlockSize = 16;
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kBlobHeadSize = 16;
constexpr uint64_t kBlobTailSize = 12;

struct Slot {
  uint64_t slot_offset;
  uint32_t pkgidx;
  uint32_t blkoff;
  uint32_t blkcnt;
};

// RFC 1950 Adler-32, as rpm computes it over a blob's head, data and padding.
uint32_t Adler32(ByteSpan bytes) {
  constexpr uint32_t kMod = 65521;
  uint32_t s1 = 1;
  uint32_t s2 = 0;
  while (!bytes.empty()) {
    // 5552 is the largest run for which the sums cannot overflow 32 bits.
    const size_t run = std::min<size_t>(bytes.size(), 5552);
    for (size_t i = 0; i < run; ++i) {
      s1 += bytes[i];
      s2 += s1;
    }
    s1 %= kMod;
    s2 %= kMod;
    bytes = bytes.subspan(run);
  }
  return (s2 << 16) | s1;
}

std::string At(uint64_t offset) { return "offset " + std::to_string(offset); }

// The occupied slots, in the order of their blobs. A damaged slot is reported and skipped.
Result<std::vector<Slot>> ReadSlots(ByteSpan content, RpmRecordSink& sink) {
  if (content.size() < kDbHeaderSize) {
    return Fail(At(0), ": truncated NDB header (", std::to_string(content.size()), " bytes)");
  }
  if (LoadLe32(content.data()) != kDbMagic) return Fail(At(0), ": not an NDB database");
  const uint32_t version = LoadLe32(content.data() + 4);
  if (version != 0) return Fail(At(4), ": unsupported NDB version ", std::to_string(version));
  uint64_t slot_pages = LoadLe32(content.data() + 12);
  if (slot_pages == 0) return Fail(At(12), ": no slot pages");
  if (content.size() % kBlockSize != 0) {
    sink.OnDamage(At(content.size()) + ": file size is not a multiple of 16 (truncated?)");
  }
  if (slot_pages * kPageSize > content.size()) {
    sink.OnDamage(At(12) + ": " + std::to_string(slot_pages) + " slot pages do not fit in " +
                  std::to_string(content.size()) + " bytes (truncated database)");
    slot_pages = content.size() / kPageSize;
  }
  const uint64_t total_blocks = content.size() / kBlockSize;
  const uint64_t first_blob_block = slot_pages * (kPageSize / kBlockSize);
  std::vector<Slot> slots;
  for (uint64_t at = kDbHeaderSize; at < slot_pages * kPageSize; at += kSlotSize) {
    const uint8_t* p = content.data() + at;
    if (LoadLe32(p) != kSlotMagic) {
      sink.OnDamage(At(at) + ": bad slot magic");
      continue;
    }
    Slot slot{at, LoadLe32(p + 4), LoadLe32(p + 8), LoadLe32(p + 12)};
    if (slot.blkoff == 0) continue;  // free slot
    if (slot.pkgidx == 0 || slot.blkcnt == 0 || slot.blkoff < first_blob_block) {
      sink.OnDamage(At(at) + ": bad slot (pkgidx " + std::to_string(slot.pkgidx) + " blkoff " +
                    std::to_string(slot.blkoff) + " blkcnt " + std::to_string(slot.blkcnt) + ")");
      continue;
    }
    if (static_cast<uint64_t>(slot.blkoff) + slot.blkcnt > total_blocks) {
      sink.OnDamage(At(at) + ": slot of pkgidx " + std::to_string(slot.pkgidx) +
                    " points past the end of the file (truncated database)");
      continue;
    }
    slots.push_back(slot);
  }
  // rpm lists packages in the order of their blobs in the file.
  std::sort(slots.begin(), slots.end(),
            [](const Slot& a, const Slot& b) { return a.blkoff < b.blkoff; });
  return slots;
}

Result<RpmDbRecord> ReadBlob(ByteSpan content, const Slot& slot) {
  const uint64_t start = static_cast<uint64_t>(slot.blkoff) * kBlockSize;
  const uint64_t size = static_cast<uint64_t>(slot.blkcnt) * kBlockSize;
  const std::string where = At(start) + ": blob of pkgidx " + std::to_string(slot.pkgidx);
  if (size < kBlobHeadSize + kBlobTailSize) return Fail(where, ": too few blocks");
  const uint8_t* head = content.data() + start;
  if (LoadLe32(head) != kBlobHeadMagic) return Fail(where, ": bad blob magic");
  if (LoadLe32(head + 4) != slot.pkgidx) {
    return Fail(where, ": blob names pkgidx ", std::to_string(LoadLe32(head + 4)));
  }
  const uint64_t blob_length = LoadLe32(head + 12);
  const uint64_t needed_blocks =
      (kBlobHeadSize + blob_length + kBlobTailSize + kBlockSize - 1) / kBlockSize;
  if (needed_blocks != slot.blkcnt) {
    return Fail(where, ": blob length ", std::to_string(blob_length), " does not fill ",
                std::to_string(slot.blkcnt), " blocks");
  }
  const uint8_t* tail = head + size - kBlobTailSize;
  if (LoadLe32(tail + 8) != kBlobTailMagic) return Fail(where, ": bad blob trailer magic");
  if (LoadLe32(tail + 4) != blob_length) return Fail(where, ": blob trailer length mismatch");
  const uint32_t checksum = Adler32(content.subspan(start, size - kBlobTailSize));
  if (LoadLe32(tail) != checksum) return Fail(where, ": adler32 checksum mismatch");
  return RpmDbRecord{"pkgidx " + std::to_string(slot.pkgidx), start + kBlobHeadSize,
                     content.subspan(start + kBlobHeadSize, blob_length)};
}

}  // namespace

Result<void> ReadNdbRpmDb(ByteSpan content, RpmRecordSink& sink) {
  MOAT_ASSIGN_OR_RETURN(std::vector<Slot> slots, ReadSlots(content, sink));
  for (const Slot& slot : slots) DeliverRecord(ReadBlob(content, slot), sink);
  return Ok();
}

}  // namespace moat::rpm
