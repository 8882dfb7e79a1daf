#pragma once

#include <cstddef>
#include <functional>

namespace moat {

/// Runs fn(i) for i in [0, count) on up to `threads` threads (0 = hardware concurrency) and
/// waits for all. fn must not throw.
void ParallelFor(size_t count, size_t threads, const std::function<void(size_t)>& fn);

}  // namespace moat
