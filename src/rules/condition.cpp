#include "rules/condition.h"

#include <array>
#include <utility>

namespace moat::rules {
namespace {

struct OpSpelling {
  std::string_view name;
  CompareOp op;
};

// Longest symbols first so that "<=" is not read as "<".
constexpr std::array<OpSpelling, 7> kSymbolOps = {{{"==", CompareOp::kEq},
                                                   {"!=", CompareOp::kNe},
                                                   {"<=", CompareOp::kLe},
                                                   {">=", CompareOp::kGe},
                                                   {"=", CompareOp::kEq},
                                                   {"<", CompareOp::kLt},
                                                   {">", CompareOp::kGt}}};

constexpr std::array<OpSpelling, 13> kWordOps = {{{"in", CompareOp::kIn},
                                                  {"intersects", CompareOp::kIntersects},
                                                  {"pmatch", CompareOp::kPmatch},
                                                  {"contains", CompareOp::kContains},
                                                  {"icontains", CompareOp::kIContains},
                                                  {"bcontains", CompareOp::kBContains},
                                                  {"startswith", CompareOp::kStartsWith},
                                                  {"bstartswith", CompareOp::kBStartsWith},
                                                  {"endswith", CompareOp::kEndsWith},
                                                  {"glob", CompareOp::kGlob},
                                                  {"iglob", CompareOp::kIGlob},
                                                  {"regex", CompareOp::kRegex},
                                                  {"exists", CompareOp::kExists}}};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<ConditionNode> Run() {
    MOAT_ASSIGN_OR_RETURN(ConditionNode node, ParseOr());
    SkipSpace();
    if (pos_ < text_.size()) return Here("unexpected '", std::string(text_.substr(pos_, 1)), "'");
    return node;
  }

 private:
  template <typename... Parts>
  Error Here(Parts&&... parts) const {
    return Fail("column ", std::to_string(pos_ + 1), ": ", std::forward<Parts>(parts)...);
  }

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }

  // The keyword at the cursor when it is a whole word.
  bool AtKeyword(std::string_view word) {
    SkipSpace();
    if (text_.substr(pos_, word.size()) != word) return false;
    const size_t after = pos_ + word.size();
    return after >= text_.size() || !IsIdentChar(text_[after]);
  }

  Result<ConditionNode> Combine(ConditionNode::Kind kind, bool (Parser::*at_op)(),
                                Result<ConditionNode> (Parser::*operand)()) {
    const uint32_t start = static_cast<uint32_t>(pos_);
    MOAT_ASSIGN_OR_RETURN(ConditionNode first, (this->*operand)());
    if (!(this->*at_op)()) return first;
    ConditionNode node;
    node.kind = kind;
    node.offset = start;
    node.children.push_back(std::move(first));
    while ((this->*at_op)()) {
      pos_ += kind == ConditionNode::Kind::kOr ? 2 : 3;
      MOAT_ASSIGN_OR_RETURN(ConditionNode next, (this->*operand)());
      node.children.push_back(std::move(next));
    }
    return node;
  }

  bool AtOr() { return AtKeyword("or"); }
  bool AtAnd() { return AtKeyword("and"); }

  Result<ConditionNode> ParseOr() {
    if (++depth_ > kMaxDepth) return Here("condition nested too deeply");
    auto node = Combine(ConditionNode::Kind::kOr, &Parser::AtOr, &Parser::ParseAnd);
    --depth_;
    return node;
  }
  Result<ConditionNode> ParseAnd() {
    return Combine(ConditionNode::Kind::kAnd, &Parser::AtAnd, &Parser::ParseNot);
  }

  Result<ConditionNode> ParseNot() {
    if (AtKeyword("not")) {
      ConditionNode node;
      node.kind = ConditionNode::Kind::kNot;
      node.offset = static_cast<uint32_t>(pos_);
      pos_ += 3;
      if (++depth_ > kMaxDepth) return Here("condition nested too deeply");
      MOAT_ASSIGN_OR_RETURN(ConditionNode operand, ParseNot());
      --depth_;
      node.children.push_back(std::move(operand));
      return node;
    }
    return ParsePrimary();
  }

  Result<ConditionNode> ParsePrimary() {
    SkipSpace();
    if (pos_ >= text_.size()) return Here("expected a field, a macro or '('");
    if (text_[pos_] == '(') {
      ++pos_;
      MOAT_ASSIGN_OR_RETURN(ConditionNode inner, ParseOr());
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ')') return Here("expected ')'");
      ++pos_;
      return inner;
    }
    const size_t start = pos_;
    while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
    if (pos_ == start) return Here("expected a field, a macro or '('");
    ConditionNode node;
    node.offset = static_cast<uint32_t>(start);
    node.name = std::string(text_.substr(start, pos_ - start));
    if (pos_ < text_.size() && text_[pos_] == '[') {
      const size_t close = text_.find(']', pos_);
      if (close == std::string_view::npos) return Here("'[' without ']'");
      node.argument = std::string(text_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
    }
    const size_t before_op = pos_;
    SkipSpace();
    std::optional<CompareOp> op;
    for (const OpSpelling& symbol : kSymbolOps) {
      if (text_.substr(pos_, symbol.name.size()) == symbol.name) {
        op = symbol.op;
        pos_ += symbol.name.size();
        break;
      }
    }
    if (!op) {
      for (const OpSpelling& word : kWordOps) {
        if (AtKeyword(word.name)) {
          op = word.op;
          pos_ += word.name.size();
          break;
        }
      }
    }
    if (!op) {
      // No operator: a macro reference (Falco has no bare boolean fields).
      pos_ = before_op;
      if (node.argument) return Here("field ", node.name, " without an operator");
      node.kind = ConditionNode::Kind::kMacro;
      return node;
    }
    node.kind = ConditionNode::Kind::kCheck;
    node.op = *op;
    if (*op == CompareOp::kExists) return node;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      if (!TakesList(*op)) {
        // A parenthesised single value (Falco accepts "evt.type = (open)" too).
        ++pos_;
        MOAT_TRY(ParseListValues(node, *op));
        if (node.values.size() != 1) {
          return Here("'", std::string(CompareOpName(*op)), "' takes one value, not a list");
        }
        return node;
      }
      ++pos_;
      MOAT_TRY(ParseListValues(node, *op));
      return node;
    }
    MOAT_ASSIGN_OR_RETURN(ConditionValue value, ParseValue(/*in_list=*/false, *op));
    node.values.push_back(std::move(value));
    return node;
  }

  // After '(': values separated by commas (or spaces), up to ')'.
  Result<void> ParseListValues(ConditionNode& node, CompareOp op) {
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size()) return Here("list without ')'");
      if (text_[pos_] == ')') {
        ++pos_;
        return Ok();
      }
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      MOAT_ASSIGN_OR_RETURN(ConditionValue value, ParseValue(/*in_list=*/true, op));
      node.values.push_back(std::move(value));
    }
  }

  Result<ConditionValue> ParseValue(bool in_list, CompareOp op) {
    SkipSpace();
    if (pos_ >= text_.size()) {
      return Here("expected a value after '", std::string(CompareOpName(op)), "'");
    }
    ConditionValue value;
    const char quote = text_[pos_];
    if (quote == '"' || quote == '\'') {
      ++pos_;
      value.quoted = true;
      while (pos_ < text_.size() && text_[pos_] != quote) {
        // Falco's strings know \" \' and \\; other backslashes stay as written (regexes).
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size() &&
            (text_[pos_ + 1] == quote || text_[pos_ + 1] == '\\')) {
          ++pos_;
        }
        value.text += text_[pos_++];
      }
      if (pos_ >= text_.size()) return Here("string without its closing ", std::string(1, quote));
      ++pos_;
      return value;
    }
    const size_t start = pos_;
    while (pos_ < text_.size() && !IsSpace(text_[pos_]) && text_[pos_] != ')' &&
           !(in_list && text_[pos_] == ',') && text_[pos_] != '(') {
      ++pos_;
    }
    if (pos_ == start) {
      return Here("expected a value after '", std::string(CompareOpName(op)), "'");
    }
    value.text = std::string(text_.substr(start, pos_ - start));
    return value;
  }

  static constexpr int kMaxDepth = 200;
  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::string_view CompareOpName(CompareOp op) {
  if (op == CompareOp::kEq) return "=";
  for (const OpSpelling& symbol : kSymbolOps) {
    if (symbol.op == op) return symbol.name;
  }
  for (const OpSpelling& word : kWordOps) {
    if (word.op == op) return word.name;
  }
  return "?";
}

std::optional<CompareOp> ParseCompareOp(std::string_view text) {
  for (const OpSpelling& symbol : kSymbolOps) {
    if (symbol.name == text) return symbol.op;
  }
  for (const OpSpelling& word : kWordOps) {
    if (word.name == text) return word.op;
  }
  return std::nullopt;
}

bool TakesList(CompareOp op) {
  return op == CompareOp::kIn || op == CompareOp::kIntersects || op == CompareOp::kPmatch;
}

Result<ConditionNode> ParseCondition(std::string_view text) { return Parser(text).Run(); }

ConditionValue ListItemValue(std::string_view yaml_text) {
  ConditionValue value;
  if (yaml_text.size() >= 2 && (yaml_text.front() == '"' || yaml_text.front() == '\'') &&
      yaml_text.back() == yaml_text.front()) {
    value.text = std::string(yaml_text.substr(1, yaml_text.size() - 2));
    value.quoted = true;
    return value;
  }
  value.text = std::string(yaml_text);
  return value;
}

}  // namespace moat::rules
