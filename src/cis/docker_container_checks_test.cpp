// Sections 2, 4, 5, 6 and 7 from recorded Engine API documents: a privileged container that
// breaks every runtime control (`docker run --privileged` is refused on the CI machines, so it is
// a recorded inspect document) next to a hardened one.

#include <gtest/gtest.h>

#include "cis/bench_test_util.h"

namespace moat::cis::docker {
namespace {

using testing::Joined;
using testing::RunOne;
using testing::TestData;

DockerFacts Facts(bool with_bad = true, bool with_good = true) {
  DockerFacts facts;
  facts.socket_path = "/var/run/docker.sock";
  auto info = ParseInfo(TestData("info.json"));
  EXPECT_TRUE(info.ok());
  facts.info = *info;
  if (with_bad) {
    auto bad = ParseContainerInspect(TestData("privileged_container.json"));
    EXPECT_TRUE(bad.ok()) << bad.error().message;
    bad->processes = std::vector<std::string>{"/usr/sbin/sshd -D", "nginx: master"};
    bad->execs.push_back({"e1e1e1e1e1e1e1", true, "root", "sh -c id", false});
    facts.containers.push_back(*bad);
  }
  if (with_good) {
    auto good = ParseContainerInspect(TestData("hardened_container.json"));
    EXPECT_TRUE(good.ok()) << good.error().message;
    good->processes = std::vector<std::string>{"/app/server"};
    facts.containers.push_back(*good);
  }
  facts.daemon.cmdline_found = true;
  return facts;
}

constexpr const char* kBad = "container web-1 (image nginx:1.25): ";

TEST(DockerContainerChecks, PrivilegedContainerFailsEveryRuntimeControl) {
  DockerFacts facts = Facts();
  struct Expect {
    const char* id;
    const char* evidence;
  };
  for (const Expect& e : std::initializer_list<Expect>{
           {"4.1", "Config.User=\"\" (runs as root)"},
           {"5.2", "AppArmorProfile=\"unconfined\""},
           {"5.3", "SecurityOpt=[label=disable]"},
           {"5.4", "HostConfig.Privileged=true (all capabilities)"},
           {"5.5", "HostConfig.Privileged=true"},
           {"5.6", "Mounts /etc:/host/etc (ro)"},
           {"5.7", "process \"/usr/sbin/sshd -D\""},
           {"5.8", "published privileged port 0.0.0.0:80->80/tcp,:::80->80/tcp"},
           {"5.10", "HostConfig.NetworkMode=host"},
           {"5.11", "HostConfig.Memory=0 (no memory limit)"},
           {"5.12", "HostConfig.CpuShares=0 NanoCpus=0 CpuQuota=0 (no CPU limit)"},
           {"5.13", "HostConfig.ReadonlyRootfs=false"},
           {"5.14", "port bound to all interfaces 0.0.0.0:80->80/tcp,:::80->80/tcp"},
           {"5.15", "HostConfig.RestartPolicy.Name=always"},
           {"5.16", "HostConfig.PidMode=host"},
           {"5.17", "HostConfig.IpcMode=host"},
           {"5.20", "Mounts /host/etc Propagation=rshared"},
           {"5.21", "HostConfig.UTSMode=host"},
           {"5.22", "HostConfig.Privileged=true (seccomp disabled)"},
           {"5.23", "exec e1e1e1e1e1e1 privileged=true (sh -c id)"},
           {"5.25", "HostConfig.CgroupParent=\"/custom\""},
           {"5.26",
            "HostConfig.SecurityOpt=[label=disable] without no-new-privileges (daemon "
            "default false)"},
           {"5.27", "no health check (State.Health absent)"},
           {"5.29", "HostConfig.PidsLimit=null (no PIDs limit)"},
           {"5.31", "HostConfig.UsernsMode=host"},
           {"5.32", "Mounts /var/run/docker.sock:/var/run/docker.sock (rw)"},
       }) {
    ControlResult result = RunOne(facts, e.id);
    EXPECT_EQ(result.outcome.status, Status::kFail) << e.id << ": " << Joined(result);
    ASSERT_EQ(result.outcome.evidence.size(), 1u) << e.id << ": " << Joined(result);
    EXPECT_EQ(result.outcome.evidence[0], std::string(kBad) + e.evidence) << e.id;
  }
}

TEST(DockerContainerChecks, HardenedContainerPassesThem) {
  DockerFacts facts = Facts(false, true);
  for (const char* id : {"4.1",  "5.2",  "5.3",  "5.4",  "5.5",  "5.6",  "5.7",  "5.8",  "5.10",
                         "5.11", "5.12", "5.13", "5.14", "5.15", "5.16", "5.17", "5.20", "5.21",
                         "5.22", "5.25", "5.26", "5.27", "5.29", "5.31", "5.32"}) {
    ControlResult result = RunOne(facts, id);
    EXPECT_EQ(result.outcome.status, Status::kPass) << id << ": " << Joined(result);
  }
  // Exec records are incomplete by nature: never PASS.
  EXPECT_EQ(RunOne(facts, "5.23").outcome.status, Status::kWarn);
}

TEST(DockerContainerChecks, NoRunningContainersIsNotApplicable) {
  DockerFacts facts = Facts(false, false);
  EXPECT_EQ(RunOne(facts, "5.10").outcome.status, Status::kNotApplicable);
  EXPECT_EQ(RunOne(facts, "4.1").outcome.status, Status::kNotApplicable);
}

TEST(DockerContainerChecks, EngineUnreachableMakesContainerControlsWarn) {
  DockerFacts facts;
  facts.input_errors["engine.containers"] = "cannot connect to the Docker Engine";
  ControlResult result = RunOne(facts, "5.5");
  EXPECT_EQ(result.outcome.status, Status::kWarn);
  ASSERT_EQ(result.outcome.evidence.size(), 1u);
  EXPECT_EQ(result.outcome.evidence[0], "engine.containers: cannot connect to the Docker Engine");
}

TEST(DockerContainerChecks, EngineWideControlsFromInfo) {
  DockerFacts facts = Facts();
  ControlResult insecure = RunOne(facts, "2.5");
  EXPECT_EQ(insecure.outcome.status, Status::kFail);
  EXPECT_EQ(insecure.outcome.evidence,
            (std::vector<std::string>{"insecure registry: reg.example:5000",
                                      "insecure registry range: 10.0.0.0/8"}));
  EXPECT_EQ(RunOne(facts, "2.6").outcome.status, Status::kPass);
  EXPECT_EQ(RunOne(facts, "2.9").outcome.status, Status::kFail);
  EXPECT_EQ(RunOne(facts, "2.12").outcome.status, Status::kFail);
  EXPECT_EQ(RunOne(facts, "2.13").outcome.evidence[0],
            "LoggingDriver=json-file (logs stay on the host)");
  EXPECT_EQ(RunOne(facts, "2.15").outcome.status, Status::kFail);
  EXPECT_EQ(RunOne(facts, "2.18").outcome.evidence[0], "Experimental=true");
  EXPECT_EQ(RunOne(facts, "5.1").outcome.status, Status::kPass);
  for (const char* id : {"7.1", "7.3", "7.5", "7.9"}) {
    EXPECT_EQ(RunOne(facts, id).outcome.status, Status::kNotApplicable) << id;
  }
}

TEST(DockerContainerChecks, ImagesWithoutHealthcheck) {
  DockerFacts facts = Facts();
  auto image = ParseImageInspect(
      R"({"Id":"sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6",
          "RepoTags":["nginx:1.25"],"Config":{"User":""}})");
  ASSERT_TRUE(image.ok());
  image->history = {"/bin/sh -c apt-get update", "ADD file:abc in /"};
  facts.images.push_back(*image);
  ControlResult result = RunOne(facts, "4.6");
  EXPECT_EQ(result.outcome.status, Status::kFail);
  EXPECT_EQ(result.outcome.evidence[0], "image nginx:1.25 (a8758716bb6a): no HEALTHCHECK");
  EXPECT_EQ(RunOne(facts, "4.7").outcome.status, Status::kInfo);
  EXPECT_EQ(RunOne(facts, "4.9").outcome.evidence[0],
            "image nginx:1.25 (a8758716bb6a): ADD file:abc in /");
}

TEST(DockerContainerChecks, SwarmManagerControls) {
  DockerFacts facts = Facts();
  facts.info.swarm_state = "active";
  facts.info.swarm_manager = true;
  ASSERT_TRUE(ParseSwarm(R"({"Spec":{"EncryptionConfig":{"AutoLockManagers":false},
                              "CAConfig":{"NodeCertExpiry":7776000000000000}}})",
                         facts.swarm)
                  .ok());
  ASSERT_TRUE(ParseNodes(R"([{"Spec":{"Role":"manager"},"Description":{"Hostname":"a"},
                              "Status":{"Addr":"10.0.0.1"}},
                             {"Spec":{"Role":"manager"},"Description":{"Hostname":"b"}}])",
                         facts.swarm)
                  .ok());
  auto networks = ParseNetworks(R"([{"Name":"ingress","Driver":"overlay","Scope":"swarm"},
                                    {"Name":"secure","Driver":"overlay","Scope":"swarm",
                                     "Options":{"encrypted":""}}])");
  ASSERT_TRUE(networks.ok());
  facts.networks = *networks;
  auto services = ParseServices(R"([{"Spec":{"Name":"web","TaskTemplate":{"RestartPolicy":
                                    {"Condition":"any","MaxAttempts":0}}}}])");
  ASSERT_TRUE(services.ok());
  facts.swarm.services = *services;
  EXPECT_EQ(RunOne(facts, "5.1").outcome.status, Status::kWarn);
  EXPECT_EQ(RunOne(facts, "7.1").outcome.status, Status::kFail);
  auto overlay = RunOne(facts, "7.3");
  EXPECT_EQ(overlay.outcome.status, Status::kFail);
  EXPECT_EQ(overlay.outcome.evidence,
            std::vector<std::string>{"network ingress (swarm): overlay not encrypted"});
  EXPECT_EQ(RunOne(facts, "7.5").outcome.evidence[0], "AutoLockManagers=false");
  EXPECT_EQ(RunOne(facts, "7.7").outcome.evidence[0], "NodeCertExpiry=2160h");
  auto restart = RunOne(facts, "5.15");
  EXPECT_EQ(restart.outcome.evidence.back(),
            "service web: RestartPolicy.MaxAttempts=0 (condition any)");
  EXPECT_EQ(RunOne(facts, "2.15").outcome.status, Status::kNotApplicable);
}

TEST(DockerParsers, RejectMalformedDocuments) {
  EXPECT_FALSE(ParseContainerInspect("").ok());
  EXPECT_FALSE(ParseContainerInspect("[]").ok());
  EXPECT_FALSE(ParseContainerInspect("{}").ok());
  EXPECT_FALSE(ParseInfo("{\"Name\":").ok());
  // Wrong types are treated as absent, never thrown.
  auto odd = ParseContainerInspect(
      R"({"Id":"x","Name":5,"HostConfig":{"Privileged":"yes","Memory":"big","PidsLimit":1e300,
          "CapAdd":[1,"NET_ADMIN"]},"Mounts":[1,{"Source":[]}],"NetworkSettings":{"Ports":{"80/tcp":"x"}}})");
  ASSERT_TRUE(odd.ok());
  EXPECT_FALSE(odd->privileged);
  EXPECT_EQ(odd->memory, 0);
  EXPECT_EQ(odd->cap_add, std::vector<std::string>{"NET_ADMIN"});
}

}  // namespace
}  // namespace moat::cis::docker
