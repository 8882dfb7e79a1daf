#include "sensor/event_json.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/alert.h"

namespace moat::sensor {

namespace {

using Json = nlohmann::ordered_json;

std::string Hex(uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

Json AddressJson(const SocketAddress& address) {
  Json json = {{"family", address.family}, {"address", address.address}};
  if (address.family == "ipv4" || address.family == "ipv6") json["port"] = address.port;
  return json;
}

Json ProcessJson(const ProcessInfo& process) {
  Json args = Json::array();
  for (size_t i = 1; i < process.exec.argv.size(); ++i) args.push_back(process.exec.argv[i]);
  return {{"pid", process.pid},      {"ppid", process.ppid},         {"name", process.comm},
          {"exe", process.exec.exe}, {"cmdline", process.Cmdline()}, {"args", std::move(args)}};
}

// Where the second path goes depends on the call.
const char* SecondPathKey(EventType type) {
  switch (type) {
    case EventType::kMount:
      return "source";
    case EventType::kSymlink:
      return "link_path";
    default:
      return "new_path";
  }
}

}  // namespace

std::string EnrichedEventToJson(const EnrichedEvent& enriched) {
  const Event& event = *enriched.event;
  Json json;
  json["time"] = FormatRfc3339Nanos(enriched.time_ns);
  json["type"] = EventTypeName(event.type);
  if (!event.syscall.empty()) json["syscall"] = event.syscall;
  json["ret"] = event.ret;
  json["pid"] = event.pid;
  json["tid"] = event.tid;
  if (!event.path.empty()) json["path"] = event.path;
  if (!event.path2.empty()) json[SecondPathKey(event.type)] = event.path2;
  if (event.local) json["local"] = AddressJson(*event.local);
  if (event.remote) json["remote"] = AddressJson(*event.remote);
  if (!event.numbers.empty() || !event.texts.empty()) {
    Json args = Json::object();
    for (const auto& [key, value] : event.numbers) args[key] = value;
    for (const auto& [key, value] : event.texts) args[key] = value;
    json["args"] = std::move(args);
  }

  Json proc;
  if (enriched.process != nullptr) {
    const ProcessInfo& p = *enriched.process;
    proc = ProcessJson(p);
    proc["name"] = event.comm.empty() ? p.comm : event.comm;
    proc["cwd"] = p.exec.cwd;
    proc["tty"] = p.exec.tty;
    proc["exe_upper_layer"] = p.exec.exe_upper_layer;
    proc["exe_memfd"] = p.exec.exe_memfd;
    proc["exe_inode"] = p.exec.exe_inode;
    proc["cap_effective"] = Hex(p.exec.cap_effective);
    proc["cap_permitted"] = Hex(p.exec.cap_permitted);
    proc["cap_inheritable"] = Hex(p.exec.cap_inheritable);
    proc["cgroup"] = p.exec.cgroup;
    // Parents by pid, name and executable (Falco's proc.apid/aname/aexepath); only the direct
    // parent's command line: long ancestor command lines would make every line kilobytes.
    Json parents = Json::array();
    for (const ProcessInfo* parent : enriched.parents) {
      Json entry = {{"pid", parent->pid}, {"name", parent->comm}, {"exe", parent->exec.exe}};
      if (parents.empty()) entry["cmdline"] = parent->Cmdline();
      parents.push_back(std::move(entry));
    }
    proc["parents"] = std::move(parents);
  } else {
    proc = {{"pid", event.pid}, {"name", event.comm}};
  }
  json["proc"] = std::move(proc);
  Json user = {{"uid", event.uid}, {"gid", event.gid}};
  if (enriched.process != nullptr) {
    user["euid"] = enriched.process->exec.euid;
    user["loginuid"] = enriched.process->exec.loginuid == UINT32_MAX
                           ? int64_t{-1}
                           : int64_t{enriched.process->exec.loginuid};
  }
  json["user"] = std::move(user);

  if (enriched.container != nullptr) {
    const ContainerInfo& c = *enriched.container;
    Json container = {{"id", c.id.substr(0, 12)}, {"full_id", c.id}, {"runtime", c.runtime}};
    if (c.resolved) {
      container["name"] = c.name;
      container["image"] = c.image;
      container["image_id"] = c.image_id;
      container["image_digest"] = c.image_digest;
      container["labels"] = c.labels;
    }
    json["container"] = std::move(container);
    std::string pod = c.Label("io.kubernetes.pod.name");
    if (!pod.empty()) {
      json["k8s"] = {{"pod", pod},
                     {"namespace", c.Label("io.kubernetes.pod.namespace")},
                     {"container", c.Label("io.kubernetes.container.name")}};
    }
  }
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace moat::sensor
