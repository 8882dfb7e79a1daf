// Parsers of the untrusted inputs of `moat bench docker`: Engine API replies, daemon.json, the
// dockerd command line, audit rules, /proc and /etc files. Wrong types are treated as absent;
// documents that are not JSON of the expected shape are Errors naming the input.

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cis/docker/facts.h"
#include "core/text.h"

namespace moat::cis::docker {
namespace {

using Json = nlohmann::json;

const Json* Member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

const Json* Path(const Json& object, std::initializer_list<std::string_view> keys) {
  const Json* node = &object;
  for (auto key : keys) {
    node = Member(*node, key);
    if (node == nullptr) return nullptr;
  }
  return node;
}

std::string Str(const Json& object, std::string_view key) {
  const Json* value = Member(object, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

int64_t Int(const Json& object, std::string_view key) {
  const Json* value = Member(object, key);
  if (value == nullptr) return 0;
  if (value->is_number_integer()) return value->get<int64_t>();
  if (value->is_number_unsigned()) {
    uint64_t u = value->get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(u);
  }
  if (value->is_number_float()) {
    double d = value->get<double>();
    if (!(d > -9e18 && d < 9e18)) return 0;  // also NaN
    return static_cast<int64_t>(d);
  }
  return 0;
}

bool Bool(const Json& object, std::string_view key) {
  const Json* value = Member(object, key);
  return value != nullptr && value->is_boolean() && value->get<bool>();
}

std::vector<std::string> Strings(const Json* array) {
  std::vector<std::string> values;
  if (array == nullptr || !array->is_array()) return values;
  for (const Json& item : *array) {
    if (item.is_string()) values.push_back(item.get<std::string>());
  }
  return values;
}

Result<Json> ParseObject(std::string_view text, std::string_view what) {
  Json json = Json::parse(text, nullptr, false);
  if (json.is_discarded()) return Fail(what, ": not valid JSON");
  if (!json.is_object()) return Fail(what, ": expected a JSON object, got ", json.type_name());
  return json;
}

Result<Json> ParseArray(std::string_view text, std::string_view what) {
  Json json = Json::parse(text, nullptr, false);
  if (json.is_discarded()) return Fail(what, ": not valid JSON");
  if (!json.is_array()) return Fail(what, ": expected a JSON array, got ", json.type_name());
  return json;
}

std::string ShortId(std::string_view id) {
  if (id.rfind("sha256:", 0) == 0) id.remove_prefix(7);
  return std::string(id.substr(0, 12));
}

// "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"}] maps (NetworkSettings.Ports, PortBindings).
std::vector<PortInfo> PortMap(const Json* ports) {
  std::vector<PortInfo> out;
  if (ports == nullptr || !ports->is_object()) return out;
  for (auto it = ports->begin(); it != ports->end(); ++it) {
    if (!it.value().is_array()) continue;
    for (const Json& binding : it.value()) {
      if (!binding.is_object()) continue;
      PortInfo port{it.key(), Str(binding, "HostIp"), Str(binding, "HostPort")};
      if (port.host_port.empty()) continue;
      out.push_back(std::move(port));
    }
  }
  return out;
}

}  // namespace

std::string ContainerInfo::Describe() const {
  std::string image = image_ref.empty() ? ShortId(image_id) : image_ref;
  return "container " + (name.empty() ? ShortId(id) : name) + " (image " + image + ")";
}

std::string ImageInfo::Describe() const {
  std::string label = tags.empty() ? "<untagged>" : tags.front();
  for (size_t i = 1; i < tags.size(); ++i) label += ", " + tags[i];
  return "image " + label + " (" + ShortId(id) + ")";
}

bool EngineInfo::HasSecurityOption(std::string_view name) const {
  std::string wanted = "name=" + std::string(name);
  for (const auto& option : security_options) {
    if (option == wanted || option.rfind(wanted + ",", 0) == 0) return true;
  }
  return false;
}

std::string EngineInfo::SecurityOptionValue(std::string_view name, std::string_view key) const {
  std::string wanted = "name=" + std::string(name);
  for (const auto& option : security_options) {
    if (option != wanted && option.rfind(wanted + ",", 0) != 0) continue;
    std::string prefix = std::string(key) + "=";
    for (std::string_view part : Split(option, ',')) {
      if (part.rfind(prefix, 0) == 0) return std::string(part.substr(prefix.size()));
    }
  }
  return "";
}

Result<ContainerInfo> ParseContainerInspect(std::string_view text) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseObject(text, "container inspect"));
  ContainerInfo c;
  c.id = Str(json, "Id");
  if (c.id.empty()) return Fail("container inspect: no \"Id\"");
  c.name = Str(json, "Name");
  if (!c.name.empty() && c.name[0] == '/') c.name.erase(0, 1);
  c.image_id = Str(json, "Image");
  c.apparmor_profile = Str(json, "AppArmorProfile");
  c.process_label = Str(json, "ProcessLabel");
  c.exec_ids = Strings(Member(json, "ExecIDs"));
  if (const Json* state = Member(json, "State")) {
    c.status = Str(*state, "Status");
    c.running = Bool(*state, "Running");
    c.pid = Int(*state, "Pid");
    if (const Json* health = Member(*state, "Health")) c.health_status = Str(*health, "Status");
  }
  if (const Json* config = Member(json, "Config")) {
    c.image_ref = Str(*config, "Image");
    c.user = Str(*config, "User");
    if (const Json* health = Member(*config, "Healthcheck")) {
      auto test = Strings(Member(*health, "Test"));
      c.has_healthcheck = !test.empty() && test.front() != "NONE";
    }
    if (const Json* labels = Member(*config, "Labels")) {
      c.swarm_service = Str(*labels, "com.docker.swarm.service.name");
    }
  }
  if (const Json* host = Member(json, "HostConfig")) {
    c.privileged = Bool(*host, "Privileged");
    c.readonly_rootfs = Bool(*host, "ReadonlyRootfs");
    c.security_opt = Strings(Member(*host, "SecurityOpt"));
    c.cap_add = Strings(Member(*host, "CapAdd"));
    c.cap_drop = Strings(Member(*host, "CapDrop"));
    c.network_mode = Str(*host, "NetworkMode");
    c.pid_mode = Str(*host, "PidMode");
    c.ipc_mode = Str(*host, "IpcMode");
    c.uts_mode = Str(*host, "UTSMode");
    c.userns_mode = Str(*host, "UsernsMode");
    c.cgroup_parent = Str(*host, "CgroupParent");
    c.memory = Int(*host, "Memory");
    c.cpu_shares = Int(*host, "CpuShares");
    c.nano_cpus = Int(*host, "NanoCpus");
    c.cpu_quota = Int(*host, "CpuQuota");
    c.cpuset_cpus = Str(*host, "CpusetCpus");
    if (const Json* pids = Member(*host, "PidsLimit"); pids != nullptr && pids->is_number()) {
      c.pids_limit = Int(*host, "PidsLimit");
    }
    if (const Json* restart = Member(*host, "RestartPolicy")) {
      c.restart_policy = Str(*restart, "Name");
      c.restart_max_retries = Int(*restart, "MaximumRetryCount");
    }
    if (const Json* devices = Member(*host, "Devices"); devices && devices->is_array()) {
      for (const Json& device : *devices) {
        if (!device.is_object()) continue;
        c.devices.push_back(Str(device, "PathOnHost") + ":" + Str(device, "PathInContainer") + ":" +
                            Str(device, "CgroupPermissions"));
      }
    }
    if (const Json* ulimits = Member(*host, "Ulimits"); ulimits && ulimits->is_array()) {
      for (const Json& ulimit : *ulimits) {
        if (!ulimit.is_object()) continue;
        c.ulimits.push_back(Str(ulimit, "Name") + "=" + std::to_string(Int(ulimit, "Soft")) + ":" +
                            std::to_string(Int(ulimit, "Hard")));
      }
    }
    if (!c.running) c.ports = PortMap(Member(*host, "PortBindings"));
  }
  if (const Json* settings = Member(json, "NetworkSettings")) {
    if (c.running) c.ports = PortMap(Member(*settings, "Ports"));
    if (const Json* networks = Member(*settings, "Networks"); networks && networks->is_object()) {
      for (auto it = networks->begin(); it != networks->end(); ++it) c.networks.push_back(it.key());
    }
  }
  if (const Json* mounts = Member(json, "Mounts"); mounts && mounts->is_array()) {
    for (const Json& mount : *mounts) {
      if (!mount.is_object()) continue;
      MountInfo m{Str(mount, "Type"), Str(mount, "Source"),      Str(mount, "Destination"),
                  Str(mount, "Mode"), Str(mount, "Propagation"), true};
      const Json* rw = Member(mount, "RW");
      m.rw = rw == nullptr || !rw->is_boolean() || rw->get<bool>();
      c.mounts.push_back(std::move(m));
    }
  }
  return c;
}

Result<ImageInfo> ParseImageInspect(std::string_view text) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseObject(text, "image inspect"));
  ImageInfo image;
  image.id = Str(json, "Id");
  if (image.id.empty()) return Fail("image inspect: no \"Id\"");
  image.tags = Strings(Member(json, "RepoTags"));
  if (const Json* config = Member(json, "Config")) {
    image.user = Str(*config, "User");
    if (const Json* health = Member(*config, "Healthcheck")) {
      auto test = Strings(Member(*health, "Test"));
      image.has_healthcheck = !test.empty() && test.front() != "NONE";
    }
  }
  return image;
}

Result<std::vector<std::string>> ParseImageHistory(std::string_view text) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseArray(text, "image history"));
  std::vector<std::string> created_by;
  for (const Json& layer : json) {
    if (layer.is_object()) created_by.push_back(Str(layer, "CreatedBy"));
  }
  return created_by;
}

Result<EngineInfo> ParseInfo(std::string_view text) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseObject(text, "/info"));
  EngineInfo info;
  info.name = Str(json, "Name");
  info.server_version = Str(json, "ServerVersion");
  info.os = Str(json, "OperatingSystem");
  info.os_type = Str(json, "OSType");
  info.kernel = Str(json, "KernelVersion");
  info.arch = Str(json, "Architecture");
  info.driver = Str(json, "Driver");
  info.cgroup_driver = Str(json, "CgroupDriver");
  info.cgroup_version = Str(json, "CgroupVersion");
  info.docker_root_dir = Str(json, "DockerRootDir");
  info.logging_driver = Str(json, "LoggingDriver");
  info.init_binary = Str(json, "InitBinary");
  info.default_runtime = Str(json, "DefaultRuntime");
  info.security_options = Strings(Member(json, "SecurityOptions"));
  info.live_restore = Bool(json, "LiveRestoreEnabled");
  info.experimental = Bool(json, "ExperimentalBuild");
  info.debug = Bool(json, "Debug");
  info.containers = Int(json, "Containers");
  info.containers_running = Int(json, "ContainersRunning");
  info.images = Int(json, "Images");
  info.authorization_plugins = Strings(Path(json, {"Plugins", "Authorization"}));
  if (const Json* registry = Member(json, "RegistryConfig")) {
    for (const auto& cidr : Strings(Member(*registry, "InsecureRegistryCIDRs"))) {
      if (cidr != "127.0.0.0/8" && cidr != "::1/128") info.insecure_registry_cidrs.push_back(cidr);
    }
    if (const Json* indexes = Member(*registry, "IndexConfigs"); indexes && indexes->is_object()) {
      for (auto it = indexes->begin(); it != indexes->end(); ++it) {
        const Json* secure = Member(it.value(), "Secure");
        if (secure != nullptr && secure->is_boolean() && !secure->get<bool>()) {
          info.insecure_registries.push_back(it.key());
        }
      }
    }
  }
  if (const Json* swarm = Member(json, "Swarm")) {
    info.swarm_state = Str(*swarm, "LocalNodeState");
    info.swarm_node_id = Str(*swarm, "NodeID");
    info.swarm_node_addr = Str(*swarm, "NodeAddr");
    info.swarm_manager = Bool(*swarm, "ControlAvailable");
    info.swarm_managers = Int(*swarm, "Managers");
    info.swarm_nodes = Int(*swarm, "Nodes");
  }
  return info;
}

Result<void> ParseVersion(std::string_view text, EngineInfo& info) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseObject(text, "/version"));
  if (std::string v = Str(json, "Version"); !v.empty()) info.server_version = v;
  info.api_version = Str(json, "ApiVersion");
  info.min_api_version = Str(json, "MinAPIVersion");
  info.go_version = Str(json, "GoVersion");
  if (info.kernel.empty()) info.kernel = Str(json, "KernelVersion");
  if (info.arch.empty()) info.arch = Str(json, "Arch");
  info.experimental = info.experimental || Bool(json, "Experimental");
  return Ok();
}

Result<std::vector<NetworkInfo>> ParseNetworks(std::string_view text) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseArray(text, "/networks"));
  std::vector<NetworkInfo> networks;
  for (const Json& item : json) {
    if (!item.is_object()) continue;
    NetworkInfo n;
    n.id = Str(item, "Id");
    n.name = Str(item, "Name");
    n.driver = Str(item, "Driver");
    n.scope = Str(item, "Scope");
    n.ingress = Bool(item, "Ingress");
    if (const Json* options = Member(item, "Options"); options && options->is_object()) {
      for (auto it = options->begin(); it != options->end(); ++it) {
        n.options[it.key()] = it.value().is_string() ? it.value().get<std::string>() : "";
      }
    }
    if (const Json* containers = Member(item, "Containers");
        containers && containers->is_object()) {
      n.containers = containers->size();
    }
    networks.push_back(std::move(n));
  }
  return networks;
}

namespace {
Result<std::vector<std::string>> IdsOf(std::string_view text, std::string_view what) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseArray(text, what));
  std::vector<std::string> ids;
  for (const Json& item : json) {
    if (item.is_object()) {
      std::string id = Str(item, "Id");
      if (!id.empty()) ids.push_back(std::move(id));
    }
  }
  return ids;
}
}  // namespace

Result<std::vector<std::string>> ParseContainerIds(std::string_view text) {
  return IdsOf(text, "/containers/json");
}

Result<std::vector<std::string>> ParseImageIds(std::string_view text) {
  return IdsOf(text, "/images/json");
}

Result<std::vector<std::string>> ParseTopProcesses(std::string_view text) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseObject(text, "container top"));
  auto titles = Strings(Member(json, "Titles"));
  size_t column = titles.empty() ? 0 : titles.size() - 1;  // CMD is the last column
  for (size_t i = 0; i < titles.size(); ++i) {
    if (titles[i] == "CMD" || titles[i] == "COMMAND") column = i;
  }
  std::vector<std::string> processes;
  const Json* rows = Member(json, "Processes");
  if (rows == nullptr || !rows->is_array()) return processes;
  for (const Json& row : *rows) {
    if (row.is_array() && column < row.size() && row[column].is_string()) {
      processes.push_back(row[column].get<std::string>());
    }
  }
  return processes;
}

Result<ExecInfo> ParseExecInspect(std::string_view text) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseObject(text, "exec inspect"));
  ExecInfo exec;
  exec.id = Str(json, "ID");
  exec.running = Bool(json, "Running");
  if (const Json* process = Member(json, "ProcessConfig")) {
    exec.privileged = Bool(*process, "privileged");
    exec.user = Str(*process, "user");
    exec.command = Str(*process, "entrypoint");
    for (const auto& arg : Strings(Member(*process, "arguments"))) exec.command += " " + arg;
  }
  return exec;
}

Result<std::vector<ServiceInfo>> ParseServices(std::string_view text) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseArray(text, "/services"));
  std::vector<ServiceInfo> services;
  for (const Json& item : json) {
    if (!item.is_object()) continue;
    ServiceInfo s;
    s.id = Str(item, "ID");
    if (const Json* spec = Member(item, "Spec")) {
      s.name = Str(*spec, "Name");
      if (const Json* policy = Path(*spec, {"TaskTemplate", "RestartPolicy"})) {
        s.restart_condition = Str(*policy, "Condition");
        if (const Json* max = Member(*policy, "MaxAttempts"); max && max->is_number()) {
          s.restart_max_attempts = Int(*policy, "MaxAttempts");
        }
      }
    }
    if (const Json* ports = Path(item, {"Endpoint", "Ports"}); ports && ports->is_array()) {
      for (const Json& port : *ports) {
        if (!port.is_object() || Int(port, "PublishedPort") == 0) continue;
        s.published.push_back(
            {std::to_string(Int(port, "TargetPort")) + "/" + Str(port, "Protocol"),
             Str(port, "PublishMode"), std::to_string(Int(port, "PublishedPort"))});
      }
    }
    services.push_back(std::move(s));
  }
  return services;
}

Result<void> ParseSwarm(std::string_view text, SwarmFacts& swarm) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseObject(text, "/swarm"));
  swarm.autolock = Path(json, {"Spec", "EncryptionConfig", "AutoLockManagers"}) != nullptr &&
                   Bool(*Path(json, {"Spec", "EncryptionConfig"}), "AutoLockManagers");
  if (const Json* ca = Path(json, {"Spec", "CAConfig"})) {
    swarm.node_cert_expiry_ns = Int(*ca, "NodeCertExpiry");
  }
  swarm.data_path_addr = Str(json, "DataPathAddr");
  swarm.root_rotation_in_progress = Bool(json, "RootRotationInProgress");
  return Ok();
}

Result<void> ParseNodes(std::string_view text, SwarmFacts& swarm) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseArray(text, "/nodes"));
  swarm.total_nodes = 0;
  swarm.manager_nodes = 0;
  swarm.node_addrs.clear();
  for (const Json& node : json) {
    if (!node.is_object()) continue;
    ++swarm.total_nodes;
    std::string role = Path(node, {"Spec"}) ? Str(*Path(node, {"Spec"}), "Role") : "";
    if (role == "manager") ++swarm.manager_nodes;
    std::string host =
        Path(node, {"Description"}) ? Str(*Path(node, {"Description"}), "Hostname") : "";
    std::string addr = Path(node, {"Status"}) ? Str(*Path(node, {"Status"}), "Addr") : "";
    std::string manager_addr =
        Path(node, {"ManagerStatus"}) ? Str(*Path(node, {"ManagerStatus"}), "Addr") : "";
    swarm.node_addrs.push_back(host + " (" + role + "): node address " + addr +
                               (manager_addr.empty() ? "" : ", manager address " + manager_addr));
  }
  return Ok();
}

Result<size_t> ParseArrayLength(std::string_view text, std::string_view what) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseArray(text, what));
  return json.size();
}

Result<std::vector<std::string>> ParsePlugins(std::string_view text) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseArray(text, "/plugins"));
  std::vector<std::string> plugins;
  for (const Json& item : json) {
    if (!item.is_object()) continue;
    plugins.push_back(Str(item, "Name") + (Bool(item, "Enabled") ? " (enabled)" : " (disabled)"));
  }
  return plugins;
}

Result<size_t> ParseVolumeCount(std::string_view text) {
  MOAT_ASSIGN_OR_RETURN(Json json, ParseObject(text, "/volumes"));
  const Json* volumes = Member(json, "Volumes");
  return volumes != nullptr && volumes->is_array() ? volumes->size() : 0;
}

Result<std::map<std::string, std::string>> ParseDaemonJson(std::string_view text,
                                                           std::string_view path) {
  Json json = Json::parse(text, nullptr, false);
  std::string what = std::string(path);
  if (json.is_discarded()) {
    // Find the place for the message: nlohmann's exception carries the byte offset.
    try {
      Json strict = Json::parse(text);
      (void)strict;
    } catch (const Json::parse_error& e) {
      return Fail(what, ": malformed JSON at byte ", std::to_string(e.byte), ": ",
                  std::string(e.what()).substr(0, 200));
    } catch (...) {
    }
    return Fail(what, ": malformed JSON");
  }
  if (!json.is_object()) return Fail(what, ": expected a JSON object, got ", json.type_name());
  std::map<std::string, std::string> keys;
  for (auto it = json.begin(); it != json.end(); ++it) {
    keys[it.key()] = it.value().dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  return keys;
}

namespace {

// dockerd flags that take no value (pflag booleans: only --flag or --flag=bool).
bool IsBoolFlag(std::string_view name) {
  static constexpr std::string_view kBools[] = {"icc",
                                                "iptables",
                                                "ip6tables",
                                                "ip-forward",
                                                "ip-masq",
                                                "userland-proxy",
                                                "live-restore",
                                                "no-new-privileges",
                                                "selinux-enabled",
                                                "experimental",
                                                "tls",
                                                "tlsverify",
                                                "debug",
                                                "raw-logs",
                                                "disable-legacy-registry",
                                                "ipv6",
                                                "init",
                                                "rootless",
                                                "validate",
                                                "help",
                                                "version",
                                                "allow-nondistributable-artifacts-all",
                                                "cri-containerd",
                                                "bridge-accept-fwmark"};
  return std::find(std::begin(kBools), std::end(kBools), name) != std::end(kBools);
}

std::string LongName(std::string_view short_flag) {
  if (short_flag == "H") return "host";
  if (short_flag == "l") return "log-level";
  if (short_flag == "D") return "debug";
  if (short_flag == "G") return "group";
  if (short_flag == "p") return "pidfile";
  if (short_flag == "g") return "data-root";
  if (short_flag == "s") return "storage-driver";
  if (short_flag == "b") return "bridge";
  if (short_flag == "e") return "exec-driver";
  if (short_flag == "v") return "version";
  if (short_flag == "h") return "help";
  return std::string(short_flag);
}

}  // namespace

std::multimap<std::string, std::string> ParseDockerdFlags(const std::vector<std::string>& args) {
  std::multimap<std::string, std::string> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.size() < 2 || arg[0] != '-' || arg == "--") continue;
    std::string name;
    std::optional<std::string> value;
    if (arg[1] == '-') {
      arg.remove_prefix(2);
    } else {
      arg.remove_prefix(1);
    }
    size_t eq = arg.find('=');
    if (eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    }
    name = args[i][1] == '-' ? std::string(arg) : LongName(arg);
    // The deprecated singular spellings dockerd still accepts.
    if (name == "insecure-registries") name = "insecure-registry";
    if (!value) {
      if (IsBoolFlag(name)) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        value = "";
      }
    }
    flags.emplace(name, *value);
  }
  return flags;
}

std::vector<std::string> SplitCmdline(std::string_view cmdline) {
  std::vector<std::string> argv;
  for (std::string_view arg : SplitTerminated(cmdline, '\0')) argv.emplace_back(arg);
  return argv;
}

std::vector<std::string> ParseAuditRules(std::string_view text) {
  std::vector<std::string> rules;
  for (std::string_view line : SplitLines(text)) {
    line = TrimSpace(line);
    if (line.empty() || line[0] == '#' || line == "No rules") continue;
    rules.emplace_back(line);
  }
  return rules;
}

bool AuditRuleWatches(std::string_view rule, std::string_view path) {
  // Tokenize on blanks; "-w PATH", "-F path=PATH", "-F dir=PATH" (also "-Fpath=").
  const std::vector<std::string_view> tokens = SplitWords(rule);
  auto same = [&](std::string_view candidate) {
    while (candidate.size() > 1 && candidate.back() == '/') candidate.remove_suffix(1);
    return candidate == path;
  };
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view t = tokens[i];
    if (t == "-w" && i + 1 < tokens.size() && same(tokens[i + 1])) return true;
    std::string_view field;
    if (t == "-F" && i + 1 < tokens.size()) {
      field = tokens[i + 1];
    } else if (t.rfind("-F", 0) == 0 && t.size() > 2) {
      field = t.substr(2);
    } else {
      continue;
    }
    for (std::string_view key : {"path=", "dir="}) {
      if (field.rfind(key, 0) == 0 && same(field.substr(key.size()))) return true;
    }
  }
  return false;
}

namespace {
std::string DecodeOctal(std::string_view field) {
  auto digit = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && digit(field[i + 1]) && digit(field[i + 2]) &&
        digit(field[i + 3])) {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                               (field[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += field[i];
  }
  return out;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> ParseMounts(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> mounts;
  for (std::string_view line : SplitLines(text)) {
    // "SOURCE MOUNTPOINT TYPE OPTIONS ..."
    std::vector<std::string_view> fields = Split(line, ' ');
    if (fields.size() < 2 || fields[1].empty()) continue;
    mounts.emplace_back(DecodeOctal(fields[1]), DecodeOctal(fields[0]));
  }
  return mounts;
}

std::optional<std::vector<std::string>> GroupMembers(std::string_view etc_group,
                                                     std::string_view group) {
  for (std::string_view line : SplitLines(etc_group)) {
    // name:password:gid:member,member
    std::vector<std::string_view> fields = Split(line, ':');
    if (fields.size() < 2 || fields[0] != group) continue;
    std::vector<std::string> members;
    if (fields.size() < 4) return members;
    for (std::string_view member : Split(TrimSpace(fields[3]), ',')) {
      if (!member.empty()) members.emplace_back(member);
    }
    return members;
  }
  return std::nullopt;
}

std::vector<ListenSocket> ParseProcNetTcp(std::string_view text, bool ipv6) {
  std::vector<ListenSocket> sockets;
  std::vector<std::string_view> lines = SplitLines(text);
  for (size_t i = 1; i < lines.size(); ++i) {  // lines[0] is the header
    // "  0: 00000000:0959 00000000:0000 0A ..."
    std::vector<std::string_view> fields = SplitWords(lines[i]);
    if (fields.size() < 4 || fields[3] != "0A") continue;  // 0A = LISTEN
    std::string_view local = fields[1];
    size_t colon = local.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view hex_addr = local.substr(0, colon);
    std::string_view hex_port = local.substr(colon + 1);
    if (hex_port.empty() || hex_port.size() > 4) continue;
    char* stop = nullptr;
    std::string port_text(hex_port);
    long port = std::strtol(port_text.c_str(), &stop, 16);
    if (stop == nullptr || *stop != '\0') continue;
    ListenSocket socket;
    socket.port = static_cast<int>(port);
    if (!ipv6 && hex_addr.size() == 8) {
      // Little-endian IPv4.
      unsigned bytes[4];
      bool ok = true;
      for (int i = 0; i < 4 && ok; ++i) {
        std::string part(hex_addr.substr(i * 2, 2));
        char* p = nullptr;
        bytes[i] = static_cast<unsigned>(std::strtoul(part.c_str(), &p, 16));
        ok = p != nullptr && *p == '\0';
      }
      if (!ok) continue;
      socket.address = std::to_string(bytes[3]) + "." + std::to_string(bytes[2]) + "." +
                       std::to_string(bytes[1]) + "." + std::to_string(bytes[0]);
    } else if (ipv6 && hex_addr.size() == 32) {
      socket.address =
          hex_addr == "00000000000000000000000000000000" ? "::" : std::string(hex_addr);
    } else {
      continue;
    }
    sockets.push_back(std::move(socket));
  }
  return sockets;
}

}  // namespace moat::cis::docker
