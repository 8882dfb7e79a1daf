// libFuzzer target for the layer walker: DecompressingSink (gzip/zstd/plain) feeding
// TarStreamParser, with the input split into chunks of fuzzer-chosen sizes so every state of
// both push parsers is reached at every split point.

#include <cstddef>
#include <cstdint>
#include <string>

#include "walker/tar_stream.h"

namespace {

class HashingVisitor : public moat::TarVisitor {
 public:
  moat::Result<bool> OnEntry(const moat::TarEntry& entry) override {
    // Exercise both paths: some content forwarded, some skipped.
    bool want = entry.type == moat::TarEntry::Type::kFile && (entry.path.size() % 2 == 0);
    remaining_ = want ? entry.size : 0;
    return want;
  }
  moat::Result<void> OnData(moat::ByteSpan chunk) override {
    if (chunk.size() > remaining_) return moat::Fail("more content than the entry size");
    remaining_ -= chunk.size();
    for (uint8_t byte : chunk) checksum_ += byte;
    return moat::Ok();
  }
  moat::Result<void> OnEntryEnd() override {
    if (remaining_ != 0) return moat::Fail("entry ended early");
    return moat::Ok();
  }

 private:
  uint64_t remaining_ = 0;
  uint64_t checksum_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first two bytes choose the chunk-size pattern; the rest is the layer.
  uint32_t seed = data[0] | (static_cast<uint32_t>(data[1]) << 8);
  data += 2;
  size -= 2;

  HashingVisitor visitor;
  moat::TarLimits limits;
  limits.max_entry_header_bytes = 64 * 1024;
  moat::TarStreamParser tar(visitor, "fuzz-layer", limits);
  moat::DecompressingSink sink(tar, "fuzz-layer", /*max_output_bytes=*/64ull << 20);

  size_t position = 0;
  while (position < size) {
    seed = seed * 1103515245u + 12345u;
    size_t chunk = 1 + (seed >> 16) % 4096;
    if ((seed & 0x7) == 0) chunk = 1;
    if (chunk > size - position) chunk = size - position;
    if (!sink.Write(moat::ByteSpan(data + position, chunk)).ok()) return 0;
    position += chunk;
  }
  (void)sink.Close();
  return 0;
}
