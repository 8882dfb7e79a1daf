#include "core/json_writer.h"

#include <charconv>
#include <ostream>

#include "core/check.h"

namespace moat {
namespace {

constexpr size_t kFlushBytes = 64 * 1024;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

/// Length of the well-formed UTF-8 sequence starting at text[i] (Unicode 15, table 3-7), or 0
/// when the bytes there are not one. `bad` is set to how many bytes form the maximal invalid
/// prefix: the next byte to look at after writing one U+FFFD.
size_t Utf8Sequence(std::string_view text, size_t i, size_t& bad) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // no overlong forms
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    bad = 1;
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    if (i + k >= text.size()) {
      bad = k;
      return 0;
    }
    const unsigned char c = byte(i + k);
    const bool ok = k == 1 ? (c >= low && c <= high) : (c >= 0x80 && c <= 0xBF);
    if (!ok) {
      bad = k;
      return 0;
    }
  }
  return length;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  size_t i = 0;
  while (i < text.size()) {
    // Runs of bytes that need nothing go out in one append.
    size_t run = i;
    while (run < text.size()) {
      const unsigned char c = static_cast<unsigned char>(text[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out.append(text.data() + i, run - i);
    i = run;
    if (i >= text.size()) break;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t bad = 0;
      const size_t length = Utf8Sequence(text, i, bad);
      if (length == 0) {
        out += kReplacement;
        i += bad;
      } else {
        out.append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
      }
    }
    ++i;
  }
  out += '"';
}

JsonStreamWriter::JsonStreamWriter(std::ostream& out) : out_(out) { buffer_.reserve(kFlushBytes); }

JsonStreamWriter::~JsonStreamWriter() { Flush(); }

void JsonStreamWriter::Flush() {
  if (buffer_.empty()) return;
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
}

void JsonStreamWriter::MaybeFlush() {
  if (buffer_.size() >= kFlushBytes) Flush();
}

void JsonStreamWriter::NewLine(size_t depth) {
  buffer_ += '\n';
  buffer_.append(depth * 2, ' ');
}

void JsonStreamWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;  // the document's root
  Level& level = stack_.back();
  MOAT_CHECK(!level.object);  // a value in an object needs a Key first
  if (!level.empty) buffer_ += ',';
  level.empty = false;
  NewLine(stack_.size());
}

void JsonStreamWriter::Key(std::string_view key) {
  MOAT_CHECK(!stack_.empty() && stack_.back().object && !after_key_);
  Level& level = stack_.back();
  if (!level.empty) buffer_ += ',';
  level.empty = false;
  NewLine(stack_.size());
  AppendJsonString(buffer_, key);
  buffer_ += ": ";
  after_key_ = true;
}

void JsonStreamWriter::Open(char bracket, bool object) {
  BeforeValue();
  buffer_ += bracket;
  stack_.push_back({object, true});
}

void JsonStreamWriter::Close(char bracket, bool object) {
  MOAT_CHECK(!stack_.empty() && stack_.back().object == object && !after_key_);
  const bool empty = stack_.back().empty;
  stack_.pop_back();
  if (!empty) NewLine(stack_.size());
  buffer_ += bracket;
  MaybeFlush();
}

void JsonStreamWriter::BeginObject() { Open('{', true); }
void JsonStreamWriter::EndObject() { Close('}', true); }
void JsonStreamWriter::BeginArray() { Open('[', false); }
void JsonStreamWriter::EndArray() { Close(']', false); }

void JsonStreamWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(buffer_, value);
  MaybeFlush();
}

void JsonStreamWriter::Int(int64_t value) {
  BeforeValue();
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  buffer_.append(digits, end);
}

void JsonStreamWriter::Uint(uint64_t value) {
  BeforeValue();
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  buffer_.append(digits, end);
}

void JsonStreamWriter::Bool(bool value) {
  BeforeValue();
  buffer_ += value ? "true" : "false";
}

}  // namespace moat
