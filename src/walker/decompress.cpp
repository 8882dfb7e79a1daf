// DecompressingSink: gzip through ISA-L igzip (several times faster than zlib), zstd through
// libzstd's streaming API, anything else passed through without copying.

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/sha256.h"
#include "walker/tar_stream.h"

namespace moat {

namespace {

constexpr size_t kOutputBufferSize = 512 * 1024;
constexpr std::array<uint8_t, 2> kGzipMagic = {0x1f, 0x8b};
constexpr std::array<uint8_t, 4> kZstdMagic = {0x28, 0xb5, 0x2f, 0xfd};
// Enough leading bytes to tell every format apart.
constexpr size_t kMagicBytes = 4;
constexpr size_t kCoalesceBelow = 64 * 1024;

const char* IsalErrorText(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK:
      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "invalid lookback distance";
    case ISAL_INVALID_WRAPPER:
      return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
      return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
      return "checksum mismatch";
    default:
      return "inflate error";
  }
}

}  // namespace

struct DecompressingSink::Impl {
  Impl(ByteSink& n, std::string name, uint64_t max_output)
      : next(n), input_name(std::move(name)), max_output_bytes(max_output) {}
  ~Impl() {
    if (zstd != nullptr) ZSTD_freeDStream(zstd);
  }

  ByteSink& next;
  std::string input_name;
  uint64_t max_output_bytes;

  bool detected = false;
  Compression compression = Compression::kNone;
  std::array<uint8_t, kMagicBytes> magic{};
  size_t magic_fill = 0;

  uint64_t input_bytes = 0;
  uint64_t output_bytes = 0;
  Sha256 input_hash;
  Sha256 plain_hash;
  std::string input_digest;
  std::string plain_digest;
  bool closed = false;
  std::optional<Error> failure;

  std::vector<uint8_t> output;
  std::vector<uint8_t> pending_input;

  // gzip
  std::unique_ptr<inflate_state> inflate;
  enum class GzipPhase { kBetweenMembers, kHeader, kBody };
  enum class GzipHeaderStep { kFixed, kExtraLength, kExtra, kName, kComment, kHeaderCrc };
  GzipPhase gzip_phase = GzipPhase::kBetweenMembers;
  GzipHeaderStep gzip_header_step = GzipHeaderStep::kFixed;
  std::array<uint8_t, 10> gzip_fixed{};
  size_t gzip_header_fill = 0;
  uint8_t gzip_flags = 0;
  uint32_t gzip_extra_remaining = 0;

  // zstd
  ZSTD_DStream* zstd = nullptr;
  size_t zstd_last_result = 0;  // 0 once a frame is complete and flushed

  Result<void> Emit(const uint8_t* data, size_t size) {
    if (size == 0) return Ok();
    output_bytes += size;
    if (output_bytes > max_output_bytes) {
      return Fail(input_name, ": layer expands past ", std::to_string(max_output_bytes),
                  " bytes (decompression bomb?)");
    }
    // For passthrough the plain bytes are the input bytes, hashed once in Write.
    if (compression != Compression::kNone) plain_hash.Update(ByteSpan(data, size));
    return next.Write(ByteSpan(data, size));
  }

  Result<void> Detect() {
    detected = true;
    if (magic_fill >= kGzipMagic.size() &&
        std::equal(kGzipMagic.begin(), kGzipMagic.end(), magic.begin())) {
      compression = Compression::kGzip;
      inflate = std::make_unique<inflate_state>();
      isal_inflate_init(inflate.get());
      output.resize(kOutputBufferSize);
    } else if (magic_fill >= kZstdMagic.size() &&
               std::equal(kZstdMagic.begin(), kZstdMagic.end(), magic.begin())) {
      compression = Compression::kZstd;
      zstd = ZSTD_createDStream();
      if (zstd == nullptr) return Fail(input_name, ": out of memory for zstd");
      ZSTD_initDStream(zstd);
      output.resize(kOutputBufferSize);
    }
    return Feed(magic.data(), magic_fill);
  }

  Result<void> Feed(const uint8_t* data, size_t size) {
    if (compression == Compression::kNone) return Emit(data, size);
    // Tiny writes are gathered first: each decoder call has a fixed cost (ISA-L moves its 32 KiB
    // history window per call), which would dominate when a producer pushes a few bytes at a time.
    if (!pending_input.empty() || size < kCoalesceBelow) {
      pending_input.insert(pending_input.end(), data, data + size);
      if (pending_input.size() < kCoalesceBelow) return Ok();
      return FlushPendingInput();
    }
    return Decode(data, size);
  }

  Result<void> FlushPendingInput() {
    if (pending_input.empty()) return Ok();
    std::vector<uint8_t> batch;
    batch.swap(pending_input);
    auto result = Decode(batch.data(), batch.size());
    batch.clear();
    pending_input.swap(batch);  // keep the capacity
    return result;
  }

  /// Offsets in error messages assume data ends at input_bytes (the newest input).
  Result<void> Decode(const uint8_t* data, size_t size) {
    switch (compression) {
      case Compression::kNone:
        return Emit(data, size);
      case Compression::kGzip:
        return FeedGzip(data, size);
      case Compression::kZstd:
        return FeedZstd(data, size);
    }
    return Ok();
  }

  Result<void> FeedGzip(const uint8_t* data, size_t size) {
    // Offset of data[0] in the compressed stream, for error messages.
    uint64_t base_offset = input_bytes - size;
    // isal counts input in 32 bits.
    constexpr size_t kMaxSlice = size_t{1} << 30;
    while (size > kMaxSlice) {
      MOAT_TRY(FeedGzipSlice(data, kMaxSlice, base_offset));
      data += kMaxSlice;
      size -= kMaxSlice;
      base_offset += kMaxSlice;
    }
    return FeedGzipSlice(data, size, base_offset);
  }

  /// Consumes gzip member header bytes (RFC 1952) from the inflate input. ISA-L 2.30 misreads
  /// the header flags when the header is split across calls, so the header is parsed here and
  /// ISA-L only inflates the deflate body and verifies the CRC32/ISIZE trailer.
  Result<bool> ConsumeGzipHeader(uint64_t base_offset, size_t slice_size) {
    auto take_byte = [&]() {
      uint8_t byte = *inflate->next_in;
      ++inflate->next_in;
      --inflate->avail_in;
      return byte;
    };
    while (inflate->avail_in > 0) {
      switch (gzip_header_step) {
        case GzipHeaderStep::kFixed: {
          uint8_t byte = take_byte();
          gzip_fixed[gzip_header_fill++] = byte;
          if (gzip_header_fill < gzip_fixed.size()) break;
          uint8_t flags = gzip_fixed[3];
          if (gzip_fixed[0] != 0x1f || gzip_fixed[1] != 0x8b || gzip_fixed[2] != 8 ||
              (flags & 0xe0) != 0) {
            uint64_t at = base_offset + (slice_size - inflate->avail_in) - gzip_fixed.size();
            return Fail(input_name, ": corrupt gzip data near compressed offset ",
                        std::to_string(at), ": invalid gzip member header");
          }
          gzip_flags = flags;
          gzip_header_fill = 0;
          gzip_header_step = GzipHeaderStep::kExtraLength;
          break;
        }
        case GzipHeaderStep::kExtraLength:
          if ((gzip_flags & 0x04) == 0) {
            gzip_header_step = GzipHeaderStep::kName;
            break;
          }
          gzip_extra_remaining |= static_cast<uint32_t>(take_byte()) << (8 * gzip_header_fill);
          if (++gzip_header_fill == 2) gzip_header_step = GzipHeaderStep::kExtra;
          break;
        case GzipHeaderStep::kExtra:
          if (gzip_extra_remaining == 0) {
            gzip_header_step = GzipHeaderStep::kName;
            break;
          }
          take_byte();
          --gzip_extra_remaining;
          break;
        case GzipHeaderStep::kName:
          if ((gzip_flags & 0x08) == 0 || take_byte() == 0) {
            gzip_header_step = GzipHeaderStep::kComment;
          }
          break;
        case GzipHeaderStep::kComment:
          if ((gzip_flags & 0x10) == 0 || take_byte() == 0) {
            gzip_header_fill = 0;
            gzip_header_step = GzipHeaderStep::kHeaderCrc;
          }
          break;
        case GzipHeaderStep::kHeaderCrc:
          if ((gzip_flags & 0x02) == 0) return true;
          take_byte();
          if (++gzip_header_fill == 2) return true;
          break;
      }
    }
    // The optional trailing fields may complete without more input.
    if (gzip_header_step == GzipHeaderStep::kHeaderCrc && (gzip_flags & 0x02) == 0) return true;
    return false;
  }

  Result<void> FeedGzipSlice(const uint8_t* data, size_t size, uint64_t base_offset) {
    inflate->next_in = const_cast<uint8_t*>(data);
    inflate->avail_in = static_cast<uint32_t>(size);
    while (true) {
      if (gzip_phase == GzipPhase::kBetweenMembers) {
        // gzip(1) ignores zero padding after the last member.
        while (inflate->avail_in > 0 && *inflate->next_in == 0) {
          ++inflate->next_in;
          --inflate->avail_in;
        }
        if (inflate->avail_in == 0) return Ok();
        gzip_phase = GzipPhase::kHeader;
        gzip_header_step = GzipHeaderStep::kFixed;
        gzip_header_fill = 0;
        gzip_extra_remaining = 0;
      }
      if (gzip_phase == GzipPhase::kHeader) {
        MOAT_ASSIGN_OR_RETURN(bool header_done, ConsumeGzipHeader(base_offset, size));
        if (!header_done) return Ok();
        isal_inflate_reset(inflate.get());
        inflate->crc_flag = ISAL_GZIP_NO_HDR_VER;
        gzip_phase = GzipPhase::kBody;
      }
      uint32_t avail_in_before = inflate->avail_in;
      inflate->next_out = output.data();
      inflate->avail_out = static_cast<uint32_t>(output.size());
      int code = isal_inflate(inflate.get());
      size_t produced = output.size() - inflate->avail_out;
      if (code < 0) {
        uint64_t at = base_offset + (size - inflate->avail_in);
        return Fail(input_name, ": corrupt gzip data near compressed offset ", std::to_string(at),
                    ": ", IsalErrorText(code));
      }
      MOAT_TRY(Emit(output.data(), produced));
      if (inflate->block_state == ISAL_BLOCK_FINISH) {
        gzip_phase = GzipPhase::kBetweenMembers;
        continue;  // a further member may follow in the remaining input
      }
      if (inflate->avail_in == 0 && (inflate->avail_out > 0 || produced == 0)) return Ok();
      if (produced == 0 && inflate->avail_in == avail_in_before) {
        return Fail(input_name, ": gzip stream stalled at compressed offset ",
                    std::to_string(base_offset + (size - inflate->avail_in)));
      }
    }
  }

  Result<void> FeedZstd(const uint8_t* data, size_t size) {
    uint64_t base_offset = input_bytes - size;
    ZSTD_inBuffer in{data, size, 0};
    while (true) {
      ZSTD_outBuffer out{output.data(), output.size(), 0};
      size_t in_before = in.pos;
      size_t result = ZSTD_decompressStream(zstd, &out, &in);
      if (ZSTD_isError(result)) {
        return Fail(input_name, ": corrupt zstd data near compressed offset ",
                    std::to_string(base_offset + in.pos), ": ", ZSTD_getErrorName(result));
      }
      MOAT_TRY(Emit(output.data(), out.pos));
      if (out.pos == 0 && in.pos == in_before) {
        // Nothing left to flush. The result of a call without progress says nothing about
        // whether the last frame was complete, so zstd_last_result keeps the previous one.
        if (in.pos == in.size) return Ok();
        return Fail(input_name, ": zstd stream stalled at compressed offset ",
                    std::to_string(base_offset + in.pos));
      }
      zstd_last_result = result;
      if (in.pos == in.size && (out.pos < out.size || result == 0)) return Ok();
    }
  }

  Result<void> Finish() {
    MOAT_TRY(FlushPendingInput());
    switch (compression) {
      case Compression::kNone:
        return Ok();
      case Compression::kGzip:
        if (gzip_phase != GzipPhase::kBetweenMembers) {
          return Fail(input_name, ": gzip stream truncated after ", std::to_string(input_bytes),
                      " compressed bytes");
        }
        return Ok();
      case Compression::kZstd:
        if (zstd_last_result != 0) {
          return Fail(input_name, ": zstd stream truncated after ", std::to_string(input_bytes),
                      " compressed bytes");
        }
        return Ok();
    }
    return Ok();
  }

  Result<void> Write(ByteSpan chunk) {
    if (closed) return Fail(input_name, ": written after Close");
    input_bytes += chunk.size();
    input_hash.Update(chunk);
    const uint8_t* data = chunk.data();
    size_t size = chunk.size();
    if (!detected) {
      size_t take = std::min(size, kMagicBytes - magic_fill);
      std::memcpy(magic.data() + magic_fill, data, take);
      magic_fill += take;
      data += take;
      size -= take;
      if (magic_fill < kMagicBytes) return Ok();
      // Detect() feeds the magic bytes themselves; they count as input before the rest.
      input_bytes -= size;
      MOAT_TRY(Detect());
      input_bytes += size;
    }
    if (size == 0) return Ok();
    return Feed(data, size);
  }

  Result<void> Close() {
    if (closed) return Ok();
    closed = true;
    if (!detected) {
      if (input_bytes == 0) {
        // An empty stream is an empty passthrough.
        detected = true;
      } else {
        MOAT_TRY(Detect());
      }
    }
    MOAT_TRY(Finish());
    input_digest = input_hash.OciDigest();
    plain_digest = compression == Compression::kNone ? input_digest : plain_hash.OciDigest();
    return next.Close();
  }
};

DecompressingSink::DecompressingSink(ByteSink& next, std::string input_name,
                                     uint64_t max_output_bytes)
    : impl_(std::make_unique<Impl>(next, std::move(input_name), max_output_bytes)) {}

DecompressingSink::~DecompressingSink() = default;

Result<void> DecompressingSink::Write(ByteSpan chunk) {
  if (impl_->failure) return *impl_->failure;
  auto result = impl_->Write(chunk);
  if (!result.ok()) impl_->failure = result.error();
  return result;
}

Result<void> DecompressingSink::Close() {
  if (impl_->failure) return *impl_->failure;
  auto result = impl_->Close();
  if (!result.ok()) impl_->failure = result.error();
  return result;
}

Compression DecompressingSink::compression() const { return impl_->compression; }
std::string DecompressingSink::plain_digest() const { return impl_->plain_digest; }
std::string DecompressingSink::input_digest() const { return impl_->input_digest; }
uint64_t DecompressingSink::plain_bytes() const { return impl_->output_bytes; }

}  // namespace moat
