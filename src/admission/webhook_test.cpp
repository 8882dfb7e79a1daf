// The webhook's handler: modes, selectors, exemptions, subresources, DELETE, dry run, bad
// requests, metrics and configuration reload; and the configuration file's errors.

#include "admission/webhook.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "admission/audit.h"
#include "admission/builtin_policy.h"
#include "admission/test_util.h"
#include "core/bytes.h"
#include "k8s/loader.h"

namespace moat::admission {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::kReviews;

json Deployment(const std::string& ns, json container_extra = json::object(),
                json labels = json::object()) {
  json container = {{"name", "web"}, {"image", "nginx:1.27"}};
  container.update(container_extra);
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", "web"}, {"namespace", ns}, {"labels", labels}}},
          {"spec",
           {{"replicas", 2},
            {"selector", {{"matchLabels", {{"app", "web"}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", "web"}}}}},
              {"spec", {{"containers", json::array({container})}}}}}}}};
}

json PrivilegedPod(const std::string& ns) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "p"}, {"namespace", ns}}},
      {"spec",
       {{"containers",
         {{{"name", "app"}, {"image", "nginx:1.27"}, {"securityContext", {{"privileged", true}}}},
          {{"name", "istio-proxy"},
           {"image", "docker.io/istio/proxyv2:1.22"},
           {"securityContext", {{"privileged", true}}}}}}}}};
}

std::unique_ptr<Webhook> MakeWebhook(const std::string& config_yaml) {
  auto config = ParseAdmissionConfig(config_yaml, "moat.yaml");
  EXPECT_TRUE(config.ok()) << config.error().message;
  auto webhook = Webhook::Create([c = *config] { return PolicySet::Build(c); }, WebhookOptions{});
  EXPECT_TRUE(webhook.ok()) << webhook.error().message;
  return std::move(*webhook);
}

http::Response Post(Webhook& webhook, const std::string& body,
                    const std::string& content_type = "application/json",
                    const std::string& path = "/validate") {
  http::Request request;
  request.method = "POST";
  request.path = path;
  request.headers.emplace_back("content-type", content_type);
  request.body = body;
  return webhook.Handle(request);
}

json Answer(Webhook& webhook, const json& review) {
  const http::Response response = Post(webhook, review.dump());
  EXPECT_EQ(response.status, 200) << response.body;
  return json::parse(response.body)["response"];
}

TEST(Webhook, ModesGiveDenyWarningsAndAuditAnnotations) {
  auto webhook = MakeWebhook(R"(policies:
- {checks: [pss-baseline-privileged], action: deny}
- {checks: [wl-cpu-limits, wl-memory-limits], action: warn}
- {checks: [wl-image-tag], action: audit}
)");
  json answer =
      Answer(*webhook, testing::CreateReview(Deployment("shop", {{"image", "nginx"}}), "shop"));
  EXPECT_EQ(answer["allowed"], true) << answer.dump();
  ASSERT_TRUE(answer.contains("warnings")) << answer.dump();
  EXPECT_EQ(answer["warnings"].size(), 2u) << answer.dump();
  EXPECT_EQ(answer["warnings"][0].get<std::string>().rfind("wl-cpu-limits: ", 0), 0u);
  ASSERT_TRUE(answer["auditAnnotations"].contains("wl-image-tag")) << answer.dump();
  EXPECT_NE(answer["auditAnnotations"]["wl-image-tag"].get<std::string>().find(
                "spec.template.spec.containers[0].image"),
            std::string::npos);

  answer = Answer(*webhook, testing::CreateReview(PrivilegedPod("shop"), "shop"));
  EXPECT_EQ(answer["allowed"], false);
  EXPECT_EQ(answer["status"]["code"], 403);
  const std::string message = answer["status"]["message"];
  EXPECT_NE(message.find("pss-baseline-privileged: "), std::string::npos) << message;
  EXPECT_NE(message.find("(spec.containers[0].securityContext.privileged)"), std::string::npos);
  EXPECT_NE(message.find("(spec.containers[1].securityContext.privileged)"), std::string::npos);
}

TEST(Webhook, SelectorsAndExemptions) {
  auto webhook = MakeWebhook(R"(policies:
- checks: [pss-baseline]
  action: deny
  namespaces: ["prod-*"]
  excludedNamespaces: [prod-legacy]
  objectSelector: {matchExpressions: [{key: moat.dev/skip, operator: DoesNotExist}]}
  exemptContainers: [istio-proxy]
- checks: [pss-baseline]
  action: warn
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: staging}}
)");
  auto verdict = [&](const json& object, const std::string& ns) {
    const json answer = Answer(*webhook, testing::CreateReview(object, ns));
    if (!answer["allowed"].get<bool>()) return std::string("deny");
    return answer.contains("warnings") ? std::string("warn") : std::string("allow");
  };
  EXPECT_EQ(verdict(PrivilegedPod("prod-eu"), "prod-eu"), "deny");
  EXPECT_EQ(verdict(PrivilegedPod("prod-legacy"), "prod-legacy"), "allow");
  EXPECT_EQ(verdict(PrivilegedPod("dev"), "dev"), "allow");
  EXPECT_EQ(verdict(PrivilegedPod("staging"), "staging"), "warn");
  json labelled = PrivilegedPod("prod-eu");
  labelled["metadata"]["labels"] = {{"moat.dev/skip", "yes"}};
  EXPECT_EQ(verdict(labelled, "prod-eu"), "allow");
  // Only the exempt container is privileged: allowed; the other one still denies.
  json sidecar_only = PrivilegedPod("prod-eu");
  sidecar_only["spec"]["containers"][0].erase("securityContext");
  EXPECT_EQ(verdict(sidecar_only, "prod-eu"), "allow");
  json app_only = PrivilegedPod("prod-eu");
  app_only["spec"]["containers"][1].erase("securityContext");
  EXPECT_EQ(verdict(app_only, "prod-eu"), "deny");
  // The default exclusions: kube-system, kube-public and Moat's own namespace.
  for (const std::string ns : {"kube-system", "kube-public"})
    EXPECT_EQ(verdict(PrivilegedPod(ns), ns), "allow") << ns;
}

TEST(Webhook, AnObjectCannotExemptItselfUnlessConfigured) {
  json pod = PrivilegedPod("shop");
  pod["metadata"]["annotations"] = {{"moat.dev/exempt", "*"}};
  auto strict = MakeWebhook("policies: [{checks: [pss-baseline], action: deny}]\n");
  EXPECT_EQ(Answer(*strict, testing::CreateReview(pod, "shop"))["allowed"], false);
  auto trusting = MakeWebhook(
      "exemptAnnotation: moat.dev/exempt\npolicies: [{checks: [pss-baseline], action: deny}]\n");
  EXPECT_EQ(Answer(*trusting, testing::CreateReview(pod, "shop"))["allowed"], true);
}

TEST(Webhook, RequestsNoPolicyCoversAreAllowedAtOnce) {
  auto webhook = MakeWebhook("policies: [{checks: [pss-restricted], action: deny}]\n");
  for (const char* file :
       {"canonical/request_delete_configmap.json",
        "canonical/request_update_scale_subresource.json", "kubewarden/echo__delete_accept.json"}) {
    SCOPED_TRACE(file);
    auto text = ReadFileToString((kReviews / file).string());
    ASSERT_TRUE(text.ok());
    json review = json::parse(*text);
    if (!review.contains("request"))
      review = {
          {"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", review}};
    const json answer = Answer(*webhook, review);
    EXPECT_EQ(answer["allowed"], true);
    EXPECT_EQ(answer["uid"], review["request"]["uid"]);
    EXPECT_FALSE(answer.contains("warnings"));
  }
  const std::string metrics = webhook->metrics().Render();
  EXPECT_NE(metrics.find("moat_admission_requests_total{operation=\"DELETE\",kind=\"ConfigMap\","
                         "decision=\"skipped\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("operation=\"UPDATE\",kind=\"Scale\",decision=\"skipped\"} 1"),
            std::string::npos);
}

TEST(Webhook, UpdatesAndEphemeralContainersAreJudgedOnTheNewObject) {
  auto webhook = MakeWebhook("policies: [{checks: [pss-baseline], action: deny}]\n");
  json review = testing::CreateReview(PrivilegedPod("shop"), "shop");
  json old_pod = PrivilegedPod("shop");
  old_pod["spec"]["containers"][0].erase("securityContext");
  old_pod["spec"]["containers"][1].erase("securityContext");
  // An UPDATE that makes a pod privileged is denied; one that removes it is allowed.
  review["request"]["operation"] = "UPDATE";
  review["request"]["oldObject"] = old_pod;
  auto decoded = DecodeAdmissionReview(review.dump());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_TRUE(decoded->has_old_object);
  EXPECT_EQ(decoded->old_object.kind, "Pod");
  EXPECT_EQ(Answer(*webhook, review)["allowed"], false);
  std::swap(review["request"]["object"], review["request"]["oldObject"]);
  EXPECT_EQ(Answer(*webhook, review)["allowed"], true);
  // pods/ephemeralcontainers adds containers to a running pod: judged; pods/status is not.
  json debug = PrivilegedPod("shop");
  debug["spec"]["containers"][0].erase("securityContext");
  debug["spec"]["containers"][1].erase("securityContext");
  debug["spec"]["ephemeralContainers"] = {{{"name", "debugger"},
                                           {"image", "busybox:1.36"},
                                           {"securityContext", {{"privileged", true}}}}};
  review["request"]["object"] = debug;
  review["request"]["subResource"] = "ephemeralcontainers";
  const json answer = Answer(*webhook, review);
  EXPECT_EQ(answer["allowed"], false);
  EXPECT_NE(answer["status"]["message"].get<std::string>().find(
                "spec.ephemeralContainers[0].securityContext.privileged"),
            std::string::npos);
  review["request"]["subResource"] = "status";
  EXPECT_EQ(Answer(*webhook, review)["allowed"], true);
}

TEST(Webhook, CapturedPrivilegedPodIsDeniedInItsVersion) {
  auto webhook = MakeWebhook("policies: [{checks: [pss-baseline], action: deny}]\n");
  json review =
      json::parse(*ReadFileToString((kReviews / "canonical" / "request_create_pod.json").string()));
  for (const char* version : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
    review["apiVersion"] = version;
    const http::Response response = Post(*webhook, review.dump());
    ASSERT_EQ(response.status, 200);
    const json answer = json::parse(response.body);
    EXPECT_EQ(answer["apiVersion"], version);
    EXPECT_EQ(answer["response"]["allowed"], false);
    EXPECT_EQ(answer["response"]["uid"], review["request"]["uid"]);
  }
  // A dry run gets the same verdict and leaves no trace in the violation counters.
  review["request"]["dryRun"] = true;
  review["apiVersion"] = "admission.k8s.io/v1";
  EXPECT_EQ(Answer(*webhook, review)["allowed"], false);
  const std::string metrics = webhook->metrics().Render();
  EXPECT_NE(metrics.find("moat_admission_policy_violations_total{policy=\"pss-baseline-"
                         "privileged\",action=\"deny\"} 2"),
            std::string::npos)
      << metrics;
  // /mutate answers allowed without a patch (mutations come later).
  const json mutate =
      json::parse(Post(*webhook, review.dump(), "application/json", "/mutate").body);
  EXPECT_EQ(mutate["response"]["allowed"], true);
  EXPECT_FALSE(mutate["response"].contains("patch"));
}

TEST(Webhook, BadRequestsGetA4xx) {
  auto webhook = MakeWebhook("policies: [{checks: [pss-baseline], action: deny}]\n");
  const std::string good =
      *ReadFileToString((kReviews / "canonical" / "request_create_pod.json").string());
  EXPECT_EQ(Post(*webhook, good, "text/plain").status, 415);
  EXPECT_EQ(Post(*webhook, good, "application/json; charset=utf-8").status, 200);
  EXPECT_EQ(Post(*webhook, "").status, 400);
  http::Response malformed = Post(*webhook, "{\"apiVersion\": ");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("AdmissionReview:"), std::string::npos) << malformed.body;
  json no_uid = json::parse(good);
  no_uid["request"].erase("uid");
  http::Response missing = Post(*webhook, no_uid.dump());
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("request.uid: missing"), std::string::npos);
  http::Request get;
  get.method = "GET";
  get.path = "/validate";
  EXPECT_EQ(webhook->Handle(get).status, 405);
  get.path = "/nowhere";
  EXPECT_EQ(webhook->Handle(get).status, 404);
  get.path = "/healthz";
  EXPECT_EQ(webhook->Handle(get).status, 200);
  get.path = "/readyz";
  EXPECT_EQ(webhook->Handle(get).status, 200);
  get.path = "/metrics";
  const http::Response metrics = webhook->Handle(get);
  EXPECT_NE(metrics.body.find("moat_admission_errors_total{reason=\"content_type\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("moat_admission_errors_total{reason=\"malformed\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("moat_admission_decision_duration_seconds_count 1"),
            std::string::npos);
}

TEST(Webhook, WarningsOverTheLimitAreSummarised) {
  // A pod with many containers, each missing limits: more warnings than 4 KiB holds.
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "many"}}},
              {"spec", {{"containers", json::array()}}}};
  for (int i = 0; i < 40; ++i)
    pod["spec"]["containers"].push_back(
        {{"name", "container-with-a-long-name-" + std::to_string(i)}, {"image", "nginx:1.27"}});
  auto webhook = MakeWebhook("policies: [{checks: [workload], action: warn}]\n");
  const json answer = Answer(*webhook, testing::CreateReview(pod, "shop"));
  ASSERT_TRUE(answer.contains("warnings"));
  size_t total = 0;
  for (const auto& w : answer["warnings"]) {
    EXPECT_LE(w.get<std::string>().size(), kMaxWarningChars);
    total += w.get<std::string>().size();
  }
  EXPECT_LE(total, kMaxWarningsBytes);
  const std::string last = answer["warnings"].back();
  EXPECT_NE(last.find("more warnings left out"), std::string::npos) << last;
}

TEST(Webhook, ConfigurationIsReloadedWhenItChanges) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("admission-reload-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string file = (dir / "moat.yaml").string();
  std::ofstream(file) << "policies: [{checks: [pss-baseline], action: warn}]\n";
  WebhookOptions options;
  options.config_file = file;
  options.reload_interval = std::chrono::milliseconds(100);
  auto webhook = Webhook::Create(
      [file]() -> Result<std::shared_ptr<const PolicySet>> {
        MOAT_ASSIGN_OR_RETURN(AdmissionConfig config, LoadAdmissionConfig(file));
        return PolicySet::Build(config);
      },
      options);
  ASSERT_TRUE(webhook.ok()) << webhook.error().message;
  const json review = testing::CreateReview(PrivilegedPod("shop"), "shop");
  EXPECT_EQ(Answer(**webhook, review)["allowed"], true);
  // A broken file keeps the policies in force.
  std::ofstream(file) << "policies: [{checks: [no-such-check], action: deny}]\n";
  EXPECT_FALSE((*webhook)->ReloadIfChanged());
  EXPECT_EQ(Answer(**webhook, review)["allowed"], true);
  // A good one replaces them, found by the watcher thread.
  std::ofstream(file) << "policies: [{checks: [pss-baseline], action: deny}]\n";
  bool denied = false;
  for (int i = 0; i < 50 && !denied; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    denied = !Answer(**webhook, review)["allowed"].get<bool>();
  }
  EXPECT_TRUE(denied);
  const std::string metrics = (*webhook)->metrics().Render();
  EXPECT_NE(metrics.find("moat_admission_config_reloads_total{result=\"failed\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("moat_admission_config_reloads_total{result=\"ok\"} 1"),
            std::string::npos);
}

TEST(AdmissionConfig, ErrorsNameFileAndLine) {
  auto error_of = [](const std::string& yaml) {
    auto config = ParseAdmissionConfig(yaml, "moat.yaml");
    return config.ok() ? std::string("(accepted)") : config.error().message;
  };
  EXPECT_EQ(error_of("policies:\n- checks: [pss-baseline]\n  action: block\n"),
            "moat.yaml:3: action \"block\" is not deny, warn, audit or disabled");
  EXPECT_NE(error_of("policies:\n- checks: [nope]\n  action: deny\n").find("moat.yaml:2: "),
            std::string::npos);
  EXPECT_EQ(error_of("polices: []\n").substr(0, 27), "moat.yaml:1: unknown key \"p");
  EXPECT_EQ(error_of("parameters:\n  wl-cpu-limits:\n    maxCPU: 2\n"),
            "moat.yaml:3: check wl-cpu-limits has no parameter \"maxCPU\"");
  EXPECT_EQ(error_of("policies:\n- checks: [pss-baseline]\n  action: deny\n  objectSelector:\n"
                     "    matchExpressions: [{key: a, operator: Has}]\n"),
            "moat.yaml:5: operator \"Has\" is not In, NotIn, Exists or DoesNotExist");
  EXPECT_EQ(error_of("policies:\n- checks: [pss-baseline]\n"),
            "moat.yaml:2: a policy needs an action (deny, warn, audit)");
  EXPECT_EQ(error_of("deadline: 90s\n"),
            "moat.yaml:1: deadline \"90s\" must be a duration from 1ms to 30s (\"2s\", \"500ms\")");
  auto config = ParseAdmissionConfig(
      "deadline: 500ms\nfailurePolicy: Ignore\npssVersion: v1.25\n"
      "parameters: {wl-cpu-limits: {maxCpu: \"2\"}}\n",
      "moat.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->deadline.count(), 500);
  EXPECT_FALSE(config->fail_closed);
  EXPECT_EQ(config->pss_minor, 25);
  EXPECT_EQ(config->parameters["wl-cpu-limits"]["maxCpu"], std::vector<std::string>{"2"});
}

TEST(AdmissionAudit, ManifestsJudgedAsTheirCreate) {
  auto config = ParseAdmissionConfig(
      "policies:\n- {checks: [pss-baseline], action: deny}\n- {checks: [wl-image-tag], action: "
      "warn}\n",
      "moat.yaml");
  ASSERT_TRUE(config.ok());
  auto policies = PolicySet::Build(*config);
  ASSERT_TRUE(policies.ok());
  k8s::LoadResult input;
  k8s::ParseManifests(PrivilegedPod("shop").dump() + "\n---\n" +
                          Deployment("shop", {{"image", "nginx"}}).dump() + "\n---\n" +
                          PrivilegedPod("kube-system").dump() +
                          "\n---\n{kind: ConfigMap, metadata: {name: c}}\n",
                      "all.yaml", input);
  ASSERT_EQ(input.objects.size(), 4u);
  // Each object gives what the webhook says of its CREATE.
  for (size_t i = 0; i < input.objects.size(); ++i) {
    AdmissionRequest request;
    request.has_object = true;
    request.object = input.objects[i];
    request.namespace_name = request.object.namespace_name;
    std::vector<Violation> expected;
    if ((*policies)->builtin()->Covers(request))
      (*policies)->builtin()->Evaluate(request, expected);
    size_t found = 0;
    AuditResult one = Audit(**policies, k8s::LoadResult{{input.objects[i]}, {}, {}, 1, 1, 0});
    for (const k8s::Finding& f : one.assessment.findings) found += f.object == 0 ? 1 : 0;
    EXPECT_EQ(found, expected.size()) << i;
  }
  AuditResult result = Audit(**policies, std::move(input));
  EXPECT_EQ(result.denied_objects, 1u);
  EXPECT_EQ(result.violations_by_action[static_cast<size_t>(Action::kDeny)], 2u);
  EXPECT_EQ(result.violations_by_action[static_cast<size_t>(Action::kWarn)], 1u);
  EXPECT_EQ(result.assessment.status[2], k8s::ObjectStatus::kExcludedNamespace);
  EXPECT_EQ(result.assessment.status[3], k8s::ObjectStatus::kSkippedKind);
  ASSERT_FALSE(result.assessment.findings.empty());
  EXPECT_EQ(result.assessment.findings[0].message.rfind("[deny] ", 0), 0u);
}

}  // namespace
}  // namespace moat::admission
