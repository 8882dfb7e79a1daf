#include "sensor/event_json.h"

#include <charconv>
#include <cstdio>

#include "core/alert.h"
#include "core/json_writer.h"

namespace moat::sensor {

namespace {

// A compact JSON object written straight into a string: --events prints every event, and
// building an nlohmann tree per event was what limited the sensor's rate (docs/benchmarks.md).
// Keys are literals of this file; values are escaped by core's AppendJsonString.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  void End() { out_.push_back('}'); }

  void Key(std::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    out_.push_back('"');
    out_.append(key);
    out_.append("\":");
  }
  /// A key that comes from the data (argument names), escaped.
  void DataKey(std::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    AppendJsonString(out_, key);
    out_.push_back(':');
  }
  void String(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(out_, value);
  }
  void Int(std::string_view key, int64_t value) {
    Key(key);
    AppendNumber(value);
  }
  void Uint(std::string_view key, uint64_t value) {
    Key(key);
    AppendNumber(value);
  }
  void Bool(std::string_view key, bool value) {
    Key(key);
    out_.append(value ? "true" : "false");
  }
  template <typename T>
  void AppendNumber(T value) {
    char text[24];
    auto result = std::to_chars(text, text + sizeof text, value);
    out_.append(text, result.ptr);
  }

 private:
  std::string& out_;
  bool first_ = true;
};

std::string Hex(uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

void AppendAddress(std::string& out, const SocketAddress& address) {
  ObjectWriter json(out);
  json.String("family", address.family);
  json.String("address", address.address);
  if (address.family == "ipv4" || address.family == "ipv6") json.Uint("port", address.port);
  json.End();
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

void AppendProcess(std::string& out, const EnrichedEvent& enriched) {
  const Event& event = *enriched.event;
  ObjectWriter proc(out);
  if (enriched.process == nullptr) {
    proc.Uint("pid", event.pid);
    proc.String("name", event.comm);
    proc.End();
    return;
  }
  const ProcessInfo& p = *enriched.process;
  proc.Uint("pid", p.pid);
  proc.Uint("ppid", p.ppid);
  proc.String("name", event.comm.empty() ? p.comm : event.comm);
  proc.String("exe", p.exec.exe);
  proc.String("cmdline", p.Cmdline());
  proc.Key("args");
  out.push_back('[');
  for (size_t i = 1; i < p.exec.argv.size(); ++i) {
    if (i > 1) out.push_back(',');
    AppendJsonString(out, p.exec.argv[i]);
  }
  out.push_back(']');
  proc.String("cwd", p.exec.cwd);
  proc.String("tty", p.exec.tty);
  proc.Bool("exe_upper_layer", p.exec.exe_upper_layer);
  proc.Bool("exe_memfd", p.exec.exe_memfd);
  if (p.exec.exe_from_image) proc.Bool("exe_from_image", *p.exec.exe_from_image);
  proc.Uint("exe_inode", p.exec.exe_inode);
  proc.String("cap_effective", Hex(p.exec.cap_effective));
  proc.String("cap_permitted", Hex(p.exec.cap_permitted));
  proc.String("cap_inheritable", Hex(p.exec.cap_inheritable));
  proc.String("cgroup", p.exec.cgroup);
  // Parents by pid, name and executable (Falco's proc.apid/aname/aexepath); only the direct
  // parent's command line: long ancestor command lines would make every line kilobytes.
  proc.Key("parents");
  out.push_back('[');
  for (size_t i = 0; i < enriched.parents.size(); ++i) {
    const ProcessInfo& parent = *enriched.parents[i];
    if (i > 0) out.push_back(',');
    ObjectWriter entry(out);
    entry.Uint("pid", parent.pid);
    entry.String("name", parent.comm);
    entry.String("exe", parent.exec.exe);
    if (i == 0) entry.String("cmdline", parent.Cmdline());
    entry.End();
  }
  out.push_back(']');
  proc.End();
}

}  // namespace

void AppendEnrichedEventJson(const EnrichedEvent& enriched, std::string& out) {
  const Event& event = *enriched.event;
  ObjectWriter json(out);
  json.String("time", FormatRfc3339Nanos(enriched.time_ns));
  json.String("type", EventTypeName(event.type));
  if (!event.syscall.empty()) json.String("syscall", event.syscall);
  json.Int("ret", event.ret);
  json.Uint("pid", event.pid);
  json.Uint("tid", event.tid);
  if (!event.path.empty()) json.String("path", event.path);
  if (!event.path2.empty()) json.String(SecondPathKey(event.type), event.path2);
  if (event.local) {
    json.Key("local");
    AppendAddress(out, *event.local);
  }
  if (event.remote) {
    json.Key("remote");
    AppendAddress(out, *event.remote);
  }
  if (!event.numbers.empty() || !event.texts.empty()) {
    json.Key("args");
    ObjectWriter args(out);
    for (const auto& [key, value] : event.numbers) {
      args.DataKey(key);
      args.AppendNumber(value);
    }
    for (const auto& [key, value] : event.texts) {
      args.DataKey(key);
      AppendJsonString(out, value);
    }
    args.End();
  }
  json.Key("proc");
  AppendProcess(out, enriched);
  json.Key("user");
  {
    ObjectWriter user(out);
    user.Uint("uid", event.uid);
    user.Uint("gid", event.gid);
    if (!enriched.user_name.empty()) user.String("name", enriched.user_name);
    if (enriched.process != nullptr) {
      user.Uint("euid", enriched.process->exec.euid);
      user.Int("loginuid", enriched.process->exec.loginuid == UINT32_MAX
                               ? int64_t{-1}
                               : int64_t{enriched.process->exec.loginuid});
    }
    user.End();
  }
  if (enriched.container != nullptr) {
    const ContainerInfo& c = *enriched.container;
    json.Key("container");
    ObjectWriter container(out);
    container.String("id", std::string_view(c.id).substr(0, 12));
    container.String("full_id", c.id);
    container.String("runtime", c.runtime);
    if (c.resolved) {
      container.String("name", c.name);
      container.String("image", c.image);
      container.String("image_id", c.image_id);
      container.String("image_digest", c.image_digest);
      container.Bool("privileged", c.privileged);
      container.Key("labels");
      ObjectWriter labels(out);
      for (const auto& [key, value] : c.labels) {
        labels.DataKey(key);
        AppendJsonString(out, value);
      }
      labels.End();
    }
    container.End();
    std::string pod = c.Label("io.kubernetes.pod.name");
    if (!pod.empty()) {
      json.Key("k8s");
      ObjectWriter k8s(out);
      k8s.String("pod", pod);
      k8s.String("namespace", c.Label("io.kubernetes.pod.namespace"));
      k8s.String("container", c.Label("io.kubernetes.container.name"));
      k8s.End();
    }
  }
  json.End();
}

std::string EnrichedEventToJson(const EnrichedEvent& enriched) {
  std::string out;
  AppendEnrichedEventJson(enriched, out);
  return out;
}

}  // namespace moat::sensor
