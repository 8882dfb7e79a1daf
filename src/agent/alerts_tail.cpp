#include "agent/alerts_tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/spool.h"
#include "core/alert.h"
#include "core/bytes.h"
#include "core/log.h"

namespace moat::agent {

AlertsTail::AlertsTail(std::string path, std::string state_dir)
    : path_(std::move(path)),
      state_dir_(std::move(state_dir)),
      state_path_(state_dir_ + "/alerts.position") {}

Result<void> AlertsTail::LoadState() {
  loaded_ = true;
  if (::access(state_path_.c_str(), F_OK) != 0) return Ok();
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(state_path_, 256));
  unsigned long long inode = 0, offset = 0, line = 0;
  if (std::sscanf(text.c_str(), "%llu %llu %llu", &inode, &offset, &line) != 3) {
    log::Warn(state_path_ + ": not \"inode offset line\"; reading " + path_ + " from its start");
    return Ok();
  }
  inode_ = inode;
  offset_ = next_offset_ = offset;
  line_ = next_line_ = line;
  return Ok();
}

Result<std::vector<std::string>> AlertsTail::Poll(size_t max_bytes) {
  if (!loaded_) MOAT_TRY(LoadState());
  std::vector<std::string> alerts;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return alerts;
    return Fail("alerts file ", path_, ": ", std::strerror(errno));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (st.st_ino != inode_ || size < offset_) {
    if (inode_ != 0)
      log::Info("alerts file " + path_ + " was rotated or truncated: reading it from the start");
    inode_ = st.st_ino;
    offset_ = line_ = 0;
  }
  next_offset_ = offset_;
  next_line_ = line_;
  if (size == offset_) return alerts;
  MOAT_ASSIGN_OR_RETURN(std::string data, [&]() -> Result<std::string> {
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail("alerts file ", path_, ": ", std::strerror(errno));
    std::string buffer(std::min<uint64_t>(size - offset_, max_bytes), '\0');
    ssize_t n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset_));
    ::close(fd);
    if (n < 0) return Fail("alerts file ", path_, ": ", std::strerror(errno));
    buffer.resize(static_cast<size_t>(n));
    return buffer;
  }());
  size_t start = 0;
  size_t newline;
  while ((newline = data.find('\n', start)) != std::string::npos) {
    std::string_view line(data.data() + start, newline - start);
    ++next_line_;
    start = newline + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto alert = ParseAlert(line, path_ + ": line " + std::to_string(next_line_));
    if (!alert.ok()) {
      log::Warn("skipped an alert: " + alert.error().message);
      continue;
    }
    alerts.push_back(AlertToJson(*alert));
  }
  if (start == 0 && data.size() == max_bytes) {
    // One line longer than a whole read can never complete: skip it rather than stall forever.
    log::Warn("alerts file " + path_ + ": line " + std::to_string(next_line_ + 1) +
              " is longer than " + std::to_string(max_bytes) + " bytes; skipped");
    size_t skip_to = data.size();
    start = skip_to;
  }
  next_offset_ = offset_ + start;  // an incomplete last line waits for its newline
  return alerts;
}

Result<void> AlertsTail::Commit() {
  if (next_offset_ == offset_ && next_line_ == line_) return Ok();
  MOAT_TRY(ReplaceFileDurably(state_dir_, state_path_,
                              std::to_string(inode_) + " " + std::to_string(next_offset_) + " " +
                                  std::to_string(next_line_) + "\n"));
  offset_ = next_offset_;
  line_ = next_line_;
  return Ok();
}

std::string AlertsBody(const std::vector<std::string>& alerts) {
  std::string body = "{\"alerts\":[";
  for (size_t i = 0; i < alerts.size(); ++i) {
    if (i > 0) body += ',';
    body += alerts[i];
  }
  return body + "]}";
}

}  // namespace moat::agent
