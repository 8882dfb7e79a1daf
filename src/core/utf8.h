#pragma once
// UTF-8 encoding, decoding and validation (CEL counts string lengths and indexes in code points;
// JSON decoders turn \u escapes into UTF-8).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moat {

/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool ValidUtf8(std::string_view text);
/// Appends code point `cp` encoded as UTF-8.
void AppendUtf8(std::string& out, uint32_t cp);
/// The code points of `text` (which should be valid UTF-8).
std::vector<uint32_t> DecodeUtf8(std::string_view text);
/// The number of code points of `text`.
size_t CodePointCount(std::string_view text);

}  // namespace moat
