#pragma once
// The sensor's events in user space: what one ring-buffer record says once decoded (Event), and
// the process and container it concerns once enriched (ProcessInfo, ContainerInfo). Value types
// only; the decoder is decoder.h, the JSON form event_json.h.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat {
class ImageExecutables;  // scan/image_executables.h
}  // namespace moat

namespace moat::sensor {

/// Mirrors moat_event_type of bpf/event_abi.h.
enum class EventType : uint16_t {
  kExec = 1,
  kFork,
  kExit,
  kOpen,
  kConnect,
  kAccept,
  kBind,
  kListen,
  kSocket,
  kRename,
  kUnlink,
  kLink,
  kSymlink,
  kChmod,
  kTruncate,
  kPtrace,
  kSetuid,
  kSetgid,
  kCapset,
  kSetns,
  kUnshare,
  kCloneNamespaces,
  kMount,
  kUmount,
  kMemfdCreate,
  kBpf,
  kModuleLoad,
  kDnsQuery,
  kMmapExec,  // a file mapped executable: reported once per file and mount namespace
};

/// The event's name in output ("execve", "open", "connect", ...; Falco's evt.type where one
/// exists).
std::string_view EventTypeName(EventType type);

/// A socket end as reported: inet addresses in text form, unix sockets by path ("@name" for
/// abstract ones).
struct SocketAddress {
  std::string family;  // "ipv4", "ipv6", "unix", or "af<N>"
  std::string address;
  uint16_t port = 0;
  bool operator==(const SocketAddress&) const = default;
};

/// What an exec tells about the new program (and what /proc tells about processes that were
/// running when the sensor started).
struct ExecInfo {
  std::string filename;  // as passed to execve
  std::string exe;       // the executable's path (walked in the kernel)
  /// The kernel's walk gave no path, so `exe` is `filename` as passed to execve: perhaps
  /// relative ("./tool"), perhaps a symbolic link ("/bin/sh").
  bool exe_is_filename = false;
  std::vector<std::string> argv;
  std::string cwd;
  std::string tty;  // e.g. "pts3"; empty without a controlling terminal
  uint32_t ppid = 0;
  uint32_t euid = 0;
  uint32_t egid = 0;
  uint32_t loginuid = UINT32_MAX;  // UINT32_MAX: not set (-1 in Falco's user.loginuid)
  uint64_t cap_effective = 0;
  uint64_t cap_permitted = 0;
  uint64_t cap_inheritable = 0;
  uint64_t exe_inode = 0;
  bool exe_on_overlay = false;
  bool exe_upper_layer = false;  // on the container's writable layer: not from the image
  bool exe_memfd = false;
  std::string cgroup;  // the cgroup path the container id comes from
  /// Whether `exe` is one of the container image's executables (proc.is_exe_from_image): set by
  /// the pipeline once the image's inventory is known, unset while it is not (or on the host).
  std::optional<bool> exe_from_image;
};

/// One event as decoded from a ring-buffer record. Which of the optional parts are set depends on
/// the type (docs/sensor.md lists them).
struct Event {
  EventType type = EventType::kExec;
  std::string syscall;   // the system call behind it ("openat", "sendmmsg"); empty for sched events
  uint64_t boot_ns = 0;  // CLOCK_BOOTTIME of the kernel's record
  uint32_t pid = 0;      // thread group id
  uint32_t tid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t ret = 0;
  std::string comm;

  std::optional<ExecInfo> exec;  // kExec
  std::string path;              // the file (open, unlink, chmod, truncate, mount target, ...)
  std::string path2;             // second path: rename's and link's new name, mount's source
  std::optional<SocketAddress> local;
  std::optional<SocketAddress> remote;
  /// Numeric arguments by name (flags, mode, fd, request, nstype, cmd, ...), in output order.
  std::vector<std::pair<std::string, int64_t>> numbers;
  /// Text arguments by name (fstype, memfd name, module parameters, DNS name).
  std::vector<std::pair<std::string, std::string>> texts;

  std::optional<int64_t> Number(std::string_view name) const;
  const std::string* Text(std::string_view name) const;
};

/// A process as the tree keeps it.
struct ProcessInfo {
  uint32_t pid = 0;
  uint32_t ppid = 0;
  std::string comm;
  ExecInfo exec;
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool exited = false;
  uint64_t exit_boot_ns = 0;
  std::string container_id;  // full id ("" on the host)
  /// cmdline as Falco prints proc.cmdline: the name and the arguments, space separated.
  std::string Cmdline() const;
};

/// Container metadata from the runtime.
struct ContainerInfo {
  std::string id;       // full id
  std::string runtime;  // "docker", "containerd", "cri-o", "podman"
  std::string name;
  std::string image;         // as the container was created from ("debian:12")
  std::string image_id;      // sha256:... config digest
  std::string image_digest;  // repository digest (name@sha256:...) when known, else image_id
  std::map<std::string, std::string> labels;
  bool privileged = false;  // HostConfig.Privileged: every capability and the host's devices
  /// The host paths bound into the container (bind mounts' sources: a volume of the node's
  /// "/", "/etc" or the runtime's socket), in the runtime's order.
  std::vector<std::string> host_mounts;
  /// The image's layer diff IDs, bottom first (the engine's RootFS.Layers).
  std::vector<std::string> image_layers;
  /// The root filesystem is an overlayfs mount (GraphDriver overlay2): every file of the image
  /// is on it, so a program that is not ran from a mount (a volume, a bind mount, a tmpfs).
  bool rootfs_overlay = false;
  /// The image's executables from the scanner's layer cache; null while unknown (no cache, or
  /// a layer the cache does not hold).
  std::shared_ptr<const ImageExecutables> image_executables;
  bool resolved = false;  // the runtime answered
  std::string Label(const std::string& key) const;
};

}  // namespace moat::sensor
