#include "walker/file_parts.h"

#include <algorithm>

namespace moat {
namespace {

// Each plan is a round trip through the analyzer's reader; a handful covers headers, a name
// table and a section (and an older layout's pointers), so more means a reader going in circles.
constexpr int kMaxPlans = 8;

}  // namespace

FilePartsCollector::FilePartsCollector(uint64_t file_size, uint64_t head_bytes, uint64_t max_bytes,
                                       Planner planner)
    : file_size_(file_size), max_bytes_(max_bytes), planner_(std::move(planner)) {
  auto head = std::make_unique<Capture>();
  head->size = std::min({head_bytes, file_size, max_bytes});
  head->bytes.reserve(head->size);
  held_ = head->size;
  asked_.emplace(0, head->size);
  captures_.push_back(std::move(head));
  if (captures_.front()->complete()) Plan();  // an empty file
}

void FilePartsCollector::Write(ByteSpan chunk) {
  while (!chunk.empty()) {
    // Feed up to the end of the first part that completes within this chunk and plan there, so
    // that ranges asked for then may still lie in the rest of the chunk.
    uint64_t stop = position_ + chunk.size();
    for (const auto& capture : captures_) {
      const uint64_t end = capture->offset + capture->size;
      if (!capture->complete() && end > position_ && end < stop) stop = end;
    }
    const uint64_t start = position_;
    bool completed = false;
    for (auto& capture : captures_) {
      if (capture->complete()) continue;
      const uint64_t from = std::max(start, capture->offset + capture->bytes.size());
      const uint64_t to = std::min(stop, capture->offset + capture->size);
      if (from >= to) continue;
      const uint8_t* begin = chunk.data() + (from - start);
      capture->bytes.insert(capture->bytes.end(), begin, begin + (to - from));
      completed = completed || capture->complete();
    }
    position_ = stop;
    chunk = chunk.subspan(static_cast<size_t>(stop - start));
    if (completed) Plan();
  }
}

void FilePartsCollector::Plan() {
  // Wait for every part asked for so far: the reader's next question depends on all of them.
  for (const auto& capture : captures_) {
    if (!capture->complete()) return;
  }
  while (plans_ < kMaxPlans) {
    ++plans_;
    bool added = false;
    bool waiting = false;
    for (FileRange range : planner_(parts())) {
      if (range.offset >= file_size_ || range.size == 0) continue;
      range.size = std::min(range.size, file_size_ - range.offset);
      if (!asked_.emplace(range.offset, range.size).second) continue;
      if (held_ + range.size > max_bytes_) continue;
      auto capture = std::make_unique<Capture>();
      capture->offset = range.offset;
      capture->size = range.size;
      capture->bytes.reserve(range.size);
      // The stream cannot go back: what has passed must be in the parts already held.
      if (range.offset < position_ &&
          !FillFromHeld(*capture, std::min(position_, range.offset + range.size))) {
        continue;
      }
      held_ += range.size;
      waiting = waiting || !capture->complete();
      captures_.push_back(std::move(capture));
      added = true;
    }
    std::sort(captures_.begin(), captures_.end(),
              [](const auto& a, const auto& b) { return a->offset < b->offset; });
    if (!added || waiting) return;
  }
}

bool FilePartsCollector::FillFromHeld(Capture& capture, uint64_t until) const {
  uint64_t at = capture.offset;
  while (at < until) {
    const Capture* holder = nullptr;
    for (const auto& held : captures_) {
      if (held->complete() && held->offset <= at && at < held->offset + held->size) {
        holder = held.get();
        break;
      }
    }
    if (holder == nullptr) return false;
    const uint64_t stop = std::min(until, holder->offset + holder->size);
    const auto begin = holder->bytes.begin() + static_cast<std::ptrdiff_t>(at - holder->offset);
    capture.bytes.insert(capture.bytes.end(), begin,
                         begin + static_cast<std::ptrdiff_t>(stop - at));
    at = stop;
  }
  return true;
}

std::vector<FilePart> FilePartsCollector::parts() const {
  std::vector<FilePart> out;
  for (const auto& capture : captures_) {
    if (capture->complete() && capture->size > 0) {
      out.push_back({capture->offset, ByteSpan(capture->bytes.data(), capture->bytes.size())});
    }
  }
  return out;
}

}  // namespace moat
