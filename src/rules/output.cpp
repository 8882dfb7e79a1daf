#include "rules/output.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "agent/spool.h"
#include "core/log.h"
#include "http/metrics.h"
#include "server/notify/dispatcher.h"
#include "server/notify/notify.h"

namespace moat::rules {
namespace {

using Clock = std::chrono::steady_clock;

// One rule on one resource: the first alert passes, its repeats within the window are counted,
// and the first one after the window carries the count.
class RateLimiter {
 public:
  RateLimiter(std::chrono::seconds window, size_t max_keys)
      : window_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(window).count()),
        max_keys_(max_keys) {}

  // Whether `alert` passes; when it does after suppressed repeats, their number is put in it.
  bool Admit(Alert& alert, uint64_t& overflow) {
    if (window_ns_ <= 0) return true;
    const std::string key = AlertDedupeKey(alert);
    auto it = keys_.find(key);
    if (it == keys_.end()) {
      if (keys_.size() >= max_keys_) Forget(alert.time_ns);
      if (keys_.size() >= max_keys_) {
        ++overflow;
        return true;
      }
      keys_.emplace(key, Entry{alert.time_ns, 0});
      return true;
    }
    Entry& entry = it->second;
    if (alert.time_ns - entry.last_passed_ns < window_ns_) {
      ++entry.suppressed;
      return false;
    }
    if (entry.suppressed > 0) MarkSuppressed(alert, entry.suppressed);
    entry = Entry{alert.time_ns, 0};
    return true;
  }

 private:
  struct Entry {
    int64_t last_passed_ns = 0;
    uint64_t suppressed = 0;
  };

  void Forget(int64_t now_ns) {
    for (auto it = keys_.begin(); it != keys_.end();) {
      it = now_ns - it->second.last_passed_ns >= window_ns_ ? keys_.erase(it) : std::next(it);
    }
  }

  static void MarkSuppressed(Alert& alert, uint64_t count) {
    nlohmann::ordered_json fields =
        nlohmann::ordered_json::parse(alert.output_fields, nullptr, /*allow_exceptions=*/false);
    if (!fields.is_object()) fields = nlohmann::ordered_json::object();
    fields["moat.suppressed_repeats"] = count;
    alert.output_fields = fields.dump();
    alert.output += " (" + std::to_string(count) + " repeats suppressed)";
  }

  const int64_t window_ns_;
  const size_t max_keys_;
  std::unordered_map<std::string, Entry> keys_;
};

// One network target: alerts are appended to its spool, and a thread of its own sends them in
// order, acknowledging in the spool what the receiver took.
class SpooledTarget {
 public:
  static Result<std::unique_ptr<SpooledTarget>> Open(const std::string& flag,
                                                     const std::string& dir,
                                                     const OutputOptions& options) {
    MOAT_ASSIGN_OR_RETURN(server::notify::NotifierConfig config,
                          server::notify::ParseNotifyFlag(flag));
    MOAT_ASSIGN_OR_RETURN(std::unique_ptr<server::notify::Notifier> notifier,
                          server::notify::MakeNotifier(config));
    agent::SpoolOptions spool_options;
    spool_options.max_bytes = options.spool_max_bytes;
    spool_options.segment_bytes = std::max<uint64_t>(4096, options.spool_max_bytes / 8);
    std::vector<std::string> notes;
    MOAT_ASSIGN_OR_RETURN(std::unique_ptr<agent::Spool> spool,
                          agent::Spool::Open(dir, spool_options, &notes));
    for (const std::string& note : notes) log::Warn("alert spool " + dir + ": " + note);
    std::unique_ptr<SpooledTarget> target(new SpooledTarget(options));
    target->name_ = config.kind + " " + server::notify::RedactUrl(config.url);
    target->notifier_ = std::move(notifier);
    target->spool_ = std::move(spool);
    target->thread_ = std::thread([raw = target.get()] { raw->Loop(); });
    return target;
  }

  ~SpooledTarget() { Stop(); }

  void Enqueue(const Alert& alert) {
    auto appended = spool_->Append(agent::MessageKind::kAlerts, alert.time, AlertToJson(alert));
    std::lock_guard lock(mutex_);
    if (!appended.ok()) {
      ++append_errors_;
      log::Error("alert spool " + spool_->dir() + ": " + appended.error().message);
      return;
    }
    ++spooled_;
    wake_.notify_one();
  }

  bool WaitDelivered(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return idle_.wait_until(lock, deadline, [&] { return spool_->pending() == 0; });
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  TargetStats Stats() const {
    std::lock_guard lock(mutex_);
    const agent::SpoolLosses losses = spool_->losses();
    return TargetStats{name_,
                       spooled_,
                       delivered_,
                       failed_attempts_,
                       losses.messages + losses.corrupt_records + append_errors_,
                       spool_->pending()};
  }

 private:
  explicit SpooledTarget(const OutputOptions& options) : options_(options) {}

  void Loop() {
    std::chrono::milliseconds backoff = options_.retry_initial;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || spool_->pending() > 0; });
        if (stopping_) return;
      }
      auto messages = spool_->ReadFrom(spool_->acked_through() + 1, options_.send_batch, 4 << 20);
      if (!messages.ok() || messages->empty()) {
        log::Error("alert spool " + spool_->dir() + ": " +
                   (messages.ok() ? "nothing to read" : messages.error().message));
        if (!Sleep(backoff)) return;
        continue;
      }
      std::vector<Alert> alerts;
      for (const agent::SpooledMessage& message : *messages) {
        if (message.kind != agent::MessageKind::kAlerts) continue;  // a dropped range
        const nlohmann::json wire =
            nlohmann::json::parse(message.json, nullptr, /*allow_exceptions=*/false);
        if (!wire.is_object() || !wire.contains("body")) continue;
        auto alert = ParseAlert(wire["body"].dump(), spool_->dir());
        if (alert.ok()) alerts.push_back(std::move(*alert));
      }
      auto sent = alerts.empty() ? Result<void>() : notifier_->Send(alerts);
      if (!sent.ok()) {
        {
          std::lock_guard lock(mutex_);
          ++failed_attempts_;
        }
        log::Warn("alert target " + name_ + ": " + sent.error().message + "; retrying in " +
                  std::to_string(backoff.count()) + " ms");
        if (!Sleep(backoff)) return;
        backoff = std::min(backoff * 2, options_.retry_max);
        continue;
      }
      backoff = options_.retry_initial;
      auto acked = spool_->Acknowledge(messages->back().through);
      std::lock_guard lock(mutex_);
      if (!acked.ok()) log::Error("alert spool " + spool_->dir() + ": " + acked.error().message);
      delivered_ += alerts.size();
      if (spool_->pending() == 0) idle_.notify_all();
    }
  }

  // Waits out a retry delay; false when stopping.
  bool Sleep(std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, delay, [&] { return stopping_; });
  }

  const OutputOptions options_;
  std::string name_;
  std::unique_ptr<server::notify::Notifier> notifier_;
  std::unique_ptr<agent::Spool> spool_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  bool stopping_ = false;
  uint64_t spooled_ = 0;
  uint64_t delivered_ = 0;
  uint64_t failed_attempts_ = 0;
  uint64_t append_errors_ = 0;
  std::thread thread_;
};

}  // namespace

struct AlertOutputs::State {
  explicit State(const OutputOptions& options)
      : options(options), limiter(options.rate_window, options.rate_max_keys) {}

  // Appends a line to the file, rotating it first when it is full.
  void WriteFile(const std::string& line) {
    if (file && file_bytes + line.size() > options.file_max_bytes && file_bytes > 0) Rotate();
    if (!file) return;
    if (std::fwrite(line.data(), 1, line.size(), file) != line.size()) {
      ++stats.write_errors;
      return;
    }
    file_bytes += line.size();
    ++stats.written;
  }

  void Rotate() {
    std::fclose(file);
    file = nullptr;
    const std::string& path = options.file;
    for (int i = options.file_backups - 1; i >= 1; --i) {
      std::rename((path + "." + std::to_string(i)).c_str(),
                  (path + "." + std::to_string(i + 1)).c_str());
    }
    if (options.file_backups > 0) {
      std::rename(path.c_str(), (path + ".1").c_str());
    } else {
      ::truncate(path.c_str(), 0);
    }
    ++stats.file_rotations;
    file = std::fopen(path.c_str(), "a");
    file_bytes = 0;
    if (!file) {
      ++stats.write_errors;
      log::Error("alert file " + path + ": cannot open: " + std::strerror(errno));
    }
  }

  const OutputOptions options;
  mutable std::mutex mutex;
  RateLimiter limiter;
  OutputStats stats;
  FILE* file = nullptr;
  uint64_t file_bytes = 0;
  std::vector<std::unique_ptr<SpooledTarget>> targets;
};

AlertOutputs::AlertOutputs(std::unique_ptr<State> state) : state_(std::move(state)) {}

AlertOutputs::~AlertOutputs() {
  Close();
  if (state_->file) std::fclose(state_->file);
}

Result<std::unique_ptr<AlertOutputs>> AlertOutputs::Open(const OutputOptions& options) {
  auto state = std::make_unique<State>(options);
  if (!options.file.empty()) {
    state->file = std::fopen(options.file.c_str(), "a");
    if (!state->file) {
      return Fail("alert file ", options.file, ": cannot open: ", std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fileno(state->file), &st) == 0) state->file_bytes = st.st_size;
  }
  if (!options.targets.empty() && options.spool_dir.empty()) {
    return Fail("alert targets need a spool directory (--spool-dir)");
  }
  for (size_t i = 0; i < options.targets.size(); ++i) {
    const std::string dir = options.spool_dir + "/target-" + std::to_string(i + 1);
    if (::mkdir(options.spool_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Fail("spool directory ", options.spool_dir, ": ", std::strerror(errno));
    }
    auto target = SpooledTarget::Open(options.targets[i], dir, options);
    if (!target.ok()) return target.error().Wrap("alert target " + std::to_string(i + 1));
    state->targets.push_back(std::move(*target));
  }
  return std::unique_ptr<AlertOutputs>(new AlertOutputs(std::move(state)));
}

void AlertOutputs::Emit(Alert alert) {
  State& state = *state_;
  {
    std::lock_guard lock(state.mutex);
    ++state.stats.alerts;
    if (!state.limiter.Admit(alert, state.stats.rate_keys_overflow)) {
      ++state.stats.suppressed;
      return;
    }
    const std::string line = AlertToJson(alert) + "\n";
    if (state.options.stdout_json) {
      if (std::fwrite(line.data(), 1, line.size(), stdout) == line.size()) {
        std::fflush(stdout);
        ++state.stats.written;
      } else {
        ++state.stats.write_errors;
      }
    }
    if (state.file) state.WriteFile(line);
  }
  for (auto& target : state.targets) target->Enqueue(alert);
}

bool AlertOutputs::Flush(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->file) std::fflush(state_->file);
  }
  const auto deadline = Clock::now() + timeout;
  bool all = true;
  for (auto& target : state_->targets) all = target->WaitDelivered(deadline) && all;
  return all;
}

void AlertOutputs::Close() {
  for (auto& target : state_->targets) target->Stop();
  std::lock_guard lock(state_->mutex);
  if (state_->file) std::fflush(state_->file);
}

OutputStats AlertOutputs::stats() const {
  OutputStats stats;
  {
    std::lock_guard lock(state_->mutex);
    stats = state_->stats;
  }
  for (const auto& target : state_->targets) stats.targets.push_back(target->Stats());
  return stats;
}

void AlertOutputs::RenderMetrics(std::string& out) const {
  const OutputStats s = stats();
  http::RenderSample("moat_alerts_total", "counter", "Alerts raised by the rules.", s.alerts, out);
  http::RenderSample("moat_alerts_suppressed_total", "counter",
                     "Repeats of an alert (rule and resource) held back by the rate limit.",
                     s.suppressed, out);
  http::RenderSample("moat_alerts_written_total", "counter",
                     "Alert lines written to stdout and the file.", s.written, out);
  http::RenderSample("moat_alerts_write_errors_total", "counter",
                     "Alert lines that could not be written.", s.write_errors, out);
  if (s.targets.empty()) return;
  const std::pair<const char*, uint64_t TargetStats::*> series[] = {
      {"moat_alert_target_spooled_total", &TargetStats::spooled},
      {"moat_alert_target_delivered_total", &TargetStats::delivered},
      {"moat_alert_target_failed_attempts_total", &TargetStats::failed_attempts},
      {"moat_alert_target_lost_total", &TargetStats::lost},
      {"moat_alert_target_pending", &TargetStats::pending}};
  for (const auto& [name, member] : series) {
    const bool gauge = std::string_view(name).ends_with("pending");
    out += std::string("# TYPE ") + name + (gauge ? " gauge\n" : " counter\n");
    for (const TargetStats& target : s.targets) {
      out += std::string(name) + "{target=" + http::PrometheusLabelValue(target.name) + "} " +
             std::to_string(target.*member) + "\n";
    }
  }
}

}  // namespace moat::rules
