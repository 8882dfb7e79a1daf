#include "sensor/container_id.h"

#include <vector>

#include "core/text.h"

namespace moat::sensor {

namespace {

bool IsHex64(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsSystemdUnitName(std::string_view text) {
  return text.ends_with(".service") || text.ends_with(".slice") || text.ends_with(".scope");
}

// containerd's namespace and container names: a letter or digit, then letters, digits, '_', '.'
// and '-'.
bool IsContainerdName(std::string_view text) {
  if (text.empty()) return false;
  auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  if (!alnum(text[0])) return false;
  for (char c : text) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// "<prefix><64 hex>" or "<prefix><64 hex>.scope": the systemd cgroup driver's scope units.
struct ScopePrefix {
  std::string_view prefix;
  std::string_view runtime;
};
constexpr ScopePrefix kScopePrefixes[] = {
    {"docker-", "docker"},
    {"crio-", "cri-o"},
    {"libpod-payload-", "podman"},  // podman's --cgroups=split: the payload under the service
    {"libpod-", "podman"},
    {"nerdctl-", "containerd"},
    {"cri-containerd-", "containerd"},
};

// The cgroupfs-driver form kubelet builds for the systemd slice name: "...slice:<runtime>:<id>".
constexpr ScopePrefix kColonRuntimes[] = {
    {":cri-containerd:", "containerd"},
    {":crio:", "cri-o"},
    {":docker:", "docker"},
};

}  // namespace

std::optional<ContainerRef> ContainerFromCgroup(std::string_view cgroup_path) {
  std::vector<std::string_view> parts;
  for (std::string_view part : Split(cgroup_path, '/')) {
    if (!part.empty()) parts.push_back(part);
  }
  if (parts.empty()) return std::nullopt;
  std::string_view last = parts.back();

  for (const auto& [prefix, runtime] : kScopePrefixes) {
    if (last.substr(0, prefix.size()) != prefix) continue;
    std::string_view id = last.substr(prefix.size());
    if (id.ends_with(".scope")) id.remove_suffix(6);
    if (IsHex64(id)) return ContainerRef{std::string(runtime), std::string(id)};
  }
  for (const auto& [marker, runtime] : kColonRuntimes) {
    size_t at = last.find(marker);
    if (at == std::string_view::npos) continue;
    std::string_view id = last.substr(at + marker.size());
    if (IsHex64(id)) return ContainerRef{std::string(runtime), std::string(id)};
  }
  if (IsHex64(last) && parts.size() >= 2) {
    std::string_view parent = parts[parts.size() - 2];
    // cgroupfs driver: /docker/<id> (possibly below a parent cgroup), and kubelet's
    // /kubepods/<qos>/pod<uid>/<id>.
    if (parent == "docker") return ContainerRef{"docker", std::string(last)};
    if (parent.substr(0, 3) == "pod") return ContainerRef{"containerd", std::string(last)};
  }
  // containerd without Kubernetes: /<namespace>/<container name>, which is also the shape of
  // systemd's /system.slice/foo.service: unit names are not containers.
  if (parts.size() == 2 && IsContainerdName(parts[0]) && IsContainerdName(parts[1]) &&
      !IsSystemdUnitName(parts[0]) && !IsSystemdUnitName(parts[1])) {
    return ContainerRef{"containerd", std::string(parts[1])};
  }
  return std::nullopt;
}

}  // namespace moat::sensor
