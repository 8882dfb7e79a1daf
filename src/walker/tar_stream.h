#pragma once
// Push-based streaming tar reader and decompression, so layers are never extracted to disk and
// never held whole in memory: bytes arrive in chunks (from a file, an HTTP body, or an entry of an
// outer tar) and entries are reported as soon as their header is complete.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace moat {

struct TarEntry {
  enum class Type { kFile, kDirectory, kSymlink, kHardlink, kOther };
  /// Normalized: relative, no leading "/" or "./", no trailing "/", "." segments removed.
  /// Entries whose path escapes the root ("..") or is absolute are rejected with an Error.
  std::string path;
  Type type = Type::kFile;
  uint32_t mode = 0;
  uint64_t size = 0;
  std::string link_target;
};

/// The entry type a ustar/GNU type flag names ('0', '\0' and '7' are regular files).
TarEntry::Type TarEntryTypeForFlag(char type_flag);

class TarVisitor {
 public:
  virtual ~TarVisitor() = default;
  /// Return true to receive the entry's content through OnData (files only).
  virtual Result<bool> OnEntry(const TarEntry& entry) = 0;
  virtual Result<void> OnData(ByteSpan chunk) = 0;
  /// Called after the last OnData of an entry whose content was requested.
  virtual Result<void> OnEntryEnd() = 0;
};

struct TarLimits {
  uint64_t max_entry_header_bytes = 1 << 20;  // pax/GNU long name records
};

/// Parses ustar, GNU (long names/links, sparse rejected as kOther) and pax (path, linkpath, size).
/// Feed() may be called with chunks of any size, including 1 byte.
class TarStreamParser : public ByteSink {
 public:
  TarStreamParser(TarVisitor& visitor, std::string input_name, TarLimits limits = {});
  ~TarStreamParser() override;
  Result<void> Write(ByteSpan chunk) override;
  /// Errors if the archive ended inside an entry (truncated). A missing end-of-archive
  /// marker after a complete entry is accepted, as GNU tar does.
  Result<void> Close() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class Compression { kNone, kGzip, kZstd };

/// Detects the compression from the first bytes (magic numbers), decompresses, and pushes the
/// plain bytes to `next`. Stops with an Error once more than max_output_bytes come out
/// (decompression bombs). Computes the sha256 of the plain bytes (the layer diff ID) and of
/// the input bytes (the blob digest).
class DecompressingSink : public ByteSink {
 public:
  DecompressingSink(ByteSink& next, std::string input_name, uint64_t max_output_bytes);
  ~DecompressingSink() override;
  Result<void> Write(ByteSpan chunk) override;
  /// Finishes decompression (errors on a truncated stream), then closes `next`.
  Result<void> Close() override;
  Compression compression() const;
  /// Valid after Close: "sha256:<hex>".
  std::string plain_digest() const;
  std::string input_digest() const;
  uint64_t plain_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Whiteouts (OCI image spec): ".wh.NAME" deletes NAME in lower layers; ".wh..wh..opq" in a
/// directory hides everything below that directory from lower layers.
bool IsWhiteout(std::string_view path);
bool IsOpaqueWhiteout(std::string_view path);
/// For ".../.wh.NAME" returns ".../NAME"; for an opaque marker returns its directory.
std::string WhiteoutTarget(std::string_view path);

}  // namespace moat
