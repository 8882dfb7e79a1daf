#pragma once
// The "syscall" event source of the rules engine (engine.h): one system-call or process event as
// a plain struct, filled by `moat sensor` (src/sensor) from its kernel events, process tree and
// container metadata, with the evt.*, proc.*, user.*, group.*, fd.*, container.* and k8s.* fields
// of Falco's syscall source (docs/rules.md "The syscall fields" lists them and their meaning).
//
// The text fields are EventText: the sensor points them at its process tree and container cache
// (no copy per event, issue 13 "Speed"), and reuses one event for every record; events built by
// hand (tests, recorded streams) give them text of their own.

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/engine.h"

namespace moat::rules {

inline constexpr std::string_view kSyscallSourceName = "syscall";

/// A text field of an event: a view of text that outlives the event's evaluation (SetView), or
/// text of its own (every implicit conversion copies, so that a temporary never dangles).
class EventText {
 public:
  EventText() = default;
  EventText(const char* text) : owned_(text) {}             // NOLINT: assignable from text, owning
  EventText(std::string text) : owned_(std::move(text)) {}  // NOLINT
  EventText(std::string_view text) : owned_(text) {}        // NOLINT

  /// Views `text`, which must stay valid while the event is evaluated.
  void SetView(std::string_view text) {
    view_ = text;
    viewing_ = true;
  }
  /// Copies `text` into the field's own storage (its capacity is kept from earlier events).
  void Assign(std::string_view text) {
    owned_.assign(text);
    viewing_ = false;
  }
  /// The field's own storage, emptied, to build the value in.
  std::string& Buffer() {
    owned_.clear();
    viewing_ = false;
    return owned_;
  }
  void clear() { Buffer(); }

  std::string_view view() const { return viewing_ ? view_ : std::string_view(owned_); }
  operator std::string_view() const { return view(); }  // NOLINT: reads as text
  std::string str() const { return std::string(view()); }
  bool empty() const { return view().empty(); }
  size_t size() const { return view().size(); }

  friend bool operator==(const EventText& a, const EventText& b) { return a.view() == b.view(); }
  friend bool operator==(const EventText& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const EventText& a, const char* b) { return a.view() == b; }
  friend bool operator==(const EventText& a, const std::string& b) { return a.view() == b; }
  friend std::string operator+(const EventText& a, std::string_view b) {
    std::string out(a.view());
    out += b;
    return out;
  }
  friend std::ostream& operator<<(std::ostream& out, const EventText& text);

 private:
  std::string owned_;
  std::string_view view_;
  bool viewing_ = false;
};

/// A list of EventText (proc.args). Kept across events by the sensor: its elements and their
/// storage are reused, so filling it again allocates nothing.
class EventTextList {
 public:
  EventTextList() = default;
  EventTextList(std::initializer_list<EventText> items) : items_(items), size_(items.size()) {}
  EventTextList(const std::vector<std::string>& items) { *this = items; }  // NOLINT: owning
  EventTextList& operator=(const std::vector<std::string>& items);

  /// Views each of [first, last), which must stay valid while the event is evaluated.
  void SetViews(const std::string* first, const std::string* last);
  void push_back(EventText item);
  void clear() { size_ = 0; }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const EventText& operator[](size_t i) const { return items_[i]; }
  EventText& operator[](size_t i) { return items_[i]; }
  const EventText* begin() const { return items_.data(); }
  const EventText* end() const { return items_.data() + size_; }

 private:
  std::vector<EventText> items_;  // [0, size_) in use; the rest kept for reuse
  size_t size_ = 0;
};

/// A process as the fields see it (the event's own, or one of its ancestors).
struct SyscallProcess {
  int64_t pid = 0;
  EventText name;      // proc.name: the executable's base name (comm when unknown)
  EventText exe;       // proc.exe: argv[0] as the program was started
  EventText exepath;   // proc.exepath: the executable's full path
  EventTextList args;  // proc.args: argv without argv[0]
};

/// evt.arg.NAME as Falco prints them, in order.
struct SyscallArg {
  EventText name;
  EventText value;
};

class SyscallEvent : public Event {
 public:
  // evt.*
  uint64_t num = 0;  // evt.num: the event's sequence number in the sensor
  EventText type;    // "execve", "openat", "connect", ... (Falco's event names)
  char dir = '<';    // '>' entry, '<' exit (events reported once are exits)
  int64_t time_ns = 0;
  int64_t res = 0;  // the return value: evt.rawres; evt.res is "SUCCESS" or the errno name
  /// evt.arg.NAME as Falco prints them: flags as "O_WRONLY|O_CREAT", addresses as text.
  std::vector<SyscallArg> args;

  // proc.* (the process) and its ancestors, parent first: ancestors[0] is proc.aname[1].
  SyscallProcess proc;
  int64_t ppid = 0;
  std::vector<SyscallProcess> ancestors;
  EventText cwd;
  int64_t tty = 0;  // the controlling terminal's device number, 0 without one
  bool exe_upper_layer = false;
  bool exe_from_memfd = false;
  /// proc.is_exe_from_image: whether the executable is one of the container image's (Moat's
  /// drift check against the scanner's inventory); unset (the field absent) while unknown.
  std::optional<bool> exe_from_image;
  EventText env;                  // proc.env: "NAME=value NAME=value"
  int64_t start_ns = 0;           // when the process started (proc.duration), 0 unknown
  EventText session_leader_name;  // proc.sname
  uint64_t cap_effective = 0;     // thread.cap_effective: bit N = capability N
  uint64_t cap_permitted = 0;

  // user.*, group.*
  int64_t uid = 0;
  EventText user_name;
  int64_t loginuid = -1;  // -1 when not set
  EventText login_name;
  int64_t gid = 0;
  EventText group_name;

  // fd.*: the file or socket the event concerns (fd_num < 0 when none)
  int64_t fd_num = -1;
  char fd_typechar = 0;  // 'f' file, '4' ipv4, '6' ipv6, 'u' unix, 'p' pipe, ... (0: none)
  EventText fd_name;     // path for files; "1.2.3.4:5->6.7.8.9:10" for connected sockets
  bool fd_connected = false;
  EventText l4proto;  // "tcp", "udp", "raw", ""
  EventText local_ip;
  int64_t local_port = 0;
  EventText remote_ip;
  int64_t remote_port = 0;
  bool local_is_server = false;  // accept/listen side: fd.sip is the local address

  // container.* ("host" for processes outside containers), k8s.*
  EventText container_id = "host";
  EventText container_name = "host";
  EventText container_image;         // as created from ("nginx:1.25")
  EventText container_image_digest;  // "sha256:..."
  bool container_privileged = false;
  /// container.mount.source: the sources of the container's bind mounts (the runtime's
  /// metadata; nullptr when unknown). Must outlive the evaluation.
  const std::vector<std::string>* container_host_mounts = nullptr;
  int64_t container_start_ns = 0;  // container.start_ts, 0 unknown
  EventText k8s_pod_name;
  EventText k8s_ns_name;

  /// The value of evt.arg.NAME; nullptr when the event has no such argument.
  const EventText* Arg(std::string_view name) const;
};

/// The source to register with Engine::AddSource.
std::shared_ptr<const EventSource> MakeSyscallSource();

/// The names of the fields the source implements (docs and tests).
std::vector<std::string_view> SyscallFieldNames();

}  // namespace moat::rules
