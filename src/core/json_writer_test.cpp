// The streaming JSON writer against nlohmann::json::dump as the oracle: reports moved from a
// tree to the stream must print the same bytes.
#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

namespace moat {
namespace {

using nlohmann::json;

std::string Expected(const std::string& text) {
  return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Actual(const std::string& text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

TEST(AppendJsonString, EveryByteAndEveryPairOfBytes) {
  for (int a = 0; a < 256; ++a) {
    const std::string one(1, static_cast<char>(a));
    ASSERT_EQ(Actual(one), Expected(one)) << "byte " << a;
    for (int b = 0; b < 256; ++b) {
      const std::string two{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(Actual(two), Expected(two)) << "bytes " << a << " " << b;
    }
  }
}

TEST(AppendJsonString, RandomByteStringsAndRealText) {
  // High bytes, continuation bytes and ASCII mixed, so that valid, overlong, surrogate,
  // truncated and out-of-range sequences all occur.
  std::mt19937 random(20261201);
  const unsigned char kInteresting[] = {0x00, 0x08, 0x0A, 0x1F, '"',  '\\', 'a',  0x7F,
                                        0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0,
                                        0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x8F, 0x90};
  for (int n = 0; n < 50000; ++n) {
    std::string text(random() % 9, '\0');
    for (char& c : text) c = static_cast<char>(kInteresting[random() % sizeof kInteresting]);
    ASSERT_EQ(Actual(text), Expected(text)) << n;
  }
  for (const std::string& text : std::vector<std::string>{
           "", "plain", "spec.containers[0].securityContext.privileged",
           "quote \" backslash \\ tab \t newline \n cr \r",
           "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xB3", std::string("nul \0 inside", 12)})
    EXPECT_EQ(Actual(text), Expected(text));
}

/// Writes a json value through the writer, keys in the tree's (sorted) order.
void Write(JsonStreamWriter& w, const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      w.BeginObject();
      for (const auto& [key, item] : value.items()) {
        w.Key(key);
        Write(w, item);
      }
      w.EndObject();
      break;
    case json::value_t::array:
      w.BeginArray();
      for (const json& item : value) Write(w, item);
      w.EndArray();
      break;
    case json::value_t::string:
      w.String(value.get<std::string>());
      break;
    case json::value_t::boolean:
      w.Bool(value.get<bool>());
      break;
    case json::value_t::number_unsigned:
      w.Uint(value.get<uint64_t>());
      break;
    case json::value_t::number_integer:
      w.Int(value.get<int64_t>());
      break;
    default:
      FAIL() << "type not used by the writer: " << value.type_name();
  }
}

TEST(JsonStreamWriter, PrintsWhatDumpTwoPrints) {
  const json documents[] = {
      json::object(),
      json::array(),
      json("scalar"),
      json(42),
      json::parse(R"({"tool": {"name": "moat", "version": "1.0"}, "empty": {}, "none": [],
        "list": [1, -2, true, false, "x", [], {}, [[]], {"a": {"b": [ {"c": []} ]}}],
        "text": "line\nbreak \"quoted\" \u0001", "big": 18446744073709551615,
        "negative": -9223372036854775807})"),
  };
  for (const json& document : documents) {
    std::ostringstream out;
    {
      JsonStreamWriter writer(out);
      Write(writer, document);
    }
    EXPECT_EQ(out.str(), document.dump(2));
  }
}

TEST(JsonStreamWriter, LargeDocumentsGoOutInPieces) {
  // More than the buffer holds: the stream sees the text before the document ends, and all of it.
  std::ostringstream out;
  json expected = json::array();
  JsonStreamWriter writer(out);
  writer.BeginArray();
  for (int i = 0; i < 20000; ++i) {
    const std::string item = "item " + std::to_string(i) + " \xE2\x9C\x93";
    expected.push_back(item);
    writer.String(item);
  }
  EXPECT_FALSE(out.str().empty());
  writer.EndArray();
  writer.Flush();
  EXPECT_EQ(out.str(), expected.dump(2));
}

}  // namespace
}  // namespace moat
