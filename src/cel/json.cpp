#include "cel/json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "artifact/source_util.h"

namespace moat::cel {
namespace {

using Json = nlohmann::json;

Value FromJson(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return Value();
    case Json::value_t::boolean:
      return Value::Bool(j.get<bool>());
    case Json::value_t::number_integer:
      return Value::Int(j.get<int64_t>());
    case Json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value::Int(static_cast<int64_t>(u));
      return Value::Uint(u);
    }
    case Json::value_t::number_float:
      return Value::Double(j.get<double>());
    case Json::value_t::string:
      return Value::String(j.get<std::string>());
    case Json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const Json& item : j) items.push_back(FromJson(item));
      return Value::List(std::move(items));
    }
    case Json::value_t::object: {
      std::vector<MapEntry> entries;
      entries.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) {
        entries.push_back({Value::String(it.key()), FromJson(it.value())});
      }
      return Value::Map(std::move(entries));
    }
    default:
      return Value();
  }
}

Json Double(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return d;
}

Json ToJsonTree(const Value& v) {
  switch (v.kind()) {
    case Kind::kNull:
      return nullptr;
    case Kind::kBool:
      return v.AsBool();
    case Kind::kInt:
      return v.AsInt();
    case Kind::kUint:
      return v.AsUint();
    case Kind::kDouble:
      return Double(v.AsDouble());
    case Kind::kString:
    case Kind::kType:
      return v.AsString();
    case Kind::kBytes:
      return Base64Encode(v.AsString());
    case Kind::kList: {
      Json out = Json::array();
      for (const Value& item : v.AsList()) out.push_back(ToJsonTree(item));
      return out;
    }
    case Kind::kMap: {
      Json out = Json::object();
      for (const MapEntry& e : v.AsMap()) {
        std::string key = e.key.Is(Kind::kString) ? e.key.AsString() : DebugString(e.key);
        if (e.key.Is(Kind::kUint)) key.pop_back();  // "1u" -> "1"
        out[key] = ToJsonTree(e.value);
      }
      return out;
    }
    case Kind::kTimestamp:
      return FormatTimestamp(v.AsNanos());
    case Kind::kDuration:
      return FormatDuration(v.AsNanos());
    case Kind::kOptional:
      return v.HasValue() ? ToJsonTree(v.OptionalValue()) : Json(nullptr);
    case Kind::kOpaque:
      return v.AsOpaque()->ToString();
    case Kind::kError:
      return Json{{"error", v.AsString()}};
  }
  return nullptr;
}

}  // namespace

Result<Value> ValueFromJson(std::string_view json_text) {
  try {
    return FromJson(Json::parse(json_text));
  } catch (const Json::exception& e) {
    return Fail("invalid JSON: ", e.what());
  }
}

Value ValueFromJsonTree(const nlohmann::json& json) { return FromJson(json); }

std::string ToJson(const Value& value, int indent) {
  return ToJsonTree(value).dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace moat::cel
