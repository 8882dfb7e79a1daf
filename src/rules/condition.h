#pragma once
// The condition language of Falco's rules (docs/rules.md "Conditions"): parsed into a tree that
// still names macros, lists and fields; engine.cpp resolves them against a source.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::rules {

enum class CompareOp : uint8_t {
  kEq,  // = and ==
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,
  kIntersects,
  kPmatch,
  kContains,
  kIContains,
  kBContains,
  kStartsWith,
  kBStartsWith,
  kEndsWith,
  kGlob,
  kIGlob,
  kRegex,
  kExists,
};

/// The spelling of an operator in rules ("=", "in", "startswith", ...).
std::string_view CompareOpName(CompareOp op);
/// An operator by its spelling; nullopt for anything else.
std::optional<CompareOp> ParseCompareOp(std::string_view text);
/// Operators whose right side is a list: in, intersects, pmatch.
bool TakesList(CompareOp op);

/// A value on the right of an operator as written.
struct ConditionValue {
  std::string text;
  bool quoted = false;  // a quoted value is never a list name
};

struct ConditionNode {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kMacro, kCheck };
  Kind kind = Kind::kCheck;
  std::vector<ConditionNode> children;  // and/or: two or more; not: one
  std::string name;                     // macro name or field name
  std::optional<std::string> argument;  // field[argument]
  CompareOp op = CompareOp::kExists;
  std::vector<ConditionValue> values;  // one for scalar operators, any number for lists
  uint32_t offset = 0;                 // where it starts in the condition text (0-based)
};

/// Parses a condition. Errors give the 1-based column: "column 17: expected a value after
/// 'startswith'".
Result<ConditionNode> ParseCondition(std::string_view text);

/// Parses a list item or exception value as the condition language would ("a", '"b c"').
/// Falco list items are YAML scalars; this only strips quotes the YAML left in.
ConditionValue ListItemValue(std::string_view yaml_text);

}  // namespace moat::rules
