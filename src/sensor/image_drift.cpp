#include "sensor/image_drift.h"

#include <algorithm>

#include "scan/image_executables.h"

namespace moat::sensor {

namespace {

// The kernel walks at most 24 steps (bpf/sensor.bpf.c PATH_COMPONENTS), path components and
// mount crossings together (a bind mount's and the root's: three at most in a container). A
// longer path comes out without its first components, which no image lists.
constexpr size_t kMaxWalkedComponents = 20;

}  // namespace

std::optional<bool> ExeFromImage(const ExecInfo& exec, const ContainerInfo& container) {
  if (!container.image_executables) return std::nullopt;
  if (exec.exe_memfd) return false;
  if (exec.exe_is_filename || exec.exe.empty() || exec.exe.front() != '/') return std::nullopt;
  if (static_cast<size_t>(std::count(exec.exe.begin(), exec.exe.end(), '/')) >
      kMaxWalkedComponents) {
    return std::nullopt;
  }
  // On an overlayfs root, a file of the image is on the overlay; one elsewhere came from a mount
  // even when it is at an image file's path (a bind mount over /usr/bin/curl).
  if (container.rootfs_overlay && !exec.exe_on_overlay) return false;
  return container.image_executables->Contains(exec.exe);
}

}  // namespace moat::sensor
