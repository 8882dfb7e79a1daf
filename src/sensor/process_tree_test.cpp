#include "sensor/process_tree.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace moat::sensor {
namespace {

std::string SelfExe() {
  char buffer[4096];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer);
  return std::string(buffer, n > 0 ? static_cast<size_t>(n) : 0);
}

TEST(ProcessTreeTest, SeedsFromRealProc) {
  // A child with known arguments, so that the tree has a process whose cmdline we wrote.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until the child has exec'd (its comm changes from ours to "sleep").
  ProcessTree tree;
  for (int i = 0; i < 200; ++i) {
    tree = ProcessTree();
    tree.SeedFromProc();
    const ProcessInfo* p = tree.Find(static_cast<uint32_t>(child));
    if (p != nullptr && p->comm == "sleep") break;
    ::usleep(10000);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);

  EXPECT_GT(tree.size(), 3u);
  const ProcessInfo* self = tree.Find(static_cast<uint32_t>(::getpid()));
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(self->exec.exe, SelfExe());
  EXPECT_EQ(self->ppid, static_cast<uint32_t>(::getppid()));
  EXPECT_EQ(self->uid, ::getuid());
  const ProcessInfo* sleeper = tree.Find(static_cast<uint32_t>(child));
  ASSERT_NE(sleeper, nullptr);
  EXPECT_EQ(sleeper->comm, "sleep");
  EXPECT_EQ(sleeper->Cmdline(), "sleep 30");
  EXPECT_EQ(sleeper->exec.argv, (std::vector<std::string>{"sleep", "30"}));
  auto parents = tree.Parents(static_cast<uint32_t>(child), 8);
  ASSERT_FALSE(parents.empty());
  EXPECT_EQ(parents[0]->pid, static_cast<uint32_t>(::getpid()));
  EXPECT_FALSE(tree.Find(999999999));
}

Event Exec(uint32_t pid, uint32_t ppid, const std::string& exe, const std::string& cgroup) {
  Event event;
  event.type = EventType::kExec;
  event.pid = pid;
  event.comm = exe.substr(exe.rfind('/') + 1);
  ExecInfo exec;
  exec.exe = exe;
  exec.argv = {event.comm, "-c", "x"};
  exec.ppid = ppid;
  exec.cgroup = cgroup;
  event.exec = exec;
  return event;
}

Event Fork(uint32_t parent, uint32_t child) {
  Event event;
  event.type = EventType::kFork;
  event.pid = child;
  event.numbers = {{"parent_pid", parent}};
  return event;
}

TEST(ProcessTreeTest, KeptFromEvents) {
  ProcessTree tree;
  const std::string container = "/docker/" + std::string(64, 'c');
  // runc's init execs the entrypoint, which forks a shell, which forks and execs curl: a chain
  // of five built from events alone.
  tree.Apply(Exec(100, 1, "/usr/bin/containerd-shim", "/"));
  tree.Apply(Fork(100, 200));
  tree.Apply(Exec(200, 100, "/usr/sbin/nginx", container));
  tree.Apply(Fork(200, 300));
  tree.Apply(Exec(300, 200, "/bin/sh", container));
  tree.Apply(Fork(300, 400));
  EXPECT_EQ(tree.Find(400)->exec.exe, "/bin/sh");  // a fork runs its parent's program
  EXPECT_EQ(tree.Find(400)->container_id, std::string(64, 'c'));
  tree.Apply(Exec(400, 300, "/usr/bin/curl", container));
  tree.Apply(Fork(400, 500));
  tree.Apply(Exec(500, 400, "/tmp/x", container));
  auto parents = tree.Parents(500, 4);
  ASSERT_EQ(parents.size(), 4u);
  EXPECT_EQ(parents[0]->exec.exe, "/usr/bin/curl");
  EXPECT_EQ(parents[1]->exec.exe, "/bin/sh");
  EXPECT_EQ(parents[2]->exec.exe, "/usr/sbin/nginx");
  EXPECT_EQ(parents[3]->exec.exe, "/usr/bin/containerd-shim");
  EXPECT_EQ(parents[3]->container_id, "");

  Event exit;
  exit.type = EventType::kExit;
  exit.pid = 500;
  exit.boot_ns = 1'000;
  tree.Apply(exit);
  ASSERT_NE(tree.Find(500), nullptr);  // kept for late events
  EXPECT_TRUE(tree.Find(500)->exited);
  tree.ForgetExited(2'000, 5'000);
  EXPECT_NE(tree.Find(500), nullptr);
  tree.ForgetExited(10'000, 5'000);
  EXPECT_EQ(tree.Find(500), nullptr);
  EXPECT_NE(tree.Find(400), nullptr);
}

TEST(ProcessTreeTest, ParentLoopsEnd) {
  ProcessTree tree;
  tree.Apply(Exec(10, 11, "/a", "/"));
  tree.Apply(Exec(11, 10, "/b", "/"));
  EXPECT_EQ(tree.Parents(10, 10).size(), 1u);
}

TEST(ProcessTreeTest, CgroupFromProcText) {
  const std::string id(64, 'd');
  // cgroup v2 only.
  EXPECT_EQ(CgroupFromProcText("0::/system.slice/docker-" + id + ".scope\n"),
            "/system.slice/docker-" + id + ".scope");
  // cgroup v1 (this machine's kind): the pids hierarchy, not memory's outer cgroup.
  EXPECT_EQ(CgroupFromProcText("9:name=systemd:/docker/" + id + "\n8:pids:/docker/" + id +
                               "\n4:memory:/process_api/8dc1/docker/" + id + "\n0::/\n"),
            "/docker/" + id);
  EXPECT_EQ(CgroupFromProcText("0::/\n"), "/");
  // Only the memory controller below a host cgroup: not a container.
  EXPECT_EQ(CgroupFromProcText("8:pids:/\n4:memory:/process_api/8dc198c8622f\n0::/\n"), "/");
  EXPECT_EQ(CgroupFromProcText(""), "/");
}

}  // namespace
}  // namespace moat::sensor
