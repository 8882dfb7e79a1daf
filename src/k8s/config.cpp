// The --config file: check parameters, excluded namespaces, exemption annotation, selection.
//
//   checks: [pss-restricted, "wl-*"]
//   pssVersion: v1.30
//   k8sVersion: v1.32            # target of the api-* checks
//   severity: MEDIUM
//   excludeNamespaces: [kube-system, monitoring]
//   exemptAnnotation: moat.dev/exempt
//   parameters:
//     wl-cpu-limits: {maxCpu: "2"}
//     wl-allowed-registries: {allowedImages: '^registry\.example\.com/'}

#include <string>

#include "core/bytes.h"
#include "core/json_writer.h"
#include "k8s/checks.h"
#include "k8s/loader.h"

namespace moat::k8s {
namespace {

std::string Where(const std::string& name, const Value& v) {
  return name + ":" + std::to_string(v.line);
}

/// A config value as JSON text (how a structured parameter such as Azure's
/// `allowedHostPaths: {paths: [...]}` reaches its check, which parses it once).
void AppendJson(std::string& out, const Value& v) {
  switch (v.type) {
    case Value::Type::kNull:
      out += "null";
      return;
    case Value::Type::kBool:
    case Value::Type::kInt:
    case Value::Type::kFloat:
      out += v.text;
      return;
    case Value::Type::kString:
      AppendJsonString(out, v.text);
      return;
    case Value::Type::kSequence:
    case Value::Type::kMap: {
      const bool map = v.IsMap();
      out += map ? '{' : '[';
      bool first = true;
      for (const Value& child : v.children) {
        if (!first) out += ',';
        first = false;
        if (map) {
          AppendJsonString(out, child.key);
          out += ':';
        }
        AppendJson(out, child);
      }
      out += map ? '}' : ']';
      return;
    }
  }
}

bool Structured(const Value& v) {
  if (v.IsMap()) return true;
  for (const Value& item : v.Items()) {
    if (!item.IsScalar()) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<std::string>> ConfigStringList(const std::string& name, const Value& v) {
  std::vector<std::string> out;
  if (v.IsNull()) return out;
  if (v.IsScalar()) {
    out.push_back(v.text);
    return out;
  }
  if (!v.IsSequence())
    return Fail(Where(name, v), ": ", v.key, " must be a string or a list of strings");
  for (const Value& item : v.Items()) {
    if (!item.IsScalar() || item.IsNull())
      return Fail(Where(name, item), ": ", v.key, " items must be strings");
    out.push_back(item.text);
  }
  return out;
}

namespace {

/// One parameter's value: a string or list of strings, or JSON text for a structured value.
Result<std::vector<std::string>> ParameterValue(const std::string& name, const Value& param) {
  if (!Structured(param)) return ConfigStringList(name, param);
  std::vector<std::string> values(1);
  AppendJson(values.front(), param);
  return values;
}

}  // namespace

Result<void> ParseCheckParameters(const Value& parameters, const std::vector<std::string>& checks,
                                  const std::string& name, ParameterValues& out) {
  if (!parameters.IsMap() && !parameters.IsNull())
    return Fail(Where(name, parameters), ": parameters must be a map");
  for (const Value& param : parameters.Entries()) {
    bool known = false;
    for (const std::string& id : checks) {
      const CheckInfo* info = FindCheck(id);
      if (info == nullptr) continue;
      for (const Parameter& p : info->parameters) {
        if (p.name != param.key) continue;
        known = true;
        MOAT_ASSIGN_OR_RETURN(out[info->id][param.key], ParameterValue(name, param));
      }
    }
    if (!known)
      return Fail(Where(name, param), ": no check of this policy has a parameter \"", param.key,
                  "\"");
  }
  return Ok();
}

Result<void> ParseParameterValues(const Value& parameters, const std::string& name,
                                  ParameterValues& out) {
  if (!parameters.IsMap() && !parameters.IsNull())
    return Fail(Where(name, parameters), ": parameters must be a map");
  for (const Value& check : parameters.Entries()) {
    const CheckInfo* info = FindCheck(check.key);  // an id or an alias (Azure file name)
    if (info == nullptr) return Fail(Where(name, check), ": unknown check \"", check.key, "\"");
    if (!check.IsMap())
      return Fail(Where(name, check), ": parameters of ", check.key, " must be a map");
    for (const Value& param : check.Entries()) {
      bool known = false;
      for (const Parameter& p : info->parameters) known |= p.name == param.key;
      if (!known)
        return Fail(Where(name, param), ": check ", check.key, " has no parameter \"", param.key,
                    "\"");
      MOAT_ASSIGN_OR_RETURN(out[info->id][param.key], ParameterValue(name, param));
    }
  }
  return Ok();
}

Result<void> ParseConfig(std::string_view text, const std::string& name, AssessOptions& options) {
  MOAT_ASSIGN_OR_RETURN(Value root, ParseYamlDocument(text, name));
  if (root.IsNull()) return Ok();
  if (!root.IsMap()) return Fail(name, ": the config must be a map");
  for (const Value& entry : root.Entries()) {
    if (entry.key == "checks") {
      MOAT_ASSIGN_OR_RETURN(options.checks, ConfigStringList(name, entry));
    } else if (entry.key == "excludeNamespaces") {
      MOAT_ASSIGN_OR_RETURN(options.exclude_namespaces, ConfigStringList(name, entry));
    } else if (entry.key == "exemptAnnotation") {
      if (!entry.IsScalar()) return Fail(Where(name, entry), ": exemptAnnotation must be a string");
      options.exempt_annotation = entry.text;
    } else if (entry.key == "pssVersion") {
      auto minor = ParsePssVersion(entry.text);
      if (!minor.ok()) return minor.error().Wrap(Where(name, entry));
      options.pss_minor = *minor;
    } else if (entry.key == "k8sVersion") {
      auto set = SetTargetKubernetesVersion(entry.text, options);
      if (!set.ok()) return set.error().Wrap(Where(name, entry));
    } else if (entry.key == "severity") {
      auto severity = ParseSeverity(entry.text);
      if (!severity)
        return Fail(Where(name, entry), ": severity must be LOW, MEDIUM, HIGH or CRITICAL");
      options.min_severity = *severity;
    } else if (entry.key == "parameters") {
      MOAT_TRY(ParseParameterValues(entry, name, options.parameters));
    } else {
      return Fail(Where(name, entry), ": unknown key \"", entry.key,
                  "\" (expected checks, pssVersion, k8sVersion, severity, excludeNamespaces, "
                  "exemptAnnotation, parameters)");
    }
  }
  return Ok();
}

Result<void> LoadConfig(const std::string& path, AssessOptions& options) {
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 16 << 20));
  return ParseConfig(text, path, options);
}

}  // namespace moat::k8s
