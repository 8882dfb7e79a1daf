// Evaluating ValidatingAdmissionPolicies per request, in the API server's order: the policy's
// matchConstraints, each binding's matchResources, the params the binding selects, then per
// (policy, binding, param) the matchConditions, validations (with lazy variables) and
// auditAnnotations, each failure sent where the binding's validationActions say.

#include "admission/vap.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "admission/namespace_cache.h"
#include "admission/vap_internal.h"
#include "cel/k8s_value.h"
#include "core/json_writer.h"
#include "k8s/loader.h"

namespace moat::admission {
namespace {

using vap::Binding;
using vap::Definition;
using vap::MatchResources;
using vap::ResourceRule;

constexpr std::string_view kValidationFailureKey =
    "validation.policy.admission.k8s.io_validation_failure";

template <typename T, typename V>
bool Contains(const std::vector<T>& list, const V& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool ListMatches(const std::vector<std::string>& list, std::string_view value) {
  return Contains(list, "*") || Contains(list, value);
}

/// One group/version/resource/subresource the request can be matched as.
struct Gvr {
  std::string group;
  std::string version;
  std::string resource;
  std::string sub_resource;
};

/// A group/version/resource of a map such as request.requestResource.
std::optional<Gvr> GvrOf(const k8s::Value* v, const k8s::Value* sub) {
  if (v == nullptr || !v->IsMap()) return std::nullopt;
  Gvr gvr;
  if (const k8s::Value* f = v->Get("group")) gvr.group = f->Str();
  if (const k8s::Value* f = v->Get("version")) gvr.version = f->Str();
  if (const k8s::Value* f = v->Get("resource")) gvr.resource = f->Str();
  if (sub != nullptr) gvr.sub_resource = sub->Str();
  if (gvr.resource.empty()) return std::nullopt;
  return gvr;
}

/// Resources served under several groups or versions: what matchPolicy Equivalent lets a rule
/// written for one of them match (the API server knows them from its equivalence table).
const std::vector<std::vector<std::pair<std::string_view, std::string_view>>>& Equivalences() {
  static const std::vector<std::vector<std::pair<std::string_view, std::string_view>>> kTable = {
      {{"apps", "deployments"}, {"extensions", "deployments"}},
      {{"apps", "daemonsets"}, {"extensions", "daemonsets"}},
      {{"apps", "replicasets"}, {"extensions", "replicasets"}},
      {{"networking.k8s.io", "networkpolicies"}, {"extensions", "networkpolicies"}},
      {{"networking.k8s.io", "ingresses"}, {"extensions", "ingresses"}},
      {{"policy", "podsecuritypolicies"}, {"extensions", "podsecuritypolicies"}},
      {{"events.k8s.io", "events"}, {"", "events"}},
  };
  return kTable;
}

/// Everything that is computed once per request and shared by every policy: the CEL values of
/// the objects and the namespace.
class RequestContext {
 public:
  RequestContext(const AdmissionRequest& request, const VapEnvironment& environment)
      : request_(request), environment_(environment) {}

  const AdmissionRequest& request() const { return request_; }

  const cel::Value& object() {
    if (!object_) {
      object_ = request_.has_object ? cel::FromK8sValue(request_.object.root) : cel::Value();
    }
    return *object_;
  }
  const cel::Value& old_object() {
    if (!old_object_) {
      old_object_ =
          request_.has_old_object ? cel::FromK8sValue(request_.old_object.root) : cel::Value();
    }
    return *old_object_;
  }
  const cel::Value& request_value() {
    if (!request_value_) request_value_ = cel::FromK8sValue(request_.fields);
    return *request_value_;
  }
  bool IsNamespaceRequest() const {
    return request_.resource == "namespaces" && request_.resource_group.empty();
  }
  /// The namespace object: from the cache, else one with the name and the label the API server
  /// gives every namespace; null for cluster-scoped requests (a Namespace included).
  const cel::Value& namespace_object() {
    if (namespace_object_) return *namespace_object_;
    namespace_object_ = cel::Value();
    const std::string& ns = request_.namespace_name;
    if (ns.empty() || IsNamespaceRequest()) return *namespace_object_;
    if (auto cached = Cached()) {
      namespace_object_ = cached->value;
    } else {
      k8s::Value labels = NamespaceLabelsFor(nullptr, ns, nullptr);
      std::vector<cel::MapEntry> metadata = {
          {cel::Value::String("name"), cel::Value::String(ns)},
          {cel::Value::String("labels"), cel::FromK8sValue(labels)}};
      namespace_object_ =
          cel::Value::Map({{cel::Value::String("apiVersion"), cel::Value::String("v1")},
                           {cel::Value::String("kind"), cel::Value::String("Namespace")},
                           {cel::Value::String("metadata"), cel::Value::Map(std::move(metadata))}});
    }
    return *namespace_object_;
  }
  const k8s::Value& namespace_labels() {
    if (!namespace_labels_) {
      const k8s::Object* self =
          IsNamespaceRequest()
              ? (request_.has_object ? &request_.object
                                     : (request_.has_old_object ? &request_.old_object : nullptr))
              : nullptr;
      const std::string& ns = IsNamespaceRequest() && self != nullptr && !self->name.empty()
                                  ? self->name
                                  : request_.namespace_name;
      namespace_labels_ = NamespaceLabelsFor(
          IsNamespaceRequest() ? nullptr : environment_.namespaces.get(), ns, self);
    }
    return *namespace_labels_;
  }
  /// The GVRs a rule may match: the request's own resource (requestResource, as the client
  /// sent it) and, with matchPolicy Equivalent, the version the API server converted it to for
  /// the webhook and the equivalent groups.
  const std::vector<Gvr>& Resources(bool equivalent) {
    if (resources_.empty()) {
      const k8s::Value& f = request_.fields;
      Gvr sent{request_.resource_group, "", request_.resource, request_.sub_resource};
      if (const k8s::Value* r = f.Get("resource")) {
        if (auto gvr = GvrOf(r, f.Get("subResource"))) sent = *gvr;
      }
      auto original = GvrOf(f.Get("requestResource"), f.Get("requestSubResource"));
      resources_.push_back(original ? *original : sent);
      if (original && (original->group != sent.group || original->version != sent.version ||
                       original->resource != sent.resource)) {
        resources_.push_back(sent);
      }
      exact_count_ = 1;
      for (const auto& group : Equivalences()) {
        const Gvr base = resources_.front();
        const bool member = std::any_of(group.begin(), group.end(), [&](const auto& member) {
          return member.first == base.group && member.second == base.resource;
        });
        if (!member) continue;
        for (const auto& [g, r] : group) {
          if (g == base.group) continue;
          resources_.push_back(Gvr{std::string(g), "*", std::string(r), base.sub_resource});
        }
      }
    }
    if (equivalent) return resources_;
    exact_.assign(resources_.begin(), resources_.begin() + exact_count_);
    return exact_;
  }

  const VapEnvironment& environment() const { return environment_; }

 private:
  std::shared_ptr<const NamespaceCache::Namespace> Cached() {
    if (!environment_.namespaces) return nullptr;
    return environment_.namespaces->Find(request_.namespace_name);
  }

  const AdmissionRequest& request_;
  const VapEnvironment& environment_;
  std::optional<cel::Value> object_, old_object_, request_value_, namespace_object_;
  std::optional<k8s::Value> namespace_labels_;
  std::vector<Gvr> resources_;
  std::vector<Gvr> exact_;
  size_t exact_count_ = 1;
};

bool ResourceMatches(const std::vector<std::string>& resources, const Gvr& gvr) {
  for (const std::string& written : resources) {
    const size_t slash = written.find('/');
    const std::string_view resource = std::string_view(written).substr(0, slash);
    const std::string_view sub = slash == std::string::npos
                                     ? std::string_view()
                                     : std::string_view(written).substr(slash + 1);
    // "pods" is the resource alone, "pods/status" one subresource, "pods/*" the resource and
    // every subresource, "*" every resource (no subresource), "*/scale", "*/*" everything.
    const bool resource_match = resource == "*" || resource == gvr.resource;
    const bool sub_match = sub == "*" || sub == gvr.sub_resource;
    if (resource_match && sub_match) return true;
  }
  return false;
}

bool RuleMatches(const ResourceRule& rule, RequestContext& ctx, bool equivalent) {
  const AdmissionRequest& r = ctx.request();
  if (!ListMatches(rule.operations, OperationName(r.operation))) return false;
  switch (rule.scope) {
    case ResourceRule::Scope::kAll:
      break;
    case ResourceRule::Scope::kNamespaced:
      if (ctx.IsNamespaceRequest() || r.namespace_name.empty()) return false;
      break;
    case ResourceRule::Scope::kCluster:
      if (!ctx.IsNamespaceRequest() && !r.namespace_name.empty()) return false;
      break;
  }
  if (!rule.resource_names.empty() && !Contains(rule.resource_names, r.name)) return false;
  for (const Gvr& gvr : ctx.Resources(equivalent)) {
    if (!ListMatches(rule.api_groups, gvr.group)) continue;
    if (gvr.version != "*" && !ListMatches(rule.api_versions, gvr.version)) continue;
    if (ResourceMatches(rule.resources, gvr)) return true;
  }
  return false;
}

bool Matches(const MatchResources& match, RequestContext& ctx) {
  if (!match.present) return true;
  const AdmissionRequest& r = ctx.request();
  if (match.namespace_selector && (!match.namespace_selector->match_labels.empty() ||
                                   !match.namespace_selector->match_expressions.empty())) {
    // Cluster-scoped objects other than Namespaces are never excluded by a namespaceSelector.
    if (ctx.IsNamespaceRequest() || !r.namespace_name.empty()) {
      const k8s::Value& labels = ctx.namespace_labels();
      if (!match.namespace_selector->Matches(labels.IsNull() ? nullptr : &labels)) return false;
    }
  }
  if (match.object_selector && (!match.object_selector->match_labels.empty() ||
                                !match.object_selector->match_expressions.empty())) {
    // Either the new or the old object may match (a DELETE has only the old one).
    auto matches = [&](bool present, const k8s::Object& object) {
      return present && match.object_selector->Matches(object.root.Path({"metadata", "labels"}));
    };
    if (!matches(r.has_object, r.object) && !matches(r.has_old_object, r.old_object)) return false;
  }
  if (!match.resource_rules.empty()) {
    bool any = false;
    for (const ResourceRule& rule : match.resource_rules) {
      if (RuleMatches(rule, ctx, match.equivalent)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  for (const ResourceRule& rule : match.exclude_resource_rules) {
    if (RuleMatches(rule, ctx, match.equivalent)) return false;
  }
  return true;
}

/// One failed (policy, binding, param) outcome before validationActions apply.
struct Failure {
  std::string message;
  int code = 0;  // 0 = 403 Forbidden
  std::string reason;
  int expression_index = -1;
};

/// The budgets and the lazily evaluated variables of one (policy, binding, param) evaluation.
class Evaluation {
 public:
  Evaluation(const Definition& policy, RequestContext& ctx, const cel::Value* params)
      : policy_(policy), ctx_(ctx), variables_(policy.variables.size()) {
    activation_.Bind("params", params != nullptr ? *params : cel::Value());
    // `variables.<unknown>` reads a key of this empty map: "no such key".
    activation_.Bind("variables", cel::Value::Map({}));
    // The request's values are made CEL values on first use, once per request: a policy that
    // reads only `object` never pays for `request` or `namespaceObject`.
    activation_.SetResolver([this](std::string_view name) { return Resolve(name); });
  }

  /// Evaluates under the per-call limit and what is left of `budget`; the cost is taken from
  /// the budget. A spent budget is an error that no || absorbs.
  Result<cel::Value> Run(const vap::Expression& expression, uint64_t& budget) {
    budget_ = &budget;
    const uint64_t limit = std::min<uint64_t>(kVapPerCallLimit, budget);
    uint64_t cost = 0;
    auto result = expression.program.Evaluate(activation_, {.cost_limit = limit}, &cost);
    budget -= std::min(cost, budget);
    if (exhausted_) {
      return Fail("cost budget exceeded in a variable: ", exhausted_message_);
    }
    return result;
  }

 private:
  const cel::Value* Resolve(std::string_view name) {
    if (name == "object") return &ctx_.object();
    if (name == "oldObject") return &ctx_.old_object();
    if (name == "request") return &ctx_.request_value();
    if (name == "namespaceObject") return &ctx_.namespace_object();
    return Variable(name);
  }

  const cel::Value* Variable(std::string_view name) {
    constexpr std::string_view kPrefix = "variables.";
    if (name.substr(0, kPrefix.size()) != kPrefix) return nullptr;
    name.remove_prefix(kPrefix.size());
    for (size_t i = 0; i < policy_.variables.size() && i < visible_; ++i) {
      if (policy_.variables[i].name != name) continue;
      if (!variables_[i]) {
        // Evaluated on first use, once: its value (or error) is what every later use sees.
        const size_t saved = visible_;
        visible_ = i;  // a variable sees only the ones declared before it
        uint64_t& budget = *budget_;
        const uint64_t limit = std::min<uint64_t>(kVapPerCallLimit, budget);
        uint64_t cost = 0;
        auto result = policy_.variables[i].expression.program.Evaluate(
            activation_, {.cost_limit = limit}, &cost);
        budget -= std::min(cost, budget);
        visible_ = saved;
        if (result.ok()) {
          variables_[i] = std::move(*result);
        } else {
          if (cost >= limit) {
            exhausted_ = true;
            exhausted_message_ =
                "variables." + policy_.variables[i].name + ": " + result.error().message;
          }
          variables_[i] = cel::Value::Error("variables." + policy_.variables[i].name + ": " +
                                            result.error().message);
        }
      }
      return &*variables_[i];
    }
    return nullptr;
  }

  const Definition& policy_;
  RequestContext& ctx_;
  cel::Activation activation_;
  std::vector<std::optional<cel::Value>> variables_;
  size_t visible_ = static_cast<size_t>(-1);
  uint64_t* budget_ = nullptr;
  bool exhausted_ = false;
  std::string exhausted_message_;
};

bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

/// What one (policy, binding, param) evaluation produced.
struct Outcome {
  std::vector<Failure> failures;  // go through the binding's validationActions
  std::vector<Failure> errors;    // denials whatever the actions (failurePolicy Fail)
  std::vector<std::pair<std::string, std::string>> annotations;
};

void Validate(const Definition& d, RequestContext& ctx, const cel::Value* params, Outcome& out) {
  Evaluation eval(d, ctx, params);
  // matchConditions: any false skips the policy; otherwise an error follows failurePolicy.
  uint64_t match_budget = kVapMatchConditionsCostBudget;
  std::string condition_error;
  for (const vap::MatchCondition& condition : d.match_conditions) {
    auto result = eval.Run(condition.expression, match_budget);
    if (result.ok() && result->Is(cel::Kind::kBool)) {
      if (!result->AsBool()) return;
      continue;
    }
    if (condition_error.empty()) {
      condition_error =
          "matchCondition '" + condition.name + "' (" + condition.expression.field + ") " +
          (result.ok() ? "resulted in a " + std::string(result->TypeName()) + ", not a bool"
                       : "resulted in error: " + result.error().message);
    }
  }
  if (!condition_error.empty()) {
    if (d.fail_closed) out.failures.push_back({condition_error, 0, "", -1});
    return;
  }
  uint64_t budget = kVapRuntimeCostBudget;
  for (size_t i = 0; i < d.validations.size(); ++i) {
    const vap::Validation& v = d.validations[i];
    const std::string& text = v.expression.program.expression();
    auto result = eval.Run(v.expression, budget);
    if (!result.ok() || !result->Is(cel::Kind::kBool)) {
      if (d.fail_closed) {
        const std::string why =
            result.ok() ? "resulted in unsupported return type " + std::string(result->TypeName())
                        : "resulted in error: " + result.error().message;
        out.failures.push_back({"expression '" + text + "' " + why, 0, "", static_cast<int>(i)});
      }
      // A spent budget stops the remaining validations, as the API server does.
      if (budget == 0) break;
      continue;
    }
    if (result->AsBool()) continue;
    std::string message = !v.message.empty() ? v.message : "failed expression: " + text;
    if (v.message_expression) {
      auto m = eval.Run(*v.message_expression, budget);
      // A message expression that fails, is not a string, is blank, spans lines or is too long
      // leaves the static message in place.
      if (m.ok() && m->Is(cel::Kind::kString) && !IsBlank(m->AsString()) &&
          m->AsString().find('\n') == std::string::npos &&
          m->AsString().size() <= kVapMaxMessageExpressionBytes) {
        message = m->AsString();
      } else if (!m.ok() && budget == 0) {
        if (d.fail_closed) {
          out.failures.push_back({"messageExpression of validation " + std::to_string(i) +
                                      " resulted in error: " + m.error().message,
                                  0, "", static_cast<int>(i)});
        }
        break;
      }
    }
    out.failures.push_back({message, v.code, v.reason, static_cast<int>(i)});
  }
  // auditAnnotations get a fresh budget; null or "" means no annotation.
  uint64_t audit_budget = kVapRuntimeCostBudget;
  for (const vap::AuditAnnotation& a : d.audit_annotations) {
    auto result = eval.Run(a.value, audit_budget);
    if (result.ok() && result->Is(cel::Kind::kNull)) continue;
    if (result.ok() && result->Is(cel::Kind::kString)) {
      std::string value = result->AsString();
      if (value.empty()) continue;
      if (value.size() > kVapMaxAuditAnnotationValueBytes)
        value.resize(kVapMaxAuditAnnotationValueBytes);
      out.annotations.emplace_back(a.key, std::move(value));
      continue;
    }
    if (!d.fail_closed) continue;
    out.errors.push_back(
        {"valueExpression '" + a.value.program.expression() + "' (" + a.value.field + ") " +
             (result.ok() ? "resulted in unsupported return type " +
                                std::string(result->TypeName()) + ": it must be a string or null"
                          : "resulted in error: " + result.error().message),
         0, "", -1});
  }
}

std::string DenialText(const Definition& d, const Binding& b, const std::string& message) {
  return "ValidatingAdmissionPolicy '" + d.name + "' with binding '" + b.name +
         "' denied request: " + message;
}

/// The params one binding evaluates with; `values` point into `holder` (a cluster cache's
/// snapshot stays alive while the request uses it, whatever a refresh does meanwhile).
struct SelectedParams {
  std::shared_ptr<const ParamKindObjects> holder;
  std::vector<const cel::Value*> values;  // nullptr = params is null
};

/// The params a binding selects for this request, or the configuration error that makes the
/// binding fail (the failurePolicy decides). No value and no error: nothing to do.
Result<SelectedParams> CollectParams(const VapPolicy::State& state, const Definition& d,
                                     const Binding& b, const AdmissionRequest& request) {
  if (!d.param_kind || !b.param_ref) return SelectedParams{nullptr, {nullptr}};
  const vap::ParamRef& ref = *b.param_ref;
  std::shared_ptr<const ParamKindObjects> kind;
  if (state.environment.params) kind = state.environment.params->Find(d.param_key);
  if (!kind) {
    auto it = state.params.find(d.param_key);
    if (it != state.params.end()) kind = it->second;
  }
  std::string ns = ref.namespace_name;
  if (ns.empty() && kind && kind->namespaced) {
    if (request.namespace_name.empty())
      return Fail("cannot use a namespaced paramRef (", d.param_kind->kind,
                  ") without paramRef.namespace for the cluster-scoped ", request.kind.kind);
    ns = request.namespace_name;
  }
  SelectedParams selected{kind, {}};
  std::vector<const cel::Value*>& out = selected.values;
  if (kind) {
    for (const ParamObject& param : kind->objects) {
      if (param.namespace_name != ns) continue;
      if (!ref.name.empty()
              ? param.name == ref.name
              : ref.selector->Matches(param.labels.IsNull() ? nullptr : &param.labels)) {
        out.push_back(&param.value);
      }
    }
  }
  if (out.empty() && ref.deny_when_missing) {
    return Fail("no params found for policy binding with `Deny` parameterNotFoundAction (",
                d.param_kind->kind, " ",
                ref.name.empty() ? std::string("matching the selector") : "\"" + ref.name + "\"",
                ns.empty() ? std::string() : " in namespace \"" + ns + "\"", ")");
  }
  return selected;  // empty with Allow: no param, no evaluation
}

}  // namespace

VapPolicy::VapPolicy(std::unique_ptr<State> state) : state_(std::move(state)) {}
VapPolicy::~VapPolicy() = default;

Result<std::unique_ptr<VapPolicy>> VapPolicy::FromObjects(k8s::LoadResult input,
                                                          VapEnvironment environment) {
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<State> state, LoadVapState(std::move(input)));
  state->environment = std::move(environment);
  return std::unique_ptr<VapPolicy>(new VapPolicy(std::move(state)));
}

Result<std::unique_ptr<VapPolicy>> VapPolicy::Load(const std::vector<std::string>& paths,
                                                   VapEnvironment environment) {
  return FromObjects(k8s::LoadManifests(paths), std::move(environment));
}

size_t VapPolicy::policies() const { return state_->definitions.size(); }
size_t VapPolicy::bindings() const { return state_->bindings.size(); }
size_t VapPolicy::params() const { return state_->param_objects; }
const std::vector<const k8s::CheckInfo*>& VapPolicy::checks() const { return state_->checks; }

std::vector<VapParamKind> VapPolicy::ParamKinds() const {
  std::vector<VapParamKind> kinds;
  for (const auto& d : state_->definitions) {
    if (!d->param_kind) continue;
    const bool seen = std::any_of(kinds.begin(), kinds.end(), [&](const VapParamKind& k) {
      return k.api_version == d->param_kind->api_version && k.kind == d->param_kind->kind;
    });
    if (!seen) kinds.push_back(*d->param_kind);
  }
  return kinds;
}

bool VapPolicy::Covers(const AdmissionRequest& request) const {
  if (!request.namespace_name.empty() &&
      Contains(state_->environment.excluded_namespaces, request.namespace_name))
    return false;
  RequestContext ctx(request, state_->environment);
  for (const auto& d : state_->definitions) {
    if (d->bindings.empty()) continue;
    // Only the resource rules here: selectors need the namespace, which Evaluate looks up.
    if (!d->match.present) return true;
    for (const ResourceRule& rule : d->match.resource_rules) {
      if (RuleMatches(rule, ctx, d->match.equivalent)) return true;
    }
  }
  return false;
}

void VapPolicy::Evaluate(AdmissionRequest& request, std::vector<Violation>& out) const {
  Evaluate(request, out, nullptr);
}

void VapPolicy::Evaluate(AdmissionRequest& request, std::vector<Violation>& out,
                         std::vector<const k8s::CheckInfo*>* matched) const {
  RequestContext ctx(request, state_->environment);
  std::string audit_json;  // the validation_failure annotation: a JSON array
  std::string audit_text;
  const Definition* first_audited = nullptr;
  std::vector<std::string> annotated;  // keys already set: the first value stays
  for (const auto& definition : state_->definitions) {
    const Definition& d = *definition;
    if (d.bindings.empty() || !Matches(d.match, ctx)) continue;
    for (const Binding* binding : d.bindings) {
      const Binding& b = *binding;
      if (!Matches(b.match, ctx)) continue;
      if (matched != nullptr && !Contains(*matched, &d.check)) matched->push_back(&d.check);
      auto params = CollectParams(*state_, d, b, request);
      if (!params.ok()) {
        // A misconfigured binding: failurePolicy Fail denies, whatever validationActions say.
        if (d.fail_closed) {
          Violation v;
          v.policy = d.name;
          v.action = Action::kDeny;
          v.message = params.error().message;
          v.description = DenialText(d, b, v.message);
          v.check = &d.check;
          out.push_back(std::move(v));
        }
        continue;
      }
      for (const cel::Value* param : params->values) {
        Outcome outcome;
        Validate(d, ctx, param, outcome);
        for (const Failure& f : outcome.errors) {
          Violation v;
          v.policy = d.name;
          v.action = Action::kDeny;
          v.message = f.message;
          v.description = DenialText(d, b, f.message);
          v.check = &d.check;
          out.push_back(std::move(v));
        }
        for (const Failure& f : outcome.failures) {
          Violation v;
          v.policy = d.name;
          v.message = f.message;
          v.check = &d.check;
          if (b.deny) {
            v.action = Action::kDeny;
            v.description = DenialText(d, b, f.message);
            v.code = f.code;
            v.reason = f.reason;
            out.push_back(v);
          }
          if (b.warn) {
            v.action = Action::kWarn;
            v.description = "Validation failed for ValidatingAdmissionPolicy '" + d.name +
                            "' with binding '" + b.name + "': " + f.message;
            out.push_back(v);
          }
          if (b.audit) {
            // The API server's validation_failure annotation: one JSON array for the request.
            audit_json += audit_json.empty() ? "[" : ",";
            audit_json += "{\"message\":";
            AppendJsonString(audit_json, f.message);
            audit_json += ",\"policy\":";
            AppendJsonString(audit_json, d.name);
            audit_json += ",\"binding\":";
            AppendJsonString(audit_json, b.name);
            audit_json += ",\"expressionIndex\":" + std::to_string(f.expression_index);
            audit_json += ",\"validationActions\":[";
            bool first = true;
            for (auto [on, name] : {std::pair{b.deny, "Deny"}, std::pair{b.warn, "Warn"},
                                    std::pair{b.audit, "Audit"}}) {
              if (!on) continue;
              audit_json += first ? "\"" : ",\"";
              audit_json += std::string(name) + "\"";
              first = false;
            }
            audit_json += "]}";
            audit_text += (audit_text.empty() ? "" : "; ") + d.name + ": " + f.message;
            if (first_audited == nullptr) first_audited = &d;
          }
        }
        for (auto& [key, value] : outcome.annotations) {
          // "<policy>/<key>" in the API server; a webhook's keys may not hold a '/' (the API
          // server prefixes them with the webhook's name and a '/').
          std::string full = d.name + "_" + key;
          if (Contains(annotated, full)) continue;
          annotated.push_back(full);
          Violation v;
          v.policy = d.name;
          v.action = Action::kAudit;
          v.message = key + ": " + value;
          v.description = value;
          v.audit_key = std::move(full);
          v.annotation_only = true;
          v.check = &d.check;
          out.push_back(std::move(v));
        }
      }
    }
  }
  if (first_audited != nullptr) {
    Violation v;
    v.policy = first_audited->name;
    v.action = Action::kAudit;
    v.message = audit_text;
    v.description = audit_json + "]";
    v.audit_key = std::string(kValidationFailureKey);
    v.check = &first_audited->check;
    out.push_back(std::move(v));
  }
}

AdmissionRequest CreateRequestFor(k8s::Object object) {
  AdmissionRequest r;
  r.review_api_version = "admission.k8s.io/v1";
  r.uid = "moat-audit";
  const size_t slash = object.api_version.find('/');
  r.kind.group = slash == std::string::npos ? "" : object.api_version.substr(0, slash);
  r.kind.version =
      slash == std::string::npos ? object.api_version : object.api_version.substr(slash + 1);
  r.kind.kind = object.kind;
  r.resource = GuessResource(object.kind);
  r.resource_group = r.kind.group;
  r.name = object.name;
  r.namespace_name = object.kind == "Namespace" ? object.name : object.EffectiveNamespace();
  r.operation = Operation::kCreate;
  r.has_object = true;
  r.object = std::move(object);
  // The request fields as the API server fills them (CEL's `request`).
  auto field = [](std::string key, k8s::Value value) {
    value.key = std::move(key);
    return value;
  };
  auto text = [&](std::string key, const std::string& value) {
    return field(std::move(key), k8s::Value::Scalar(k8s::Value::Type::kString, value));
  };
  auto map = [&](std::string key, std::vector<k8s::Value> entries) {
    k8s::Value v;
    v.type = k8s::Value::Type::kMap;
    v.children = std::move(entries);
    return field(std::move(key), std::move(v));
  };
  auto gvk = [&](std::string key) {
    return map(std::move(key), {text("group", r.kind.group), text("version", r.kind.version),
                                text("kind", r.kind.kind)});
  };
  auto gvr = [&](std::string key) {
    return map(std::move(key), {text("group", r.kind.group), text("version", r.kind.version),
                                text("resource", r.resource)});
  };
  k8s::Value dry_run = k8s::Value::Scalar(k8s::Value::Type::kBool, "false", false);
  r.fields = map(
      "", {text("uid", r.uid), gvk("kind"), gvr("resource"), gvk("requestKind"),
           gvr("requestResource"), text("name", r.name), text("namespace", r.namespace_name),
           text("operation", "CREATE"), map("userInfo", {}), field("dryRun", std::move(dry_run))});
  return r;
}

k8s::Value NamespaceLabelsFor(const NamespaceCache* cache, const std::string& namespace_name,
                              const k8s::Object* object) {
  if (cache != nullptr) {
    if (auto entry = cache->Find(namespace_name)) {
      if (const k8s::Value* labels = entry->labels()) return *labels;
      k8s::Value empty;
      empty.type = k8s::Value::Type::kMap;
      return empty;
    }
  }
  if (object != nullptr && object->kind == "Namespace") {
    if (const k8s::Value* labels = object->root.Path({"metadata", "labels"}); labels != nullptr)
      return *labels;
  }
  k8s::Value labels;
  labels.type = k8s::Value::Type::kMap;
  k8s::Value name = k8s::Value::Scalar(k8s::Value::Type::kString, namespace_name);
  name.key = "kubernetes.io/metadata.name";
  labels.children.push_back(std::move(name));
  return labels;
}

std::string GuessResource(std::string_view kind) {
  std::string lower;
  for (char c : kind) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.empty()) return lower;
  if (lower == "endpoints") return lower;
  const char last = lower.back();
  if (last == 's' || last == 'x' || (lower.size() > 1 && lower.substr(lower.size() - 2) == "ch"))
    return lower + "es";
  if (last == 'y' && lower.size() > 1 &&
      std::string_view("aeiou").find(lower[lower.size() - 2]) == std::string_view::npos)
    return lower.substr(0, lower.size() - 1) + "ies";
  return lower + "s";
}

}  // namespace moat::admission
