#include "sensor/process_tree.h"

#include <dirent.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/bytes.h"
#include "core/text.h"
#include "sensor/container_id.h"

namespace moat::sensor {

namespace {

std::string ReadLink(const std::string& path) {
  char buffer[4096];
  ssize_t n = ::readlink(path.c_str(), buffer, sizeof buffer);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
}

std::string ReadSmallFile(const std::string& path) {
  auto text = ReadFileToString(path, 1 << 20);
  return text.ok() ? std::move(*text) : std::string();
}

// "Uid:\t0\t0\t0\t0" -> the field at `index` (real, effective, saved, filesystem).
uint64_t StatusNumber(std::string_view status, std::string_view key, size_t index, int base) {
  for (std::string_view line : SplitLines(status)) {
    if (line.substr(0, key.size()) != key) continue;
    auto words = SplitWords(line.substr(key.size()));
    if (index >= words.size()) return 0;
    return std::strtoull(std::string(words[index]).c_str(), nullptr, base);
  }
  return 0;
}

std::string ContainerIdOf(const std::string& cgroup) {
  auto ref = ContainerFromCgroup(cgroup);
  return ref ? ref->id : std::string();
}

}  // namespace

std::string CgroupFromProcText(std::string_view text) {
  std::string unified, pids;
  for (std::string_view line : SplitLines(text)) {
    // hierarchy-ID:controller-list:cgroup-path (the path may itself hold ':')
    size_t first_colon = line.find(':');
    if (first_colon == std::string_view::npos) continue;
    size_t second_colon = line.find(':', first_colon + 1);
    if (second_colon == std::string_view::npos) continue;
    std::string_view controllers = line.substr(first_colon + 1, second_colon - first_colon - 1);
    std::string_view path = line.substr(second_colon + 1);
    if (path == "/" || path.empty()) continue;
    if (line.substr(0, first_colon) == "0" && controllers.empty()) unified = path;
    for (std::string_view controller : Split(controllers, ',')) {
      if (controller == "pids") pids = path;
    }
  }
  if (!unified.empty()) return unified;
  if (!pids.empty()) return pids;
  // The same choice as the kernel side (sensor.bpf.c): another controller's hierarchy can sit
  // below a cgroup of the host's own (this machine's memory controller does), which would read
  // as a container.
  return "/";
}

bool ReadProcProcess(const std::string& proc_root, uint32_t pid, ProcessInfo& out) {
  const std::string dir = proc_root + "/" + std::to_string(pid);
  std::string stat = ReadSmallFile(dir + "/stat");
  // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split at the last ')'.
  size_t open = stat.find('(');
  size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  ProcessInfo info;
  info.pid = pid;
  info.comm = stat.substr(open + 1, close - open - 1);
  auto rest = SplitWords(std::string_view(stat).substr(close + 1));
  if (rest.size() < 2) return false;
  info.ppid = static_cast<uint32_t>(std::strtoul(std::string(rest[1]).c_str(), nullptr, 10));
  info.exec.ppid = info.ppid;
  info.exec.exe = ReadLink(dir + "/exe");
  const std::string deleted = " (deleted)";
  if (info.exec.exe.ends_with(deleted)) info.exec.exe.resize(info.exec.exe.size() - deleted.size());
  info.exec.exe_memfd = info.exec.exe.rfind("/memfd:", 0) == 0;
  info.exec.filename = info.exec.exe;
  // What the kernel's exec event tells by the inode's superblock (the drift check needs it for
  // processes that started before the sensor too): statfs follows the link to the executable.
  constexpr long kOverlayfsMagic = 0x794c7630;
  struct statfs exe_fs {};
  info.exec.exe_on_overlay =
      ::statfs((dir + "/exe").c_str(), &exe_fs) == 0 && exe_fs.f_type == kOverlayfsMagic;
  const std::string cmdline = ReadSmallFile(dir + "/cmdline");
  for (std::string_view arg : SplitTerminated(cmdline, '\0')) {
    info.exec.argv.emplace_back(arg);
  }
  info.exec.cwd = ReadLink(dir + "/cwd");
  std::string status = ReadSmallFile(dir + "/status");
  info.uid = static_cast<uint32_t>(StatusNumber(status, "Uid:", 0, 10));
  info.exec.euid = static_cast<uint32_t>(StatusNumber(status, "Uid:", 1, 10));
  info.gid = static_cast<uint32_t>(StatusNumber(status, "Gid:", 0, 10));
  info.exec.egid = static_cast<uint32_t>(StatusNumber(status, "Gid:", 1, 10));
  info.exec.cap_effective = StatusNumber(status, "CapEff:", 0, 16);
  info.exec.cap_permitted = StatusNumber(status, "CapPrm:", 0, 16);
  info.exec.cap_inheritable = StatusNumber(status, "CapInh:", 0, 16);
  std::string loginuid = std::string(TrimSpace(ReadSmallFile(dir + "/loginuid")));
  info.exec.loginuid = loginuid.empty()
                           ? UINT32_MAX
                           : static_cast<uint32_t>(std::strtoul(loginuid.c_str(), nullptr, 10));
  info.exec.cgroup = CgroupFromProcText(ReadSmallFile(dir + "/cgroup"));
  info.container_id = ContainerIdOf(info.exec.cgroup);
  out = std::move(info);
  return true;
}

size_t ProcessTree::SeedFromProc(const std::string& proc_root) {
  DIR* dir = ::opendir(proc_root.c_str());
  if (dir == nullptr) return 0;
  size_t added = 0;
  while (dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    unsigned long pid = std::strtoul(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || pid == 0) continue;
    if (AddFromProc(static_cast<uint32_t>(pid), proc_root)) ++added;
  }
  ::closedir(dir);
  return added;
}

bool ProcessTree::AddFromProc(uint32_t pid, const std::string& proc_root) {
  ProcessInfo info;
  if (!ReadProcProcess(proc_root, pid, info)) return false;
  processes_[pid] = std::move(info);
  return true;
}

void ProcessTree::Apply(const Event& event) {
  switch (event.type) {
    case EventType::kExec: {
      ProcessInfo& info = processes_[event.pid];
      info.pid = event.pid;
      info.comm = event.comm;
      info.exec = *event.exec;
      info.ppid = info.exec.ppid;
      info.uid = event.uid;
      info.gid = event.gid;
      info.exited = false;
      info.container_id = ContainerIdOf(info.exec.cgroup);
      break;
    }
    case EventType::kFork: {
      uint32_t parent_pid = static_cast<uint32_t>(event.Number("parent_pid").value_or(0));
      ProcessInfo child;
      if (auto parent = processes_.find(parent_pid); parent != processes_.end()) {
        child = parent->second;  // a fork runs the parent's program in the parent's cgroup
      } else {
        child.comm = event.comm;
      }
      child.pid = event.pid;
      child.ppid = parent_pid;
      child.exec.ppid = parent_pid;
      child.exited = false;
      child.exit_boot_ns = 0;
      processes_[event.pid] = std::move(child);
      break;
    }
    case EventType::kExit:
      if (auto it = processes_.find(event.pid); it != processes_.end()) {
        it->second.exited = true;
        it->second.exit_boot_ns = event.boot_ns;
      }
      break;
    default:
      break;
  }
}

const ProcessInfo* ProcessTree::Find(uint32_t pid) const {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

std::vector<const ProcessInfo*> ProcessTree::Parents(uint32_t pid, size_t levels) const {
  std::vector<const ProcessInfo*> chain;
  Parents(pid, levels, chain);
  return chain;
}

void ProcessTree::Parents(uint32_t pid, size_t levels, std::vector<const ProcessInfo*>& out) const {
  out.clear();
  const ProcessInfo* current = Find(pid);
  while (current != nullptr && out.size() < levels) {
    const uint32_t parent = current->ppid;
    // A loop (a pid reused inside the chain): the chain holds at most `levels` (64) entries, so
    // looking back through it costs less than a set built per event.
    if (parent == 0 || parent == pid) break;
    if (std::any_of(out.begin(), out.end(), [&](const ProcessInfo* p) { return p->pid == parent; }))
      break;
    current = Find(parent);
    if (current != nullptr) out.push_back(current);
  }
}

void ProcessTree::ForgetExited(uint64_t now_boot_ns, uint64_t grace_ns) {
  for (auto it = processes_.begin(); it != processes_.end();) {
    if (it->second.exited && it->second.exit_boot_ns + grace_ns < now_boot_ns) {
      it = processes_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace moat::sensor
