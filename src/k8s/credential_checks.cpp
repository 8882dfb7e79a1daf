// Credentials in plain text: literal environment values and ConfigMap data that are secrets.
// Three signals, as secret scanners use them: a key named like a secret (password, token,
// secret, api key, ...) holding a literal value; a value in a known credential format (cloud and
// forge tokens, private keys, JWTs, passwords in URLs); a long high-entropy token. Values are
// masked in messages: a report must not spread the secret it found.

#include <re2/re2.h>
#include <re2/set.h>

#include <array>
#include <cctype>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/text.h"
#include "k8s/check_util.h"

namespace moat::k8s::internal {
namespace {

struct CredentialFormat {
  std::string_view name;
  std::string_view pattern;  // RE2, unanchored
};

// The token formats are the issuers' documented prefixes and lengths.
constexpr CredentialFormat kFormats[] = {
    {"AWS access key ID", R"(\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b)"},
    {"GitHub token", R"(\bgh[pousr]_[A-Za-z0-9]{36,255}\b)"},
    {"GitHub fine-grained token", R"(\bgithub_pat_[A-Za-z0-9_]{82}\b)"},
    {"GitLab personal access token", R"(\bglpat-[A-Za-z0-9_\-]{20,}\b)"},
    {"Slack token", R"(\bxox[baprs]-[A-Za-z0-9\-]{10,})"},
    {"Stripe live key", R"(\b(?:sk|rk)_live_[A-Za-z0-9]{20,}\b)"},
    {"Google API key", R"(\bAIza[0-9A-Za-z_\-]{35}\b)"},
    {"SendGrid API key", R"(\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b)"},
    {"npm access token", R"(\bnpm_[A-Za-z0-9]{36}\b)"},
    {"private key", R"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----)"},
    // The same PEM headers base64-encoded (a Secret's data copied into a ConfigMap): PKCS#8,
    // RSA, EC, DSA, OpenSSH and encrypted PKCS#8.
    {"base64-encoded private key",
     R"(LS0tLS1CRUdJTiB(?:QUklWQVRFIEtFWS0tLS0t|SU0EgUFJJVkFURSBLRVktLS0t|FQyBQUklWQVRFIEtFWS0tLS0t|)"
     R"(EU0EgUFJJVkFURSBLRVktLS0t|PUEVOU1NIIFBSSVZBVEUgS0VZLS0t|)"
     R"(FTkNSWVBURUQgUFJJVkFURSBLRVktLS0t))"},
    {"JSON Web Token", R"(\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"},
    // scheme://user:password@host, unless the password is a placeholder ($VAR, ${VAR}, <pw>).
    {"password in a URL", R"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]+:[^\s/@$<{][^\s/@]*@)"},
};

/// All formats in one automaton: one pass over a value, whatever the number of formats.
const RE2::Set& FormatSet() {
  static const std::unique_ptr<RE2::Set> kSet = [] {
    RE2::Options options;
    options.set_log_errors(false);
    auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
    for (const CredentialFormat& f : kFormats) MOAT_CHECK(set->Add(f.pattern, nullptr) >= 0);
    MOAT_CHECK(set->Compile());
    return set;
  }();
  return *kSet;
}

/// The name of the first known credential format in `value`, or "".
std::string_view KnownFormat(std::string_view value) {
  if (value.size() < 16) return {};  // shorter than any format
  std::vector<int> matches;
  if (!FormatSet().Match(value, &matches) || matches.empty()) return {};
  int first = matches.front();
  for (int m : matches) first = std::min(first, m);
  return kFormats[first].name;
}

/// The words of a key: "dbPassword" -> db, password; "AWS_SECRET_ACCESS_KEY" -> aws, secret,
/// access, key; "spring.datasource.password" -> spring, datasource, password.
std::vector<std::string> Words(std::string_view key) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(AsciiLower(word));
    word.clear();
  };
  for (size_t i = 0; i < key.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(key[i]);
    if (!std::isalnum(ch)) {
      flush();
      continue;
    }
    // camelCase boundary: a capital after a lower-case letter or digit.
    if (std::isupper(ch) && i > 0 &&
        (std::islower(static_cast<unsigned char>(key[i - 1])) ||
         std::isdigit(static_cast<unsigned char>(key[i - 1]))))
      flush();
    word += static_cast<char>(ch);
  }
  flush();
  return words;
}

bool In(std::string_view word, std::initializer_list<std::string_view> set) {
  for (std::string_view w : set) {
    if (w == word) return true;
  }
  return false;
}

/// Whether a key names a secret. The last word decides when it names something about the secret
/// rather than the secret ("PASSWORD_FILE", "TOKEN_URL", "API_KEY_ID", "SECRET_NAME").
bool SecretKeyName(std::string_view key) {
  const std::vector<std::string> words = Words(key);
  if (words.empty()) return false;
  if (In(words.back(),
         {"url",     "uri",      "endpoint", "host",       "hostname", "port",     "path",
          "file",    "dir",      "name",     "names",      "id",       "ids",      "type",
          "length",  "len",      "size",     "ttl",        "timeout",  "expiry",   "expiration",
          "expires", "enabled",  "enable",   "disable",    "disabled", "required", "header",
          "mode",    "policy",   "format",   "algorithm",  "alg",      "count",    "max",
          "min",     "interval", "version",  "location",   "ref",      "field",    "prefix",
          "suffix",  "provider", "method",   "seconds",    "secs",     "minutes",  "hours",
          "days",    "duration", "lifetime", "rotation",   "strategy", "source",   "kind",
          "user",    "username", "arn",      "region",     "scope",    "scopes",   "audience",
          "issuer",  "hash",     "salt",     "store",      "public",   "retries",  "retry",
          "limit",   "label",    "labels",   "annotation", "selector"}))
    return false;
  bool qualified_key = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (In(w, {"password", "passwd", "passphrase", "secret", "token", "credential", "credentials",
               "apikey", "privatekey", "accesskey", "secretkey", "authtoken", "accesstoken",
               "refreshtoken", "clientsecret"}))
      return true;
    if (w == "key" &&
        (words.size() == 1 ||
         (i > 0 && In(words[i - 1], {"api", "access", "secret", "private", "signing", "encryption",
                                     "master", "client", "auth", "ssh", "license"}))))
      qualified_key = true;
  }
  return qualified_key;
}

/// Whether a value is a literal (not empty, not a reference or template placeholder, not a
/// path, not a boolean).
bool LiteralValue(std::string_view value) {
  if (value.size() < 4) return false;
  if (value.front() == '$' || value.front() == '<' || value.front() == '/' ||
      value.rfind("./", 0) == 0 || value.rfind("~/", 0) == 0)
    return false;
  if (value.find("{{") != std::string_view::npos || value.find("$(") != std::string_view::npos ||
      value.find("${") != std::string_view::npos)
    return false;
  const std::string lower = AsciiLower(value);
  return !In(lower,
             {"true", "false", "yes", "null", "none", "nil", "empty", "redacted", "xxxx", "****"});
}

/// Shannon entropy in bits per character.
double Entropy(std::string_view value) {
  std::array<unsigned, 256> counts{};
  for (char ch : value) ++counts[static_cast<unsigned char>(ch)];
  double bits = 0;
  for (unsigned n : counts) {
    if (n == 0) continue;
    const double p = static_cast<double>(n) / static_cast<double>(value.size());
    bits -= p * std::log2(p);
  }
  return bits;
}

/// A long random-looking token: 20+ characters of the base64/base64url/hex alphabet with both
/// letters and digits and at least 4.5 bits of entropy per character (hex strings, UUIDs and
/// words stay below it).
bool HighEntropyToken(std::string_view value, double threshold) {
  if (value.size() < 20 || value.size() > 1024) return false;
  // A base64 PEM certificate ("-----BEGIN CERTIFICATE-----", e.g. a caBundle) is public.
  if (value.rfind("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t", 0) == 0) return false;
  bool letter = false, digit = false;
  for (char ch : value) {
    const unsigned char u = static_cast<unsigned char>(ch);
    if (std::isalpha(u)) {
      letter = true;
    } else if (std::isdigit(u)) {
      digit = true;
    } else if (ch != '+' && ch != '/' && ch != '=' && ch != '-' && ch != '_' && ch != '.') {
      return false;
    }
  }
  return letter && digit && Entropy(value) >= threshold;
}

/// "hun…" (7 characters): enough to find it, not enough to use it.
std::string Masked(std::string_view value) {
  return "\"" + std::string(value.substr(0, std::min<size_t>(3, value.size() / 4))) + "…\" (" +
         std::to_string(value.size()) + " characters)";
}

/// Why (key, value) is a plain-text credential, or "".
std::string Classify(std::string_view key, std::string_view value, double entropy_threshold) {
  if (std::string_view format = KnownFormat(value); !format.empty())
    return "holds a " + std::string(format);
  if (SecretKeyName(key) && LiteralValue(value))
    return "is named like a secret and holds a literal";
  if (HighEntropyToken(value, entropy_threshold)) return "holds a high-entropy token";
  return "";
}

double EntropyThreshold(const CheckContext& c) {
  const std::string text = c.params.String("minimumEntropy");
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  return end != text.c_str() && v > 0 ? v : 4.5;
}

void EnvPlaintext(const CheckContext& c, Emitter& e) {
  const double threshold = EntropyThreshold(c);
  ForEachContainer(*c.pod, [&](const Value& container, const std::string& path) {
    const Value* env = container.Get("env");
    if (env == nullptr) return;
    size_t i = 0;
    for (const Value& var : env->Items()) {
      const Value* name = var.Get("name");
      const Value* value = var.Get("value");
      if (name != nullptr && value != nullptr && value->IsScalar() && !value->IsNull()) {
        const std::string why = Classify(name->Str(), value->Str(), threshold);
        if (!why.empty())
          e.Fail(value, path + ".env[" + std::to_string(i) + "].value",
                 DescribeContainer(container) + " environment variable " + name->text + " " + why +
                     " in plain text: " + Masked(value->Str()));
      }
      ++i;
    }
  });
}

/// Splits "name = value", "name: value" and "export NAME=value" lines of a config file.
bool SplitAssignment(std::string_view line, std::string_view* name, std::string_view* value) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  line = trim(line);
  if (line.empty() || line.front() == '#' || line.front() == ';') return false;
  if (line.rfind("export ", 0) == 0) line.remove_prefix(7);
  const size_t at = line.find_first_of("=:");
  if (at == std::string_view::npos || at == 0) return false;
  *name = trim(line.substr(0, at));
  *value = trim(line.substr(at + 1));
  if (value->size() >= 2 && (value->front() == '"' || value->front() == '\'') &&
      value->back() == value->front())
    *value = value->substr(1, value->size() - 2);
  for (char ch : *name) {
    if (std::isspace(static_cast<unsigned char>(ch))) return false;
  }
  return !value->empty();
}

void ConfigMapPlaintext(const CheckContext& c, Emitter& e) {
  const double threshold = EntropyThreshold(c);
  const Value* data = c.object.root.Get("data");
  if (data == nullptr) return;
  for (const Value& entry : data->Entries()) {
    if (!entry.IsScalar() || entry.IsNull()) continue;
    const std::string_view text = entry.Str();
    const std::string path = "data[\"" + entry.key + "\"]";
    if (text.find('\n') == std::string_view::npos) {
      const std::string why = Classify(entry.key, text, threshold);
      if (!why.empty())
        e.Fail(&entry, path, "key " + entry.key + " " + why + " in plain text: " + Masked(text));
      continue;
    }
    // A file: known formats anywhere, and name=value / name: value lines with a secret's name.
    if (std::string_view format = KnownFormat(text); !format.empty()) {
      e.Fail(&entry, path, "file " + entry.key + " holds a " + std::string(format));
      continue;
    }
    size_t line_number = 0, start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      ++line_number;
      std::string_view name, value;
      if (SplitAssignment(text.substr(start, end - start), &name, &value) && SecretKeyName(name) &&
          LiteralValue(value)) {
        e.Fail(&entry, path,
               "file " + entry.key + " line " + std::to_string(line_number) + ": " +
                   std::string(name) +
                   " is named like a secret and holds a literal in plain "
                   "text: " +
                   Masked(value));
      }
      start = end + 1;
    }
  }
}

}  // namespace

void AddCredentialChecks(std::vector<CheckDef>& checks) {
  const std::vector<std::string> references = {
      "kubescape C-0012 (Applications credentials in configuration files)",
      "CIS Kubernetes Benchmark 5.4.1 (Prefer using secrets as files)"};
  const std::vector<Parameter> parameters = {
      {"minimumEntropy", "4.5",
       "bits per character from which a 20+ character token counts as a secret"}};
  AddCheck(checks,
           MakeInfo("cred-env-plaintext", "credentials",
                    "No credentials in environment variable values", Severity::kHigh,
                    "A password, token or key written as a literal env value is in the manifest, "
                    "in the API server's storage and visible to everyone who can read the "
                    "workload.",
                    "Put the value in a Secret and reference it (valueFrom.secretKeyRef, or "
                    "better a secret volume); rotate the exposed credential.",
                    references, {"workload"}, parameters),
           EnvPlaintext);
  AddCheck(checks,
           MakeInfo("cred-configmap-plaintext", "credentials", "No credentials in ConfigMaps",
                    Severity::kHigh,
                    "ConfigMaps are not secret: any subject that can read configuration reads "
                    "them, and they are not encrypted at rest. A password, token or key in one "
                    "is exposed.",
                    "Move the value to a Secret (mounted as a file), keep only non-secret "
                    "settings in the ConfigMap; rotate the exposed credential.",
                    references, {"ConfigMap"}, parameters),
           ConfigMapPlaintext);
}

}  // namespace moat::k8s::internal
