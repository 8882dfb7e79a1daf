#pragma once
// CEL's lexer and recursive-descent parser (the grammar of the cel-spec language definition),
// with macro expansion. Hostile input is bounded: the expression length, the nesting depth and
// the number of nodes have limits, and every error names line:column and what was expected.

#include <cstddef>
#include <string>
#include <string_view>

#include "cel/ast.h"
#include "core/result.h"

namespace moat::cel {

struct ParseLimits {
  /// Longest expression accepted, in bytes (Kubernetes bounds expressions well below this).
  size_t max_expression_bytes = 100 * 1024;
  /// Deepest nesting of parentheses, calls, lists, operators... (cel-go's default is 250).
  int max_depth = 250;
  /// Most AST nodes after macro expansion.
  size_t max_nodes = 100000;
};

/// Parses `expression`; errors read "1:7: expected ')' but found 'x'".
Result<NodePtr> Parse(std::string_view expression, const ParseLimits& limits = {});

/// "line:column" (1-based; columns count code points) of byte `offset` in `expression`.
std::string LineColumn(std::string_view expression, uint32_t offset);

}  // namespace moat::cel
