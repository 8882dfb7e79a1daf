#pragma once
// A streaming JSON writer for reports too large to build as a tree first: values go out as they
// are written, through a small buffer, so memory stays flat whatever the size of the document.
// The text is exactly what nlohmann::json::dump(2) prints for the same values (same indentation,
// same escaping), so a writer can move from a tree to the stream without changing its output.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace moat {

/// Appends `text` as a JSON string literal (quotes included). Escapes as nlohmann's dump does:
/// `"`, `\`, \b \f \n \r \t by name, other control characters as \u00xx; non-ASCII UTF-8 is kept.
/// Invalid UTF-8 becomes U+FFFD (as nlohmann's error_handler_t::replace), so the output is always
/// valid JSON whatever the input held.
void AppendJsonString(std::string& out, std::string_view text);

/// Writes one JSON document, pretty-printed with two-space indentation, to a stream. Callers
/// write keys in the order they want them printed (dump(2) of an nlohmann::json object prints
/// them sorted). Misuse (a value without a key inside an object, unbalanced End calls) is a
/// programming error checked with MOAT_CHECK.
class JsonStreamWriter {
 public:
  explicit JsonStreamWriter(std::ostream& out);
  ~JsonStreamWriter();
  JsonStreamWriter(const JsonStreamWriter&) = delete;
  JsonStreamWriter& operator=(const JsonStreamWriter&) = delete;

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  /// The key of the next value; only inside an object.
  void Key(std::string_view key);

  void String(std::string_view value);
  void Int(int64_t value);
  void Uint(uint64_t value);
  void Bool(bool value);

  /// Key + value in one call.
  void Field(std::string_view key, std::string_view value) { Key(key), String(value); }
  void FieldUint(std::string_view key, uint64_t value) { Key(key), Uint(value); }
  void FieldBool(std::string_view key, bool value) { Key(key), Bool(value); }

  /// Hands the buffered text to the stream (also done when the buffer fills and on destruction).
  /// The stream's state tells whether the writes succeeded.
  void Flush();

 private:
  struct Level {
    bool object = false;
    bool empty = true;
  };
  void BeforeValue();
  void Open(char bracket, bool object);
  void Close(char bracket, bool object);
  void NewLine(size_t depth);
  void MaybeFlush();

  std::ostream& out_;
  std::string buffer_;
  std::vector<Level> stack_;
  bool after_key_ = false;
};

}  // namespace moat
