#include "server/monitor/scheduler.h"

#include <ctime>

#include "core/log.h"
#include "core/text_format.h"
#include "server/center.h"
#include "server/monitor/registry_poll.h"
#include "server/posture.h"
#include "server/store/store.h"

namespace moat::server {

namespace {

// Advisory lock keys of the passes ("moat" in the high bits, then the pass).
constexpr int64_t kPollLock = 0x6d6f617400000001;
constexpr int64_t kRescanLock = 0x6d6f617400000002;
constexpr int64_t kDatabaseLock = 0x6d6f617400000003;
constexpr int64_t kTrendLock = 0x6d6f617400000004;

}  // namespace

Result<bool> RunExclusive(Store& store, int64_t key, const std::function<Result<void>()>& pass) {
  if (store.dialect() != SqlDialect::kPostgres) {
    MOAT_TRY(pass());
    return true;
  }
  // A session lock lives on its connection: this lease is held for the whole pass, which takes
  // the connections it needs from the pool besides.
  auto lock = store.pool().Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto taken,
      lock->Query("SELECT CASE WHEN pg_try_advisory_lock($1) THEN 1 ELSE 0 END", {key}));
  if (taken.rows.empty() || taken.rows[0].Int(0) != 1) return false;
  Result<void> result = pass();
  auto unlocked = lock->Query("SELECT pg_advisory_unlock($1)", {key});
  MOAT_TRY(result);
  MOAT_TRY(unlocked);
  return true;
}

Scheduler::Scheduler(Center& center, SchedulerOptions options)
    : center_(center), options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return static_cast<int64_t>(std::time(nullptr)); };
}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop() {
  while (true) {
    SchedulerRound round = RunOnce(options_.clock());
    for (const auto& error : round.errors) log::Warn("scheduler: " + error);
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) return;
  }
}

SchedulerRound Scheduler::RunOnce(int64_t now) {
  SchedulerRound round;
  auto run = [&round, this](const char* name, int64_t key,
                            const std::function<Result<void>()>& pass) {
    auto ran = RunExclusive(center_.store(), key, pass);
    if (!ran.ok()) {
      round.errors.push_back(std::string(name) + ": " + ran.error().message);
    } else if (!*ran) {
      round.skipped.push_back(name);
    }
  };
  run("registry polls", kPollLock, [&]() -> Result<void> {
    MOAT_ASSIGN_OR_RETURN(auto polled, PollDueRegistries(center_, now));
    round.registries_polled = polled.polled;
    for (const auto& error : polled.errors) round.errors.push_back("registry polls: " + error);
    return Ok();
  });
  run("rescans", kRescanLock, [&]() -> Result<void> {
    MOAT_ASSIGN_OR_RETURN(round.rescans_queued, center_.EnqueueDueRescans(now));
    return Ok();
  });
  run("database check", kDatabaseLock, [&]() -> Result<void> {
    MOAT_ASSIGN_OR_RETURN(auto check, center_.CheckDatabase());
    round.matches_queued = check.match_jobs;
    return Ok();
  });
  // Targets changed through another replica; each replica notifies its own alerts, so every
  // one reloads (no lock).
  if (auto reloaded = center_.ReloadNotificationTargets(); !reloaded.ok()) {
    round.errors.push_back("notification targets: " + reloaded.error().message);
  }
  const int64_t trend_interval = options_.trend_interval.count();
  if (last_trend_at_ == 0 || now - last_trend_at_ >= trend_interval ||
      FormatUtcDay(now) != FormatUtcDay(last_trend_at_)) {
    run("trend", kTrendLock, [&]() -> Result<void> {
      MOAT_ASSIGN_OR_RETURN(auto posture, AssessPosture(center_.store(), now));
      MOAT_TRY(center_.store().RecordDailyStats(FormatUtcDay(now), PostureFigures(posture)));
      round.trend_recorded = true;
      last_trend_at_ = now;
      return Ok();
    });
  }
  return round;
}

}  // namespace moat::server
