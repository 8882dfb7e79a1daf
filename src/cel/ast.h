#pragma once
// The parsed expression: a tree of Nodes. The parser expands macros (has, all, exists,
// exists_one, map, filter, cel.bind, optMap, optFlatMap) into dedicated node kinds, and the
// compiler (program.cpp) resolves function names to ids and variables to slots, so evaluation
// does no string work for either.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cel/value.h"

namespace re2 {
class RE2;
}

namespace moat::cel {

enum class NodeKind : uint8_t {
  kConstant,     // constant
  kIdent,        // name (possibly dotted once the compiler folds a qualified name)
  kSelect,       // args[0].name; optional_select for `.?`
  kPresence,     // has(args[0].name)
  kCall,         // name(args...) or args[0].name(args[1..]) when receiver_style
  kList,         // [args...]; optional_indices marks `?` elements
  kMap,          // {args[0]: args[1], ...}; optional_indices marks `?` entries (by key index)
  kStruct,       // name{field: value}: message construction (no message types here)
  kAnd,          // args[0] && args[1]
  kOr,           // args[0] || args[1]
  kConditional,  // args[0] ? args[1] : args[2]
  kComprehension,
};

enum class MacroKind : uint8_t {
  kAll,
  kExists,
  kExistsOne,
  kMap,        // args: range, transform
  kMapFilter,  // args: range, predicate, transform
  kFilter,     // args: range, predicate
  kBind,       // args: init, body (range unused)
  kOptMap,     // args: optional, transform
  kOptFlatMap,
  kAll2,  // two-variable forms: iter_var = index/key, iter_var2 = value
  kExists2,
  kExistsOne2,
  kTransformList,  // args: range, [predicate,] transform; iter_var = index/key, iter_var2 = value
  kTransformMap,
  kBlock,  // cel.block([e0, e1, ...], body): args e0..en-1 bound to cel.index(i), then body
};

struct Node {
  NodeKind kind = NodeKind::kConstant;
  MacroKind macro = MacroKind::kAll;
  bool receiver_style = false;
  bool optional_select = false;  // `.?` or `[?`
  uint32_t position = 0;         // byte offset into the expression
  Value constant;
  std::string name;       // identifier, field, function or message name
  std::string iter_var;   // comprehension variable
  std::string iter_var2;  // second comprehension variable (two-variable macros)
  std::vector<std::unique_ptr<Node>> args;
  std::vector<uint32_t> optional_indices;  // list elements / map entries written with `?`
  std::vector<std::string> field_names;    // kStruct fields, in order of args
  std::string qualified;                   // kSelect over identifiers only: the dotted name "a.b.c"

  // Filled by the compiler.
  int function = -1;                // kCall: resolved function id
  int slot = -1;                    // kIdent: local variable slot; comprehensions: iter_var's slot
  int slot2 = -1;                   // comprehensions: iter_var2's slot
  const re2::RE2* regex = nullptr;  // a constant pattern compiled once (matches, find, ...)
};

using NodePtr = std::unique_ptr<Node>;

}  // namespace moat::cel
