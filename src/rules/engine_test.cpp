// The rules engine through the real k8s_audit source: each operator positive and negative,
// lists, macros, append/override, exceptions, disabled rules and errors with file:line.

#include "rules/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/text.h"
#include "rules/k8s_audit.h"
#include "rules/syscall_event.h"

namespace moat::rules {
namespace {

// A pod creation by `user` with two containers; fields the tests compare against.
const char* kPodEvent =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",
"auditID":"a-1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods?dryRun=All&fieldManager=kubectl",
"verb":"create","user":{"username":"alice@example.com","groups":["dev","system:authenticated"]},
"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.29.0 (linux/amd64)",
"objectRef":{"resource":"pods","namespace":"shop","name":"web","apiVersion":"v1"},
"responseStatus":{"metadata":{},"code":201},
"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web"},
 "spec":{"hostPID":true,"securityContext":{"runAsUser":1000},
  "volumes":[{"name":"etc","hostPath":{"path":"/etc/kubernetes"}},{"name":"tmp","emptyDir":{}}],
  "containers":[{"name":"a","image":"registry.example.com:5000/team/web:1.2","ports":[{"containerPort":80,"hostPort":8080}],
    "securityContext":{"privileged":true,"capabilities":{"add":["NET_ADMIN","SYS_TIME"]}}},
   {"name":"b","image":"busybox@sha256:0123","securityContext":{"runAsUser":0}}]}},
"requestReceivedTimestamp":"2024-05-01T12:00:00.000001Z","stageTimestamp":"2024-05-01T12:00:00.5Z"})json";

class RulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto event = ParseAuditEvent(kPodEvent, "pod.json");
    ASSERT_TRUE(event.ok()) << event.error().message;
    event_ = std::make_unique<AuditEvent>(std::move(*event));
  }

  // Whether `condition` matches the pod event (the rule must compile and be enabled).
  bool Matches(const std::string& condition, const std::string& prelude = "") {
    Engine engine;
    engine.AddSource(source_);
    const std::string text = prelude + "\n- rule: r\n  desc: d\n  condition: " + condition +
                             "\n  output: o\n  priority: info\n  source: k8s_audit\n";
    auto added = engine.AddRulesText(text, "t.yaml");
    EXPECT_TRUE(added.ok()) << added.error().message;
    auto report = engine.Compile();
    EXPECT_TRUE(report.ok()) << (report.ok() ? "" : report.error().message);
    if (!report.ok()) return false;
    EXPECT_EQ(report->enabled.size(), 1u)
        << condition << ": " << (report->disabled.empty() ? "" : report->disabled[0].reason);
    return engine.Match(*source_, *event_).size() == 1;
  }

  std::shared_ptr<const EventSource> source_ = MakeK8sAuditSource();
  std::unique_ptr<AuditEvent> event_;
};

TEST_F(RulesTest, EqualityAndOrdering) {
  EXPECT_TRUE(Matches("ka.user.name = alice@example.com"));
  EXPECT_TRUE(Matches("ka.user.name == \"alice@example.com\""));
  EXPECT_FALSE(Matches("ka.user.name = alice"));
  EXPECT_TRUE(Matches("ka.verb!=delete"));
  EXPECT_FALSE(Matches("ka.verb != create"));
  EXPECT_TRUE(Matches("ka.req.pod.run_as_user >= 1000"));
  EXPECT_FALSE(Matches("ka.req.pod.run_as_user > 1000"));
  EXPECT_TRUE(Matches("ka.req.pod.run_as_user < 1001"));
  EXPECT_FALSE(Matches("ka.req.pod.run_as_user <= 999"));
  EXPECT_TRUE(Matches("ka.req.pod.host_pid = true"));
  EXPECT_FALSE(Matches("ka.req.pod.host_network = true"));  // absent in a pod: false
  EXPECT_TRUE(Matches("ka.response.code = 201"));
}

TEST_F(RulesTest, SetOperators) {
  EXPECT_TRUE(Matches("ka.verb in (update, create)"));
  EXPECT_FALSE(Matches("ka.verb in (update, patch)"));
  // `in` on a list field: every value must be in the set; `intersects`: one is enough.
  EXPECT_TRUE(Matches("ka.user.groups in (dev, system:authenticated, ops)"));
  EXPECT_FALSE(Matches("ka.user.groups in (dev)"));
  EXPECT_TRUE(Matches("ka.user.groups intersects (dev)"));
  EXPECT_FALSE(Matches("ka.user.groups intersects (ops, admins)"));
  EXPECT_TRUE(Matches("ka.req.pod.containers.host_port intersects (8080)"));
  EXPECT_FALSE(Matches("ka.req.pod.containers.host_port intersects (80)"));
  EXPECT_TRUE(Matches("ka.req.pod.containers.privileged intersects (true)"));
  EXPECT_FALSE(Matches("ka.req.pod.containers.privileged in (true)"));  // b is not
  EXPECT_TRUE(Matches("ka.req.pod.volumes.hostpath pmatch (/etc, /proc)"));
  EXPECT_TRUE(Matches("ka.req.pod.volumes.hostpath pmatch (/etc/kubernetes)"));
  EXPECT_FALSE(Matches("ka.req.pod.volumes.hostpath pmatch (/etc/kube, /var)"));
}

TEST_F(RulesTest, StringOperators) {
  EXPECT_TRUE(Matches("ka.useragent contains kubectl/"));
  EXPECT_FALSE(Matches("ka.useragent contains curl"));
  EXPECT_TRUE(Matches("ka.useragent icontains KUBECTL"));
  EXPECT_FALSE(Matches("ka.useragent icontains CURL"));
  EXPECT_TRUE(Matches("ka.uri startswith /api/v1/"));
  EXPECT_FALSE(Matches("ka.uri startswith /apis/"));
  EXPECT_TRUE(Matches("ka.uri endswith fieldManager=kubectl"));
  EXPECT_FALSE(Matches("ka.uri endswith /pods"));
  EXPECT_TRUE(Matches("ka.uri glob \"/api/v1/namespaces/*/pods?*\""));
  EXPECT_FALSE(Matches("ka.uri glob \"/apis/*\""));
  EXPECT_TRUE(Matches("ka.user.name regex \"[a-z]+@example\\.com\""));
  EXPECT_FALSE(Matches("ka.user.name regex \"alice\""));            // a whole-value match
  EXPECT_TRUE(Matches("ka.user.name bcontains 406578616d706c65"));  // "@example"
  EXPECT_FALSE(Matches("ka.user.name bcontains 626f62"));           // "bob"
  EXPECT_TRUE(Matches("ka.user.name bstartswith 616c696365"));      // "alice"
  EXPECT_FALSE(Matches("ka.user.name bstartswith 626f62"));
}

TEST_F(RulesTest, ExistsAndAbsentFields) {
  EXPECT_TRUE(Matches("ka.target.name exists"));
  EXPECT_FALSE(Matches("ka.target.subresource exists"));
  // An absent field fails every comparison, and `not` of that holds.
  EXPECT_FALSE(Matches("ka.target.subresource = exec"));
  EXPECT_FALSE(Matches("ka.target.subresource != exec"));
  EXPECT_TRUE(Matches("not ka.target.subresource = exec"));
  EXPECT_FALSE(Matches("ka.impuser.name exists"));
}

TEST_F(RulesTest, FieldArguments) {
  EXPECT_TRUE(Matches("ka.req.pod.containers.image[1] = busybox@sha256:0123"));
  EXPECT_FALSE(Matches("ka.req.pod.containers.image[0] = busybox@sha256:0123"));
  EXPECT_FALSE(Matches("ka.req.pod.containers.image[7] exists"));
  EXPECT_TRUE(
      Matches("ka.req.pod.containers.image.repository[0] = registry.example.com:5000/team/web"));
  EXPECT_TRUE(Matches("ka.req.pod.containers.image.repository intersects (busybox)"));
  EXPECT_TRUE(Matches("ka.uri.param[dryRun] = All"));
  EXPECT_FALSE(Matches("ka.uri.param[pretty] exists"));
  EXPECT_TRUE(Matches("jevt.value[/requestObject/spec/containers/1/name] = b"));
  EXPECT_TRUE(Matches("jevt.value[/objectRef] contains '\"namespace\":\"shop\"'"));
  EXPECT_TRUE(Matches("ka.req.pod.containers.eff_run_as_user intersects (0)"));
  EXPECT_TRUE(Matches("ka.req.pod.containers.eff_run_as_user intersects (1000)"));
  EXPECT_TRUE(Matches("ka.req.pod.containers.add_capabilities intersects (SYS_TIME)"));
  EXPECT_TRUE(Matches("ka.req.volume.hostpath[/etc*] = true"));
  EXPECT_TRUE(Matches("ka.sourceips[0] startswith 10."));
}

TEST_F(RulesTest, BooleanLogicAndPrecedence) {
  EXPECT_TRUE(Matches("ka.verb=delete or ka.verb=create and ka.target.resource=pods"));
  EXPECT_FALSE(Matches("(ka.verb=delete or ka.verb=create) and ka.target.resource=services"));
  EXPECT_TRUE(Matches("not (ka.verb=delete or ka.verb=get)"));
  EXPECT_TRUE(Matches("not not ka.verb=create"));
  EXPECT_FALSE(Matches("not ka.verb=create and ka.verb=create"));
}

TEST_F(RulesTest, ListsAndMacros) {
  const std::string prelude = R"(
- list: inner
  items: [create]
- list: outer
  items: [inner, delete, "quoted value"]
- macro: creating
  condition: ka.verb in (outer)
- macro: in_shop
  condition: ka.target.namespace = shop and creating
)";
  EXPECT_TRUE(Matches("in_shop", prelude));
  EXPECT_TRUE(Matches("ka.verb in (outer, get)", prelude));
  EXPECT_FALSE(Matches("ka.verb in ('outer')", prelude));  // quoted: a value, not the list
  EXPECT_FALSE(Matches("not creating", prelude));
}

TEST_F(RulesTest, AppendAndOverride) {
  Engine engine;
  engine.AddSource(source_);
  ASSERT_TRUE(engine
                  .AddRulesText(R"(
- list: verbs
  items: [delete]
- macro: wanted
  condition: ka.verb in (verbs)
- rule: r
  desc: d
  condition: wanted
  output: "first %ka.verb"
  priority: info
  source: k8s_audit
- rule: s
  desc: d
  condition: ka.verb = create
  output: s
  priority: info
  source: k8s_audit
)",
                                "base.yaml")
                  .ok());
  ASSERT_TRUE(engine.Compile().ok());
  EXPECT_EQ(engine.Match(*source_, *event_).size(), 1u);  // only s
  ASSERT_TRUE(engine
                  .AddRulesText(R"(
- list: verbs
  items: [create]
  append: true
- rule: r
  condition: and ka.target.namespace = shop
  output: by %ka.user.name
  append: true
- rule: s
  condition: ka.verb = get
  override:
    condition: replace
- rule: s
  enabled: false
)",
                                "local.yaml")
                  .ok());
  auto report = engine.Compile();
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->disabled.size(), 1u);
  EXPECT_EQ(report->disabled[0].reason, "enabled: false");
  const std::vector<Alert> alerts = engine.Evaluate(*source_, *event_);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].output, "first create by alice@example.com");
  EXPECT_EQ(
      alerts[0].output_fields,
      R"({"ka.auditid":"a-1","ka.target.name":"web","ka.target.namespace":"shop","ka.target.resource":"pods","ka.uri":"/api/v1/namespaces/shop/pods?dryRun=All&fieldManager=kubectl","ka.user.name":"alice@example.com","ka.verb":"create"})");
  EXPECT_EQ(alerts[0].time, "2024-05-01T12:00:00.500000000Z");
}

TEST_F(RulesTest, Exceptions) {
  const std::string rule = R"(
- rule: r
  desc: d
  condition: ka.verb = create
  output: o
  priority: info
  source: k8s_audit
  exceptions:
)";
  auto count = [&](const std::string& exceptions, const std::string& more = "") {
    Engine engine;
    engine.AddSource(source_);
    auto added = engine.AddRulesText(rule + exceptions + more, "e.yaml");
    EXPECT_TRUE(added.ok()) << added.error().message;
    auto report = engine.Compile();
    EXPECT_TRUE(report.ok()) << report.error().message;
    return engine.Match(*source_, *event_).size();
  };
  // Tuples of fields: the rule is silenced when every field of one tuple matches.
  EXPECT_EQ(count(R"(    - name: shop_web
      fields: [ka.target.namespace, ka.target.name]
      values: [[shop, web]]
)"),
            0u);
  EXPECT_EQ(count(R"(    - name: shop_web
      fields: [ka.target.namespace, ka.target.name]
      values: [[shop, api], [prod, web]]
)"),
            1u);
  // comps and lists inside tuples.
  EXPECT_EQ(count(R"(    - name: images
      fields: [ka.target.namespace, ka.req.pod.containers.image.repository]
      comps: [startswith, intersects]
      values: [[sh, [busybox, nginx]]]
)"),
            0u);
  // A single field with its values (comp defaults to `in`).
  EXPECT_EQ(count(R"(    - name: users
      fields: ka.user.name
      values: [bob, alice@example.com]
)"),
            0u);
  // Values added later by appending to the rule.
  EXPECT_EQ(count(R"(    - name: users
      fields: ka.user.name
      values: [bob]
)",
                  R"(
- rule: r
  exceptions:
    - name: users
      values: [alice@example.com]
  append: true
)"),
            0u);
}

TEST_F(RulesTest, UnknownFieldsDisableTheRuleAndSayWhich) {
  Engine engine;
  engine.AddSource(source_);
  ASSERT_TRUE(engine
                  .AddRulesText(R"(
- rule: uses proc
  desc: d
  condition: ka.verb = create and proc.name = sh
  output: "%ka.user.name %fd.name"
  priority: info
  source: k8s_audit
- rule: good
  desc: d
  condition: ka.verb = create
  output: o
  priority: info
  source: k8s_audit
- rule: syscall rule
  desc: d
  condition: evt.type = execve
  output: o
  priority: info
)",
                                "mixed.yaml")
                  .ok());
  auto report = engine.Compile();
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->enabled, std::vector<std::string>{"good"});
  ASSERT_EQ(report->disabled.size(), 2u);
  EXPECT_EQ(report->disabled[0].name, "uses proc");
  EXPECT_EQ(report->disabled[0].missing_fields, (std::vector<std::string>{"proc.name", "fd.name"}));
  EXPECT_EQ(report->disabled[0].reason, "field \"proc.name\": not implemented by source k8s_audit");
  EXPECT_EQ(report->disabled[0].location.line, 2u);
  EXPECT_EQ(report->disabled[1].reason,
            "source \"syscall\" is not available (its fields: evt.type)");
  EXPECT_EQ(report->disabled[1].missing_fields, std::vector<std::string>{"evt.type"});
  EXPECT_EQ(engine.Match(*source_, *event_).size(), 1u);
}

TEST_F(RulesTest, ErrorsNameFileLineAndRule) {
  auto error_of = [&](const std::string& text) {
    Engine engine;
    engine.AddSource(source_);
    auto added = engine.AddRulesText(text, "bad.yaml");
    if (!added.ok()) return added.error().message;
    auto report = engine.Compile();
    return report.ok() ? std::string() : report.error().message;
  };
  EXPECT_EQ(error_of("- rule: a\n  desc: d\n  condition: ka.verb =\n  output: o\n  priority: info\n"
                     "  source: k8s_audit\n"),
            "bad.yaml:1: rule \"a\": condition: column 10: expected a value after '='");
  EXPECT_EQ(error_of("- macro: m\n  condition: x\n- rule: a\n  desc: d\n  condition: (m and\n"
                     "  output: o\n  priority: info\n  source: k8s_audit\n"),
            "bad.yaml:3: rule \"a\": condition: column 7: expected a field, a macro or '('");
  EXPECT_EQ(error_of("- rule: a\n  desc: d\n  condition: nosuchmacro\n  output: o\n"
                     "  priority: info\n  source: k8s_audit\n"),
            "bad.yaml:1: rule \"a\": condition uses \"nosuchmacro\", which is neither a macro "
            "nor a field with an operator");
  EXPECT_EQ(error_of("\n\n- rule: a\n  condition: ka.verb=get\n  append: true\n"),
            "bad.yaml:3: rule \"a\": append of a rule that is not defined before");
  EXPECT_EQ(error_of("- rule: a\n  desc: d\n  condition: ka.verb=get\n  output: o\n"
                     "  priority: loud\n"),
            "bad.yaml:1: rule \"a\": priority \"loud\" is not a Falco priority");
  EXPECT_EQ(error_of("- list: l\n  items: [a]\n  append: true\n"),
            "bad.yaml:1: list \"l\": append to a list that is not defined before");
  EXPECT_EQ(error_of("- rule: a\n  desc: d\n  condition: ka.user.name regex \"(\"\n  output: o\n"
                     "  priority: info\n  source: k8s_audit\n"),
            "bad.yaml:1: rule \"a\": ka.user.name regex: missing ): (");
  EXPECT_EQ(error_of("- rule: a\n  desc: d\n  condition: ka.req.pod.run_as_user > many\n"
                     "  output: o\n  priority: info\n  source: k8s_audit\n"),
            "bad.yaml:1: rule \"a\": ka.req.pod.run_as_user >: \"many\" is not a number");
  EXPECT_EQ(
      error_of("- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: r\n  desc: d\n"
               "  condition: a\n  output: o\n  priority: info\n  source: k8s_audit\n"),
      "bad.yaml:5: rule \"r\": macro \"a\" refers to itself");
  EXPECT_NE(error_of("- rule: [\n").find("bad.yaml"), std::string::npos);
}

TEST_F(RulesTest, FailedFileLeavesTheEngineAsItWas) {
  Engine engine;
  engine.AddSource(source_);
  ASSERT_TRUE(engine.AddRulesText("- list: l\n  items: [create]\n", "a.yaml").ok());
  EXPECT_FALSE(
      engine.AddRulesText("- list: l\n  items: [get]\n- list: m\n  append: true\n", "b.yaml").ok());
  ASSERT_TRUE(engine
                  .AddRulesText("- rule: r\n  desc: d\n  condition: ka.verb in (l)\n  output: o\n"
                                "  priority: info\n  source: k8s_audit\n",
                                "c.yaml")
                  .ok());
  ASSERT_TRUE(engine.Compile().ok());
  EXPECT_EQ(engine.Match(*source_, *event_).size(), 1u);
}

TEST_F(RulesTest, WarningsForIgnoredEntries) {
  Engine engine;
  engine.AddSource(source_);
  ASSERT_TRUE(engine
                  .AddRulesText("- required_engine_version: 0.57.0\n- rule: r\n  desc: d\n"
                                "  condition: ka.verb=get\n  output: o\n  priority: info\n"
                                "  source: k8s_audit\n  colour: red\n",
                                "w.yaml")
                  .ok());
  auto report = engine.Compile();
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->warnings.size(), 2u);
  EXPECT_EQ(report->warnings[0].rfind("w.yaml:1: required_engine_version ignored", 0), 0u);
  EXPECT_EQ(report->warnings[1], "w.yaml:8: rule \"r\": unknown key \"colour\" ignored");
}

TEST_F(RulesTest, OutputFormatting) {
  Engine engine;
  engine.AddSource(source_);
  ASSERT_TRUE(engine
                  .AddRulesText(R"(
- rule: r
  desc: d
  condition: ka.verb=create
  output: "At %evt.time user %ka.user.name. groups=%ka.user.groups img0=%ka.req.pod.containers.image[0] none=%ka.impuser.name 100% %jevt.value[/objectRef/name]"
  priority: critical
  source: k8s_audit
  tags: [mitre_privilege_escalation, T1611, K8S_PrivilegedContainer]
)",
                                "o.yaml")
                  .ok());
  ASSERT_TRUE(engine.Compile().ok());
  const std::vector<Alert> alerts = engine.Evaluate(*source_, *event_);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].output,
            "At 12:00:00.500000000 user alice@example.com. groups=(dev,system:authenticated) "
            "img0=registry.example.com:5000/team/web:1.2 none=<NA> 100% web");
  EXPECT_EQ(alerts[0].priority, AlertPriority::kCritical);
  ASSERT_EQ(alerts[0].mitre.size(), 1u);
  EXPECT_EQ(alerts[0].mitre[0].tactic, "privilege-escalation");
  EXPECT_EQ(SeedAlertType(alerts[0]), "K8S_PrivilegedContainer");
  EXPECT_NE(alerts[0].output_fields.find(R"("ka.user.groups":["dev","system:authenticated"])"),
            std::string::npos);
  EXPECT_NE(alerts[0].output_fields.find(R"("ka.impuser.name":null)"), std::string::npos);
}

TEST_F(RulesTest, IndexByVerbKeepsRuleOrder) {
  Engine engine;
  engine.AddSource(source_);
  ASSERT_TRUE(engine
                  .AddRulesText(R"(
- rule: typed
  desc: d
  condition: ka.verb in (create, update) and ka.target.resource=pods
  output: o
  priority: info
  source: k8s_audit
- rule: untyped
  desc: d
  condition: ka.target.resource=pods
  output: o
  priority: info
  source: k8s_audit
- rule: other verb
  desc: d
  condition: ka.verb=delete
  output: o
  priority: info
  source: k8s_audit
- rule: typed again
  desc: d
  condition: ka.verb=create or (ka.verb=get and ka.user.name=bob)
  output: o
  priority: info
  source: k8s_audit
)",
                                "i.yaml")
                  .ok());
  ASSERT_TRUE(engine.Compile().ok());
  std::vector<std::string> names;
  for (const CompiledRule* rule : engine.Match(*source_, *event_)) {
    names.push_back(engine.Info(*rule).name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"typed", "untyped", "typed again"}));
}

TEST(FalcoRuleFiles, LoadUnchangedAndEverySyscallRuleIsReportedDisabled) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(MOAT_SHARED_DATA_DIR) / "runtime" / "falco-rules";
  for (const char* file :
       {"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"}) {
    SCOPED_TRACE(file);
    Engine engine;
    engine.AddSource(MakeK8sAuditSource());
    auto added = engine.AddRulesPath((dir / file).string());
    ASSERT_TRUE(added.ok()) << added.error().message;
    auto report = engine.Compile();
    ASSERT_TRUE(report.ok()) << report.error().message;
    EXPECT_TRUE(report->enabled.empty());
    EXPECT_GE(report->disabled.size(), 25u);
    for (const DisabledRule& rule : report->disabled) {
      // Each names the fields it would need from the syscall source (some the files switch off).
      EXPECT_EQ(rule.source, "syscall") << rule.name;
      if (rule.reason == "enabled: false") continue;
      EXPECT_FALSE(rule.missing_fields.empty()) << rule.name << ": " << rule.reason;
      EXPECT_EQ(rule.reason.rfind("source \"syscall\" is not available (its fields: ", 0), 0u)
          << rule.name << ": " << rule.reason;
      EXPECT_GT(rule.location.line, 0u) << rule.name;
    }
  }
}

}  // namespace
}  // namespace moat::rules

namespace moat::rules {
namespace {

// A shell started with a terminal in a container, as the sensor reports an exec.
SyscallEvent ShellInContainer(int64_t tty) {
  SyscallEvent event;
  event.num = 1234;  // the sensor numbers events from 1 (Falco's never_true is evt.num=0)
  event.type = "execve";
  event.time_ns = 1714564800000000000;
  event.args = {{"flags", "EXE_WRITABLE|EXE_LOWER_LAYER"}};
  event.proc = {4242, "bash", "bash", "/usr/bin/bash", {"-i"}};
  event.ppid = 4200;
  event.ancestors = {{4200, "runc:[1:CHILD]", "runc", "/usr/bin/runc", {"init"}},
                     {4100, "containerd-shim", "containerd-shim", "/usr/bin/containerd-shim", {}}};
  event.tty = tty;
  event.uid = 0;
  event.user_name = "root";
  event.container_id = "3f5c7e9a1b2d";
  event.container_name = "web";
  event.container_image = "registry.example.com/shop/web:1.4@sha256:ab";
  event.container_image_digest = "sha256:ab";
  event.k8s_pod_name = "web-7d9";
  event.k8s_ns_name = "shop";
  return event;
}

TEST(FalcoRuleFiles, StableRulesRunOnTheSyscallSource) {
  namespace fs = std::filesystem;
  Engine engine;
  auto source = MakeSyscallSource();
  engine.AddSource(source);
  ASSERT_TRUE(engine
                  .AddRulesPath((fs::path(MOAT_SHARED_DATA_DIR) / "runtime" / "falco-rules" /
                                 "falco_rules.yaml")
                                    .string())
                  .ok());
  auto report = engine.Compile();
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->enabled.size() + report->disabled.size(), 25u);
  EXPECT_EQ(report->enabled.size(), 22u);
  // The three others need fields the sensor does not report (DNS names of addresses, inode
  // times, CIDR matching of fd.net).
  ASSERT_EQ(report->disabled.size(), 3u);
  EXPECT_EQ(report->disabled[0].name, "Contact K8S API Server From Container");
  EXPECT_EQ(report->disabled[0].missing_fields, std::vector<std::string>{"fd.sip.name"});
  EXPECT_EQ(report->disabled[2].missing_fields,
            (std::vector<std::string>{"fd.name_changed", "fd.net", "fd.snet"}));
  const std::vector<std::string_view> known = SyscallFieldNames();
  for (const DisabledRule& rule : report->disabled) {
    if (rule.reason == "enabled: false") continue;
    ASSERT_FALSE(rule.missing_fields.empty()) << rule.name << ": " << rule.reason;
    for (const std::string& field : rule.missing_fields) {
      // Really missing: neither in the catalogue nor an evt.arg.* (which is always there).
      EXPECT_EQ(std::find(known.begin(), known.end(), field.substr(0, field.find('['))),
                known.end())
          << rule.name << ": " << field;
    }
  }
  ASSERT_NE(
      std::find(report->enabled.begin(), report->enabled.end(), "Terminal shell in container"),
      report->enabled.end());

  const SyscallEvent with_tty = ShellInContainer(34816);
  std::vector<Alert> alerts = engine.Evaluate(*source, with_tty);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].rule, "Terminal shell in container");
  EXPECT_EQ(alerts[0].priority, AlertPriority::kNotice);
  EXPECT_EQ(alerts[0].output,
            "A shell was spawned in a container with an attached terminal | evt_type=execve "
            "user=root user_uid=0 user_loginuid=-1 process=bash proc_exepath=/usr/bin/bash "
            "parent=runc:[1:CHILD] command=bash -i terminal=34816 "
            "exe_flags=EXE_WRITABLE|EXE_LOWER_LAYER");
  EXPECT_EQ(alerts[0].container.id, "3f5c7e9a1b2d");
  EXPECT_EQ(alerts[0].container.image, "registry.example.com/shop/web:1.4@sha256:ab");
  EXPECT_EQ(alerts[0].k8s.pod, "web-7d9");
  EXPECT_EQ(alerts[0].proc.ancestors.size(), 2u);
  EXPECT_EQ(alerts[0].mitre[0].tactic, "execution");
  // Without a terminal, or on the host, it is not raised.
  EXPECT_TRUE(engine.Evaluate(*source, ShellInContainer(0)).empty());
  SyscallEvent on_host = ShellInContainer(34816);
  on_host.container_id = "host";
  EXPECT_TRUE(engine.Evaluate(*source, on_host).empty());
}

TEST(SyscallSource, AncestorAndFdFields) {
  Engine engine;
  auto source = MakeSyscallSource();
  engine.AddSource(source);
  ASSERT_TRUE(engine
                  .AddRulesText(R"(
- rule: r
  desc: d
  condition: >
    evt.type = connect and proc.aname[2] = containerd-shim
    and proc.apid[1] = 4200 and proc.aname = "runc:[1:CHILD]" and fd.sip = 10.0.0.9 and fd.sport = 443 and fd.cport > 30000
    and fd.l4proto = tcp and fd.typechar = 4 and container.image.repository = registry.example.com/shop/web
    and container.image.tag = "1.4" and evt.res = SUCCESS and evt.arg.flags contains EXE_WRITABLE
  output: "%fd.name %proc.pcmdline"
  priority: warning
)",
                                "s.yaml")
                  .ok());
  auto report = engine.Compile();
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->enabled.size(), 1u) << report->disabled[0].reason;
  SyscallEvent event = ShellInContainer(0);
  event.type = "connect";
  event.fd_num = 3;
  event.fd_typechar = '4';
  event.l4proto = "tcp";
  event.local_ip = "172.17.0.2";
  event.local_port = 41000;
  event.remote_ip = "10.0.0.9";
  event.remote_port = 443;
  event.fd_name = "172.17.0.2:41000->10.0.0.9:443";
  std::vector<Alert> alerts = engine.Evaluate(*source, event);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].output, "172.17.0.2:41000->10.0.0.9:443 runc:[1:CHILD] init");
  event.res = -111;  // ECONNREFUSED
  EXPECT_TRUE(engine.Evaluate(*source, event).empty());
  event.res = 0;
  event.type = "execve";  // the index by evt.type skips the rule
  EXPECT_TRUE(engine.Evaluate(*source, event).empty());
}

}  // namespace
}  // namespace moat::rules
