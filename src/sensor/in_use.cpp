#include "sensor/in_use.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/alert.h"
#include "core/bytes.h"
#include "core/text.h"

namespace moat::sensor {
namespace {

// Bounds: a pathological process (a JIT with thousands of mappings) costs at most this much.
constexpr uint64_t kMaxMapsBytes = 8 << 20;
constexpr size_t kMaxPending = 100000;
constexpr size_t kMaxFilesPerContainer = 50000;
constexpr std::string_view kDeletedSuffix = " (deleted)";

}  // namespace

std::set<std::string> ExecutableMappings(std::string_view maps_text) {
  // address perms offset dev inode pathname; the path is the rest of the line after the inode
  // and may contain spaces.
  std::set<std::string> files;
  for (std::string_view line : SplitLines(maps_text)) {
    size_t position = 0;
    std::string_view fields[5];
    bool complete = true;
    for (auto& field : fields) {
      while (position < line.size() && line[position] == ' ') ++position;
      size_t end = line.find(' ', position);
      if (end == std::string_view::npos) {
        complete = false;
        break;
      }
      field = line.substr(position, end - position);
      position = end;
    }
    if (!complete || fields[1].size() < 3 || fields[1][2] != 'x' || fields[4] == "0") continue;
    while (position < line.size() && line[position] == ' ') ++position;
    std::string_view path = line.substr(position);
    if (path.empty() || path.front() != '/' || path.starts_with("/memfd:")) continue;
    if (path.ends_with(kDeletedSuffix)) path.remove_suffix(kDeletedSuffix.size());
    files.emplace(path);
  }
  return files;
}

InUseTracker::InUseTracker(std::string proc_root, uint64_t sample_delay_ns)
    : proc_root_(std::move(proc_root)), sample_delay_ns_(sample_delay_ns) {}

InUseTracker::Container& InUseTracker::Touch(const ContainerInfo& container, int64_t time_ns) {
  Container& entry = containers_[container.id];
  if (entry.first_seen_ns == 0) entry.first_seen_ns = time_ns;
  entry.last_seen_ns = std::max(entry.last_seen_ns, time_ns);
  if (container.resolved) {
    entry.name = container.name;
    entry.image = container.image;
    entry.image_digest = container.image_digest;
  }
  return entry;
}

void InUseTracker::OnMappedFile(const ContainerInfo& container, const std::string& path,
                                int64_t time_ns) {
  if (path.empty() || path.front() != '/' || path.starts_with("/memfd:")) return;
  std::lock_guard lock(mutex_);
  Container& entry = Touch(container, time_ns);
  if (entry.libraries.size() < kMaxFilesPerContainer) entry.libraries.insert(path);
}

void InUseTracker::OnExec(const ContainerInfo& container, const ProcessInfo& process,
                          uint64_t boot_ns, int64_t time_ns) {
  std::lock_guard lock(mutex_);
  Container& entry = Touch(container, time_ns);
  const std::string& exe = process.exec.exe;
  if (!exe.empty() && !process.exec.exe_memfd && entry.executables.size() < kMaxFilesPerContainer) {
    entry.executables.insert(exe);
  }
  if (pending_.size() < kMaxPending) {
    pending_.push_back({process.pid, boot_ns + sample_delay_ns_, container.id, exe});
  }
}

void InUseTracker::Sample(uint64_t now_boot_ns) {
  while (true) {
    Pending next;
    {
      std::lock_guard lock(mutex_);
      if (pending_.empty() || pending_.front().due_boot_ns > now_boot_ns) return;
      next = std::move(pending_.front());
      pending_.pop_front();
    }
    const std::string base = proc_root_ + "/" + std::to_string(next.pid);
    // The pid may have exited and been reused: only the process that still runs the exec'd
    // program counts (/proc/PID/exe is the path in the process's own mount namespace).
    std::error_code error;
    const std::string exe = std::filesystem::read_symlink(base + "/exe", error).string();
    if (error || (exe != next.exe && exe != next.exe + std::string(kDeletedSuffix))) continue;
    auto maps = ReadFileToString(base + "/maps", kMaxMapsBytes);
    if (!maps.ok()) continue;
    std::set<std::string> files = ExecutableMappings(*maps);
    std::lock_guard lock(mutex_);
    Container& entry = containers_[next.container_id];
    for (const std::string& file : files) {
      if (file == next.exe || entry.libraries.size() >= kMaxFilesPerContainer) continue;
      entry.libraries.insert(file);
    }
  }
}

size_t InUseTracker::containers() const {
  std::lock_guard lock(mutex_);
  return containers_.size();
}

std::string InUseTracker::ToJson(std::string_view node, int64_t now_ns) const {
  nlohmann::ordered_json json;
  json["format"] = "moat-in-use/1";
  json["node"] = node;
  json["generated"] = FormatRfc3339Nanos(now_ns);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  std::lock_guard lock(mutex_);
  for (const auto& [id, c] : containers_) {
    list.push_back({{"id", id},
                    {"name", c.name},
                    {"image", c.image},
                    {"image_digest", c.image_digest},
                    {"first_seen", FormatRfc3339Nanos(c.first_seen_ns)},
                    {"last_seen", FormatRfc3339Nanos(c.last_seen_ns)},
                    {"executables", c.executables},
                    {"libraries", c.libraries}});
  }
  json["containers"] = std::move(list);
  return json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

Result<void> InUseTracker::WriteFile(const std::string& path, std::string_view node,
                                     int64_t now_ns) const {
  const std::string text = ToJson(node, now_ns);
  const std::string temporary = path + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "w");
  if (file == nullptr) return Fail(temporary, ": cannot open for writing");
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  if (std::fclose(file) != 0 || !written) return Fail(temporary, ": write failed");
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return Fail(path, ": cannot rename ", temporary, " over it");
  }
  return Ok();
}

}  // namespace moat::sensor
