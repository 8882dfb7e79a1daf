#include "sensor/user_names.h"

#include <charconv>

#include "core/bytes.h"
#include "core/text.h"

namespace moat::sensor {
namespace {

constexpr uint64_t kMaxPasswdBytes = 4 << 20;
// A uid missing from the table reloads it at most this often (a user added at run time).
constexpr std::chrono::seconds kReloadInterval{5};

const std::string kUnknown;

}  // namespace

std::unordered_map<uint32_t, std::string> ParsePasswd(std::string_view text) {
  std::unordered_map<uint32_t, std::string> names;
  for (std::string_view line : SplitLines(text)) {
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string_view> fields = Split(line, ':');
    if (fields.size() < 3 || fields[0].empty()) continue;
    uint32_t uid = 0;
    auto [end, error] = std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), uid);
    if (error != std::errc() || end != fields[2].data() + fields[2].size()) continue;
    names.emplace(uid, std::string(fields[0]));  // the first entry of a uid wins, as getpwuid
  }
  return names;
}

void UserNames::Load(Table& table, uint32_t pid, bool host) {
  table.loaded = std::chrono::steady_clock::now();
  const std::string path =
      proc_root_ + "/" + (host ? std::string("1") : std::to_string(pid)) + "/root/etc/passwd";
  auto text = ReadFileToString(path, kMaxPasswdBytes);
  if (text.ok()) table.names = ParsePasswd(*text);
}

const std::string& UserNames::Name(const std::string& container_id, uint32_t pid, uint32_t uid) {
  auto [it, inserted] = tables_.try_emplace(container_id);
  Table& table = it->second;
  if (inserted) Load(table, pid, container_id.empty());
  auto found = table.names.find(uid);
  if (found == table.names.end() &&
      std::chrono::steady_clock::now() - table.loaded >= kReloadInterval) {
    Load(table, pid, container_id.empty());
    found = table.names.find(uid);
  }
  return found == table.names.end() ? kUnknown : found->second;
}

}  // namespace moat::sensor
