#include "k8s/check_util.h"

namespace moat::k8s::internal {

std::vector<size_t> Inventory::ByKind(std::string_view kind) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < objects->size(); ++i) {
    if ((*objects)[i].kind == kind) out.push_back(i);
  }
  return out;
}

namespace {
std::string Key(std::string_view kind, std::string_view ns, std::string_view name) {
  std::string key(kind);
  key += '/';
  key += ns;
  key += '/';
  key += name;
  return key;
}
}  // namespace

void Inventory::Build() {
  for (size_t i = 0; i < objects->size(); ++i) {
    const Object& o = (*objects)[i];
    const std::string ns = o.EffectiveNamespace();
    by_key.emplace(Key(o.kind, ns, o.name), i);
    if (IsWorkloadKind(o.kind)) workloads_by_namespace[ns].push_back(i);
    if (o.kind == "NetworkPolicy") namespace_has_policy[ns] = true;
    if (o.kind == "Namespace") namespace_object[o.name] = true;
    if (o.kind == "RoleBinding" || o.kind == "ClusterRoleBinding") bindings.push_back(i);
  }
}

const Object* Inventory::Find(std::string_view kind, std::string_view namespace_name,
                              std::string_view name) const {
  auto it = by_key.find(Key(kind, namespace_name, name));
  return it == by_key.end() ? nullptr : &(*objects)[it->second];
}

void Emitter::Fail(const Value* at, std::string path, std::string message, const Value* fallback) {
  Finding f;
  f.object = object_;
  f.check = check_;
  f.path = std::move(path);
  const Value* where = at != nullptr && at->line != 0 ? at : fallback;
  if (where != nullptr) {
    f.line = where->line;
    f.column = where->column;
  }
  f.message = std::move(message);
  out_.push_back(std::move(f));
  ++count_;
}

namespace {

std::vector<std::string> SplitComma(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view part = text.substr(start, comma - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> Parameters::List(std::string_view name) const {
  auto check = values_.find(info_.id);
  if (check != values_.end()) {
    auto it = check->second.find(std::string(name));
    if (it != check->second.end()) return it->second;
  }
  for (const Parameter& p : info_.parameters) {
    if (p.name == name) return SplitComma(p.default_value);
  }
  return {};
}

std::string Parameters::String(std::string_view name) const {
  auto check = values_.find(info_.id);
  if (check != values_.end()) {
    auto it = check->second.find(std::string(name));
    if (it != check->second.end()) return it->second.empty() ? std::string() : it->second.front();
  }
  for (const Parameter& p : info_.parameters) {
    if (p.name == name) return p.default_value;
  }
  return "";
}

bool Parameters::Bool(std::string_view name) const {
  const std::string v = String(name);
  return v == "true" || v == "True" || v == "yes" || v == "1";
}

void ForEachContainer(const PodTemplate& pod,
                      const std::function<void(const Value&, const std::string&)>& fn,
                      unsigned kinds) {
  static constexpr std::pair<std::string_view, unsigned> kLists[] = {
      {"containers", kRegular}, {"initContainers", kInit}, {"ephemeralContainers", kEphemeral}};
  for (const auto& [list_name, bit] : kLists) {
    if ((kinds & bit) == 0) continue;
    const Value* list = pod.spec->Get(list_name);
    if (list == nullptr) continue;
    size_t index = 0;
    for (const Value& container : list->Items()) {
      if (container.IsMap()) {
        fn(container,
           pod.spec_path + "." + std::string(list_name) + "[" + std::to_string(index) + "]");
      }
      ++index;
    }
  }
}

std::string Join(const std::string& base, std::string_view tail) {
  std::string out = base;
  if (!out.empty() && !tail.empty() && tail.front() != '[') out += '.';
  out += tail;
  return out;
}

std::string QuoteList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += '"';
    out += item;
    out += '"';
  }
  return out;
}

}  // namespace moat::k8s::internal
