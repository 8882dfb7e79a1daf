#include "sensor/rules_event.h"

#include <cstdlib>
#include <string>

namespace moat::sensor {

namespace {

rules::SyscallProcess ProcessOf(const ProcessInfo& process) {
  rules::SyscallProcess out;
  out.pid = process.pid;
  out.name = process.comm;
  out.exe = process.exec.argv.empty() ? process.exec.exe : process.exec.argv.front();
  out.exepath = process.exec.exe;
  if (process.exec.argv.size() > 1) {
    out.args.assign(process.exec.argv.begin() + 1, process.exec.argv.end());
  }
  return out;
}

// Linux's new_encode_dev(MKDEV(major, minor)), which is how Falco reports proc.tty.
int64_t EncodeDevice(int64_t major, int64_t minor) {
  return (minor & 0xff) | (major << 8) | ((minor & ~int64_t{0xff}) << 12);
}

std::optional<int64_t> NumberAfter(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) != prefix || name.size() == prefix.size()) return std::nullopt;
  int64_t value = 0;
  for (char c : name.substr(prefix.size())) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

void SetSocket(rules::SyscallEvent& out, const Event& event) {
  const SocketAddress* any = event.remote ? &*event.remote : event.local ? &*event.local : nullptr;
  if (any == nullptr) return;
  out.fd_typechar = any->family == "ipv4"   ? '4'
                    : any->family == "ipv6" ? '6'
                    : any->family == "unix" ? 'u'
                                            : 0;
  if (event.local) {
    out.local_ip = event.local->address;
    out.local_port = event.local->port;
  }
  if (event.remote) {
    out.remote_ip = event.remote->address;
    out.remote_port = event.remote->port;
  }
  out.local_is_server = event.type == EventType::kAccept || event.type == EventType::kListen ||
                        event.type == EventType::kBind;
  out.fd_connected = event.remote.has_value() && event.local.has_value();
  if (out.fd_typechar == 'u') {
    out.fd_name = any->address;
  } else if (out.fd_connected) {
    // Falco's fd.name of a connected socket: client ip:port -> server ip:port.
    const SocketAddress& client = out.local_is_server ? *event.remote : *event.local;
    const SocketAddress& server = out.local_is_server ? *event.local : *event.remote;
    out.fd_name = client.address + ":" + std::to_string(client.port) + "->" + server.address + ":" +
                  std::to_string(server.port);
  } else {
    out.fd_name = any->address + ":" + std::to_string(any->port);
  }
  if (event.type == EventType::kDnsQuery) out.l4proto = "udp";
}

// `flags` as Falco's names of the set bits, joined by "|"; "0" when none is set.
template <size_t N>
std::string FlagNames(uint64_t flags, const std::pair<uint64_t, const char*> (&names)[N]) {
  std::string text;
  for (const auto& [bit, name] : names) {
    if ((flags & bit) == bit) text += (text.empty() ? "" : "|") + std::string(name);
  }
  return text.empty() ? "0" : text;
}

constexpr std::pair<uint64_t, const char*> kNamespaceFlags[] = {
    {0x00000080, "CLONE_NEWTIME"}, {0x00020000, "CLONE_NEWNS"},  {0x02000000, "CLONE_NEWCGROUP"},
    {0x04000000, "CLONE_NEWUTS"},  {0x08000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"},
    {0x20000000, "CLONE_NEWPID"},  {0x40000000, "CLONE_NEWNET"}};

constexpr std::pair<uint64_t, const char*> kModeFlags[] = {
    {01, "S_IXOTH"},   {02, "S_IWOTH"},    {04, "S_IROTH"},    {010, "S_IXGRP"},
    {020, "S_IWGRP"},  {040, "S_IRGRP"},   {0100, "S_IXUSR"},  {0200, "S_IWUSR"},
    {0400, "S_IRUSR"}, {01000, "S_ISVTX"}, {02000, "S_ISGID"}, {04000, "S_ISUID"}};

std::string PtraceRequestName(int64_t request) {
  static constexpr std::pair<int64_t, const char*> kRequests[] = {
      {0, "PTRACE_TRACEME"},         {1, "PTRACE_PEEKTEXT"},   {2, "PTRACE_PEEKDATA"},
      {3, "PTRACE_PEEKUSR"},         {4, "PTRACE_POKETEXT"},   {5, "PTRACE_POKEDATA"},
      {6, "PTRACE_POKEUSR"},         {7, "PTRACE_CONT"},       {8, "PTRACE_KILL"},
      {9, "PTRACE_SINGLESTEP"},      {12, "PTRACE_GETREGS"},   {13, "PTRACE_SETREGS"},
      {16, "PTRACE_ATTACH"},         {17, "PTRACE_DETACH"},    {24, "PTRACE_SYSCALL"},
      {0x4200, "PTRACE_SETOPTIONS"}, {0x4206, "PTRACE_SEIZE"}, {0x4207, "PTRACE_INTERRUPT"}};
  for (const auto& [value, name] : kRequests) {
    if (value == request) return name;
  }
  return std::to_string(request);
}

// evt.arg.NAME of a numeric argument as Falco prints it: flags and modes by name, the rest as
// decimal.
std::string NumericArgText(EventType type, std::string_view name, int64_t value) {
  const auto bits = static_cast<uint64_t>(value);
  if (type == EventType::kOpen && name == "flags") return OpenFlagsText(bits);
  if ((type == EventType::kUnshare || type == EventType::kCloneNamespaces) && name == "flags") {
    return FlagNames(bits, kNamespaceFlags);
  }
  if (type == EventType::kSetns && name == "nstype") return FlagNames(bits, kNamespaceFlags);
  if (type == EventType::kChmod && name == "mode") return FlagNames(bits, kModeFlags);
  if (type == EventType::kPtrace && name == "request") return PtraceRequestName(value);
  return std::to_string(value);
}

}  // namespace

std::string OpenFlagsText(uint64_t flags) {
  std::string text;
  auto add = [&](const char* name) { text += (text.empty() ? "" : "|") + std::string(name); };
  switch (flags & 03) {
    case 0:
      add("O_RDONLY");
      break;
    case 1:
      add("O_WRONLY");
      break;
    default:
      add("O_RDWR");
      break;
  }
  static constexpr std::pair<uint64_t, const char*> kFlags[] = {
      {0100, "O_CREAT"},       {0200, "O_EXCL"},        {0400, "O_NOCTTY"},
      {01000, "O_TRUNC"},      {02000, "O_APPEND"},     {04000, "O_NONBLOCK"},
      {010000, "O_DSYNC"},     {040000, "O_DIRECT"},    {0200000, "O_DIRECTORY"},
      {0400000, "O_NOFOLLOW"}, {01000000, "O_NOATIME"}, {02000000, "O_CLOEXEC"},
      {010000000, "O_PATH"},   {020000000, "O_TMPFILE"}};
  for (const auto& [bit, name] : kFlags) {
    // O_TMPFILE includes O_DIRECTORY's bit: name it only when both are set.
    if ((flags & bit) == bit) add(name);
  }
  return text;
}

int64_t TtyDeviceNumber(std::string_view name) {
  if (auto n = NumberAfter(name, "pts")) return EncodeDevice(136, *n);
  if (auto n = NumberAfter(name, "ttyS")) return EncodeDevice(4, 64 + *n);
  if (auto n = NumberAfter(name, "tty")) return EncodeDevice(4, *n);
  if (name == "console") return EncodeDevice(5, 1);
  return 0;
}

rules::SyscallEvent ToSyscallEvent(const EnrichedEvent& enriched, uint64_t number) {
  const Event& event = *enriched.event;
  rules::SyscallEvent out;
  out.num = number;
  out.type = !event.syscall.empty()           ? event.syscall
             : event.type == EventType::kFork ? "clone"
                                              : std::string(EventTypeName(event.type));
  out.time_ns = enriched.time_ns;
  out.res = event.ret;
  out.uid = event.uid;
  out.gid = event.gid;
  out.user_name = enriched.user_name;
  for (const auto& [name, value] : event.numbers) {
    out.args.emplace_back(name, NumericArgText(event.type, name, value));
  }
  for (const auto& [name, value] : event.texts) out.args.emplace_back(name, value);
  if (!event.path.empty()) {
    // Falco's argument names: open's "name", rename/link's "oldpath"/"newpath", the rest "path".
    bool two_paths = event.type == EventType::kRename || event.type == EventType::kLink ||
                     event.type == EventType::kSymlink;
    out.args.emplace_back(event.type == EventType::kOpen    ? "name"
                          : two_paths                       ? "oldpath"
                          : event.type == EventType::kMount ? "dir"
                                                            : "path",
                          event.path);
    if (!event.path2.empty()) {
      out.args.emplace_back(event.type == EventType::kMount ? "dev" : "newpath", event.path2);
    }
  }
  if (event.type == EventType::kOpen) {
    out.fd_num = event.ret;
    out.fd_typechar = 'f';
    out.fd_name = event.path;
  } else {
    if (auto fd = event.Number("fd")) out.fd_num = *fd;
    SetSocket(out, event);
  }

  if (const ProcessInfo* process = enriched.process) {
    out.proc = ProcessOf(*process);
    out.proc.pid = event.pid;
    if (!event.comm.empty()) out.proc.name = event.comm;
    out.ppid = process->ppid;
    for (const ProcessInfo* parent : enriched.parents) out.ancestors.push_back(ProcessOf(*parent));
    out.cwd = process->exec.cwd;
    out.tty = TtyDeviceNumber(process->exec.tty);
    out.exe_upper_layer = process->exec.exe_upper_layer;
    out.exe_from_memfd = process->exec.exe_memfd;
    out.cap_effective = process->exec.cap_effective;
    out.cap_permitted = process->exec.cap_permitted;
    out.loginuid = process->exec.loginuid == UINT32_MAX ? -1 : process->exec.loginuid;
  } else {
    out.proc.pid = event.pid;
    out.proc.name = event.comm;
  }
  if (const ContainerInfo* container = enriched.container) {
    out.container_id = container->id.substr(0, 12);
    out.container_name = container->resolved ? container->name : "";
    out.container_image = container->image;
    out.container_image_digest = container->image_digest;
    out.container_privileged = container->privileged;
    out.k8s_pod_name = container->Label("io.kubernetes.pod.name");
    out.k8s_ns_name = container->Label("io.kubernetes.pod.namespace");
  }
  return out;
}

}  // namespace moat::sensor
