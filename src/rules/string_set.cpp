#include "rules/string_set.h"

#include <cstring>

namespace moat::rules {

namespace {

uint64_t Mix(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kMultiplier = 0xbf58476d1ce4e5b9ull;
constexpr uint64_t kFinal = 0x94d049bb133111ebull;

}  // namespace

// Eight bytes per multiply (wyhash's folded 128-bit product): the values are process names,
// paths and addresses of a few to a few hundred bytes.
uint64_t StringSet::Hash(std::string_view text) {
  uint64_t hash = kSeed ^ text.size();
  const char* data = text.data();
  size_t left = text.size();
  while (left >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    hash = Mix(hash ^ word, kMultiplier);
    data += 8;
    left -= 8;
  }
  if (left > 0) {
    uint64_t word = 0;
    std::memcpy(&word, data, left);
    hash = Mix(hash ^ word, kMultiplier);
  }
  hash = Mix(hash, kFinal);
  return hash == 0 ? 1 : hash;
}

StringSet::StringSet(const std::vector<std::string>& items) {
  size_t capacity = 8;
  while (capacity < items.size() * 2) capacity *= 2;  // at most half full: short probes
  slots_.resize(capacity);
  mask_ = capacity - 1;
  for (const std::string& item : items) {
    const uint64_t hash = Hash(item);
    size_t at = hash & mask_;
    bool present = false;
    while (slots_[at].hash != 0) {
      if (slots_[at].hash == hash && slots_[at].text == item) {
        present = true;
        break;
      }
      at = (at + 1) & mask_;
    }
    if (present) continue;
    slots_[at] = {hash, item};
    lengths_ |= uint64_t{1} << (item.size() < 63 ? item.size() : 63);
    ++size_;
  }
}

bool StringSet::Contains(std::string_view text, uint64_t hash) const {
  if (size_ == 0) return false;
  for (size_t at = hash & mask_;; at = (at + 1) & mask_) {
    const Slot& slot = slots_[at];
    if (slot.hash == 0) return false;
    if (slot.hash == hash && slot.text == text) return true;
  }
}

}  // namespace moat::rules
