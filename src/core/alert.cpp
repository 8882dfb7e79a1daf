#include "core/alert.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "core/bytes.h"
#include "core/sha256.h"
#include "core/text.h"

namespace moat {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// ---- priorities ------------------------------------------------------------------------------

constexpr std::array<std::string_view, 8> kPriorityNames = {
    "Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// ---- RFC 3339 ---------------------------------------------------------------------------------

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

struct CivilDate {
  int64_t year;
  unsigned month;
  unsigned day;
};

CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(year_of_era) + era * 400 + (month <= 2), month, day};
}

bool IsLeapYear(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Reads exactly `count` digits at `position`.
bool ReadDigits(std::string_view text, size_t& position, size_t count, unsigned& value) {
  if (position + count > text.size()) return false;
  value = 0;
  for (size_t i = 0; i < count; ++i) {
    const char c = text[position + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  position += count;
  return true;
}

bool Expect(std::string_view text, size_t& position, char c) {
  if (position >= text.size() || text[position] != c) return false;
  ++position;
  return true;
}

// ---- reading untrusted JSON with paths --------------------------------------------------------

// The deepest nesting of arrays and objects in `text`, counted without parsing (strings
// skipped), so that a deeply nested document is refused before a recursive dump could overflow.
bool NestingWithin(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

std::string TypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "a number";
  }
}

std::string Member(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

std::string Index(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

// Reads the members of one JSON object; every error names the input and the member's path.
class FieldReader {
 public:
  FieldReader(const Json& object, std::string_view input, std::string path)
      : object_(object), input_(input), path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  Error Failure(std::string_view path, std::string_view message) const {
    if (path.empty()) return Fail(std::string(input_), ": ", std::string(message));
    return Fail(std::string(input_), ": ", std::string(path), ": ", std::string(message));
  }

  // The member, or nullptr when absent or null (Falco writes null for fields it has no value of).
  const Json* Find(std::string_view key) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Result<void> String(std::string_view key, std::string& out, size_t max_bytes,
                      bool required = false) const {
    const Json* value = Find(key);
    const std::string path = Member(path_, key);
    if (!value) {
      if (required) return Failure(path, "missing (required)");
      return Ok();
    }
    if (!value->is_string()) return Failure(path, "expected a string, got " + TypeName(*value));
    const auto& text = value->get_ref<const std::string&>();
    if (text.size() > max_bytes) {
      return Failure(path, "longer than " + std::to_string(max_bytes) + " bytes (" +
                               std::to_string(text.size()) + ")");
    }
    out = text;
    return Ok();
  }

  Result<void> Integer(std::string_view key, int64_t& out) const {
    const Json* value = Find(key);
    if (!value) return Ok();
    const std::string path = Member(path_, key);
    if (value->is_number_unsigned()) {
      if (value->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        return Failure(path, "out of range");
      out = static_cast<int64_t>(value->get<uint64_t>());
    } else if (value->is_number_integer()) {
      out = value->get<int64_t>();
    } else {
      return Failure(path, "expected an integer, got " + TypeName(*value));
    }
    if (out < 0) return Failure(path, "negative");
    return Ok();
  }

  // An object member; nullptr (and Ok) when absent.
  Result<const Json*> Object(std::string_view key) const {
    const Json* value = Find(key);
    if (value && !value->is_object())
      return Failure(Member(path_, key), "expected an object, got " + TypeName(*value));
    return value;
  }

  Result<const Json*> Array(std::string_view key) const {
    const Json* value = Find(key);
    if (!value) return value;
    const std::string path = Member(path_, key);
    if (!value->is_array()) return Failure(path, "expected an array, got " + TypeName(*value));
    if (value->size() > kMaxAlertListItems) {
      return Failure(path, "more than " + std::to_string(kMaxAlertListItems) + " items (" +
                               std::to_string(value->size()) + ")");
    }
    return value;
  }

 private:
  const Json& object_;
  std::string_view input_;
  std::string path_;
};

// ---- MITRE ATT&CK -----------------------------------------------------------------------------

// ATT&CK's enterprise tactics by short name (x_mitre_shortname).
constexpr std::array<std::string_view, 14> kTactics = {"reconnaissance",  "resource-development",
                                                       "initial-access",  "execution",
                                                       "persistence",     "privilege-escalation",
                                                       "defense-evasion", "credential-access",
                                                       "discovery",       "lateral-movement",
                                                       "collection",      "command-and-control",
                                                       "exfiltration",    "impact"};

std::string LettersAndDigitsLower(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    }
  }
  return out;
}

// "PrivilegeEscalation", "Privilege Escalation", "mitre_privilege_escalation" and
// "privilege-escalation" are one tactic; "" when ATT&CK has no such tactic.
std::string_view AttackTactic(std::string_view text) {
  std::string_view name = TrimSpace(text);
  if (name.size() > 6 && EqualsIgnoreCase(name.substr(0, 6), "mitre_")) name.remove_prefix(6);
  const std::string folded = LettersAndDigitsLower(name);
  for (std::string_view tactic : kTactics) {
    if (LettersAndDigitsLower(tactic) == folded) return tactic;
  }
  return "";
}

// ATT&CK's short name, or a name ATT&CK does not have (the seed's legacy "Probing") as given.
std::string CanonicalTactic(std::string_view text) {
  const std::string_view tactic = AttackTactic(text);
  return std::string(tactic.empty() ? TrimSpace(text) : tactic);
}

// T1059 or T1059.004.
bool IsTechniqueId(std::string_view text) {
  auto digits = [&](size_t from, size_t count) {
    for (size_t i = from; i < from + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
    }
    return true;
  };
  if (text.size() != 5 && text.size() != 9) return false;
  if (text[0] != 'T' || !digits(1, 4)) return false;
  return text.size() == 5 || (text[5] == '.' && digits(6, 3));
}

// Falco's rules tag the tactic as mitre_<tactic> and the technique by id; a rule has one tactic
// as a rule, so every technique goes with it when there is exactly one. Tags that only look like
// tactics (mitre_something) are not taken.
std::vector<MitreReference> MitreFromTags(const std::vector<std::string>& tags) {
  std::vector<std::string> tactics;
  std::vector<std::string> techniques;
  for (const std::string& tag : tags) {
    if (IsTechniqueId(tag)) {
      techniques.push_back(tag);
    } else if (tag.size() > 6 && EqualsIgnoreCase(std::string_view(tag).substr(0, 6), "mitre_") &&
               !AttackTactic(tag).empty()) {
      tactics.emplace_back(AttackTactic(tag));
    }
  }
  std::vector<MitreReference> out;
  if (tactics.size() == 1) {
    for (const std::string& technique : techniques) out.push_back({tactics[0], technique, ""});
    if (techniques.empty()) out.push_back({tactics[0], "", ""});
    return out;
  }
  for (const std::string& tactic : tactics) out.push_back({tactic, "", ""});
  for (const std::string& technique : techniques) out.push_back({"", technique, ""});
  return out;
}

// ---- Falco output fields ----------------------------------------------------------------------

// The text of an output field as Falco writes it (strings, numbers); "" for null and others.
std::string FieldText(const Json& fields, std::string_view key) {
  auto it = fields.find(key);
  if (it == fields.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  return "";
}

int64_t FieldInteger(const Json& fields, std::string_view key) {
  auto it = fields.find(key);
  if (it == fields.end()) return 0;
  if (it->is_number_unsigned() && it->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX))
    return static_cast<int64_t>(it->get<uint64_t>());
  if (it->is_number_integer() && it->get<int64_t>() > 0) return it->get<int64_t>();
  return 0;
}

// Sets `target` from an output field when the alert did not give it explicitly. The limits are
// the explicit fields' own.
Result<void> FillFromField(const FieldReader& reader, const Json& fields, std::string_view key,
                           std::string& target, size_t max_bytes) {
  if (!target.empty()) return Ok();
  std::string value = FieldText(fields, key);
  // Falco's container fields say "host" for a process outside any container.
  if ((key == "container.id" || key == "container.name") && value == "host") return Ok();
  if (value.size() > max_bytes) {
    return reader.Failure(Member(Member(reader.path(), "output_fields"), key),
                          "longer than " + std::to_string(max_bytes) + " bytes");
  }
  target = std::move(value);
  return Ok();
}

std::string_view WorkloadKind(std::string_view resource) {
  static constexpr std::pair<std::string_view, std::string_view> kKinds[] = {
      {"deployments", "Deployment"},
      {"daemonsets", "DaemonSet"},
      {"statefulsets", "StatefulSet"},
      {"replicasets", "ReplicaSet"},
      {"jobs", "Job"},
      {"cronjobs", "CronJob"}};
  for (const auto& [plural, kind] : kKinds) {
    if (plural == resource) return kind;
  }
  return "";
}

// Fills the resources from Falco's output fields (syscall and k8s_audit sources), member by
// member, where the alert's own resource objects left them empty.
Result<void> FillFromFalcoFields(const FieldReader& reader, const Json& fields, Alert& alert) {
  struct Mapping {
    std::string_view field;
    std::string* target;
    size_t max_bytes;
  };
  const Mapping mappings[] = {
      {"container.id", &alert.container.id, kMaxAlertNameBytes},
      {"container.name", &alert.container.name, kMaxAlertNameBytes},
      {"container.image", &alert.container.image, kMaxAlertNameBytes},
      {"container.image.digest", &alert.container.image_digest, kMaxAlertNameBytes},
      {"container.image.repository", &alert.image.repository, kMaxAlertNameBytes},
      {"container.image.tag", &alert.image.tag, kMaxAlertNameBytes},
      {"container.image.digest", &alert.image.digest, kMaxAlertNameBytes},
      {"k8s.ns.name", &alert.k8s.namespace_name, kMaxAlertNameBytes},
      {"k8s.pod.name", &alert.k8s.pod, kMaxAlertNameBytes},
      {"k8smeta.ns.name", &alert.k8s.namespace_name, kMaxAlertNameBytes},
      {"k8smeta.pod.name", &alert.k8s.pod, kMaxAlertNameBytes},
      {"k8smeta.node.name", &alert.k8s.node, kMaxAlertNameBytes},
      {"ka.user.name", &alert.k8s.user, kMaxAlertNameBytes},
      {"ka.target.namespace", &alert.k8s.namespace_name, kMaxAlertNameBytes},
      {"proc.name", &alert.proc.name, kMaxAlertNameBytes},
      {"proc.exepath", &alert.proc.exe, kMaxAlertTextBytes},
      {"proc.exe", &alert.proc.exe, kMaxAlertTextBytes},
      {"proc.cmdline", &alert.proc.cmdline, kMaxAlertTextBytes},
      {"user.name", &alert.proc.user, kMaxAlertNameBytes},
  };
  for (const Mapping& mapping : mappings)
    MOAT_TRY(FillFromField(reader, fields, mapping.field, *mapping.target, mapping.max_bytes));
  if (alert.proc.pid == 0) alert.proc.pid = FieldInteger(fields, "proc.pid");
  if (alert.proc.ppid == 0) alert.proc.ppid = FieldInteger(fields, "proc.ppid");

  // An audit event's target: a pod, or a workload.
  const std::string resource = FieldText(fields, "ka.target.resource");
  std::string target_name = FieldText(fields, "ka.target.name");
  if (target_name.size() > kMaxAlertNameBytes) target_name.clear();
  if (!target_name.empty()) {
    if (resource == "pods" && alert.k8s.pod.empty()) {
      alert.k8s.pod = target_name;
    } else if (!WorkloadKind(resource).empty() && alert.k8s.workload_kind.empty() &&
               alert.k8s.workload_name.empty()) {
      alert.k8s.workload_kind = std::string(WorkloadKind(resource));
      alert.k8s.workload_name = target_name;
    }
  }

  // The process tree: proc.pname/proc.pcmdline/proc.ppid are the parent (proc.aname[1]),
  // proc.aname[N]/proc.apid[N] the ancestors above it, as far as they go without a gap.
  if (alert.proc.ancestors.empty()) {
    for (size_t level = 1; level <= 16; ++level) {
      const std::string suffix = "[" + std::to_string(level) + "]";
      AlertProcessAncestor ancestor;
      ancestor.name = FieldText(fields, "proc.aname" + suffix);
      ancestor.pid = FieldInteger(fields, "proc.apid" + suffix);
      if (level == 1) {
        if (ancestor.name.empty()) ancestor.name = FieldText(fields, "proc.pname");
        if (ancestor.pid == 0) ancestor.pid = FieldInteger(fields, "proc.ppid");
        ancestor.cmdline = FieldText(fields, "proc.pcmdline");
      }
      if (ancestor.name.empty() && ancestor.pid == 0 && ancestor.cmdline.empty()) break;
      if (ancestor.name.size() > kMaxAlertNameBytes || ancestor.cmdline.size() > kMaxAlertTextBytes)
        break;
      alert.proc.ancestors.push_back(std::move(ancestor));
    }
  }
  return Ok();
}

// ---- the alert --------------------------------------------------------------------------------

Result<void> ReadTags(const FieldReader& reader, Alert& alert) {
  MOAT_ASSIGN_OR_RETURN(const Json* tags, reader.Array("tags"));
  if (!tags) return Ok();
  const std::string path = Member(reader.path(), "tags");
  for (size_t i = 0; i < tags->size(); ++i) {
    const Json& tag = (*tags)[i];
    if (!tag.is_string())
      return reader.Failure(Index(path, i), "expected a string, got " + TypeName(tag));
    if (tag.get_ref<const std::string&>().size() > kMaxAlertNameBytes)
      return reader.Failure(Index(path, i),
                            "longer than " + std::to_string(kMaxAlertNameBytes) + " bytes");
    alert.tags.push_back(tag.get<std::string>());
  }
  return Ok();
}

Result<void> ReadMitre(const FieldReader& reader, std::string_view input, Alert& alert) {
  MOAT_ASSIGN_OR_RETURN(const Json* mitre, reader.Array("mitre"));
  if (!mitre) {
    alert.mitre = MitreFromTags(alert.tags);
    return Ok();
  }
  const std::string path = Member(reader.path(), "mitre");
  for (size_t i = 0; i < mitre->size(); ++i) {
    const Json& entry = (*mitre)[i];
    const std::string entry_path = Index(path, i);
    if (!entry.is_object())
      return reader.Failure(entry_path, "expected an object, got " + TypeName(entry));
    FieldReader fields(entry, input, entry_path);
    MitreReference reference;
    MOAT_TRY(fields.String("tactic", reference.tactic, kMaxAlertNameBytes));
    MOAT_TRY(fields.String("technique_id", reference.technique_id, kMaxAlertNameBytes));
    MOAT_TRY(fields.String("technique", reference.technique, kMaxAlertNameBytes));
    reference.tactic = CanonicalTactic(reference.tactic);
    if (!reference.technique_id.empty() && !IsTechniqueId(reference.technique_id)) {
      return reader.Failure(
          Member(entry_path, "technique_id"),
          "\"" + reference.technique_id + "\" is not an ATT&CK technique id (T1234 or T1234.001)");
    }
    if (reference.tactic.empty() && reference.technique_id.empty())
      return reader.Failure(entry_path, "needs a tactic or a technique_id");
    alert.mitre.push_back(std::move(reference));
  }
  return Ok();
}

// An object of names (`container`, `k8s`, `image`): each member a string of at most a name's
// length.
Result<void> ReadNames(const FieldReader& reader, std::string_view input, std::string_view key,
                       std::initializer_list<std::pair<std::string_view, std::string*>> members) {
  MOAT_ASSIGN_OR_RETURN(const Json* object, reader.Object(key));
  if (!object) return Ok();
  FieldReader fields(*object, input, Member(reader.path(), key));
  for (const auto& [name, target] : members)
    MOAT_TRY(fields.String(name, *target, kMaxAlertNameBytes));
  return Ok();
}

Result<void> ReadResources(const FieldReader& reader, std::string_view input, Alert& alert) {
  MOAT_TRY(ReadNames(reader, input, "container",
                     {{"id", &alert.container.id},
                      {"name", &alert.container.name},
                      {"image", &alert.container.image},
                      {"image_digest", &alert.container.image_digest}}));
  MOAT_TRY(ReadNames(reader, input, "k8s",
                     {{"cluster", &alert.k8s.cluster},
                      {"namespace", &alert.k8s.namespace_name},
                      {"pod", &alert.k8s.pod},
                      {"node", &alert.k8s.node},
                      {"workload_kind", &alert.k8s.workload_kind},
                      {"workload_name", &alert.k8s.workload_name},
                      {"user", &alert.k8s.user}}));
  MOAT_TRY(ReadNames(reader, input, "image",
                     {{"repository", &alert.image.repository},
                      {"tag", &alert.image.tag},
                      {"digest", &alert.image.digest}}));
  MOAT_ASSIGN_OR_RETURN(const Json* proc, reader.Object("proc"));
  if (proc) {
    const std::string proc_path = Member(reader.path(), "proc");
    FieldReader fields(*proc, input, proc_path);
    MOAT_TRY(fields.Integer("pid", alert.proc.pid));
    MOAT_TRY(fields.Integer("ppid", alert.proc.ppid));
    MOAT_TRY(fields.String("name", alert.proc.name, kMaxAlertNameBytes));
    MOAT_TRY(fields.String("exe", alert.proc.exe, kMaxAlertTextBytes));
    MOAT_TRY(fields.String("cmdline", alert.proc.cmdline, kMaxAlertTextBytes));
    MOAT_TRY(fields.String("user", alert.proc.user, kMaxAlertNameBytes));
    MOAT_ASSIGN_OR_RETURN(const Json* ancestors, fields.Array("ancestors"));
    if (ancestors) {
      const std::string ancestors_path = Member(proc_path, "ancestors");
      for (size_t i = 0; i < ancestors->size(); ++i) {
        const Json& entry = (*ancestors)[i];
        const std::string entry_path = Index(ancestors_path, i);
        if (!entry.is_object())
          return reader.Failure(entry_path, "expected an object, got " + TypeName(entry));
        FieldReader ancestor_fields(entry, input, entry_path);
        AlertProcessAncestor ancestor;
        MOAT_TRY(ancestor_fields.Integer("pid", ancestor.pid));
        MOAT_TRY(ancestor_fields.String("name", ancestor.name, kMaxAlertNameBytes));
        MOAT_TRY(ancestor_fields.String("cmdline", ancestor.cmdline, kMaxAlertTextBytes));
        alert.proc.ancestors.push_back(std::move(ancestor));
      }
    }
  }
  return Ok();
}

Error TooLarge(std::string_view input, std::string_view path, size_t size, size_t limit);
OrderedJson AlertToOrderedJson(const Alert& alert);

// One alert from a parsed value of `text_bytes` bytes of JSON text; `path` is where the value
// sits in the input ("" at the root, "alerts[3]" in a batch).
Result<Alert> AlertFromJson(const Json& value, std::string_view input, std::string path,
                            size_t text_bytes) {
  FieldReader reader(value, input, path);
  if (!value.is_object()) return reader.Failure(path, "expected an object, got " + TypeName(value));
  Alert alert;
  MOAT_TRY(reader.String("time", alert.time, kMaxAlertNameBytes, /*required=*/true));
  const std::optional<int64_t> time_ns = ParseRfc3339Nanos(alert.time);
  if (!time_ns) {
    return reader.Failure(Member(path, "time"),
                          "\"" + alert.time + "\" is not an RFC 3339 date-time");
  }
  alert.time_ns = *time_ns;
  alert.time = FormatRfc3339Nanos(alert.time_ns);
  MOAT_TRY(reader.String("rule", alert.rule, kMaxAlertNameBytes, /*required=*/true));
  if (TrimSpace(alert.rule).empty()) return reader.Failure(Member(path, "rule"), "empty");
  std::string priority;
  MOAT_TRY(reader.String("priority", priority, kMaxAlertNameBytes, /*required=*/true));
  const std::optional<AlertPriority> parsed_priority = ParseAlertPriority(priority);
  if (!parsed_priority) {
    return reader.Failure(Member(path, "priority"),
                          "unknown priority \"" + priority +
                              "\" (expected emergency, alert, critical, error, warning, notice, "
                              "informational or debug)");
  }
  alert.priority = *parsed_priority;
  MOAT_TRY(reader.String("output", alert.output, kMaxAlertTextBytes, /*required=*/true));
  MOAT_TRY(reader.String("source", alert.source, kMaxAlertNameBytes));
  MOAT_TRY(reader.String("hostname", alert.hostname, kMaxAlertNameBytes));
  MOAT_TRY(ReadTags(reader, alert));
  MOAT_TRY(ReadMitre(reader, input, alert));
  MOAT_TRY(ReadResources(reader, input, alert));
  MOAT_ASSIGN_OR_RETURN(const Json* fields, reader.Object("output_fields"));
  if (fields) {
    alert.output_fields = fields->dump(-1, ' ', false, Json::error_handler_t::replace);
    MOAT_TRY(FillFromFalcoFields(reader, *fields, alert));
  }
  // The canonical form repeats output field values in the resources (a value at most twice) and
  // spells MITRE tags out (under 10 KiB for the most tags), so from an input of up to a quarter
  // of the limit it stays within the limit; a larger input is measured, so that every parsed
  // alert's canonical form parses again.
  if (text_bytes > kMaxAlertBytes / 4) {
    const size_t canonical =
        AlertToOrderedJson(alert).dump(-1, ' ', false, Json::error_handler_t::replace).size();
    if (canonical > kMaxAlertBytes) return TooLarge(input, path, canonical, kMaxAlertBytes);
  }
  return alert;
}

Result<Json> ParseJson(std::string_view text, std::string_view input) {
  if (!NestingWithin(text, kMaxAlertJsonDepth)) {
    return Fail(std::string(input), ": nested deeper than ", std::to_string(kMaxAlertJsonDepth),
                " levels");
  }
  try {
    return Json::parse(text);
  } catch (const Json::exception& error) {
    return Fail(std::string(input), ": not valid JSON: ", error.what());
  }
}

Error TooLarge(std::string_view input, std::string_view path, size_t size, size_t limit) {
  return Fail(std::string(input), ": ", path.empty() ? "" : std::string(path) + ": ", "alert of ",
              std::to_string(size), " bytes is over the limit of ", std::to_string(limit / 1024),
              " KiB");
}

// Each element of an array of alerts; `path` names the array ("" for a top-level array).
std::vector<Result<Alert>> AlertsFromArray(const Json& array, std::string_view input,
                                           std::string_view path) {
  std::vector<Result<Alert>> out;
  out.reserve(array.size());
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string item_path = Index(path, i);
    const size_t size = array[i].dump(-1, ' ', false, Json::error_handler_t::replace).size();
    if (size > kMaxAlertBytes) {
      out.emplace_back(TooLarge(input, item_path, size, kMaxAlertBytes));
      continue;
    }
    out.push_back(AlertFromJson(array[i], input, item_path, size));
  }
  return out;
}

// Compact JSON text, never throwing on invalid UTF-8 (alerts built in code may carry raw bytes
// from a process's command line): such bytes become U+FFFD.
template <typename J>
std::string Dump(const J& value) {
  return value.dump(-1, ' ', false, J::error_handler_t::replace);
}

OrderedJson AlertToOrderedJson(const Alert& alert) {
  OrderedJson out;
  out["time"] = FormatRfc3339Nanos(alert.time_ns);
  out["rule"] = alert.rule;
  out["priority"] = AlertPriorityName(alert.priority);
  if (!alert.source.empty()) out["source"] = alert.source;
  if (!alert.hostname.empty()) out["hostname"] = alert.hostname;
  out["tags"] = alert.tags;
  OrderedJson mitre = OrderedJson::array();
  for (const MitreReference& reference : alert.mitre) {
    OrderedJson entry = OrderedJson::object();
    if (!reference.tactic.empty()) entry["tactic"] = reference.tactic;
    if (!reference.technique_id.empty()) entry["technique_id"] = reference.technique_id;
    if (!reference.technique.empty()) entry["technique"] = reference.technique;
    mitre.push_back(std::move(entry));
  }
  out["mitre"] = std::move(mitre);
  out["output"] = alert.output;
  // Producers in code set output_fields as text; one that is not an object is written as {} so
  // the document stays valid.
  OrderedJson fields = OrderedJson::parse(alert.output_fields, nullptr, /*allow_exceptions=*/false);
  out["output_fields"] = fields.is_object() ? std::move(fields) : OrderedJson::object();

  auto put = [](OrderedJson& object, const char* key, const std::string& value) {
    if (!value.empty()) object[key] = value;
  };
  if (!alert.container.empty()) {
    OrderedJson& container = out["container"] = OrderedJson::object();
    put(container, "id", alert.container.id);
    put(container, "name", alert.container.name);
    put(container, "image", alert.container.image);
    put(container, "image_digest", alert.container.image_digest);
  }
  if (!alert.k8s.empty()) {
    OrderedJson& k8s = out["k8s"] = OrderedJson::object();
    put(k8s, "cluster", alert.k8s.cluster);
    put(k8s, "namespace", alert.k8s.namespace_name);
    put(k8s, "pod", alert.k8s.pod);
    put(k8s, "node", alert.k8s.node);
    put(k8s, "workload_kind", alert.k8s.workload_kind);
    put(k8s, "workload_name", alert.k8s.workload_name);
    put(k8s, "user", alert.k8s.user);
  }
  if (!alert.proc.empty()) {
    OrderedJson& proc = out["proc"] = OrderedJson::object();
    if (alert.proc.pid != 0) proc["pid"] = alert.proc.pid;
    if (alert.proc.ppid != 0) proc["ppid"] = alert.proc.ppid;
    put(proc, "name", alert.proc.name);
    put(proc, "exe", alert.proc.exe);
    put(proc, "cmdline", alert.proc.cmdline);
    put(proc, "user", alert.proc.user);
    if (!alert.proc.ancestors.empty()) {
      OrderedJson ancestors = OrderedJson::array();
      for (const AlertProcessAncestor& ancestor : alert.proc.ancestors) {
        OrderedJson entry = OrderedJson::object();
        if (ancestor.pid != 0) entry["pid"] = ancestor.pid;
        put(entry, "name", ancestor.name);
        put(entry, "cmdline", ancestor.cmdline);
        ancestors.push_back(std::move(entry));
      }
      proc["ancestors"] = std::move(ancestors);
    }
  }
  if (!alert.image.empty()) {
    OrderedJson& image = out["image"] = OrderedJson::object();
    put(image, "repository", alert.image.repository);
    put(image, "tag", alert.image.tag);
    put(image, "digest", alert.image.digest);
  }
  return out;
}

}  // namespace

std::optional<AlertPriority> ParseAlertPriority(std::string_view text) {
  for (size_t i = 0; i < kPriorityNames.size(); ++i) {
    if (EqualsIgnoreCase(text, kPriorityNames[i])) return static_cast<AlertPriority>(i);
  }
  if (EqualsIgnoreCase(text, "info")) return AlertPriority::kInformational;
  return std::nullopt;
}

std::string_view AlertPriorityName(AlertPriority priority) {
  const auto index = static_cast<size_t>(priority);
  return index < kPriorityNames.size() ? kPriorityNames[index] : "Debug";
}

std::optional<int64_t> ParseRfc3339Nanos(std::string_view text) {
  size_t position = 0;
  unsigned year, month, day, hour, minute, second;
  if (!ReadDigits(text, position, 4, year) || !Expect(text, position, '-') ||
      !ReadDigits(text, position, 2, month) || !Expect(text, position, '-') ||
      !ReadDigits(text, position, 2, day))
    return std::nullopt;
  if (position >= text.size() || (text[position] != 'T' && text[position] != 't'))
    return std::nullopt;
  ++position;
  if (!ReadDigits(text, position, 2, hour) || !Expect(text, position, ':') ||
      !ReadDigits(text, position, 2, minute) || !Expect(text, position, ':') ||
      !ReadDigits(text, position, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60)
    return std::nullopt;
  int64_t fraction_ns = 0;
  if (position < text.size() && text[position] == '.') {
    ++position;
    size_t digits = 0;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9') {
      // Digits past the ninth are below a nanosecond: read and dropped.
      if (digits < 9) fraction_ns = fraction_ns * 10 + (text[position] - '0');
      ++digits;
      ++position;
    }
    if (digits == 0) return std::nullopt;
    for (size_t i = digits; i < 9; ++i) fraction_ns *= 10;
  }
  int64_t offset_seconds = 0;
  if (position < text.size() && (text[position] == 'Z' || text[position] == 'z')) {
    ++position;
  } else if (position < text.size() && (text[position] == '+' || text[position] == '-')) {
    const int sign = text[position] == '-' ? -1 : 1;
    ++position;
    unsigned offset_hours, offset_minutes;
    if (!ReadDigits(text, position, 2, offset_hours) || !Expect(text, position, ':') ||
        !ReadDigits(text, position, 2, offset_minutes) || offset_hours > 23 || offset_minutes > 59)
      return std::nullopt;
    offset_seconds = sign * static_cast<int64_t>(offset_hours * 3600 + offset_minutes * 60);
  } else {
    return std::nullopt;
  }
  if (position != text.size()) return std::nullopt;
  // A leap second (:60) is the instant after :59.999999999, as timegm counts it.
  const int64_t seconds =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  int64_t nanos;
  if (__builtin_mul_overflow(seconds, int64_t{1000000000}, &nanos) ||
      __builtin_add_overflow(nanos, fraction_ns, &nanos))
    return std::nullopt;
  return nanos;
}

std::string FormatRfc3339Nanos(int64_t time_ns, int fraction_digits) {
  fraction_digits = std::clamp(fraction_digits, 0, 9);
  // Floor division, so that instants before 1970 get a positive fraction.
  int64_t seconds = time_ns / 1000000000;
  int64_t nanos = time_ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  const CivilDate date = CivilFromDays(days);
  char buffer[64];
  int length = std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                             static_cast<long long>(date.year), date.month, date.day,
                             static_cast<long long>(second_of_day / 3600),
                             static_cast<long long>(second_of_day / 60 % 60),
                             static_cast<long long>(second_of_day % 60));
  std::string out(buffer, static_cast<size_t>(length));
  if (fraction_digits > 0) {
    char fraction[16];
    std::snprintf(fraction, sizeof fraction, "%09lld", static_cast<long long>(nanos));
    out += '.';
    out.append(fraction, static_cast<size_t>(fraction_digits));
  }
  out += 'Z';
  return out;
}

Result<Alert> ParseAlert(std::string_view json_text, std::string_view input_name) {
  if (json_text.size() > kMaxAlertBytes)
    return TooLarge(input_name, "", json_text.size(), kMaxAlertBytes);
  MOAT_ASSIGN_OR_RETURN(Json value, ParseJson(json_text, input_name));
  return AlertFromJson(value, input_name, "", json_text.size());
}

Result<std::vector<Result<Alert>>> ParseAlertBatch(std::string_view text,
                                                   std::string_view input_name) {
  const std::string input(input_name);
  if (text.size() > kMaxAlertBatchBytes) {
    return Fail(input, ": batch of ", std::to_string(text.size()), " bytes is over the limit of ",
                std::to_string(kMaxAlertBatchBytes >> 20), " MiB");
  }
  const std::string_view trimmed = TrimSpace(text);
  if (trimmed.empty()) return std::vector<Result<Alert>>{};
  Result<Json> whole = ParseJson(trimmed, input_name);
  if (whole.ok()) {
    const Json& value = *whole;
    if (value.is_array()) return AlertsFromArray(value, input_name, "");
    if (value.is_object()) {
      auto alerts = value.find("alerts");
      if (alerts != value.end()) {
        if (!alerts->is_array())
          return Fail(input, ": alerts: expected an array, got ", TypeName(*alerts));
        return AlertsFromArray(*alerts, input_name, "alerts");
      }
      std::vector<Result<Alert>> out;
      if (trimmed.size() > kMaxAlertBytes) {
        out.emplace_back(TooLarge(input_name, "", trimmed.size(), kMaxAlertBytes));
      } else {
        out.push_back(AlertFromJson(value, input_name, "", trimmed.size()));
      }
      return out;
    }
    return Fail(input,
                ": expected an alert, an array of alerts, {\"alerts\": [...]} or JSON "
                "lines, got ",
                TypeName(value));
  }
  // JSON lines: several lines, the first of them an object by itself. Anything else keeps the
  // whole document's syntax error, which says where it is.
  const std::vector<std::string_view> lines = SplitLines(text);
  size_t non_empty = 0;
  std::string_view first;
  for (std::string_view line : lines) {
    if (TrimSpace(line).empty()) continue;
    if (non_empty++ == 0) first = TrimSpace(line);
  }
  const bool json_lines = non_empty > 1 && first.size() <= kMaxAlertBytes && Json::accept(first) &&
                          first.front() == '{';
  if (!json_lines) return whole.error();
  std::vector<Result<Alert>> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (TrimSpace(lines[i]).empty()) continue;
    out.push_back(ParseAlert(lines[i], input + ": line " + std::to_string(i + 1)));
  }
  return out;
}

std::string AlertToJson(const Alert& alert) { return Dump(AlertToOrderedJson(alert)); }

std::string AlertsToJson(const std::vector<Alert>& alerts) {
  OrderedJson out = OrderedJson::array();
  for (const Alert& alert : alerts) out.push_back(AlertToOrderedJson(alert));
  return Dump(out);
}

std::string_view SeedAlertType(const Alert& alert) {
  for (const std::string& tag : alert.tags) {
    const std::string_view view(tag);
    if (view.starts_with("K8S.NODE_") || view.starts_with("K8S_") || view.starts_with("VM_"))
      return view;
  }
  return "";
}

std::string AlertDedupeKey(const Alert& alert) {
  // The parts as one JSON array, so that no two different lists of parts hash alike.
  Json parts = Json::array();
  parts.push_back(alert.rule);
  if (!alert.container.id.empty()) {
    parts.push_back("container:" + alert.container.id);
  } else if (!alert.k8s.pod.empty()) {
    parts.push_back("pod:" + alert.k8s.cluster + "/" + alert.k8s.namespace_name + "/" +
                    alert.k8s.pod);
  } else {
    parts.push_back("host:" + (alert.k8s.node.empty() ? alert.hostname : alert.k8s.node));
  }
  parts.push_back(alert.k8s.workload_kind + "/" + alert.k8s.workload_name);
  parts.push_back(alert.k8s.user);
  parts.push_back(alert.image.digest.empty() ? alert.container.image : alert.image.digest);
  parts.push_back(alert.proc.exe.empty() ? alert.proc.name : alert.proc.exe);
  parts.push_back(alert.proc.cmdline);
  // Output fields that name what was touched. fd.name of a socket holds the client's ephemeral
  // port, different on every connection, so sockets count by server address and client address.
  static constexpr std::string_view kDistinguishingFields[] = {
      "fd.sip",
      "fd.sport",
      "fd.cip",
      "ka.verb",
      "ka.target.resource",
      "ka.target.subresource",
      "ka.target.namespace",
      "ka.target.name",
  };
  Json fields = Json::parse(alert.output_fields, nullptr, /*allow_exceptions=*/false);
  if (!fields.is_object()) fields = Json::object();
  const std::string fd_name = FieldText(fields, "fd.name");
  parts.push_back(fd_name.find("->") == std::string::npos ? fd_name : "");
  for (std::string_view field : kDistinguishingFields) parts.push_back(FieldText(fields, field));
  const std::string text = Dump(parts);
  return "sha256:" + Sha256Hex(AsBytes(text));
}

std::string AlertIncidentKey(const Alert& alert) {
  if (!alert.container.id.empty()) return "container:" + alert.container.id;
  if (!alert.k8s.pod.empty())
    return "pod:" + alert.k8s.cluster + "/" + alert.k8s.namespace_name + "/" + alert.k8s.pod;
  const std::string& node = alert.k8s.node.empty() ? alert.hostname : alert.k8s.node;
  const std::string& process = alert.proc.exe.empty() ? alert.proc.name : alert.proc.exe;
  if (!node.empty() && !process.empty()) return "host:" + node + ":" + process;
  return "";
}

IncidentCorrelation CorrelateIncidents(const std::vector<Alert>& alerts,
                                       std::chrono::nanoseconds window) {
  std::vector<size_t> order(alerts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return alerts[a].time_ns < alerts[b].time_ns; });
  const uint64_t window_ns = window.count() < 0 ? 0 : static_cast<uint64_t>(window.count());
  IncidentCorrelation out;
  out.incident_of.resize(alerts.size());
  std::unordered_map<std::string, size_t> open;  // key -> its latest incident
  for (size_t index : order) {
    const Alert& alert = alerts[index];
    std::string key = AlertIncidentKey(alert);
    if (!key.empty()) {
      auto it = open.find(key);
      // The difference of two ordered int64 times always fits in uint64.
      if (it != open.end() &&
          static_cast<uint64_t>(alert.time_ns) -
                  static_cast<uint64_t>(out.incidents[it->second].last_time_ns) <=
              window_ns) {
        Incident& incident = out.incidents[it->second];
        incident.last_time_ns = alert.time_ns;
        incident.alerts.push_back(index);
        out.incident_of[index] = it->second;
        continue;
      }
    }
    Incident incident;
    incident.key = key;
    incident.first_time_ns = incident.last_time_ns = alert.time_ns;
    incident.alerts.push_back(index);
    out.incident_of[index] = out.incidents.size();
    if (!key.empty()) open[std::move(key)] = out.incidents.size();
    out.incidents.push_back(std::move(incident));
  }
  return out;
}

std::vector<MitreReference> MitreReferencesFromTags(const std::vector<std::string>& tags) {
  return MitreFromTags(tags);
}

}  // namespace moat
