// The Kubernetes CEL library types (k8s.io/apiserver/pkg/cel/library): URL, IP and CIDR,
// Quantity and Semver, as opaque values with their functions.

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "cel/functions.h"
#include "core/text.h"

namespace moat::cel {
namespace {

// ---- IP and CIDR -------------------------------------------------------------------------

struct IpAddress {
  bool v6 = false;
  uint8_t bytes[16] = {};
  size_t size() const { return v6 ? 16 : 4; }
  bool operator==(const IpAddress& o) const {
    return v6 == o.v6 && std::memcmp(bytes, o.bytes, size()) == 0;
  }
};

// Parses an address as Kubernetes' ip() does: IPv4 dotted quad (no leading zeros) or IPv6;
// IPv4-mapped IPv6 and zones are refused.
bool ParseIp(std::string_view text, IpAddress& out) {
  if (text.empty() || text.size() > 45 || text.find('%') != text.npos) return false;
  std::string s(text);
  if (s.find(':') == std::string::npos) {
    // inet_pton accepts no leading zeros already ("01.2.3.4" fails) on glibc.
    out.v6 = false;
    return inet_pton(AF_INET, s.c_str(), out.bytes) == 1;
  }
  out.v6 = true;
  if (inet_pton(AF_INET6, s.c_str(), out.bytes) != 1) return false;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(out.bytes, kMapped, 12) != 0;
}

std::string FormatIp(const IpAddress& ip) {
  char buffer[INET6_ADDRSTRLEN];
  inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.bytes, buffer, sizeof(buffer));
  return buffer;
}

struct IpObject : OpaqueObject {
  IpAddress ip;
  std::string_view TypeName() const override { return "net.IP"; }
  bool Equals(const OpaqueObject& o) const override {
    return ip == static_cast<const IpObject&>(o).ip;
  }
  std::string ToString() const override { return FormatIp(ip); }
};

struct CidrObject : OpaqueObject {
  IpAddress ip;
  int prefix = 0;
  std::string_view TypeName() const override { return "net.CIDR"; }
  bool Equals(const OpaqueObject& o) const override {
    const auto& other = static_cast<const CidrObject&>(o);
    return ip == other.ip && prefix == other.prefix;
  }
  std::string ToString() const override { return FormatIp(ip) + "/" + std::to_string(prefix); }
};

bool ParseCidr(std::string_view text, CidrObject& out) {
  size_t slash = text.find('/');
  if (slash == text.npos || !ParseIp(text.substr(0, slash), out.ip)) return false;
  std::string_view digits = text.substr(slash + 1);
  if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) return false;
  int prefix = 0;
  for (char ch : digits) {
    if (ch < '0' || ch > '9') return false;
    prefix = prefix * 10 + (ch - '0');
  }
  if (prefix > static_cast<int>(out.ip.size()) * 8) return false;
  out.prefix = prefix;
  return true;
}

IpAddress Masked(const IpAddress& ip, int prefix) {
  IpAddress out = ip;
  for (size_t i = 0; i < out.size(); ++i) {
    int bits = std::clamp(prefix - static_cast<int>(i) * 8, 0, 8);
    out.bytes[i] &= static_cast<uint8_t>(0xff00 >> bits);
  }
  return out;
}

bool CidrContains(const CidrObject& cidr, const IpAddress& ip) {
  return ip.v6 == cidr.ip.v6 && Masked(ip, cidr.prefix) == Masked(cidr.ip, cidr.prefix);
}

const IpObject* AsIp(const Value& v) {
  const OpaqueObject* o = v.AsOpaque();
  return o != nullptr && o->TypeName() == "net.IP" ? static_cast<const IpObject*>(o) : nullptr;
}
const CidrObject* AsCidr(const Value& v) {
  const OpaqueObject* o = v.AsOpaque();
  return o != nullptr && o->TypeName() == "net.CIDR" ? static_cast<const CidrObject*>(o) : nullptr;
}

Value MakeIp(const IpAddress& ip) {
  auto object = std::make_shared<IpObject>();
  object->ip = ip;
  return Value::Opaque(std::move(object));
}

Value IpFn(CallContext& c, const Value* a, size_t n) {
  if (const CidrObject* cidr = AsCidr(a[0])) return MakeIp(cidr->ip);  // cidr.ip()
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  IpAddress ip;
  if (!ParseIp(a[0].AsString(), ip))
    return c.Error("IP Address '" + a[0].AsString() + "' parse error");
  return MakeIp(ip);
}

Value IsIp(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  IpAddress ip;
  return Value::Bool(ParseIp(a[0].AsString(), ip));
}

Value IpIsCanonical(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  IpAddress ip;
  if (!ParseIp(a[0].AsString(), ip))
    return c.Error("IP Address '" + a[0].AsString() + "' parse error");
  return Value::Bool(FormatIp(ip) == a[0].AsString());
}

template <bool (*Test)(const IpAddress&)>
Value IpTest(CallContext& c, const Value* a, size_t n) {
  const IpObject* ip = AsIp(a[0]);
  if (ip == nullptr) return c.NoOverload(a, n);
  return Value::Bool(Test(ip->ip));
}

bool IsUnspecified(const IpAddress& ip) {
  return std::all_of(ip.bytes, ip.bytes + ip.size(), [](uint8_t b) { return b == 0; });
}
bool IsLoopback(const IpAddress& ip) {
  if (!ip.v6) return ip.bytes[0] == 127;
  static const uint8_t kOne[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::memcmp(ip.bytes, kOne, 16) == 0;
}
bool IsLinkLocalMulticast(const IpAddress& ip) {
  if (!ip.v6) return ip.bytes[0] == 224 && ip.bytes[1] == 0 && ip.bytes[2] == 0;
  return ip.bytes[0] == 0xff && (ip.bytes[1] & 0x0f) == 0x02;
}
bool IsLinkLocalUnicast(const IpAddress& ip) {
  if (!ip.v6) return ip.bytes[0] == 169 && ip.bytes[1] == 254;
  return ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80;
}
// Go's netip.Addr.IsGlobalUnicast: not unspecified, loopback, multicast, link-local or the
// IPv4 broadcast address.
bool IsGlobalUnicast(const IpAddress& ip) {
  if (IsUnspecified(ip) || IsLoopback(ip) || IsLinkLocalUnicast(ip)) return false;
  if (!ip.v6) {
    if (ip.bytes[0] >= 224) return false;  // multicast and 240/4 including broadcast
    return true;
  }
  return ip.bytes[0] != 0xff;
}

Value Family(CallContext& c, const Value* a, size_t n) {
  const IpObject* ip = AsIp(a[0]);
  if (ip == nullptr) return c.NoOverload(a, n);
  return Value::Int(ip->ip.v6 ? 6 : 4);
}

Value CidrFn(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  auto cidr = std::make_shared<CidrObject>();
  if (!ParseCidr(a[0].AsString(), *cidr)) {
    return c.Error("network address '" + a[0].AsString() + "' parse error");
  }
  return Value::Opaque(std::move(cidr));
}

Value IsCidr(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  CidrObject cidr;
  return Value::Bool(ParseCidr(a[0].AsString(), cidr));
}

Value ContainsIp(CallContext& c, const Value* a, size_t n) {
  const CidrObject* cidr = AsCidr(a[0]);
  if (cidr == nullptr) return c.NoOverload(a, n);
  IpAddress ip;
  if (const IpObject* object = AsIp(a[1])) {
    ip = object->ip;
  } else if (a[1].Is(Kind::kString)) {
    if (!ParseIp(a[1].AsString(), ip))
      return c.Error("IP Address '" + a[1].AsString() + "' parse error");
  } else {
    return c.NoOverload(a, n);
  }
  return Value::Bool(CidrContains(*cidr, ip));
}

Value ContainsCidr(CallContext& c, const Value* a, size_t n) {
  const CidrObject* cidr = AsCidr(a[0]);
  if (cidr == nullptr) return c.NoOverload(a, n);
  CidrObject parsed;
  const CidrObject* other = AsCidr(a[1]);
  if (other == nullptr) {
    if (!a[1].Is(Kind::kString)) return c.NoOverload(a, n);
    if (!ParseCidr(a[1].AsString(), parsed)) {
      return c.Error("network address '" + a[1].AsString() + "' parse error");
    }
    other = &parsed;
  }
  return Value::Bool(other->prefix >= cidr->prefix && CidrContains(*cidr, other->ip));
}

Value CidrMasked(CallContext& c, const Value* a, size_t n) {
  const CidrObject* cidr = AsCidr(a[0]);
  if (cidr == nullptr) return c.NoOverload(a, n);
  auto out = std::make_shared<CidrObject>(*cidr);
  out->ip = Masked(cidr->ip, cidr->prefix);
  return Value::Opaque(std::move(out));
}

Value PrefixLength(CallContext& c, const Value* a, size_t n) {
  const CidrObject* cidr = AsCidr(a[0]);
  if (cidr == nullptr) return c.NoOverload(a, n);
  return Value::Int(cidr->prefix);
}

// ---- URL ---------------------------------------------------------------------------------

struct UrlObject : OpaqueObject {
  std::string text, scheme, host, path, query;
  std::string_view TypeName() const override { return "kubernetes.URL"; }
  bool Equals(const OpaqueObject& o) const override {
    return text == static_cast<const UrlObject&>(o).text;
  }
  std::string ToString() const override { return text; }
};

// An absolute URI (scheme://host/path?query#fragment) or an absolute path, as Kubernetes'
// url() accepts (Go's url.ParseRequestURI rules).
bool ParseUrl(std::string_view text, UrlObject& out) {
  if (text.empty() || text.find_first_of(" \t\r\n") != text.npos) return false;
  out.text = std::string(text);
  std::string_view rest = text;
  size_t hash = rest.find('#');
  if (hash != rest.npos) return false;  // ParseRequestURI refuses fragments
  size_t colon = rest.find(':');
  size_t slash = rest.find('/');
  if (colon != rest.npos && (slash == rest.npos || colon < slash)) {
    out.scheme = std::string(rest.substr(0, colon));
    if (out.scheme.empty() || !std::isalpha(static_cast<unsigned char>(out.scheme[0])))
      return false;
    for (char ch : out.scheme) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '+' && ch != '-' && ch != '.') {
        return false;
      }
    }
    rest = rest.substr(colon + 1);
    if (rest.substr(0, 2) == "//") {
      rest = rest.substr(2);
      size_t end = rest.find_first_of("/?");
      std::string_view authority = rest.substr(0, end);
      size_t at = authority.rfind('@');
      if (at != authority.npos) authority = authority.substr(at + 1);
      out.host = std::string(authority);
      rest = end == rest.npos ? std::string_view() : rest.substr(end);
    } else if (rest.empty() || rest[0] != '/') {
      return false;  // opaque URIs such as mailto: are not request URIs
    }
  } else if (rest[0] != '/') {
    return false;
  }
  size_t question = rest.find('?');
  out.path = std::string(rest.substr(0, question));
  if (question != rest.npos) out.query = std::string(rest.substr(question + 1));
  return true;
}

const UrlObject* AsUrl(const Value& v) {
  const OpaqueObject* o = v.AsOpaque();
  return o != nullptr && o->TypeName() == "kubernetes.URL" ? static_cast<const UrlObject*>(o)
                                                           : nullptr;
}

Value UrlFn(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  auto url = std::make_shared<UrlObject>();
  if (!ParseUrl(a[0].AsString(), *url)) {
    return c.Error("URL '" + a[0].AsString() +
                   "' parse error: must be an absolute path or "
                   "absolute URI");
  }
  return Value::Opaque(std::move(url));
}

Value IsUrl(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  UrlObject url;
  return Value::Bool(ParseUrl(a[0].AsString(), url));
}

std::string_view Hostname(std::string_view host) {
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    return host.substr(1, close == host.npos ? host.npos : close - 1);
  }
  return host.substr(0, host.rfind(':'));
}

enum class UrlPart { kScheme, kHost, kHostname, kPort, kPath };

template <UrlPart P>
Value UrlGet(CallContext& c, const Value* a, size_t n) {
  const UrlObject* url = AsUrl(a[0]);
  if (url == nullptr) return c.NoOverload(a, n);
  switch (P) {
    case UrlPart::kScheme:
      return Value::String(url->scheme);
    case UrlPart::kHost:
      return Value::String(url->host);
    case UrlPart::kHostname:
      return Value::String(std::string(Hostname(url->host)));
    case UrlPart::kPort: {
      std::string_view host = url->host;
      size_t close = host.rfind(']');
      size_t colon = host.rfind(':');
      if (colon == host.npos || (close != host.npos && colon < close)) return Value::String("");
      return Value::String(std::string(host.substr(colon + 1)));
    }
    case UrlPart::kPath:
      return Value::String(url->path);
  }
  return c.NoOverload(a, n);
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Value UrlQuery(CallContext& c, const Value* a, size_t n) {
  const UrlObject* url = AsUrl(a[0]);
  if (url == nullptr) return c.NoOverload(a, n);
  std::vector<std::pair<std::string, std::vector<Value>>> params;
  std::string_view q = url->query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == q.npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = PercentDecode(pair.substr(0, eq));
    std::string value = eq == pair.npos ? "" : PercentDecode(pair.substr(eq + 1));
    auto it =
        std::find_if(params.begin(), params.end(), [&](const auto& p) { return p.first == key; });
    if (it == params.end()) {
      params.push_back({key, {}});
      it = params.end() - 1;
    }
    it->second.push_back(Value::String(std::move(value)));
  }
  std::vector<MapEntry> entries;
  for (auto& [key, values] : params) {
    entries.push_back({Value::String(key), Value::List(std::move(values))});
  }
  return Value::Map(std::move(entries));
}

// ---- Quantity ----------------------------------------------------------------------------

constexpr __int128 kNano = 1000000000;

struct QuantityObject : OpaqueObject {
  std::string text;
  __int128 nanos = 0;  // the amount in units of 10^-9 (finer parts round up, as Kubernetes)
  std::string_view TypeName() const override { return "kubernetes.Quantity"; }
  bool Equals(const OpaqueObject& o) const override {
    return nanos == static_cast<const QuantityObject&>(o).nanos;
  }
  std::string ToString() const override { return text; }
};

// Kubernetes' quantity syntax: sign, digits with an optional fraction, then a binary suffix
// (Ki Mi Gi Ti Pi Ei), a decimal one (n u m k M G T P E) or an exponent (e3, E-2).
bool ParseQuantity(std::string_view text, __int128& out) {
  if (text.empty() || text.size() > 64) return false;
  size_t pos = 0;
  bool negative = false;
  if (text[pos] == '+' || text[pos] == '-') negative = text[pos++] == '-';
  __int128 whole = 0;
  __int128 frac = 0;
  int frac_digits = 0;
  size_t digits_start = pos;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    whole = whole * 10 + (text[pos++] - '0');
    if (whole > static_cast<__int128>(1) << 80) return false;
  }
  bool any = pos > digits_start;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (frac_digits < 18) {
        frac = frac * 10 + (text[pos] - '0');
        ++frac_digits;
      }
      ++pos;
      any = true;
    }
  }
  if (!any) return false;
  std::string_view suffix = text.substr(pos);
  // value = (whole + frac / 10^frac_digits) * multiplier, multiplier = num / den.
  __int128 num = 1;
  __int128 den = 1;
  auto pow10 = [](int e) {
    __int128 r = 1;
    while (e-- > 0) r *= 10;
    return r;
  };
  static const std::pair<std::string_view, int> kBinary[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
                                                             {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  static const std::pair<std::string_view, int> kDecimal[] = {
      {"n", -9}, {"u", -6}, {"m", -3}, {"", 0},   {"k", 3},
      {"M", 6},  {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
  bool matched = false;
  for (auto [name, shift] : kBinary) {
    if (suffix == name) {
      num = static_cast<__int128>(1) << shift;
      matched = true;
    }
  }
  for (auto [name, exponent] : kDecimal) {
    if (!matched && suffix == name) {
      if (exponent >= 0)
        num = pow10(exponent);
      else
        den = pow10(-exponent);
      matched = true;
    }
  }
  if (!matched && (suffix[0] == 'e' || suffix[0] == 'E') && suffix.size() > 1) {
    size_t p = 1;
    bool neg_exp = false;
    if (suffix[p] == '+' || suffix[p] == '-') neg_exp = suffix[p++] == '-';
    int exponent = 0;
    if (p >= suffix.size()) return false;
    for (; p < suffix.size(); ++p) {
      if (!std::isdigit(static_cast<unsigned char>(suffix[p]))) return false;
      exponent = exponent * 10 + (suffix[p] - '0');
      if (exponent > 18) return false;
    }
    if (neg_exp)
      den = pow10(exponent);
    else
      num = pow10(exponent);
    matched = true;
  }
  if (!matched) return false;
  // nanos = ceil((whole * 10^f + frac) * num * 10^9 / (10^f * den)).
  __int128 scale = pow10(frac_digits);
  __int128 mantissa = whole * scale + frac;
  if (mantissa != 0 && num > (static_cast<__int128>(1) << 100) / mantissa) return false;
  __int128 top = mantissa * num;
  if (top > (static_cast<__int128>(1) << 120) / kNano) return false;
  top *= kNano;
  __int128 bottom = scale * den;
  __int128 value = top / bottom + (top % bottom != 0 ? 1 : 0);
  out = negative ? -value : value;
  return true;
}

const QuantityObject* AsQuantity(const Value& v) {
  const OpaqueObject* o = v.AsOpaque();
  return o != nullptr && o->TypeName() == "kubernetes.Quantity"
             ? static_cast<const QuantityObject*>(o)
             : nullptr;
}

std::string FormatNanos(__int128 nanos) {
  bool negative = nanos < 0;
  if (negative) nanos = -nanos;
  __int128 whole = nanos / kNano;
  __int128 frac = nanos % kNano;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(whole % 10)));
    whole /= 10;
  } while (whole > 0);
  std::string out = (negative ? "-" : "") + digits;
  if (frac != 0) {
    // Milli or nano units, as Kubernetes writes canonical small quantities.
    if (frac % 1000000 == 0) {
      return (negative ? "-" : "") + std::to_string(static_cast<int64_t>(nanos / 1000000)) + "m";
    }
    return (negative ? "-" : "") + std::to_string(static_cast<int64_t>(nanos)) + "n";
  }
  return out;
}

Value MakeQuantity(std::string text, __int128 nanos) {
  auto q = std::make_shared<QuantityObject>();
  q->text = std::move(text);
  q->nanos = nanos;
  return Value::Opaque(std::move(q));
}

Value QuantityFn(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  __int128 nanos;
  if (!ParseQuantity(a[0].AsString(), nanos)) {
    return c.Error(
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': '" +
        a[0].AsString() + "'");
  }
  return MakeQuantity(a[0].AsString(), nanos);
}

Value IsQuantity(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  __int128 nanos;
  return Value::Bool(ParseQuantity(a[0].AsString(), nanos));
}

// A quantity argument: a Quantity, or for add/sub also an int.
bool QuantityArg(const Value& v, bool allow_int, __int128& out) {
  if (const QuantityObject* q = AsQuantity(v)) {
    out = q->nanos;
    return true;
  }
  if (allow_int && v.Is(Kind::kInt)) {
    out = static_cast<__int128>(v.AsInt()) * kNano;
    return true;
  }
  return false;
}

enum class QuantityOp { kSign, kIsInteger, kAsInteger, kAsFloat };

template <QuantityOp Op>
Value QuantityUnary(CallContext& c, const Value* a, size_t n) {
  const QuantityObject* q = AsQuantity(a[0]);
  if (q == nullptr) return c.NoOverload(a, n);
  switch (Op) {
    case QuantityOp::kSign:
      return Value::Int(q->nanos > 0 ? 1 : (q->nanos < 0 ? -1 : 0));
    case QuantityOp::kIsInteger: {
      __int128 whole = q->nanos / kNano;
      return Value::Bool(q->nanos % kNano == 0 && whole >= INT64_MIN && whole <= INT64_MAX);
    }
    case QuantityOp::kAsInteger: {
      __int128 whole = q->nanos / kNano;
      if (q->nanos % kNano != 0 || whole < INT64_MIN || whole > INT64_MAX) {
        return c.Error("cannot convert value to integer");
      }
      return Value::Int(static_cast<int64_t>(whole));
    }
    case QuantityOp::kAsFloat:
      return Value::Double(static_cast<double>(q->nanos) / 1e9);
  }
  return c.NoOverload(a, n);
}

enum class QuantityCmp { kGreater, kLess, kCompare, kAdd, kSub };

template <QuantityCmp Op>
Value QuantityBinary(CallContext& c, const Value* a, size_t n) {
  __int128 x;
  __int128 y;
  bool arithmetic = Op == QuantityCmp::kAdd || Op == QuantityCmp::kSub;
  if (!QuantityArg(a[0], false, x) || !QuantityArg(a[1], arithmetic, y)) {
    return c.NoOverload(a, n);
  }
  switch (Op) {
    case QuantityCmp::kGreater:
      return Value::Bool(x > y);
    case QuantityCmp::kLess:
      return Value::Bool(x < y);
    case QuantityCmp::kCompare:
      return Value::Int(x < y ? -1 : (x > y ? 1 : 0));
    case QuantityCmp::kAdd:
    case QuantityCmp::kSub: {
      __int128 r = Op == QuantityCmp::kAdd ? x + y : x - y;
      if (r > (static_cast<__int128>(1) << 120) || r < -(static_cast<__int128>(1) << 120)) {
        return c.Error("quantity overflow");
      }
      return MakeQuantity(FormatNanos(r), r);
    }
  }
  return c.NoOverload(a, n);
}

// ---- Semver ------------------------------------------------------------------------------

struct SemverObject : OpaqueObject {
  uint64_t major = 0, minor = 0, patch = 0;
  std::vector<std::string> pre;
  std::string build;
  std::string_view TypeName() const override { return "kubernetes.Semver"; }
  bool Equals(const OpaqueObject& o) const override {
    return Compare(static_cast<const SemverObject&>(o)) == 0;
  }
  std::string ToString() const override {
    std::string s =
        std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    for (size_t i = 0; i < pre.size(); ++i) s += (i == 0 ? "-" : ".") + pre[i];
    if (!build.empty()) s += "+" + build;
    return s;
  }
  static bool Numeric(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
      return std::isdigit(static_cast<unsigned char>(ch));
    });
  }
  // Semantic Versioning 2.0.0 precedence (build metadata ignored).
  int Compare(const SemverObject& o) const {
    if (major != o.major) return major < o.major ? -1 : 1;
    if (minor != o.minor) return minor < o.minor ? -1 : 1;
    if (patch != o.patch) return patch < o.patch ? -1 : 1;
    if (pre.empty() || o.pre.empty())
      return pre.empty() == o.pre.empty() ? 0 : (pre.empty() ? 1 : -1);
    for (size_t i = 0; i < pre.size() && i < o.pre.size(); ++i) {
      const std::string& x = pre[i];
      const std::string& y = o.pre[i];
      if (x == y) continue;
      bool xn = Numeric(x);
      bool yn = Numeric(y);
      if (xn && yn) {
        if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
        return x < y ? -1 : 1;
      }
      if (xn != yn) return xn ? -1 : 1;
      return x < y ? -1 : 1;
    }
    if (pre.size() == o.pre.size()) return 0;
    return pre.size() < o.pre.size() ? -1 : 1;
  }
};

bool ParseNumber(std::string_view s, uint64_t& out, bool allow_leading_zero) {
  if (s.empty() || s.size() > 19) return false;
  if (!allow_leading_zero && s.size() > 1 && s[0] == '0') return false;
  out = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    out = out * 10 + static_cast<uint64_t>(ch - '0');
  }
  return true;
}

bool ValidIdentifier(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-';
  });
}

// Strict Semantic Versioning 2.0.0; with `normalize`, a leading "v", missing minor/patch and
// leading zeros are accepted as Kubernetes' semver(s, true) does.
bool ParseSemver(std::string_view text, bool normalize, SemverObject& out) {
  if (normalize && !text.empty() && text[0] == 'v') text.remove_prefix(1);
  size_t plus = text.find('+');
  if (plus != text.npos) {
    out.build = std::string(text.substr(plus + 1));
    for (std::string_view part : Split(out.build, '.')) {
      if (!ValidIdentifier(part)) return false;
    }
    text = text.substr(0, plus);
  }
  size_t dash = text.find('-');
  if (dash != text.npos) {
    std::string_view pre = text.substr(dash + 1);
    for (std::string_view part : Split(pre, '.')) {
      if (!ValidIdentifier(part)) return false;
      std::string p(part);
      if (SemverObject::Numeric(p) && p.size() > 1 && p[0] == '0') return false;
      out.pre.push_back(p);
    }
    text = text.substr(0, dash);
  }
  auto parts = Split(text, '.');
  if (parts.size() > 3 || (!normalize && parts.size() != 3)) return false;
  uint64_t* fields[] = {&out.major, &out.minor, &out.patch};
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!ParseNumber(parts[i], *fields[i], normalize)) return false;
  }
  return true;
}

const SemverObject* AsSemver(const Value& v) {
  const OpaqueObject* o = v.AsOpaque();
  return o != nullptr && o->TypeName() == "kubernetes.Semver" ? static_cast<const SemverObject*>(o)
                                                              : nullptr;
}

Value SemverFn(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString) || (n == 2 && !a[1].Is(Kind::kBool))) return c.NoOverload(a, n);
  auto v = std::make_shared<SemverObject>();
  if (!ParseSemver(a[0].AsString(), n == 2 && a[1].AsBool(), *v)) {
    return c.Error("invalid semver '" + a[0].AsString() + "'");
  }
  return Value::Opaque(std::move(v));
}

Value IsSemver(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString) || (n == 2 && !a[1].Is(Kind::kBool))) return c.NoOverload(a, n);
  SemverObject v;
  return Value::Bool(ParseSemver(a[0].AsString(), n == 2 && a[1].AsBool(), v));
}

enum class SemverPart { kMajor, kMinor, kPatch };

template <SemverPart P>
Value SemverGet(CallContext& c, const Value* a, size_t n) {
  const SemverObject* v = AsSemver(a[0]);
  if (v == nullptr) return c.NoOverload(a, n);
  uint64_t field = P == SemverPart::kMajor   ? v->major
                   : P == SemverPart::kMinor ? v->minor
                                             : v->patch;
  return Value::Int(static_cast<int64_t>(std::min<uint64_t>(field, INT64_MAX)));
}

// isGreaterThan, isLessThan and compareTo are shared by Quantity and Semver.
template <QuantityCmp Op>
Value Ordered(CallContext& c, const Value* a, size_t n) {
  const SemverObject* x = AsSemver(a[0]);
  const SemverObject* y = AsSemver(a[1]);
  if (x == nullptr || y == nullptr) return QuantityBinary<Op>(c, a, n);
  int cmp = x->Compare(*y);
  if (Op == QuantityCmp::kGreater) return Value::Bool(cmp > 0);
  if (Op == QuantityCmp::kLess) return Value::Bool(cmp < 0);
  return Value::Int(cmp);
}

}  // namespace

void AddKubernetesTypeFunctions(std::vector<FunctionDef>& out) {
  const FunctionDef defs[] = {
      {"ip", kBoth, A1, IpFn},
      {"isIP", kGlobal, A1, IsIp},
      {"ip.isCanonical", kGlobal, A1, IpIsCanonical},
      {"family", kReceiver, A1, Family},
      {"isUnspecified", kReceiver, A1, IpTest<IsUnspecified>},
      {"isLoopback", kReceiver, A1, IpTest<IsLoopback>},
      {"isLinkLocalMulticast", kReceiver, A1, IpTest<IsLinkLocalMulticast>},
      {"isLinkLocalUnicast", kReceiver, A1, IpTest<IsLinkLocalUnicast>},
      {"isGlobalUnicast", kReceiver, A1, IpTest<IsGlobalUnicast>},
      {"cidr", kGlobal, A1, CidrFn},
      {"isCIDR", kGlobal, A1, IsCidr},
      {"containsIP", kReceiver, A2, ContainsIp},
      {"containsCIDR", kReceiver, A2, ContainsCidr},
      {"masked", kReceiver, A1, CidrMasked},
      {"prefixLength", kReceiver, A1, PrefixLength},
      {"url", kGlobal, A1, UrlFn},
      {"isURL", kGlobal, A1, IsUrl},
      {"getScheme", kReceiver, A1, UrlGet<UrlPart::kScheme>},
      {"getHost", kReceiver, A1, UrlGet<UrlPart::kHost>},
      {"getHostname", kReceiver, A1, UrlGet<UrlPart::kHostname>},
      {"getPort", kReceiver, A1, UrlGet<UrlPart::kPort>},
      {"getEscapedPath", kReceiver, A1, UrlGet<UrlPart::kPath>},
      {"getQuery", kReceiver, A1, UrlQuery},
      {"quantity", kGlobal, A1, QuantityFn},
      {"isQuantity", kGlobal, A1, IsQuantity},
      {"sign", kReceiver, A1, QuantityUnary<QuantityOp::kSign>},
      {"isInteger", kReceiver, A1, QuantityUnary<QuantityOp::kIsInteger>},
      {"asInteger", kReceiver, A1, QuantityUnary<QuantityOp::kAsInteger>},
      {"asApproximateFloat", kReceiver, A1, QuantityUnary<QuantityOp::kAsFloat>},
      {"add", kReceiver, A2, QuantityBinary<QuantityCmp::kAdd>},
      {"sub", kReceiver, A2, QuantityBinary<QuantityCmp::kSub>},
      {"isGreaterThan", kReceiver, A2, Ordered<QuantityCmp::kGreater>},
      {"isLessThan", kReceiver, A2, Ordered<QuantityCmp::kLess>},
      {"compareTo", kReceiver, A2, Ordered<QuantityCmp::kCompare>},
      {"semver", kGlobal, A1 | A2, SemverFn},
      {"isSemver", kGlobal, A1 | A2, IsSemver},
      {"major", kReceiver, A1, SemverGet<SemverPart::kMajor>},
      {"minor", kReceiver, A1, SemverGet<SemverPart::kMinor>},
      {"patch", kReceiver, A1, SemverGet<SemverPart::kPatch>},
  };
  out.insert(out.end(), std::begin(defs), std::end(defs));
}

}  // namespace moat::cel
