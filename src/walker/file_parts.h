#pragma once
// Parts of a file, for analyzers that need only a few places of a file too large to read whole
// (an executable's headers and the one section that holds its build information).

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "core/bytes.h"

namespace moat {

struct FileRange {
  uint64_t offset = 0;
  uint64_t size = 0;
};

/// Bytes of a file starting at `offset`.
struct FilePart {
  uint64_t offset = 0;
  ByteSpan bytes;
};

/// Gathers, from a file's bytes arriving in order, the parts a planner asks for: the first
/// `head_bytes`, then whatever the planner wants given the parts so far, asked again each time
/// a part completes. A stream cannot go back: ranges that start before the bytes already passed
/// are not collected (the planner's reader then finds them missing). At most `max_bytes` are held.
class FilePartsCollector {
 public:
  using Planner = std::function<std::vector<FileRange>(const std::vector<FilePart>&)>;
  FilePartsCollector(uint64_t file_size, uint64_t head_bytes, uint64_t max_bytes, Planner planner);
  /// The file's next bytes.
  void Write(ByteSpan chunk);
  /// The complete parts, in file order.
  std::vector<FilePart> parts() const;
  /// Bytes held.
  uint64_t held_bytes() const { return held_; }

 private:
  struct Capture {
    uint64_t offset = 0;
    uint64_t size = 0;
    std::vector<uint8_t> bytes;
    bool complete() const { return bytes.size() == size; }
  };
  void Plan();
  /// Fills `capture` from the complete captures up to `until`; false when a byte is not held.
  bool FillFromHeld(Capture& capture, uint64_t until) const;

  uint64_t file_size_;
  uint64_t max_bytes_;
  Planner planner_;
  std::vector<std::unique_ptr<Capture>> captures_;
  std::set<std::pair<uint64_t, uint64_t>> asked_;
  uint64_t position_ = 0;
  uint64_t held_ = 0;
  int plans_ = 0;
};

}  // namespace moat
