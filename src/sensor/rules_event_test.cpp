#include "sensor/rules_event.h"

#include <gtest/gtest.h>

#include "rules/engine.h"

namespace moat::sensor {
namespace {

constexpr const char* kRules = R"(
- rule: Shadow read in container
  desc: test
  condition: >
    evt.type in (open, openat) and fd.name = /etc/shadow and not evt.arg.flags contains O_WRONLY
    and container.id != host and proc.pname = bash
  output: "shadow read by %proc.name in %container.name (%container.image) pod %k8s.pod.name"
  priority: WARNING
- rule: Reverse shell port
  desc: test
  condition: evt.type = connect and fd.rport = 4444 and fd.rip = 10.0.0.9 and proc.name = sh
  output: "connect %fd.name"
  priority: CRITICAL
)";

struct Fixture {
  ProcessInfo parent, process;
  ContainerInfo container;
  Fixture() {
    parent.pid = 10;
    parent.comm = "bash";
    parent.exec.exe = "/usr/bin/bash";
    parent.exec.argv = {"bash"};
    process.pid = 11;
    process.ppid = 10;
    process.comm = "cat";
    process.exec.exe = "/usr/bin/cat";
    process.exec.argv = {"cat", "/etc/shadow"};
    process.exec.tty = "pts3";
    container.id = std::string(64, 'a');
    container.name = "web";
    container.image = "nginx:1.25";
    container.resolved = true;
    container.labels["io.kubernetes.pod.name"] = "shop-1";
  }
  EnrichedEvent Enrich(const Event& event) {
    EnrichedEvent enriched;
    enriched.event = &event;
    enriched.process = &process;
    enriched.parents = {&parent};
    enriched.container = &container;
    return enriched;
  }
};

// A connect of process 11 (`comm`) from 172.17.0.2:40000 to 10.0.0.9:4444.
Event Connect(const std::string& comm) {
  Event connect;
  connect.type = EventType::kConnect;
  connect.syscall = "connect";
  connect.pid = 11;
  connect.comm = comm;
  connect.remote = SocketAddress{"ipv4", "10.0.0.9", 4444};
  connect.local = SocketAddress{"ipv4", "172.17.0.2", 40000};
  connect.numbers = {{"fd", 3}};
  return connect;
}

TEST(RulesEventTest, FalcoRulesMatchConvertedEvents) {
  rules::Engine engine;
  engine.AddSource(rules::MakeSyscallSource());
  ASSERT_TRUE(engine.AddRulesText(kRules, "test.yaml").ok());
  auto report = engine.Compile();
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(engine.EnabledCount(), 2u);
  const rules::EventSource* source = engine.Source("syscall");
  ASSERT_NE(source, nullptr);

  Fixture f;
  Event open;
  open.type = EventType::kOpen;
  open.syscall = "openat";
  open.pid = 11;
  open.comm = "cat";
  open.ret = 3;
  open.path = "/etc/shadow";
  open.numbers = {{"flags", 0}, {"fd", 3}};
  auto converted = ToSyscallEvent(f.Enrich(open), 1);
  EXPECT_EQ(converted.tty, 136 << 8 | 3);
  auto alerts = engine.Evaluate(*source, converted);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].output, "shadow read by cat in web (nginx:1.25) pod shop-1");

  open.numbers = {{"flags", 01 | 0100}, {"fd", 3}};  // a write: not the rule's
  EXPECT_TRUE(engine.Evaluate(*source, ToSyscallEvent(f.Enrich(open), 2)).empty());

  const Event connect = Connect("sh");
  alerts = engine.Evaluate(*source, ToSyscallEvent(f.Enrich(connect), 3));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].output, "connect 172.17.0.2:40000->10.0.0.9:4444");
}

TEST(RulesEventTest, OpenFlagsAndTty) {
  EXPECT_EQ(OpenFlagsText(0), "O_RDONLY");
  EXPECT_EQ(OpenFlagsText(01 | 0100 | 01000), "O_WRONLY|O_CREAT|O_TRUNC");
  EXPECT_EQ(OpenFlagsText(02 | 02000000), "O_RDWR|O_CLOEXEC");
  EXPECT_EQ(TtyDeviceNumber("pts0"), 136 << 8);
  EXPECT_EQ(TtyDeviceNumber("tty1"), 4 << 8 | 1);
  EXPECT_EQ(TtyDeviceNumber(""), 0);
  EXPECT_EQ(TtyDeviceNumber("ptsx"), 0);
}

// Flags Falco prints by name: namespace flags of unshare/clone/setns, chmod modes, ptrace requests;
// plus the user name and the container's privileged flag.
TEST(RulesEventTest, ArgumentsAsFalcoPrintsThem) {
  Fixture f;
  f.container.privileged = true;
  auto arg = [](const rules::SyscallEvent& e, std::string_view name) {
    const rules::EventText* value = e.Arg(name);
    return value ? value->str() : std::string("<none>");
  };
  Event unshare;
  unshare.type = EventType::kUnshare;
  unshare.syscall = "unshare";
  unshare.pid = 11;
  unshare.numbers = {{"flags", 0x10000000 | 0x00020000}};
  EnrichedEvent enriched = f.Enrich(unshare);
  enriched.user_name = "app";
  auto converted = ToSyscallEvent(enriched, 1);
  EXPECT_EQ(arg(converted, "flags"), "CLONE_NEWNS|CLONE_NEWUSER");
  EXPECT_EQ(converted.user_name, "app");
  EXPECT_TRUE(converted.container_privileged);
  unshare.numbers = {{"flags", 0x400}};  // CLONE_FILES only: no namespace
  EXPECT_EQ(arg(ToSyscallEvent(f.Enrich(unshare), 2), "flags"), "0");

  Event chmod;
  chmod.type = EventType::kChmod;
  chmod.syscall = "fchmodat";
  chmod.path = "/tmp/x";
  chmod.numbers = {{"mode", 04755}};
  EXPECT_EQ(arg(ToSyscallEvent(f.Enrich(chmod), 3), "mode"),
            "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID");

  Event ptrace;
  ptrace.type = EventType::kPtrace;
  ptrace.syscall = "ptrace";
  ptrace.numbers = {{"request", 16}, {"target_pid", 42}};
  auto traced = ToSyscallEvent(f.Enrich(ptrace), 4);
  EXPECT_EQ(arg(traced, "request"), "PTRACE_ATTACH");
  EXPECT_EQ(arg(traced, "target_pid"), "42");
  ptrace.numbers = {{"request", 12345}};
  EXPECT_EQ(arg(ToSyscallEvent(f.Enrich(ptrace), 5), "request"), "12345");

  Event setns;
  setns.type = EventType::kSetns;
  setns.syscall = "setns";
  setns.numbers = {{"fd", 3}, {"nstype", 0x40000000}};
  EXPECT_EQ(arg(ToSyscallEvent(f.Enrich(setns), 6), "nstype"), "CLONE_NEWNET");
}

// The sensor fills one event for every record: each fill must leave nothing of the one before
// (a socket's addresses, a container, arguments), and the texts view the tree's entries.
TEST(RulesEventTest, ReusedEventKeepsNothingOfThePreviousOne) {
  Fixture f;
  const Event connect = Connect("cat");
  rules::SyscallEvent reused;
  FillSyscallEvent(f.Enrich(connect), 1, reused);
  EXPECT_EQ(reused.fd_name, "172.17.0.2:40000->10.0.0.9:4444");
  EXPECT_EQ(reused.container_id, std::string(12, 'a'));
  EXPECT_EQ(reused.k8s_pod_name, "shop-1");
  EXPECT_EQ(reused.proc.exepath.view().data(), f.process.exec.exe.data());  // a view, no copy
  ASSERT_EQ(reused.ancestors.size(), 1u);

  Event exit;
  exit.type = EventType::kExit;
  exit.pid = 99;  // not in the tree: no process, no container
  exit.comm = "gone";
  EnrichedEvent bare;
  bare.event = &exit;
  FillSyscallEvent(bare, 2, reused);
  EXPECT_EQ(reused.num, 2u);
  EXPECT_EQ(reused.type, "procexit");
  EXPECT_EQ(reused.proc.name, "gone");
  EXPECT_TRUE(reused.proc.exepath.empty());
  EXPECT_TRUE(reused.proc.args.empty());
  EXPECT_TRUE(reused.ancestors.empty());
  EXPECT_EQ(reused.fd_num, -1);
  EXPECT_EQ(reused.fd_typechar, 0);
  EXPECT_TRUE(reused.fd_name.empty());
  EXPECT_TRUE(reused.remote_ip.empty());
  EXPECT_EQ(reused.remote_port, 0);
  EXPECT_EQ(reused.container_id, "host");
  EXPECT_EQ(reused.container_name, "host");
  EXPECT_TRUE(reused.k8s_pod_name.empty());
  EXPECT_EQ(reused.container_host_mounts, nullptr);
  EXPECT_TRUE(reused.args.empty());

  Event open;
  open.type = EventType::kOpen;
  open.syscall = "openat";
  open.pid = 11;
  open.ret = 4;
  open.path = "/etc/shadow";
  open.numbers = {{"flags", 01 | 0100}};
  FillSyscallEvent(f.Enrich(open), 3, reused);
  ASSERT_EQ(reused.args.size(), 2u);
  EXPECT_EQ(reused.args[0].name, "flags");
  EXPECT_EQ(reused.args[0].value, "O_WRONLY|O_CREAT");
  EXPECT_EQ(reused.args[1].name, "name");
  EXPECT_EQ(reused.args[1].value, "/etc/shadow");
  EXPECT_EQ(reused.fd_name, "/etc/shadow");
  EXPECT_EQ(reused.fd_num, 4);
  EXPECT_EQ(reused.proc.args.size(), 1u);
  EXPECT_EQ(reused.proc.args[0], "/etc/shadow");
  EXPECT_EQ(reused.ancestors.size(), 1u);
  EXPECT_EQ(reused.ancestors[0].name, "bash");
}

}  // namespace
}  // namespace moat::sensor
