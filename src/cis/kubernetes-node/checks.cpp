// CIS Kubernetes Benchmark v1.12, section 4 (worker nodes), as data for the benchmark engine.
// Titles, ids and remediations follow the benchmark (../shared/data/seed/
// kube_bench_cis-1.12_node_checks.csv). Manual controls are evaluated too where the facts allow
// it, but stay out of the score, as the benchmark says.

#include <sys/stat.h>

#include <cstdio>
#include <functional>

#include "cis/kubernetes-node/node.h"

namespace moat::cis::k8s_node {
namespace {

using cis::Control;
using cis::Failed;
using cis::Manual;
using cis::NotApplicable;
using cis::Outcome;
using cis::Pass;
using cis::Warn;
using NodeCheck = cis::Check<NodeFacts>;
using PathOf = std::function<std::string(const NodeFacts&)>;

std::string Octal(mode_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
  return buffer;
}

/// Go's strconv.ParseBool, which the kubelet's flags use.
std::optional<bool> ParseBool(std::string_view text) {
  for (std::string_view t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (text == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "false", "FALSE", "False"}) {
    if (text == f) return false;
  }
  return std::nullopt;
}

/// Neither the command line nor a config file: nothing tells what the kubelet runs with.
std::optional<Outcome> NoKubeletInputs(const NodeFacts& f) {
  if (f.kubelet.found || f.kubelet_config.exists) return std::nullopt;
  return Warn("no kubelet process and no kubelet config file found",
              {"looked in " + f.host.Resolve("/proc") + " and at " +
               (f.kubelet_config.path.empty() ? std::string("the default config paths")
                                              : f.kubelet_config.path)});
}

Outcome FileMode(const NodeFacts& f, const std::string& path, mode_t max_mode,
                 const std::string& what) {
  if (path.empty()) return NotApplicable(what + " not found on this node");
  cis::docker::StatInfo st = f.host.Stat(path);
  if (!st.error.empty()) return Warn("cannot stat " + what + " " + path + ": " + st.error);
  if (!st.exists) return NotApplicable(what + " " + path + " does not exist on this node");
  if ((st.mode & ~max_mode & 07777) != 0) {
    return Failed({path + ": mode " + Octal(st.mode) + ", allowed at most " + Octal(max_mode)});
  }
  return Pass({path + ": mode " + Octal(st.mode)});
}

Outcome FileOwner(const NodeFacts& f, const std::string& path, const std::string& what) {
  if (path.empty()) return NotApplicable(what + " not found on this node");
  cis::docker::StatInfo st = f.host.Stat(path);
  if (!st.error.empty()) return Warn("cannot stat " + what + " " + path + ": " + st.error);
  if (!st.exists) return NotApplicable(what + " " + path + " does not exist on this node");
  const std::string owner = f.host.UserName(st.uid) + ":" + f.host.GroupName(st.gid);
  if (st.uid != 0 || st.gid != 0) return Failed({path + ": owner " + owner + ", want root:root"});
  return Pass({path + ": owner " + owner});
}

std::string Mode(mode_t mode) { return Octal(mode).substr(1); }

NodeCheck Perms(std::string id, std::string title, bool automated, std::string what,
                mode_t max_mode, PathOf path) {
  Control control{std::move(id),
                  std::move(title),
                  "4.1",
                  1,
                  automated,
                  "permissions of " + what,
                  what + " has mode " + Mode(max_mode) + " or more restrictive",
                  "chmod " + Mode(max_mode) + " <" + what + ">"};
  return {std::move(control), {}, [path = std::move(path), max_mode, what](const NodeFacts& f) {
            return FileMode(f, path(f), max_mode, what);
          }};
}

NodeCheck Owner(std::string id, std::string title, bool automated, std::string what, PathOf path) {
  Control control{std::move(id),
                  std::move(title),
                  "4.1",
                  1,
                  automated,
                  "owner of " + what,
                  what + " is owned by root:root",
                  "chown root:root <" + what + ">"};
  return {std::move(control), {}, [path = std::move(path), what](const NodeFacts& f) {
            return FileOwner(f, path(f), what);
          }};
}

std::string ClientCaFile(const NodeFacts& f) {
  Setting s = f.Kubelet("client-ca-file", "authentication.x509.clientCAFile");
  return s.value.value_or("");
}

/// A kubelet control over one setting; `judge` gets the effective setting.
NodeCheck KubeletSetting(Control control, std::function<Outcome(const NodeFacts&)> judge) {
  control.group = "4.2";
  return {std::move(control), {"kubelet.config"}, [judge = std::move(judge)](const NodeFacts& f) {
            if (auto missing = NoKubeletInputs(f)) return *missing;
            return judge(f);
          }};
}

/// PASS when the effective boolean is `want`.
Outcome BoolIs(const Setting& s, bool want) {
  if (!s.value) return Failed({s.where});
  auto value = ParseBool(*s.value);
  if (!value) return Failed({s.where + ": not a boolean"});
  return *value == want ? Pass({s.where}) : Failed({s.where});
}

// The strong ciphers the benchmark lists for 4.2.12.
const std::vector<std::string>& StrongCiphers() {
  static const std::vector<std::string> kCiphers = {
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  };
  return kCiphers;
}

/// The host part of "host:port", "[v6]:port" or a bare host.
std::string HostOf(const std::string& address) {
  if (!address.empty() && address[0] == '[') {
    size_t close = address.find(']');
    return close == std::string::npos ? address : address.substr(1, close - 1);
  }
  size_t colon = address.rfind(':');
  if (colon != std::string::npos && address.find(':') == colon) return address.substr(0, colon);
  return address;
}

std::vector<NodeCheck> BuildChecks() {
  std::vector<NodeCheck> checks;
  const PathOf service = [](const NodeFacts& f) { return f.kubelet_service; };
  const PathOf proxy_kubeconfig = [](const NodeFacts& f) { return f.proxy_kubeconfig; };
  const PathOf kubelet_kubeconfig = [](const NodeFacts& f) { return f.kubelet_kubeconfig; };
  const PathOf kubelet_config = [](const NodeFacts& f) {
    return f.kubelet_config.exists ? f.kubelet_config.path : std::string();
  };

  // 4.1 Worker Node Configuration Files
  checks.push_back(
      Perms("4.1.1",
            "Ensure that the kubelet service file permissions are set to 600 or more restrictive",
            true, "the kubelet service file", 0600, service));
  checks.push_back(Owner("4.1.2",
                         "Ensure that the kubelet service file ownership is set to root:root", true,
                         "the kubelet service file", service));
  checks.push_back(
      Perms("4.1.3",
            "If proxy kubeconfig file exists ensure permissions are set to 600 or more restrictive",
            false, "the kube-proxy kubeconfig", 0600, proxy_kubeconfig));
  checks.push_back(Owner("4.1.4",
                         "If proxy kubeconfig file exists ensure ownership is set to root:root",
                         false, "the kube-proxy kubeconfig", proxy_kubeconfig));
  checks.push_back(Perms("4.1.5",
                         "Ensure that the --kubeconfig kubelet.conf file permissions are set to "
                         "600 or more restrictive",
                         true, "the kubelet kubeconfig", 0600, kubelet_kubeconfig));
  checks.push_back(
      Owner("4.1.6", "Ensure that the --kubeconfig kubelet.conf file ownership is set to root:root",
            true, "the kubelet kubeconfig", kubelet_kubeconfig));
  checks.push_back(Perms(
      "4.1.7",
      "Ensure that the certificate authorities file permissions are set to 644 or more restrictive",
      false, "the client CA file", 0644, ClientCaFile));
  checks.push_back(Owner(
      "4.1.8", "Ensure that the client certificate authorities file ownership is set to root:root",
      false, "the client CA file", ClientCaFile));
  checks.push_back(Perms("4.1.9",
                         "If the kubelet config.yaml configuration file is being used validate "
                         "permissions set to 600 or more restrictive",
                         true, "the kubelet config file", 0600, kubelet_config));
  checks.push_back(Owner("4.1.10",
                         "If the kubelet config.yaml configuration file is being used validate "
                         "file ownership is set to root:root",
                         true, "the kubelet config file", kubelet_config));

  // 4.2 Kubelet. Defaults: the KubeletConfiguration API's when a config file is used, the
  // flag's otherwise (they differ for anonymous auth, authorization mode and the read-only port).
  checks.push_back(KubeletSetting(
      {"4.2.1", "Ensure that the --anonymous-auth argument is set to false", "", 1, true,
       "--anonymous-auth, authentication.anonymous.enabled", "anonymous requests are rejected",
       "Set authentication: anonymous: enabled: false in the kubelet config file (or "
       "--anonymous-auth=false), then restart the kubelet"},
      [](const NodeFacts& f) {
        return BoolIs(
            f.Kubelet("anonymous-auth", "authentication.anonymous.enabled", "false", "true"),
            false);
      }));
  checks.push_back(KubeletSetting(
      {"4.2.2", "Ensure that the --authorization-mode argument is not set to AlwaysAllow", "", 1,
       true, "--authorization-mode, authorization.mode", "the mode is not AlwaysAllow (Webhook)",
       "Set authorization.mode: Webhook in the kubelet config file (or "
       "--authorization-mode=Webhook), then restart the kubelet"},
      [](const NodeFacts& f) {
        Setting s = f.Kubelet("authorization-mode", "authorization.mode", "Webhook", "AlwaysAllow");
        for (const std::string& mode : cis::SplitPatterns(s.value.value_or(""))) {
          if (mode == "AlwaysAllow") return Failed({s.where});
        }
        return Pass({s.where});
      }));
  checks.push_back(KubeletSetting(
      {"4.2.3", "Ensure that the --client-ca-file argument is set as appropriate", "", 1, true,
       "--client-ca-file, authentication.x509.clientCAFile", "a client CA file is set",
       "Set authentication.x509.clientCAFile in the kubelet config file (or --client-ca-file), "
       "then restart the kubelet"},
      [](const NodeFacts& f) {
        Setting s = f.Kubelet("client-ca-file", "authentication.x509.clientCAFile");
        if (!s.value || s.value->empty()) return Failed({s.where});
        return Pass({s.where});
      }));
  checks.push_back(KubeletSetting(
      {"4.2.4", "Verify that if defined, the --read-only-port argument is set to 0", "", 1, false,
       "--read-only-port, readOnlyPort", "the unauthenticated read-only port is 0 (off)",
       "Set readOnlyPort: 0 in the kubelet config file (or --read-only-port=0)"},
      [](const NodeFacts& f) {
        Setting s = f.Kubelet("read-only-port", "readOnlyPort", "0", "10255");
        return s.value.value_or("0") == "0" ? Pass({s.where}) : Failed({s.where});
      }));
  checks.push_back(KubeletSetting(
      {"4.2.5", "Ensure that the --streaming-connection-idle-timeout argument is not set to 0", "",
       1, false, "--streaming-connection-idle-timeout, streamingConnectionIdleTimeout",
       "idle streaming connections time out", "Set streamingConnectionIdleTimeout to e.g. 5m"},
      [](const NodeFacts& f) {
        Setting s = f.Kubelet("streaming-connection-idle-timeout", "streamingConnectionIdleTimeout",
                              "4h0m0s", "4h0m0s");
        const std::string value = s.value.value_or("");
        const bool zero = value.find_first_not_of("0smh.") == std::string::npos &&
                          value.find_first_of("123456789") == std::string::npos;
        return zero ? Failed({s.where}) : Pass({s.where});
      }));
  checks.push_back(KubeletSetting(
      {"4.2.6", "Ensure that the --make-iptables-util-chains argument is set to true", "", 1, true,
       "--make-iptables-util-chains, makeIPTablesUtilChains",
       "the kubelet manages its iptables chains", "Set makeIPTablesUtilChains: true"},
      [](const NodeFacts& f) {
        return BoolIs(
            f.Kubelet("make-iptables-util-chains", "makeIPTablesUtilChains", "true", "true"), true);
      }));
  checks.push_back(
      {{"4.2.7", "Ensure that the --hostname-override argument is not set", "4.2", 1, false,
        "kubelet --hostname-override",
        "the flag is absent (TLS between kubelet and API server "
        "relies on the real host name)",
        "Remove --hostname-override from the kubelet service file and restart the kubelet"},
       {"kubelet.process"},
       [](const NodeFacts& f) {
         const std::string* value = f.kubelet.Flag("hostname-override");
         if (value != nullptr) return Failed({"kubelet --hostname-override=" + *value});
         return Pass({"kubelet --hostname-override not set"});
       }});
  checks.push_back(KubeletSetting(
      {"4.2.8",
       "Ensure that the eventRecordQPS argument is set to a level which ensures appropriate "
       "event capture",
       "", 2, false, "--event-qps, eventRecordQPS", "events are recorded at an adequate rate",
       "Set eventRecordQPS to a level appropriate for the node"},
      [](const NodeFacts& f) {
        Setting s = f.Kubelet("event-qps", "eventRecordQPS", "50", "50");
        if (s.value && !s.value->empty() && (*s.value)[0] == '-') return Failed({s.where});
        return Manual("decide whether this event rate is appropriate", {s.where});
      }));
  checks.push_back(KubeletSetting(
      {"4.2.9",
       "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as "
       "appropriate",
       "", 1, false, "--tls-cert-file/--tls-private-key-file, tlsCertFile/tlsPrivateKeyFile",
       "the kubelet serves with a certificate of the cluster (or bootstraps one)",
       "Set tlsCertFile and tlsPrivateKeyFile, or serverTLSBootstrap: true"},
      [](const NodeFacts& f) {
        Setting cert = f.Kubelet("tls-cert-file", "tlsCertFile");
        Setting key = f.Kubelet("tls-private-key-file", "tlsPrivateKeyFile");
        Setting bootstrap = f.Kubelet("rotate-server-certificates", "serverTLSBootstrap");
        if (bootstrap.value && ParseBool(*bootstrap.value).value_or(false)) {
          return Pass({bootstrap.where});
        }
        if (cert.value && !cert.value->empty() && key.value && !key.value->empty()) {
          return Pass({cert.where, key.where});
        }
        return Failed({cert.where, key.where});
      }));
  checks.push_back(KubeletSetting(
      {"4.2.10", "Ensure that the --rotate-certificates argument is not set to false", "", 1, true,
       "--rotate-certificates, rotateCertificates", "client certificates are rotated",
       "Remove rotateCertificates: false (or --rotate-certificates=false)"},
      [](const NodeFacts& f) {
        Setting s = f.Kubelet("rotate-certificates", "rotateCertificates");
        if (!s.value) return Pass({s.where});
        return ParseBool(*s.value) == std::optional<bool>(false) ? Failed({s.where})
                                                                 : Pass({s.where});
      }));
  checks.push_back(KubeletSetting(
      {"4.2.11", "Verify that the RotateKubeletServerCertificate argument is set to true", "", 1,
       false, "--feature-gates, featureGates.RotateKubeletServerCertificate",
       "the feature gate is not turned off",
       "Remove RotateKubeletServerCertificate=false from the feature gates"},
      [](const NodeFacts& f) {
        Setting s = f.Kubelet("feature-gates", "featureGates");
        for (const std::string& gate : cis::SplitPatterns(s.value.value_or(""))) {
          const size_t equals = gate.find('=');
          if (gate.substr(0, equals) != "RotateKubeletServerCertificate") continue;
          const std::string value = equals == std::string::npos ? "" : gate.substr(equals + 1);
          if (ParseBool(value) == std::optional<bool>(false)) return Failed({s.where});
        }
        return Pass({s.where});
      }));
  checks.push_back(KubeletSetting(
      {"4.2.12", "Ensure that the Kubelet only makes use of Strong Cryptographic Ciphers", "", 1,
       false, "--tls-cipher-suites, tlsCipherSuites", "only strong cipher suites are allowed",
       "Set tlsCipherSuites to the benchmark's list of strong ciphers"},
      [](const NodeFacts& f) {
        Setting s = f.Kubelet("tls-cipher-suites", "tlsCipherSuites");
        std::vector<std::string> suites = cis::SplitPatterns(s.value.value_or(""));
        if (suites.empty()) return Failed({s.where + " (Go's defaults include weak suites)"});
        std::vector<std::string> weak;
        for (const std::string& suite : suites) {
          bool strong = false;
          for (const std::string& ok : StrongCiphers()) strong = strong || ok == suite;
          if (!strong) weak.push_back("weak cipher suite " + suite + " (" + s.where + ")");
        }
        return weak.empty() ? Pass({s.where}) : Failed(std::move(weak));
      }));
  checks.push_back(KubeletSetting(
      {"4.2.13", "Ensure that a limit is set on pod PIDs", "", 1, false,
       "--pod-max-pids, podPidsLimit", "a positive PID limit per pod",
       "Set podPidsLimit (or --pod-max-pids) to a value suited to the workloads"},
      [](const NodeFacts& f) {
        Setting s = f.Kubelet("pod-max-pids", "podPidsLimit");
        const std::string value = s.value.value_or("");
        const bool positive = !value.empty() && value[0] != '-' && value != "0" &&
                              value.find_first_not_of("0123456789") == std::string::npos;
        return positive ? Pass({s.where}) : Failed({s.where});
      }));
  checks.push_back(KubeletSetting(
      {"4.2.14", "Ensure that the --seccomp-default parameter is set to true", "", 1, false,
       "--seccomp-default, seccompDefault", "RuntimeDefault seccomp for every pod",
       "Set seccompDefault: true (or --seccomp-default)"},
      [](const NodeFacts& f) {
        return BoolIs(f.Kubelet("seccomp-default", "seccompDefault", "false", "false"), true);
      }));

  // 4.3 kube-proxy
  checks.push_back(
      {{"4.3.1", "Ensure that the kube-proxy metrics service is bound to localhost", "4.3", 1, true,
        "kube-proxy --metrics-bind-address, metricsBindAddress in its --config",
        "metrics are served on 127.0.0.1 or ::1 only",
        "Set metricsBindAddress: 127.0.0.1:10249 (or remove any non-localhost value)"},
       {"proxy.config"},
       [](const NodeFacts& f) {
         if (!f.proxy.found) return NotApplicable("no kube-proxy process on this node");
         std::string value, where;
         if (const std::string* flag = f.proxy.Flag("metrics-bind-address")) {
           value = *flag;
           where = "kube-proxy --metrics-bind-address=" + value;
         } else if (const Value* v = f.proxy_config.root.Field("metricsBindAddress");
                    v != nullptr && !v->Str().empty()) {
           value = v->text;
           where = f.proxy_config.path + ": metricsBindAddress: " + value;
         } else {
           return Pass({"metrics bind address not set (default 127.0.0.1:10249)"});
         }
         const std::string host = HostOf(value);
         if (host == "127.0.0.1" || host == "localhost" || host == "::1") return Pass({where});
         return Failed({where});
       }});
  return checks;
}

}  // namespace

const std::vector<NodeCheck>& NodeChecks() {
  static const std::vector<NodeCheck> kChecks = BuildChecks();
  return kChecks;
}

const std::vector<cis::Group>& NodeGroups() {
  static const std::vector<cis::Group> kGroups = {
      {"4", "Worker Node Security Configuration"},
      {"4.1", "Worker Node Configuration Files"},
      {"4.2", "Kubelet"},
      {"4.3", "kube-proxy"},
  };
  return kGroups;
}

cis::BenchReport AssessNode(const NodeFacts& facts, const cis::Selection& selection) {
  cis::BenchReport report;
  report.benchmark = "CIS Kubernetes Benchmark (worker node)";
  report.benchmark_version = "1.12";
  report.target =
      "kubernetes node" + (facts.host.root() == "/" ? std::string() : " at " + facts.host.root());
  auto add = [&](std::string key, std::string value) {
    report.summary.emplace_back(std::move(key), std::move(value));
  };
  add("kubelet", facts.kubelet.found ? "pid " + std::to_string(facts.kubelet.pid) + " (" +
                                           facts.kubelet.argv.front() + ")"
                                     : "process not found");
  add("kubelet config", facts.kubelet_config.exists ? facts.kubelet_config.path : "none");
  add("kubelet kubeconfig", facts.kubelet_kubeconfig.empty() ? "none" : facts.kubelet_kubeconfig);
  add("kubelet service", facts.kubelet_service.empty() ? "none" : facts.kubelet_service);
  add("kube-proxy",
      facts.proxy.found ? "pid " + std::to_string(facts.proxy.pid) : "process not found");
  if (facts.host.root() != "/") add("Host root", facts.host.root());
  report.groups = NodeGroups();
  report.results = cis::RunChecks<NodeFacts>(
      NodeChecks(), facts, selection,
      [&facts](std::string_view input) { return facts.InputError(input); });
  report.totals = cis::ComputeTotals(report.results);
  return report;
}

}  // namespace moat::cis::k8s_node
