#include "sensor/event.h"

namespace moat::sensor {

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kExec:
      return "execve";
    case EventType::kFork:
      return "fork";
    case EventType::kExit:
      return "procexit";
    case EventType::kOpen:
      return "open";
    case EventType::kConnect:
      return "connect";
    case EventType::kAccept:
      return "accept";
    case EventType::kBind:
      return "bind";
    case EventType::kListen:
      return "listen";
    case EventType::kSocket:
      return "socket";
    case EventType::kRename:
      return "rename";
    case EventType::kUnlink:
      return "unlink";
    case EventType::kLink:
      return "link";
    case EventType::kSymlink:
      return "symlink";
    case EventType::kChmod:
      return "chmod";
    case EventType::kTruncate:
      return "truncate";
    case EventType::kPtrace:
      return "ptrace";
    case EventType::kSetuid:
      return "setuid";
    case EventType::kSetgid:
      return "setgid";
    case EventType::kCapset:
      return "capset";
    case EventType::kSetns:
      return "setns";
    case EventType::kUnshare:
      return "unshare";
    case EventType::kCloneNamespaces:
      return "clone";
    case EventType::kMount:
      return "mount";
    case EventType::kUmount:
      return "umount";
    case EventType::kMemfdCreate:
      return "memfd_create";
    case EventType::kBpf:
      return "bpf";
    case EventType::kModuleLoad:
      return "init_module";
    case EventType::kDnsQuery:
      return "dns_query";
    case EventType::kMmapExec:
      return "mmap";
  }
  return "unknown";
}

std::optional<int64_t> Event::Number(std::string_view name) const {
  for (const auto& [key, value] : numbers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

const std::string* Event::Text(std::string_view name) const {
  for (const auto& [key, value] : texts) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::string ProcessInfo::Cmdline() const {
  std::string line = comm;
  for (size_t i = 1; i < exec.argv.size(); ++i) {
    line.push_back(' ');
    line.append(exec.argv[i]);
  }
  return line;
}

std::string ContainerInfo::Label(const std::string& key) const {
  auto it = labels.find(key);
  return it == labels.end() ? std::string() : it->second;
}

}  // namespace moat::sensor
