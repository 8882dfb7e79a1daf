// Host side of the facts: files under --host-root, and the daemon configuration lookup.

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cis/docker/facts.h"
#include "core/bytes.h"
#include "core/text.h"

namespace moat::cis::docker {
namespace {

// /etc/passwd or /etc/group: name:x:id:... -> id -> name.
std::map<uint32_t, std::string> IdNames(std::string_view text) {
  std::map<uint32_t, std::string> names;
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> fields = Split(line, ':');
    if (fields.size() < 4 || fields[2].empty() || fields[2].size() > 10) continue;
    uint64_t id = 0;
    bool ok = true;
    for (char c : fields[2]) {
      ok = ok && c >= '0' && c <= '9';
      id = id * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok || id > UINT32_MAX) continue;
    names.emplace(static_cast<uint32_t>(id), std::string(fields[0]));
  }
  return names;
}

}  // namespace

HostFs::HostFs(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  if (root_.empty()) root_ = "/";
  if (auto passwd = Read("/etc/passwd"); passwd.ok()) users_ = IdNames(*passwd);
  if (auto group = Read("/etc/group"); group.ok()) groups_ = IdNames(*group);
}

std::string HostFs::Resolve(std::string_view host_path) const {
  if (root_ == "/") return std::string(host_path);
  if (!host_path.empty() && host_path[0] == '/') return root_ + std::string(host_path);
  return root_ + "/" + std::string(host_path);
}

StatInfo HostFs::Stat(std::string_view host_path) const {
  StatInfo info;
  struct stat st {};
  std::string path = Resolve(host_path);
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) info.error = std::strerror(errno);
    return info;
  }
  info.exists = true;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.mode = st.st_mode & 07777;
  info.is_dir = S_ISDIR(st.st_mode);
  info.is_socket = S_ISSOCK(st.st_mode);
  info.is_regular = S_ISREG(st.st_mode);
  return info;
}

Result<std::string> HostFs::Read(std::string_view host_path, uint64_t max_bytes) const {
  return ReadFileToString(Resolve(host_path), max_bytes);
}

Result<std::vector<std::string>> HostFs::List(std::string_view host_path) const {
  std::string path = Resolve(host_path);
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return Fail(path, ": ", std::strerror(errno));
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::string HostFs::UserName(uid_t uid) const {
  auto it = users_.find(uid);
  return it == users_.end() ? std::to_string(uid) : it->second;
}

std::string HostFs::GroupName(gid_t gid) const {
  auto it = groups_.find(gid);
  return it == groups_.end() ? std::to_string(gid) : it->second;
}

std::optional<gid_t> HostFs::GroupId(std::string_view name) const {
  for (const auto& [id, group] : groups_) {
    if (group == name) return id;
  }
  return std::nullopt;
}

DaemonConfig::Setting DaemonConfig::Lookup(std::string_view flag, std::string_view json_key) const {
  Setting setting;
  if (!json_key.empty()) {
    auto it = json.find(std::string(json_key));
    if (it != json.end()) {
      setting.source = Setting::Source::kJson;
      setting.where = "daemon.json \"" + std::string(json_key) + "\": " + it->second;
      nlohmann::json value = nlohmann::json::parse(it->second, nullptr, false);
      auto plain = [](const nlohmann::json& v) {
        return v.is_string() ? v.get<std::string>() : v.dump();
      };
      if (value.is_array()) {
        for (const auto& item : value) setting.values.push_back(plain(item));
      } else if (!value.is_discarded()) {
        setting.values.push_back(plain(value));
      }
      return setting;
    }
  }
  if (!flag.empty()) {
    auto [begin, end] = flags.equal_range(std::string(flag));
    if (begin != end) {
      setting.source = Setting::Source::kFlag;
      for (auto it = begin; it != end; ++it) {
        setting.values.push_back(it->second);
        if (!setting.where.empty()) setting.where += " ";
        setting.where += "--" + std::string(flag) + "=" + it->second;
      }
      setting.where = "dockerd " + setting.where;
      return setting;
    }
  }
  if (!cmdline_found) setting.source = Setting::Source::kUnknown;
  return setting;
}

const std::string* DockerFacts::InputError(std::string_view input) const {
  auto it = input_errors.find(std::string(input));
  return it == input_errors.end() ? nullptr : &it->second;
}

std::vector<const ContainerInfo*> DockerFacts::Running() const {
  std::vector<const ContainerInfo*> running;
  for (const auto& c : containers) {
    if (c.running) running.push_back(&c);
  }
  return running;
}

}  // namespace moat::cis::docker
