#pragma once
// Moat's `threshold` extension of the rule format (docs/rules.md "Thresholds"): a rule whose
// condition matched raises an alert only once it has matched `count` times, or for `count`
// distinct values of one field, within `window`, counted separately per group of `by` fields:
//
//   threshold: {count: 5, window: 60s, by: [container.id], distinct: proc.name}
//
// Falco judges one event at a time; some behaviour (a burst of reconnaissance commands, each
// alone ordinary) is only suspicious in number. The counting runs after a rule's condition has
// matched (Engine::Evaluate), so it costs nothing on events that match no threshold rule.

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "rules/engine.h"

namespace moat::k8s {
class Value;
}

namespace moat::rules {

struct ThresholdSpec {
  uint32_t count = 0;           // matches (or distinct values) that make a burst, at least 2
  int64_t window_ns = 0;        // within this long, by the events' own times
  std::vector<std::string> by;  // fields whose values make the group ("container.id")
  std::string distinct;         // the field counted by distinct value; "" counts matches
  bool operator==(const ThresholdSpec&) const = default;
};

/// Reads a rule's `threshold:` map (count, window as "90s", "5m", "1h" or seconds, by, distinct).
Result<ThresholdSpec> ParseThreshold(const k8s::Value& value);

/// Splits "aname[2]" into the field's name and argument ("aname", "2"); no brackets: nullopt.
std::pair<std::string, std::optional<std::string>> SplitFieldArgument(const std::string& field);

/// The counting state of one threshold rule. Thread-safe.
class ThresholdCounter {
 public:
  /// `by` and `distinct` are the spec's fields, resolved against the rule's source.
  ThresholdCounter(ThresholdSpec spec, std::vector<Field> by, std::optional<Field> distinct);

  /// Counts one match of the rule's condition on `event` at `time_ns`. When the group reaches
  /// the threshold, returns what made the burst ("5 distinct proc.name within 60s: a, b, ...")
  /// and the group starts over, so that one burst gives one alert.
  std::optional<std::string> Count(const Event& event, int64_t time_ns);

  /// Groups being counted (tests, memory bound).
  size_t groups() const;

 private:
  struct Group {
    std::deque<int64_t> times;                     // of the matches, without `distinct`
    std::map<std::string, int64_t> last_by_value;  // with `distinct`: each value's last time
    int64_t last_ns = 0;
  };
  void Expire(Group& group, int64_t time_ns) const;
  void Bound(int64_t time_ns);

  ThresholdSpec spec_;
  std::vector<Field> by_;
  std::optional<Field> distinct_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Group> groups_;
};

}  // namespace moat::rules
