#include "k8s/kubeconfig.h"

#include <cstdlib>
#include <filesystem>

#include "artifact/source_util.h"
#include "core/bytes.h"
#include "k8s/loader.h"

namespace moat::k8s {
namespace {

namespace fs = std::filesystem;

// Kubeconfigs and the files they name are small; anything larger is not one.
constexpr uint64_t kMaxKubeconfigBytes = 4u << 20;
constexpr uint64_t kMaxReferencedFileBytes = 1u << 20;

struct ParsedFile {
  std::string path;
  Value root;
};

std::string ScalarOf(const Value* v) {
  return v != nullptr && v->IsScalar() && !v->IsNull() ? v->text : std::string();
}

/// The entry called `name` in a top-level list (clusters, users, contexts) and the file it came
/// from; the first file that defines it wins, as in kubectl's merge.
struct Found {
  const Value* body = nullptr;  // the "cluster"/"user"/"context" map
  const ParsedFile* file = nullptr;
};

Result<Found> FindNamed(const std::vector<ParsedFile>& files, std::string_view list,
                        std::string_view body_key, const std::string& name) {
  for (const ParsedFile& file : files) {
    const Value* entries = file.root.Field(list);
    if (entries == nullptr) continue;
    if (!entries->IsSequence()) {
      return Fail(file.path, ":", std::to_string(entries->line), ": ", std::string(list), " is a ",
                  std::string(entries->TypeName()), ", not a list");
    }
    for (const Value& entry : entries->Items()) {
      if (!entry.IsMap() || ScalarOf(entry.Get("name")) != name) continue;
      const Value* body = entry.Field(body_key);
      if (body == nullptr || !body->IsMap()) {
        return Fail(file.path, ":", std::to_string(entry.line), ": ", std::string(list),
                    " entry \"", name, "\" has no ", std::string(body_key), " map");
      }
      return Found{body, &file};
    }
  }
  std::string where;
  for (const ParsedFile& file : files) where += (where.empty() ? "" : ", ") + file.path;
  return Fail(where, ": no ", std::string(body_key), " named \"", name, "\" in ",
              std::string(list));
}

std::string Resolve(const ParsedFile& file, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return (fs::path(file.path).parent_path() / path).lexically_normal().string();
}

std::string StripWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') out += c;
  }
  return out;
}

/// One credential that may be inline base64 (`<key>-data`) or a file (`<key>`); the inline
/// form wins. Empty when neither is set.
Result<std::string> DataOrFile(const Found& found, const std::string& key,
                               const KubeconfigFileReader& read_file) {
  const Value* data = found.body->Field(key + "-data");
  if (data != nullptr && !ScalarOf(data).empty()) {
    auto decoded = Base64Decode(StripWhitespace(data->text));
    if (!decoded.ok()) {
      return Fail(found.file->path, ":", std::to_string(data->line), ": ", key,
                  "-data is not base64: ", decoded.error().message);
    }
    return std::move(*decoded);
  }
  const std::string file_name = ScalarOf(found.body->Field(key));
  if (file_name.empty()) return std::string();
  const std::string path = Resolve(*found.file, file_name);
  auto text = read_file(path);
  if (!text.ok()) return Fail(found.file->path, ": ", key, ": ", text.error().message);
  return std::move(*text);
}

std::string TrimLineEnd(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

}  // namespace

KubeconfigFileReader DefaultKubeconfigFileReader() {
  return [](const std::string& path) { return ReadFileToString(path, kMaxReferencedFileBytes); };
}

Result<ClusterConnection> ParseKubeconfig(const std::vector<KubeconfigText>& texts,
                                          const std::string& context,
                                          const KubeconfigFileReader& read_file) {
  if (texts.empty()) return Fail("no kubeconfig given");
  std::vector<ParsedFile> files;
  LoadLimits limits;
  limits.max_nodes_per_document = 200'000;
  for (const KubeconfigText& text : texts) {
    MOAT_ASSIGN_OR_RETURN(Value root, ParseYamlDocument(text.text, text.path, limits));
    if (root.IsNull()) continue;  // kubectl accepts empty files in KUBECONFIG
    if (!root.IsMap()) {
      return Fail(text.path, ": a kubeconfig is a map, not a ", std::string(root.TypeName()));
    }
    files.push_back({text.path, std::move(root)});
  }
  std::string source;
  for (const KubeconfigText& text : texts) source += (source.empty() ? "" : ":") + text.path;
  if (files.empty()) return Fail(source, ": empty kubeconfig");

  std::string context_name = context;
  if (context_name.empty()) {
    for (const ParsedFile& file : files) {
      context_name = ScalarOf(file.root.Field("current-context"));
      if (!context_name.empty()) break;
    }
    if (context_name.empty()) {
      return Fail(source, ": no current-context; name one with --context");
    }
  }

  ClusterConnection connection;
  connection.context = context_name;
  connection.source = source;
  MOAT_ASSIGN_OR_RETURN(Found ctx, FindNamed(files, "contexts", "context", context_name));
  const std::string cluster_name = ScalarOf(ctx.body->Field("cluster"));
  const std::string user_name = ScalarOf(ctx.body->Field("user"));
  if (cluster_name.empty()) {
    return Fail(ctx.file->path, ": context \"", context_name, "\" names no cluster");
  }

  MOAT_ASSIGN_OR_RETURN(Found cluster, FindNamed(files, "clusters", "cluster", cluster_name));
  connection.server = ScalarOf(cluster.body->Field("server"));
  while (!connection.server.empty() && connection.server.back() == '/')
    connection.server.pop_back();
  if (connection.server.rfind("https://", 0) != 0 && connection.server.rfind("http://", 0) != 0) {
    return Fail(cluster.file->path, ": cluster \"", cluster_name, "\" server \"", connection.server,
                "\" is not an http(s) URL");
  }
  if (const Value* insecure = cluster.body->Field("insecure-skip-tls-verify")) {
    connection.insecure_skip_tls_verify = insecure->IsTrue();
  }
  MOAT_ASSIGN_OR_RETURN(connection.ca_pem, DataOrFile(cluster, "certificate-authority", read_file));
  if (connection.insecure_skip_tls_verify && !connection.ca_pem.empty()) {
    // kubectl refuses this combination: one of the two settings is a mistake.
    return Fail(cluster.file->path, ": cluster \"", cluster_name,
                "\" sets both a certificate authority and insecure-skip-tls-verify");
  }

  if (user_name.empty()) return connection;  // anonymous access
  MOAT_ASSIGN_OR_RETURN(Found user, FindNamed(files, "users", "user", user_name));
  if (user.body->Field("exec") != nullptr || user.body->Field("auth-provider") != nullptr) {
    return Fail(user.file->path, ": user \"", user_name,
                "\" gets its credentials from an exec plugin or auth provider, which moat does "
                "not run; use a kubeconfig with a token or a client certificate");
  }
  MOAT_ASSIGN_OR_RETURN(connection.client_cert_pem,
                        DataOrFile(user, "client-certificate", read_file));
  MOAT_ASSIGN_OR_RETURN(connection.client_key_pem, DataOrFile(user, "client-key", read_file));
  if (connection.client_cert_pem.empty() != connection.client_key_pem.empty()) {
    return Fail(user.file->path, ": user \"", user_name,
                "\" has a client certificate without a key or a key without a certificate");
  }
  connection.token = ScalarOf(user.body->Field("token"));
  if (connection.token.empty()) {
    const std::string token_file = ScalarOf(user.body->Field("tokenFile"));
    if (!token_file.empty()) {
      const std::string path = Resolve(*user.file, token_file);
      auto token = read_file(path);
      if (!token.ok()) {
        return Fail(user.file->path, ": tokenFile: ", token.error().message);
      }
      connection.token = TrimLineEnd(std::move(*token));
    }
  }
  connection.username = ScalarOf(user.body->Field("username"));
  connection.password = ScalarOf(user.body->Field("password"));
  return connection;
}

Result<ClusterConnection> LoadKubeconfig(const std::vector<std::string>& paths,
                                         const std::string& context) {
  std::vector<KubeconfigText> texts;
  for (const std::string& path : paths) {
    auto text = ReadFileToString(path, kMaxKubeconfigBytes);
    if (!text.ok()) return Fail("kubeconfig: ", text.error().message);
    texts.push_back({path, std::move(*text)});
  }
  return ParseKubeconfig(texts, context, DefaultKubeconfigFileReader());
}

Result<ClusterConnection> InClusterConnection(const std::function<const char*(const char*)>& getenv,
                                              const std::string& account_dir) {
  const char* host = getenv("KUBERNETES_SERVICE_HOST");
  const char* port = getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    return Fail("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  }
  ClusterConnection connection;
  const std::string host_text = host;
  const bool ipv6 = host_text.find(':') != std::string::npos;
  connection.server =
      "https://" + (ipv6 ? "[" + host_text + "]" : host_text) + ":" + std::string(port);
  const std::string token_path = account_dir + "/token";
  auto token = ReadFileToString(token_path, kMaxReferencedFileBytes);
  if (!token.ok()) return Fail("service account token: ", token.error().message);
  connection.token = TrimLineEnd(std::move(*token));
  const std::string ca_path = account_dir + "/ca.crt";
  auto ca = ReadFileToString(ca_path, kMaxReferencedFileBytes);
  if (!ca.ok()) return Fail("service account CA: ", ca.error().message);
  connection.ca_pem = std::move(*ca);
  connection.context = "in-cluster";
  connection.source = account_dir;
  return connection;
}

Result<ClusterConnection> ResolveConnection(const ConnectionOptions& options) {
  auto env = [](const char* name) -> const char* { return std::getenv(name); };
  if (options.in_cluster) return InClusterConnection(env);
  if (!options.kubeconfig.empty()) return LoadKubeconfig({options.kubeconfig}, options.context);
  if (const char* list = std::getenv("KUBECONFIG"); list != nullptr && *list != '\0') {
    std::vector<std::string> paths;
    std::string_view rest(list);
    while (!rest.empty()) {
      size_t colon = rest.find(':');
      std::string_view part = rest.substr(0, colon);
      // kubectl skips KUBECONFIG entries that do not exist; only an all-missing list is an error.
      std::error_code ec;
      if (!part.empty() && fs::exists(std::string(part), ec)) paths.emplace_back(part);
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
    if (paths.empty()) return Fail("KUBECONFIG=", list, ": none of these files exists");
    return LoadKubeconfig(paths, options.context);
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    const std::string path = std::string(home) + "/.kube/config";
    std::error_code ec;
    if (fs::exists(path, ec)) return LoadKubeconfig({path}, options.context);
  }
  auto in_cluster = InClusterConnection(env);
  if (in_cluster.ok()) return in_cluster;
  return Fail("no cluster to connect to: no --kubeconfig, no KUBECONFIG, no ~/.kube/config, and ",
              in_cluster.error().message);
}

}  // namespace moat::k8s
