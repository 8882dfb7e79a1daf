// The webhook's YAML configuration, read with the k8s loader so every error names file:line.

#include "admission/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "admission/mutation.h"
#include "admission/vap.h"
#include "core/bytes.h"
#include "core/text.h"
#include "k8s/loader.h"

namespace moat::admission {
namespace {

using k8s::Value;

std::string Where(const std::string& name, const Value& v) {
  return name + ":" + std::to_string(v.line);
}

Result<LabelSelector> ParseSelector(const std::string& name, const Value& v) {
  LabelSelector selector;
  if (v.IsNull()) return selector;
  if (!v.IsMap()) return Fail(Where(name, v), ": ", v.key, " must be a map");
  for (const Value& entry : v.Entries()) {
    if (entry.key == "matchLabels") {
      if (!entry.IsMap() && !entry.IsNull())
        return Fail(Where(name, entry), ": matchLabels must be a map");
      for (const Value& label : entry.Entries()) {
        if (!label.IsScalar())
          return Fail(Where(name, label), ": matchLabels values must be strings");
        selector.match_labels.emplace_back(label.key, label.text);
      }
    } else if (entry.key == "matchExpressions") {
      if (!entry.IsSequence() && !entry.IsNull())
        return Fail(Where(name, entry), ": matchExpressions must be a list");
      for (const Value& item : entry.Items()) {
        LabelSelector::Requirement requirement;
        const Value* key = item.Field("key");
        const Value* op = item.Field("operator");
        if (key == nullptr || !key->IsScalar())
          return Fail(Where(name, item), ": a matchExpressions item needs a key");
        requirement.key = key->text;
        const std::string op_text = op != nullptr ? op->text : "";
        if (op_text == "In") {
          requirement.op = LabelSelector::Operator::kIn;
        } else if (op_text == "NotIn") {
          requirement.op = LabelSelector::Operator::kNotIn;
        } else if (op_text == "Exists") {
          requirement.op = LabelSelector::Operator::kExists;
        } else if (op_text == "DoesNotExist") {
          requirement.op = LabelSelector::Operator::kDoesNotExist;
        } else {
          return Fail(Where(name, op != nullptr ? *op : item), ": operator \"", op_text,
                      "\" is not In, NotIn, Exists or DoesNotExist");
        }
        if (const Value* values = item.Field("values")) {
          MOAT_ASSIGN_OR_RETURN(requirement.values, k8s::ConfigStringList(name, *values));
        }
        const bool takes_values = requirement.op == LabelSelector::Operator::kIn ||
                                  requirement.op == LabelSelector::Operator::kNotIn;
        if (takes_values == requirement.values.empty())
          return Fail(Where(name, item), ": operator ", op_text,
                      takes_values ? " needs values" : " takes no values");
        selector.match_expressions.push_back(std::move(requirement));
      }
    } else {
      return Fail(Where(name, entry), ": unknown key \"", entry.key, "\" in ", v.key,
                  " (expected matchLabels, matchExpressions)");
    }
  }
  return selector;
}

/// "2s", "500ms", "1500" (milliseconds).
Result<std::chrono::milliseconds> ParseDeadline(const std::string& name, const Value& v) {
  std::string_view text = v.Str();
  int64_t scale = 1;
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    text.remove_suffix(2);
  } else if (!text.empty() && text.back() == 's') {
    text.remove_suffix(1);
    scale = 1000;
  }
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n <= 0 || n > 30'000 / scale)
    return Fail(Where(name, v), ": deadline \"", v.text,
                "\" must be a duration from 1ms to 30s (\"2s\", \"500ms\")");
  return std::chrono::milliseconds(n * scale);
}

/// `azure: ContainerEnforceProbes` (or a list): definitions of the Azure Policy bundle by file
/// name (with or without .json), display name or check id, added to the rule's checks.
Result<void> AddAzurePolicies(const std::string& name, const Value& entry, PolicyRule& rule) {
  MOAT_ASSIGN_OR_RETURN(std::vector<std::string> names, k8s::ConfigStringList(name, entry));
  for (const std::string& definition : names) {
    const k8s::CheckInfo* info = k8s::FindCheck(definition);
    if (info == nullptr || info->group != "azure")
      return Fail(Where(name, entry), ": \"", definition,
                  "\" is not a definition of the Azure Policy bundle (docs/admission.md)");
    rule.checks.push_back(info->id);
  }
  return Ok();
}

Result<PolicyRule> ParseRule(const std::string& name, const Value& item) {
  if (!item.IsMap()) return Fail(Where(name, item), ": each policy must be a map");
  PolicyRule rule;
  rule.origin = Where(name, item);
  bool has_action = false;
  const Value* rule_parameters = nullptr;  // resolved once the rule's checks are known
  for (const Value& entry : item.Entries()) {
    MOAT_ASSIGN_OR_RETURN(const bool scope_key, ParseScopeEntry(name, entry, rule));
    if (scope_key) continue;
    if (entry.key == "checks") {
      MOAT_ASSIGN_OR_RETURN(rule.checks, k8s::ConfigStringList(name, entry));
    } else if (entry.key == "action") {
      auto action = ParseAction(entry.Str());
      if (!action)
        return Fail(Where(name, entry), ": action \"", entry.text,
                    "\" is not deny, warn, audit or disabled");
      rule.action = *action;
      has_action = true;
    } else if (entry.key == "exemptImages") {
      MOAT_ASSIGN_OR_RETURN(rule.exempt_images, k8s::ConfigStringList(name, entry));
    } else if (entry.key == "exemptContainers") {
      MOAT_ASSIGN_OR_RETURN(rule.exempt_containers, k8s::ConfigStringList(name, entry));
    } else if (entry.key == "azure") {
      MOAT_TRY(AddAzurePolicies(name, entry, rule));
    } else if (entry.key == "parameters") {
      rule_parameters = &entry;
    } else {
      return Fail(Where(name, entry), ": unknown key \"", entry.key,
                  "\" in a policy (expected checks, azure, action, parameters, namespaces, "
                  "excludedNamespaces, namespaceSelector, objectSelector, exemptImages, "
                  "exemptContainers)");
    }
  }
  if (rule.checks.empty()) return Fail(rule.origin, ": a policy needs checks");
  if (rule_parameters != nullptr) {
    auto ids = k8s::SelectChecks(WithoutImagePolicies(rule.checks));
    if (!ids.ok()) return ids.error().Wrap(rule.origin);
    MOAT_TRY(k8s::ParseCheckParameters(*rule_parameters, *ids, name, rule.parameters));
  }
  if (!has_action) return Fail(rule.origin, ": a policy needs an action (deny, warn, audit)");
  // The image policies' names (image_gate.h) stand beside check ids; the rest must select checks.
  if (const auto k8s_checks = WithoutImagePolicies(rule.checks); !k8s_checks.empty()) {
    auto selected = k8s::SelectChecks(k8s_checks);
    if (!selected.ok()) return selected.error().Wrap(rule.origin);
  }
  return rule;
}

}  // namespace

Result<LabelSelector> ParseLabelSelector(const std::string& name, const Value& v) {
  return ParseSelector(name, v);
}

bool AnyGlob(const std::vector<std::string>& patterns, std::string_view text) {
  for (const std::string& p : patterns) {
    if (GlobMatch(p, text)) return true;
  }
  return false;
}

Result<bool> ParseScopeEntry(const std::string& name, const Value& entry, RuleScope& scope) {
  if (entry.key == "namespaces") {
    MOAT_ASSIGN_OR_RETURN(scope.namespaces, k8s::ConfigStringList(name, entry));
  } else if (entry.key == "excludedNamespaces") {
    MOAT_ASSIGN_OR_RETURN(scope.excluded_namespaces, k8s::ConfigStringList(name, entry));
  } else if (entry.key == "namespaceSelector") {
    MOAT_ASSIGN_OR_RETURN(scope.namespace_selector, ParseSelector(name, entry));
  } else if (entry.key == "objectSelector") {
    MOAT_ASSIGN_OR_RETURN(scope.object_selector, ParseSelector(name, entry));
  } else {
    return false;
  }
  return true;
}

bool RuleScope::Matches(const k8s::Object& object, const NamespaceCache* namespace_cache) const {
  const std::string ns = object.kind == "Namespace" ? object.name : object.EffectiveNamespace();
  if (!ns.empty()) {
    if (!namespaces.empty() && !AnyGlob(namespaces, ns)) return false;
    if (AnyGlob(excluded_namespaces, ns)) return false;
    if (namespace_selector) {
      const k8s::Value labels = NamespaceLabelsFor(namespace_cache, ns, &object);
      if (!namespace_selector->Matches(&labels)) return false;
    }
  }
  if (object_selector && !object_selector->Matches(object.root.Path({"metadata", "labels"})))
    return false;
  return true;
}

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kDisabled:
      return "disabled";
    case Action::kAudit:
      return "audit";
    case Action::kWarn:
      return "warn";
    case Action::kDeny:
      return "deny";
  }
  return "unknown";
}

std::optional<Action> ParseAction(std::string_view text) {
  const std::string lower = AsciiLower(text);
  if (lower == "deny" || lower == "enforce") return Action::kDeny;
  if (lower == "warn") return Action::kWarn;
  if (lower == "audit" || lower == "dryrun") return Action::kAudit;
  if (lower == "disabled") return Action::kDisabled;
  return std::nullopt;
}

bool LabelSelector::Matches(const k8s::Value* labels) const {
  auto label = [labels](const std::string& key) -> const k8s::Value* {
    return labels != nullptr ? labels->Get(key) : nullptr;
  };
  for (const auto& [key, value] : match_labels) {
    const k8s::Value* v = label(key);
    if (v == nullptr || v->Str() != value) return false;
  }
  for (const Requirement& r : match_expressions) {
    const k8s::Value* v = label(r.key);
    const bool in =
        v != nullptr && std::find(r.values.begin(), r.values.end(), v->Str()) != r.values.end();
    switch (r.op) {
      case Operator::kIn:
        if (!in) return false;
        break;
      case Operator::kNotIn:
        if (in) return false;
        break;
      case Operator::kExists:
        if (v == nullptr) return false;
        break;
      case Operator::kDoesNotExist:
        if (v != nullptr) return false;
        break;
    }
  }
  return true;
}

std::string OwnNamespace() {
  if (const char* env = std::getenv("POD_NAMESPACE"); env != nullptr && *env != '\0') return env;
  auto file = ReadFileToString("/var/run/secrets/kubernetes.io/serviceaccount/namespace", 256);
  if (file.ok() && !TrimSpace(*file).empty()) return std::string(TrimSpace(*file));
  return "moat-admission";
}

Result<AdmissionConfig> ParseAdmissionConfig(std::string_view text, const std::string& name) {
  MOAT_ASSIGN_OR_RETURN(Value root, k8s::ParseYamlDocument(text, name));
  AdmissionConfig config;
  if (root.IsNull()) return config;
  if (!root.IsMap()) return Fail(name, ": the config must be a map");
  for (const Value& entry : root.Entries()) {
    if (entry.key == "policies") {
      if (!entry.IsSequence() && !entry.IsNull())
        return Fail(Where(name, entry), ": policies must be a list");
      for (const Value& item : entry.Items()) {
        MOAT_ASSIGN_OR_RETURN(PolicyRule rule, ParseRule(name, item));
        config.rules.push_back(std::move(rule));
      }
    } else if (entry.key == "mutations") {
      if (!entry.IsSequence() && !entry.IsNull())
        return Fail(Where(name, entry), ": mutations must be a list");
      for (const Value& item : entry.Items()) {
        MOAT_ASSIGN_OR_RETURN(MutationRule rule, ParseMutationRule(name, item));
        config.mutations.push_back(std::move(rule));
      }
    } else if (entry.key == "parameters") {
      MOAT_TRY(k8s::ParseParameterValues(entry, name, config.parameters));
    } else if (entry.key == "excludedNamespaces") {
      MOAT_ASSIGN_OR_RETURN(config.excluded_namespaces, k8s::ConfigStringList(name, entry));
    } else if (entry.key == "exemptAnnotation") {
      if (!entry.IsScalar()) return Fail(Where(name, entry), ": exemptAnnotation must be a string");
      config.exempt_annotation = entry.text;
    } else if (entry.key == "pssVersion") {
      auto minor = k8s::ParsePssVersion(entry.text);
      if (!minor.ok()) return minor.error().Wrap(Where(name, entry));
      config.pss_minor = *minor;
    } else if (entry.key == "deadline") {
      MOAT_ASSIGN_OR_RETURN(config.deadline, ParseDeadline(name, entry));
    } else if (entry.key == "failurePolicy") {
      if (entry.text != "Fail" && entry.text != "Ignore")
        return Fail(Where(name, entry), ": failurePolicy \"", entry.text,
                    "\" is not Fail or Ignore");
      config.fail_closed = entry.text == "Fail";
    } else if (entry.key == "imageGate") {
      MOAT_TRY(ParseImageGateSettings(name, entry, config.image_gate));
    } else if (entry.key == "signatures") {
      MOAT_TRY(ParseSignatureSettings(name, entry, config.signatures));
    } else if (entry.key == "registries") {
      MOAT_TRY(ParseRegistryAccess(name, entry, config.registries));
    } else {
      return Fail(
          Where(name, entry), ": unknown key \"", entry.key,
          "\" (expected policies, mutations, parameters, excludedNamespaces, exemptAnnotation, "
          "pssVersion, deadline, failurePolicy, imageGate, signatures, registries)");
    }
  }
  return config;
}

Result<AdmissionConfig> LoadAdmissionConfig(const std::string& path) {
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 16 << 20));
  return ParseAdmissionConfig(text, path);
}

Result<void> AddFlagRule(AdmissionConfig& config, Action action,
                         const std::vector<std::string>& patterns, std::string origin) {
  if (patterns.empty()) return Ok();
  if (const auto k8s_checks = WithoutImagePolicies(patterns); !k8s_checks.empty()) {
    auto selected = k8s::SelectChecks(k8s_checks);
    if (!selected.ok()) return selected.error().Wrap(origin);
  }
  PolicyRule rule;
  rule.checks = patterns;
  rule.action = action;
  rule.origin = std::move(origin);
  config.rules.push_back(std::move(rule));
  return Ok();
}

}  // namespace moat::admission
