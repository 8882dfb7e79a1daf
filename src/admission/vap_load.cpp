// Reading ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding and param objects, with
// the API server's validation rules, and compiling every expression once.

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "admission/vap_internal.h"
#include "core/log.h"

namespace moat::admission {
namespace {

using k8s::Value;
using vap::Binding;
using vap::Definition;
using vap::Expression;
using vap::MatchResources;
using vap::ResourceRule;

constexpr std::string_view kGroup = "admissionregistration.k8s.io/";

/// Errors about one object name its file, the line of the offending field, the object and the
/// field path: `policies/a.yaml:14: ValidatingAdmissionPolicy "demo": spec.validations[0]...`.
class ObjectReader {
 public:
  explicit ObjectReader(const k8s::Object& object) : object_(object) {}

  Error At(const Value& v, const std::string& field, std::string_view message) const {
    return Error{object_.file + ":" + std::to_string(v.line != 0 ? v.line : 1) + ": " +
                 object_.kind + " \"" + object_.name + "\": " + field + ": " +
                 std::string(message)};
  }

  Result<std::string> String(const Value& v, const std::string& field) const {
    if (v.IsNull()) return std::string();
    if (!v.IsScalar()) return At(v, field, "must be a string, not a " + std::string(v.TypeName()));
    return v.text;
  }

  Result<std::vector<std::string>> Strings(const Value& v, const std::string& field) const {
    std::vector<std::string> out;
    if (v.IsNull()) return out;
    if (!v.IsSequence()) return At(v, field, "must be a list of strings");
    for (size_t i = 0; i < v.Items().size(); ++i) {
      const Value& item = v.Items()[i];
      if (!item.IsScalar() || item.IsNull())
        return At(item, field + "[" + std::to_string(i) + "]", "must be a string");
      out.push_back(item.text);
    }
    return out;
  }

  /// Fails on a key that is not in `known` (kubectl's strict field validation: a typo must not
  /// silently widen or disable a policy).
  Result<void> KnownKeys(const Value& map, const std::string& field,
                         std::initializer_list<std::string_view> known) const {
    if (!map.IsMap()) return At(map, field, "must be a map");
    for (const Value& entry : map.Entries()) {
      if (std::find(known.begin(), known.end(), entry.key) == known.end()) {
        std::string list;
        for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        return At(entry, field.empty() ? entry.key : field + "." + entry.key,
                  "unknown field (expected " + list + ")");
      }
    }
    return Ok();
  }

  Result<LabelSelector> Selector(const Value& v, const std::string& field) const {
    auto selector = ParseLabelSelector(object_.file, v);
    if (!selector.ok()) return At(v, field, selector.error().message);
    return selector;
  }

  const k8s::Object& object() const { return object_; }

 private:
  const k8s::Object& object_;
};

bool HasLineBreak(std::string_view text) { return text.find('\n') != std::string_view::npos; }

/// A CEL identifier (variable names become `variables.<name>`).
bool IsCelIdentifier(std::string_view name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

/// A label-value-like name: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 characters
/// (the name part of a qualified name: matchConditions names, audit annotation keys).
bool IsQualifiedNamePart(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

Result<ResourceRule> ReadRule(const ObjectReader& r, const Value& v, const std::string& field) {
  MOAT_TRY(r.KnownKeys(
      v, field, {"operations", "apiGroups", "apiVersions", "resources", "resourceNames", "scope"}));
  ResourceRule rule;
  if (const Value* f = v.Get("operations")) {
    MOAT_ASSIGN_OR_RETURN(rule.operations, r.Strings(*f, field + ".operations"));
    for (const std::string& op : rule.operations) {
      if (op != "*" && op != "CREATE" && op != "UPDATE" && op != "DELETE" && op != "CONNECT")
        return r.At(*f, field + ".operations",
                    "\"" + op + "\" is not CREATE, UPDATE, DELETE, CONNECT or *");
    }
    if (rule.operations.size() > 1 &&
        std::find(rule.operations.begin(), rule.operations.end(), "*") != rule.operations.end())
      return r.At(*f, field + ".operations", "if '*' is present, it must be the only operation");
  }
  if (const Value* f = v.Get("apiGroups")) {
    MOAT_ASSIGN_OR_RETURN(rule.api_groups, r.Strings(*f, field + ".apiGroups"));
  }
  if (const Value* f = v.Get("apiVersions")) {
    MOAT_ASSIGN_OR_RETURN(rule.api_versions, r.Strings(*f, field + ".apiVersions"));
  }
  if (const Value* f = v.Get("resources")) {
    MOAT_ASSIGN_OR_RETURN(rule.resources, r.Strings(*f, field + ".resources"));
    for (const std::string& resource : rule.resources) {
      if (resource.empty() || std::count(resource.begin(), resource.end(), '/') > 1)
        return r.At(*f, field + ".resources",
                    "\"" + resource + "\" is not a resource, resource/subresource or *");
    }
  }
  if (const Value* f = v.Get("resourceNames")) {
    MOAT_ASSIGN_OR_RETURN(rule.resource_names, r.Strings(*f, field + ".resourceNames"));
  }
  if (const Value* f = v.Get("scope"); f != nullptr && !f->IsNull()) {
    if (f->text == "*") {
      rule.scope = ResourceRule::Scope::kAll;
    } else if (f->text == "Cluster") {
      rule.scope = ResourceRule::Scope::kCluster;
    } else if (f->text == "Namespaced") {
      rule.scope = ResourceRule::Scope::kNamespaced;
    } else {
      return r.At(*f, field + ".scope", "\"" + f->text + "\" is not Cluster, Namespaced or *");
    }
  }
  return rule;
}

Result<MatchResources> ReadMatch(const ObjectReader& r, const Value& v, const std::string& field,
                                 bool rules_required) {
  MatchResources match;
  if (v.IsNull()) {
    if (rules_required) return r.At(v, field, "required (with resourceRules)");
    return match;
  }
  MOAT_TRY(r.KnownKeys(v, field,
                       {"namespaceSelector", "objectSelector", "resourceRules",
                        "excludeResourceRules", "matchPolicy"}));
  match.present = true;
  if (const Value* f = v.Get("namespaceSelector")) {
    MOAT_ASSIGN_OR_RETURN(match.namespace_selector, r.Selector(*f, field + ".namespaceSelector"));
  }
  if (const Value* f = v.Get("objectSelector")) {
    MOAT_ASSIGN_OR_RETURN(match.object_selector, r.Selector(*f, field + ".objectSelector"));
  }
  for (auto [key, out] : {std::pair{"resourceRules", &match.resource_rules},
                          std::pair{"excludeResourceRules", &match.exclude_resource_rules}}) {
    const Value* rules = v.Get(key);
    if (rules == nullptr || rules->IsNull()) continue;
    if (!rules->IsSequence()) return r.At(*rules, field + "." + key, "must be a list");
    for (size_t i = 0; i < rules->Items().size(); ++i) {
      MOAT_ASSIGN_OR_RETURN(
          ResourceRule rule,
          ReadRule(r, rules->Items()[i], field + "." + key + "[" + std::to_string(i) + "]"));
      out->push_back(std::move(rule));
    }
  }
  if (rules_required && match.resource_rules.empty())
    return r.At(v, field + ".resourceRules", "required: the resources the policy looks at");
  if (const Value* f = v.Get("matchPolicy"); f != nullptr && !f->IsNull()) {
    if (f->text != "Equivalent" && f->text != "Exact")
      return r.At(*f, field + ".matchPolicy", "\"" + f->text + "\" is not Equivalent or Exact");
    match.equivalent = f->text == "Equivalent";
  }
  return match;
}

class PolicyCompiler {
 public:
  PolicyCompiler(const ObjectReader& reader, std::vector<std::string> variables)
      : reader_(reader), variables_(std::move(variables)) {}

  Result<Expression> Compile(const Value& v, const std::string& field) {
    MOAT_ASSIGN_OR_RETURN(std::string text, reader_.String(v, field));
    if (text.empty()) return reader_.At(v, field, "required");
    cel::CompileOptions options;
    options.variables = variables_;
    auto program = cel::Compile(text, options);
    if (!program.ok()) {
      std::string message = program.error().message;
      if (message.find("undeclared reference to 'authorizer'") != std::string::npos) {
        message +=
            " (Moat's webhook has no access to the API server's authorizer: policies that call "
            "authorizer checks cannot run here)";
      }
      return reader_.At(v, field, message);
    }
    return Expression{std::move(*program), field};
  }

  /// Declares `variables.<name>` for the expressions compiled after.
  void AddVariable(const std::string& name) { variables_.push_back("variables." + name); }

 private:
  const ObjectReader& reader_;
  std::vector<std::string> variables_;
};

/// The keys of a list of named expressions: spec.variables (name, expression), ...
struct NamedList {
  const char* list;
  const char* name;
  const char* expression;
};

/// Reads a list of named expressions (variables, matchConditions, auditAnnotations): each name
/// valid and unique, each expression compiled, handed to `add` in order (a variable is declared
/// before the next one compiles). `max` bounds the length (0 = none).
Result<void> ReadNamedExpressions(const ObjectReader& r, PolicyCompiler& compiler,
                                  const Value& spec, const NamedList& keys,
                                  bool (*valid)(std::string_view), std::string_view invalid,
                                  size_t max,
                                  const std::function<void(std::string, Expression)>& add) {
  const Value* list = spec.Field(keys.list);
  if (list == nullptr) return Ok();
  const std::string list_field = std::string("spec.") + keys.list;
  if (!list->IsSequence()) return r.At(*list, list_field, "must be a list");
  if (max > 0 && list->Items().size() > max)
    return r.At(*list, list_field, "at most " + std::to_string(max) + " entries");
  std::set<std::string> names;
  for (size_t i = 0; i < list->Items().size(); ++i) {
    const Value& item = list->Items()[i];
    const std::string field = list_field + "[" + std::to_string(i) + "]";
    MOAT_TRY(r.KnownKeys(item, field, {keys.name, keys.expression}));
    const Value* name = item.Get(keys.name);
    const Value* expression = item.Get(keys.expression);
    const std::string text = name != nullptr ? name->text : "";
    const std::string name_field = field + "." + keys.name;
    if (!valid(text))
      return r.At(name != nullptr ? *name : item, name_field,
                  "\"" + text + "\" " + std::string(invalid));
    if (!names.insert(text).second)
      return r.At(*name, name_field, "duplicate " + std::string(keys.name) + " \"" + text + "\"");
    const std::string expression_field = field + "." + keys.expression;
    if (expression == nullptr) return r.At(item, expression_field, "required");
    MOAT_ASSIGN_OR_RETURN(Expression compiled, compiler.Compile(*expression, expression_field));
    add(text, std::move(compiled));
  }
  return Ok();
}

int ReasonCode(std::string_view reason) {
  if (reason == "Unauthorized") return 401;
  if (reason == "Forbidden") return 403;
  if (reason == "Invalid") return 422;
  if (reason == "RequestEntityTooLarge") return 413;
  return 0;
}

Result<void> CheckApiVersion(const ObjectReader& r) {
  const std::string& api_version = r.object().api_version;
  if (api_version == std::string(kGroup) + "v1" || api_version == std::string(kGroup) + "v1beta1" ||
      api_version == std::string(kGroup) + "v1alpha1")
    return Ok();
  return r.At(r.object().root, "apiVersion",
              "\"" + api_version + "\" is not " + std::string(kGroup) + "v1 or v1beta1");
}

/// The checks every object of the group starts with; its spec.
Result<const Value*> ReadSpec(const ObjectReader& r,
                              std::initializer_list<std::string_view> known_keys) {
  const k8s::Object& object = r.object();
  MOAT_TRY(CheckApiVersion(r));
  if (object.name.empty()) return r.At(object.root, "metadata.name", "required");
  const Value* spec = object.root.Field("spec");
  if (spec == nullptr) return r.At(object.root, "spec", "required");
  MOAT_TRY(r.KnownKeys(*spec, "spec", known_keys));
  return spec;
}

Result<std::unique_ptr<Definition>> ReadPolicy(const k8s::Object& object) {
  ObjectReader r(object);
  MOAT_ASSIGN_OR_RETURN(
      const Value* spec,
      ReadSpec(r, {"paramKind", "matchConstraints", "validations", "failurePolicy",
                   "auditAnnotations", "matchConditions", "variables"}));
  auto d = std::make_unique<Definition>();
  d->name = object.name;
  d->origin = object.file + ":" + std::to_string(object.root.line);

  if (const Value* f = spec->Field("failurePolicy")) {
    if (f->text != "Fail" && f->text != "Ignore")
      return r.At(*f, "spec.failurePolicy", "\"" + f->text + "\" is not Fail or Ignore");
    d->fail_closed = f->text == "Fail";
  }
  if (const Value* f = spec->Field("paramKind")) {
    MOAT_TRY(r.KnownKeys(*f, "spec.paramKind", {"apiVersion", "kind"}));
    VapParamKind kind;
    if (const Value* v = f->Get("apiVersion")) {
      MOAT_ASSIGN_OR_RETURN(kind.api_version, r.String(*v, "spec.paramKind.apiVersion"));
    }
    if (const Value* v = f->Get("kind")) {
      MOAT_ASSIGN_OR_RETURN(kind.kind, r.String(*v, "spec.paramKind.kind"));
    }
    if (kind.api_version.empty() || kind.kind.empty())
      return r.At(*f, "spec.paramKind", "apiVersion and kind are required");
    d->param_key = ParamKindKey(kind.api_version, kind.kind);
    d->param_kind = std::move(kind);
  }
  const Value null_value;
  const Value* match = spec->Field("matchConstraints");
  MOAT_ASSIGN_OR_RETURN(d->match, ReadMatch(r, match != nullptr ? *match : null_value,
                                            "spec.matchConstraints", /*rules_required=*/true));

  PolicyCompiler compiler(
      r, {"object", "oldObject", "request", "params", "namespaceObject", "variables"});
  // Variables first: each may use the ones before it, and every other expression all of them.
  MOAT_TRY(ReadNamedExpressions(r, compiler, *spec, {"variables", "name", "expression"},
                                IsCelIdentifier, "is not a CEL identifier", 0,
                                [&](std::string name, Expression compiled) {
                                  compiler.AddVariable(name);
                                  d->variables.push_back({std::move(name), std::move(compiled)});
                                }));
  MOAT_TRY(ReadNamedExpressions(
      r, compiler, *spec, {"matchConditions", "name", "expression"}, IsQualifiedNamePart,
      "is not a valid name (alphanumerics, '-', '_', '.')", 64,
      [&](std::string name, Expression compiled) {
        d->match_conditions.push_back({std::move(name), std::move(compiled)});
      }));
  if (const Value* list = spec->Field("validations")) {
    if (!list->IsSequence()) return r.At(*list, "spec.validations", "must be a list");
    for (size_t i = 0; i < list->Items().size(); ++i) {
      const Value& item = list->Items()[i];
      const std::string field = "spec.validations[" + std::to_string(i) + "]";
      MOAT_TRY(r.KnownKeys(item, field, {"expression", "message", "messageExpression", "reason"}));
      const Value* expression = item.Get("expression");
      if (expression == nullptr) return r.At(item, field + ".expression", "required");
      vap::Validation validation{};
      MOAT_ASSIGN_OR_RETURN(validation.expression,
                            compiler.Compile(*expression, field + ".expression"));
      if (const Value* message = item.Field("message")) {
        MOAT_ASSIGN_OR_RETURN(validation.message, r.String(*message, field + ".message"));
        if (HasLineBreak(validation.message))
          return r.At(*message, field + ".message", "must not contain line breaks");
      }
      if (HasLineBreak(validation.expression.program.expression()) && validation.message.empty())
        return r.At(item, field + ".message", "required when the expression contains line breaks");
      if (const Value* message = item.Field("messageExpression")) {
        MOAT_ASSIGN_OR_RETURN(validation.message_expression,
                              compiler.Compile(*message, field + ".messageExpression"));
      }
      validation.reason = "Invalid";
      validation.code = 422;
      if (const Value* reason = item.Field("reason")) {
        validation.reason = reason->text;
        validation.code = ReasonCode(reason->text);
        if (validation.code == 0)
          return r.At(*reason, field + ".reason",
                      "\"" + reason->text +
                          "\" is not Unauthorized, Forbidden, Invalid or RequestEntityTooLarge");
      }
      d->validations.push_back(std::move(validation));
    }
  }
  MOAT_TRY(
      ReadNamedExpressions(r, compiler, *spec, {"auditAnnotations", "key", "valueExpression"},
                           IsQualifiedNamePart, "is not a valid key (alphanumerics, '-', '_', '.')",
                           0, [&](std::string key, Expression compiled) {
                             d->audit_annotations.push_back({std::move(key), std::move(compiled)});
                           }));
  if (d->validations.empty() && d->audit_annotations.empty())
    return r.At(*spec, "spec.validations", "validations or auditAnnotations are required");

  d->check.id = d->name;
  d->check.group = "vap";
  d->check.title = "ValidatingAdmissionPolicy " + d->name;
  d->check.severity = k8s::Severity::kMedium;
  d->check.description = "A ValidatingAdmissionPolicy loaded with --policy (" + d->origin + ")";
  d->check.remediation = "Change the object so that the policy's validations hold.";
  return d;
}

Result<std::unique_ptr<Binding>> ReadBinding(const k8s::Object& object) {
  ObjectReader r(object);
  MOAT_ASSIGN_OR_RETURN(const Value* spec, ReadSpec(r, {"policyName", "paramRef", "matchResources",
                                                        "validationActions"}));
  auto b = std::make_unique<Binding>();
  b->name = object.name;
  b->origin = object.file + ":" + std::to_string(object.root.line);
  if (const Value* f = spec->Field("policyName")) {
    MOAT_ASSIGN_OR_RETURN(b->policy_name, r.String(*f, "spec.policyName"));
  }
  if (b->policy_name.empty()) return r.At(*spec, "spec.policyName", "required");
  const Value* actions = spec->Field("validationActions");
  std::vector<std::string> action_names;
  if (actions != nullptr) {
    MOAT_ASSIGN_OR_RETURN(action_names, r.Strings(*actions, "spec.validationActions"));
  }
  // v1alpha1 predates validationActions: its bindings denied.
  if (action_names.empty() && object.api_version == std::string(kGroup) + "v1alpha1")
    action_names = {"Deny"};
  if (action_names.empty())
    return r.At(actions != nullptr ? *actions : *spec, "spec.validationActions",
                "required: one or more of Deny, Warn, Audit");
  std::set<std::string> seen;
  for (const std::string& action : action_names) {
    if (!seen.insert(action).second)
      return r.At(*actions, "spec.validationActions", "duplicate action \"" + action + "\"");
    if (action == "Deny") {
      b->deny = true;
    } else if (action == "Warn") {
      b->warn = true;
    } else if (action == "Audit") {
      b->audit = true;
    } else {
      return r.At(*actions, "spec.validationActions",
                  "\"" + action + "\" is not Deny, Warn or Audit");
    }
  }
  if (b->deny && b->warn)
    return r.At(*actions, "spec.validationActions",
                "Deny and Warn may not be used together (the failure would be reported twice)");
  if (const Value* f = spec->Field("paramRef")) {
    MOAT_TRY(r.KnownKeys(*f, "spec.paramRef",
                         {"name", "namespace", "selector", "parameterNotFoundAction"}));
    vap::ParamRef ref;
    if (const Value* v = f->Get("name")) {
      MOAT_ASSIGN_OR_RETURN(ref.name, r.String(*v, "spec.paramRef.name"));
    }
    if (const Value* v = f->Get("namespace")) {
      MOAT_ASSIGN_OR_RETURN(ref.namespace_name, r.String(*v, "spec.paramRef.namespace"));
    }
    if (const Value* v = f->Field("selector")) {
      MOAT_ASSIGN_OR_RETURN(ref.selector, r.Selector(*v, "spec.paramRef.selector"));
    }
    if (ref.name.empty() == !ref.selector.has_value())
      return r.At(*f, "spec.paramRef", "exactly one of name and selector is required");
    if (const Value* v = f->Field("parameterNotFoundAction")) {
      if (v->text != "Allow" && v->text != "Deny")
        return r.At(*v, "spec.paramRef.parameterNotFoundAction",
                    "\"" + v->text + "\" is not Allow or Deny");
      ref.deny_when_missing = v->text == "Deny";
    }
    b->param_ref = std::move(ref);
  }
  const Value* match = spec->Field("matchResources");
  if (match != nullptr) {
    MOAT_ASSIGN_OR_RETURN(b->match, ReadMatch(r, *match, "spec.matchResources", false));
  }
  return b;
}

}  // namespace

Result<std::unique_ptr<VapPolicy::State>> LoadVapState(k8s::LoadResult input) {
  if (!input.errors.empty()) return Error{input.errors.front().ToString()};
  auto state = std::make_unique<VapPolicy::State>();
  std::vector<k8s::Object> params;
  std::map<std::string, Definition*> by_name;
  for (k8s::Object& object : input.objects) {
    const bool admission_group = object.api_version.rfind(kGroup, 0) == 0;
    if (admission_group && object.kind == "ValidatingAdmissionPolicy") {
      MOAT_ASSIGN_OR_RETURN(std::unique_ptr<Definition> d, ReadPolicy(object));
      if (by_name.count(d->name) != 0)
        return Error{d->origin + ": ValidatingAdmissionPolicy \"" + d->name +
                     "\" is defined twice (also at " + by_name[d->name]->origin + ")"};
      by_name[d->name] = d.get();
      state->definitions.push_back(std::move(d));
    } else if (admission_group && object.kind == "ValidatingAdmissionPolicyBinding") {
      MOAT_ASSIGN_OR_RETURN(std::unique_ptr<Binding> b, ReadBinding(object));
      for (const auto& other : state->bindings) {
        if (other->name == b->name)
          return Error{b->origin + ": ValidatingAdmissionPolicyBinding \"" + b->name +
                       "\" is defined twice (also at " + other->origin + ")"};
      }
      state->bindings.push_back(std::move(b));
    } else {
      params.push_back(std::move(object));
    }
  }
  for (auto& b : state->bindings) {
    auto it = by_name.find(b->policy_name);
    if (it == by_name.end()) {
      // As in a cluster, a binding to a policy that does not exist (yet) has no effect.
      log::Warn("admission: " + b->origin + ": ValidatingAdmissionPolicyBinding \"" + b->name +
                "\" binds \"" + b->policy_name + "\", which no file defines: it has no effect");
      continue;
    }
    b->policy = it->second;
    it->second->bindings.push_back(b.get());
  }
  for (const auto& d : state->definitions) {
    if (d->bindings.empty()) {
      log::Warn("admission: " + d->origin + ": ValidatingAdmissionPolicy \"" + d->name +
                "\" has no binding: it has no effect");
    }
    state->checks.push_back(&d->check);
  }
  state->param_objects = params.size();
  state->params = IndexParams(params);
  return state;
}

}  // namespace moat::admission
