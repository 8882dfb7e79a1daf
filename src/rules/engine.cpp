#include "rules/engine.h"

#include <re2/filtered_re2.h>
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/bytes.h"
#include "core/text.h"
#include "k8s/loader.h"
#include "rules/condition.h"
#include "rules/string_set.h"
#include "rules/threshold.h"

namespace moat::rules {

void FieldValues::AddNumber(int64_t number) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  (void)ec;
  values_.push_back({Own(std::string_view(buffer, static_cast<size_t>(end - buffer))), number, 0});
}

std::string& FieldValues::OwnedBuffer() {
  if (owned_used_ == owned_.size()) owned_.push_back(std::make_unique<std::string>());
  std::string& slot = *owned_[owned_used_++];
  slot.clear();
  return slot;
}

std::string_view FieldValues::Own(std::string_view text) {
  // Reuses the strings of earlier events: after warm-up, no allocation per event.
  if (owned_used_ == owned_.size()) owned_.push_back(std::make_unique<std::string>());
  std::string& slot = *owned_[owned_used_++];
  slot.assign(text);
  return slot;
}

namespace {

using k8s::Value;

// ---- Definitions as read from the files --------------------------------------------------------

struct ListDef {
  std::vector<ConditionValue> items;
  RuleLocation location;
};

struct MacroDef {
  std::string condition;
  RuleLocation location;
};

// One entry of an exception tuple: a value, or a list of values for in/pmatch/intersects.
struct ExceptionItem {
  std::vector<ConditionValue> values;
  bool is_list = false;
};

struct ExceptionDef {
  std::string name;
  std::vector<std::string> fields;
  bool single_field = false;  // `fields: proc.name` rather than a list
  std::vector<std::string> comps;
  std::vector<std::vector<ExceptionItem>> values;  // tuples
  RuleLocation location;
};

struct RuleDef {
  std::string name;
  std::string desc;
  std::string condition;
  std::string output;
  std::string priority = "warning";
  std::string source = "syscall";
  std::vector<std::string> tags;
  std::vector<MitreReference> mitre;
  std::string remediation;
  std::optional<ThresholdSpec> threshold;  // Moat's extension (threshold.h)
  bool enabled = true;
  std::vector<ExceptionDef> exceptions;
  RuleLocation location;
};

struct Definitions {
  std::map<std::string, ListDef> lists;
  std::map<std::string, MacroDef> macros;
  std::vector<RuleDef> rules;
  std::unordered_map<std::string, size_t> rule_index;
  std::vector<std::string> warnings;
};

std::string Where(const RuleLocation& location) {
  return location.file + ":" + std::to_string(location.line);
}

// ---- Compiled form ------------------------------------------------------------------------------

struct Check {
  uint32_t id = 0;     // into the per-event results (one Check per distinct comparison)
  uint32_t field = 0;  // into State::fields
  std::string field_name;
  CompareOp op = CompareOp::kExists;
  FieldType type = FieldType::kString;
  bool is_list = false;
  std::vector<std::string> strings;  // the values (lower-cased for icontains/iglob)
  std::string_view value;            // strings[0] for the operators of one value
  std::vector<int64_t> numbers;      // for kInt/kBool fields
  int64_t number = 0;                // numbers[0]
  StringSet string_set;              // views into `strings`
  std::unordered_set<int64_t> number_set;
  std::unique_ptr<RE2> regex;
  // Literals of which a text must hold at least one (ignoring case) for `regex` to match it
  // (RE2's own prefilter); empty when the pattern has none. Checked before running the regex.
  std::vector<std::string> regex_atoms;
};

struct Node {
  // kTrue: a check the rule's event-type index already guarantees (FoldIndexedTypeChecks).
  enum class Kind : uint8_t { kAnd, kOr, kNot, kCheck, kFalse, kTrue };
  Kind kind = Kind::kFalse;
  std::vector<Node> children;
  std::shared_ptr<Check> check;
};

struct OutputPiece {
  std::string literal;
  int field = -1;  // into State::fields, or -1 for a literal
  std::string field_name;
};

}  // namespace

struct CompiledRule {
  RuleInfo info;
  Node condition;
  std::vector<OutputPiece> output;
  const EventSource* source = nullptr;
  std::unique_ptr<ThresholdCounter> threshold;  // rules with Moat's `threshold` only
};

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

struct SourceIndex {
  std::vector<uint32_t> any_type;  // rules that run for every event
  // Looked up per event by the event's type: heterogeneous, so no string is built per lookup.
  std::unordered_map<std::string, std::vector<uint32_t>, StringHash, std::equal_to<>> by_type;
};

struct FieldSlot {
  Field field;
  std::string key;  // "source/name[argument]"
};

// Per-thread scratch of one evaluation: each field is extracted at most once per event.
// Each check's result is kept too: rules share macros (spawned_process, container, shell_procs),
// so the same comparison comes up in many rules of one event and is made once.
struct Scratch {
  std::vector<FieldValues> values;
  std::vector<uint64_t> stamp;
  std::vector<uint64_t> check_stamp;
  std::vector<uint8_t> check_result;
  uint64_t generation = 0;
};
thread_local Scratch tls_scratch;

bool ParseInt(std::string_view text, int64_t& out) {
  if (text == "true") {
    out = 1;
    return true;
  }
  if (text == "false") {
    out = 0;
    return true;
  }
  const char* begin = text.data();
  if (!text.empty() && text.front() == '+') ++begin;
  const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::string Lower(std::string_view text) { return AsciiLower(text); }

// `text` lower-cased into this thread's buffer (reused: no allocation per comparison once warm).
std::string_view LoweredCopy(std::string_view text) {
  thread_local std::string buffer;
  buffer.assign(text);
  for (char& c : buffer) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return buffer;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view lowered_needle) {
  if (lowered_needle.size() > haystack.size()) return false;
  return LoweredCopy(haystack).find(lowered_needle) != std::string_view::npos;
}

// pmatch: the value is one of the paths or below one of them ("/etc" covers "/etc/passwd").
bool PathMatch(const Check& check, std::string_view path) {
  if (check.string_set.Contains(path)) return true;
  for (size_t slash = path.rfind('/'); slash != std::string_view::npos && slash > 0;
       slash = path.rfind('/', slash - 1)) {
    if (check.string_set.Contains(path.substr(0, slash))) return true;
  }
  return check.string_set.Contains("/") && !path.empty() && path.front() == '/';
}

// `in`/`intersects` of a string: the value's hash is computed once per event and field, however
// many lists it is checked against.
bool InStringSet(const Check& check, const FieldValue& value) {
  if (!check.string_set.MayHoldLength(value.text.size())) return false;
  if (value.hash == 0) value.hash = StringSet::Hash(value.text);
  return check.string_set.Contains(value.text, value.hash);
}

std::string HexDecode(std::string_view hex, bool& ok) {
  std::string out;
  ok = hex.size() % 2 == 0;
  for (size_t i = 0; ok && i + 1 < hex.size(); i += 2) {
    int value = 0;
    for (char c : hex.substr(i, 2)) {
      value *= 16;
      if (c >= '0' && c <= '9')
        value += c - '0';
      else if (c >= 'a' && c <= 'f')
        value += c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        value += c - 'A' + 10;
      else
        ok = false;
    }
    out += static_cast<char>(value);
  }
  return out;
}

bool CompareOne(const Check& check, const FieldValue& value) {
  const bool numeric = check.type != FieldType::kString;
  switch (check.op) {
    case CompareOp::kEq:
      return numeric ? value.number == check.number : value.text == check.value;
    case CompareOp::kNe:
      return numeric ? value.number != check.number : value.text != check.value;
    case CompareOp::kLt:
      return numeric ? value.number < check.number : value.text < check.value;
    case CompareOp::kLe:
      return numeric ? value.number <= check.number : value.text <= check.value;
    case CompareOp::kGt:
      return numeric ? value.number > check.number : value.text > check.value;
    case CompareOp::kGe:
      return numeric ? value.number >= check.number : value.text >= check.value;
    case CompareOp::kIn:
    case CompareOp::kIntersects:
      return numeric ? check.number_set.count(value.number) > 0 : InStringSet(check, value);
    case CompareOp::kPmatch:
      return PathMatch(check, value.text);
    case CompareOp::kContains:
    case CompareOp::kBContains:
      return value.text.find(check.value) != std::string_view::npos;
    case CompareOp::kIContains:
      return ContainsIgnoreCase(value.text, check.value);
    case CompareOp::kStartsWith:
    case CompareOp::kBStartsWith:
      return value.text.starts_with(check.value);
    case CompareOp::kEndsWith:
      return value.text.ends_with(check.value);
    case CompareOp::kGlob:
      return GlobMatch(check.value, value.text);
    case CompareOp::kIGlob:
      return GlobMatch(check.value, AsciiLower(value.text));
    case CompareOp::kRegex:
      if (!check.regex_atoms.empty()) {
        const std::string_view lowered = LoweredCopy(value.text);
        if (std::none_of(check.regex_atoms.begin(), check.regex_atoms.end(),
                         [&](const std::string& atom) {
                           return lowered.find(atom) != std::string_view::npos;
                         })) {
          return false;
        }
      }
      return RE2::FullMatch(re2::StringPiece(value.text.data(), value.text.size()), *check.regex);
    case CompareOp::kExists:
      return true;
  }
  return false;
}

}  // namespace

struct EngineState {
  std::vector<std::shared_ptr<const EventSource>> sources;
  Definitions defs;
  // Compiled:
  bool compiled = false;
  std::vector<FieldSlot> fields;
  std::unordered_map<std::string, uint32_t> field_index;
  // Every distinct comparison (field, operator, values) once, shared by the rules using it.
  std::unordered_map<std::string, std::shared_ptr<Check>> checks;
  std::vector<std::unique_ptr<CompiledRule>> rules;  // enabled, in load order
  std::unordered_map<std::string, SourceIndex, StringHash, std::equal_to<>> index;  // by source
  std::vector<std::unique_ptr<EventSource>> unavailable_sources;  // of disabled rules

  const EventSource* FindSource(std::string_view name) const {
    for (const auto& source : sources) {
      if (source->name() == name) return source.get();
    }
    return nullptr;
  }

  // The scratch of this thread, ready for a new event.
  Scratch& StartEvent() const {
    Scratch& scratch = tls_scratch;
    if (scratch.values.size() < fields.size()) {
      scratch.values.resize(fields.size());
      scratch.stamp.resize(fields.size(), 0);
    }
    if (scratch.check_stamp.size() < checks.size()) {
      scratch.check_stamp.resize(checks.size(), 0);
      scratch.check_result.resize(checks.size(), 0);
    }
    ++scratch.generation;
    return scratch;
  }

  const FieldValues& Extract(uint32_t field, const Event& event, Scratch& scratch) const {
    FieldValues& values = scratch.values[field];
    if (scratch.stamp[field] != scratch.generation) {
      scratch.stamp[field] = scratch.generation;
      values.Clear();
      const Field& f = fields[field].field;
      f.extract(event, f.context, values);
    }
    return values;
  }

  bool Eval(const Node& node, const Event& event, Scratch& scratch) const {
    switch (node.kind) {
      case Node::Kind::kCheck:
        return EvalCheck(*node.check, event, scratch);
      case Node::Kind::kAnd:
        // Leaves are checked here rather than through another Eval call: most children are.
        for (const Node& child : node.children) {
          if (!(child.kind == Node::Kind::kCheck ? EvalCheck(*child.check, event, scratch)
                                                 : Eval(child, event, scratch))) {
            return false;
          }
        }
        return true;
      case Node::Kind::kOr:
        for (const Node& child : node.children) {
          if (child.kind == Node::Kind::kCheck ? EvalCheck(*child.check, event, scratch)
                                               : Eval(child, event, scratch)) {
            return true;
          }
        }
        return false;
      case Node::Kind::kNot:
        return !Eval(node.children[0], event, scratch);
      case Node::Kind::kFalse:
        return false;
      case Node::Kind::kTrue:
        return true;
    }
    return false;
  }

  bool EvalCheck(const Check& check, const Event& event, Scratch& scratch) const {
    if (scratch.check_stamp[check.id] == scratch.generation) return scratch.check_result[check.id];
    const bool result = Compare(check, event, scratch);
    scratch.check_stamp[check.id] = scratch.generation;
    scratch.check_result[check.id] = result;
    return result;
  }

  bool Compare(const Check& check, const Event& event, Scratch& scratch) const {
    const std::vector<FieldValue>& values = Extract(check.field, event, scratch).values();
    if (check.op == CompareOp::kExists) return !values.empty();
    if (values.empty()) return false;
    if (values.size() == 1) return CompareOne(check, values[0]);  // every non-list field
    if (check.op == CompareOp::kIn) {
      // Every value of a list field must be in the set (Falco's `in`); `intersects` needs one.
      for (const FieldValue& value : values) {
        if (!CompareOne(check, value)) return false;
      }
      return true;
    }
    if (check.op == CompareOp::kNe) {
      for (const FieldValue& value : values) {
        if (!CompareOne(check, value)) return false;
      }
      return true;
    }
    for (const FieldValue& value : values) {
      if (CompareOne(check, value)) return true;
    }
    return false;
  }

  std::string Render(const CompiledRule& rule, const Event& event,
                     nlohmann::json* fields_json) const {
    std::string out;
    FieldValues values;
    for (const OutputPiece& piece : rule.output) {
      if (piece.field < 0) {
        out += piece.literal;
        continue;
      }
      values.Clear();
      const Field& f = fields[static_cast<size_t>(piece.field)].field;
      f.extract(event, f.context, values);
      const auto& list = values.values();
      if (list.empty()) {
        out += "<NA>";
      } else if (f.is_list) {
        out += '(';
        for (size_t i = 0; i < list.size(); ++i) {
          if (i) out += ',';
          out += list[i].text;
        }
        out += ')';
      } else {
        out += list[0].text;
      }
      if (fields_json) {
        nlohmann::json value;
        if (list.empty()) {
          value = nullptr;
        } else if (f.is_list) {
          value = nlohmann::json::array();
          for (const FieldValue& v : list) value.push_back(std::string(v.text));
        } else if (f.type == FieldType::kInt) {
          value = list[0].number;
        } else if (f.type == FieldType::kBool) {
          value = list[0].number != 0;
        } else {
          value = std::string(list[0].text);
        }
        (*fields_json)[piece.field_name] = std::move(value);
      }
    }
    return out;
  }
};

namespace {

// ---- Generic fields every source has (Falco's evt.time family, evt.source)
// -----------------------

struct GenericContext {
  const EventSource* source;
  int kind;
};

void ExtractGeneric(const Event& event, const void* context, FieldValues& out) {
  const auto* generic = static_cast<const GenericContext*>(context);
  const int64_t ns = generic->source->EventTimeNs(event);
  switch (generic->kind) {
    case 0: {  // evt.time: time of day with nanoseconds (Falco prints local time; Moat UTC)
      const std::string iso = FormatRfc3339Nanos(ns, 9);
      out.Add(out.Own(iso.substr(11, 18)));
      break;
    }
    case 1:  // evt.time.iso8601
      out.Add(out.Own(FormatRfc3339Nanos(ns, 9)));
      break;
    case 2: {  // evt.datetime
      const std::string iso = FormatRfc3339Nanos(ns, 0);
      out.Add(out.Own(iso.substr(0, 10) + " " + iso.substr(11, 8)));
      break;
    }
    case 3:  // evt.rawtime
      out.AddNumber(ns);
      break;
    case 4:  // evt.time.s
      out.Add(out.Own(FormatRfc3339Nanos(ns, 0).substr(11, 8)));
      break;
    case 5:  // evt.source
      out.Add(generic->source->name());
      break;
    default:
      break;
  }
}

std::optional<Field> GenericField(const EventSource& source, std::string_view name) {
  static const std::pair<std::string_view, int> kGeneric[] = {
      {"evt.time", 0},    {"evt.time.iso8601", 1}, {"evt.datetime", 2},
      {"evt.rawtime", 3}, {"evt.time.s", 4},       {"evt.source", 5}};
  for (const auto& [field_name, kind] : kGeneric) {
    if (field_name != name) continue;
    auto context = std::make_shared<GenericContext>(GenericContext{&source, kind});
    Field field;
    field.type = kind == 3 ? FieldType::kInt : FieldType::kString;
    field.extract = &ExtractGeneric;
    field.context = context.get();
    field.context_holder = context;
    return field;
  }
  return std::nullopt;
}

// ---- Reading rule files
// --------------------------------------------------------------------------

class FileReader {
 public:
  FileReader(std::string_view name, Definitions& defs) : name_(name), defs_(defs) {}

  Result<void> Read(const Value& root) {
    if (root.IsNull()) return Ok();
    if (!root.IsSequence()) {
      return Fail(name_, ":", std::to_string(root.line), ": a rules file is a YAML sequence");
    }
    for (const Value& item : root.Items()) {
      if (!item.IsMap()) {
        return Fail(name_, ":", std::to_string(item.line),
                    ": expected a list, macro or rule entry (a map)");
      }
      if (item.Get("rule")) {
        MOAT_TRY(ReadRule(item));
      } else if (item.Get("macro")) {
        MOAT_TRY(ReadMacro(item));
      } else if (item.Get("list")) {
        MOAT_TRY(ReadList(item));
      } else if (item.Get("required_engine_version") || item.Get("required_plugin_versions")) {
        defs_.warnings.push_back(Where(At(item)) + ": " + std::string(item.Entries()[0].key) +
                                 " ignored (Moat has one engine; fields are checked per rule)");
      } else {
        defs_.warnings.push_back(Where(At(item)) + ": unknown entry ignored");
      }
    }
    return Ok();
  }

 private:
  RuleLocation At(const Value& value) const { return {std::string(name_), value.line}; }

  template <typename... Parts>
  Error Bad(const Value& at, std::string_view what, std::string_view name, Parts&&... parts) const {
    return Fail(name_, ":", std::to_string(at.line), ": ", what, " \"", name,
                "\": ", std::forward<Parts>(parts)...);
  }

  // Falco's `append: true` or `override: {key: append|replace}`: how `key` combines.
  enum class Merge { kNone, kAppend, kReplace };
  static Result<Merge> MergeOf(const Value& item, std::string_view key, bool append_flag) {
    if (const Value* override_map = item.Field("override")) {
      if (const Value* mode = override_map->Field(key)) {
        if (mode->Str() == "append") return Merge::kAppend;
        if (mode->Str() == "replace") return Merge::kReplace;
        return Error{"override: " + std::string(key) + ": expected append or replace"};
      }
      return Merge::kNone;
    }
    return append_flag ? Merge::kAppend : Merge::kNone;
  }

  static Result<bool> Bool(const Value* value, std::string_view what) {
    if (!value) return false;
    if (value->IsBool()) return value->IsTrue();
    return Error{std::string(what) + ": expected true or false"};
  }

  static Result<std::string> Text(const Value* value, std::string_view what) {
    if (!value || value->IsNull()) return std::string();
    if (!value->IsScalar()) return Error{std::string(what) + ": expected a string"};
    return std::string(value->Str());
  }

  static Result<std::vector<ConditionValue>> Items(const Value* value, std::string_view what) {
    std::vector<ConditionValue> out;
    if (!value || value->IsNull()) return out;
    if (!value->IsSequence()) return Error{std::string(what) + ": expected a sequence"};
    for (const Value& item : value->Items()) {
      if (!item.IsScalar()) return Error{std::string(what) + ": expected scalar items"};
      ConditionValue v = ListItemValue(item.Str());
      // A YAML-quoted item is a string of its own, never a list name.
      if (item.IsString() && !v.quoted) v.quoted = false;
      out.push_back(std::move(v));
    }
    return out;
  }

  Result<void> ReadList(const Value& item) {
    MOAT_ASSIGN_OR_RETURN(std::string name, Text(item.Get("list"), "list"));
    auto wrap = [&](const Error& e) { return Bad(item, "list", name, e.message); };
    auto append = Bool(item.Get("append"), "append");
    if (!append.ok()) return wrap(append.error());
    auto items = Items(item.Get("items"), "items");
    if (!items.ok()) return wrap(items.error());
    auto merge = MergeOf(item, "items", *append);
    if (!merge.ok()) return wrap(merge.error());
    auto existing = defs_.lists.find(name);
    if (*merge == Merge::kAppend) {
      if (existing == defs_.lists.end()) {
        return Bad(item, "list", name, "append to a list that is not defined before");
      }
      for (auto& v : *items) existing->second.items.push_back(std::move(v));
      return Ok();
    }
    if (*merge == Merge::kReplace && existing == defs_.lists.end()) {
      return Bad(item, "list", name, "override of a list that is not defined before");
    }
    defs_.lists[name] = ListDef{std::move(*items), At(item)};
    return Ok();
  }

  Result<void> ReadMacro(const Value& item) {
    MOAT_ASSIGN_OR_RETURN(std::string name, Text(item.Get("macro"), "macro"));
    auto wrap = [&](const Error& e) { return Bad(item, "macro", name, e.message); };
    auto append = Bool(item.Get("append"), "append");
    if (!append.ok()) return wrap(append.error());
    auto condition = Text(item.Get("condition"), "condition");
    if (!condition.ok()) return wrap(condition.error());
    auto merge = MergeOf(item, "condition", *append);
    if (!merge.ok()) return wrap(merge.error());
    auto existing = defs_.macros.find(name);
    if (*merge != Merge::kNone && existing == defs_.macros.end()) {
      return Bad(item, "macro", name, "append or override of a macro that is not defined before");
    }
    if (*merge == Merge::kAppend) {
      existing->second.condition += " " + *condition;
      return Ok();
    }
    if (!item.Get("condition")) return Bad(item, "macro", name, "condition is missing");
    defs_.macros[name] = MacroDef{std::move(*condition), At(item)};
    return Ok();
  }

  Result<ExceptionDef> ReadException(const Value& entry) {
    ExceptionDef exception;
    exception.location = At(entry);
    if (!entry.IsMap()) return Error{"exceptions: expected maps"};
    MOAT_ASSIGN_OR_RETURN(exception.name, Text(entry.Get("name"), "exceptions: name"));
    if (exception.name.empty()) return Error{"exceptions: an exception needs a name"};
    const std::string what = "exception \"" + exception.name + "\"";
    if (const Value* fields = entry.Field("fields")) {
      if (fields->IsScalar()) {
        exception.single_field = true;
        exception.fields.emplace_back(fields->Str());
      } else {
        for (const Value& f : fields->Items()) exception.fields.emplace_back(f.Str());
      }
    }
    if (const Value* comps = entry.Field("comps")) {
      if (comps->IsScalar()) {
        exception.comps.emplace_back(comps->Str());
      } else {
        for (const Value& c : comps->Items()) exception.comps.emplace_back(c.Str());
      }
    }
    if (!exception.comps.empty() && exception.comps.size() != exception.fields.size()) {
      return Error{what + ": comps and fields differ in length"};
    }
    for (const std::string& comp : exception.comps) {
      if (!ParseCompareOp(comp)) return Error{what + ": unknown comparison \"" + comp + "\""};
    }
    MOAT_TRY(ReadExceptionValues(entry.Field("values"), exception, what));
    return exception;
  }

  Result<void> ReadExceptionValues(const Value* values, ExceptionDef& exception,
                                   const std::string& what) {
    if (!values) return Ok();
    if (!values->IsSequence()) return Error{what + ": values: expected a sequence"};
    if (exception.single_field) {
      // `fields: f` + `values: [a, b]`: one check `f <comp> (a, b)`.
      std::vector<ExceptionItem> tuple(1);
      tuple[0].is_list = true;
      for (const Value& v : values->Items()) {
        if (!v.IsScalar()) return Error{what + ": values: expected scalars for a single field"};
        tuple[0].values.push_back(ListItemValue(v.Str()));
      }
      exception.values.push_back(std::move(tuple));
      return Ok();
    }
    for (const Value& row : values->Items()) {
      if (exception.fields.empty()) {
        // Values appended to an exception defined earlier: checked against its fields then.
        std::vector<ExceptionItem> tuple;
        for (const Value& v : row.IsSequence() ? row.Items() : std::vector<Value>{row}) {
          ExceptionItem item;
          item.is_list = v.IsSequence();
          if (v.IsSequence()) {
            for (const Value& x : v.Items()) item.values.push_back(ListItemValue(x.Str()));
          } else {
            item.values.push_back(ListItemValue(v.Str()));
          }
          tuple.push_back(std::move(item));
        }
        exception.values.push_back(std::move(tuple));
        continue;
      }
      if (!row.IsSequence() || row.Items().size() != exception.fields.size()) {
        return Error{what + ": values: line " + std::to_string(row.line) + ": expected " +
                     std::to_string(exception.fields.size()) + " values, one per field"};
      }
      std::vector<ExceptionItem> tuple;
      for (const Value& v : row.Items()) {
        ExceptionItem item;
        if (v.IsSequence()) {
          item.is_list = true;
          for (const Value& x : v.Items()) item.values.push_back(ListItemValue(x.Str()));
        } else {
          item.values.push_back(ListItemValue(v.Str()));
        }
        tuple.push_back(std::move(item));
      }
      exception.values.push_back(std::move(tuple));
    }
    return Ok();
  }

  static Result<std::vector<std::string>> Strings(const Value* value, std::string_view what) {
    std::vector<std::string> out;
    if (!value || value->IsNull()) return out;
    if (!value->IsSequence()) return Error{std::string(what) + ": expected a sequence"};
    for (const Value& item : value->Items()) out.emplace_back(item.Str());
    return out;
  }

  static Result<std::vector<MitreReference>> Mitre(const Value* value) {
    std::vector<MitreReference> out;
    if (!value || value->IsNull()) return out;
    if (!value->IsSequence()) return Error{"mitre: expected a sequence"};
    for (const Value& item : value->Items()) {
      if (!item.IsMap()) return Error{"mitre: expected maps with tactic and technique_id"};
      MitreReference reference;
      if (const Value* v = item.Field("tactic")) reference.tactic = std::string(v->Str());
      if (const Value* v = item.Field("technique_id"))
        reference.technique_id = std::string(v->Str());
      if (const Value* v = item.Field("technique")) reference.technique = std::string(v->Str());
      out.push_back(std::move(reference));
    }
    return out;
  }

  Result<void> ReadRule(const Value& item) {
    MOAT_ASSIGN_OR_RETURN(std::string name, Text(item.Get("rule"), "rule"));
    auto wrap = [&](const Error& e) { return Bad(item, "rule", name, e.message); };
    static const std::set<std::string_view> kKnown = {"rule",          "desc",
                                                      "condition",     "output",
                                                      "priority",      "tags",
                                                      "enabled",       "source",
                                                      "exceptions",    "append",
                                                      "override",      "mitre",
                                                      "remediation",   "threshold",
                                                      "warn_evttypes", "skip-if-unknown-filter",
                                                      "capture",       "capture_duration"};
    for (const Value& entry : item.Entries()) {
      if (!kKnown.count(entry.key)) {
        defs_.warnings.push_back(Where(At(entry)) + ": rule \"" + name + "\": unknown key \"" +
                                 entry.key + "\" ignored");
      }
    }
    RuleDef rule;
    rule.name = name;
    rule.location = At(item);
    auto append = Bool(item.Get("append"), "append");
    if (!append.ok()) return wrap(append.error());
    std::vector<Error> errors;
    auto text = [&](const char* key, std::string& out) {
      auto r = Text(item.Get(key), key);
      if (r.ok())
        out = std::move(*r);
      else
        errors.push_back(r.error());
    };
    text("desc", rule.desc);
    text("condition", rule.condition);
    text("output", rule.output);
    text("remediation", rule.remediation);
    if (item.Get("source")) text("source", rule.source);
    if (item.Get("priority")) text("priority", rule.priority);
    auto tags = Strings(item.Get("tags"), "tags");
    if (tags.ok())
      rule.tags = std::move(*tags);
    else
      errors.push_back(tags.error());
    auto mitre = Mitre(item.Get("mitre"));
    if (mitre.ok())
      rule.mitre = std::move(*mitre);
    else
      errors.push_back(mitre.error());
    auto enabled = Bool(item.Get("enabled"), "enabled");
    if (enabled.ok())
      rule.enabled = !item.Get("enabled") || *enabled;
    else
      errors.push_back(enabled.error());
    if (const Value* threshold = item.Field("threshold")) {
      auto spec = ParseThreshold(*threshold);
      if (spec.ok())
        rule.threshold = std::move(*spec);
      else
        errors.push_back(spec.error());
    }
    if (const Value* exceptions = item.Field("exceptions")) {
      if (!exceptions->IsSequence()) errors.push_back(Error{"exceptions: expected a sequence"});
      for (const Value& entry : exceptions->Items()) {
        auto exception = ReadException(entry);
        if (exception.ok())
          rule.exceptions.push_back(std::move(*exception));
        else
          errors.push_back(exception.error());
      }
    }
    if (!errors.empty()) return wrap(errors.front());
    if (!ParseAlertPriority(rule.priority)) {
      return wrap(Error{"priority \"" + rule.priority + "\" is not a Falco priority"});
    }

    auto existing = defs_.rule_index.find(name);
    RuleDef* previous =
        existing == defs_.rule_index.end() ? nullptr : &defs_.rules[existing->second];
    const bool has_override = item.Field("override") != nullptr;
    if (*append || has_override) {
      if (!previous) {
        return wrap(Error{std::string(has_override ? "override" : "append") +
                          " of a rule that is not defined before"});
      }
      for (const char* key : {"condition", "output", "desc", "priority", "tags", "exceptions",
                              "enabled", "source", "remediation", "mitre", "threshold"}) {
        auto merge = MergeOf(item, key, *append);
        if (!merge.ok()) return wrap(merge.error());
        if (*merge == Merge::kNone || !item.Get(key)) continue;
        const bool add = *merge == Merge::kAppend;
        const std::string_view k = key;
        if (k == "condition") {
          previous->condition = add ? previous->condition + " " + rule.condition : rule.condition;
        } else if (k == "output") {
          previous->output = add ? previous->output + " " + rule.output : rule.output;
        } else if (k == "desc") {
          previous->desc = add ? previous->desc + " " + rule.desc : rule.desc;
        } else if (k == "tags") {
          if (!add) previous->tags.clear();
          for (auto& tag : rule.tags) previous->tags.push_back(tag);
        } else if (k == "mitre") {
          if (!add) previous->mitre.clear();
          for (auto& m : rule.mitre) previous->mitre.push_back(m);
        } else if (k == "exceptions") {
          if (!add) previous->exceptions.clear();
          for (ExceptionDef& exception : rule.exceptions) {
            auto same =
                std::find_if(previous->exceptions.begin(), previous->exceptions.end(),
                             [&](const ExceptionDef& e) { return e.name == exception.name; });
            if (same == previous->exceptions.end()) {
              previous->exceptions.push_back(std::move(exception));
              continue;
            }
            // An appended exception of the same name adds values (its fields must agree).
            if (!exception.fields.empty() && exception.fields != same->fields) {
              return wrap(
                  Error{"exception \"" + exception.name + "\": appended with different fields"});
            }
            for (auto& tuple : exception.values) {
              if (same->single_field) {
                // One field: every appended value joins its one value list.
                if (same->values.empty()) same->values.push_back({ExceptionItem{{}, true}});
                for (auto& item : tuple) {
                  for (auto& v : item.values) same->values[0][0].values.push_back(v);
                }
                continue;
              }
              if (tuple.size() != same->fields.size()) {
                return wrap(Error{"exception \"" + exception.name +
                                  "\": appended values do not match its fields"});
              }
              same->values.push_back(std::move(tuple));
            }
          }
        } else if (k == "priority") {
          previous->priority = rule.priority;
        } else if (k == "enabled") {
          previous->enabled = rule.enabled;
        } else if (k == "source") {
          previous->source = rule.source;
        } else if (k == "remediation") {
          previous->remediation = rule.remediation;
        } else if (k == "threshold") {
          previous->threshold = rule.threshold;
        }
      }
      return Ok();
    }
    // `- rule: X` with only `enabled:` switches an existing rule on or off.
    if (previous && item.Entries().size() == 2 && item.Get("enabled")) {
      previous->enabled = rule.enabled;
      return Ok();
    }
    if (!item.Get("condition")) return wrap(Error{"condition is missing"});
    if (!item.Get("output")) return wrap(Error{"output is missing"});
    if (!item.Get("desc")) return wrap(Error{"desc is missing"});
    if (!item.Get("priority")) return wrap(Error{"priority is missing"});
    if (previous) {
      *previous = std::move(rule);  // a redefinition replaces the rule in its place
    } else {
      defs_.rule_index[name] = defs_.rules.size();
      defs_.rules.push_back(std::move(rule));
    }
    return Ok();
  }

  std::string_view name_;
  Definitions& defs_;
};

// ---- Compiling
// -----------------------------------------------------------------------------------

// RE2's prefilter of `pattern`: lower-case literals of which every match holds at least one; empty
// when a text without any of them could still match (then the regex always runs).
std::vector<std::string> RequiredAtoms(const std::string& pattern, const RE2::Options& options) {
  re2::FilteredRE2 filter;
  int id = 0;
  if (filter.Add(pattern, options, &id) != RE2::NoError) return {};
  std::vector<std::string> atoms;
  filter.Compile(&atoms);
  std::vector<int> potential;
  filter.AllPotentials({}, &potential);  // with no atom found: does the regex stay possible?
  if (!potential.empty() || atoms.empty()) return {};
  return atoms;
}

// Falco's deepest macro chains are under ten; the bound keeps compiling untrusted files off the
// end of the stack.
constexpr size_t kMaxMacroDepth = 64;

class Compiler {
 public:
  Compiler(EngineState& state, const Definitions& defs) : state_(state), defs_(defs) {}

  // Compiles one rule for `source`. Missing fields are collected, not fatal; other errors fail.
  Result<void> CompileRule(const RuleDef& def, const EventSource& source, CompiledRule& out,
                           std::vector<std::string>& missing) {
    source_ = &source;
    missing_ = &missing;
    rule_ = &def;
    auto parsed = ParseCondition(def.condition);
    if (!parsed.ok()) return RuleError(def, "condition: " + parsed.error().message);
    std::vector<std::string> macro_stack;
    MOAT_ASSIGN_OR_RETURN(Node condition, Build(*parsed, macro_stack));
    // Exceptions: condition and not ((tuple 1) or (tuple 2) ...).
    Node excluded;
    excluded.kind = Node::Kind::kOr;
    for (const ExceptionDef& exception : def.exceptions) {
      for (const auto& tuple : exception.values) {
        MOAT_ASSIGN_OR_RETURN(Node tuple_node, BuildExceptionTuple(exception, tuple));
        excluded.children.push_back(std::move(tuple_node));
      }
    }
    if (!excluded.children.empty()) {
      Node negated;
      negated.kind = Node::Kind::kNot;
      negated.children.push_back(std::move(excluded));
      Node both;
      both.kind = Node::Kind::kAnd;
      both.children.push_back(std::move(condition));
      both.children.push_back(std::move(negated));
      condition = std::move(both);
    }
    out.condition = std::move(condition);
    MOAT_TRY(CompileOutput(def, out));
    if (def.threshold) MOAT_TRY(CompileThreshold(*def.threshold, out));
    return Ok();
  }

 private:
  Error RuleError(const RuleDef& def, const std::string& message) const {
    return Fail(Where(def.location), ": rule \"", def.name, "\": ", message);
  }

  // Index of the field, resolving it once per source; nullopt (recorded as missing) when the
  // source does not implement it.
  Result<std::optional<uint32_t>> ResolveField(const std::string& name,
                                               const std::optional<std::string>& argument) {
    std::string key = std::string(source_->name()) + "/" + name;
    if (argument) key += "[" + *argument + "]";
    auto found = state_.field_index.find(key);
    if (found != state_.field_index.end()) return std::optional<uint32_t>(found->second);
    std::optional<Field> field = GenericField(*source_, name);
    if (!field || argument) {
      auto resolved = source_->ResolveField(
          name, argument ? std::optional<std::string_view>(*argument) : std::nullopt);
      if (!resolved.ok()) {
        const std::string shown = argument ? name + "[" + *argument + "]" : name;
        if (std::find(missing_->begin(), missing_->end(), shown) == missing_->end()) {
          missing_->push_back(shown);
          reasons_.push_back(resolved.error().message);
        }
        return std::optional<uint32_t>();
      }
      field = std::move(*resolved);
    }
    const uint32_t index = static_cast<uint32_t>(state_.fields.size());
    state_.fields.push_back({std::move(*field), key});
    state_.field_index.emplace(std::move(key), index);
    return std::optional<uint32_t>(index);
  }

  // Values with list names expanded (recursively: lists may name lists).
  Result<std::vector<std::string>> Expand(const std::vector<ConditionValue>& values,
                                          int depth = 0) {
    std::vector<std::string> out;
    if (depth > 32) return RuleError(*rule_, "lists nested too deeply (a cycle?)");
    for (const ConditionValue& value : values) {
      auto list = value.quoted ? defs_.lists.end() : defs_.lists.find(value.text);
      if (list == defs_.lists.end()) {
        out.push_back(value.text);
        continue;
      }
      MOAT_ASSIGN_OR_RETURN(std::vector<std::string> inner, Expand(list->second.items, depth + 1));
      for (auto& v : inner) out.push_back(std::move(v));
    }
    return out;
  }

  Result<Node> MakeCheck(const std::string& field_name, const std::optional<std::string>& argument,
                         CompareOp op, const std::vector<ConditionValue>& raw_values) {
    Node node;
    MOAT_ASSIGN_OR_RETURN(std::optional<uint32_t> field, ResolveField(field_name, argument));
    if (!field) return node;  // kFalse: the rule is disabled anyway
    auto check = std::make_shared<Check>();
    const Field& f = state_.fields[*field].field;
    check->field = *field;
    check->field_name = field_name;
    check->op = op;
    check->type = f.type;
    check->is_list = f.is_list;
    MOAT_ASSIGN_OR_RETURN(check->strings, Expand(raw_values));
    const std::string shown = field_name + " " + std::string(CompareOpName(op));
    if (op != CompareOp::kExists && !TakesList(op) && check->strings.size() != 1) {
      return RuleError(*rule_, shown + ": expects one value");
    }
    if (op == CompareOp::kIContains || op == CompareOp::kIGlob) {
      for (auto& s : check->strings) s = Lower(s);
    }
    if (op == CompareOp::kBContains || op == CompareOp::kBStartsWith) {
      bool ok = false;
      check->strings[0] = HexDecode(check->strings[0], ok);
      if (!ok) return RuleError(*rule_, shown + ": expects hex bytes");
    }
    if (op == CompareOp::kPmatch) {
      for (auto& s : check->strings) {
        while (s.size() > 1 && s.back() == '/') s.pop_back();
      }
    }
    if (op == CompareOp::kRegex) {
      RE2::Options options;
      options.set_log_errors(false);
      check->regex = std::make_unique<RE2>(check->strings[0], options);
      if (!check->regex->ok()) {
        return RuleError(*rule_, shown + ": " + check->regex->error());
      }
      check->regex_atoms = RequiredAtoms(check->strings[0], options);
    }
    const bool numeric_op =
        op != CompareOp::kExists && op != CompareOp::kRegex && op != CompareOp::kContains &&
        op != CompareOp::kIContains && op != CompareOp::kStartsWith && op != CompareOp::kEndsWith &&
        op != CompareOp::kGlob && op != CompareOp::kIGlob && op != CompareOp::kPmatch &&
        op != CompareOp::kBContains && op != CompareOp::kBStartsWith;
    if (f.type != FieldType::kString && numeric_op) {
      for (const std::string& s : check->strings) {
        int64_t n = 0;
        if (!ParseInt(s, n)) {
          return RuleError(*rule_, shown + ": \"" + s + "\" is not a number");
        }
        check->numbers.push_back(n);
      }
      check->number_set.insert(check->numbers.begin(), check->numbers.end());
    } else if (f.type != FieldType::kString) {
      check->type = FieldType::kString;  // string operators see the text form
    }
    // The same comparison in another rule (a shared macro) is the same Check.
    std::string key = std::to_string(check->field) + '/' + std::to_string(static_cast<int>(op)) +
                      '/' + std::to_string(static_cast<int>(check->type));
    for (const std::string& value : check->strings) {
      key += '\0';
      key += value;
    }
    std::shared_ptr<Check>& shared = state_.checks[key];
    if (!shared) {
      check->string_set = StringSet(check->strings);
      if (!check->strings.empty()) check->value = check->strings[0];
      if (!check->numbers.empty()) check->number = check->numbers[0];
      check->id = static_cast<uint32_t>(state_.checks.size() - 1);
      shared = std::move(check);
    }
    node.kind = Node::Kind::kCheck;
    node.check = shared;
    return node;
  }

  Result<Node> Build(const ConditionNode& parsed, std::vector<std::string>& macro_stack) {
    Node node;
    switch (parsed.kind) {
      case ConditionNode::Kind::kAnd:
      case ConditionNode::Kind::kOr:
      case ConditionNode::Kind::kNot:
        node.kind = parsed.kind == ConditionNode::Kind::kAnd  ? Node::Kind::kAnd
                    : parsed.kind == ConditionNode::Kind::kOr ? Node::Kind::kOr
                                                              : Node::Kind::kNot;
        for (const ConditionNode& child : parsed.children) {
          MOAT_ASSIGN_OR_RETURN(Node built, Build(child, macro_stack));
          node.children.push_back(std::move(built));
        }
        return node;
      case ConditionNode::Kind::kMacro: {
        auto macro = defs_.macros.find(parsed.name);
        if (macro == defs_.macros.end()) {
          return RuleError(*rule_, "condition uses \"" + parsed.name +
                                       "\", which is neither a macro nor a field with an operator");
        }
        if (macro_stack.size() >= kMaxMacroDepth) {
          return RuleError(*rule_, "macros nested deeper than " + std::to_string(kMaxMacroDepth));
        }
        if (std::find(macro_stack.begin(), macro_stack.end(), parsed.name) != macro_stack.end()) {
          return RuleError(*rule_, "macro \"" + parsed.name + "\" refers to itself");
        }
        auto& cache = parsed_macros_[parsed.name];
        if (!cache) {
          auto macro_parsed = ParseCondition(macro->second.condition);
          if (!macro_parsed.ok()) {
            return Fail(Where(macro->second.location), ": macro \"", parsed.name,
                        "\": condition: ", macro_parsed.error().message);
          }
          cache = std::make_shared<ConditionNode>(std::move(*macro_parsed));
        }
        macro_stack.push_back(parsed.name);
        auto built = Build(*cache, macro_stack);
        macro_stack.pop_back();
        return built;
      }
      case ConditionNode::Kind::kCheck:
        return MakeCheck(parsed.name, parsed.argument, parsed.op, parsed.values);
    }
    return node;
  }

  Result<Node> BuildExceptionTuple(const ExceptionDef& exception,
                                   const std::vector<ExceptionItem>& tuple) {
    Node node;
    node.kind = Node::Kind::kAnd;
    for (size_t i = 0; i < exception.fields.size() && i < tuple.size(); ++i) {
      std::string field = exception.fields[i];
      std::optional<std::string> argument;
      if (size_t open = field.find('['); open != std::string::npos && field.back() == ']') {
        argument = field.substr(open + 1, field.size() - open - 2);
        field.resize(open);
      }
      CompareOp op = exception.single_field ? CompareOp::kIn : CompareOp::kEq;
      if (i < exception.comps.size()) op = *ParseCompareOp(exception.comps[i]);
      if (!TakesList(op) && tuple[i].values.size() != 1) {
        return RuleError(
            *rule_, "exception \"" + exception.name + "\": field " + field + " takes one value");
      }
      MOAT_ASSIGN_OR_RETURN(Node check, MakeCheck(field, argument, op, tuple[i].values));
      node.children.push_back(std::move(check));
    }
    return node;
  }

  // The threshold's fields resolve like the condition's: one the source lacks disables the rule.
  Result<void> CompileThreshold(const ThresholdSpec& spec, CompiledRule& out) {
    std::vector<Field> by;
    for (const std::string& name : spec.by) {
      const auto [field, argument] = SplitFieldArgument(name);
      MOAT_ASSIGN_OR_RETURN(std::optional<uint32_t> index, ResolveField(field, argument));
      if (index) by.push_back(state_.fields[*index].field);
    }
    std::optional<Field> distinct;
    if (!spec.distinct.empty()) {
      const auto [field, argument] = SplitFieldArgument(spec.distinct);
      MOAT_ASSIGN_OR_RETURN(std::optional<uint32_t> index, ResolveField(field, argument));
      if (index) distinct = state_.fields[*index].field;
    }
    out.threshold = std::make_unique<ThresholdCounter>(spec, std::move(by), std::move(distinct));
    return Ok();
  }

  Result<void> CompileOutput(const RuleDef& def, CompiledRule& out) {
    const std::string& text = def.output;
    std::string literal;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '%' || i + 1 >= text.size() ||
          !((text[i + 1] >= 'a' && text[i + 1] <= 'z') ||
            (text[i + 1] >= 'A' && text[i + 1] <= 'Z'))) {
        literal += text[i];
        continue;
      }
      size_t end = i + 1;
      while (end < text.size() &&
             ((text[end] >= 'a' && text[end] <= 'z') || (text[end] >= 'A' && text[end] <= 'Z') ||
              (text[end] >= '0' && text[end] <= '9') || text[end] == '_' || text[end] == '.')) {
        ++end;
      }
      std::string name = text.substr(i + 1, end - i - 1);
      while (!name.empty() && name.back() == '.') {  // "%proc.name." ends a sentence
        name.pop_back();
        --end;
      }
      std::optional<std::string> argument;
      if (end < text.size() && text[end] == '[') {
        const size_t close = text.find(']', end);
        if (close != std::string::npos) {
          argument = text.substr(end + 1, close - end - 1);
          end = close + 1;
        }
      }
      MOAT_ASSIGN_OR_RETURN(std::optional<uint32_t> field, ResolveField(name, argument));
      if (!literal.empty()) out.output.push_back({std::move(literal), -1, ""});
      literal.clear();
      const std::string shown = argument ? name + "[" + *argument + "]" : name;
      out.output.push_back({"", field ? static_cast<int>(*field) : -1, shown});
      if (!field) out.output.back().literal = "<NA>";
      i = end - 1;
    }
    if (!literal.empty()) out.output.push_back({std::move(literal), -1, ""});
    return Ok();
  }

 public:
  std::vector<std::string> reasons_;  // why each missing field is missing

 private:
  EngineState& state_;
  const Definitions& defs_;
  const EventSource* source_ = nullptr;
  std::vector<std::string>* missing_ = nullptr;
  const RuleDef* rule_ = nullptr;
  std::unordered_map<std::string, std::shared_ptr<ConditionNode>> parsed_macros_;
};

// The source of rules whose source is not registered: it has no field.
class UnavailableSource : public EventSource {
 public:
  explicit UnavailableSource(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  Result<Field> ResolveField(std::string_view, std::optional<std::string_view>) const override {
    return Fail("source ", name_, " is not available");
  }
  int64_t EventTimeNs(const Event&) const override { return 0; }

 private:
  std::string name_;
};

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The event types a rule can match: nullopt = every type.
using TypeSet = std::optional<std::set<std::string>>;

TypeSet EventTypes(const Node& node, std::string_view type_field) {
  switch (node.kind) {
    case Node::Kind::kFalse:
      return std::set<std::string>();
    case Node::Kind::kNot:
    case Node::Kind::kTrue:
      return std::nullopt;
    case Node::Kind::kCheck: {
      const Check& check = *node.check;
      if (check.field_name != type_field) return std::nullopt;
      if (check.op != CompareOp::kEq && check.op != CompareOp::kIn) return std::nullopt;
      return std::set<std::string>(check.strings.begin(), check.strings.end());
    }
    case Node::Kind::kAnd: {
      TypeSet result;
      for (const Node& child : node.children) {
        TypeSet types = EventTypes(child, type_field);
        if (!types) continue;
        if (!result) {
          result = std::move(types);
        } else {
          std::set<std::string> both;
          std::set_intersection(result->begin(), result->end(), types->begin(), types->end(),
                                std::inserter(both, both.begin()));
          result = std::move(both);
        }
      }
      return result;
    }
    case Node::Kind::kOr: {
      std::set<std::string> all;
      for (const Node& child : node.children) {
        TypeSet types = EventTypes(child, type_field);
        if (!types) return std::nullopt;
        all.insert(types->begin(), types->end());
      }
      return all;
    }
  }
  return std::nullopt;
}

// A rule indexed by event types runs only for events of those types, so a check of the type
// field that each of them passes (`evt.type in (execve, execveat)` in a rule indexed by execve
// and execveat) is true whenever the rule runs: it becomes kTrue and is not evaluated again.
// The rule's result is the same for every event that reaches it.
void FoldIndexedTypeChecks(Node& node, std::string_view type_field,
                           const std::set<std::string>& types) {
  switch (node.kind) {
    case Node::Kind::kFalse:
    case Node::Kind::kTrue:
      return;
    case Node::Kind::kCheck: {
      const Check& check = *node.check;
      if (check.field_name != type_field) return;
      if (check.op != CompareOp::kEq && check.op != CompareOp::kIn) return;
      for (const std::string& type : types) {
        if (!check.string_set.Contains(type)) return;
      }
      node.kind = Node::Kind::kTrue;
      node.check.reset();
      return;
    }
    case Node::Kind::kNot:
    case Node::Kind::kAnd:
    case Node::Kind::kOr:
      break;
  }
  for (Node& child : node.children) FoldIndexedTypeChecks(child, type_field, types);
  if (node.kind == Node::Kind::kNot) {
    if (node.children[0].kind == Node::Kind::kTrue) {
      node.kind = Node::Kind::kFalse;
      node.children.clear();
    }
    return;
  }
  if (node.kind == Node::Kind::kOr) {
    for (const Node& child : node.children) {
      if (child.kind != Node::Kind::kTrue) continue;
      node.kind = Node::Kind::kTrue;
      node.children.clear();
      return;
    }
    return;
  }
  std::erase_if(node.children, [](const Node& child) { return child.kind == Node::Kind::kTrue; });
  if (node.children.empty()) {
    node.kind = Node::Kind::kTrue;
  } else if (node.children.size() == 1) {
    Node only = std::move(node.children[0]);
    node = std::move(only);
  }
}

}  // namespace

Engine::Engine() : state_(std::make_unique<EngineState>()) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

void Engine::AddSource(std::shared_ptr<const EventSource> source) {
  state_->sources.push_back(std::move(source));
}

Result<void> Engine::AddRulesText(std::string_view text, std::string_view name) {
  auto root = k8s::ParseYamlDocument(text, std::string(name));
  if (!root.ok()) return root.error();
  Definitions copy = state_->defs;  // a file that fails leaves the definitions as they were
  FileReader reader(name, copy);
  MOAT_TRY(reader.Read(*root));
  state_->defs = std::move(copy);
  state_->compiled = false;
  return Ok();
}

Result<void> Engine::AddRulesPath(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
        files.push_back(entry.path().string());
      }
    }
    if (ec) return Fail(path, ": ", ec.message());
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) MOAT_TRY(AddRulesPath(file));
    return Ok();
  }
  auto text = ReadFileToString(path, 64ull << 20);
  if (!text.ok()) return text.error();
  return AddRulesText(*text, path);
}

Result<LoadReport> Engine::Compile() {
  EngineState& state = *state_;
  state.rules.clear();
  state.index.clear();
  state.fields.clear();
  state.field_index.clear();
  state.checks.clear();
  state.unavailable_sources.clear();
  LoadReport report;
  report.warnings = state.defs.warnings;
  Compiler compiler(state, state.defs);
  for (const RuleDef& def : state.defs.rules) {
    DisabledRule disabled{def.name, def.source, def.location, "", {}};
    if (!def.enabled) {
      disabled.reason = "enabled: false";
      report.disabled.push_back(std::move(disabled));
      continue;
    }
    const EventSource* source = state.FindSource(def.source);
    auto rule = std::make_unique<CompiledRule>();
    compiler.reasons_.clear();
    if (!source) {
      // Compiled against a source without fields, only to report every field the rule needs.
      // Kept with the engine: the generic fields (evt.time) it resolves refer to it.
      state.unavailable_sources.push_back(std::make_unique<UnavailableSource>(def.source));
      auto compiled = compiler.CompileRule(def, *state.unavailable_sources.back(), *rule,
                                           disabled.missing_fields);
      disabled.reason = "source \"" + def.source + "\" is not available";
      if (!compiled.ok()) {
        disabled.reason += "; " + compiled.error().message;
      } else if (!disabled.missing_fields.empty()) {
        disabled.reason += " (its fields: " + Join(disabled.missing_fields) + ")";
      }
      report.disabled.push_back(std::move(disabled));
      continue;
    }
    rule->source = source;
    MOAT_TRY(compiler.CompileRule(def, *source, *rule, disabled.missing_fields));
    if (!disabled.missing_fields.empty()) {
      disabled.reason = "field \"" + disabled.missing_fields[0] + "\": " + compiler.reasons_[0];
      report.disabled.push_back(std::move(disabled));
      continue;
    }
    rule->info.name = def.name;
    rule->info.description = def.desc;
    rule->info.source = def.source;
    rule->info.priority = *ParseAlertPriority(def.priority);
    rule->info.tags = def.tags;
    rule->info.mitre = def.mitre.empty() ? MitreReferencesFromTags(def.tags) : def.mitre;
    rule->info.remediation = def.remediation;
    rule->info.location = def.location;
    const uint32_t rule_index = static_cast<uint32_t>(state.rules.size());
    SourceIndex& index = state.index[def.source];
    const std::string_view type_field = source->EventTypeField();
    TypeSet types = type_field.empty() ? TypeSet() : EventTypes(rule->condition, type_field);
    if (!types) {
      index.any_type.push_back(rule_index);
    } else {
      for (const std::string& type : *types) index.by_type[type].push_back(rule_index);
      FoldIndexedTypeChecks(rule->condition, type_field, *types);
    }
    report.enabled.push_back(def.name);
    state.rules.push_back(std::move(rule));
  }
  state.compiled = true;
  return report;
}

std::vector<const CompiledRule*> Engine::Match(const EventSource& source,
                                               const Event& event) const {
  std::vector<const CompiledRule*> matches;
  const EngineState& state = *state_;
  auto found = state.index.find(source.name());
  if (found == state.index.end()) return matches;
  const SourceIndex& index = found->second;
  Scratch& scratch = state.StartEvent();
  const std::vector<uint32_t>* typed = nullptr;
  if (!index.by_type.empty()) {
    auto by_type = index.by_type.find(source.EventType(event));
    if (by_type != index.by_type.end()) typed = &by_type->second;
  }
  // Both lists are in rule order: merge them so that matches keep the rule-file order.
  size_t a = 0;
  size_t b = 0;
  const size_t a_size = index.any_type.size();
  const size_t b_size = typed ? typed->size() : 0;
  while (a < a_size || b < b_size) {
    uint32_t next;
    if (b >= b_size || (a < a_size && index.any_type[a] < (*typed)[b])) {
      next = index.any_type[a++];
    } else {
      next = (*typed)[b++];
    }
    const CompiledRule& rule = *state.rules[next];
    if (state.Eval(rule.condition, event, scratch)) matches.push_back(&rule);
  }
  return matches;
}

Alert Engine::MakeAlert(const CompiledRule& rule, const EventSource& source,
                        const Event& event) const {
  Alert alert;
  alert.time_ns = source.EventTimeNs(event);
  alert.time = FormatRfc3339Nanos(alert.time_ns, 9);
  alert.rule = rule.info.name;
  alert.priority = rule.info.priority;
  alert.source = std::string(source.name());
  alert.tags = rule.info.tags;
  alert.mitre = rule.info.mitre;
  nlohmann::json fields = nlohmann::json::object();
  alert.output = state_->Render(rule, event, &fields);
  alert.output_fields = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  source.FillAlertResources(event, alert);
  return alert;
}

std::vector<Alert> Engine::Evaluate(const EventSource& source, const Event& event) const {
  std::vector<Alert> alerts;
  for (const CompiledRule* rule : Match(source, event)) {
    std::optional<std::string> burst;
    if (rule->threshold) {
      burst = rule->threshold->Count(event, source.EventTimeNs(event));
      if (!burst) continue;  // counted; not (yet) a burst
    }
    alerts.push_back(MakeAlert(*rule, source, event));
    if (burst) alerts.back().output += " [burst: " + *burst + "]";
  }
  return alerts;
}

const RuleInfo& Engine::Info(const CompiledRule& rule) const { return rule.info; }

size_t Engine::EnabledCount(std::string_view source) const {
  if (source.empty()) return state_->rules.size();
  size_t count = 0;
  for (const auto& rule : state_->rules) count += rule->info.source == source;
  return count;
}

const EventSource* Engine::Source(std::string_view name) const { return state_->FindSource(name); }

}  // namespace moat::rules
