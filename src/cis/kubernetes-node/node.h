#pragma once
// `moat k8s node`: CIS Kubernetes Benchmark v1.12 section 4 (worker node) on the benchmark
// engine of `moat bench docker`. The facts are the kubelet's command line (host /proc), its
// config file, the kube-proxy command line and config, and the files they name, all read under
// --host-root. Command-line flags override the config file, as in the kubelet.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cis/docker/facts.h"
#include "cis/engine.h"
#include "k8s/value.h"

namespace moat::cis::k8s_node {

using k8s::Value;

/// A process found in the host's /proc: its argv and its flags ("--name=value", "--name value",
/// and "--flag" alone meaning true). The last occurrence of a flag wins, as with pflag.
struct ProcessInfo {
  bool found = false;
  int pid = 0;
  std::vector<std::string> argv;
  std::map<std::string, std::string> flags;  // long name without dashes -> value

  const std::string* Flag(std::string_view name) const;
};

/// A YAML/JSON configuration file named by a process flag or found at a default place.
struct ConfigFile {
  std::string path;  // host path; "" when none is used
  bool exists = false;
  Value root;  // the parsed document (a map) when it exists and parses
};

/// A setting after applying the kubelet's precedence: command line, then config file, then the
/// built-in default.
struct Setting {
  enum class Source { kFlag, kConfig, kDefault } source = Source::kDefault;
  std::optional<std::string> value;  // nullopt: not set and no default
  std::string where;                 // "kubelet --anonymous-auth=false", "config.yaml ..."
};

struct NodeFacts {
  cis::docker::HostFs host;
  ProcessInfo kubelet;
  ConfigFile kubelet_config;       // --config, default /var/lib/kubelet/config.yaml
  std::string kubelet_kubeconfig;  // --kubeconfig, default /etc/kubernetes/kubelet.conf
  std::string kubelet_service;     // the first unit file / drop-in that exists, else ""
  ProcessInfo proxy;
  ConfigFile proxy_config;       // kube-proxy --config
  std::string proxy_kubeconfig;  // --kubeconfig, or the config's clientConnection.kubeconfig
  /// Input name -> why it could not be read. Names: kubelet.process, kubelet.config,
  /// proxy.config.
  std::map<std::string, std::string> input_errors;

  const std::string* InputError(std::string_view input) const;

  /// A kubelet setting: `flag` on the command line, else `config_path` in the config file
  /// (dotted: "authentication.anonymous.enabled"), else the default (the config file API's
  /// default when a config file is used, the flag's default otherwise).
  Setting Kubelet(std::string_view flag, std::string_view config_path,
                  std::optional<std::string> config_default = std::nullopt,
                  std::optional<std::string> flag_default = std::nullopt) const;
};

struct CollectOptions {
  std::string host_root = "/";
};

/// Never fails as a whole: what could not be read goes to facts.input_errors (the checks that
/// need it become WARN) and one line per problem to `notes`.
NodeFacts CollectNodeFacts(const CollectOptions& options, std::vector<std::string>& notes);

/// Parses a process argv's flags (argv[0] excluded). Untrusted input; never fails.
std::map<std::string, std::string> ParseFlags(const std::vector<std::string>& args);

/// The CIS Kubernetes Benchmark v1.12 section 4 controls, in benchmark order.
const std::vector<cis::Check<NodeFacts>>& NodeChecks();
const std::vector<cis::Group>& NodeGroups();

/// Runs the selected checks and fills in the report (summary, results, totals).
cis::BenchReport AssessNode(const NodeFacts& facts, const cis::Selection& selection);

}  // namespace moat::cis::k8s_node
