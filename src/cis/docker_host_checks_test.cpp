// Sections 1-3 from a prepared --host-root tree: unit files with permissions set here,
// daemon.json variants, a dockerd command line in proc/, audit rules, /etc/group.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cis/bench_test_util.h"

namespace moat::cis::docker {
namespace {

using testing::Joined;
using testing::RunOne;
namespace fs = std::filesystem;

class HostTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/moat-bench-host-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    Write("etc/group", "root:x:0:\ndocker:x:999:alice,bob\n");
    Write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
    Write("proc/mounts", "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /var/lib/docker ext4 rw 0 0\n");
    Write("proc/net/tcp",
          "  sl  local_address rem_address   st\n"
          "   0: 00000000:0949 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& path, const std::string& text, mode_t mode = 0644, uid_t uid = 0,
             gid_t gid = 0) {
    fs::path full = fs::path(root_) / path;
    fs::create_directories(full.parent_path());
    std::ofstream(full, std::ios::binary) << text;
    ASSERT_EQ(::chmod(full.c_str(), mode), 0);
    ASSERT_EQ(::chown(full.c_str(), uid, gid), 0);
  }

  void Dockerd(const std::vector<std::string>& args) {
    std::string cmdline = "/usr/bin/dockerd";
    cmdline += '\0';
    for (const auto& arg : args) {
      cmdline += arg;
      cmdline += '\0';
    }
    Write("proc/4242/cmdline", cmdline);
  }

  DockerFacts Collect() {
    CollectOptions options;
    options.docker_host = "unix://" + root_ + "/no-such-docker.sock";
    options.host_root = root_;
    options.run_auditctl = false;
    std::vector<std::string> notes;
    return CollectDockerFacts(options, notes);
  }

  std::string root_;
};

TEST_F(HostTree, UnitFilesOwnershipAndPermissions) {
  Write("lib/systemd/system/docker.service", "[Service]\n", 0664, 1000, 0);
  Write("lib/systemd/system/docker.socket", "[Socket]\n", 0644);
  Write("etc/docker/daemon.json", "{}", 0600);
  Write("etc/default/docker", "DOCKER_OPTS=\n", 0666);
  Dockerd({});
  DockerFacts facts = Collect();
  ControlResult owner = RunOne(facts, "3.1");
  EXPECT_EQ(owner.outcome.status, Status::kFail) << Joined(owner);
  EXPECT_EQ(owner.outcome.evidence[0],
            "/lib/systemd/system/docker.service: owner alice:root (uid 1000, gid 0), want "
            "root:root");
  ControlResult mode = RunOne(facts, "3.2");
  EXPECT_EQ(mode.outcome.evidence[0],
            "/lib/systemd/system/docker.service: mode 0664, want 0644 or more restrictive");
  EXPECT_EQ(RunOne(facts, "3.3").outcome.status, Status::kPass);
  EXPECT_EQ(RunOne(facts, "3.4").outcome.status, Status::kPass);
  EXPECT_EQ(RunOne(facts, "3.17").outcome.status, Status::kPass);
  EXPECT_EQ(RunOne(facts, "3.18").outcome.status, Status::kPass);
  EXPECT_EQ(RunOne(facts, "3.20").outcome.status, Status::kFail);
  // Absent files are not applicable, never PASS.
  EXPECT_EQ(RunOne(facts, "3.21").outcome.status, Status::kNotApplicable);
  EXPECT_EQ(RunOne(facts, "3.22").outcome.status, Status::kNotApplicable);
  // No TLS configured.
  EXPECT_EQ(RunOne(facts, "3.9").outcome.status, Status::kNotApplicable);
}

TEST_F(HostTree, TlsFilesAndCertsDir) {
  Write("etc/docker/daemon.json",
        R"({"tlsverify": true, "tlscacert": "/etc/docker/tls/ca.pem",
            "tlscert": "/etc/docker/tls/cert.pem", "tlskey": "/etc/docker/tls/key.pem",
            "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"]})");
  Write("etc/docker/tls/ca.pem", "ca", 0444);
  Write("etc/docker/tls/cert.pem", "cert", 0644);
  Write("etc/docker/tls/key.pem", "key", 0400);
  Write("etc/docker/certs.d/reg:5000/ca.crt", "ca", 0644, 1000, 1000);
  Dockerd({});
  DockerFacts facts = Collect();
  EXPECT_EQ(RunOne(facts, "2.7").outcome.status, Status::kPass) << Joined(RunOne(facts, "2.7"));
  EXPECT_EQ(RunOne(facts, "3.10").outcome.status, Status::kPass);
  EXPECT_EQ(RunOne(facts, "3.12").outcome.evidence[0],
            "/etc/docker/tls/cert.pem: mode 0644, want 0444 or more restrictive");
  EXPECT_EQ(RunOne(facts, "3.14").outcome.status, Status::kPass);
  EXPECT_EQ(RunOne(facts, "3.7").outcome.status, Status::kFail);
  EXPECT_EQ(RunOne(facts, "3.8").outcome.evidence[0],
            "/etc/docker/certs.d/reg:5000/ca.crt: mode 0644, want 0444 or more restrictive");
}

TEST_F(HostTree, DaemonSettingsFromJsonAndCommandLine) {
  Write("etc/docker/daemon.json",
        R"({"icc": false, "no-new-privileges": true, "userland-proxy": false,
            "log-level": "debug"})");
  Dockerd({"-H", "unix:///var/run/docker.sock", "--insecure-registry", "reg:5000",
           "--iptables=false", "--cgroup-parent", "/docker-custom"});
  DockerFacts facts = Collect();
  ASSERT_TRUE(facts.daemon.cmdline_found);
  ControlResult icc = RunOne(facts, "2.2");
  EXPECT_EQ(icc.outcome.status, Status::kPass);
  EXPECT_EQ(icc.outcome.evidence[0], "daemon.json \"icc\": false");
  EXPECT_EQ(RunOne(facts, "2.3").outcome.evidence[0],
            "daemon.json \"log-level\": \"debug\" (want info)");
  ControlResult iptables = RunOne(facts, "2.4");
  EXPECT_EQ(iptables.outcome.status, Status::kFail);
  EXPECT_EQ(iptables.outcome.evidence[0], "dockerd --iptables=false");
  EXPECT_EQ(RunOne(facts, "2.10").outcome.status, Status::kWarn);
  EXPECT_EQ(RunOne(facts, "2.14").outcome.status, Status::kPass);
  EXPECT_EQ(RunOne(facts, "2.16").outcome.status, Status::kPass);
  EXPECT_EQ(RunOne(facts, "2.7").outcome.status, Status::kPass);  // unix socket only
}

TEST_F(HostTree, DefaultsWhenUnsetNameTheMissingKey) {
  Write("etc/docker/daemon.json", "{}");
  Dockerd({});
  DockerFacts facts = Collect();
  ControlResult icc = RunOne(facts, "2.2");
  EXPECT_EQ(icc.outcome.status, Status::kFail);
  EXPECT_EQ(icc.outcome.evidence[0],
            "daemon.json (/etc/docker/daemon.json): \"icc\" not set, no --icc on the dockerd "
            "command line (default true)");
  EXPECT_EQ(RunOne(facts, "2.3").outcome.status, Status::kPass);
}

TEST_F(HostTree, MalformedDaemonJsonWarnsAffectedControlsOnly) {
  Write("etc/docker/daemon.json", "{\"icc\": false,,}");
  Dockerd({});
  DockerFacts facts = Collect();
  ASSERT_NE(facts.InputError("daemon.json"), nullptr);
  ControlResult icc = RunOne(facts, "2.2");
  EXPECT_EQ(icc.outcome.status, Status::kWarn);
  EXPECT_NE(icc.outcome.evidence[0].find("/etc/docker/daemon.json: malformed JSON at byte"),
            std::string::npos)
      << Joined(icc);
  EXPECT_EQ(RunOne(facts, "3.18").outcome.status, Status::kPass);  // file metadata still read
}

TEST_F(HostTree, NoDockerdCommandLineMakesUnsetSettingsUndecidable) {
  Write("etc/docker/daemon.json", R"({"icc": false})");
  DockerFacts facts = Collect();
  EXPECT_FALSE(facts.daemon.cmdline_found);
  EXPECT_EQ(RunOne(facts, "2.2").outcome.status, Status::kPass);  // daemon.json decides
  EXPECT_EQ(RunOne(facts, "2.4").outcome.status, Status::kWarn);  // could be on the cmdline
}

TEST_F(HostTree, AuditRulesFromFiles) {
  Write("usr/bin/dockerd", "", 0755);
  Write("usr/bin/runc", "", 0755);
  Write("etc/docker/daemon.json", "{}");
  Write("etc/audit/rules.d/docker.rules",
        "# docker\n-w /usr/bin/dockerd -k docker\n-a exit,always -F path=/etc/docker -F perm=war "
        "-k docker\n");
  Dockerd({});
  DockerFacts facts = Collect();
  ControlResult dockerd = RunOne(facts, "1.1.3");
  EXPECT_EQ(dockerd.outcome.status, Status::kPass) << Joined(dockerd);
  EXPECT_EQ(RunOne(facts, "1.1.6").outcome.status, Status::kPass);  // -F path=/etc/docker
  ControlResult runc = RunOne(facts, "1.1.18");
  EXPECT_EQ(runc.outcome.status, Status::kFail);
  EXPECT_EQ(runc.outcome.evidence[0],
            "no audit rule watches /usr/bin/runc (2 rules read; /etc/audit/rules.d/docker.rules)");
  EXPECT_EQ(RunOne(facts, "1.1.13").outcome.status, Status::kNotApplicable);
}

TEST_F(HostTree, PartitionGroupAndSwarmPort) {
  Dockerd({});
  DockerFacts facts = Collect();
  // The engine is unreachable: controls that need /info are WARN, host-only ones are decided.
  EXPECT_EQ(RunOne(facts, "1.1.1").outcome.status, Status::kWarn);
  facts.input_errors.erase("engine.info");
  facts.info.docker_root_dir = "/var/lib/docker";
  EXPECT_EQ(RunOne(facts, "1.1.1").outcome.status, Status::kPass);
  facts.info.docker_root_dir = "/srv/docker";
  EXPECT_EQ(RunOne(facts, "1.1.1").outcome.evidence[0],
            "/srv/docker is not a mount point (it shares the partition of its parent)");
  ControlResult group = RunOne(facts, "1.1.2");
  EXPECT_EQ(group.outcome.status, Status::kWarn);
  EXPECT_EQ(group.outcome.evidence,
            (std::vector<std::string>{"docker group member: alice", "docker group member: bob"}));
  facts.info.swarm_state = "active";
  ControlResult swarm_port = RunOne(facts, "7.2");
  EXPECT_EQ(swarm_port.outcome.status, Status::kFail);
  EXPECT_EQ(swarm_port.outcome.evidence[0], "swarm port 2377 listens on all interfaces (0.0.0.0)");
}

TEST(DockerdFlags, ParsesShortLongAndBooleanFlags) {
  auto flags =
      ParseDockerdFlags({"-H", "fd://", "--icc=false", "--live-restore", "-l", "warn",
                         "--insecure-registry=a:5000", "--insecure-registry", "b:5000", "-D"});
  EXPECT_EQ(flags.find("host")->second, "fd://");
  EXPECT_EQ(flags.find("icc")->second, "false");
  EXPECT_EQ(flags.find("live-restore")->second, "true");
  EXPECT_EQ(flags.find("log-level")->second, "warn");
  EXPECT_EQ(flags.count("insecure-registry"), 2u);
  EXPECT_EQ(flags.find("debug")->second, "true");
}

TEST(AuditRules, Matching) {
  EXPECT_TRUE(AuditRuleWatches("-w /usr/bin/dockerd -p rwxa -k docker", "/usr/bin/dockerd"));
  EXPECT_TRUE(AuditRuleWatches("-a always,exit -F path=/run/containerd -F perm=war -k docker",
                               "/run/containerd"));
  EXPECT_TRUE(
      AuditRuleWatches("-a always,exit -F dir=/var/lib/docker/ -k docker", "/var/lib/docker"));
  EXPECT_FALSE(AuditRuleWatches("-w /usr/bin/dockerd-rootless.sh -k docker", "/usr/bin/dockerd"));
  EXPECT_EQ(ParseAuditRules("No rules\n").size(), 0u);
  auto mounts = ParseMounts("/dev/x /var/lib/my\\040docker ext4 rw 0 0\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].first, "/var/lib/my docker");
}

// Runs a Python program on `input` (its stdin) and gives its output.
std::string Python(const std::string& program, const std::string& input) {
  char pattern[] = "/tmp/moat-bench-input-XXXXXX";
  const int fd = ::mkstemp(pattern);
  if (fd < 0) return "";
  ::close(fd);
  std::ofstream(pattern) << input;
  std::string output;
  FILE* pipe = ::popen(("/usr/bin/python3 -c '" + program + "' < " + pattern).c_str(), "r");
  if (pipe != nullptr) {
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
    ::pclose(pipe);
  }
  ::unlink(pattern);
  return output;
}

// The host-file readers on this machine's own files, against Python's readings of the same
// bytes: pwd and grp for /etc/passwd and /etc/group, and a split of the mount table with its
// octal escapes decoded.
TEST(HostFileReaders, MatchPythonOnThisMachine) {
  HostFs host("/");
  std::string ids = Python(
      "import pwd, grp\n"
      "for p in pwd.getpwall(): print(\"u\", p.pw_uid, pwd.getpwuid(p.pw_uid).pw_name)\n"
      "for g in grp.getgrall(): print(\"g\", g.gr_gid, grp.getgrgid(g.gr_gid).gr_name)",
      "");
  int users = 0, groups = 0;
  std::istringstream id_lines(ids);
  for (std::string kind, name; id_lines >> kind;) {
    unsigned id = 0;
    id_lines >> id >> name;
    if (kind == "u") {
      EXPECT_EQ(host.UserName(id), name) << "uid " << id;
      ++users;
    } else {
      EXPECT_EQ(host.GroupName(id), name) << "gid " << id;
      ++groups;
    }
  }
  EXPECT_GT(users, 5);
  EXPECT_GT(groups, 5);

  auto etc_group = host.Read("/etc/group");
  ASSERT_TRUE(etc_group.ok());
  std::string members = Python(
      "import grp\n"
      "for g in grp.getgrall(): print(g.gr_name, \",\".join(grp.getgrnam(g.gr_name).gr_mem))",
      "");
  std::istringstream member_lines(members);
  for (std::string line; std::getline(member_lines, line);) {
    const std::string name = line.substr(0, line.find(' '));
    const std::string expected = line.substr(line.find(' ') + 1);
    auto found = GroupMembers(*etc_group, name);
    ASSERT_TRUE(found.has_value()) << name;
    std::string joined;
    for (const std::string& member : *found) joined += (joined.empty() ? "" : ",") + member;
    EXPECT_EQ(joined, expected) << name;
  }
  EXPECT_FALSE(GroupMembers(*etc_group, "moat-no-such-group").has_value());

  // One copy of the mount table for both readers: it may change between two reads.
  auto mount_table = host.Read("/proc/self/mounts");
  ASSERT_TRUE(mount_table.ok());
  std::string expected_mounts = Python(
      "import re, sys\n"
      "d = lambda s: re.sub(r\"\\\\([0-7]{3})\", lambda m: chr(int(m[1], 8)), s)\n"
      "for l in sys.stdin.read().splitlines():\n"
      "  f = l.split(\" \")\n"
      "  print(d(f[1]) + \" <- \" + d(f[0]))",
      *mount_table);
  std::string mounts;
  for (const auto& [point, source] : ParseMounts(*mount_table)) {
    mounts += point + " <- " + source + "\n";
  }
  EXPECT_EQ(mounts, expected_mounts);
  EXPECT_GT(std::count(mounts.begin(), mounts.end(), '\n'), 3);
}

}  // namespace
}  // namespace moat::cis::docker
