// Collection of the facts of a Docker host. All network I/O is here; checks are pure.

#include "cis/docker/collect.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "artifact/sources.h"
#include "core/http.h"
#include "core/log.h"
#include "core/parallel.h"
#include "core/text.h"

namespace moat::cis::docker {
namespace {

constexpr int kMaxApiMinor = 43;
constexpr const char* kEngineInputs[] = {"engine.info",   "engine.version",  "engine.containers",
                                         "engine.images", "engine.networks", "engine.swarm"};

std::string SocketPath(const std::string& docker_host) {
  std::string socket = docker_host.empty() ? DefaultDockerSocket() : docker_host;
  if (socket.rfind("unix://", 0) == 0) socket = socket.substr(7);
  return socket;
}

// Connects once by hand to tell apart "no socket", "permission denied" and "refused": curl only
// says "could not connect".
Result<void> ProbeSocket(const std::string& path) {
  if (path.find("://") != std::string::npos) {
    return Fail("only unix:// Docker hosts are supported, not ", path);
  }
  sockaddr_un address{};
  if (path.size() >= sizeof(address.sun_path)) return Fail(path, ": socket path too long");
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail("socket(): ", std::strerror(errno));
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  int err = errno;
  ::close(fd);
  if (rc == 0) return Ok();
  std::string hint;
  if (err == ENOENT) hint = " (no Docker Engine socket there; set DOCKER_HOST=unix:///path)";
  if (err == EACCES) hint = " (run as root or as a member of the socket's group)";
  if (err == ECONNREFUSED) hint = " (the daemon is not running)";
  return Fail("cannot connect to the Docker Engine at ", path, ": ", std::strerror(err), hint);
}

class Engine {
 public:
  explicit Engine(std::string socket) : socket_(std::move(socket)) {}

  Result<void> Connect() {
    MOAT_TRY(ProbeSocket(socket_));
    HttpRequest ping = Request("/_ping");
    MOAT_ASSIGN_OR_RETURN(HttpResponse pong, HttpFetch(ping));
    if (pong.status != 200) {
      return Fail("docker engine (", socket_, "): /_ping answered HTTP ",
                  std::to_string(pong.status));
    }
    std::string version = pong.Header("Api-Version");
    if (version.rfind("1.", 0) == 0) {
      int minor = std::atoi(version.c_str() + 2);
      if (minor > 0) prefix_ = "/v1." + std::to_string(std::min(minor, kMaxApiMinor));
    }
    return Ok();
  }

  /// GET path; non-200 is an Error naming the path and the daemon's message. 404 -> not_found.
  Result<std::string> Get(const std::string& path, bool* not_found = nullptr) const {
    MOAT_ASSIGN_OR_RETURN(HttpResponse response, HttpFetch(Request(prefix_ + path)));
    if (not_found != nullptr) *not_found = response.status == 404;
    if (response.status != 200) {
      return Fail("docker engine (", socket_, "): GET ", path, " answered HTTP ",
                  std::to_string(response.status), ": ", response.body.substr(0, 200));
    }
    return std::move(response.body);
  }

 private:
  HttpRequest Request(const std::string& path) const {
    HttpRequest request;
    request.url = "http://localhost" + path;
    request.unix_socket = socket_;
    request.connect_timeout_seconds = 5;
    request.timeout_seconds = 60;
    request.stall_timeout_seconds = 30;
    return request;
  }

  std::string socket_;
  std::string prefix_;
};

// Processes of each running container, the way `docker top` finds them (the processes in the
// cgroup of the container's init process), from one pass over the host's /proc: asking the
// engine (/top) costs a `ps` run per container, ~0.2 s each. /top is the fallback when the
// container's init process is not visible (another PID namespace without --host-root).
void CollectProcesses(const Engine& engine, DockerFacts& facts, size_t threads) {
  std::map<std::string, std::vector<std::string>> by_cgroup;  // cgroup file -> command lines
  std::map<int64_t, std::string> init_cgroup;
  for (const auto& c : facts.containers) {
    if (c.running && c.pid > 0) init_cgroup[c.pid] = "";
  }
  if (!init_cgroup.empty()) {
    for (auto& [pid, cgroup] : init_cgroup) {
      auto text = facts.host.Read("/proc/" + std::to_string(pid) + "/cgroup", 1 << 16);
      if (text.ok() && !text->empty()) cgroup = *text;
    }
    std::set<std::string> wanted;
    for (const auto& [pid, cgroup] : init_cgroup) {
      if (!cgroup.empty()) wanted.insert(cgroup);
    }
    if (auto pids = facts.host.List("/proc"); pids.ok() && !wanted.empty()) {
      for (const auto& name : *pids) {
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        auto cgroup = facts.host.Read("/proc/" + name + "/cgroup", 1 << 16);
        if (!cgroup.ok() || !wanted.count(*cgroup)) continue;
        auto cmdline = facts.host.Read("/proc/" + name + "/cmdline", 1 << 16);
        if (!cmdline.ok()) continue;
        std::string line;
        for (const auto& arg : SplitCmdline(*cmdline)) line += (line.empty() ? "" : " ") + arg;
        if (line.empty()) continue;  // kernel threads, zombies
        by_cgroup[*cgroup].push_back(std::move(line));
      }
    }
  }
  std::vector<ContainerInfo*> fallback;
  for (auto& c : facts.containers) {
    if (!c.running) continue;
    auto cgroup = init_cgroup.find(c.pid);
    if (cgroup != init_cgroup.end() && !cgroup->second.empty()) {
      auto found = by_cgroup.find(cgroup->second);
      if (found != by_cgroup.end()) {
        c.processes = found->second;
        continue;
      }
    }
    fallback.push_back(&c);
  }
  ParallelFor(fallback.size(), threads, [&](size_t i) {
    ContainerInfo& c = *fallback[i];
    auto top = engine.Get("/containers/" + c.id + "/top");
    if (!top.ok()) {
      c.processes_error = top.error().message;
      return;
    }
    auto processes = ParseTopProcesses(*top);
    if (processes.ok()) {
      c.processes = std::move(processes).value();
    } else {
      c.processes_error = processes.error().message;
    }
  });
}

void CollectEngine(const Engine& engine, DockerFacts& facts, size_t threads,
                   std::vector<std::string>& notes) {
  auto note_error = [&](const std::string& input, const Error& error) {
    facts.input_errors[input] = error.message;
    notes.push_back(input + ": " + error.message);
  };
  if (auto info = engine.Get("/info"); !info.ok()) {
    note_error("engine.info", info.error());
  } else if (auto parsed = ParseInfo(*info); !parsed.ok()) {
    note_error("engine.info", parsed.error());
  } else {
    facts.info = std::move(parsed).value();
  }
  if (auto version = engine.Get("/version"); !version.ok()) {
    note_error("engine.version", version.error());
  } else if (auto parsed = ParseVersion(*version, facts.info); !parsed.ok()) {
    note_error("engine.version", parsed.error());
  }

  // Containers: list, then inspect each (and top + exec records of running ones) in parallel.
  if (auto list = engine.Get("/containers/json?all=1"); !list.ok()) {
    note_error("engine.containers", list.error());
  } else if (auto ids = ParseContainerIds(*list); !ids.ok()) {
    note_error("engine.containers", ids.error());
  } else {
    std::vector<std::optional<ContainerInfo>> found(ids->size());
    std::mutex mutex;
    std::optional<Error> failure;
    ParallelFor(ids->size(), threads, [&](size_t i) {
      const std::string& id = (*ids)[i];
      bool gone = false;
      auto body = engine.Get("/containers/" + id + "/json", &gone);
      if (!body.ok()) {
        if (gone) return;  // removed since the list: not on the host any more
        std::lock_guard lock(mutex);
        if (!failure) failure = body.error();
        return;
      }
      auto parsed = ParseContainerInspect(*body);
      if (!parsed.ok()) {
        std::lock_guard lock(mutex);
        if (!failure) failure = parsed.error().Wrap("container " + id.substr(0, 12));
        return;
      }
      ContainerInfo& c = *parsed;
      for (const auto& exec_id : c.exec_ids) {
        auto exec = engine.Get("/exec/" + exec_id + "/json");
        if (!exec.ok()) continue;  // finished execs are forgotten by the daemon
        if (auto parsed_exec = ParseExecInspect(*exec); parsed_exec.ok()) {
          c.execs.push_back(std::move(parsed_exec).value());
        }
      }
      found[i] = std::move(c);
    });
    if (failure) {
      note_error("engine.containers", *failure);
    } else {
      for (auto& c : found) {
        if (c) facts.containers.push_back(std::move(*c));
      }
      std::sort(facts.containers.begin(), facts.containers.end(),
                [](const ContainerInfo& a, const ContainerInfo& b) { return a.name < b.name; });
      CollectProcesses(engine, facts, threads);
    }
  }

  if (auto list = engine.Get("/images/json"); !list.ok()) {
    note_error("engine.images", list.error());
  } else if (auto ids = ParseImageIds(*list); !ids.ok()) {
    note_error("engine.images", ids.error());
  } else {
    std::vector<std::optional<ImageInfo>> found(ids->size());
    std::mutex mutex;
    std::optional<Error> failure;
    ParallelFor(ids->size(), threads, [&](size_t i) {
      const std::string& id = (*ids)[i];
      bool gone = false;
      auto body = engine.Get("/images/" + id + "/json", &gone);
      if (!body.ok()) {
        if (gone) return;
        std::lock_guard lock(mutex);
        if (!failure) failure = body.error();
        return;
      }
      auto parsed = ParseImageInspect(*body);
      if (!parsed.ok()) {
        std::lock_guard lock(mutex);
        if (!failure) failure = parsed.error();
        return;
      }
      auto history = engine.Get("/images/" + id + "/history");
      if (!history.ok()) {
        parsed->history_error = history.error().message;
      } else if (auto steps = ParseImageHistory(*history); !steps.ok()) {
        parsed->history_error = steps.error().message;
      } else {
        parsed->history = std::move(steps).value();
      }
      found[i] = std::move(parsed).value();
    });
    if (failure) {
      note_error("engine.images", *failure);
    } else {
      for (auto& image : found) {
        if (image) facts.images.push_back(std::move(*image));
      }
    }
  }

  if (auto body = engine.Get("/networks"); !body.ok()) {
    note_error("engine.networks", body.error());
  } else if (auto networks = ParseNetworks(*body); !networks.ok()) {
    note_error("engine.networks", networks.error());
  } else {
    facts.networks = std::move(networks).value();
  }
  if (auto body = engine.Get("/volumes"); body.ok()) {
    if (auto count = ParseVolumeCount(*body); count.ok()) facts.volumes = *count;
  }
  if (auto body = engine.Get("/plugins"); body.ok()) {
    if (auto plugins = ParsePlugins(*body); plugins.ok())
      facts.plugins = std::move(plugins).value();
  }

  // Swarm details exist only on managers.
  if (facts.info.swarm_state == "active" && facts.info.swarm_manager) {
    auto fetch = [&](const std::string& path) -> Result<std::string> { return engine.Get(path); };
    Result<void> swarm = [&]() -> Result<void> {
      MOAT_ASSIGN_OR_RETURN(std::string body, fetch("/swarm"));
      MOAT_TRY(ParseSwarm(body, facts.swarm));
      MOAT_ASSIGN_OR_RETURN(body, fetch("/nodes"));
      MOAT_TRY(ParseNodes(body, facts.swarm));
      MOAT_ASSIGN_OR_RETURN(body, fetch("/services"));
      MOAT_ASSIGN_OR_RETURN(facts.swarm.services, ParseServices(body));
      MOAT_ASSIGN_OR_RETURN(body, fetch("/secrets"));
      MOAT_ASSIGN_OR_RETURN(facts.swarm.secrets, ParseArrayLength(body, "/secrets"));
      MOAT_ASSIGN_OR_RETURN(body, fetch("/configs"));
      MOAT_ASSIGN_OR_RETURN(facts.swarm.configs, ParseArrayLength(body, "/configs"));
      return Ok();
    }();
    if (!swarm.ok()) note_error("engine.swarm", swarm.error());
  } else if (facts.info.swarm_state == "active") {
    facts.input_errors["engine.swarm"] =
        "this node is a swarm worker; swarm settings are visible on managers only";
  }
}

bool SameSocket(std::string_view flag_value, const std::string& socket) {
  if (flag_value.rfind("unix://", 0) == 0) flag_value.remove_prefix(7);
  if (flag_value == socket) return true;
  // /var/run is a symlink to /run on current distributions.
  auto strip_var = [](std::string_view p) {
    return p.rfind("/var/run/", 0) == 0 ? p.substr(4) : p;
  };
  return strip_var(flag_value) == strip_var(socket);
}

// Finds the dockerd serving `socket` among the host's processes.
void CollectDaemon(DockerFacts& facts, std::vector<std::string>& notes) {
  DaemonConfig& daemon = facts.daemon;
  auto pids = facts.host.List("/proc");
  std::vector<std::pair<int, std::vector<std::string>>> candidates;
  if (pids.ok()) {
    for (const auto& name : *pids) {
      if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
      auto cmdline = facts.host.Read("/proc/" + name + "/cmdline", 1 << 20);
      if (!cmdline.ok() || cmdline->empty()) continue;
      auto argv = SplitCmdline(*cmdline);
      if (argv.empty()) continue;
      std::string_view base = argv[0];
      if (size_t slash = base.rfind('/'); slash != std::string_view::npos) {
        base.remove_prefix(slash + 1);
      }
      if (base != "dockerd") continue;
      candidates.emplace_back(std::atoi(name.c_str()), std::move(argv));
    }
  }
  const std::vector<std::string>* chosen = nullptr;
  for (const auto& [pid, argv] : candidates) {
    auto flags = ParseDockerdFlags({argv.begin() + 1, argv.end()});
    auto [begin, end] = flags.equal_range("host");
    bool match = false;
    if (begin == end) {
      match = SameSocket("/var/run/docker.sock", facts.socket_path);
    } else {
      for (auto it = begin; it != end; ++it) {
        match = match || SameSocket(it->second, facts.socket_path) ||
                (it->second.rfind("fd://", 0) == 0 &&
                 SameSocket("/var/run/docker.sock", facts.socket_path));
      }
    }
    if (match) {
      daemon.pid = pid;
      chosen = &argv;
      break;
    }
  }
  if (chosen == nullptr && candidates.size() == 1 && facts.host.root() != "/") {
    // A host seen through --host-root: the socket path we use is not the host's.
    daemon.pid = candidates[0].first;
    chosen = &candidates[0].second;
  }
  if (chosen == nullptr) {
    std::string why = candidates.empty()
                          ? "no dockerd process found in " + facts.host.Resolve("/proc")
                          : std::to_string(candidates.size()) +
                                " dockerd process(es) found, none serving " + facts.socket_path;
    facts.input_errors["daemon.cmdline"] = why;
    notes.push_back("daemon.cmdline: " + why + "; settings not in daemon.json cannot be decided");
  } else {
    daemon.cmdline_found = true;
    daemon.argv = *chosen;
    daemon.flags = ParseDockerdFlags({chosen->begin() + 1, chosen->end()});
    daemon.exe = daemon.argv[0];
    char target[4096];
    std::string link = facts.host.Resolve("/proc/" + std::to_string(daemon.pid) + "/exe");
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n > 0) daemon.exe = std::string(target, static_cast<size_t>(n));
  }

  auto config_file = daemon.flags.find("config-file");
  daemon.json_path =
      config_file != daemon.flags.end() ? config_file->second : "/etc/docker/daemon.json";
  StatInfo st = facts.host.Stat(daemon.json_path);
  if (!st.error.empty()) {
    facts.input_errors["daemon.json"] = daemon.json_path + ": " + st.error;
  } else if (st.exists) {
    daemon.json_exists = true;
    auto text = facts.host.Read(daemon.json_path, 4 << 20);
    if (!text.ok()) {
      facts.input_errors["daemon.json"] = text.error().message;
    } else if (auto keys = ParseDaemonJson(*text, daemon.json_path); !keys.ok()) {
      facts.input_errors["daemon.json"] = keys.error().message;
    } else {
      daemon.json = std::move(keys).value();
    }
  }
  if (auto it = facts.input_errors.find("daemon.json"); it != facts.input_errors.end()) {
    notes.push_back("daemon.json: " + it->second);
  }
}

void CollectAudit(DockerFacts& facts, bool run_auditctl) {
  if (run_auditctl && facts.host.root() == "/" &&
      (::access("/sbin/auditctl", X_OK) == 0 || ::access("/usr/sbin/auditctl", X_OK) == 0)) {
    FILE* pipe = ::popen("auditctl -l 2>/dev/null", "r");
    if (pipe != nullptr) {
      std::string out;
      char buffer[4096];
      size_t n;
      while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
      int status = ::pclose(pipe);
      if (status == 0) {
        facts.audit_rules = ParseAuditRules(out);
        facts.audit_source = "auditctl -l";
        return;
      }
    }
  }
  std::vector<std::string> files;
  if (auto names = facts.host.List("/etc/audit/rules.d"); names.ok()) {
    for (const auto& name : *names) {
      if (name.size() > 6 && name.substr(name.size() - 6) == ".rules") {
        files.push_back("/etc/audit/rules.d/" + name);
      }
    }
  }
  files.push_back("/etc/audit/audit.rules");
  std::vector<std::string> read;
  for (const auto& file : files) {
    StatInfo st = facts.host.Stat(file);
    if (!st.exists) continue;
    auto text = facts.host.Read(file, 4 << 20);
    if (!text.ok()) {
      facts.input_errors["host.audit"] = text.error().message;
      return;
    }
    for (auto& rule : ParseAuditRules(*text)) facts.audit_rules.push_back(std::move(rule));
    read.push_back(file);
  }
  if (read.empty()) {
    facts.audit_source =
        "no audit rules: auditctl not available, /etc/audit/rules.d/*.rules and "
        "/etc/audit/audit.rules absent";
  } else {
    std::string joined;
    for (const auto& file : read) joined += (joined.empty() ? "" : ", ") + file;
    facts.audit_source = joined;
  }
}

void CollectHost(DockerFacts& facts) {
  if (auto mounts = facts.host.Read("/proc/mounts"); mounts.ok()) {
    facts.host_mounts = ParseMounts(*mounts);
  } else {
    facts.input_errors["host.mounts"] = mounts.error().message;
  }
  StatInfo group = facts.host.Stat("/etc/group");
  if (auto text = facts.host.Read("/etc/group"); text.ok()) {
    auto members = GroupMembers(*text, "docker");
    facts.docker_group_exists = members.has_value();
    if (members) facts.docker_group_members = *members;
  } else if (group.exists || !group.error.empty()) {
    facts.input_errors["host.group"] = text.error().message;
  }
  bool any_net = false;
  for (auto [file, v6] : {std::pair{"/proc/net/tcp", false}, std::pair{"/proc/net/tcp6", true}}) {
    if (auto text = facts.host.Read(file); text.ok()) {
      any_net = true;
      for (auto& s : ParseProcNetTcp(*text, v6)) facts.listeners.push_back(std::move(s));
    }
  }
  if (!any_net)
    facts.input_errors["host.net"] = facts.host.Resolve("/proc/net/tcp") + " unreadable";
  if (const char* trust = std::getenv("DOCKER_CONTENT_TRUST")) facts.content_trust = trust;
  if (auto os = facts.host.Read("/etc/os-release"); os.ok()) {
    constexpr std::string_view kKey = "PRETTY_NAME=";
    for (std::string_view line : SplitLines(*os)) {
      if (line.substr(0, kKey.size()) != kKey) continue;
      std::string_view value = line.substr(kKey.size());
      if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
      facts.os_pretty_name = std::string(value);
      break;
    }
  }
}

}  // namespace

DockerFacts CollectDockerFacts(const CollectOptions& options, std::vector<std::string>& notes) {
  auto started = std::chrono::steady_clock::now();
  auto lap = [&](const char* what) {
    auto now = std::chrono::steady_clock::now();
    log::Debug(std::string("bench docker: ") + what + " read in " +
               std::to_string(std::chrono::duration<double, std::milli>(now - started).count()) +
               " ms");
    started = now;
  };
  DockerFacts facts;
  facts.host = HostFs(options.host_root);
  facts.socket_path = SocketPath(options.docker_host);
  Engine engine(facts.socket_path);
  if (auto connected = engine.Connect(); !connected.ok()) {
    for (const char* input : kEngineInputs) facts.input_errors[input] = connected.error().message;
    notes.push_back(connected.error().message);
  } else {
    CollectEngine(engine, facts, options.threads, notes);
  }
  lap("engine API");
  CollectDaemon(facts, notes);
  lap("dockerd command line and daemon.json");
  CollectAudit(facts, options.run_auditctl);
  lap("audit rules");
  CollectHost(facts);
  lap("host files");
  return facts;
}

}  // namespace moat::cis::docker
