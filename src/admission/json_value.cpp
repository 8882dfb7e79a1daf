// nlohmann SAX events -> k8s::Value, with positions from an iterator that reports how far the
// lexer has read.

#include "admission/json_value.h"

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

namespace moat::admission {
namespace {

using k8s::Value;
using Json = nlohmann::json;

/// A const char* that publishes its position, so that the SAX handler knows where the lexer is.
struct TrackingIterator {
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  const char* at = nullptr;
  const char** cursor = nullptr;

  reference operator*() const { return *at; }
  TrackingIterator& operator++() {
    *cursor = ++at;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackingIterator& other) const { return at == other.at; }
  bool operator!=(const TrackingIterator& other) const { return at != other.at; }
};

class ValueBuilder {
 public:
  ValueBuilder(std::string_view text, const std::string& name, uint32_t max_depth)
      : begin_(text.data()),
        end_(text.data() + text.size()),
        cursor_(text.data()),
        scanned_(text.data()),
        line_start_(text.data()),
        name_(name),
        max_depth_(max_depth) {}

  const char** cursor() { return &cursor_; }

  bool null() { return Add(Value::Scalar(Value::Type::kNull, "null")); }
  bool boolean(bool b) { return Add(Value::Scalar(Value::Type::kBool, b ? "true" : "false", b)); }
  bool number_integer(Json::number_integer_t n) {
    return Add(Value::Scalar(Value::Type::kInt, std::to_string(n)));
  }
  bool number_unsigned(Json::number_unsigned_t n) {
    return Add(Value::Scalar(Value::Type::kInt, std::to_string(n)));
  }
  bool number_float(Json::number_float_t, const Json::string_t& raw) {
    // An integer too large for 64 bits comes here; the k8s loader calls it an integer too.
    const bool integral = raw.find_first_of(".eE") == std::string::npos;
    return Add(Value::Scalar(integral ? Value::Type::kInt : Value::Type::kFloat, raw));
  }
  bool string(Json::string_t& s) { return Add(Value::Scalar(Value::Type::kString, std::move(s))); }
  bool binary(Json::binary_t&) { return Fail("binary values are not JSON"); }
  bool start_object(size_t) { return Open(Value::Type::kMap); }
  bool start_array(size_t) { return Open(Value::Type::kSequence); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(Json::string_t& k) {
    Frame& frame = frames_.back();
    frame.key = std::move(k);
    Position(frame.key_line, frame.key_column);
    return true;
  }
  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception& e) {
    // nlohmann counts the end of the input as a character: the position may be one past it.
    cursor_ = begin_ + std::min(position, static_cast<size_t>(end_ - begin_));
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    if (size_t colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
    return Fail(what);
  }

  Result<Value> Take() {
    if (!error_.empty()) return Error{error_};
    return std::move(root_);
  }

 private:
  struct Frame {
    Value value;
    std::string key;  // of the next entry, in a map
    uint32_t key_line = 0, key_column = 0;
  };

  /// Line and column (1-based) of the last character the lexer has read.
  void Position(uint32_t& line, uint32_t& column) {
    for (; scanned_ < cursor_; ++scanned_) {
      if (*scanned_ == '\n') {
        ++line_;
        line_start_ = scanned_ + 1;
      }
    }
    line = line_;
    column = static_cast<uint32_t>(std::max<std::ptrdiff_t>(cursor_ - line_start_, 1));
  }

  bool Fail(const std::string& message) {
    uint32_t line = 0, column = 0;
    Position(line, column);
    error_ = name_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
    return false;
  }

  /// Places a finished value: into its map (with the pending key) or list, or as the root.
  bool Add(Value v) {
    if (frames_.empty()) {
      if (v.line == 0) Position(v.line, v.column);
      root_ = std::move(v);
      return true;
    }
    Frame& frame = frames_.back();
    if (frame.value.IsMap()) {
      v.key = std::move(frame.key);
      v.line = frame.key_line;
      v.column = frame.key_column;
    } else if (v.line == 0) {
      Position(v.line, v.column);
    }
    frame.value.children.push_back(std::move(v));
    return true;
  }

  bool Open(Value::Type type) {
    if (frames_.size() >= max_depth_)
      return Fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
    Frame frame;
    frame.value.type = type;
    Position(frame.value.line, frame.value.column);
    frames_.push_back(std::move(frame));
    return true;
  }

  bool Close() {
    Value v = std::move(frames_.back().value);
    frames_.pop_back();
    return Add(std::move(v));
  }

  const char* begin_;
  const char* end_;
  const char* cursor_;
  const char* scanned_;
  const char* line_start_;
  uint32_t line_ = 1;
  const std::string& name_;
  uint32_t max_depth_;
  std::vector<Frame> frames_;
  Value root_;
  std::string error_;
};

}  // namespace

Result<k8s::Value> ParseJsonValue(std::string_view text, const std::string& name,
                                  uint32_t max_depth) {
  ValueBuilder builder(text, name, max_depth);
  TrackingIterator first{text.data(), builder.cursor()};
  TrackingIterator last{text.data() + text.size(), builder.cursor()};
  Json::sax_parse(first, last, &builder);
  return builder.Take();
}

}  // namespace moat::admission
