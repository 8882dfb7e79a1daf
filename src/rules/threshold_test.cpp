// Moat's `threshold` extension through the real engine and the syscall source: below and at the
// threshold, distinct values against repeats, the window's expiry, groups counted apart, plain
// counts, the spec's errors with file:line, and override.

#include "rules/threshold.h"

#include <gtest/gtest.h>

#include "k8s/loader.h"
#include "rules/syscall_event.h"

namespace moat::rules {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 1'700'000'000 * kSecond;

struct Loaded {
  Engine engine;
  LoadReport report;
};

std::unique_ptr<Loaded> Load(const std::string& text) {
  auto loaded = std::make_unique<Loaded>();
  loaded->engine.AddSource(MakeSyscallSource());
  auto added = loaded->engine.AddRulesText(text, "t.yaml");
  EXPECT_TRUE(added.ok()) << added.error().message;
  auto report = loaded->engine.Compile();
  EXPECT_TRUE(report.ok()) << (report.ok() ? "" : report.error().message);
  if (report.ok()) loaded->report = std::move(*report);
  return loaded;
}

constexpr const char* kDistinctRule = R"(
- rule: burst
  desc: d
  condition: evt.type = execve and proc.name in (id, whoami, uname, hostname, ps, df)
  threshold: {count: 4, window: 60s, by: [container.id], distinct: proc.name}
  output: burst in %container.id (last=%proc.name)
  priority: notice
)";

SyscallEvent Exec(const std::string& name, int64_t at_seconds,
                  const std::string& container = "aaaaaaaaaaaa") {
  SyscallEvent e;
  e.type = "execve";
  e.time_ns = kStart + at_seconds * kSecond;
  e.proc.pid = 100;
  e.proc.name = name;
  e.proc.exepath = "/usr/bin/" + name;
  e.container_id = container;
  return e;
}

// The number of alerts each event of `events` raises, in order.
std::vector<size_t> AlertsPerEvent(const Engine& engine, const std::vector<SyscallEvent>& events) {
  const EventSource* source = engine.Source(kSyscallSourceName);
  std::vector<size_t> out;
  for (const SyscallEvent& e : events) out.push_back(engine.Evaluate(*source, e).size());
  return out;
}

TEST(ThresholdTest, DistinctValuesBelowAndAtTheThreshold) {
  auto loaded = Load(kDistinctRule);
  ASSERT_EQ(loaded->report.enabled.size(), 1u);
  const Engine& engine = loaded->engine;
  const EventSource* source = engine.Source(kSyscallSourceName);
  // Repeats of one name do not count: three distinct names, many times, raise nothing.
  for (int i = 0; i < 10; ++i) {
    for (const char* name : {"id", "ps", "uname"}) {
      EXPECT_TRUE(engine.Evaluate(*source, Exec(name, i)).empty()) << name << " " << i;
    }
  }
  // The fourth distinct name completes the burst: one alert, saying what made it.
  auto alerts = engine.Evaluate(*source, Exec("whoami", 11));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].rule, "burst");
  EXPECT_EQ(alerts[0].output,
            "burst in aaaaaaaaaaaa (last=whoami) [burst: 4 distinct proc.name within 1m: id, ps, "
            "uname, whoami]");
  // The count starts over: the next names raise nothing until four distinct again.
  EXPECT_EQ(AlertsPerEvent(engine, {Exec("id", 12), Exec("ps", 12), Exec("df", 13),
                                    Exec("hostname", 14), Exec("id", 15)}),
            (std::vector<size_t>{0, 0, 0, 1, 0}));
  // A process not of the condition is not counted at all.
  EXPECT_EQ(AlertsPerEvent(engine, {Exec("ls", 16), Exec("cat", 16), Exec("sort", 17),
                                    Exec("date", 17), Exec("uname", 18)}),
            (std::vector<size_t>{0, 0, 0, 0, 0}));
}

TEST(ThresholdTest, TheWindowExpires) {
  auto loaded = Load(kDistinctRule);
  // One name every 25 s: at most three fall within any 60 s, so no burst ever.
  std::vector<SyscallEvent> slow;
  const char* names[] = {"id", "whoami", "uname", "hostname", "ps", "df"};
  for (int i = 0; i < 6; ++i) slow.push_back(Exec(names[i], i * 25));
  EXPECT_EQ(AlertsPerEvent(loaded->engine, slow), (std::vector<size_t>(6, 0)));
  // Exactly at the window's edge the first one has left it (an entry counts while younger than
  // the window); a moment before, it is still in.
  auto edge = Load(kDistinctRule);
  EXPECT_EQ(AlertsPerEvent(edge->engine,
                           {Exec("id", 0), Exec("whoami", 1), Exec("uname", 2), Exec("ps", 60)}),
            (std::vector<size_t>{0, 0, 0, 0}));
  auto inside = Load(kDistinctRule);
  EXPECT_EQ(AlertsPerEvent(inside->engine,
                           {Exec("id", 0), Exec("whoami", 1), Exec("uname", 2), Exec("ps", 59)}),
            (std::vector<size_t>{0, 0, 0, 1}));
  // A repeat refreshes its name's time: "id" seen again at 50 s still counts at 100 s.
  auto refreshed = Load(kDistinctRule);
  EXPECT_EQ(AlertsPerEvent(refreshed->engine, {Exec("id", 0), Exec("whoami", 45), Exec("id", 50),
                                               Exec("uname", 90), Exec("ps", 100)}),
            (std::vector<size_t>{0, 0, 0, 0, 1}));
}

TEST(ThresholdTest, GroupsAreCountedApart) {
  auto loaded = Load(kDistinctRule);
  // Three names in each of two containers: neither reaches four.
  EXPECT_EQ(
      AlertsPerEvent(loaded->engine, {Exec("id", 0, "aaaaaaaaaaaa"), Exec("id", 0, "bbbbbbbbbbbb"),
                                      Exec("ps", 1, "aaaaaaaaaaaa"), Exec("ps", 1, "bbbbbbbbbbbb"),
                                      Exec("df", 2, "aaaaaaaaaaaa"), Exec("df", 2, "bbbbbbbbbbbb"),
                                      Exec("uname", 3, "bbbbbbbbbbbb")}),
      (std::vector<size_t>{0, 0, 0, 0, 0, 0, 1}));
  // The alert of the second container is its own: the first still needs its fourth.
  auto alerts = loaded->engine.Evaluate(*loaded->engine.Source(kSyscallSourceName),
                                        Exec("hostname", 4, "aaaaaaaaaaaa"));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_NE(alerts[0].output.find("burst in aaaaaaaaaaaa"), std::string::npos);
}

TEST(ThresholdTest, PlainCountsWithoutDistinct) {
  auto loaded = Load(R"(
- rule: many opens
  desc: d
  condition: evt.type = openat
  threshold: {count: 3, window: 10s, by: proc.pid}
  output: opens by %proc.pid
  priority: warning
)");
  auto open = [](int64_t pid, int64_t at) {
    SyscallEvent e = Exec("cat", at);
    e.type = "openat";
    e.proc.pid = pid;
    return e;
  };
  EXPECT_EQ(AlertsPerEvent(loaded->engine, {open(1, 0), open(1, 1), open(2, 1), open(1, 2),
                                            open(1, 3), open(1, 20), open(1, 21), open(1, 22)}),
            (std::vector<size_t>{0, 0, 0, 1, 0, 0, 0, 1}));
  auto alerts = loaded->engine.Evaluate(*loaded->engine.Source(kSyscallSourceName), open(2, 5));
  EXPECT_TRUE(alerts.empty());  // pid 2's first open (at 1 s) left the window at 11 s; two now
}

TEST(ThresholdTest, BadSpecsNameTheFileLineAndTheProblem) {
  struct Case {
    std::string threshold;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"{count: 1, window: 10s}", "count must be a number from 2"},
           {"{count: many, window: 10s}", "count must be a number from 2"},
           {"{count: 3}", "window is missing"},
           {"{count: 3, window: soon}", "window \"soon\": expected a duration"},
           {"{count: 3, window: 0s}", "expected a duration"},
           {"{count: 3, window: 25h}", "at most 24h"},
           {"{count: 3, window: 10s, per: proc.pid}", "unknown key \"per\""},
           {"{count: 3, window: 10s, by: {a: b}}", "by: expected a field or a list"},
           {"[3, 10s]", "expected a map"},
       }) {
    SCOPED_TRACE(c.threshold);
    Engine engine;
    engine.AddSource(MakeSyscallSource());
    auto added = engine.AddRulesText(
        "- rule: r\n  desc: d\n  condition: evt.type = execve\n  threshold: " + c.threshold +
            "\n  output: o\n  priority: info\n",
        "t.yaml");
    ASSERT_FALSE(added.ok());
    EXPECT_NE(added.error().message.find("t.yaml:1"), std::string::npos) << added.error().message;
    EXPECT_NE(added.error().message.find(c.message), std::string::npos) << added.error().message;
  }
  // A field the source lacks disables the rule, as in a condition.
  auto loaded = Load(R"(
- rule: r
  desc: d
  condition: evt.type = execve
  threshold: {count: 2, window: 1m, by: [container.id, proc.nosuchfield]}
  output: o
  priority: info
)");
  ASSERT_EQ(loaded->report.disabled.size(), 1u);
  EXPECT_EQ(loaded->report.disabled[0].missing_fields,
            (std::vector<std::string>{"proc.nosuchfield"}));
}

TEST(ThresholdTest, OverrideReplacesTheThreshold) {
  auto loaded = Load(std::string(kDistinctRule) + R"(
- rule: burst
  threshold: {count: 2, window: 5s, by: [container.id], distinct: proc.name}
  override:
    threshold: replace
)");
  EXPECT_EQ(AlertsPerEvent(loaded->engine, {Exec("id", 0), Exec("ps", 1)}),
            (std::vector<size_t>{0, 1}));
}

TEST(ThresholdTest, ParseThresholdReadsEveryForm) {
  struct Case {
    std::string yaml;
    ThresholdSpec spec;
  };
  for (const Case& c : std::vector<Case>{
           {"{count: 3, window: 90}", {3, 90 * kSecond, {}, ""}},
           {"{count: 3, window: 90s, by: container.id}", {3, 90 * kSecond, {"container.id"}, ""}},
           {"{count: 10, window: 5m, by: [container.id, \"proc.aname[2]\"], distinct: fd.name}",
            {10, 300 * kSecond, {"container.id", "proc.aname[2]"}, "fd.name"}},
           {"{count: 2, window: 24h}", {2, 24 * 3600 * kSecond, {}, ""}},
       }) {
    SCOPED_TRACE(c.yaml);
    auto document = k8s::ParseYamlDocument(c.yaml, "t.yaml");
    ASSERT_TRUE(document.ok()) << document.error().message;
    auto spec = ParseThreshold(*document);
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    EXPECT_EQ(*spec, c.spec);
  }
  EXPECT_EQ(SplitFieldArgument("proc.aname[2]"),
            (std::pair<std::string, std::optional<std::string>>{"proc.aname", "2"}));
  EXPECT_EQ(SplitFieldArgument("container.id"),
            (std::pair<std::string, std::optional<std::string>>{"container.id", std::nullopt}));
}

}  // namespace
}  // namespace moat::rules
