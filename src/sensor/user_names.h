#pragma once
// user.name for the rules and alerts: a uid means the name the process's own /etc/passwd gives
// it, which in a container is the image's file, not the node's. Read through /proc/PID/root (the
// node's own through /proc/1/root, which under hostPID is the node and not the sensor's
// container) once per container, and again when a uid is missing (useradd at run time), at most
// every few seconds.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace moat::sensor {

/// uid -> name from passwd(5) text; malformed lines are skipped.
std::unordered_map<uint32_t, std::string> ParsePasswd(std::string_view text);

class UserNames {
 public:
  /// `proc_root`: "/proc" (tests point it elsewhere).
  explicit UserNames(std::string proc_root = "/proc") : proc_root_(std::move(proc_root)) {}

  /// The name of `uid` for process `pid` of container `container_id` ("" on the host); "" when
  /// the file does not name it.
  const std::string& Name(const std::string& container_id, uint32_t pid, uint32_t uid);
  /// Forgets a container's table (it stopped).
  void Forget(const std::string& container_id) { tables_.erase(container_id); }
  size_t tables() const { return tables_.size(); }

 private:
  struct Table {
    std::unordered_map<uint32_t, std::string> names;
    std::chrono::steady_clock::time_point loaded;
  };
  void Load(Table& table, uint32_t pid, bool host);

  std::string proc_root_;
  std::unordered_map<std::string, Table> tables_;
};

}  // namespace moat::sensor
