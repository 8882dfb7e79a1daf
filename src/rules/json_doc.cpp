#include "rules/json_doc.h"

#include <cstring>

#include "core/json_writer.h"
#include "core/text.h"
#include "core/utf8.h"

namespace moat::rules {
namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Whether any of the 8 bytes is '"', '\\' or a control character (< 0x20): the bit tricks of
// "Bit Twiddling Hacks" (haszero, hasless), exact for these values.
inline bool MayEndPlainRun(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighs = 0x8080808080808080ull;
  auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const uint64_t quote = has_zero(word ^ (kOnes * '"'));
  const uint64_t backslash = has_zero(word ^ (kOnes * '\\'));
  const uint64_t control = (word - kOnes * 0x20) & ~word & kHighs;
  return (quote | backslash | control) != 0;
}

class Builder {
 public:
  Builder(std::string_view text, std::string& decoded, std::vector<JsonDoc::Node>& nodes,
          std::string_view input_name, uint32_t max_depth)
      : text_(text),
        decoded_(decoded),
        nodes_(nodes),
        input_name_(input_name),
        max_depth_(max_depth) {}

  Result<void> Run() {
    SkipSpace();
    MOAT_TRY(ParseValue({}, 0));
    SkipSpace();
    if (pos_ != text_.size()) return Here("unexpected data after the JSON value");
    return Ok();
  }

 private:
  template <typename... Parts>
  Error Here(Parts&&... parts) const {
    return Fail(input_name_, ": offset ", std::to_string(pos_), ": ",
                std::forward<Parts>(parts)...);
  }

  void SkipSpace() {
    while (pos_ < text_.size() && IsJsonSpace(text_[pos_])) ++pos_;
  }

  Result<void> ParseValue(std::string_view key, uint32_t depth) {
    if (pos_ >= text_.size()) return Here("unexpected end of input");
    if (nodes_.size() >= JsonDoc::kNone - 1) return Here("too many values");
    const uint32_t index = static_cast<uint32_t>(nodes_.size());
    nodes_.push_back({});
    nodes_[index].key = key;
    const char c = text_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= max_depth_) return Here("nested deeper than ", std::to_string(max_depth_));
      const bool object = c == '{';
      nodes_[index].kind = object ? JsonDoc::Kind::kObject : JsonDoc::Kind::kArray;
      ++pos_;
      SkipSpace();
      const char close = object ? '}' : ']';
      if (pos_ < text_.size() && text_[pos_] == close) {
        ++pos_;
      } else {
        while (true) {
          std::string_view member_key;
          if (object) {
            SkipSpace();
            if (pos_ >= text_.size() || text_[pos_] != '"') return Here("expected a member name");
            MOAT_ASSIGN_OR_RETURN(member_key, ParseString());
            SkipSpace();
            if (pos_ >= text_.size() || text_[pos_] != ':') return Here("expected ':'");
            ++pos_;
          }
          SkipSpace();
          MOAT_TRY(ParseValue(member_key, depth + 1));
          SkipSpace();
          if (pos_ < text_.size() && text_[pos_] == ',') {
            ++pos_;
            continue;
          }
          if (pos_ < text_.size() && text_[pos_] == close) {
            ++pos_;
            break;
          }
          return Here("expected ',' or '", std::string(1, close), "'");
        }
      }
    } else if (c == '"') {
      nodes_[index].kind = JsonDoc::Kind::kString;
      MOAT_ASSIGN_OR_RETURN(nodes_[index].text, ParseString());
    } else if (c == 't' || c == 'f' || c == 'n') {
      const std::string_view word = c == 't' ? "true" : c == 'f' ? "false" : "null";
      if (text_.substr(pos_, word.size()) != word) return Here("unexpected character");
      nodes_[index].kind = c == 'n' ? JsonDoc::Kind::kNull : JsonDoc::Kind::kBool;
      nodes_[index].text = text_.substr(pos_, word.size());
      pos_ += word.size();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const size_t start = pos_;
      if (text_[pos_] == '-') ++pos_;
      size_t digits = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_, ++digits;
      if (digits == 0) return Here("malformed number");
      if (pos_ < text_.size() && text_[pos_] == '.') {
        ++pos_;
        size_t fraction = 0;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_, ++fraction;
        if (fraction == 0) return Here("malformed number");
      }
      if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
        ++pos_;
        if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
        size_t exponent = 0;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_, ++exponent;
        if (exponent == 0) return Here("malformed number");
      }
      nodes_[index].kind = JsonDoc::Kind::kNumber;
      nodes_[index].text = text_.substr(start, pos_ - start);
    } else {
      return Here("unexpected character");
    }
    nodes_[index].end = static_cast<uint32_t>(nodes_.size());
    return Ok();
  }

  // At '"': the decoded string, a view into the text when it has no escapes.
  Result<std::string_view> ParseString() {
    ++pos_;
    const size_t start = pos_;
    // Strings are most of an audit event: skip 8 plain bytes at a time.
    while (pos_ + 8 <= text_.size()) {
      uint64_t word;
      std::memcpy(&word, text_.data() + pos_, 8);
      if (MayEndPlainRun(word)) break;
      pos_ += 8;
    }
    while (pos_ < text_.size() && text_[pos_] != '"' && text_[pos_] != '\\') {
      if (static_cast<unsigned char>(text_[pos_]) < 0x20)
        return Here("control character in string");
      ++pos_;
    }
    if (pos_ >= text_.size()) return Here("string without its closing quote");
    if (text_[pos_] == '"') return text_.substr(start, pos_++ - start);
    // Escapes: decode into the side buffer, which never reallocates (reserved to the text size).
    const size_t out_start = decoded_.size();
    decoded_.append(text_.substr(start, pos_ - start));
    while (true) {
      if (pos_ >= text_.size()) return Here("string without its closing quote");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        break;
      }
      if (static_cast<unsigned char>(c) < 0x20) return Here("control character in string");
      if (c != '\\') {
        decoded_ += c;
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= text_.size()) return Here("string without its closing quote");
      const char e = text_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case '"':
          decoded_ += '"';
          break;
        case '\\':
          decoded_ += '\\';
          break;
        case '/':
          decoded_ += '/';
          break;
        case 'b':
          decoded_ += '\b';
          break;
        case 'f':
          decoded_ += '\f';
          break;
        case 'n':
          decoded_ += '\n';
          break;
        case 'r':
          decoded_ += '\r';
          break;
        case 't':
          decoded_ += '\t';
          break;
        case 'u': {
          MOAT_ASSIGN_OR_RETURN(uint32_t unit, ReadHex4());
          if (unit >= 0xD800 && unit < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            MOAT_ASSIGN_OR_RETURN(uint32_t low, ReadHex4());
            if (low >= 0xDC00 && low < 0xE000) {
              unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            } else {
              AppendUtf8(decoded_, 0xFFFD);
              unit = low;
            }
          } else if (unit >= 0xD800 && unit < 0xE000) {
            unit = 0xFFFD;  // a lone surrogate
          }
          AppendUtf8(decoded_, unit);
          break;
        }
        default:
          return Here("unknown escape '\\", std::string(1, e), "'");
      }
    }
    return std::string_view(decoded_).substr(out_start);
  }

  Result<uint32_t> ReadHex4() {
    if (pos_ + 4 > text_.size()) return Here("truncated \\u escape");
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = HexDigitValue(text_[pos_ + i]);
      if (digit < 0) return Here("malformed \\u escape");
      value = value * 16 + static_cast<uint32_t>(digit);
    }
    pos_ += 4;
    return value;
  }

  std::string_view text_;
  std::string& decoded_;
  std::vector<JsonDoc::Node>& nodes_;
  std::string_view input_name_;
  uint32_t max_depth_;
  size_t pos_ = 0;
};

}  // namespace

Result<JsonDoc> JsonDoc::Parse(std::string text, std::string_view input_name, uint32_t max_depth) {
  JsonDoc doc;
  doc.text_ = std::make_unique<std::string>(std::move(text));
  doc.decoded_ = std::make_unique<std::string>();
  doc.decoded_->reserve(doc.text_->size());
  // A JSON value takes at least one byte per node; a typical event has one node per ~12 bytes.
  doc.nodes_.reserve(doc.text_->size() / 12 + 8);
  Builder builder(*doc.text_, *doc.decoded_, doc.nodes_, input_name, max_depth);
  MOAT_TRY(builder.Run());
  return doc;
}

uint32_t JsonDoc::Get(uint32_t object, std::string_view key) const {
  if (object == kNone || nodes_[object].kind != Kind::kObject) return kNone;
  const uint32_t end = nodes_[object].end;
  for (uint32_t i = object + 1; i < end; i = nodes_[i].end) {
    if (nodes_[i].key == key) return i;
  }
  return kNone;
}

uint32_t JsonDoc::Path(uint32_t from, std::initializer_list<std::string_view> keys) const {
  uint32_t at = from;
  for (std::string_view key : keys) at = Get(at, key);
  return at;
}

uint32_t JsonDoc::Pointer(uint32_t from, std::string_view pointer) const {
  uint32_t at = from;
  if (pointer.empty()) return at;
  if (pointer.front() != '/') return kNone;
  while (!pointer.empty() && at != kNone) {
    pointer.remove_prefix(1);
    const size_t slash = pointer.find('/');
    std::string_view raw = pointer.substr(0, slash);
    pointer = slash == std::string_view::npos ? std::string_view() : pointer.substr(slash);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        token += raw[i];
      }
    }
    const Node& node = nodes_[at];
    if (node.kind == Kind::kObject) {
      at = Get(at, token);
    } else if (node.kind == Kind::kArray) {
      if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) return kNone;
      size_t wanted = 0;
      for (char c : token) {
        if (c < '0' || c > '9') return kNone;
        wanted = wanted * 10 + static_cast<size_t>(c - '0');
      }
      uint32_t found = kNone;
      size_t item = 0;
      ForEachChild(at, [&](uint32_t child) {
        if (item++ == wanted) found = child;
      });
      at = found;
    } else {
      return kNone;
    }
  }
  return at;
}

std::string JsonDoc::Serialize(uint32_t index) const {
  std::string out;
  if (index == kNone) return out;
  // Iterative over the flat layout: open containers are closed when their end is reached.
  std::vector<uint32_t> open;
  for (uint32_t i = index; i < nodes_[index].end; ++i) {
    while (!open.empty() && nodes_[open.back()].end <= i) {
      out += nodes_[open.back()].kind == Kind::kObject ? '}' : ']';
      open.pop_back();
    }
    if (i != index && !open.empty() && i != open.back() + 1) out += ',';
    if (!open.empty() && nodes_[open.back()].kind == Kind::kObject) {
      AppendJsonString(out, nodes_[i].key);
      out += ':';
    }
    const Node& node = nodes_[i];
    switch (node.kind) {
      case Kind::kObject:
        out += '{';
        open.push_back(i);
        break;
      case Kind::kArray:
        out += '[';
        open.push_back(i);
        break;
      case Kind::kString:
        AppendJsonString(out, node.text);
        break;
      default:
        out += node.text;
        break;
    }
  }
  while (!open.empty()) {
    out += nodes_[open.back()].kind == Kind::kObject ? '}' : ']';
    open.pop_back();
  }
  return out;
}

}  // namespace moat::rules
