// The Kubernetes format library (k8s.io/apiserver/pkg/cel/library/format.go):
//   format.dns1123Label().validate('my-name')   -> optional.none() when valid,
//                                                  optional.of([messages]) when not
//   format.named('dns1123Label').value().validate(...)
// with the rules of k8s.io/apimachinery/pkg/util/validation.

#include <re2/re2.h>

#include <cctype>
#include <iterator>

#include "artifact/source_util.h"
#include "cel/functions.h"
#include "cel/time.h"

namespace moat::cel {
namespace {

constexpr std::string_view kLabel = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kSubdomain =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr std::string_view k1035Label = "[a-z]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kQualifiedName = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kLabelValue = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr std::string_view kUuid =
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

bool FullMatch(std::string_view text, std::string_view pattern) {
  // A handful of fixed patterns, compiled once each (the views point at literals, so data() is
  // NUL-terminated).
  static const std::string_view patterns[] = {kLabel,         kSubdomain,  k1035Label,
                                              kQualifiedName, kLabelValue, kUuid};
  static const re2::RE2 regexes[] = {re2::RE2(kLabel.data()),      re2::RE2(kSubdomain.data()),
                                     re2::RE2(k1035Label.data()),  re2::RE2(kQualifiedName.data()),
                                     re2::RE2(kLabelValue.data()), re2::RE2(kUuid.data())};
  for (size_t i = 0; i < std::size(patterns); ++i) {
    if (patterns[i] == pattern) return re2::RE2::FullMatch(text, regexes[i]);
  }
  return false;
}

using Messages = std::vector<std::string>;

void CheckPattern(std::string_view text, size_t max, std::string_view pattern,
                  std::string_view what, std::string_view example, Messages& out) {
  if (text.size() > max)
    out.push_back("must be no more than " + std::to_string(max) + " characters");
  if (!FullMatch(text, pattern)) {
    out.push_back(std::string(what) + " (e.g. " + std::string(example) +
                  ", regex used for validation is '" + std::string(pattern) + "')");
  }
}

constexpr std::string_view kLabelWhat =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character";
constexpr std::string_view kSubdomainWhat =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view k1035What =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character";

Messages Dns1123Label(std::string_view s) {
  Messages m;
  CheckPattern(s, 63, kLabel, kLabelWhat, "'my-name',  or '123-abc'", m);
  return m;
}
Messages Dns1123Subdomain(std::string_view s) {
  Messages m;
  CheckPattern(s, 253, kSubdomain, kSubdomainWhat, "'example.com'", m);
  return m;
}
Messages Dns1035Label(std::string_view s) {
  Messages m;
  CheckPattern(s, 63, k1035Label, k1035What, "'my-name',  or 'abc-123'", m);
  return m;
}

// A generateName prefix may end in '-': it is validated as if that dash were a letter.
template <Messages (*Validate)(std::string_view)>
Messages Prefix(std::string_view s) {
  std::string masked(s);
  if (!masked.empty() && masked.back() == '-') masked.back() = 'a';
  return Validate(masked);
}

Messages QualifiedName(std::string_view s) {
  Messages m;
  std::string_view name = s;
  size_t slash = s.find('/');
  if (slash != s.npos) {
    std::string_view prefix = s.substr(0, slash);
    name = s.substr(slash + 1);
    if (prefix.empty()) {
      m.push_back("prefix part must be non-empty");
    } else {
      for (std::string& message : Dns1123Subdomain(prefix)) m.push_back("prefix part " + message);
    }
    if (name.find('/') != name.npos) {
      m.push_back(
          "a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
          "with an optional DNS subdomain prefix and '/'");
      return m;
    }
  }
  if (name.empty()) {
    m.push_back("name part must be non-empty");
    return m;
  }
  if (name.size() > 63) m.push_back("name part must be no more than 63 characters");
  if (!FullMatch(name, kQualifiedName)) {
    m.push_back(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
        "'123-abc', regex used for validation is '" +
        std::string(kQualifiedName) + "')");
  }
  return m;
}

Messages LabelValue(std::string_view s) {
  Messages m;
  if (s.size() > 63) m.push_back("must be no more than 63 characters");
  if (!FullMatch(s, kLabelValue)) {
    m.push_back(
        "a valid label must be an empty string or consist of alphanumeric characters, "
        "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
        "'MyValue',  or 'my_value',  or '12345', regex used for validation is '" +
        std::string(kLabelValue) + "')");
  }
  return m;
}

Messages Uri(std::string_view s) {
  // An absolute URI or an absolute path, as Go's url.ParseRequestURI.
  bool ok = !s.empty() && s.find_first_of(" \t\r\n#") == s.npos;
  if (ok && s[0] != '/') {
    size_t colon = s.find(':');
    ok = colon != s.npos && colon > 0 && std::isalpha(static_cast<unsigned char>(s[0]));
  }
  return ok ? Messages{} : Messages{"invalid URI"};
}

Messages Uuid(std::string_view s) {
  return FullMatch(s, kUuid) ? Messages{} : Messages{"does not match the UUID format"};
}

Messages Byte(std::string_view s) {
  return Base64Decode(s).ok() ? Messages{} : Messages{"invalid base64"};
}

Messages Date(std::string_view s) {
  // A full-date: the date part of an RFC 3339 timestamp.
  bool ok = s.size() == 10 && ParseTimestamp(std::string(s) + "T00:00:00Z").ok();
  return ok ? Messages{} : Messages{"invalid date"};
}

Messages DateTime(std::string_view s) {
  return ParseTimestamp(s).ok() ? Messages{} : Messages{"invalid datetime"};
}

struct NamedFormat {
  std::string_view name;
  Messages (*validate)(std::string_view);
};

constexpr NamedFormat kFormats[] = {
    {"dns1123Label", Dns1123Label},
    {"dns1123Subdomain", Dns1123Subdomain},
    {"dns1035Label", Dns1035Label},
    {"qualifiedName", QualifiedName},
    {"dns1123LabelPrefix", Prefix<Dns1123Label>},
    {"dns1123SubdomainPrefix", Prefix<Dns1123Subdomain>},
    {"dns1035LabelPrefix", Prefix<Dns1035Label>},
    {"labelValue", LabelValue},
    {"uri", Uri},
    {"uuid", Uuid},
    {"byte", Byte},
    {"date", Date},
    {"datetime", DateTime},
};

struct FormatObject : OpaqueObject {
  const NamedFormat* format = nullptr;
  std::string_view TypeName() const override { return "kubernetes.NamedFormat"; }
  bool Equals(const OpaqueObject& o) const override {
    return format == static_cast<const FormatObject&>(o).format;
  }
  std::string ToString() const override { return std::string(format->name); }
};

Value MakeFormat(const NamedFormat& format) {
  auto object = std::make_shared<FormatObject>();
  object->format = &format;
  return Value::Opaque(std::move(object));
}

Value Named(CallContext& c, const Value* a, size_t n) {
  if (!a[0].Is(Kind::kString)) return c.NoOverload(a, n);
  for (const NamedFormat& format : kFormats) {
    if (format.name == a[0].AsString()) return Value::OptionalOf(MakeFormat(format));
  }
  return Value::OptionalNone();
}

template <size_t I>
Value FormatByIndex(CallContext&, const Value*, size_t) {
  return MakeFormat(kFormats[I]);
}

Value Validate(CallContext& c, const Value* a, size_t n) {
  const OpaqueObject* o = a[0].AsOpaque();
  if (o == nullptr || o->TypeName() != "kubernetes.NamedFormat" || !a[1].Is(Kind::kString)) {
    return c.NoOverload(a, n);
  }
  c.eval.Spend(a[1].AsString().size() / 10);
  Messages messages = static_cast<const FormatObject*>(o)->format->validate(a[1].AsString());
  if (messages.empty()) return Value::OptionalNone();
  std::vector<Value> list;
  for (std::string& m : messages) list.push_back(Value::String(std::move(m)));
  return Value::OptionalOf(Value::List(std::move(list)));
}

}  // namespace

void AddKubernetesFormatFunctions(std::vector<FunctionDef>& out) {
  const FunctionDef defs[] = {
      {"format.named", kGlobal, A1, Named},
      {"format.dns1123Label", kGlobal, A0, FormatByIndex<0>},
      {"format.dns1123Subdomain", kGlobal, A0, FormatByIndex<1>},
      {"format.dns1035Label", kGlobal, A0, FormatByIndex<2>},
      {"format.qualifiedName", kGlobal, A0, FormatByIndex<3>},
      {"format.dns1123LabelPrefix", kGlobal, A0, FormatByIndex<4>},
      {"format.dns1123SubdomainPrefix", kGlobal, A0, FormatByIndex<5>},
      {"format.dns1035LabelPrefix", kGlobal, A0, FormatByIndex<6>},
      {"format.labelValue", kGlobal, A0, FormatByIndex<7>},
      {"format.uri", kGlobal, A0, FormatByIndex<8>},
      {"format.uuid", kGlobal, A0, FormatByIndex<9>},
      {"format.byte", kGlobal, A0, FormatByIndex<10>},
      {"format.date", kGlobal, A0, FormatByIndex<11>},
      {"format.datetime", kGlobal, A0, FormatByIndex<12>},
      {"validate", kReceiver, A2, Validate},
  };
  out.insert(out.end(), std::begin(defs), std::end(defs));
}

}  // namespace moat::cel
