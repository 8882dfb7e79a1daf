// A small recursive-descent checker for SPDX license expressions (SPDX 2.3 Annex D).

#include <cctype>
#include <string>
#include <vector>

#include "report/spdx_licenses.h"

namespace moat {
namespace {

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

class ExpressionParser {
 public:
  explicit ExpressionParser(std::string_view text) : text_(text) { Tokenize(); }

  Result<std::string> Parse() {
    if (!error_.empty()) return Error{error_};
    if (tokens_.empty()) return Fail("empty license expression");
    MOAT_ASSIGN_OR_RETURN(std::string out, ParseOr());
    if (position_ != tokens_.size()) return Fail("unexpected '", tokens_[position_], "'");
    return out;
  }

 private:
  void Tokenize() {
    std::string current;
    auto flush = [&] {
      if (!current.empty()) tokens_.push_back(std::move(current));
      current.clear();
    };
    for (char c : text_) {
      if (c == '(' || c == ')') {
        flush();
        tokens_.emplace_back(1, c);
      } else if (c == ' ' || c == '\t') {
        flush();
      } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '+' ||
                 c == ':') {
        current.push_back(c);
      } else {
        error_ = std::string("character '") + c + "' is not allowed in an SPDX expression";
        return;
      }
    }
    flush();
  }

  bool PeekOperator(std::string_view op) const {
    return position_ < tokens_.size() && Upper(tokens_[position_]) == op;
  }

  Result<std::string> ParseOr() {
    MOAT_ASSIGN_OR_RETURN(std::string out, ParseAnd());
    while (PeekOperator("OR")) {
      ++position_;
      MOAT_ASSIGN_OR_RETURN(std::string right, ParseAnd());
      out += " OR " + right;
    }
    return out;
  }

  Result<std::string> ParseAnd() {
    MOAT_ASSIGN_OR_RETURN(std::string out, ParseTerm());
    while (PeekOperator("AND")) {
      ++position_;
      MOAT_ASSIGN_OR_RETURN(std::string right, ParseTerm());
      out += " AND " + right;
    }
    return out;
  }

  Result<std::string> ParseTerm() {
    if (position_ >= tokens_.size()) return Fail("license expression ends early");
    if (tokens_[position_] == "(") {
      // Bound the nesting: the input is untrusted.
      if (++depth_ > 64) return Fail("license expression nested too deeply");
      ++position_;
      MOAT_ASSIGN_OR_RETURN(std::string inner, ParseOr());
      if (position_ >= tokens_.size() || tokens_[position_] != ")") return Fail("missing ')'");
      ++position_;
      --depth_;
      return "(" + inner + ")";
    }
    std::string_view token = tokens_[position_];
    const std::string upper = Upper(token);
    if (upper == "AND" || upper == "OR" || upper == "WITH" || token == ")") {
      return Fail("unexpected '", std::string(token), "'");
    }
    ++position_;
    bool or_later = false;
    if (token.size() > 1 && token.back() == '+') {
      or_later = true;
      token.remove_suffix(1);
    }
    auto id = CanonicalSpdxLicenseId(token);
    if (!id) return Fail("'", std::string(token), "' is not an SPDX license identifier");
    std::string out = std::string(*id) + (or_later ? "+" : "");
    if (PeekOperator("WITH")) {
      ++position_;
      if (position_ >= tokens_.size()) return Fail("WITH without an exception");
      auto exception = CanonicalSpdxExceptionId(tokens_[position_]);
      if (!exception) {
        return Fail("'", tokens_[position_], "' is not an SPDX license exception identifier");
      }
      ++position_;
      out += " WITH " + std::string(*exception);
    }
    return out;
  }

  std::string_view text_;
  std::vector<std::string> tokens_;
  std::string error_;
  size_t position_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<std::string> CanonicalSpdxExpression(std::string_view expression) {
  return ExpressionParser(expression).Parse();
}

}  // namespace moat
