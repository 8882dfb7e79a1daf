#pragma once
// The one rules engine (docs/rules.md), shared by `moat sensor` (source "syscall", issue 13) and
// `moat audit-log` (source "k8s_audit", issue 14): Falco-format rule files (lists, macros, rules,
// exceptions, append/override) compiled against event sources, evaluated per event into
// moat::Alert (core/alert.h).
//
// Use: register the sources, add rule files in order (later files append to and override earlier
// ones, as Falco's repeated -r), Compile() once, then Match()/Evaluate() from any number of
// threads (a compiled Engine is immutable but for the counts of rules with Moat's `threshold`
// extension, threshold.h, which Evaluate keeps behind a lock of their own).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert.h"
#include "core/result.h"

namespace moat::rules {

/// An event of some source. Each source defines its own event type deriving from this and its
/// extractors cast to it; the engine never looks inside.
class Event {
 public:
  virtual ~Event() = default;
};

/// One value a field gives for an event. Strings view memory that lives as long as the event (or
/// the FieldValues' own storage, see FieldValues::Own).
struct FieldValue {
  std::string_view text;
  int64_t number = 0;  // set when the field's type is kInt or kBool (0/1)
  /// The engine's cache of the text's hash for `in` lists (0: not computed yet); extractors
  /// leave it alone.
  mutable uint64_t hash = 0;
};

enum class FieldType : uint8_t { kString, kInt, kBool };

/// Where an extractor writes a field's values: none (the field is absent for this event, which
/// makes every comparison but `not exists` false, as in Falco), one, or several for list fields.
class FieldValues {
 public:
  void Clear() {
    values_.clear();
    owned_used_ = 0;
  }
  void Add(std::string_view text, int64_t number = 0) { values_.push_back({text, number, 0}); }
  void AddNumber(int64_t number);  // the text form is kept too (for output and string operators)
  void AddBool(bool value) { values_.push_back({value ? "true" : "false", value ? 1 : 0, 0}); }
  /// Copies `text` into storage owned by this object (for values computed from the event).
  std::string_view Own(std::string_view text);
  /// An empty string owned by this object to build a value in (its capacity is reused from
  /// earlier events, so a value joined from parts costs no allocation); Add() it when done.
  std::string& OwnedBuffer();
  const std::vector<FieldValue>& values() const { return values_; }
  bool empty() const { return values_.empty(); }

 private:
  std::vector<FieldValue> values_;
  std::vector<std::unique_ptr<std::string>> owned_;  // stable addresses: views survive growth
  size_t owned_used_ = 0;
};

/// A field resolved at load time: its type, whether it gives a list (`in`/`intersects` compare
/// sets), and the function that extracts it. `extract` must be thread-safe.
struct Field {
  FieldType type = FieldType::kString;
  bool is_list = false;
  /// Fills `out` (already cleared) with the field's values for `event`.
  void (*extract)(const Event& event, const void* context, FieldValues& out) = nullptr;
  /// Passed to `extract`: e.g. the parsed argument. Owned by `context_holder`.
  const void* context = nullptr;
  std::shared_ptr<const void> context_holder;
};

/// An event source: a name ("k8s_audit", "syscall"), its fields, and optionally an event-type
/// key by which rules are indexed.
class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual std::string_view name() const = 0;
  /// Resolves `field` with its argument (`aname[2]` gives "2", `jevt.value[/a/b]` gives "/a/b";
  /// nullopt when written without brackets). An Error says why it cannot (unknown field,
  /// argument missing or not allowed): the rule using it is disabled with that reason.
  virtual Result<Field> ResolveField(std::string_view field,
                                     std::optional<std::string_view> argument) const = 0;
  /// The field whose `=`/`in` comparisons with constants index rules (Falco: evt.type); "" when
  /// the source has no event types. A rule whose condition does not pin that field runs for
  /// every event.
  virtual std::string_view EventTypeField() const { return ""; }
  /// The event's value of EventTypeField().
  virtual std::string_view EventType(const Event& /*event*/) const { return ""; }
  /// The event's time, nanoseconds since the epoch (for the alert and %evt.time).
  virtual int64_t EventTimeNs(const Event& event) const = 0;
  /// Fills the resources of an alert raised on `event` (container, k8s, proc, image).
  virtual void FillAlertResources(const Event& /*event*/, Alert& /*alert*/) const {}
};

/// Where a rule or item is written.
struct RuleLocation {
  std::string file;  // the name given with the text
  uint32_t line = 0;
};

struct DisabledRule {
  std::string name;
  std::string source;
  RuleLocation location;
  /// Why: "enabled: false", "unknown source \"aws_cloudtrail\"", or "field \"proc.name\":
  /// not implemented by source syscall" (the first missing field), ...
  std::string reason;
  /// The fields the source does not implement (empty when disabled for another reason).
  std::vector<std::string> missing_fields;
};

/// What Compile() made of the rule files.
struct LoadReport {
  std::vector<std::string> enabled;    // rule names, in load order
  std::vector<DisabledRule> disabled;  // in load order
  std::vector<std::string> warnings;   // "file:line: ..." (ignored keys, required_* entries)
};

/// A compiled rule as the matcher returns it.
struct CompiledRule;
/// The engine's compiled state (engine.cpp).
struct EngineState;

/// The rule of a match, for callers that build their own alert.
struct RuleInfo {
  std::string name;
  std::string description;
  std::string source;
  AlertPriority priority = AlertPriority::kWarning;
  std::vector<std::string> tags;
  std::vector<MitreReference> mitre;  // the rule's `mitre` extension, else from its tags
  std::string remediation;            // Moat's `remediation` extension ("" when not given)
  RuleLocation location;
};

class Engine {
 public:
  Engine();
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  /// Sources must be added before Compile(). The engine keeps them alive.
  void AddSource(std::shared_ptr<const EventSource> source);

  /// Parses one rule file's text (YAML). `name` (usually the path) names it in errors:
  /// "rules.yaml:12: rule \"Shell in container\": condition: ...". A file that fails to parse
  /// leaves the engine as it was.
  Result<void> AddRulesText(std::string_view text, std::string_view name);
  /// Reads and adds a file (or every *.yaml/*.yml of a directory, sorted).
  Result<void> AddRulesPath(const std::string& path);

  /// Resolves macros, lists and fields and compiles every rule. Errors that Falco also refuses
  /// (a condition that does not parse, an undefined macro, an append to nothing) fail; rules
  /// using fields their source lacks, or of an unknown source, are disabled and reported.
  Result<LoadReport> Compile();

  /// The enabled rules of `source` whose condition matches `event`, in rule-file order (a
  /// `threshold` rule's count is not taken here: Evaluate does). Thread-safe.
  std::vector<const CompiledRule*> Match(const EventSource& source, const Event& event) const;
  /// Match() turned into alerts (a `threshold` rule's only when its match completes a burst;
  /// its output then ends with "[burst: ...]"): time, rule, priority, source, tags, mitre,
  /// output (the rule's output with %field substituted; absent fields print "<NA>" as Falco
  /// does), output_fields (every %field of the output, JSON), and the source's resources.
  std::vector<Alert> Evaluate(const EventSource& source, const Event& event) const;
  /// One alert of a matched rule.
  Alert MakeAlert(const CompiledRule& rule, const EventSource& source, const Event& event) const;

  const RuleInfo& Info(const CompiledRule& rule) const;
  /// Number of enabled rules of a source (all sources when empty).
  size_t EnabledCount(std::string_view source = "") const;
  /// A registered source by name; nullptr when none.
  const EventSource* Source(std::string_view name) const;

 private:
  std::unique_ptr<EngineState> state_;
};

}  // namespace moat::rules
