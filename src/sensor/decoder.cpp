#include "sensor/decoder.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

#include "core/text.h"
#include "sensor/bpf/event_abi.h"
#include "sensor/dns.h"

namespace moat::sensor {

namespace {

constexpr size_t kHeaderSize = sizeof(moat_event_header);
constexpr uint16_t kMaxFields = 16;
constexpr int64_t kAtFdcwd = -100;

// x86_64 syscall names for the numbers sensor.bpf.c records (num[11]).
std::string_view SyscallName(uint64_t nr) {
  switch (nr) {
    case 2:
      return "open";
    case 9:
      return "mmap";
    case 41:
      return "socket";
    case 42:
      return "connect";
    case 43:
      return "accept";
    case 44:
      return "sendto";
    case 46:
      return "sendmsg";
    case 49:
      return "bind";
    case 50:
      return "listen";
    case 56:
      return "clone";
    case 76:
      return "truncate";
    case 77:
      return "ftruncate";
    case 82:
      return "rename";
    case 85:
      return "creat";
    case 86:
      return "link";
    case 87:
      return "unlink";
    case 88:
      return "symlink";
    case 90:
      return "chmod";
    case 91:
      return "fchmod";
    case 101:
      return "ptrace";
    case 105:
      return "setuid";
    case 106:
      return "setgid";
    case 113:
      return "setreuid";
    case 114:
      return "setregid";
    case 117:
      return "setresuid";
    case 119:
      return "setresgid";
    case 126:
      return "capset";
    case 165:
      return "mount";
    case 166:
      return "umount2";
    case 175:
      return "init_module";
    case 257:
      return "openat";
    case 263:
      return "unlinkat";
    case 264:
      return "renameat";
    case 265:
      return "linkat";
    case 266:
      return "symlinkat";
    case 268:
      return "fchmodat";
    case 272:
      return "unshare";
    case 288:
      return "accept4";
    case 307:
      return "sendmmsg";
    case 308:
      return "setns";
    case 313:
      return "finit_module";
    case 316:
      return "renameat2";
    case 319:
      return "memfd_create";
    case 321:
      return "bpf";
    case 435:
      return "clone3";
    case 437:
      return "openat2";
    case 452:
      return "fchmodat2";
  }
  return "";
}

// How many variable fields each type carries (sensor.bpf.c writes exactly these).
int ExpectedFields(uint16_t type, uint64_t nr) {
  switch (type) {
    case MOAT_EV_EXEC:
      return MOAT_EXEC_VAR_COUNT;
    case MOAT_EV_FORK:
    case MOAT_EV_EXIT:
    case MOAT_EV_SOCKET:
    case MOAT_EV_PTRACE:
    case MOAT_EV_SETUID:
    case MOAT_EV_SETGID:
    case MOAT_EV_SETNS:
    case MOAT_EV_UNSHARE:
    case MOAT_EV_CLONE_NS:
    case MOAT_EV_BPF:
      return 0;
    case MOAT_EV_OPEN:
    case MOAT_EV_BIND:
    case MOAT_EV_LISTEN:
    case MOAT_EV_UNLINK:
    case MOAT_EV_CHMOD:
    case MOAT_EV_TRUNCATE:
    case MOAT_EV_CAPSET:
    case MOAT_EV_UMOUNT:
    case MOAT_EV_MEMFD_CREATE:
    case MOAT_EV_MODULE_LOAD:
    case MOAT_EV_MMAP_EXEC:
      return 1;
    case MOAT_EV_CONNECT:
    case MOAT_EV_ACCEPT:
    case MOAT_EV_RENAME:
    case MOAT_EV_LINK:
    case MOAT_EV_SYMLINK:
    case MOAT_EV_DNS_QUERY:
      return 2;
    case MOAT_EV_MOUNT:
      return 3;
  }
  (void)nr;
  return -1;
}

std::string RecordName(const RawRecord& raw) {
  return "sensor record (type " + std::to_string(raw.type) + ", pid " + std::to_string(raw.pid) +
         ")";
}

std::optional<SocketAddress> OptionalAddress(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  auto parsed = ParseSockaddr(AsBytes(bytes));
  if (!parsed.ok()) return std::nullopt;
  return *parsed;
}

void AddNumber(Event& event, const char* name, uint64_t value) {
  event.numbers.emplace_back(name, static_cast<int64_t>(value));
}

// A path relative to a directory descriptor keeps the descriptor in "dirfd" (AT_FDCWD: -100);
// the enricher resolves it against the process's cwd where it can.
void AddDirfd(Event& event, uint64_t dirfd) {
  int64_t fd = static_cast<int32_t>(dirfd);
  if (fd != kAtFdcwd) AddNumber(event, "dirfd", static_cast<uint64_t>(fd));
}

}  // namespace

std::string ReverseKernelPath(std::string_view leaf_first) {
  std::string path;
  auto parts = SplitTerminated(leaf_first, '/');
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (it->empty()) continue;
    path.push_back('/');
    path.append(*it);
  }
  return path;
}

Result<SocketAddress> ParseSockaddr(ByteSpan bytes) {
  if (bytes.size() < 2) {
    return Fail("socket address: ", std::to_string(bytes.size()), " bytes, no family");
  }
  uint16_t family;
  std::memcpy(&family, bytes.data(), 2);
  SocketAddress address;
  if (family == AF_INET) {
    if (bytes.size() < 8)
      return Fail("socket address: AF_INET in ", std::to_string(bytes.size()), " bytes (needs 8)");
    char text[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, bytes.data() + 4, text, sizeof text);
    address.family = "ipv4";
    address.address = text;
    address.port = static_cast<uint16_t>(bytes[2] << 8 | bytes[3]);
  } else if (family == AF_INET6) {
    if (bytes.size() < 24)
      return Fail("socket address: AF_INET6 in ", std::to_string(bytes.size()),
                  " bytes (needs 24)");
    char text[INET6_ADDRSTRLEN];
    ::inet_ntop(AF_INET6, bytes.data() + 8, text, sizeof text);
    address.family = "ipv6";
    address.address = text;
    address.port = static_cast<uint16_t>(bytes[2] << 8 | bytes[3]);
  } else if (family == AF_UNIX) {
    address.family = "unix";
    std::string_view path = AsText(bytes.subspan(2));
    if (!path.empty() && path[0] == '\0') {
      // Abstract socket: the name is every byte after the NUL, shown as ss(8) does.
      address.address = "@" + std::string(path.substr(1, path.find('\0', 1) - 1));
    } else {
      address.address = std::string(path.substr(0, path.find('\0')));
    }
  } else {
    address.family = "af" + std::to_string(family);
  }
  return address;
}

Result<RawRecord> SplitRecord(ByteSpan record) {
  if (record.size() < kHeaderSize) {
    return Fail("sensor record: ", std::to_string(record.size()), " bytes, shorter than the ",
                std::to_string(kHeaderSize), "-byte header");
  }
  moat_event_header header;
  std::memcpy(&header, record.data(), kHeaderSize);
  if (header.size < kHeaderSize || header.size > record.size()) {
    return Fail("sensor record: header says ", std::to_string(header.size), " bytes, record has ",
                std::to_string(record.size()));
  }
  if (header.type == 0 || header.type >= MOAT_EV_TYPE_END) {
    return Fail("sensor record: unknown type ", std::to_string(header.type));
  }
  if (header.var_count > kMaxFields) {
    return Fail("sensor record: ", std::to_string(header.var_count), " fields (at most ",
                std::to_string(kMaxFields), ")");
  }
  RawRecord raw;
  raw.type = header.type;
  raw.boot_ns = header.boot_ns;
  raw.pid = header.pid;
  raw.tid = header.tid;
  raw.uid = header.uid;
  raw.gid = header.gid;
  raw.ret = header.ret;
  std::copy(std::begin(header.num), std::end(header.num), raw.num.begin());
  raw.comm.assign(header.comm, strnlen(header.comm, sizeof header.comm));
  size_t at = kHeaderSize;
  const size_t end = header.size;
  for (uint16_t i = 0; i < header.var_count; ++i) {
    if (end - at < 2) {
      return Fail(RecordName(raw), ": field ", std::to_string(i), " length at byte ",
                  std::to_string(at), " runs past the record's ", std::to_string(end), " bytes");
    }
    uint16_t length;
    std::memcpy(&length, record.data() + at, 2);
    at += 2;
    if (length > end - at) {
      return Fail(RecordName(raw), ": field ", std::to_string(i), " of ", std::to_string(length),
                  " bytes at byte ", std::to_string(at), " runs past the record's ",
                  std::to_string(end), " bytes");
    }
    raw.fields.push_back(AsText(record.subspan(at, length)));
    at += length;
  }
  return raw;
}

Result<Event> InterpretRecord(const RawRecord& raw) {
  const uint64_t nr = raw.num[11];
  int expected = ExpectedFields(raw.type, nr);
  if (expected < 0 || raw.fields.size() != static_cast<size_t>(expected)) {
    return Fail(RecordName(raw), ": ", std::to_string(raw.fields.size()), " fields, expected ",
                std::to_string(expected));
  }
  Event event;
  event.type = static_cast<EventType>(raw.type);
  event.boot_ns = raw.boot_ns;
  event.pid = raw.pid;
  event.tid = raw.tid;
  event.uid = raw.uid;
  event.gid = raw.gid;
  event.ret = raw.ret;
  event.comm = raw.comm;
  auto field = [&](size_t i) { return std::string(raw.fields[i]); };
  const auto& a = raw.num;  // syscall arguments in num[0..5]
  bool is_syscall = event.type != EventType::kExec && event.type != EventType::kFork &&
                    event.type != EventType::kExit;
  if (is_syscall) {
    event.syscall = std::string(SyscallName(nr));
    if (event.syscall.empty()) {
      return Fail(RecordName(raw), ": unknown system call number ", std::to_string(nr));
    }
  }
  switch (event.type) {
    case EventType::kExec: {
      ExecInfo exec;
      exec.filename = field(MOAT_EXEC_VAR_FILENAME);
      exec.exe_memfd = a[MOAT_EXEC_FLAGS] & MOAT_EXEC_MEMFD;
      // A memfd's name as /proc/PID/exe shows it: "/memfd:NAME".
      exec.exe = exec.exe_memfd ? "/" + field(MOAT_EXEC_VAR_EXE_PATH)
                                : ReverseKernelPath(raw.fields[MOAT_EXEC_VAR_EXE_PATH]);
      if (exec.exe.empty()) {
        exec.exe = exec.filename;
        exec.exe_is_filename = true;
      }
      for (std::string_view arg : SplitTerminated(raw.fields[MOAT_EXEC_VAR_ARGV], '\0')) {
        exec.argv.emplace_back(arg);
      }
      exec.cwd = ReverseKernelPath(raw.fields[MOAT_EXEC_VAR_CWD]);
      if (exec.cwd.empty()) exec.cwd = "/";
      exec.tty = field(MOAT_EXEC_VAR_TTY);
      exec.cgroup = ReverseKernelPath(raw.fields[MOAT_EXEC_VAR_CGROUP]);
      if (exec.cgroup.empty()) exec.cgroup = "/";
      exec.ppid = static_cast<uint32_t>(a[MOAT_EXEC_PPID]);
      exec.euid = static_cast<uint32_t>(a[MOAT_EXEC_EUID]);
      exec.egid = static_cast<uint32_t>(a[MOAT_EXEC_EGID]);
      exec.loginuid = static_cast<uint32_t>(a[MOAT_EXEC_LOGINUID]);
      exec.cap_effective = a[MOAT_EXEC_CAP_EFFECTIVE];
      exec.cap_permitted = a[MOAT_EXEC_CAP_PERMITTED];
      exec.cap_inheritable = a[MOAT_EXEC_CAP_INHERITABLE];
      exec.exe_inode = a[MOAT_EXEC_INODE];
      exec.exe_on_overlay = a[MOAT_EXEC_FLAGS] & MOAT_EXEC_OVERLAY;
      exec.exe_upper_layer = a[MOAT_EXEC_FLAGS] & MOAT_EXEC_UPPER_LAYER;
      event.exec = std::move(exec);
      break;
    }
    case EventType::kFork:
      AddNumber(event, "parent_pid", a[0]);
      break;
    case EventType::kExit:
      // The kernel's exit_code: the status in bits 8-15, the killing signal in 0-6.
      AddNumber(event, "status", (a[0] >> 8) & 0xff);
      AddNumber(event, "signal", a[0] & 0x7f);
      break;
    case EventType::kOpen:
      event.path = field(0);
      AddNumber(event, "flags", a[5]);  // the effective flags, whichever open call
      if (nr == 257 || nr == 437) AddDirfd(event, a[0]);
      if (nr == 2 || nr == 257) AddNumber(event, "mode", nr == 2 ? a[2] : a[3]);
      AddNumber(event, "fd", static_cast<uint64_t>(raw.ret));
      break;
    case EventType::kConnect:
      event.remote = OptionalAddress(raw.fields[0]);
      event.local = OptionalAddress(raw.fields[1]);
      AddNumber(event, "fd", a[0]);
      break;
    case EventType::kAccept:
      event.remote = OptionalAddress(raw.fields[0]);
      event.local = OptionalAddress(raw.fields[1]);
      AddNumber(event, "listen_fd", a[0]);
      AddNumber(event, "fd", static_cast<uint64_t>(raw.ret));
      break;
    case EventType::kBind:
      event.local = OptionalAddress(raw.fields[0]);
      AddNumber(event, "fd", a[0]);
      break;
    case EventType::kListen:
      event.local = OptionalAddress(raw.fields[0]);
      AddNumber(event, "fd", a[0]);
      AddNumber(event, "backlog", a[1]);
      break;
    case EventType::kSocket:
      AddNumber(event, "domain", a[0]);
      AddNumber(event, "type", a[1] & 0xf);
      AddNumber(event, "protocol", a[2]);
      AddNumber(event, "fd", static_cast<uint64_t>(raw.ret));
      break;
    case EventType::kRename:
    case EventType::kLink:
      event.path = field(0);
      event.path2 = field(1);
      if (nr != 82 && nr != 86) {  // the *at forms
        AddDirfd(event, a[0]);
        AddNumber(event, "flags", nr == 264 ? 0 : a[4]);
      }
      break;
    case EventType::kSymlink:
      event.path = field(0);  // the link's target text
      event.path2 = field(1);
      break;
    case EventType::kUnlink:
      event.path = field(0);
      if (nr == 263) {
        AddDirfd(event, a[0]);
        AddNumber(event, "flags", a[2]);
      }
      break;
    case EventType::kChmod:
      event.path = field(0);
      if (nr == 90) AddNumber(event, "mode", a[1]);
      if (nr == 91) {
        AddNumber(event, "fd", a[0]);
        AddNumber(event, "mode", a[1]);
      }
      if (nr == 268 || nr == 452) {
        AddDirfd(event, a[0]);
        AddNumber(event, "mode", a[2]);
      }
      break;
    case EventType::kTruncate:
      event.path = field(0);
      if (nr == 77) AddNumber(event, "fd", a[0]);
      AddNumber(event, "length", a[1]);
      break;
    case EventType::kPtrace:
      AddNumber(event, "request", a[0]);
      AddNumber(event, "target_pid", a[1]);
      break;
    case EventType::kSetuid:
    case EventType::kSetgid:
      AddNumber(event, nr == 105 || nr == 106 ? "id" : "real", a[0]);
      if (nr != 105 && nr != 106) AddNumber(event, "effective", a[1]);
      if (nr == 117 || nr == 119) AddNumber(event, "saved", a[2]);
      break;
    case EventType::kCapset: {
      // struct __user_cap_data_struct[2]: effective, permitted, inheritable (u32 each) for
      // capabilities 0-31 then 32-63.
      std::string_view data = raw.fields[0];
      if (data.size() == 24) {
        uint32_t v[6];
        std::memcpy(v, data.data(), sizeof v);
        AddNumber(event, "cap_effective", uint64_t{v[3]} << 32 | v[0]);
        AddNumber(event, "cap_permitted", uint64_t{v[4]} << 32 | v[1]);
        AddNumber(event, "cap_inheritable", uint64_t{v[5]} << 32 | v[2]);
      }
      break;
    }
    case EventType::kSetns:
      AddNumber(event, "fd", a[0]);
      AddNumber(event, "nstype", a[1]);
      break;
    case EventType::kUnshare:
      AddNumber(event, "flags", a[0]);
      break;
    case EventType::kCloneNamespaces:
      AddNumber(event, "flags", a[5]);  // clone3's flags were read from its struct
      AddNumber(event, "child_pid", static_cast<uint64_t>(raw.ret));
      break;
    case EventType::kMount:
      event.path2 = field(0);  // source
      event.path = field(1);   // target
      event.texts.emplace_back("fstype", field(2));
      AddNumber(event, "flags", a[3]);
      break;
    case EventType::kUmount:
      event.path = field(0);
      AddNumber(event, "flags", a[1]);
      break;
    case EventType::kMemfdCreate:
      event.texts.emplace_back("name", field(0));
      AddNumber(event, "flags", a[1]);
      AddNumber(event, "fd", static_cast<uint64_t>(raw.ret));
      break;
    case EventType::kBpf:
      AddNumber(event, "cmd", a[0]);
      break;
    case EventType::kModuleLoad:
      event.texts.emplace_back("params", field(0));
      if (nr == 313) AddNumber(event, "fd", a[0]);
      break;
    case EventType::kMmapExec:
      // The mapped file's path walked in the kernel (leaf first), as the process's mount
      // namespace shows it: in a container, the path inside it.
      event.path = ReverseKernelPath(raw.fields[0]);
      AddNumber(event, "prot", a[2]);
      AddNumber(event, "flags", a[3]);
      AddNumber(event, "fd", a[4]);
      break;
    case EventType::kDnsQuery: {
      event.remote = OptionalAddress(raw.fields[1]);
      AddNumber(event, "fd", a[0]);
      auto question = ParseDnsQuery(AsBytes(raw.fields[0]));
      if (!question.ok()) return question.error().Wrap(RecordName(raw));
      event.texts.emplace_back("name", question->name);
      event.texts.emplace_back("qtype", DnsTypeName(question->qtype));
      break;
    }
  }
  return event;
}

Result<Event> DecodeRecord(ByteSpan record) {
  MOAT_ASSIGN_OR_RETURN(RawRecord raw, SplitRecord(record));
  return InterpretRecord(raw);
}

}  // namespace moat::sensor
