#include "rules/syscall_event.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ostream>

#include "core/text.h"
#include "rules/image_name.h"

namespace moat::rules {

std::ostream& operator<<(std::ostream& out, const EventText& text) { return out << text.view(); }

EventTextList& EventTextList::operator=(const std::vector<std::string>& items) {
  clear();
  for (const std::string& item : items) push_back(item);
  return *this;
}

void EventTextList::SetViews(const std::string* first, const std::string* last) {
  size_ = static_cast<size_t>(last - first);
  if (items_.size() < size_) items_.resize(size_);
  for (size_t i = 0; i < size_; ++i) items_[i].SetView(first[i]);
}

void EventTextList::push_back(EventText item) {
  if (size_ < items_.size()) {
    items_[size_] = std::move(item);
  } else {
    items_.push_back(std::move(item));
  }
  ++size_;
}

const EventText* SyscallEvent::Arg(std::string_view name) const {
  for (const SyscallArg& arg : args) {
    if (arg.name == name) return &arg.value;
  }
  return nullptr;
}

namespace {

enum class SysField : uint8_t {
  kEvtNum,
  kEvtType,
  kEvtDir,
  kEvtRes,
  kEvtRawRes,
  kEvtArg,  // evt.arg.NAME and evt.arg[NAME]
  kEvtArgs,
  kEvtIsOpenRead,
  kEvtIsOpenWrite,
  kProcName,
  kProcExe,
  kProcExePath,
  kProcCmdline,
  kProcArgs,
  kProcPid,
  kProcPpid,
  kProcPname,
  kProcPexe,
  kProcPexePath,
  kProcPcmdline,
  kProcAname,
  kProcApid,
  kProcAexe,
  kProcAexePath,
  kProcTty,
  kProcCwd,
  kProcIsExeUpperLayer,
  kProcIsExeFromMemfd,
  kProcIsExeFromImage,
  kProcEnv,
  kProcDuration,
  kProcSname,
  kThreadCapEffective,
  kThreadCapPermitted,
  kUserName,
  kUserUid,
  kUserLoginUid,
  kUserLoginName,
  kGroupGid,
  kGroupName,
  kFdNum,
  kFdName,
  kFdNameRaw,
  kFdConnected,
  kFdDirectory,
  kFdFilename,
  kFdTypeChar,
  kFdType,
  kFdSip,
  kFdSport,
  kFdCip,
  kFdCport,
  kFdLip,
  kFdLport,
  kFdRip,
  kFdRport,
  kFdIp,
  kFdPort,
  kFdL4Proto,
  kContainerId,
  kContainerName,
  kContainerImage,
  kContainerImageRepository,
  kContainerImageTag,
  kContainerImageDigest,
  kContainerPrivileged,
  kContainerMountSource,
  kContainerStartTs,
  kK8sPodName,
  kK8sNsName,
};

// [N] on the ancestor fields: 0 = the process, 1 = its parent, ...; without it, every ancestor.
enum class Arg : uint8_t { kNone, kAncestor, kName };

struct SysSpec {
  std::string_view name;
  SysField field;
  FieldType type;
  bool is_list;
  Arg argument;
};

constexpr FieldType S = FieldType::kString;
constexpr FieldType I = FieldType::kInt;
constexpr FieldType B = FieldType::kBool;

constexpr SysSpec kSysFields[] = {
    {"evt.num", SysField::kEvtNum, I, false, Arg::kNone},
    {"evt.type", SysField::kEvtType, S, false, Arg::kNone},
    {"evt.dir", SysField::kEvtDir, S, false, Arg::kNone},
    {"evt.res", SysField::kEvtRes, S, false, Arg::kNone},
    {"evt.rawres", SysField::kEvtRawRes, I, false, Arg::kNone},
    {"evt.arg", SysField::kEvtArg, S, false, Arg::kName},
    {"evt.args", SysField::kEvtArgs, S, false, Arg::kNone},
    {"evt.is_open_read", SysField::kEvtIsOpenRead, B, false, Arg::kNone},
    {"evt.is_open_write", SysField::kEvtIsOpenWrite, B, false, Arg::kNone},
    {"proc.name", SysField::kProcName, S, false, Arg::kNone},
    {"proc.exe", SysField::kProcExe, S, false, Arg::kNone},
    {"proc.exepath", SysField::kProcExePath, S, false, Arg::kNone},
    {"proc.cmdline", SysField::kProcCmdline, S, false, Arg::kNone},
    {"proc.args", SysField::kProcArgs, S, false, Arg::kNone},
    {"proc.pid", SysField::kProcPid, I, false, Arg::kNone},
    {"proc.ppid", SysField::kProcPpid, I, false, Arg::kNone},
    {"proc.pname", SysField::kProcPname, S, false, Arg::kNone},
    {"proc.pexe", SysField::kProcPexe, S, false, Arg::kNone},
    {"proc.pexepath", SysField::kProcPexePath, S, false, Arg::kNone},
    {"proc.pcmdline", SysField::kProcPcmdline, S, false, Arg::kNone},
    {"proc.aname", SysField::kProcAname, S, true, Arg::kAncestor},
    {"proc.apid", SysField::kProcApid, I, true, Arg::kAncestor},
    {"proc.aexe", SysField::kProcAexe, S, true, Arg::kAncestor},
    {"proc.aexepath", SysField::kProcAexePath, S, true, Arg::kAncestor},
    {"proc.tty", SysField::kProcTty, I, false, Arg::kNone},
    {"proc.cwd", SysField::kProcCwd, S, false, Arg::kNone},
    {"proc.is_exe_upper_layer", SysField::kProcIsExeUpperLayer, B, false, Arg::kNone},
    {"proc.is_exe_from_memfd", SysField::kProcIsExeFromMemfd, B, false, Arg::kNone},
    // Moat's: the executable is one of the image's (the scanner's layer cache); absent unknown.
    {"proc.is_exe_from_image", SysField::kProcIsExeFromImage, B, false, Arg::kNone},
    {"proc.env", SysField::kProcEnv, S, false, Arg::kNone},
    {"proc.duration", SysField::kProcDuration, I, false, Arg::kNone},
    {"proc.sname", SysField::kProcSname, S, false, Arg::kNone},
    {"thread.cap_effective", SysField::kThreadCapEffective, S, false, Arg::kNone},
    {"thread.cap_permitted", SysField::kThreadCapPermitted, S, false, Arg::kNone},
    {"user.name", SysField::kUserName, S, false, Arg::kNone},
    {"user.uid", SysField::kUserUid, I, false, Arg::kNone},
    {"user.loginuid", SysField::kUserLoginUid, I, false, Arg::kNone},
    {"user.loginname", SysField::kUserLoginName, S, false, Arg::kNone},
    {"group.gid", SysField::kGroupGid, I, false, Arg::kNone},
    {"group.name", SysField::kGroupName, S, false, Arg::kNone},
    {"fd.num", SysField::kFdNum, I, false, Arg::kNone},
    {"fd.name", SysField::kFdName, S, false, Arg::kNone},
    {"fd.nameraw", SysField::kFdNameRaw, S, false, Arg::kNone},
    {"fd.connected", SysField::kFdConnected, B, false, Arg::kNone},
    {"fd.directory", SysField::kFdDirectory, S, false, Arg::kNone},
    {"fd.filename", SysField::kFdFilename, S, false, Arg::kNone},
    {"fd.typechar", SysField::kFdTypeChar, S, false, Arg::kNone},
    {"fd.type", SysField::kFdType, S, false, Arg::kNone},
    {"fd.sip", SysField::kFdSip, S, false, Arg::kNone},
    {"fd.sport", SysField::kFdSport, I, false, Arg::kNone},
    {"fd.cip", SysField::kFdCip, S, false, Arg::kNone},
    {"fd.cport", SysField::kFdCport, I, false, Arg::kNone},
    {"fd.lip", SysField::kFdLip, S, false, Arg::kNone},
    {"fd.lport", SysField::kFdLport, I, false, Arg::kNone},
    {"fd.rip", SysField::kFdRip, S, false, Arg::kNone},
    {"fd.rport", SysField::kFdRport, I, false, Arg::kNone},
    {"fd.ip", SysField::kFdIp, S, true, Arg::kNone},
    {"fd.port", SysField::kFdPort, I, true, Arg::kNone},
    {"fd.l4proto", SysField::kFdL4Proto, S, false, Arg::kNone},
    {"container.id", SysField::kContainerId, S, false, Arg::kNone},
    {"container.name", SysField::kContainerName, S, false, Arg::kNone},
    {"container.image", SysField::kContainerImage, S, false, Arg::kNone},
    {"container.image.repository", SysField::kContainerImageRepository, S, false, Arg::kNone},
    {"container.image.tag", SysField::kContainerImageTag, S, false, Arg::kNone},
    {"container.image.digest", SysField::kContainerImageDigest, S, false, Arg::kNone},
    {"container.privileged", SysField::kContainerPrivileged, B, false, Arg::kNone},
    // Moat's form without Falco's [destination] argument: every bind mount's source.
    {"container.mount.source", SysField::kContainerMountSource, S, true, Arg::kNone},
    {"container.start_ts", SysField::kContainerStartTs, I, false, Arg::kNone},
    {"k8s.pod.name", SysField::kK8sPodName, S, false, Arg::kNone},
    {"k8s.ns.name", SysField::kK8sNsName, S, false, Arg::kNone},
};

struct SysContext {
  SysField field;
  bool indexed = false;
  size_t index = 0;
  std::string name;  // evt.arg's argument name
};

// proc.cmdline: the name and the arguments, space separated, appended to `out`.
void AppendCmdline(const SyscallProcess& process, std::string& out) {
  out += process.name.view();
  for (const EventText& arg : process.args) {
    out += ' ';
    out += arg.view();
  }
}

std::string Cmdline(const SyscallProcess& process) {
  std::string out;
  AppendCmdline(process, out);
  return out;
}

bool IsOpen(std::string_view type) {
  return type == "open" || type == "openat" || type == "openat2" || type == "creat";
}

// Whether evt.arg.flags ("O_WRONLY|O_CREAT") names `flag`; scanned in place, per event.
bool HasFlag(const SyscallEvent& event, std::string_view flag) {
  const EventText* flags = event.Arg("flags");
  if (!flags) return false;
  std::string_view rest = *flags;
  while (!rest.empty()) {
    const size_t bar = rest.find('|');
    if (TrimSpace(rest.substr(0, bar)) == flag) return true;
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  return false;
}

std::string_view FdType(char typechar) {
  switch (typechar) {
    case 'f':
      return "file";
    case '4':
      return "ipv4";
    case '6':
      return "ipv6";
    case 'u':
      return "unix";
    case 'p':
      return "pipe";
    case 'e':
      return "event";
    case 's':
      return "signalfd";
    case 'l':
      return "eventpoll";
    case 'i':
      return "inotify";
    case 't':
      return "timerfd";
    case 'n':
      return "netlink";
    case 'b':
      return "bpf";
    case 'm':
      return "memfd";
    default:
      return "";
  }
}

// Capability names by number (linux/capability.h), as Falco prints thread.cap_*.
constexpr std::string_view kCapabilities[] = {"CAP_CHOWN",
                                              "CAP_DAC_OVERRIDE",
                                              "CAP_DAC_READ_SEARCH",
                                              "CAP_FOWNER",
                                              "CAP_FSETID",
                                              "CAP_KILL",
                                              "CAP_SETGID",
                                              "CAP_SETUID",
                                              "CAP_SETPCAP",
                                              "CAP_LINUX_IMMUTABLE",
                                              "CAP_NET_BIND_SERVICE",
                                              "CAP_NET_BROADCAST",
                                              "CAP_NET_ADMIN",
                                              "CAP_NET_RAW",
                                              "CAP_IPC_LOCK",
                                              "CAP_IPC_OWNER",
                                              "CAP_SYS_MODULE",
                                              "CAP_SYS_RAWIO",
                                              "CAP_SYS_CHROOT",
                                              "CAP_SYS_PTRACE",
                                              "CAP_SYS_PACCT",
                                              "CAP_SYS_ADMIN",
                                              "CAP_SYS_BOOT",
                                              "CAP_SYS_NICE",
                                              "CAP_SYS_RESOURCE",
                                              "CAP_SYS_TIME",
                                              "CAP_SYS_TTY_CONFIG",
                                              "CAP_MKNOD",
                                              "CAP_LEASE",
                                              "CAP_AUDIT_WRITE",
                                              "CAP_AUDIT_CONTROL",
                                              "CAP_SETFCAP",
                                              "CAP_MAC_OVERRIDE",
                                              "CAP_MAC_ADMIN",
                                              "CAP_SYSLOG",
                                              "CAP_WAKE_ALARM",
                                              "CAP_BLOCK_SUSPEND",
                                              "CAP_AUDIT_READ",
                                              "CAP_PERFMON",
                                              "CAP_BPF",
                                              "CAP_CHECKPOINT_RESTORE"};

std::string CapabilityNames(uint64_t mask) {
  std::string out;
  for (size_t bit = 0; bit < std::size(kCapabilities); ++bit) {
    if (mask & (uint64_t{1} << bit))
      out += (out.empty() ? "" : " ") + std::string(kCapabilities[bit]);
  }
  return out;
}

bool IsNetwork(const SyscallEvent& e) { return e.fd_typechar == '4' || e.fd_typechar == '6'; }

void ExtractSyscall(const Event& base, const void* context, FieldValues& out) {
  const auto& e = static_cast<const SyscallEvent&>(base);
  const auto& ctx = *static_cast<const SysContext*>(context);
  const SyscallProcess* parent = e.ancestors.empty() ? nullptr : &e.ancestors[0];
  auto text = [&](std::string_view value) {
    if (!value.empty()) out.Add(value);
  };
  // Ancestor fields: [0] is the process itself, [N] its N-th ancestor; without an index every
  // ancestor (so that `proc.aname = sshd` asks whether any ancestor is sshd, as in Falco).
  auto ancestors = [&](auto&& emit) {
    if (ctx.indexed) {
      if (ctx.index == 0) {
        emit(e.proc);
      } else if (ctx.index <= e.ancestors.size()) {
        emit(e.ancestors[ctx.index - 1]);
      }
      return;
    }
    for (const SyscallProcess& ancestor : e.ancestors) emit(ancestor);
  };
  switch (ctx.field) {
    case SysField::kEvtNum:
      out.AddNumber(static_cast<int64_t>(e.num));
      break;
    case SysField::kEvtType:
      text(e.type);
      break;
    case SysField::kEvtDir:
      out.Add(e.dir == '>' ? ">" : "<");
      break;
    case SysField::kEvtRes:
      if (e.res >= 0) {
        out.Add("SUCCESS");
      } else if (const char* name = strerrorname_np(static_cast<int>(-e.res))) {
        out.Add(name);
      } else {
        out.AddNumber(e.res);
      }
      break;
    case SysField::kEvtRawRes:
      out.AddNumber(e.res);
      break;
    case SysField::kEvtArg:
      if (const EventText* value = e.Arg(ctx.name)) out.Add(*value);
      break;
    case SysField::kEvtArgs: {
      std::string& all = out.OwnedBuffer();
      for (const SyscallArg& arg : e.args) {
        if (!all.empty()) all += ' ';
        all += arg.name.view();
        all += '=';
        all += arg.value.view();
      }
      out.Add(all);
      break;
    }
    case SysField::kEvtIsOpenRead:
      out.AddBool(IsOpen(e.type) && (HasFlag(e, "O_RDONLY") || HasFlag(e, "O_RDWR")));
      break;
    case SysField::kEvtIsOpenWrite:
      out.AddBool(IsOpen(e.type) && (HasFlag(e, "O_WRONLY") || HasFlag(e, "O_RDWR")));
      break;
    case SysField::kProcName:
      text(e.proc.name);
      break;
    case SysField::kProcExe:
      text(e.proc.exe);
      break;
    case SysField::kProcExePath:
      text(e.proc.exepath);
      break;
    case SysField::kProcCmdline: {
      std::string& cmdline = out.OwnedBuffer();
      AppendCmdline(e.proc, cmdline);
      out.Add(cmdline);
      break;
    }
    case SysField::kProcArgs: {
      std::string& args = out.OwnedBuffer();
      for (const EventText& arg : e.proc.args) {
        if (!args.empty()) args += ' ';
        args += arg.view();
      }
      out.Add(args);
      break;
    }
    case SysField::kProcPid:
      out.AddNumber(e.proc.pid);
      break;
    case SysField::kProcPpid:
      out.AddNumber(e.ppid);
      break;
    case SysField::kProcPname:
      if (parent) text(parent->name);
      break;
    case SysField::kProcPexe:
      if (parent) text(parent->exe);
      break;
    case SysField::kProcPexePath:
      if (parent) text(parent->exepath);
      break;
    case SysField::kProcPcmdline:
      if (parent) {
        std::string& cmdline = out.OwnedBuffer();
        AppendCmdline(*parent, cmdline);
        out.Add(cmdline);
      }
      break;
    case SysField::kProcAname:
      ancestors([&](const SyscallProcess& p) { text(p.name); });
      break;
    case SysField::kProcApid:
      ancestors([&](const SyscallProcess& p) { out.AddNumber(p.pid); });
      break;
    case SysField::kProcAexe:
      ancestors([&](const SyscallProcess& p) { text(p.exe); });
      break;
    case SysField::kProcAexePath:
      ancestors([&](const SyscallProcess& p) { text(p.exepath); });
      break;
    case SysField::kProcTty:
      out.AddNumber(e.tty);
      break;
    case SysField::kProcCwd:
      text(e.cwd);
      break;
    case SysField::kProcIsExeUpperLayer:
      out.AddBool(e.exe_upper_layer);
      break;
    case SysField::kProcIsExeFromMemfd:
      out.AddBool(e.exe_from_memfd);
      break;
    case SysField::kProcIsExeFromImage:
      if (e.exe_from_image) out.AddBool(*e.exe_from_image);
      break;
    case SysField::kProcEnv:
      text(e.env);
      break;
    case SysField::kProcDuration:
      if (e.start_ns > 0) out.AddNumber(e.time_ns - e.start_ns);
      break;
    case SysField::kProcSname:
      text(e.session_leader_name);
      break;
    case SysField::kThreadCapEffective:
      out.Add(out.Own(CapabilityNames(e.cap_effective)));
      break;
    case SysField::kThreadCapPermitted:
      out.Add(out.Own(CapabilityNames(e.cap_permitted)));
      break;
    case SysField::kUserName:
      text(e.user_name);
      break;
    case SysField::kUserUid:
      out.AddNumber(e.uid);
      break;
    case SysField::kUserLoginUid:
      out.AddNumber(e.loginuid);
      break;
    case SysField::kUserLoginName:
      text(e.login_name);
      break;
    case SysField::kGroupGid:
      out.AddNumber(e.gid);
      break;
    case SysField::kGroupName:
      text(e.group_name);
      break;
    case SysField::kFdNum:
      if (e.fd_num >= 0) out.AddNumber(e.fd_num);
      break;
    case SysField::kFdName:
    case SysField::kFdNameRaw:
      text(e.fd_name);
      break;
    case SysField::kFdConnected:
      if (e.fd_num >= 0) out.AddBool(e.fd_connected);
      break;
    case SysField::kFdDirectory:
    case SysField::kFdFilename: {
      if (e.fd_typechar != 'f' || e.fd_name.empty()) break;
      const std::string_view name = e.fd_name;
      const size_t slash = name.rfind('/');
      if (ctx.field == SysField::kFdFilename) {
        out.Add(slash == std::string_view::npos ? name : name.substr(slash + 1));
      } else if (slash != std::string_view::npos) {
        out.Add(slash == 0 ? std::string_view("/") : name.substr(0, slash));
      }
      break;
    }
    case SysField::kFdTypeChar:
      if (e.fd_typechar) out.Add(out.Own(std::string(1, e.fd_typechar)));
      break;
    case SysField::kFdType:
      text(FdType(e.fd_typechar));
      break;
    case SysField::kFdSip:
    case SysField::kFdCip:
      if (IsNetwork(e)) {
        const bool server = ctx.field == SysField::kFdSip;
        text(server == e.local_is_server ? e.local_ip : e.remote_ip);
      }
      break;
    case SysField::kFdSport:
    case SysField::kFdCport:
      if (IsNetwork(e)) {
        const bool server = ctx.field == SysField::kFdSport;
        out.AddNumber(server == e.local_is_server ? e.local_port : e.remote_port);
      }
      break;
    case SysField::kFdLip:
      if (IsNetwork(e)) text(e.local_ip);
      break;
    case SysField::kFdLport:
      if (IsNetwork(e)) out.AddNumber(e.local_port);
      break;
    case SysField::kFdRip:
      if (IsNetwork(e)) text(e.remote_ip);
      break;
    case SysField::kFdRport:
      if (IsNetwork(e)) out.AddNumber(e.remote_port);
      break;
    case SysField::kFdIp:
      if (IsNetwork(e)) {
        text(e.local_ip);
        text(e.remote_ip);
      }
      break;
    case SysField::kFdPort:
      if (IsNetwork(e)) {
        out.AddNumber(e.local_port);
        out.AddNumber(e.remote_port);
      }
      break;
    case SysField::kFdL4Proto:
      text(e.l4proto);
      break;
    case SysField::kContainerId:
      text(e.container_id);
      break;
    case SysField::kContainerName:
      text(e.container_name);
      break;
    case SysField::kContainerImage:
      text(e.container_image);
      break;
    case SysField::kContainerImageRepository:
      text(SplitImageName(e.container_image).first);
      break;
    case SysField::kContainerImageTag:
      text(SplitImageName(e.container_image).second);
      break;
    case SysField::kContainerImageDigest:
      text(e.container_image_digest);
      break;
    case SysField::kContainerPrivileged:
      out.AddBool(e.container_privileged);
      break;
    case SysField::kContainerMountSource:
      if (e.container_host_mounts) {
        for (const std::string& source : *e.container_host_mounts) text(source);
      }
      break;
    case SysField::kContainerStartTs:
      if (e.container_start_ns > 0) out.AddNumber(e.container_start_ns);
      break;
    case SysField::kK8sPodName:
      text(e.k8s_pod_name);
      break;
    case SysField::kK8sNsName:
      text(e.k8s_ns_name);
      break;
  }
}

class SyscallSource : public EventSource {
 public:
  std::string_view name() const override { return kSyscallSourceName; }

  Result<Field> ResolveField(std::string_view field,
                             std::optional<std::string_view> argument) const override {
    auto context = std::make_shared<SysContext>();
    const SysSpec* spec = nullptr;
    // evt.arg.NAME is evt.arg[NAME].
    if (field.substr(0, 8) == "evt.arg." && field.size() > 8 && !argument) {
      argument = field.substr(8);
      field = "evt.arg";
    }
    for (const SysSpec& candidate : kSysFields) {
      if (candidate.name == field) spec = &candidate;
    }
    if (!spec) return Fail("not implemented by source syscall");
    context->field = spec->field;
    Field out;
    out.type = spec->type;
    out.is_list = spec->is_list;
    if (spec->argument == Arg::kName) {
      if (!argument || argument->empty()) return Fail("field ", field, " needs an argument");
      context->name = std::string(*argument);
    } else if (argument) {
      if (spec->argument == Arg::kNone) return Fail("field ", field, " takes no argument");
      const auto [end, ec] =
          std::from_chars(argument->data(), argument->data() + argument->size(), context->index);
      if (ec != std::errc() || end != argument->data() + argument->size()) {
        return Fail("field ", field, ": argument \"", *argument, "\" is not a number");
      }
      context->indexed = true;
      out.is_list = false;
    }
    out.extract = &ExtractSyscall;
    out.context = context.get();
    out.context_holder = context;
    return out;
  }

  std::string_view EventTypeField() const override { return "evt.type"; }
  std::string_view EventType(const Event& event) const override {
    return static_cast<const SyscallEvent&>(event).type;
  }
  int64_t EventTimeNs(const Event& event) const override {
    return static_cast<const SyscallEvent&>(event).time_ns;
  }

  void FillAlertResources(const Event& base, Alert& alert) const override {
    const auto& e = static_cast<const SyscallEvent&>(base);
    if (e.container_id != "host" && !e.container_id.empty()) {
      alert.container.id = e.container_id;
      alert.container.name = e.container_name;
      alert.container.image = e.container_image;
      alert.container.image_digest = e.container_image_digest;
    }
    alert.k8s.pod = e.k8s_pod_name;
    alert.k8s.namespace_name = e.k8s_ns_name;
    alert.proc.pid = e.proc.pid;
    alert.proc.ppid = e.ppid;
    alert.proc.name = e.proc.name;
    alert.proc.exe = e.proc.exepath.empty() ? e.proc.exe : e.proc.exepath;
    alert.proc.cmdline = Cmdline(e.proc);
    alert.proc.user = e.user_name;
    for (const SyscallProcess& ancestor : e.ancestors) {
      if (alert.proc.ancestors.size() >= kMaxAlertListItems) break;
      alert.proc.ancestors.push_back({ancestor.pid, ancestor.name.str(), Cmdline(ancestor)});
    }
  }
};

}  // namespace

std::shared_ptr<const EventSource> MakeSyscallSource() { return std::make_shared<SyscallSource>(); }

std::vector<std::string_view> SyscallFieldNames() {
  std::vector<std::string_view> names;
  for (const SysSpec& spec : kSysFields) names.push_back(spec.name);
  return names;
}

}  // namespace moat::rules
