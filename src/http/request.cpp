// The value side of the HTTP server: request accessors, response builders, request-target
// decoding and listen addresses. No Beast here, so that it compiles fast and fuzzes alone.

#include <arpa/inet.h>

#include <cctype>
#include <charconv>

#include "core/json_writer.h"
#include "core/text.h"
#include "http/server.h"
#include "http/target.h"

namespace moat::http {
namespace {

const std::string* FindFirst(const std::vector<std::pair<std::string, std::string>>& pairs,
                             std::string_view name) {
  for (const auto& [key, value] : pairs) {
    if (key == name) return &value;
  }
  return nullptr;
}

}  // namespace

std::string Request::Header(std::string_view name) const {
  const std::string* value = FindFirst(headers, AsciiLower(name));
  return value != nullptr ? *value : std::string();
}

std::string Request::Query(std::string_view name) const {
  const std::string* value = FindFirst(query, name);
  return value != nullptr ? *value : std::string();
}

bool Request::HasQuery(std::string_view name) const { return FindFirst(query, name) != nullptr; }

std::vector<std::string> Request::QueryList(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : query) {
    if (key != name) continue;
    for (std::string_view item : Split(value, ',')) {
      item = TrimSpace(item);
      if (!item.empty()) values.emplace_back(item);
    }
  }
  return values;
}

std::string Request::PathParam(std::string_view name) const {
  const std::string* value = FindFirst(path_params, name);
  return value != nullptr ? *value : std::string();
}

Response Response::Error(int status, std::string_view message) {
  std::string body = "{\"error\":";
  AppendJsonString(body, message);
  body += "}";
  return Json(status, std::move(body));
}

Response Response::Json(int status, std::string body) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int high = i + 1 < text.size() ? HexDigitValue(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? HexDigitValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return Fail("bad percent-escape at offset ", std::to_string(i),
                    " (a '%' must be followed by two hex digits)");
      }
      decoded.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      decoded.push_back(' ');
    } else {
      decoded.push_back(c);
    }
  }
  return decoded;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::string_view piece : Split(query, '&')) {
    if (piece.empty()) continue;
    size_t equals = piece.find('=');
    std::string_view raw_name = piece.substr(0, equals);
    std::string_view raw_value =
        equals == std::string_view::npos ? std::string_view() : piece.substr(equals + 1);
    auto name = PercentDecode(raw_name, /*plus_is_space=*/true);
    if (!name.ok()) return name.error().Wrap("query parameter name");
    auto value = PercentDecode(raw_value, /*plus_is_space=*/true);
    if (!value.ok()) return value.error().Wrap("query parameter '" + *name + "'");
    pairs.emplace_back(std::move(*name), std::move(*value));
  }
  return pairs;
}

Result<ParsedTarget> ParseTarget(std::string_view target) {
  std::string_view rest = target;
  // absolute-form (RFC 9112 3.2.2): a server must accept it; the authority plays no part here.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (rest.size() >= scheme.size() && AsciiLower(rest.substr(0, scheme.size())) == scheme) {
      rest.remove_prefix(scheme.size());
      size_t path_start = rest.find_first_of("/?");
      rest = path_start == std::string_view::npos ? std::string_view("/") : rest.substr(path_start);
      if (rest.front() == '?') return Fail("request target '", target, "' has no path");
      break;
    }
  }
  if (rest.empty() || rest.front() != '/') {
    return Fail("request target '", target, "' is not a path starting with '/'");
  }
  size_t question = rest.find('?');
  std::string_view raw_path = rest.substr(0, question);
  ParsedTarget parsed;
  auto path = PercentDecode(raw_path, /*plus_is_space=*/false);
  if (!path.ok()) return path.error().Wrap("request path '" + std::string(raw_path) + "'");
  if (path->find('\0') != std::string::npos) {
    return Fail("request path '", raw_path, "' decodes to a NUL byte");
  }
  for (std::string_view segment : Split(*path, '/')) {
    if (segment == "." || segment == "..") {
      return Fail("request path '", raw_path, "' has a '", segment, "' segment");
    }
  }
  parsed.path = std::move(*path);
  if (question != std::string_view::npos) {
    auto query = ParseQuery(rest.substr(question + 1));
    if (!query.ok()) return query.error().Wrap("request target '" + std::string(target) + "'");
    parsed.query = std::move(*query);
  }
  return parsed;
}

Result<std::pair<std::string, uint16_t>> ParseListenAddress(std::string_view listen) {
  std::string_view host;
  std::string_view port_text;
  if (!listen.empty() && listen.front() == '[') {
    size_t close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return Fail("listen address '", listen, "': expected [IPv6]:PORT");
    }
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
    in6_addr address6;
    if (::inet_pton(AF_INET6, std::string(host).c_str(), &address6) != 1) {
      return Fail("listen address '", listen, "': '", host, "' is not an IPv6 address");
    }
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) {
      return Fail("listen address '", listen, "': expected HOST:PORT");
    }
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Fail("listen address '", listen, "': put an IPv6 address in brackets, [", host,
                  "]:PORT");
    }
    if (host.empty()) {
      return Fail("listen address '", listen,
                  "' has no host (0.0.0.0:PORT or [::]:PORT listen on every interface)");
    }
  }
  unsigned port = 0;
  auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return Fail("listen address '", listen, "': port '", port_text,
                "' is not a number from 0 to 65535");
  }
  return std::make_pair(std::string(host), static_cast<uint16_t>(port));
}

bool IsLoopbackHost(std::string_view host) {
  if (AsciiLower(host) == "localhost") return true;
  std::string text(host);
  in_addr address4;
  if (::inet_pton(AF_INET, text.c_str(), &address4) == 1) {
    return (ntohl(address4.s_addr) >> 24) == 127;
  }
  in6_addr address6;
  if (::inet_pton(AF_INET6, text.c_str(), &address6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&address6)) return true;
    // ::ffff:127.x.y.z reaches the IPv4 loopback.
    return IN6_IS_ADDR_V4MAPPED(&address6) && address6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace moat::http
