#pragma once
// Byte spans and the push-based byte sink every stream in Moat is built on: files, HTTP bodies
// (curl pushes), nested tar entries and decompressors all push chunks into a ByteSink.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat {

using ByteSpan = std::span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}
inline std::string_view AsText(ByteSpan bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// Receives a stream chunk by chunk. Write may be called any number of times, then Close once.
/// An error from Write or Close stops the stream; the producer reports it.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Result<void> Write(ByteSpan chunk) = 0;
  virtual Result<void> Close() = 0;
};

/// Reads a whole file into memory (for small metadata files: configs, manifests).
Result<std::string> ReadFileToString(const std::string& path, uint64_t max_bytes = 1ull << 30);

/// Pushes a file's bytes into a sink in large chunks, then closes the sink.
Result<void> StreamFileToSink(const std::string& path, ByteSink& sink, uint64_t offset = 0,
                              uint64_t length = UINT64_MAX);

/// Writes text to a file, or to stdout when path is empty or "-".
Result<void> WriteOutput(const std::string& path, std::string_view text);

/// Streams a report to a file, or to stdout when path is empty or "-": `write` gets a buffered
/// stream, so a large report goes out as it is produced instead of being built as one string.
/// An error from `write` is returned as is; a failed write or close names the file.
Result<void> WriteOutputStream(const std::string& path,
                               const std::function<Result<void>(std::ostream&)>& write);

}  // namespace moat
