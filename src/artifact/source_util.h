#pragma once
// Helpers shared by the image sources (internal to src/artifact).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "core/sha256.h"

namespace moat {

/// Forwards bytes to `next` (which it never closes) while hashing and counting them, so a blob
/// can be verified against its digest before the consumer's sink is closed.
class DigestingSink : public ByteSink {
 public:
  explicit DigestingSink(ByteSink& next) : next_(next) {}
  Result<void> Write(ByteSpan chunk) override {
    hash_.Update(chunk);
    bytes_ += chunk.size();
    return next_.Write(chunk);
  }
  Result<void> Close() override { return Ok(); }
  uint64_t bytes() const { return bytes_; }
  /// Call once, after the last Write.
  std::string Digest() { return hash_.OciDigest(); }

 private:
  ByteSink& next_;
  Sha256 hash_;
  uint64_t bytes_ = 0;
};

std::string Base64Encode(std::string_view data);
/// Errors on characters outside the standard alphabet (padding optional).
Result<std::string> Base64Decode(std::string_view text);

/// Runs job(i) for i in [0, count) on up to `threads` threads (0 = one per core); once a job fails
/// the jobs not yet started are skipped. Returns the first error.
Result<void> RunJobs(size_t count, size_t threads, const std::function<Result<void>(size_t)>& job);

}  // namespace moat
