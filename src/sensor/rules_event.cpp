#include "sensor/rules_event.h"

#include <charconv>
#include <cstdlib>
#include <string>

namespace moat::sensor {

namespace {

// The process's texts as views into the tree's entry (which outlives the evaluation).
void ViewProcess(const ProcessInfo& process, rules::SyscallProcess& out) {
  const std::vector<std::string>& argv = process.exec.argv;
  out.pid = process.pid;
  out.name.SetView(process.comm);
  out.exe.SetView(argv.empty() ? std::string_view(process.exec.exe) : std::string_view(argv[0]));
  out.exepath.SetView(process.exec.exe);
  if (argv.size() > 1) {
    out.args.SetViews(argv.data() + 1, argv.data() + argv.size());
  } else {
    out.args.clear();
  }
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

void AppendEndpoint(const SocketAddress& address, std::string& out) {
  out += address.address;
  out += ':';
  out += std::to_string(address.port);
}

// fd.* of a socket event; the caller has reset them.
void SetSocket(rules::SyscallEvent& out, const Event& event) {
  const SocketAddress* any = event.remote ? &*event.remote : event.local ? &*event.local : nullptr;
  if (any == nullptr) return;
  out.fd_typechar = any->family == "ipv4"   ? '4'
                    : any->family == "ipv6" ? '6'
                    : any->family == "unix" ? 'u'
                                            : 0;
  if (event.local) {
    out.local_ip.SetView(event.local->address);
    out.local_port = event.local->port;
  }
  if (event.remote) {
    out.remote_ip.SetView(event.remote->address);
    out.remote_port = event.remote->port;
  }
  out.local_is_server = event.type == EventType::kAccept || event.type == EventType::kListen ||
                        event.type == EventType::kBind;
  out.fd_connected = event.remote.has_value() && event.local.has_value();
  if (out.fd_typechar == 'u') {
    out.fd_name.SetView(any->address);
  } else if (out.fd_connected) {
    // Falco's fd.name of a connected socket: client ip:port -> server ip:port.
    const SocketAddress& client = out.local_is_server ? *event.remote : *event.local;
    const SocketAddress& server = out.local_is_server ? *event.local : *event.remote;
    std::string& name = out.fd_name.Buffer();
    AppendEndpoint(client, name);
    name += "->";
    AppendEndpoint(server, name);
  } else {
    AppendEndpoint(*any, out.fd_name.Buffer());
  }
  if (event.type == EventType::kDnsQuery) out.l4proto.SetView("udp");
}

// `flags` as Falco's names of the set bits, joined by "|"; "0" when none is set.
template <size_t N>
void FlagNames(uint64_t flags, const std::pair<uint64_t, const char*> (&names)[N],
               std::string& text) {
  for (const auto& [bit, name] : names) {
    if ((flags & bit) != bit) continue;
    if (!text.empty()) text += '|';
    text += name;
  }
  if (text.empty()) text = "0";
}

constexpr std::pair<uint64_t, const char*> kNamespaceFlags[] = {
    {0x00000080, "CLONE_NEWTIME"}, {0x00020000, "CLONE_NEWNS"},  {0x02000000, "CLONE_NEWCGROUP"},
    {0x04000000, "CLONE_NEWUTS"},  {0x08000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"},
    {0x20000000, "CLONE_NEWPID"},  {0x40000000, "CLONE_NEWNET"}};

constexpr std::pair<uint64_t, const char*> kModeFlags[] = {
    {01, "S_IXOTH"},   {02, "S_IWOTH"},    {04, "S_IROTH"},    {010, "S_IXGRP"},
    {020, "S_IWGRP"},  {040, "S_IRGRP"},   {0100, "S_IXUSR"},  {0200, "S_IWUSR"},
    {0400, "S_IRUSR"}, {01000, "S_ISVTX"}, {02000, "S_ISGID"}, {04000, "S_ISUID"}};

void PtraceRequestName(int64_t request, std::string& out) {
  static constexpr std::pair<int64_t, const char*> kRequests[] = {
      {0, "PTRACE_TRACEME"},         {1, "PTRACE_PEEKTEXT"},   {2, "PTRACE_PEEKDATA"},
      {3, "PTRACE_PEEKUSR"},         {4, "PTRACE_POKETEXT"},   {5, "PTRACE_POKEDATA"},
      {6, "PTRACE_POKEUSR"},         {7, "PTRACE_CONT"},       {8, "PTRACE_KILL"},
      {9, "PTRACE_SINGLESTEP"},      {12, "PTRACE_GETREGS"},   {13, "PTRACE_SETREGS"},
      {16, "PTRACE_ATTACH"},         {17, "PTRACE_DETACH"},    {24, "PTRACE_SYSCALL"},
      {0x4200, "PTRACE_SETOPTIONS"}, {0x4206, "PTRACE_SEIZE"}, {0x4207, "PTRACE_INTERRUPT"}};
  for (const auto& [value, name] : kRequests) {
    if (value != request) continue;
    out = name;
    return;
  }
  out = std::to_string(request);
}

// evt.arg.NAME of a numeric argument as Falco prints it, into `out` (empty): flags and modes by
// name, the rest as decimal.
void NumericArgText(EventType type, std::string_view name, int64_t value, std::string& out) {
  const auto bits = static_cast<uint64_t>(value);
  if (type == EventType::kOpen && name == "flags") return AppendOpenFlagsText(bits, out);
  if ((type == EventType::kUnshare || type == EventType::kCloneNamespaces) && name == "flags") {
    return FlagNames(bits, kNamespaceFlags, out);
  }
  if (type == EventType::kSetns && name == "nstype") return FlagNames(bits, kNamespaceFlags, out);
  if (type == EventType::kChmod && name == "mode") return FlagNames(bits, kModeFlags, out);
  if (type == EventType::kPtrace && name == "request") return PtraceRequestName(value, out);
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;
  out.append(digits, end);
}

}  // namespace

std::string OpenFlagsText(uint64_t flags) {
  std::string text;
  AppendOpenFlagsText(flags, text);
  return text;
}

void AppendOpenFlagsText(uint64_t flags, std::string& text) {
  const size_t start = text.size();
  auto add = [&](const char* name) {
    if (text.size() > start) text += '|';
    text += name;
  };
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
}

int64_t TtyDeviceNumber(std::string_view name) {
  if (auto n = NumberAfter(name, "pts")) return EncodeDevice(136, *n);
  if (auto n = NumberAfter(name, "ttyS")) return EncodeDevice(4, 64 + *n);
  if (auto n = NumberAfter(name, "tty")) return EncodeDevice(4, *n);
  if (name == "console") return EncodeDevice(5, 1);
  return 0;
}

void FillSyscallEvent(const EnrichedEvent& enriched, uint64_t number, rules::SyscallEvent& out) {
  const Event& event = *enriched.event;
  out.num = number;
  out.type.SetView(!event.syscall.empty()           ? std::string_view(event.syscall)
                   : event.type == EventType::kFork ? std::string_view("clone")
                                                    : EventTypeName(event.type));
  out.dir = '<';
  out.time_ns = enriched.time_ns;
  out.res = event.ret;
  out.uid = event.uid;
  out.gid = event.gid;
  out.user_name.Assign(enriched.user_name);  // a short name: kept in the field, no allocation
  out.login_name.SetView("");
  out.group_name.SetView("");

  // evt.arg.*: resized rather than cleared, so that each argument's storage is reused.
  const bool two_paths = event.type == EventType::kRename || event.type == EventType::kLink ||
                         event.type == EventType::kSymlink;
  const bool has_path = !event.path.empty();
  const bool has_path2 = has_path && !event.path2.empty();
  out.args.resize(event.numbers.size() + event.texts.size() + has_path + has_path2);
  size_t at = 0;
  for (const auto& [name, value] : event.numbers) {
    rules::SyscallArg& arg = out.args[at++];
    arg.name.SetView(name);
    NumericArgText(event.type, name, value, arg.value.Buffer());
  }
  for (const auto& [name, value] : event.texts) {
    rules::SyscallArg& arg = out.args[at++];
    arg.name.SetView(name);
    arg.value.SetView(value);
  }
  if (has_path) {
    // Falco's argument names: open's "name", rename/link's "oldpath"/"newpath", the rest "path".
    rules::SyscallArg& arg = out.args[at++];
    arg.name.SetView(event.type == EventType::kOpen    ? "name"
                     : two_paths                       ? "oldpath"
                     : event.type == EventType::kMount ? "dir"
                                                       : "path");
    arg.value.SetView(event.path);
    if (has_path2) {
      rules::SyscallArg& second = out.args[at++];
      second.name.SetView(event.type == EventType::kMount ? "dev" : "newpath");
      second.value.SetView(event.path2);
    }
  }

  out.fd_num = -1;
  out.fd_typechar = 0;
  out.fd_name.SetView("");
  out.fd_connected = false;
  out.l4proto.SetView("");
  out.local_ip.SetView("");
  out.local_port = 0;
  out.remote_ip.SetView("");
  out.remote_port = 0;
  out.local_is_server = false;
  if (event.type == EventType::kOpen) {
    out.fd_num = event.ret;
    out.fd_typechar = 'f';
    out.fd_name.SetView(event.path);
  } else {
    if (auto fd = event.Number("fd")) out.fd_num = *fd;
    SetSocket(out, event);
  }

  out.env.SetView("");
  out.start_ns = 0;
  out.session_leader_name.SetView("");
  if (const ProcessInfo* process = enriched.process) {
    ViewProcess(*process, out.proc);
    out.proc.pid = event.pid;
    if (!event.comm.empty()) out.proc.name.SetView(event.comm);
    out.ppid = process->ppid;
    out.ancestors.resize(enriched.parents.size());
    for (size_t i = 0; i < enriched.parents.size(); ++i) {
      ViewProcess(*enriched.parents[i], out.ancestors[i]);
    }
    out.cwd.SetView(process->exec.cwd);
    out.tty = TtyDeviceNumber(process->exec.tty);
    out.exe_upper_layer = process->exec.exe_upper_layer;
    out.exe_from_memfd = process->exec.exe_memfd;
    out.exe_from_image = process->exec.exe_from_image;
    out.cap_effective = process->exec.cap_effective;
    out.cap_permitted = process->exec.cap_permitted;
    out.loginuid = process->exec.loginuid == UINT32_MAX ? -1 : process->exec.loginuid;
  } else {
    out.proc.pid = event.pid;
    out.proc.name.SetView(event.comm);
    out.proc.exe.SetView("");
    out.proc.exepath.SetView("");
    out.proc.args.clear();
    out.ppid = 0;
    out.ancestors.clear();
    out.cwd.SetView("");
    out.tty = 0;
    out.exe_upper_layer = false;
    out.exe_from_memfd = false;
    out.exe_from_image.reset();
    out.cap_effective = 0;
    out.cap_permitted = 0;
    out.loginuid = -1;
  }

  out.container_start_ns = 0;
  auto label = [](const ContainerInfo& container, const std::string& key) {
    auto found = container.labels.find(key);
    return found == container.labels.end() ? std::string_view() : std::string_view(found->second);
  };
  if (const ContainerInfo* container = enriched.container) {
    out.container_id.SetView(std::string_view(container->id).substr(0, 12));
    out.container_name.SetView(container->resolved ? std::string_view(container->name) : "");
    out.container_image.SetView(container->image);
    out.container_image_digest.SetView(container->image_digest);
    out.container_privileged = container->privileged;
    out.container_host_mounts = &container->host_mounts;
    static const std::string kPodLabel = "io.kubernetes.pod.name";
    static const std::string kNamespaceLabel = "io.kubernetes.pod.namespace";
    out.k8s_pod_name.SetView(label(*container, kPodLabel));
    out.k8s_ns_name.SetView(label(*container, kNamespaceLabel));
  } else {
    out.container_id.SetView("host");
    out.container_name.SetView("host");
    out.container_image.SetView("");
    out.container_image_digest.SetView("");
    out.container_privileged = false;
    out.container_host_mounts = nullptr;
    out.k8s_pod_name.SetView("");
    out.k8s_ns_name.SetView("");
  }
}

rules::SyscallEvent ToSyscallEvent(const EnrichedEvent& enriched, uint64_t number) {
  rules::SyscallEvent out;
  FillSyscallEvent(enriched, number, out);
  return out;
}

}  // namespace moat::sensor
