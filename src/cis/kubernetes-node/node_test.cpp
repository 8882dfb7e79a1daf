// `moat k8s node` on prepared host-root trees: a badly configured node and a hardened one, each
// with a fake /proc/<pid>/cmdline for the kubelet and kube-proxy, config files, and ownership and
// permissions set here. Every automated control must FAIL on the bad tree with evidence and PASS
// on the good one.

#include "cis/kubernetes-node/node.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "cis/output.h"

namespace moat::cis::k8s_node {
namespace {

namespace fs = std::filesystem;
using cis::Status;

struct FileSpec {
  std::string text;
  mode_t mode = 0600;
  uid_t uid = 0;
  gid_t gid = 0;
};

class Tree {
 public:
  Tree() {
    char dir_template[] = "/tmp/moat-node-XXXXXX";
    root_ = ::mkdtemp(dir_template) != nullptr ? dir_template : "";
  }
  ~Tree() {
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }

  void Add(const std::string& host_path, const FileSpec& spec) {
    const fs::path path = fs::path(root_ + host_path);
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << spec.text;
    ASSERT_EQ(::chmod(path.c_str(), spec.mode), 0) << path;
    if (::geteuid() == 0) {
      ASSERT_EQ(::chown(path.c_str(), spec.uid, spec.gid), 0) << path;
    }
  }
  /// A process: /proc/<pid>/cmdline holds argv NUL-separated, with the trailing NUL.
  void Process(int pid, const std::vector<std::string>& argv) {
    std::string cmdline;
    for (const std::string& arg : argv) cmdline += arg + '\0';
    Add("/proc/" + std::to_string(pid) + "/cmdline", {cmdline, 0444});
  }

 private:
  std::string root_;
};

constexpr uid_t kKube = 1000;  // a non-root owner for the bad tree

const char* kStrongCiphers =
    "[TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]";

void CommonFiles(Tree& tree) {
  tree.Add("/etc/passwd",
           {"root:x:0:0:root:/root:/bin/bash\nkube:x:1000:1000::/home/kube:/bin/sh\n", 0644});
  tree.Add("/etc/group", {"root:x:0:\nkube:x:1000:\n", 0644});
  tree.Process(1, {"/sbin/init", "splash"});
  tree.Process(77, {"/usr/bin/containerd"});
}

/// A kubeadm worker with every CIS recommendation applied.
void GoodNode(Tree& tree) {
  CommonFiles(tree);
  tree.Process(4242, {"/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml", "--kubeconfig",
                      "/etc/kubernetes/kubelet.conf",
                      "--container-runtime-endpoint=unix:///run/containerd/containerd.sock"});
  tree.Process(4300, {"/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf"});
  tree.Add("/var/lib/kubelet/config.yaml", {std::string(R"(apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
readOnlyPort: 0
streamingConnectionIdleTimeout: 5m
makeIPTablesUtilChains: true
eventRecordQPS: 50
tlsCertFile: /var/lib/kubelet/pki/kubelet.crt
tlsPrivateKeyFile: /var/lib/kubelet/pki/kubelet.key
rotateCertificates: true
featureGates:
  RotateKubeletServerCertificate: true
tlsCipherSuites: )") + kStrongCiphers + R"(
podPidsLimit: 4096
seccompDefault: true
)",
                                            0600});
  tree.Add("/etc/kubernetes/kubelet.conf", {"apiVersion: v1\nkind: Config\n", 0600});
  tree.Add("/etc/kubernetes/pki/ca.crt", {"-----BEGIN CERTIFICATE-----\n", 0644});
  tree.Add("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
           {"[Service]\nExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS\n", 0600});
  tree.Add("/var/lib/kube-proxy/config.conf", {R"(apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
metricsBindAddress: 127.0.0.1:10249
mode: iptables
)",
                                               0644});
  tree.Add("/var/lib/kube-proxy/kubeconfig.conf", {"apiVersion: v1\nkind: Config\n", 0600});
}

/// The same node gone wrong. The config file disables anonymous auth but the command line turns
/// it back on: the flag wins, as in the kubelet.
void BadNode(Tree& tree) {
  CommonFiles(tree);
  tree.Process(4242, {"/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml",
                      "--kubeconfig=/etc/kubernetes/kubelet.conf", "--anonymous-auth=true",
                      "--hostname-override", "worker-7", "--make-iptables-util-chains=false"});
  tree.Process(4300,
               {"/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--v=2"});
  tree.Add("/var/lib/kubelet/config.yaml", {R"(apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
authorization:
  mode: AlwaysAllow
readOnlyPort: 10255
streamingConnectionIdleTimeout: 0s
makeIPTablesUtilChains: true
eventRecordQPS: -1
rotateCertificates: false
featureGates:
  RotateKubeletServerCertificate: false
tlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_RC4_128_SHA]
podPidsLimit: -1
seccompDefault: false
)",
                                            0644, kKube, kKube});
  tree.Add("/etc/kubernetes/kubelet.conf", {"apiVersion: v1\nkind: Config\n", 0666, kKube, kKube});
  tree.Add("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
           {"[Service]\nExecStart=/usr/bin/kubelet\n", 0644, kKube, 0});
  tree.Add("/var/lib/kube-proxy/config.conf", {R"(kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
metricsBindAddress: 0.0.0.0:10249
)",
                                               0644});
  tree.Add("/var/lib/kube-proxy/kubeconfig.conf",
           {"apiVersion: v1\nkind: Config\n", 0644, 0, kKube});
}

std::map<std::string, cis::ControlResult> RunNodeChecks(const std::string& root) {
  std::vector<std::string> notes;
  NodeFacts facts = CollectNodeFacts({root}, notes);
  cis::BenchReport report = AssessNode(facts, {});
  std::map<std::string, cis::ControlResult> by_id;
  for (auto& result : report.results) by_id[result.control.id] = result;
  return by_id;
}

std::string Describe(const cis::ControlResult& r) {
  std::string out = std::string(cis::StatusName(r.outcome.status)) + " " + r.outcome.reason;
  for (const auto& line : r.outcome.evidence) out += "\n  " + line;
  return out;
}

bool IsOwnership(const cis::Control& control) {
  return control.title.find("ownership") != std::string::npos;
}

TEST(NodeChecks, EveryControlOfTheBenchmarkIsDefined) {
  // Section 4 of CIS 1.12 as kube-bench lists it: 10 file controls, 14 kubelet, 1 kube-proxy.
  std::vector<std::string> ids;
  size_t automated = 0;
  for (const auto& check : NodeChecks()) {
    ids.push_back(check.control.id);
    automated += check.control.automated;
  }
  ASSERT_EQ(ids.size(), 25u);
  EXPECT_EQ(ids.front(), "4.1.1");
  EXPECT_EQ(ids[10], "4.2.1");
  EXPECT_EQ(ids.back(), "4.3.1");
  EXPECT_EQ(automated, 12u);
}

TEST(NodeChecks, BadNodeFailsEveryAutomatedControlWithEvidence) {
  Tree tree;
  ASSERT_FALSE(tree.root().empty());
  BadNode(tree);
  auto results = RunNodeChecks(tree.root());
  ASSERT_EQ(results.size(), NodeChecks().size());
  for (const auto& [id, result] : results) {
    if (!result.control.automated) continue;
    if (IsOwnership(result.control) && ::geteuid() != 0) continue;  // chown needs root
    EXPECT_EQ(result.outcome.status, Status::kFail) << id << ": " << Describe(result);
    EXPECT_FALSE(result.outcome.evidence.empty()) << id;
  }
  // The flag overrides the config file's "anonymous: enabled: false".
  EXPECT_EQ(results["4.2.1"].outcome.evidence.at(0), "kubelet --anonymous-auth=true");
  EXPECT_EQ(results["4.2.6"].outcome.evidence.at(0), "kubelet --make-iptables-util-chains=false");
  EXPECT_EQ(results["4.1.5"].outcome.evidence.at(0),
            "/etc/kubernetes/kubelet.conf: mode 0666, allowed at most 0600");
  if (::geteuid() == 0) {
    EXPECT_EQ(results["4.1.2"].outcome.evidence.at(0),
              "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf: owner kube:root, want "
              "root:root");
  }
  EXPECT_EQ(results["4.3.1"].outcome.evidence.at(0),
            "/var/lib/kube-proxy/config.conf: metricsBindAddress: 0.0.0.0:10249");
  // Manual controls are evaluated too (they stay out of the score).
  for (const char* id : {"4.1.3", "4.2.4", "4.2.5", "4.2.7", "4.2.8", "4.2.9", "4.2.11", "4.2.12",
                         "4.2.13", "4.2.14"}) {
    EXPECT_EQ(results[id].outcome.status, Status::kFail) << id << ": " << Describe(results[id]);
  }
  if (::geteuid() == 0) {
    EXPECT_EQ(results["4.1.4"].outcome.status, Status::kFail);
  }
  EXPECT_NE(results["4.2.12"].outcome.evidence.at(0).find("TLS_RSA_WITH_RC4_128_SHA"),
            std::string::npos);
  // No client CA configured: nothing to check the CA file's permissions on.
  EXPECT_EQ(results["4.1.7"].outcome.status, Status::kNotApplicable);
}

TEST(NodeChecks, HardenedNodePassesEveryControl) {
  Tree tree;
  ASSERT_FALSE(tree.root().empty());
  GoodNode(tree);
  auto results = RunNodeChecks(tree.root());
  ASSERT_EQ(results.size(), NodeChecks().size());
  for (const auto& [id, result] : results) {
    if (IsOwnership(result.control) && ::geteuid() != 0) continue;
    // 4.2.8 asks a person to judge the event rate; everything else is decided.
    const Status want = id == "4.2.8" ? Status::kManual : Status::kPass;
    EXPECT_EQ(result.outcome.status, want) << id << ": " << Describe(result);
    EXPECT_FALSE(result.outcome.evidence.empty()) << id;
  }
  EXPECT_EQ(results["4.2.1"].outcome.evidence.at(0),
            "/var/lib/kubelet/config.yaml: authentication.anonymous.enabled: false");
  EXPECT_EQ(results["4.1.7"].outcome.evidence.at(0), "/etc/kubernetes/pki/ca.crt: mode 0644");
}

TEST(NodeChecks, FlagsAloneUseTheFlagDefaults) {
  // No config file: the kubelet's flag defaults apply (anonymous auth on, AlwaysAllow,
  // read-only port 10255), so the node fails although nothing is "set" wrong.
  Tree tree;
  CommonFiles(tree);
  tree.Process(500, {"kubelet", "--client-ca-file", "/etc/kubernetes/pki/ca.crt"});
  auto results = RunNodeChecks(tree.root());
  EXPECT_EQ(results["4.2.1"].outcome.status, Status::kFail);
  EXPECT_EQ(results["4.2.1"].outcome.evidence.at(0),
            "--anonymous-auth and authentication.anonymous.enabled not set (default true)");
  EXPECT_EQ(results["4.2.2"].outcome.status, Status::kFail);
  EXPECT_EQ(results["4.2.3"].outcome.status, Status::kPass);
  EXPECT_EQ(results["4.2.4"].outcome.status, Status::kFail);
  EXPECT_EQ(results["4.2.6"].outcome.status, Status::kPass);
  EXPECT_EQ(results["4.1.9"].outcome.status, Status::kNotApplicable);
  EXPECT_EQ(results["4.3.1"].outcome.status, Status::kNotApplicable);  // no kube-proxy
}

TEST(NodeChecks, NoKubeletIsWarnedNotGuessed) {
  Tree tree;
  CommonFiles(tree);
  std::vector<std::string> notes;
  NodeFacts facts = CollectNodeFacts({tree.root()}, notes);
  EXPECT_FALSE(facts.kubelet.found);
  ASSERT_FALSE(notes.empty());
  EXPECT_NE(notes[0].find("no kubelet process"), std::string::npos);
  cis::BenchReport report = AssessNode(facts, {});
  for (const auto& r : report.results) {
    if (r.control.group == "4.2") {
      EXPECT_EQ(r.outcome.status, Status::kWarn) << r.control.id;
    } else {
      EXPECT_EQ(r.outcome.status, Status::kNotApplicable) << r.control.id << Describe(r);
    }
  }
  // The shared writers render the node report.
  for (const char* format : {"table", "json", "sarif", "junit"}) {
    auto text = cis::RenderBenchReport(report, format);
    ASSERT_TRUE(text.ok()) << format;
    EXPECT_NE(text->find("4.2.1"), std::string::npos) << format;
  }
}

TEST(NodeChecks, MissingConfigNamedByFlagIsAnInputError) {
  Tree tree;
  CommonFiles(tree);
  tree.Process(600, {"/usr/bin/kubelet", "--config=/etc/kubelet/absent.yaml"});
  tree.Add("/var/lib/kubelet/config.yaml", {"}{ not yaml", 0600});  // not the one in use
  auto results = RunNodeChecks(tree.root());
  EXPECT_EQ(results["4.2.1"].outcome.status, Status::kWarn);
  EXPECT_NE(Describe(results["4.2.1"]).find("/etc/kubelet/absent.yaml"), std::string::npos);
  EXPECT_EQ(results["4.1.9"].outcome.status, Status::kNotApplicable);
}

TEST(NodeFlags, ParsesPflagForms) {
  auto flags =
      ParseFlags({"--a=b", "--c", "d", "--bool", "-v=2", "--e=x=y", "--a=last", "--", "--ignored"});
  EXPECT_EQ(flags["a"], "last");
  EXPECT_EQ(flags["c"], "d");
  EXPECT_EQ(flags["bool"], "true");
  EXPECT_EQ(flags["v"], "2");
  EXPECT_EQ(flags["e"], "x=y");
  EXPECT_EQ(flags.count("ignored"), 0u);
}

}  // namespace
}  // namespace moat::cis::k8s_node
