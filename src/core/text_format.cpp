#include "core/text_format.h"

namespace moat {

namespace {

std::string FormatUtc(std::time_t time, const char* format) {
  std::tm utc{};
  gmtime_r(&time, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, format, &utc);
  return buffer;
}

}  // namespace

std::string FormatRfc3339Utc(std::time_t time) { return FormatUtc(time, "%Y-%m-%dT%H:%M:%SZ"); }

std::string NowRfc3339Utc() { return FormatRfc3339Utc(std::time(nullptr)); }

std::string FormatUtcDay(std::time_t time) { return FormatUtc(time, "%Y-%m-%d"); }

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace moat
