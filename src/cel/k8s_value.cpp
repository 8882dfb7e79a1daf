#include "cel/k8s_value.h"

#include <charconv>
#include <cstdlib>

#include "k8s/value.h"

namespace moat::cel {

// Only the inline members of k8s::Value are used, so moat_cel does not link moat_k8s.
Value FromK8sValue(const k8s::Value& value) {
  using Type = k8s::Value::Type;
  switch (value.type) {
    case Type::kNull:
      return Value();
    case Type::kBool:
      return Value::Bool(value.IsTrue());
    case Type::kInt: {
      int64_t i = 0;
      const std::string& t = value.text;
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), i);
      if (ec == std::errc() && ptr == t.data() + t.size()) return Value::Int(i);
      return Value::Double(std::strtod(t.c_str(), nullptr));
    }
    case Type::kFloat:
      return Value::Double(std::strtod(value.text.c_str(), nullptr));
    case Type::kString:
      return Value::String(value.text);
    case Type::kSequence: {
      std::vector<Value> items;
      items.reserve(value.children.size());
      for (const k8s::Value& item : value.children) items.push_back(FromK8sValue(item));
      return Value::List(std::move(items));
    }
    case Type::kMap: {
      std::vector<MapEntry> entries;
      entries.reserve(value.children.size());
      for (const k8s::Value& entry : value.children) {
        entries.push_back({Value::String(entry.key), FromK8sValue(entry)});
      }
      return Value::Map(std::move(entries));
    }
  }
  return Value();
}

}  // namespace moat::cel
