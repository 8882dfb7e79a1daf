#pragma once
// The value set of an `in`, `intersects` or `pmatch` check (issue 13 "Speed"): an open-addressing
// hash set of views with the hashes kept, and a mask of the lengths it holds, so that most
// values that are not in it are refused by their length alone and the rest cost one hash (which
// the engine computes once per field value and event, however many lists the field is checked
// against) and, usually, one probe. std::unordered_set<std::string_view> compared every item of
// a small set byte by byte, which was a third of the evaluation time with Falco's rules.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moat::rules {

class StringSet {
 public:
  StringSet() = default;
  /// Views into `items`, which must outlive the set (and not move their characters).
  explicit StringSet(const std::vector<std::string>& items);

  /// The hash Contains() expects: the same for equal texts, never 0 (0 means "not computed" in
  /// the engine's per-event cache).
  static uint64_t Hash(std::string_view text);

  /// Whether the set may hold a text of `size` bytes (false: it certainly does not).
  bool MayHoldLength(size_t size) const { return (lengths_ >> (size < 63 ? size : 63)) & 1; }
  /// `hash` must be Hash(text).
  bool Contains(std::string_view text, uint64_t hash) const;
  bool Contains(std::string_view text) const {
    return MayHoldLength(text.size()) && Contains(text, Hash(text));
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Slot {
    uint64_t hash = 0;  // 0: empty
    std::string_view text;
  };
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  uint64_t lengths_ = 0;  // bit N: an item of N bytes (bit 63: 63 bytes or more)
  size_t size_ = 0;
};

}  // namespace moat::rules
