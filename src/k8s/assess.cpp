// The check engine: registry, selection (ids, groups, globs, PSS versions and overrides),
// namespace exclusion, exemption by annotation, and the summaries.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <unordered_map>

#include "core/text.h"
#include "k8s/check_util.h"

namespace moat::k8s {

using internal::CheckDef;

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kLow:
      return "LOW";
    case Severity::kMedium:
      return "MEDIUM";
    case Severity::kHigh:
      return "HIGH";
    case Severity::kCritical:
      return "CRITICAL";
  }
  return "UNKNOWN";
}

std::optional<Severity> ParseSeverity(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (Severity s : {Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (SeverityName(s) == upper) return s;
  }
  return std::nullopt;
}

bool IsWorkloadKind(std::string_view kind) {
  return kind == "Pod" || kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
         kind == "ReplicaSet" || kind == "ReplicationController" || kind == "Job" ||
         kind == "CronJob";
}

std::optional<PodTemplate> FindPodTemplate(const Object& object) {
  if (!IsWorkloadKind(object.kind)) return std::nullopt;
  PodTemplate pod;
  const Value* holder = &object.root;
  std::string base;
  if (object.kind == "Pod") {
    // The pod itself.
  } else if (object.kind == "CronJob") {
    holder = object.root.Path({"spec", "jobTemplate", "spec", "template"});
    base = "spec.jobTemplate.spec.template";
  } else {
    holder = object.root.Path({"spec", "template"});
    base = "spec.template";
  }
  if (holder == nullptr || !holder->IsMap()) return std::nullopt;
  const Value* spec = holder->Field("spec");
  if (spec == nullptr || !spec->IsMap()) return std::nullopt;
  const Value* metadata = holder->Field("metadata");
  pod.metadata = metadata != nullptr && metadata->IsMap() ? metadata : nullptr;
  pod.spec = spec;
  pod.metadata_path = internal::Join(base, "metadata");
  pod.spec_path = internal::Join(base, "spec");
  return pod;
}

namespace internal {

const std::vector<CheckDef>& Registry() {
  static const std::vector<CheckDef> kChecks = [] {
    std::vector<CheckDef> checks;
    AddPssChecks(checks);
    AddWorkloadChecks(checks);
    AddRbacChecks(checks);
    AddNetworkChecks(checks);
    AddNamespaceChecks(checks);
    AddCredentialChecks(checks);
    AddApiVersionChecks(checks);
    AddAzureChecks(checks);
    return checks;
  }();
  return kChecks;
}

}  // namespace internal

const std::vector<CheckInfo>& AllChecks() {
  static const std::vector<CheckInfo> kInfos = [] {
    std::vector<CheckInfo> infos;
    for (const CheckDef& def : internal::Registry()) infos.push_back(def.info);
    return infos;
  }();
  return kInfos;
}

namespace {

bool IsAlias(std::string_view name, const CheckInfo& info) {
  for (const std::string& alias : info.aliases) {
    if (alias.size() == name.size() && AsciiLower(alias) == AsciiLower(name)) return true;
  }
  return false;
}

}  // namespace

const CheckInfo* FindCheck(std::string_view id) {
  for (const CheckDef& def : internal::Registry()) {
    if (def.info.id == id) return &def.info;
  }
  for (const CheckDef& def : internal::Registry()) {
    if (IsAlias(id, def.info)) return &def.info;
  }
  return nullptr;
}

const Value* ContainerAtPath(const PodTemplate& pod, std::string_view path) {
  const std::string_view prefix = pod.spec_path;
  if (path.size() <= prefix.size() + 1 || path.substr(0, prefix.size()) != prefix ||
      path[prefix.size()] != '.')
    return nullptr;
  path.remove_prefix(prefix.size() + 1);
  for (std::string_view field : {"containers", "initContainers", "ephemeralContainers"}) {
    if (path.size() <= field.size() + 1 || path.substr(0, field.size()) != field ||
        path[field.size()] != '[')
      continue;
    size_t index = 0;
    const char* begin = path.data() + field.size() + 1;
    auto [end, ec] = std::from_chars(begin, path.data() + path.size(), index);
    if (ec != std::errc() || end == path.data() + path.size() || *end != ']') return nullptr;
    const Value* list = pod.spec->Get(field);
    if (list == nullptr || index >= list->Items().size()) return nullptr;
    return &list->Items()[index];
  }
  return nullptr;
}

int LatestPssMinor() { return 37; }

Result<int> ParsePssVersion(std::string_view text) {
  if (text.empty() || text == "latest") return LatestPssMinor();
  std::string_view t = text;
  if (t.front() == 'v') t.remove_prefix(1);
  if (t.substr(0, 2) != "1.") return Fail("--pss-version ", std::string(text), ": expected v1.N");
  t.remove_prefix(2);
  int minor = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), minor);
  if (ec != std::errc() || ptr != t.data() + t.size() || minor < 0 || minor > 999)
    return Fail("--pss-version ", std::string(text), ": expected v1.N");
  return minor;
}

namespace {

bool PatternSelects(std::string_view pattern, const CheckInfo& info) {
  if (pattern == "all") return true;
  if (pattern == info.id || pattern == info.group || IsAlias(pattern, info)) return true;
  // pss-restricted is the restricted level: every restricted control plus the baseline ones.
  if (pattern == "pss-restricted" && info.group == "pss-baseline") return true;
  if (pattern == "pss" && info.group.rfind("pss-", 0) == 0) return true;
  return pattern.find_first_of("*?") != std::string_view::npos && GlobMatch(pattern, info.id);
}

/// Selection for a run: an optional policy only by its id or the "optional" pattern.
bool SelectsForRun(std::string_view pattern, const CheckInfo& info) {
  if (info.optional) return pattern == info.id || pattern == "optional";
  if (info.bundle && pattern == "all") return false;
  return PatternSelects(pattern, info);
}

/// The checks that run for these ids at this PSS version, with PSA's overrides applied.
std::vector<const CheckDef*> ActiveChecks(const std::set<std::string>& ids, int minor,
                                          Severity min_severity) {
  std::vector<const CheckDef*> out;
  std::set<std::string> active;
  for (const CheckDef& def : internal::Registry()) {
    if (!ids.count(def.info.id) || def.min_minor > minor || def.info.severity < min_severity)
      continue;
    out.push_back(&def);
    active.insert(def.info.id);
  }
  static const std::pair<std::string_view, std::string_view> kOverrides[] = {
      {"pss-restricted-seccomp", "pss-baseline-seccomp"},
      {"pss-restricted-capabilities", "pss-baseline-capabilities"},
      {"pss-restricted-procmount", "pss-baseline-procmount"},
  };
  for (const auto& override_pair : kOverrides) {
    if (!active.count(std::string(override_pair.first))) continue;
    const std::string_view replaced = override_pair.second;
    out.erase(std::remove_if(out.begin(), out.end(),
                             [replaced](const CheckDef* d) { return d->info.id == replaced; }),
              out.end());
  }
  return out;
}

bool AppliesTo(const CheckDef& def, const std::vector<std::string>& kinds, const Object& object,
               bool has_pod) {
  if (def.pod_check) return has_pod;
  for (const std::string& kind : kinds) {
    if (kind == "*" || kind == object.kind) return true;
  }
  return false;
}

std::vector<std::string> ExemptPatterns(const Object& object, const std::string& annotation) {
  std::vector<std::string> out;
  if (annotation.empty()) return out;
  const Value* value = object.root.Path({"metadata", "annotations"});
  if (value == nullptr) return out;
  value = value->Get(annotation);
  if (value == nullptr) return out;
  std::string_view text = value->Str();
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view part = text.substr(start, comma - start);
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.front())))
      part.remove_prefix(1);
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.back())))
      part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    start = comma + 1;
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> SelectChecks(const std::vector<std::string>& patterns) {
  std::vector<std::string> out;
  for (const CheckDef& def : internal::Registry()) {
    bool selected = patterns.empty() && !def.info.optional && !def.info.bundle;
    for (const std::string& p : patterns) selected |= SelectsForRun(p, def.info);
    if (selected) out.push_back(def.info.id);
  }
  for (const std::string& p : patterns) {
    bool any = false;
    for (const CheckDef& def : internal::Registry()) any |= SelectsForRun(p, def.info);
    if (!any) return Fail("--checks: \"", p, "\" matches no check (see `moat k8s checks`)");
  }
  return out;
}

struct CheckRunner::State {
  AssessOptions options;  // owns the parameter values `params` refer to
  int pss_minor = 0;
  std::vector<const CheckDef*> active;
  std::vector<const CheckInfo*> infos;
  std::vector<internal::Parameters> params;           // per active check
  std::vector<std::shared_ptr<const void>> prepared;  // per active check (CheckDef::prepare)
  std::vector<std::vector<std::string>> kinds;        // per active check (object checks)
};

Result<CheckRunner> CheckRunner::Create(const AssessOptions& options) {
  MOAT_ASSIGN_OR_RETURN(std::vector<std::string> ids, SelectChecks(options.checks));
  auto state = std::make_shared<State>();
  state->options = options;
  state->pss_minor = options.pss_minor < 0 ? LatestPssMinor() : options.pss_minor;
  const std::set<std::string> id_set(ids.begin(), ids.end());
  state->active = ActiveChecks(id_set, state->pss_minor, options.min_severity);
  state->params.reserve(state->active.size());
  for (const CheckDef* def : state->active) {
    state->infos.push_back(&def->info);
    state->params.emplace_back(def->info, state->options.parameters);
    std::shared_ptr<const void> prepared;
    if (def->prepare) {
      auto made = def->prepare(state->params.back());
      if (!made.ok()) return made.error().Wrap("check " + def->info.id);
      prepared = std::move(*made);
    }
    state->prepared.push_back(std::move(prepared));
    state->kinds.push_back(def->kinds_parameter.empty()
                               ? def->kinds
                               : state->params.back().List(def->kinds_parameter));
  }
  CheckRunner runner;
  runner.state_ = std::move(state);
  return runner;
}

const std::vector<const CheckInfo*>& CheckRunner::checks() const { return state_->infos; }

int CheckRunner::pss_minor() const { return state_->pss_minor; }

bool CheckRunner::Covers(std::string_view kind) const {
  for (size_t c = 0; c < state_->active.size(); ++c) {
    const std::vector<std::string>& kinds = state_->kinds[c];
    if (state_->active[c]->pod_check ? IsWorkloadKind(kind)
                                     : std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) {
                                         return k == "*" || k == kind;
                                       }) != kinds.end())
      return true;
  }
  return false;
}

ObjectAssessment CheckRunner::Run(Object& object, const RequestInfo* request) const {
  std::vector<Object> input(1);
  std::swap(input[0], object);
  internal::Inventory inventory;
  inventory.objects = &input;
  inventory.Build();
  ObjectAssessment result = Run(input, 0, inventory, request);
  std::swap(input[0], object);
  return result;
}

ObjectAssessment CheckRunner::Run(const std::vector<Object>& objects, size_t index,
                                  const internal::Inventory& inventory,
                                  const RequestInfo* request) const {
  const State& state = *state_;
  const AssessOptions& options = state.options;
  ObjectAssessment out;
  const Object& object = objects[index];
  const std::string ns = object.kind == "Namespace" ? object.name : object.EffectiveNamespace();
  const bool excluded =
      !ns.empty() && std::find(options.exclude_namespaces.begin(), options.exclude_namespaces.end(),
                               ns) != options.exclude_namespaces.end();
  out.in_excluded_namespace = excluded;
  const std::optional<PodTemplate> pod = FindPodTemplate(object);
  const std::vector<std::string> exempt = ExemptPatterns(object, options.exempt_annotation);
  std::vector<Finding> scratch;
  for (size_t c = 0; c < state.active.size(); ++c) {
    const CheckDef& def = *state.active[c];
    if (excluded && !def.info.sees_excluded_namespaces) continue;
    if (!AppliesTo(def, state.kinds[c], object, pod.has_value())) continue;
    out.evaluated.push_back(static_cast<uint16_t>(c));
    scratch.clear();
    internal::Emitter emitter(index, &def.info, scratch);
    internal::CheckContext context{object,          pod ? &*pod : nullptr, inventory,
                                   state.params[c], state.pss_minor,       state.prepared[c].get(),
                                   request};
    def.run(context, emitter);
    if (scratch.empty()) {
      out.outcomes.push_back(CheckOutcome::kPassed);
      continue;
    }
    bool exempted = false;
    for (const std::string& p : exempt) exempted |= PatternSelects(p, def.info);
    if (exempted) {
      out.outcomes.push_back(CheckOutcome::kExempt);
      continue;
    }
    out.outcomes.push_back(CheckOutcome::kFailed);
    for (Finding& f : scratch) out.findings.push_back(std::move(f));
  }
  std::stable_sort(out.findings.begin(), out.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.line < b.line; });
  if (excluded && out.findings.empty()) {
    // Only a finding of a check about the excluded namespace itself brings the object in.
    out.status = ObjectStatus::kExcludedNamespace;
  } else if (out.evaluated.empty()) {
    out.status = ObjectStatus::kSkippedKind;
  }
  return out;
}

Result<Assessment> Assess(LoadResult input, const AssessOptions& options) {
  MOAT_ASSIGN_OR_RETURN(CheckRunner runner, CheckRunner::Create(options));
  Assessment out;
  out.pss_minor = runner.pss_minor();
  out.objects = std::move(input.objects);
  out.errors = std::move(input.errors);
  out.warnings = std::move(input.warnings);
  out.files = input.files;
  for (const CheckInfo* info : runner.checks()) out.checks.push_back({info, 0, 0, 0});

  internal::Inventory inventory;
  inventory.objects = &out.objects;
  inventory.Build();
  out.status.assign(out.objects.size(), ObjectStatus::kAssessed);
  out.evaluated.resize(out.objects.size());
  for (size_t i = 0; i < out.objects.size(); ++i) {
    ObjectAssessment result = runner.Run(out.objects, i, inventory);
    for (size_t e = 0; e < result.evaluated.size(); ++e) {
      CheckSummary& summary = out.checks[result.evaluated[e]];
      switch (result.outcomes[e]) {
        case CheckOutcome::kPassed:
          if (!result.in_excluded_namespace) ++summary.passed;
          break;
        case CheckOutcome::kFailed:
          ++summary.failed;
          break;
        case CheckOutcome::kExempt:
          ++summary.exempt;
          break;
      }
    }
    // Objects are assessed in order and each one's findings come sorted by line, so the whole
    // list is sorted (by object, then line) without moving millions of findings through one sort.
    for (Finding& f : result.findings) out.findings.push_back(std::move(f));
    out.status[i] = result.status;
    if (result.status == ObjectStatus::kExcludedNamespace) {
      ++out.excluded;
    } else if (result.status == ObjectStatus::kSkippedKind) {
      ++out.skipped;
    } else {
      out.evaluated[i] = std::move(result.evaluated);
    }
  }

  SummarizeNamespaces(out);
  return out;
}

void SummarizeNamespaces(Assessment& out) {
  std::map<std::string, NamespaceSummary> namespaces;
  std::vector<bool> failed(out.objects.size(), false);
  for (const Finding& f : out.findings) failed[f.object] = true;
  for (size_t i = 0; i < out.objects.size(); ++i) {
    if (out.status[i] != ObjectStatus::kAssessed) continue;
    const Object& object = out.objects[i];
    const std::string ns = object.kind == "Namespace" ? object.name : object.EffectiveNamespace();
    NamespaceSummary& s = namespaces[ns];
    s.name = ns;
    ++s.objects;
    if (failed[i]) ++s.failed_objects;
  }
  for (const Finding& f : out.findings) {
    const Object& object = out.objects[f.object];
    const std::string ns = object.kind == "Namespace" ? object.name : object.EffectiveNamespace();
    NamespaceSummary& s = namespaces[ns];
    ++s.findings;
    ++s.by_severity[f.check->severity];
  }
  for (auto& [name, summary] : namespaces) out.namespaces.push_back(std::move(summary));
}

std::vector<Finding> EvaluatePodSecurity(const Object& object, std::string_view level, int minor) {
  std::vector<Finding> findings;
  const std::optional<PodTemplate> pod = FindPodTemplate(object);
  if (!pod) return findings;
  std::set<std::string> ids;
  for (const CheckDef& def : internal::Registry()) {
    if (def.info.group == "pss-baseline" ||
        (level == "restricted" && def.info.group == "pss-restricted"))
      ids.insert(def.info.id);
  }
  std::vector<Object> objects;  // the inventory is not used by PSS checks
  internal::Inventory inventory;
  inventory.objects = &objects;
  const ParameterValues no_values;
  for (const CheckDef* def :
       ActiveChecks(ids, minor < 0 ? LatestPssMinor() : minor, Severity::kLow)) {
    internal::Parameters params(def->info, no_values);
    internal::Emitter emitter(0, &def->info, findings);
    internal::CheckContext context{
        object, &*pod, inventory, params, minor < 0 ? LatestPssMinor() : minor, nullptr, nullptr};
    def->run(context, emitter);
  }
  return findings;
}

}  // namespace moat::k8s
