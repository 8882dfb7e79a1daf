#pragma once
// Which container a cgroup path belongs to, for the runtimes that name a cgroup after the
// container: Docker (cgroupfs and systemd drivers), containerd (Kubernetes, nerdctl, plain
// namespaces), CRI-O, podman. The patterns are those of Falco's container plugin; its test vectors
// (../shared/data/runtime/container-attribution/) pass in container_id_test.cpp.

#include <optional>
#include <string>
#include <string_view>

namespace moat::sensor {

struct ContainerRef {
  std::string runtime;  // "docker", "containerd", "cri-o", "podman"
  std::string id;       // as found in the path (64 hex digits, or a containerd name)
  /// The short form Falco prints as container.id: the first 12 characters.
  std::string ShortId() const { return id.substr(0, 12); }
};

/// The container of a cgroup path ("/docker/<id>", "/kubepods.slice/.../crio-<id>.scope"), or
/// nullopt for host cgroups.
std::optional<ContainerRef> ContainerFromCgroup(std::string_view cgroup_path);

}  // namespace moat::sensor
