#pragma once
// The "syscall" event source of the rules engine (engine.h): one system-call or process event as
// a plain struct, filled by `moat sensor` (src/sensor) from its kernel events, process tree and
// container metadata, with the evt.*, proc.*, user.*, group.*, fd.*, container.* and k8s.* fields
// of Falco's syscall source (docs/rules.md "The syscall fields" lists them and their meaning).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/engine.h"

namespace moat::rules {

inline constexpr std::string_view kSyscallSourceName = "syscall";

/// A process as the fields see it (the event's own, or one of its ancestors).
struct SyscallProcess {
  int64_t pid = 0;
  std::string name;               // proc.name: the executable's base name (comm when unknown)
  std::string exe;                // proc.exe: argv[0] as the program was started
  std::string exepath;            // proc.exepath: the executable's full path
  std::vector<std::string> args;  // proc.args: argv without argv[0]
};

class SyscallEvent : public Event {
 public:
  // evt.*
  uint64_t num = 0;  // evt.num: the event's sequence number in the sensor
  std::string type;  // "execve", "openat", "connect", ... (Falco's event names)
  char dir = '<';    // '>' entry, '<' exit (events reported once are exits)
  int64_t time_ns = 0;
  int64_t res = 0;  // the return value: evt.rawres; evt.res is "SUCCESS" or the errno name
  /// evt.arg.NAME as Falco prints them: flags as "O_WRONLY|O_CREAT", addresses as text.
  std::vector<std::pair<std::string, std::string>> args;

  // proc.* (the process) and its ancestors, parent first: ancestors[0] is proc.aname[1].
  SyscallProcess proc;
  int64_t ppid = 0;
  std::vector<SyscallProcess> ancestors;
  std::string cwd;
  int64_t tty = 0;  // the controlling terminal's device number, 0 without one
  bool exe_upper_layer = false;
  bool exe_from_memfd = false;
  std::string env;                  // proc.env: "NAME=value NAME=value"
  int64_t start_ns = 0;             // when the process started (proc.duration), 0 unknown
  std::string session_leader_name;  // proc.sname
  uint64_t cap_effective = 0;       // thread.cap_effective: bit N = capability N
  uint64_t cap_permitted = 0;

  // user.*, group.*
  int64_t uid = 0;
  std::string user_name;
  int64_t loginuid = -1;  // -1 when not set
  std::string login_name;
  int64_t gid = 0;
  std::string group_name;

  // fd.*: the file or socket the event concerns (fd_num < 0 when none)
  int64_t fd_num = -1;
  char fd_typechar = 0;  // 'f' file, '4' ipv4, '6' ipv6, 'u' unix, 'p' pipe, ... (0: none)
  std::string fd_name;   // path for files; "1.2.3.4:5->6.7.8.9:10" for connected sockets
  bool fd_connected = false;
  std::string l4proto;  // "tcp", "udp", "raw", ""
  std::string local_ip;
  int64_t local_port = 0;
  std::string remote_ip;
  int64_t remote_port = 0;
  bool local_is_server = false;  // accept/listen side: fd.sip is the local address

  // container.* ("host" for processes outside containers), k8s.*
  std::string container_id = "host";
  std::string container_name = "host";
  std::string container_image;         // as created from ("nginx:1.25")
  std::string container_image_digest;  // "sha256:..."
  bool container_privileged = false;
  int64_t container_start_ns = 0;  // container.start_ts, 0 unknown
  std::string k8s_pod_name;
  std::string k8s_ns_name;

  /// The value of evt.arg.NAME; nullptr when the event has no such argument.
  const std::string* Arg(std::string_view name) const;
};

/// The source to register with Engine::AddSource.
std::shared_ptr<const EventSource> MakeSyscallSource();

/// The names of the fields the source implements (docs and tests).
std::vector<std::string_view> SyscallFieldNames();

}  // namespace moat::rules
