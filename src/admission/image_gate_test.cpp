// The image gate's parts that need no registry: its configuration, the verdict cache (size, TTL,
// database generation), the judgement of a verdict, which containers a rule judges. The gate
// against a real docker-registry, scanner and database: tests/admission_gate_test.sh.

#include "admission/image_gate.h"

#include <gtest/gtest.h>

#include <thread>

#include "admission/config.h"
#include "admission/decision.h"
#include "admission/test_util.h"
#include "core/vulnerability.h"

namespace moat::admission {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

TEST(ImageGateConfig, ReadsEveryKey) {
  auto config = ParseAdmissionConfig(R"(
imageGate:
  severity: CRITICAL
  kev: false
  requireScan: false
  ignoreUnfixed: true
  fallback: deny
  scanTimeout: 250ms
  cacheTTL: 2h
  tagTTL: 30s
  cacheSize: 10
  workers: 3
  queueSize: 5
  db: /var/lib/moat/moat.db
  cacheDir: /var/cache/moat
registries:
  dockerConfig: /etc/moat/config.json
  insecure: ["127.0.0.1:*", localhost:5000]
policies:
- checks: [image-vulnerabilities, pss-baseline]
  action: warn
)",
                                     "gate.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const ImageGateSettings& gate = config->image_gate;
  EXPECT_EQ(gate.severity, "critical");
  EXPECT_FALSE(gate.kev);
  EXPECT_FALSE(gate.require_scan);
  EXPECT_TRUE(gate.ignore_unfixed);
  EXPECT_TRUE(gate.fallback_deny);
  EXPECT_EQ(gate.scan_timeout.count(), 250);
  EXPECT_EQ(gate.cache_ttl.count(), 7200);
  EXPECT_EQ(gate.tag_ttl.count(), 30);
  EXPECT_EQ(gate.cache_size, 10u);
  EXPECT_EQ(gate.workers, 3u);
  EXPECT_EQ(gate.queue_size, 5u);
  EXPECT_EQ(gate.db_path, "/var/lib/moat/moat.db");
  EXPECT_EQ(config->registries.docker_config, "/etc/moat/config.json");
  EXPECT_EQ(config->registries.insecure_registries.size(), 2u);
  ASSERT_EQ(config->rules.size(), 1u);
  EXPECT_EQ(WithoutImagePolicies(config->rules[0].checks),
            std::vector<std::string>{"pss-baseline"});
}

TEST(ImageGateConfig, ErrorsNameTheLine) {
  struct Case {
    const char* yaml;
    const char* error;
  } cases[] = {
      {"imageGate:\n  severity: urgent\n", "gate.yaml:2: severity \"urgent\""},
      {"imageGate:\n  fallback: maybe\n", "gate.yaml:2: fallback \"maybe\""},
      {"imageGate:\n  scanTimeout: 1 minute\n", "gate.yaml:2: scanTimeout \"1 minute\""},
      {"imageGate:\n  workers: 0\n", "gate.yaml:2: workers must be a whole number"},
      {"imageGate:\n  kev: yes please\n", "gate.yaml:2: kev must be true or false"},
      {"imageGate:\n  sevrity: high\n", "gate.yaml:2: unknown key \"sevrity\" in imageGate"},
      {"registries:\n  proxy: x\n", "gate.yaml:2: unknown key \"proxy\" in registries"},
      // A typo in a policy name is still an unknown check.
      {"policies:\n- checks: [image-vulnerability]\n  action: deny\n", "image-vulnerability"},
  };
  for (const Case& c : cases) {
    auto config = ParseAdmissionConfig(c.yaml, "gate.yaml");
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_NE(config.error().message.find(c.error), std::string::npos)
        << c.yaml << " -> " << config.error().message;
  }
}

TEST(ImageGateConfig, AnImageOnlyRuleRunsNoK8sCheck) {
  // An empty check list would select every k8s check: a rule of image policies only must not.
  AdmissionConfig config;
  ASSERT_TRUE(AddFlagRule(config, Action::kDeny, {"image-signature"}, "--enforce").ok());
  config.signatures.keys = {};
  auto set = PolicySet::Build(config);
  ASSERT_FALSE(set.ok());  // image-signature without keys
  EXPECT_NE(set.error().message.find("--enforce: image-signature needs signatures.keys"),
            std::string::npos)
      << set.error().message;
  config.rules[0].checks = {"image-vulnerabilities"};
  config.image_gate.db_path = "/nonexistent/moat.db";
  set = PolicySet::Build(config);
  ASSERT_FALSE(set.ok());  // a gate without a database refuses to start
  EXPECT_NE(set.error().message.find("/nonexistent/moat.db"), std::string::npos)
      << set.error().message;
}

std::shared_ptr<const ImageVerdict> Verdict(const std::string& digest, uint64_t generation,
                                            Clock::time_point at, bool scanned = true) {
  auto v = std::make_shared<ImageVerdict>();
  v->digest = digest;
  v->scanned = scanned;
  v->db_generation = generation;
  v->at = at;
  return v;
}

TEST(VerdictCache, DropsTheLeastRecentlyUsed) {
  VerdictCache cache(2, seconds(3600));
  const auto now = Clock::now();
  cache.Put(Verdict("sha256:a", 1, now));
  cache.Put(Verdict("sha256:b", 1, now));
  ASSERT_NE(cache.Get("sha256:a", 1, now), nullptr);  // a is now the most recent
  cache.Put(Verdict("sha256:c", 1, now));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.Get("sha256:a", 1, now), nullptr);
  EXPECT_EQ(cache.Get("sha256:b", 1, now), nullptr);
  EXPECT_NE(cache.Get("sha256:c", 1, now), nullptr);
}

TEST(VerdictCache, ExpiresAndFollowsTheDatabase) {
  VerdictCache cache(10, seconds(600));
  const auto now = Clock::now();
  cache.Put(Verdict("sha256:a", 1, now));
  cache.Put(Verdict("sha256:failed", 1, now, /*scanned=*/false));
  EXPECT_NE(cache.Get("sha256:a", 1, now + seconds(599)), nullptr);
  // A failed scan is retried after a minute whatever the TTL.
  EXPECT_NE(cache.Get("sha256:failed", 1, now + seconds(59)), nullptr);
  EXPECT_EQ(cache.Get("sha256:failed", 1, now + seconds(61)), nullptr);
  // Another database: the verdict is gone (and stays gone).
  EXPECT_EQ(cache.Get("sha256:a", 2, now), nullptr);
  EXPECT_EQ(cache.Get("sha256:a", 1, now), nullptr);
  cache.Put(Verdict("sha256:b", 1, now));
  EXPECT_EQ(cache.Get("sha256:b", 1, now + seconds(601)), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

ImageVerdict Scanned(std::vector<ImageFinding> findings) {
  ImageVerdict v;
  v.digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  v.scanned = true;
  for (ImageFinding& f : findings) f.rank = SeverityRank(f.severity);
  v.findings = std::move(findings);
  return v;
}

TEST(JudgeVerdict, SeverityKevAndFixes) {
  const ImageVerdict verdict = Scanned({
      {"CVE-2024-0001", "high", 0, "openssl", "3.0.11", "3.0.13", false},
      {"CVE-2024-0002", "medium", 0, "zlib", "1.2.13", "", false},
      {"CVE-2023-0003", "low", 0, "curl", "7.88", "", true},
  });
  ImageGateSettings settings;  // high, kev
  auto message = JudgeVerdict(verdict, "app:1", settings);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(*message,
            "image \"app:1\" (sha256:0123456789ab) has 1 vulnerability at or above high: "
            "CVE-2024-0001 (high, openssl 3.0.11, fixed in 3.0.13); 1 in CISA KEV: "
            "CVE-2023-0003 (low, curl 7.88, no fix)");
  settings.severity = "critical";
  message = JudgeVerdict(verdict, "app:1", settings);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->find("at or above"), std::string::npos);  // KEV alone
  settings.kev = false;
  EXPECT_FALSE(JudgeVerdict(verdict, "app:1", settings).has_value());
  settings.severity = "medium";
  settings.ignore_unfixed = true;
  message = JudgeVerdict(verdict, "app:1", settings);
  ASSERT_TRUE(message.has_value());
  EXPECT_NE(message->find("1 vulnerability at or above medium with a fix: CVE-2024-0001"),
            std::string::npos)
      << *message;
}

TEST(JudgeVerdict, UnscannedAndUnassessed) {
  ImageVerdict failed;
  failed.error = "registry answered HTTP 500";
  ImageGateSettings settings;
  EXPECT_EQ(JudgeVerdict(failed, "app:1", settings).value_or(""),
            "image \"app:1\" was not scanned: registry answered HTTP 500");
  ImageVerdict unassessed = Scanned({});
  unassessed.unassessed = "alpine 3.99 (no vulnerability data)";
  EXPECT_NE(JudgeVerdict(unassessed, "app:1", settings).value_or("").find("not assessed: alpine"),
            std::string::npos);
  settings.require_scan = false;
  EXPECT_FALSE(JudgeVerdict(failed, "app:1", settings).has_value());
  EXPECT_FALSE(JudgeVerdict(unassessed, "app:1", settings).has_value());
}

TEST(JudgeVerdict, ListsAtMostThree) {
  std::vector<ImageFinding> findings;
  for (int i = 0; i < 5; ++i)
    findings.push_back({"CVE-" + std::to_string(i), "critical", 0, "p", "1", "2", false});
  auto message = JudgeVerdict(Scanned(findings), "app:1", ImageGateSettings{});
  ASSERT_TRUE(message.has_value());
  EXPECT_NE(message->find("5 vulnerabilities at or above high"), std::string::npos);
  EXPECT_NE(message->find("CVE-2 (critical, p 1, fixed in 2) and 2 more"), std::string::npos)
      << *message;
}

AdmissionRequest Request(const json& review) {
  auto request = DecodeAdmissionReview(review.dump());
  EXPECT_TRUE(request.ok()) << request.error().message;
  return request.ok() ? std::move(*request) : AdmissionRequest{};
}

json Pod(const std::string& ns, std::vector<std::pair<std::string, std::string>> containers,
         std::string init_image = "") {
  json list = json::array();
  for (const auto& [name, image] : containers) list.push_back({{"name", name}, {"image", image}});
  json spec = {{"containers", list}};
  if (!init_image.empty())
    spec["initContainers"] = json::array({{{"name", "init"}, {"image", init_image}}});
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "p"}, {"namespace", ns}}},
          {"spec", spec}};
}

TEST(CollectImageUses, RulesSelectorsAndExemptions) {
  auto config = ParseAdmissionConfig(R"(
policies:
- checks: [image-vulnerabilities]
  action: warn
  exemptImages: ["registry.k8s.io/pause:*"]
- checks: [image-vulnerabilities]
  action: deny
  namespaces: ["prod-*"]
  exemptContainers: [sidecar]
- checks: [pss-baseline]
  action: deny
)",
                                     "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const auto rules = RulesNaming(*config, kImageVulnerabilitiesPolicy);
  ASSERT_EQ(rules.size(), 2u);
  const json pod = Pod(
      "prod-eu", {{"app", "app:1"}, {"sidecar", "proxy:2"}, {"pause", "registry.k8s.io/pause:3.9"}},
      "init:1");
  AdmissionRequest request = Request(testing::CreateReview(pod, "prod-eu"));
  auto uses = CollectImageUses(request, rules, kImageVulnerabilitiesPolicy);
  ASSERT_EQ(uses.size(), 4u);
  EXPECT_EQ(uses[0].image, "app:1");
  EXPECT_EQ(uses[0].path, "spec.containers[0].image");
  EXPECT_EQ(uses[0].action, Action::kDeny);
  EXPECT_EQ(uses[1].image, "proxy:2");  // exempt from the deny rule only
  EXPECT_EQ(uses[1].action, Action::kWarn);
  EXPECT_EQ(uses[2].image, "registry.k8s.io/pause:3.9");  // exempt from the warn rule only
  EXPECT_EQ(uses[2].action, Action::kDeny);
  EXPECT_EQ(uses[3].path, "spec.initContainers[0].image");
  // Outside prod-*: only the warn rule.
  request = Request(testing::CreateReview(Pod("dev", {{"app", "app:1"}}), "dev"));
  uses = CollectImageUses(request, rules, kImageVulnerabilitiesPolicy);
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].action, Action::kWarn);
  // image-signature is not named by these rules.
  EXPECT_TRUE(CollectImageUses(request, rules, kImageSignaturePolicy).empty());
}

TEST(CollectImageUses, AnUpdateJudgesOnlyNewImages) {
  auto config = ParseAdmissionConfig(
      "policies:\n- checks: [image-vulnerabilities]\n  action: deny\n", "c.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  json review = testing::CreateReview(Pod("shop", {{"a", "app:2"}, {"b", "db:1"}}), "shop");
  review["request"]["operation"] = "UPDATE";
  review["request"]["oldObject"] = Pod("shop", {{"a", "app:1"}, {"b", "db:1"}});
  AdmissionRequest request = Request(review);
  auto uses = CollectImageUses(request, config->rules, kImageVulnerabilitiesPolicy);
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].image, "app:2");
}

TEST(CoversPodRequest, KindsOperationsAndNamespaces) {
  AdmissionRequest request = Request(testing::CreateReview(Pod("shop", {{"a", "app:1"}}), "shop"));
  EXPECT_TRUE(CoversPodRequest(request, {"kube-system"}));
  EXPECT_FALSE(CoversPodRequest(request, {"shop"}));
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "c"}, {"namespace", "shop"}}}};
  EXPECT_FALSE(CoversPodRequest(Request(testing::CreateReview(cm, "shop")), {}));
  json review = testing::CreateReview(Pod("shop", {{"a", "app:1"}}), "shop");
  review["request"]["subResource"] = "status";
  EXPECT_FALSE(CoversPodRequest(Request(review), {}));
}

}  // namespace
}  // namespace moat::admission
