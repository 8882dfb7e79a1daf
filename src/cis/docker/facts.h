#pragma once
// What `moat bench docker` knows about a Docker host: Engine API documents parsed into plain
// structs, the daemon's effective configuration, and host files. Collected once (collect.cpp),
// then every CIS check evaluates over it without further I/O, except file metadata (HostFs).

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::cis::docker {

struct MountInfo {
  std::string type;  // bind, volume, tmpfs, npipe
  std::string source;
  std::string destination;
  std::string mode;
  std::string propagation;
  bool rw = true;
};

struct PortInfo {
  std::string container_port;  // "80/tcp"
  std::string host_ip;         // "" or "0.0.0.0" = every interface
  std::string host_port;
};

struct ExecInfo {
  std::string id;
  bool privileged = false;
  std::string user;
  std::string command;
  bool running = false;
};

struct ContainerInfo {
  std::string id;
  std::string name;       // without the leading '/'
  std::string image_ref;  // Config.Image as the user gave it
  std::string image_id;
  std::string status;  // State.Status
  bool running = false;
  int64_t pid = 0;   // State.Pid: the init process on the host
  std::string user;  // Config.User
  std::string apparmor_profile;
  std::string process_label;
  bool privileged = false;
  bool readonly_rootfs = false;
  std::vector<std::string> security_opt, cap_add, cap_drop, devices;
  std::string network_mode, pid_mode, ipc_mode, uts_mode, userns_mode, cgroup_parent;
  int64_t memory = 0, cpu_shares = 0, nano_cpus = 0, cpu_quota = 0;
  std::string cpuset_cpus;
  std::optional<int64_t> pids_limit;
  std::string restart_policy;
  int64_t restart_max_retries = 0;
  std::vector<MountInfo> mounts;
  std::vector<PortInfo> ports;       // published ports (NetworkSettings.Ports, else PortBindings)
  std::vector<std::string> ulimits;  // "nofile=1024:2048"
  bool has_healthcheck = false;      // Config.Healthcheck.Test set and not NONE
  std::string health_status;         // State.Health.Status ("" when no health check runs)
  std::vector<std::string> networks;
  std::vector<std::string> exec_ids;
  std::string swarm_service;  // label com.docker.swarm.service.name

  // Filled by the collector for running containers.
  std::optional<std::vector<std::string>> processes;  // command lines (host /proc, else /top)
  std::string processes_error;
  std::vector<ExecInfo> execs;

  /// "container web-1 (image nginx:1.25)": how evidence names a container.
  std::string Describe() const;
};

struct ImageInfo {
  std::string id;
  std::vector<std::string> tags;
  bool has_healthcheck = false;
  std::string user;
  std::vector<std::string> history;  // CreatedBy of each layer, newest first
  std::string history_error;         // non-empty: history could not be read
  /// "image nginx:1.25 (sha256:0123456789ab)".
  std::string Describe() const;
};

struct NetworkInfo {
  std::string id, name, driver, scope;
  std::map<std::string, std::string> options;
  bool ingress = false;
  size_t containers = 0;
};

struct ServiceInfo {
  std::string id, name;
  std::vector<PortInfo> published;  // host_port = PublishedPort, host_ip = PublishMode
  std::string restart_condition;
  std::optional<int64_t> restart_max_attempts;
};

struct EngineInfo {
  std::string name;  // host name the daemon reports
  std::string server_version, api_version, min_api_version, go_version, os, os_type, kernel, arch;
  std::string driver, cgroup_driver, cgroup_version, docker_root_dir, logging_driver;
  std::string init_binary, default_runtime;
  std::vector<std::string> security_options;  // "name=seccomp,profile=builtin"
  bool live_restore = false;
  bool experimental = false;
  bool debug = false;
  std::vector<std::string> authorization_plugins;
  std::vector<std::string> insecure_registry_cidrs;  // without the built-in 127.0.0.0/8, ::1/128
  std::vector<std::string> insecure_registries;      // IndexConfigs with Secure=false
  std::string swarm_state;                           // inactive, pending, active, error, locked
  std::string swarm_node_id, swarm_node_addr;
  bool swarm_manager = false;  // ControlAvailable
  int64_t swarm_managers = 0, swarm_nodes = 0;
  int64_t containers = 0, containers_running = 0, images = 0;

  bool HasSecurityOption(std::string_view name) const;  // "userns", "rootless", "apparmor", ...
  std::string SecurityOptionValue(std::string_view name, std::string_view key) const;
};

struct SwarmFacts {
  bool autolock = false;
  int64_t node_cert_expiry_ns = 0;
  std::string data_path_addr;
  std::vector<std::string> node_addrs;  // "name role addr"
  int64_t manager_nodes = 0, total_nodes = 0;
  std::vector<ServiceInfo> services;
  size_t secrets = 0, configs = 0;
  bool root_rotation_in_progress = false;
};

/// The dockerd command line and daemon.json: the daemon's effective configuration.
struct DaemonConfig {
  bool cmdline_found = false;
  int pid = 0;
  std::string exe;  // the dockerd binary (argv[0] or /proc/PID/exe)
  std::vector<std::string> argv;
  std::multimap<std::string, std::string> flags;  // "icc" -> "false"; long names, no dashes
  std::string json_path;                          // the daemon.json in use
  bool json_exists = false;
  std::map<std::string, std::string> json;  // top-level key -> value as compact JSON

  /// Where a setting comes from and its value, for one flag / daemon.json key pair.
  struct Setting {
    enum class Source { kUnset, kFlag, kJson, kUnknown } source = Source::kUnset;
    std::vector<std::string> values;  // flag values, or the JSON value(s) as plain strings
    std::string where;                // "dockerd --icc=false" / "daemon.json \"icc\": false"
  };
  /// kUnknown when the key is not in daemon.json and the command line could not be read.
  Setting Lookup(std::string_view flag, std::string_view json_key) const;
};

struct StatInfo {
  bool exists = false;
  std::string error;  // set when stat failed for another reason than "absent"
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;  // permission bits (07777)
  bool is_dir = false, is_socket = false, is_regular = false;
};

/// The host's files, relative to --host-root.
class HostFs {
 public:
  explicit HostFs(std::string root = "/");
  const std::string& root() const { return root_; }
  /// root + path (path is absolute on the host).
  std::string Resolve(std::string_view host_path) const;
  StatInfo Stat(std::string_view host_path) const;
  Result<std::string> Read(std::string_view host_path, uint64_t max_bytes = 8u << 20) const;
  /// Entries of a directory (names only, sorted); error when unreadable.
  Result<std::vector<std::string>> List(std::string_view host_path) const;
  std::string UserName(uid_t uid) const;  // from the host's /etc/passwd, else the number
  std::string GroupName(gid_t gid) const;
  std::optional<gid_t> GroupId(std::string_view name) const;

 private:
  std::string root_;
  std::map<uint32_t, std::string> users_, groups_;
};

struct ListenSocket {
  std::string address;  // "0.0.0.0", "::", "10.0.0.4"
  int port = 0;
};

struct DockerFacts {
  std::string socket_path;  // the Engine API socket used
  HostFs host;
  EngineInfo info;
  std::vector<ContainerInfo> containers;  // all, running and stopped
  std::vector<ImageInfo> images;
  std::vector<NetworkInfo> networks;
  size_t volumes = 0;
  std::vector<std::string> plugins;  // "name (enabled)"
  SwarmFacts swarm;
  DaemonConfig daemon;
  std::vector<std::string> audit_rules;  // one rule per entry, as auditctl -l prints them
  std::string audit_source;              // "auditctl -l" or the files read
  std::vector<std::pair<std::string, std::string>> host_mounts;  // mount point, device
  std::vector<std::string> docker_group_members;
  bool docker_group_exists = false;
  std::vector<ListenSocket> listeners;       // TCP sockets in LISTEN state (host /proc/net/tcp*)
  std::optional<std::string> content_trust;  // DOCKER_CONTENT_TRUST of this process
  std::string os_pretty_name;                // host /etc/os-release

  /// Input name -> why it could not be read. Names: engine.info, engine.version,
  /// engine.containers, engine.images, engine.networks, engine.swarm, daemon.cmdline,
  /// daemon.json, host.audit, host.mounts, host.group, host.net.
  std::map<std::string, std::string> input_errors;
  const std::string* InputError(std::string_view input) const;

  std::vector<const ContainerInfo*> Running() const;
};

// Parsers of untrusted input (Engine API replies, daemon.json, /proc and /etc files). Each
// returns an Error naming the input and the place instead of crashing.
Result<ContainerInfo> ParseContainerInspect(std::string_view json);
Result<ImageInfo> ParseImageInspect(std::string_view json);
Result<std::vector<std::string>> ParseImageHistory(std::string_view json);
Result<EngineInfo> ParseInfo(std::string_view json);
/// Adds /version to an EngineInfo parsed from /info.
Result<void> ParseVersion(std::string_view json, EngineInfo& info);
Result<std::vector<NetworkInfo>> ParseNetworks(std::string_view json);
Result<std::vector<std::string>> ParseContainerIds(std::string_view json);
Result<std::vector<std::string>> ParseImageIds(std::string_view json);
Result<std::vector<std::string>> ParseTopProcesses(std::string_view json);
Result<ExecInfo> ParseExecInspect(std::string_view json);
Result<std::vector<ServiceInfo>> ParseServices(std::string_view json);
Result<void> ParseSwarm(std::string_view json, SwarmFacts& swarm);
Result<void> ParseNodes(std::string_view json, SwarmFacts& swarm);
Result<size_t> ParseArrayLength(std::string_view json, std::string_view what);
Result<std::vector<std::string>> ParsePlugins(std::string_view json);
Result<size_t> ParseVolumeCount(std::string_view json);
/// daemon.json: a JSON object; each top-level key keeps its value as compact JSON.
Result<std::map<std::string, std::string>> ParseDaemonJson(std::string_view text,
                                                           std::string_view path);
/// dockerd argv (after argv[0]) -> long flag name -> values. Short flags are mapped (-H host,
/// -l log-level, -D debug, -G group, -p pidfile, -g data-root, -s storage-driver,
/// -b bridge, -e exec-driver); boolean flags take no separate value.
std::multimap<std::string, std::string> ParseDockerdFlags(const std::vector<std::string>& args);
/// /proc/PID/cmdline (NUL-separated) -> argv.
std::vector<std::string> SplitCmdline(std::string_view cmdline);
/// Audit rules text (auditctl -l output or *.rules files): rule lines, comments dropped.
std::vector<std::string> ParseAuditRules(std::string_view text);
/// True when a rule watches `path` (-w PATH, -F path=PATH or -F dir=PATH).
bool AuditRuleWatches(std::string_view rule, std::string_view path);
/// /proc/mounts -> (mount point, device); octal escapes decoded.
std::vector<std::pair<std::string, std::string>> ParseMounts(std::string_view text);
/// /etc/group -> the members of `group` (and whether the group exists).
std::optional<std::vector<std::string>> GroupMembers(std::string_view etc_group,
                                                     std::string_view group);
/// /proc/net/tcp or tcp6 -> sockets in LISTEN state.
std::vector<ListenSocket> ParseProcNetTcp(std::string_view text, bool ipv6);

}  // namespace moat::cis::docker
