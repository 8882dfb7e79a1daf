#include "rules/threshold.h"

#include <algorithm>
#include <charconv>

#include "k8s/value.h"

namespace moat::rules {
namespace {

constexpr uint32_t kMaxCount = 10000;
constexpr int64_t kSecondNs = 1'000'000'000;
constexpr int64_t kMaxWindowNs = 24 * 3600 * kSecondNs;
// Groups counted at once per rule: a node has at most a few hundred containers; the bound keeps
// a rule grouped by a field of many values (a pid) from growing without end.
constexpr size_t kMaxGroups = 10000;
// Separates the group fields' values in the group key (never in a field value of text).
constexpr char kGroupSeparator = '\x1f';

Result<int64_t> ParseWindow(const k8s::Value& value) {
  std::string_view text = value.Str();
  int64_t unit = kSecondNs;
  if (!text.empty()) {
    switch (text.back()) {
      case 's':
        text.remove_suffix(1);
        break;
      case 'm':
        unit = 60 * kSecondNs;
        text.remove_suffix(1);
        break;
      case 'h':
        unit = 3600 * kSecondNs;
        text.remove_suffix(1);
        break;
      default:
        break;
    }
  }
  int64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || number <= 0 ||
      number > kMaxWindowNs / unit) {
    return Fail("threshold: window \"", value.Str(),
                "\": expected a duration such as 30s, 5m or 1h (at most 24h)");
  }
  return number * unit;
}

// The values of `field` for `event`, the first one only (a group or a distinct value is one
// string; list fields give their first item).
std::string FirstValue(const Field& field, const Event& event) {
  FieldValues values;
  field.extract(event, field.context, values);
  return values.empty() ? std::string() : std::string(values.values().front().text);
}

std::string FormatWindow(int64_t window_ns) {
  const int64_t seconds = window_ns / kSecondNs;
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

}  // namespace

Result<ThresholdSpec> ParseThreshold(const k8s::Value& value) {
  if (!value.IsMap()) return Fail("threshold: expected a map with count, window and by");
  ThresholdSpec spec;
  for (const k8s::Value& entry : value.Entries()) {
    if (entry.key != "count" && entry.key != "window" && entry.key != "by" &&
        entry.key != "distinct") {
      return Fail("threshold: unknown key \"", entry.key, "\" (count, window, by, distinct)");
    }
  }
  const k8s::Value* count = value.Get("count");
  const std::optional<int64_t> number = count ? count->Int() : std::nullopt;
  if (!number || *number < 2 || *number > kMaxCount) {
    return Fail("threshold: count must be a number from 2 to ", std::to_string(kMaxCount));
  }
  spec.count = static_cast<uint32_t>(*number);
  const k8s::Value* window = value.Get("window");
  if (!window) return Fail("threshold: window is missing");
  MOAT_ASSIGN_OR_RETURN(spec.window_ns, ParseWindow(*window));
  if (const k8s::Value* by = value.Get("by")) {
    if (by->IsScalar() && !by->IsNull()) {
      spec.by.emplace_back(by->Str());
    } else if (by->IsSequence()) {
      for (const k8s::Value& item : by->Items()) {
        if (!item.IsScalar() || item.Str().empty()) return Fail("threshold: by: expected fields");
        spec.by.emplace_back(item.Str());
      }
    } else {
      return Fail("threshold: by: expected a field or a list of fields");
    }
  }
  if (const k8s::Value* distinct = value.Get("distinct")) {
    if (!distinct->IsScalar() || distinct->Str().empty()) {
      return Fail("threshold: distinct: expected a field");
    }
    spec.distinct = std::string(distinct->Str());
  }
  return spec;
}

std::pair<std::string, std::optional<std::string>> SplitFieldArgument(const std::string& field) {
  const size_t open = field.find('[');
  if (open == std::string::npos || field.back() != ']') return {field, std::nullopt};
  return {field.substr(0, open), field.substr(open + 1, field.size() - open - 2)};
}

ThresholdCounter::ThresholdCounter(ThresholdSpec spec, std::vector<Field> by,
                                   std::optional<Field> distinct)
    : spec_(std::move(spec)), by_(std::move(by)), distinct_(std::move(distinct)) {}

void ThresholdCounter::Expire(Group& group, int64_t time_ns) const {
  const int64_t oldest = time_ns - spec_.window_ns;
  while (!group.times.empty() && group.times.front() <= oldest) group.times.pop_front();
  std::erase_if(group.last_by_value, [&](const auto& entry) { return entry.second <= oldest; });
}

void ThresholdCounter::Bound(int64_t time_ns) {
  if (groups_.size() < kMaxGroups) return;
  std::erase_if(groups_, [&](const auto& entry) {
    return entry.second.last_ns <= time_ns - spec_.window_ns;
  });
  if (groups_.size() < kMaxGroups) return;
  // Every group is live: the one idle the longest gives way.
  auto oldest = std::min_element(groups_.begin(), groups_.end(), [](const auto& a, const auto& b) {
    return a.second.last_ns < b.second.last_ns;
  });
  groups_.erase(oldest);
}

std::optional<std::string> ThresholdCounter::Count(const Event& event, int64_t time_ns) {
  std::string key;
  for (const Field& field : by_) {
    key += FirstValue(field, event);
    key += kGroupSeparator;
  }
  std::string value;
  if (distinct_) {
    value = FirstValue(*distinct_, event);
    if (value.empty()) return std::nullopt;  // nothing to tell it from the others by
  }
  std::lock_guard lock(mutex_);
  auto found = groups_.find(key);
  if (found == groups_.end()) {
    Bound(time_ns);
    found = groups_.emplace(std::move(key), Group{}).first;
  }
  Group& group = found->second;
  Expire(group, time_ns);
  group.last_ns = std::max(group.last_ns, time_ns);
  size_t reached;
  if (distinct_) {
    int64_t& last = group.last_by_value[value];
    last = std::max(last, time_ns);
    reached = group.last_by_value.size();
  } else {
    group.times.push_back(time_ns);
    reached = group.times.size();
  }
  if (reached < spec_.count) return std::nullopt;
  std::string burst = std::to_string(reached);
  if (distinct_) {
    burst += " distinct " + spec_.distinct + " within " + FormatWindow(spec_.window_ns) + ":";
    const char* separator = " ";
    for (const auto& [seen, unused] : group.last_by_value) {
      burst += separator + seen;
      separator = ", ";
    }
  } else {
    burst += " matches within " + FormatWindow(spec_.window_ns);
  }
  groups_.erase(found);
  return burst;
}

size_t ThresholdCounter::groups() const {
  std::lock_guard lock(mutex_);
  return groups_.size();
}

}  // namespace moat::rules
