#pragma once
// CEL values from and to JSON text (CEL's JSON mapping: ints and doubles as numbers, bytes as
// base64, timestamps and durations as their RFC 3339 / "1.5s" strings). nlohmann stays in the
// .cpp file.

#include <nlohmann/json_fwd.hpp>  // declarations only; the library stays in the .cpp
#include <string>
#include <string_view>

#include "cel/value.h"
#include "core/result.h"

namespace moat::cel {

/// Parses JSON into a Value: whole numbers become int (uint when above int64), others double;
/// objects become maps with string keys. Errors name the place: "JSON at byte 17: ...".
Result<Value> ValueFromJson(std::string_view json_text);
/// The same from an already parsed document (the admission webhook's AdmissionReview).
Value ValueFromJsonTree(const nlohmann::json& json);

/// The JSON form of `value` (compact, or indented by `indent` spaces when >= 0). NaN and the
/// infinities are written as the strings "NaN", "Infinity", "-Infinity"; optional.none() as
/// null; error values as {"error": message}.
std::string ToJson(const Value& value, int indent = -1);

}  // namespace moat::cel
