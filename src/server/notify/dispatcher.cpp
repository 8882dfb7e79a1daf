#include "server/notify/dispatcher.h"

#include <algorithm>
#include <chrono>

#include "core/bytes.h"
#include "core/log.h"
#include "core/text.h"
#include "core/token_file.h"

namespace moat::server::notify {

Result<NotifierConfig> ParseNotifyFlag(const std::string& flag) {
  const size_t eq = flag.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Fail("--notify ", flag,
                ": expected KIND=URL[,min=PRIORITY][,batch][,token-file=PATH][,ca-file=PATH]");
  }
  NotifierConfig config;
  config.kind = flag.substr(0, eq);
  const std::string rest = flag.substr(eq + 1);
  const std::vector<std::string_view> parts = Split(rest, ',');
  config.url = parts.empty() ? "" : std::string(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string option(parts[i]);
    if (option.rfind("min=", 0) == 0) {
      auto priority = ParseAlertPriority(option.substr(4));
      if (!priority) return Fail("--notify ", flag, ": unknown priority '", option.substr(4), "'");
      config.min_priority = *priority;
    } else if (option == "batch") {
      config.batch = true;
    } else if (option.rfind("token-file=", 0) == 0 || option.rfind("ca-file=", 0) == 0) {
      // For a moat server's alert ingest (`webhook=https://moat:8443/api/v1/alerts,batch,
      // token-file=agent.token,ca-file=ca.crt`): the token of role agent it requires, and its
      // CA. Read once, here: a missing file stops the command at start, not at the first alert.
      const std::string path = option.substr(option.find('=') + 1);
      if (option[0] == 't') {
        auto token = ReadTokenFile(path);
        if (!token.ok()) return Fail("--notify ", flag, ": ", token.error().message);
        if (token->find_first_of(" \t\r\n") != std::string::npos) {
          return Fail("--notify ", flag, ": ", path, ": expected one token");
        }
        config.headers.emplace_back("Authorization", "Bearer " + *token);
      } else {
        auto ca = ReadFileToString(path, 1 << 20);
        if (!ca.ok()) return Fail("--notify ", flag, ": ", ca.error().message);
        config.ca_pem = std::move(*ca);
      }
    } else {
      return Fail("--notify ", flag, ": unknown option '", option, "'");
    }
  }
  // Kind and URL are checked now, not at the first alert.
  if (auto made = MakeNotifier(config); !made.ok()) return made.error().Wrap("--notify " + flag);
  return config;
}

Result<std::shared_ptr<const Dispatcher::Targets>> Dispatcher::MakeTargets(
    const std::vector<NotifierConfig>& configs) {
  auto targets = std::make_shared<Targets>();
  for (const auto& config : configs) {
    MOAT_ASSIGN_OR_RETURN(auto notifier, MakeNotifier(config));
    targets->push_back(Target{config, std::move(notifier)});
  }
  return std::shared_ptr<const Targets>(std::move(targets));
}

Result<std::unique_ptr<Dispatcher>> Dispatcher::Start(const std::vector<NotifierConfig>& targets,
                                                      size_t max_queued) {
  std::unique_ptr<Dispatcher> dispatcher(new Dispatcher());
  MOAT_ASSIGN_OR_RETURN(dispatcher->targets_, MakeTargets(targets));
  dispatcher->max_queued_ = max_queued;
  dispatcher->thread_ = std::thread([d = dispatcher.get()] { d->Loop(); });
  return dispatcher;
}

Dispatcher::~Dispatcher() { Stop(); }

Result<void> Dispatcher::SetTargets(const std::vector<NotifierConfig>& targets) {
  {
    // Unchanged (the scheduler reloads every minute): keep the notifiers and their connections.
    std::lock_guard lock(mutex_);
    if (std::equal(targets_->begin(), targets_->end(), targets.begin(), targets.end(),
                   [](const Target& a, const NotifierConfig& b) { return a.config == b; })) {
      return Ok();
    }
  }
  MOAT_ASSIGN_OR_RETURN(auto made, MakeTargets(targets));
  std::lock_guard lock(mutex_);
  targets_ = std::move(made);
  return Ok();
}

size_t Dispatcher::target_count() const {
  std::lock_guard lock(mutex_);
  return targets_->size();
}

void Dispatcher::Enqueue(std::vector<Alert> alerts) {
  if (alerts.empty()) return;
  std::lock_guard lock(mutex_);
  if (targets_->empty()) return;
  for (auto& alert : alerts) queue_.push_back(std::move(alert));
  while (queue_.size() > max_queued_) {
    queue_.pop_front();
    if (++dropped_ % 1000 == 1) {
      log::Warn("notifications: targets are behind; " + std::to_string(dropped_) +
                " alerts not notified (they are in the store)");
    }
  }
  wake_.notify_one();
}

void Dispatcher::Drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return (queue_.empty() && !busy_) || stopping_; });
}

void Dispatcher::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    wake_.notify_all();
    idle_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

int64_t Dispatcher::sent() const {
  std::lock_guard lock(mutex_);
  return sent_;
}

int64_t Dispatcher::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

void Dispatcher::Loop() {
  while (true) {
    std::vector<Alert> batch;
    std::shared_ptr<const Targets> targets;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      while (!queue_.empty() && batch.size() < 100) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      targets = targets_;
      busy_ = true;
    }
    for (const auto& target : *targets) {
      std::vector<Alert> selected;
      for (const auto& alert : batch) {
        if (AtLeast(alert.priority, target.config.min_priority)) selected.push_back(alert);
      }
      if (selected.empty()) continue;
      Result<void> sent = Ok();
      for (int attempt = 0; attempt < 4; ++attempt) {
        if (attempt > 0) {
          std::unique_lock lock(mutex_);
          if (wake_.wait_for(lock, std::chrono::seconds(1 << (attempt - 1)),
                             [this] { return stopping_; })) {
            break;
          }
        }
        sent = target.notifier->Send(selected);
        if (sent.ok()) break;
      }
      if (!sent.ok()) {
        log::Error("notification to " + target.config.kind + ": " + sent.error().message);
      } else {
        std::lock_guard lock(mutex_);
        sent_ += static_cast<int64_t>(selected.size());
      }
    }
    std::lock_guard lock(mutex_);
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace moat::server::notify
