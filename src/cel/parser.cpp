#include "cel/parser.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/text.h"
#include "core/utf8.h"

namespace moat::cel {
namespace {

enum class Tok : uint8_t {
  kEnd,
  kIdent,
  kInt,
  kUint,
  kDouble,
  kString,
  kBytes,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kLBrace,
  kRBrace,
  kDot,
  kComma,
  kColon,
  kQuestion,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kNot,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
  kIn,
  kTrue,
  kFalse,
  kNull,
};

struct Token {
  Tok kind = Tok::kEnd;
  uint32_t position = 0;
  std::string text;  // identifier, literal text (numbers) or decoded string/bytes contents
  bool backquoted = false;
};

bool IsReserved(std::string_view word) {
  static constexpr std::string_view kReserved[] = {
      "as",  "break", "const",   "continue",  "else",   "for", "function", "if",   "import",
      "let", "loop",  "package", "namespace", "return", "var", "void",     "while"};
  for (std::string_view r : kReserved) {
    if (r == word) return true;
  }
  return false;
}

bool IsIdentStart(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

class Parser {
 public:
  Parser(std::string_view text, const ParseLimits& limits) : text_(text), limits_(limits) {}

  Result<NodePtr> Run() {
    if (text_.size() > limits_.max_expression_bytes) {
      return Fail("expression is ", std::to_string(text_.size()), " bytes, over the limit of ",
                  std::to_string(limits_.max_expression_bytes));
    }
    Next();
    NodePtr root = ParseExpr();
    if (!failed_ && token_.kind != Tok::kEnd) Expected("end of expression");
    if (failed_) return error_;
    return root;
  }

 private:
  // ---- errors -------------------------------------------------------------------------------

  void ErrorAt(uint32_t position, std::string message) {
    if (failed_) return;
    failed_ = true;
    error_ = Error{LineColumn(text_, position) + ": " + message};
    token_.kind = Tok::kEnd;  // stop consuming
  }

  std::string Describe(const Token& t) const {
    if (t.kind == Tok::kEnd) return "end of expression";
    size_t end = pos_ <= text_.size() ? pos_ : text_.size();
    std::string_view written = text_.substr(t.position, end - t.position);
    if (written.size() > 20) written = written.substr(0, 20);
    return "'" + std::string(written) + "'";
  }

  void Expected(std::string_view what) {
    ErrorAt(token_.position,
            "syntax error: expected " + std::string(what) + " but found " + Describe(token_));
  }

  // ---- lexer --------------------------------------------------------------------------------

  void Next() {
    if (failed_) return;
    SkipSpace();
    token_ = Token{};
    token_.position = static_cast<uint32_t>(pos_);
    if (pos_ >= text_.size()) {
      token_.kind = Tok::kEnd;
      return;
    }
    char c = text_[pos_];
    char n = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    auto single = [&](Tok kind, size_t length = 1) {
      token_.kind = kind;
      pos_ += length;
    };
    switch (c) {
      case '(':
        return single(Tok::kLParen);
      case ')':
        return single(Tok::kRParen);
      case '[':
        return single(Tok::kLBracket);
      case ']':
        return single(Tok::kRBracket);
      case '{':
        return single(Tok::kLBrace);
      case '}':
        return single(Tok::kRBrace);
      case ',':
        return single(Tok::kComma);
      case ':':
        return single(Tok::kColon);
      case '?':
        return single(Tok::kQuestion);
      case '+':
        return single(Tok::kPlus);
      case '-':
        return single(Tok::kMinus);
      case '*':
        return single(Tok::kStar);
      case '/':
        return single(Tok::kSlash);
      case '%':
        return single(Tok::kPercent);
      case '!':
        return n == '=' ? single(Tok::kNe, 2) : single(Tok::kNot);
      case '=':
        if (n == '=') return single(Tok::kEq, 2);
        break;
      case '<':
        return n == '=' ? single(Tok::kLe, 2) : single(Tok::kLt);
      case '>':
        return n == '=' ? single(Tok::kGe, 2) : single(Tok::kGt);
      case '&':
        if (n == '&') return single(Tok::kAnd, 2);
        break;
      case '|':
        if (n == '|') return single(Tok::kOr, 2);
        break;
      case '.':
        if (IsDigit(n)) return LexNumber();
        return single(Tok::kDot);
      case '`':
        return LexBackquoted();
      case '"':
      case '\'':
        return LexString(false, false);
      default:
        break;
    }
    if (IsDigit(c)) return LexNumber();
    if (IsIdentStart(c)) {
      // String prefixes: r, b, rb, br in any case.
      size_t p = pos_;
      bool raw = false;
      bool bytes = false;
      for (int i = 0; i < 2 && p < text_.size(); ++i, ++p) {
        char l = text_[p] | 0x20;
        if (l == 'r' && !raw) {
          raw = true;
        } else if (l == 'b' && !bytes) {
          bytes = true;
        } else {
          break;
        }
      }
      if ((raw || bytes) && p < text_.size() && (text_[p] == '"' || text_[p] == '\'')) {
        pos_ = p;
        return LexString(raw, bytes);
      }
      size_t start = pos_;
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
      token_.text = std::string(text_.substr(start, pos_ - start));
      if (token_.text == "true")
        token_.kind = Tok::kTrue;
      else if (token_.text == "false")
        token_.kind = Tok::kFalse;
      else if (token_.text == "null")
        token_.kind = Tok::kNull;
      else if (token_.text == "in")
        token_.kind = Tok::kIn;
      else
        token_.kind = Tok::kIdent;
      return;
    }
    ErrorAt(token_.position, std::string("syntax error: unexpected character '") +
                                 std::string(text_.substr(pos_, Utf8Length(c))) + "'");
  }

  static size_t Utf8Length(char lead) {
    unsigned char c = static_cast<unsigned char>(lead);
    if (c < 0x80) return 1;
    if ((c >> 5) == 6) return 2;
    if ((c >> 4) == 14) return 3;
    return 4;
  }

  void SkipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  void LexNumber() {
    size_t start = pos_;
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && (text_[pos_ + 1] | 0x20) == 'x') {
      pos_ += 2;
      size_t digits = pos_;
      while (pos_ < text_.size() && HexDigitValue(text_[pos_]) >= 0) ++pos_;
      if (pos_ == digits)
        return ErrorAt(token_.position, "syntax error: hex literal has no digits");
      token_.text = std::string(text_.substr(start, pos_ - start));
      token_.kind = Tok::kInt;
      if (pos_ < text_.size() && (text_[pos_] | 0x20) == 'u') {
        ++pos_;
        token_.kind = Tok::kUint;
      }
      return;
    }
    bool is_double = false;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    if (pos_ + 1 < text_.size() && text_[pos_] == '.' && IsDigit(text_[pos_ + 1])) {
      is_double = true;
      ++pos_;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] | 0x20) == 'e') {
      size_t p = pos_ + 1;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (p < text_.size() && IsDigit(text_[p])) {
        is_double = true;
        pos_ = p;
        while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
      }
    }
    token_.text = std::string(text_.substr(start, pos_ - start));
    token_.kind = is_double ? Tok::kDouble : Tok::kInt;
    if (!is_double && pos_ < text_.size() && (text_[pos_] | 0x20) == 'u') {
      ++pos_;
      token_.kind = Tok::kUint;
    }
  }

  void LexBackquoted() {
    size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '`') {
      char c = text_[pos_];
      if (!IsIdentChar(c) && c != '.' && c != '-' && c != '/' && c != ' ') {
        return ErrorAt(static_cast<uint32_t>(pos_),
                       "syntax error: invalid character in quoted identifier");
      }
      ++pos_;
    }
    if (pos_ >= text_.size() || pos_ == start) {
      return ErrorAt(token_.position, "syntax error: unterminated quoted identifier");
    }
    token_.text = std::string(text_.substr(start, pos_ - start));
    token_.kind = Tok::kIdent;
    token_.backquoted = true;
    ++pos_;
  }

  void LexString(bool raw, bool bytes) {
    char quote = text_[pos_];
    bool triple = text_.substr(pos_, 3) == std::string(3, quote);
    pos_ += triple ? 3 : 1;
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) {
        return ErrorAt(token_.position, "syntax error: unterminated string literal");
      }
      char c = text_[pos_];
      if (triple ? text_.substr(pos_, 3) == std::string(3, quote) : c == quote) {
        pos_ += triple ? 3 : 1;
        break;
      }
      if (!triple && (c == '\n' || c == '\r')) {
        return ErrorAt(static_cast<uint32_t>(pos_),
                       "syntax error: newline in string literal (use ''' or \"\"\" for several "
                       "lines)");
      }
      if (c == '\\' && !raw) {
        if (!LexEscape(out, bytes)) return;
        continue;
      }
      if (c == '\\' && raw && pos_ + 1 < text_.size() && text_[pos_ + 1] == quote && !triple) {
        // A raw string still cannot contain its own quote unescaped; r'\'' keeps both chars.
        out += c;
        out += quote;
        pos_ += 2;
        continue;
      }
      out += c;
      ++pos_;
    }
    if (!bytes && !ValidUtf8(out)) {
      return ErrorAt(token_.position, "syntax error: string literal is not valid UTF-8");
    }
    token_.text = std::move(out);
    token_.kind = bytes ? Tok::kBytes : Tok::kString;
  }

  // Decodes one escape at pos_ (the backslash); false after reporting an error.
  bool LexEscape(std::string& out, bool bytes) {
    uint32_t at = static_cast<uint32_t>(pos_);
    ++pos_;
    if (pos_ >= text_.size()) {
      ErrorAt(at, "syntax error: unterminated escape sequence");
      return false;
    }
    char c = text_[pos_++];
    switch (c) {
      case 'a':
        out += '\a';
        return true;
      case 'b':
        out += '\b';
        return true;
      case 'f':
        out += '\f';
        return true;
      case 'n':
        out += '\n';
        return true;
      case 'r':
        out += '\r';
        return true;
      case 't':
        out += '\t';
        return true;
      case 'v':
        out += '\v';
        return true;
      case '\\':
        out += '\\';
        return true;
      case '?':
        out += '?';
        return true;
      case '"':
        out += '"';
        return true;
      case '\'':
        out += '\'';
        return true;
      case '`':
        out += '`';
        return true;
      case 'x':
      case 'X':
      case 'u':
      case 'U': {
        int digits = (c == 'x' || c == 'X') ? 2 : (c == 'u' ? 4 : 8);
        uint32_t value = 0;
        for (int i = 0; i < digits; ++i) {
          int h = pos_ < text_.size() ? HexDigitValue(text_[pos_]) : -1;
          if (h < 0) {
            ErrorAt(at, "syntax error: escape \\" + std::string(1, c) + " needs " +
                            std::to_string(digits) + " hex digits");
            return false;
          }
          value = value * 16 + static_cast<uint32_t>(h);
          ++pos_;
        }
        if (c == 'x' || c == 'X') {
          if (bytes)
            out += static_cast<char>(value);
          else
            AppendUtf8(out, value);
          return true;
        }
        if (bytes) {
          ErrorAt(at, "syntax error: \\u and \\U escapes are not allowed in bytes literals");
          return false;
        }
        if (value > 0x10ffff || (value >= 0xd800 && value < 0xe000)) {
          ErrorAt(at, "syntax error: escape is not a valid Unicode code point");
          return false;
        }
        AppendUtf8(out, value);
        return true;
      }
      default:
        if (c >= '0' && c <= '3') {
          uint32_t value = static_cast<uint32_t>(c - '0');
          for (int i = 0; i < 2; ++i) {
            if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '7') {
              ErrorAt(at, "syntax error: octal escape needs three digits");
              return false;
            }
            value = value * 8 + static_cast<uint32_t>(text_[pos_++] - '0');
          }
          if (bytes)
            out += static_cast<char>(value);
          else
            AppendUtf8(out, value);
          return true;
        }
        ErrorAt(at, "syntax error: invalid escape sequence \\" + std::string(1, c));
        return false;
    }
  }

  // ---- parser -------------------------------------------------------------------------------

  NodePtr NewNode(NodeKind kind, uint32_t position) {
    if (++node_count_ > limits_.max_nodes) {
      ErrorAt(position, "expression has more than " + std::to_string(limits_.max_nodes) + " nodes");
    }
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->position = position;
    return node;
  }

  NodePtr Call(std::string name, uint32_t position, std::vector<NodePtr> args) {
    NodePtr node = NewNode(NodeKind::kCall, position);
    node->name = std::move(name);
    node->args = std::move(args);
    return node;
  }

  NodePtr Binary(std::string name, uint32_t position, NodePtr a, NodePtr b) {
    std::vector<NodePtr> args;
    args.push_back(std::move(a));
    args.push_back(std::move(b));
    return Call(std::move(name), position, std::move(args));
  }

  // Depth guard: every recursive production holds one while it runs.
  struct DepthGuard {
    explicit DepthGuard(Parser& p) : parser(p) {
      if (++parser.depth_ > parser.limits_.max_depth) {
        parser.ErrorAt(
            parser.token_.position,
            "expression nests deeper than " + std::to_string(parser.limits_.max_depth) + " levels");
      }
    }
    ~DepthGuard() { --parser.depth_; }
    Parser& parser;
  };

  // Operator chains (a + b + c ..., !!!x) build trees as deep as they are long: each operator
  // counts as one level of nesting until the chain ends.
  struct ChainDepth {
    explicit ChainDepth(Parser& p) : parser(p) {}
    void Deepen() {
      ++added;
      if (++parser.depth_ > parser.limits_.max_depth) {
        parser.ErrorAt(
            parser.token_.position,
            "expression nests deeper than " + std::to_string(parser.limits_.max_depth) + " levels");
      }
    }
    ~ChainDepth() { parser.depth_ -= added; }
    Parser& parser;
    int added = 0;
  };

  bool Accept(Tok kind) {
    if (token_.kind != kind) return false;
    Next();
    return true;
  }

  bool Expect(Tok kind, std::string_view what) {
    if (Accept(kind)) return true;
    Expected(what);
    return false;
  }

  NodePtr ParseExpr() {
    DepthGuard guard(*this);
    if (failed_) return Dummy();
    NodePtr condition = ParseOr();
    if (token_.kind != Tok::kQuestion) return condition;
    uint32_t position = token_.position;
    Next();
    NodePtr then_branch = ParseOr();
    if (!Expect(Tok::kColon, "':'")) return Dummy();
    NodePtr else_branch = ParseExpr();
    NodePtr node = NewNode(NodeKind::kConditional, position);
    node->args.push_back(std::move(condition));
    node->args.push_back(std::move(then_branch));
    node->args.push_back(std::move(else_branch));
    return node;
  }

  // Logical chains are kept balanced (a || b || c || d as (a || b) || (c || d)) so that long
  // chains do not make deep trees.
  NodePtr Balance(NodeKind kind, std::vector<NodePtr>& terms, std::vector<uint32_t>& ops, size_t lo,
                  size_t hi) {
    if (lo == hi) return std::move(terms[lo]);
    size_t mid = (lo + hi) / 2;
    NodePtr node = NewNode(kind, ops[mid]);
    node->args.push_back(Balance(kind, terms, ops, lo, mid));
    node->args.push_back(Balance(kind, terms, ops, mid + 1, hi));
    return node;
  }

  NodePtr ParseOr() { return ParseLogical(Tok::kOr, NodeKind::kOr); }
  NodePtr ParseAnd() { return ParseLogical(Tok::kAnd, NodeKind::kAnd); }

  // a || b || ... (operands: && chains) or a && b && ... (operands: relations).
  NodePtr ParseLogical(Tok op, NodeKind kind) {
    std::vector<NodePtr> terms;
    std::vector<uint32_t> ops;
    terms.push_back(op == Tok::kOr ? ParseAnd() : ParseRelation());
    while (!failed_ && token_.kind == op) {
      ops.push_back(token_.position);
      Next();
      terms.push_back(op == Tok::kOr ? ParseAnd() : ParseRelation());
    }
    if (failed_) return Dummy();
    return Balance(kind, terms, ops, 0, terms.size() - 1);
  }

  NodePtr ParseRelation() {
    ChainDepth chain(*this);
    NodePtr left = ParseAddition();
    while (!failed_) {
      const char* name = nullptr;
      switch (token_.kind) {
        case Tok::kLt:
          name = "_<_";
          break;
        case Tok::kLe:
          name = "_<=_";
          break;
        case Tok::kGt:
          name = "_>_";
          break;
        case Tok::kGe:
          name = "_>=_";
          break;
        case Tok::kEq:
          name = "_==_";
          break;
        case Tok::kNe:
          name = "_!=_";
          break;
        case Tok::kIn:
          name = "@in";
          break;
        default:
          return left;
      }
      uint32_t position = token_.position;
      Next();
      chain.Deepen();
      NodePtr right = ParseAddition();
      left = Binary(name, position, std::move(left), std::move(right));
    }
    return left;
  }

  NodePtr ParseAddition() {
    ChainDepth chain(*this);
    NodePtr left = ParseMultiplication();
    while (!failed_ && (token_.kind == Tok::kPlus || token_.kind == Tok::kMinus)) {
      const char* name = token_.kind == Tok::kPlus ? "_+_" : "_-_";
      uint32_t position = token_.position;
      Next();
      chain.Deepen();
      NodePtr right = ParseMultiplication();
      left = Binary(name, position, std::move(left), std::move(right));
    }
    return left;
  }

  NodePtr ParseMultiplication() {
    ChainDepth chain(*this);
    NodePtr left = ParseUnary();
    while (!failed_ && (token_.kind == Tok::kStar || token_.kind == Tok::kSlash ||
                        token_.kind == Tok::kPercent)) {
      const char* name =
          token_.kind == Tok::kStar ? "_*_" : (token_.kind == Tok::kSlash ? "_/_" : "_%_");
      uint32_t position = token_.position;
      Next();
      chain.Deepen();
      NodePtr right = ParseUnary();
      left = Binary(name, position, std::move(left), std::move(right));
    }
    return left;
  }

  NodePtr ParseUnary() {
    DepthGuard guard(*this);
    if (failed_) return Dummy();
    if (token_.kind == Tok::kNot) {
      std::vector<uint32_t> positions;
      ChainDepth chain(*this);
      while (token_.kind == Tok::kNot && !failed_) {
        positions.push_back(token_.position);
        chain.Deepen();
        Next();
      }
      NodePtr operand = ParseMember();
      for (size_t i = positions.size(); i-- > 0;) {
        std::vector<NodePtr> args;
        args.push_back(std::move(operand));
        operand = Call("!_", positions[i], std::move(args));
      }
      return operand;
    }
    if (token_.kind == Tok::kMinus) {
      std::vector<uint32_t> positions;
      ChainDepth chain(*this);
      while (token_.kind == Tok::kMinus && !failed_) {
        positions.push_back(token_.position);
        chain.Deepen();
        Next();
      }
      NodePtr operand;
      // The grammar reads a minus right before a number as the literal's sign, so that
      // -9223372036854775808 is an int.
      if (token_.kind == Tok::kInt || token_.kind == Tok::kDouble) {
        uint32_t sign_position = positions.back();
        positions.pop_back();
        operand = ParseMemberSuffixes(ParseNumber(true, sign_position));
      } else {
        operand = ParseMember();
      }
      for (size_t i = positions.size(); i-- > 0;) {
        std::vector<NodePtr> args;
        args.push_back(std::move(operand));
        operand = Call("-_", positions[i], std::move(args));
      }
      return operand;
    }
    return ParseMember();
  }

  NodePtr ParseMember() {
    NodePtr primary = ParsePrimary();
    return ParseMemberSuffixes(std::move(primary));
  }

  NodePtr ParseMemberSuffixes(NodePtr operand) {
    ChainDepth chain(*this);
    while (!failed_) {
      if (token_.kind == Tok::kDot || token_.kind == Tok::kLBracket) {
        chain.Deepen();
        if (failed_) return Dummy();
      }
      if (token_.kind == Tok::kDot) {
        uint32_t position = token_.position;
        Next();
        bool optional = Accept(Tok::kQuestion);
        if (token_.kind != Tok::kIdent && token_.kind != Tok::kTrue && token_.kind != Tok::kFalse &&
            token_.kind != Tok::kNull && token_.kind != Tok::kIn) {
          Expected("a field name after '.'");
          return Dummy();
        }
        std::string field = token_.kind == Tok::kIdent ? token_.text : KeywordText(token_.kind);
        bool backquoted = token_.backquoted;
        uint32_t field_position = token_.position;
        Next();
        if (token_.kind == Tok::kLParen && !optional && !backquoted) {
          Next();
          std::vector<NodePtr> args;
          args.push_back(std::move(operand));
          if (!ParseArgs(args, Tok::kRParen, "')'")) return Dummy();
          operand = ExpandReceiverCall(std::move(field), field_position, std::move(args));
          continue;
        }
        NodePtr node = NewNode(NodeKind::kSelect, position);
        node->name = std::move(field);
        node->optional_select = optional;
        node->args.push_back(std::move(operand));
        operand = std::move(node);
      } else if (token_.kind == Tok::kLBracket) {
        uint32_t position = token_.position;
        Next();
        bool optional = Accept(Tok::kQuestion);
        NodePtr index = ParseExpr();
        if (!Expect(Tok::kRBracket, "']'")) return Dummy();
        NodePtr node =
            Binary(optional ? "_[?_]" : "_[_]", position, std::move(operand), std::move(index));
        operand = std::move(node);
      } else {
        return operand;
      }
    }
    return Dummy();
  }

  static std::string KeywordText(Tok kind) {
    switch (kind) {
      case Tok::kTrue:
        return "true";
      case Tok::kFalse:
        return "false";
      case Tok::kNull:
        return "null";
      case Tok::kIn:
        return "in";
      default:
        return "";
    }
  }

  // Parses `arg, arg, ...` up to the closing token (the opening one is consumed). A trailing
  // comma is allowed for lists only (the caller passes allow_trailing).
  bool ParseArgs(std::vector<NodePtr>& args, Tok close, std::string_view close_text) {
    if (Accept(close)) return true;
    while (!failed_) {
      args.push_back(ParseExpr());
      if (Accept(close)) return true;
      if (!Expect(Tok::kComma, "',' or " + std::string(close_text))) return false;
    }
    return false;
  }

  NodePtr ParseNumber(bool negative, uint32_t position) {
    std::string text = token_.text;
    Tok kind = token_.kind;
    Next();
    NodePtr node = NewNode(NodeKind::kConstant, position);
    if (kind == Tok::kDouble) {
      std::string full = (negative ? "-" : "") + text;
      char* end = nullptr;
      double d = std::strtod(full.c_str(), &end);
      node->constant = Value::Double(d);
      return node;
    }
    bool hex = text.size() > 1 && (text[1] | 0x20) == 'x';
    std::string_view digits = hex ? std::string_view(text).substr(2) : std::string_view(text);
    unsigned __int128 magnitude = 0;
    for (char c : digits) {
      magnitude = magnitude * (hex ? 16 : 10) + static_cast<unsigned>(HexDigitValue(c));
      if (magnitude > (static_cast<unsigned __int128>(1) << 64)) break;
    }
    if (kind == Tok::kUint) {
      if (negative || magnitude > UINT64_MAX) {
        ErrorAt(position, "uint literal out of range: " + std::string(negative ? "-" : "") + text);
        return Dummy();
      }
      node->constant = Value::Uint(static_cast<uint64_t>(magnitude));
      return node;
    }
    unsigned __int128 limit = static_cast<unsigned __int128>(INT64_MAX) + (negative ? 1 : 0);
    if (magnitude > limit) {
      ErrorAt(position, "int literal out of range: " + std::string(negative ? "-" : "") + text);
      return Dummy();
    }
    int64_t value = negative ? static_cast<int64_t>(-static_cast<__int128>(magnitude))
                             : static_cast<int64_t>(magnitude);
    node->constant = Value::Int(value);
    return node;
  }

  NodePtr ParsePrimary() {
    DepthGuard guard(*this);
    if (failed_) return Dummy();
    uint32_t position = token_.position;
    switch (token_.kind) {
      case Tok::kInt:
      case Tok::kUint:
      case Tok::kDouble:
        return ParseNumber(false, position);
      case Tok::kString:
      case Tok::kBytes: {
        NodePtr node = NewNode(NodeKind::kConstant, position);
        node->constant = token_.kind == Tok::kString ? Value::String(std::move(token_.text))
                                                     : Value::Bytes(std::move(token_.text));
        Next();
        return node;
      }
      case Tok::kTrue:
      case Tok::kFalse: {
        NodePtr node = NewNode(NodeKind::kConstant, position);
        node->constant = Value::Bool(token_.kind == Tok::kTrue);
        Next();
        return node;
      }
      case Tok::kNull: {
        NodePtr node = NewNode(NodeKind::kConstant, position);
        Next();
        return node;
      }
      case Tok::kLParen: {
        Next();
        NodePtr inner = ParseExpr();
        if (!Expect(Tok::kRParen, "')'")) return Dummy();
        return inner;
      }
      case Tok::kLBracket:
        return ParseList();
      case Tok::kLBrace:
        return ParseMap(position);
      case Tok::kDot:
      case Tok::kIdent:
        return ParseIdentOrCall();
      default:
        Expected("an expression");
        return Dummy();
    }
  }

  NodePtr ParseList() {
    uint32_t position = token_.position;
    Next();
    NodePtr node = NewNode(NodeKind::kList, position);
    while (!failed_ && token_.kind != Tok::kRBracket) {
      if (Accept(Tok::kQuestion)) {
        node->optional_indices.push_back(static_cast<uint32_t>(node->args.size()));
      }
      node->args.push_back(ParseExpr());
      if (token_.kind == Tok::kRBracket) break;
      if (!Expect(Tok::kComma, "',' or ']'")) return Dummy();
    }
    if (!Expect(Tok::kRBracket, "']'")) return Dummy();
    return node;
  }

  NodePtr ParseMap(uint32_t position) {
    Next();
    NodePtr node = NewNode(NodeKind::kMap, position);
    while (!failed_ && token_.kind != Tok::kRBrace) {
      if (Accept(Tok::kQuestion)) {
        node->optional_indices.push_back(static_cast<uint32_t>(node->args.size() / 2));
      }
      node->args.push_back(ParseExpr());
      if (!Expect(Tok::kColon, "':'")) return Dummy();
      node->args.push_back(ParseExpr());
      if (token_.kind == Tok::kRBrace) break;
      if (!Expect(Tok::kComma, "',' or '}'")) return Dummy();
    }
    if (!Expect(Tok::kRBrace, "'}'")) return Dummy();
    return node;
  }

  NodePtr ParseIdentOrCall() {
    uint32_t position = token_.position;
    std::string name;
    if (Accept(Tok::kDot)) name = ".";  // leading dot: root-scope name
    if (token_.kind != Tok::kIdent || token_.backquoted) {
      Expected("an identifier");
      return Dummy();
    }
    if (IsReserved(token_.text)) {
      ErrorAt(token_.position, "syntax error: reserved identifier '" + token_.text + "'");
      return Dummy();
    }
    name += token_.text;
    Next();
    if (token_.kind == Tok::kLParen) {
      Next();
      std::vector<NodePtr> args;
      if (!ParseArgs(args, Tok::kRParen, "')'")) return Dummy();
      return ExpandGlobalCall(std::move(name), position, std::move(args));
    }
    // Message construction: Name{field: value, ...} or a.b.Name{...}.
    if (token_.kind == Tok::kLBrace) return ParseStruct(std::move(name), position);
    NodePtr node = NewNode(NodeKind::kIdent, position);
    node->name = std::move(name);
    // A dotted type name before '{' (google.protobuf.Int64Value{...}).
    return MaybeQualifiedStruct(std::move(node));
  }

  NodePtr MaybeQualifiedStruct(NodePtr ident) {
    // Only a chain of plain selects followed by '{' is a message name; look ahead cheaply.
    size_t save_pos = pos_;
    Token save_token = token_;
    std::string name = ident->name;
    while (token_.kind == Tok::kDot) {
      Next();
      if (token_.kind != Tok::kIdent || token_.backquoted) break;
      name += "." + token_.text;
      Next();
      if (token_.kind == Tok::kLBrace) return ParseStruct(std::move(name), ident->position);
    }
    if (failed_) return ident;
    pos_ = save_pos;
    token_ = std::move(save_token);
    return ident;
  }

  NodePtr ParseStruct(std::string name, uint32_t position) {
    Next();  // '{'
    NodePtr node = NewNode(NodeKind::kStruct, position);
    node->name = std::move(name);
    while (!failed_ && token_.kind != Tok::kRBrace) {
      if (Accept(Tok::kQuestion)) {
        node->optional_indices.push_back(static_cast<uint32_t>(node->args.size()));
      }
      if (token_.kind != Tok::kIdent) {
        Expected("a field name");
        return Dummy();
      }
      node->field_names.push_back(token_.text);
      Next();
      if (!Expect(Tok::kColon, "':'")) return Dummy();
      node->args.push_back(ParseExpr());
      if (token_.kind == Tok::kRBrace) break;
      if (!Expect(Tok::kComma, "',' or '}'")) return Dummy();
    }
    if (!Expect(Tok::kRBrace, "'}'")) return Dummy();
    return node;
  }

  // ---- macros -------------------------------------------------------------------------------

  // The simple name of a macro variable argument, or "" after reporting an error.
  std::string MacroVariable(const NodePtr& arg, std::string_view macro) {
    if (arg->kind != NodeKind::kIdent || arg->name.empty() || arg->name[0] == '.') {
      ErrorAt(arg->position,
              "syntax error: argument of " + std::string(macro) + " must be a simple name");
      return "";
    }
    return arg->name;
  }

  NodePtr Comprehension(MacroKind macro, uint32_t position, std::string var, std::string var2,
                        std::vector<NodePtr> args) {
    NodePtr node = NewNode(NodeKind::kComprehension, position);
    node->macro = macro;
    node->iter_var = std::move(var);
    node->iter_var2 = std::move(var2);
    node->args = std::move(args);
    return node;
  }

  NodePtr ExpandGlobalCall(std::string name, uint32_t position, std::vector<NodePtr> args) {
    if (name == "has" && args.size() == 1) {
      NodePtr& arg = args[0];
      if (arg->kind != NodeKind::kSelect || arg->optional_select) {
        ErrorAt(arg->position, "syntax error: has() needs a field selection, like has(a.b)");
        return Dummy();
      }
      arg->kind = NodeKind::kPresence;
      return std::move(arg);
    }
    return Call(std::move(name), position, std::move(args));
  }

  NodePtr ExpandReceiverCall(std::string name, uint32_t position, std::vector<NodePtr> args) {
    // args[0] is the receiver.
    size_t n = args.size() - 1;
    MacroKind macro;
    bool is_macro = true;
    if (name == "all" && (n == 2 || n == 3))
      macro = n == 2 ? MacroKind::kAll : MacroKind::kAll2;
    else if (name == "exists" && (n == 2 || n == 3))
      macro = n == 2 ? MacroKind::kExists : MacroKind::kExists2;
    else if ((name == "exists_one" || name == "existsOne") && (n == 2 || n == 3))
      macro = n == 2 ? MacroKind::kExistsOne : MacroKind::kExistsOne2;
    else if (name == "map" && n == 2)
      macro = MacroKind::kMap;
    else if (name == "map" && n == 3)
      macro = MacroKind::kMapFilter;
    else if (name == "filter" && n == 2)
      macro = MacroKind::kFilter;
    else if (name == "optMap" && n == 2)
      macro = MacroKind::kOptMap;
    else if (name == "optFlatMap" && n == 2)
      macro = MacroKind::kOptFlatMap;
    else if (name == "transformList" && (n == 3 || n == 4))
      macro = MacroKind::kTransformList;
    else if (name == "transformMap" && (n == 3 || n == 4))
      macro = MacroKind::kTransformMap;
    else
      is_macro = false;

    bool on_cel = args[0]->kind == NodeKind::kIdent && args[0]->name == "cel";
    // cel.index(i), cel.iterVar(i, j), cel.accuVar(i, j): the variables of cel.block and of
    // the comprehensions inside it (the form optimizers write common subexpressions in).
    if (!is_macro && on_cel && (name == "index" || name == "iterVar" || name == "accuVar")) {
      std::string variable = "@" + name;
      for (size_t i = 1; i < args.size(); ++i) {
        if (args[i]->kind != NodeKind::kConstant || !args[i]->constant.Is(Kind::kInt) ||
            args[i]->constant.AsInt() < 0) {
          ErrorAt(args[i]->position, "syntax error: cel." + name + " takes int literals");
          return Dummy();
        }
        variable += ":" + std::to_string(args[i]->constant.AsInt());
      }
      if (args.size() != (name == "index" ? 2u : 3u)) {
        ErrorAt(position, "syntax error: wrong number of arguments to cel." + name);
        return Dummy();
      }
      NodePtr ident = NewNode(NodeKind::kIdent, position);
      ident->name = std::move(variable);
      return ident;
    }
    if (!is_macro && on_cel && name == "block" && n == 2) {
      if (args[1]->kind != NodeKind::kList || !args[1]->optional_indices.empty()) {
        ErrorAt(args[1]->position, "syntax error: cel.block needs a list literal of bindings");
        return Dummy();
      }
      std::vector<NodePtr> parts = std::move(args[1]->args);
      parts.push_back(std::move(args[2]));
      return Comprehension(MacroKind::kBlock, position, "", "", std::move(parts));
    }
    // cel.bind(var, init, body): the receiver is the identifier `cel`.
    if (!is_macro && name == "bind" && n == 3 && args[0]->kind == NodeKind::kIdent &&
        args[0]->name == "cel") {
      std::string var = MacroVariable(args[1], "cel.bind");
      if (failed_) return Dummy();
      std::vector<NodePtr> parts;
      parts.push_back(nullptr);  // no range
      parts.push_back(std::move(args[2]));
      parts.push_back(std::move(args[3]));
      return Comprehension(MacroKind::kBind, position, std::move(var), "", std::move(parts));
    }
    if (!is_macro) {
      NodePtr node = Call(std::move(name), position, std::move(args));
      node->receiver_style = true;
      return node;
    }
    bool two_vars = macro == MacroKind::kAll2 || macro == MacroKind::kExists2 ||
                    macro == MacroKind::kExistsOne2 || macro == MacroKind::kTransformList ||
                    macro == MacroKind::kTransformMap;
    std::string var = MacroVariable(args[1], name);
    std::string var2 = two_vars ? MacroVariable(args[2], name) : "";
    if (failed_) return Dummy();
    if (two_vars && var == var2) {
      ErrorAt(args[2]->position, "syntax error: the two variables of " + name + " must differ");
      return Dummy();
    }
    std::vector<NodePtr> parts;
    parts.push_back(std::move(args[0]));
    for (size_t i = two_vars ? 3 : 2; i < args.size(); ++i) parts.push_back(std::move(args[i]));
    return Comprehension(macro, position, std::move(var), std::move(var2), std::move(parts));
  }

  NodePtr Dummy() { return std::make_unique<Node>(); }

  std::string_view text_;
  const ParseLimits& limits_;
  size_t pos_ = 0;
  Token token_;
  bool failed_ = false;
  Error error_;
  int depth_ = 0;
  size_t node_count_ = 0;
};

}  // namespace

Result<NodePtr> Parse(std::string_view expression, const ParseLimits& limits) {
  Parser parser(expression, limits);
  return parser.Run();
}

std::string LineColumn(std::string_view expression, uint32_t offset) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < expression.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(expression[i]);
    if (c == '\n') {
      ++line;
      column = 1;
    } else if ((c & 0xc0) != 0x80) {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace moat::cel
