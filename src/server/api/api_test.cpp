// The REST API over a real HTTP server, on both stores: the authorization matrix of every route,
// bad input on every write route, alerts, agents, findings exports and recommendations.

#include "server/api/api.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>

#include "artifact/source_util.h"
#include "core/http.h"
#include "core/test_http_server.h"
#include "core/text_format.h"
#include "http/server.h"
#include "schema_validation.h"
#include "server/api/export.h"
#include "server/api/web_assets.h"
#include "server/center.h"
#include "server/monitor/image_scan.h"
#include "server/monitor/scheduler.h"
#include "server/notify/dispatcher.h"
#include "server/store/secret_box.h"
#include "server/store/test_postgres.h"

namespace moat::server {
namespace {

using nlohmann::json;

class ApiTest : public testing::StoreUrlTest {
 protected:
  void SetUp() override {
    StoreUrlTest::SetUp();
    CenterOptions options;
    options.store_url = url();
    options.secret_key = NewSecretKey();
    // New alerts of priority Warning or above go to a real loopback webhook receiver.
    receiver_ = std::make_unique<moat::testing::TestHttpServer>(
        [this](const moat::testing::TestHttpRequest& request) {
          std::lock_guard lock(received_mutex_);
          received_.push_back(request.body);
          return moat::testing::TestHttpResponse{200, {}, "ok"};
        });
    notify::NotifierConfig webhook;
    webhook.kind = "webhook";
    webhook.url = "http://127.0.0.1:" + std::to_string(receiver_->port()) + "/hook";
    webhook.min_priority = AlertPriority::kWarning;
    options.notifications.push_back(webhook);
    auto center = Center::Open(options);
    ASSERT_TRUE(center.ok()) << center.error().message;
    center_ = std::move(*center);
    ApiOptions api_options;
    api_options.rate_per_second = 10000;
    api_options.burst = 10000;
    api_ = std::make_unique<Api>(*center_, api_options);
    http::ServerOptions http_options;
    http_options.listen = "127.0.0.1:0";
    Api* api = api_.get();
    auto server =
        http::Server::Start(http_options, [api](http::Request& r) { return api->Handle(r); });
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    for (Role role : {Role::kAdmin, Role::kAnalyst, Role::kAgent, Role::kReader}) {
      auto token = center_->store().CreateToken(std::string(RoleName(role)), role, "test");
      ASSERT_TRUE(token.ok());
      tokens_[role] = *token;
    }
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    api_.reset();
    center_.reset();
    receiver_.reset();
  }

  HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                    const std::string& body = "",
                    const std::string& content_type = "application/json") {
    HttpRequest request;
    request.method = method;
    request.url = server_->url() + path;
    if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty() || method == "POST") {
      request.headers.emplace_back("Content-Type", content_type);
      request.body = body;
    }
    auto response = HttpFetch(request);
    EXPECT_TRUE(response.ok()) << (response.ok() ? "" : response.error().message);
    return response.ok() ? *response : HttpResponse{};
  }
  HttpResponse As(Role role, const std::string& method, const std::string& path,
                  const std::string& body = "") {
    return Call(method, path, tokens_[role], body);
  }

  std::string Alert(const std::string& rule, const std::string& time,
                    const std::string& container) {
    return json{
        {"time", time},
        {"rule", rule},
        {"priority", "Critical"},
        {"output", "A shell was spawned in " + container},
        {"source", "syscall"},
        {"tags", {"K8S.NODE_ReverseShell"}},
        {"mitre",
         {{{"tactic", "Execution"}, {"technique_id", "T1059.004"}, {"technique", "Unix Shell"}}}},
        {"container", {{"id", container}, {"name", "web"}}}}
        .dump();
  }

  std::unique_ptr<moat::testing::TestHttpServer> receiver_;
  std::mutex received_mutex_;
  std::vector<std::string> received_;
  std::unique_ptr<Center> center_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<http::Server> server_;
  std::map<Role, std::string> tokens_;
};

bool Allowed(Role role, Access access) {
  switch (access) {
    case Access::kPublic:
      return true;
    case Access::kRead:
      return role != Role::kAgent;
    case Access::kTriage:
      return role == Role::kAdmin || role == Role::kAnalyst;
    case Access::kIngest:
      return role == Role::kAdmin || role == Role::kAgent;
    case Access::kAdmin:
      return role == Role::kAdmin;
    case Access::kPolicies:
      return true;  // every role: the readers and the agents
  }
  return false;
}

TEST_P(ApiTest, EveryRouteEnforcesItsRoles) {
  ASSERT_GE(api_->routes().size(), 25u);
  for (const auto& route : api_->routes()) {
    const std::string path =
        std::regex_replace(route.pattern, std::regex("\\{[a-z_.]+\\}"), "999999");
    SCOPED_TRACE(route.method + " " + path);
    auto anonymous = Call(route.method, path, "");
    auto forged = Call(route.method, path, "moat_forged");
    if (route.access == Access::kPublic) {
      // A public POST (sign-in) needs a body: an empty one is the client's error, never a 401.
      if (route.method == "POST") {
        EXPECT_EQ(anonymous.status, 400) << anonymous.body;
      } else {
        EXPECT_EQ(anonymous.status, 200);
      }
      continue;
    }
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(forged.status, 401);
    for (Role role : {Role::kAdmin, Role::kAnalyst, Role::kAgent, Role::kReader}) {
      SCOPED_TRACE(std::string(RoleName(role)));
      auto response = As(role, route.method, path, route.method == "POST" ? "{}" : "");
      if (Allowed(role, route.access)) {
        EXPECT_NE(response.status, 401);
        EXPECT_NE(response.status, 403);
        EXPECT_LT(response.status, 500) << response.body;
      } else {
        EXPECT_EQ(response.status, 403) << response.body;
      }
    }
  }
}

TEST_P(ApiTest, OpenApiDocumentDescribesExactlyTheRoutes) {
  auto response = As(Role::kReader, "GET", "/api/v1/openapi.json");
  ASSERT_EQ(response.status, 200);
  json doc = json::parse(response.body);
  EXPECT_EQ(doc["openapi"], "3.1.0");
  std::set<std::pair<std::string, std::string>> documented, served;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters") continue;
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.emplace(upper, path);
      EXPECT_TRUE(operation.contains("responses")) << method << " " << path;
    }
  }
  for (const auto& route : api_->routes()) served.emplace(route.method, route.pattern);
  EXPECT_EQ(documented, served);
}

TEST_P(ApiTest, BadInputGetsA4xxAndStoresNothing) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"/api/v1/alerts", "not json"},
      {"/api/v1/alerts", "[{\"rule\": \"x\"}]"},  // no time/priority/output
      {"/api/v1/alerts", "[" + Alert("r", "2026-12-02T00:00:00Z", "c") + ", 5]"},
      {"/api/v1/registries", "{\"name\": \"x\"}"},
      {"/api/v1/registries", "{\"name\": \"x\", \"url\": \"http://10.0.0.1:5000\"}"},
      {"/api/v1/registries", "{\"name\": \"x\", \"url\": \"ftp://r\"}"},
      {"/api/v1/registry-events", "{\"events\": [{\"action\": \"push\"}]}"},
      {"/api/v1/registry-events", "{}"},
      {"/api/v1/agents/register", "{\"name\": \"a b\", \"kind\": \"host\"}"},
      {"/api/v1/agents/register", "{\"name\": \"a\", \"kind\": \"toaster\"}"},
      {"/api/v1/rules", "{\"name\": \"r\", \"cvss_below\": \"high\"}"},
      {"/api/v1/rules", "{\"name\": \"r\"}"},  // no criterion
      {"/api/v1/tokens", "{\"name\": \"t\", \"role\": \"root\"}"},
  };
  for (const auto& [path, body] : bad) {
    SCOPED_TRACE(path + " " + body);
    auto response = As(Role::kAdmin, "POST", path, body);
    EXPECT_GE(response.status, 400);
    EXPECT_LT(response.status, 500);
    EXPECT_TRUE(json::parse(response.body, nullptr, false).contains("error")) << response.body;
  }
  auto wrong_type = Call("POST", "/api/v1/registries", tokens_[Role::kAdmin],
                         "{\"name\":\"x\",\"url\":\"https://r\"}", "text/plain");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_TRUE(center_->store().ListAlerts({}, {})->items.empty());
  EXPECT_TRUE(center_->store().ListRegistries()->empty());
  EXPECT_TRUE(center_->store().ListDisableRules()->empty());
  EXPECT_EQ(*center_->store().CountTokens(), 4);
  // Query parameters are checked too.
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/findings?severity=SEVERE").status, 400);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/findings?limit=0").status, 400);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/findings?cursor=zzz").status, 400);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/findings?sort=name").status, 400);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/alerts/abc").status, 400);
}

TEST_P(ApiTest, AlertsAreIngestedDeduplicatedAndTriaged) {
  const std::string batch = "[" + Alert("Reverse shell", "2026-12-02T01:00:00.000000001Z", "c1") +
                            "," + Alert("Reverse shell", "2026-12-02T01:00:05Z", "c1") + "," +
                            Alert("Reverse shell", "2026-12-02T01:00:06Z", "c2") + "]";
  auto posted = As(Role::kAgent, "POST", "/api/v1/alerts", batch);
  ASSERT_EQ(posted.status, 200) << posted.body;
  EXPECT_EQ(json::parse(posted.body)["accepted"], 3);
  auto listed = As(Role::kReader, "GET", "/api/v1/alerts");
  ASSERT_EQ(listed.status, 200);
  json items = json::parse(listed.body)["items"];
  ASSERT_EQ(items.size(), 2u);
  const json& c1 = items[1]["alert"]["container"]["id"] == "c1" ? items[1] : items[0];
  EXPECT_EQ(c1["count"], 2);
  EXPECT_EQ(c1["alert"]["mitre"][0]["technique_id"], "T1059.004");
  EXPECT_EQ(c1["first_time"], "2026-12-02T01:00:00.000000001Z");
  const std::string id = std::to_string(c1["id"].get<int64_t>());
  EXPECT_EQ(As(Role::kReader, "POST", "/api/v1/alerts/" + id + "/status",
               "{\"status\":\"dismissed\",\"reason\":\"pentest\"}")
                .status,
            403);
  EXPECT_EQ(
      As(Role::kAnalyst, "POST", "/api/v1/alerts/" + id + "/status", "{\"status\":\"dismissed\"}")
          .status,
      400);  // a reason is required
  auto dismissed = As(Role::kAnalyst, "POST", "/api/v1/alerts/" + id + "/status",
                      "{\"status\":\"dismissed\",\"reason\":\"pentest\"}");
  ASSERT_EQ(dismissed.status, 200) << dismissed.body;
  EXPECT_EQ(json::parse(dismissed.body)["status_by"], "analyst");
  auto active = As(Role::kReader, "GET", "/api/v1/alerts?status=active");
  EXPECT_EQ(json::parse(active.body)["items"].size(), 1u);
  // Triage is audited.
  auto audit = As(Role::kAdmin, "GET", "/api/v1/audit");
  EXPECT_NE(audit.body.find("alert.status"), std::string::npos);
}

TEST_P(ApiTest, NewAlertsAreNotifiedOnceAfterCommit) {
  json info = json::parse(Alert("Info only", "2026-12-02T01:00:00Z", "c9"));
  info["priority"] = "Informational";
  const std::string batch = "[" + Alert("Reverse shell", "2026-12-02T01:00:00Z", "c1") + "," +
                            Alert("Reverse shell", "2026-12-02T01:00:01Z", "c1") + "," +
                            info.dump() + "]";
  auto posted = As(Role::kAgent, "POST", "/api/v1/alerts", batch);
  ASSERT_EQ(posted.status, 200) << posted.body;
  EXPECT_EQ(json::parse(posted.body)["new"], 2);  // the duplicate is counted, not new
  center_->notifications()->Drain();
  std::lock_guard lock(received_mutex_);
  ASSERT_EQ(received_.size(), 1u);  // the Informational alert is below the target's minimum
  json sent = json::parse(received_[0]);
  EXPECT_EQ(sent["rule"], "Reverse shell");
  EXPECT_EQ(sent["container"]["id"], "c1");
  // A refused batch notifies nothing.
  received_.clear();
  EXPECT_EQ(
      As(Role::kAgent, "POST", "/api/v1/alerts", "[" + Alert("x", "bad time", "c2") + "]").status,
      400);
  center_->notifications()->Drain();
  EXPECT_TRUE(received_.empty());
}

TEST_P(ApiTest, AgentProtocolAcknowledgesAfterCommitAndRefusesGaps) {
  auto registered = As(Role::kAgent, "POST", "/api/v1/agents/register",
                       R"({"name":"docker-1","kind":"host","version":"0.1.0"})");
  ASSERT_EQ(registered.status, 200) << registered.body;
  EXPECT_EQ(json::parse(registered.body)["acked_through"], 0);
  const std::string report = R"({"messages":[
    {"seq":1,"type":"heartbeat","body":{}},
    {"seq":2,"type":"host_report","body":{
      "host":{"name":"docker-1","os":"Debian 12","docker_version":"20.10"},
      "containers":[{"id":"c1","name":"web","image":"r/web:1","image_digest":"sha256:d1","state":"running"}],
      "cis":{"controls":[{"id":"5","text":"Container Runtime","groups":[{"id":"5","checks":[
        {"id":"5.4","title":"Ensure that privileged containers are not used","result":"FAIL","level":1,"evidence":["web"]},
        {"id":"5.10","title":"Ensure that the memory usage for containers is limited","result":"PASS","level":1}]}]}]}}}]})";
  auto sent = As(Role::kAgent, "POST", "/api/v1/agents/docker-1/messages", report);
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(json::parse(sent.body)["acked_through"], 2);
  auto again = As(Role::kAgent, "POST", "/api/v1/agents/docker-1/messages", report);
  EXPECT_EQ(json::parse(again.body)["acked_through"], 2);
  auto gap = As(Role::kAgent, "POST", "/api/v1/agents/docker-1/messages",
                R"({"messages":[{"seq":9,"type":"heartbeat","body":{}}]})");
  EXPECT_EQ(gap.status, 409);
  EXPECT_EQ(json::parse(gap.body)["acked_through"], 2);
  auto host = As(Role::kReader, "GET", "/api/v1/hosts/docker-1");
  ASSERT_EQ(host.status, 200) << host.body;
  json h = json::parse(host.body);
  EXPECT_EQ(h["cis"]["failed"], 1);
  EXPECT_EQ(h["cis"]["passed"], 1);
  EXPECT_EQ(h["containers"][0]["image_digest"], "sha256:d1");
  auto findings = As(Role::kReader, "GET", "/api/v1/findings?resource_kind=host");
  json items = json::parse(findings.body)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["finding_id"], "5.4");
  // The host is unhealthy for exactly that control.
  auto recommendations = As(Role::kReader, "GET", "/api/v1/recommendations");
  ASSERT_EQ(recommendations.status, 200) << recommendations.body;
  bool host_recommendation = false;
  const json recommendation_list = json::parse(recommendations.body);
  for (const auto& r : recommendation_list["items"]) {
    if (r["resource_kind"] != "host") continue;
    host_recommendation = true;
    auto detail = As(Role::kReader, "GET", "/api/v1/recommendations/" + r["id"].get<std::string>());
    ASSERT_EQ(detail.status, 200) << detail.body;
    json unhealthy = json::parse(detail.body)["unhealthy"];
    ASSERT_EQ(unhealthy.size(), 1u);
    EXPECT_EQ(unhealthy[0]["id"], "docker-1");
    for (const auto& f : unhealthy[0]["findings"]) EXPECT_EQ(f["finding_id"], "5.4");
  }
  EXPECT_TRUE(host_recommendation) << recommendations.body;
  // A malformed batch stores nothing.
  auto bad = As(
      Role::kAgent, "POST", "/api/v1/agents/docker-1/messages",
      R"({"messages":[{"seq":3,"type":"heartbeat","body":{}},{"seq":4,"type":"alerts","body":{"alerts":[{"rule":1}]}}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ((*center_->store().GetAgent("docker-1"))->acked_through, 2);
  EXPECT_EQ(As(Role::kAgent, "POST", "/api/v1/agents/docker-1/messages",
               R"({"messages":[{"seq":3,"through":5,"type":"heartbeat","body":{}}]})")
                .status,
            400);  // only a dropped message covers a range
  // Messages the agent lost (its spool overflowed): acknowledged through the range and recorded.
  auto dropped = As(
      Role::kAgent, "POST", "/api/v1/agents/docker-1/messages",
      R"({"messages":[{"seq":3,"through":7,"type":"dropped","body":{"heartbeats":4,"messages":1,"reason":"spool over its cap"}},
                                    {"seq":8,"type":"heartbeat","body":{}}]})");
  ASSERT_EQ(dropped.status, 200) << dropped.body;
  EXPECT_EQ(json::parse(dropped.body)["acked_through"], 8);
  EXPECT_NE(As(Role::kAdmin, "GET", "/api/v1/audit").body.find("3..7 lost by the agent"),
            std::string::npos);
}

TEST_P(ApiTest, ClusterReportsAreValidatedWholeAndListed) {
  auto registered = As(Role::kAgent, "POST", "/api/v1/agents/register",
                       R"({"name":"prod","kind":"cluster","version":"0.1.0"})");
  ASSERT_EQ(registered.status, 200) << registered.body;
  const std::string digest = "sha256:" + std::string(64, 'a');
  auto batch = [](const std::string& body) {
    return R"({"messages":[{"seq":1,"type":"cluster_report","body":)" + body + "}]}";
  };
  const std::string cart =
      R"({"kind":"Deployment","namespace":"shop","name":"cart","containers":[{"name":"cart","image":"r/cart:1","image_digest":")" +
      digest + R"("}]})";
  const std::string privileged =
      R"({"check":"wl-privileged","severity":"HIGH","kind":"Deployment","namespace":"shop","name":"cart","path":"spec.template.spec.containers[0].securityContext.privileged","message":"privileged"})";
  // Each bad report is refused whole with the message index and the field; nothing is stored.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"workloads":[]})", "messages[0].body.cluster: expected an object"},
      {R"({"cluster":{"name":"prod cluster"}})", "messages[0].body.cluster.name"},
      {R"({"cluster":{"name":"prod"},"namespaces":["Shop"]})", "messages[0].body.namespaces[0]"},
      {R"({"cluster":{"name":"prod"},"workloads":[{"kind":"Deploy-ment","namespace":"shop","name":"x"}]})",
       "messages[0].body.workloads[0].kind"},
      {R"({"cluster":{"name":"prod"},"workloads":[{"kind":"Pod","namespace":"shop","name":"a/b"}]})",
       "messages[0].body.workloads[0].name"},
      {R"({"cluster":{"name":"prod"},"workloads":[{"kind":"Pod","namespace":"shop","name":"p","containers":[{"name":"c","image_digest":"sha256:zz"}]}]})",
       "messages[0].body.workloads[0].containers[0].image_digest"},
      {R"({"cluster":{"name":"prod"},"workloads":[)" + cart + "," + cart + "]}",
       "messages[0].body.workloads[1]"},
      {R"({"cluster":{"name":"prod"},"workloads":[)" + cart +
           R"(],"findings":[{"check":"wl-privileged","severity":"SEVERE","kind":"Deployment","namespace":"shop","name":"cart"}]})",
       "messages[0].body.findings[0].severity"},
      {R"({"cluster":{"name":"prod"},"workloads":[)" + cart +
           R"(],"findings":[{"check":"wl-privileged","severity":"HIGH","kind":"Deployment","namespace":"shop","name":"orders"}]})",
       "messages[0].body.findings[0]: Deployment shop/orders is not among"},
      {R"({"cluster":{"name":"prod"},"workloads":{}})",
       "messages[0].body.workloads: expected an array"},
      // The admission audit's results: each field checked, the action one of the three.
      {R"({"cluster":{"name":"prod"},"admission_audit":[]})",
       "messages[0].body.admission_audit: expected an object"},
      {R"({"cluster":{"name":"prod"},"admission_audit":{"objects":3}})",
       "messages[0].body.admission_audit.results: expected an array"},
      {R"({"cluster":{"name":"prod"},"admission_audit":{"objects":-1,"results":[]}})",
       "messages[0].body.admission_audit.objects: expected a count"},
      {R"({"cluster":{"name":"prod"},"admission_audit":{"results":[{"kind":"Pod","namespace":"shop","name":"p","policy":"pss-baseline-privileged","action":"block"}]}})",
       "messages[0].body.admission_audit.results[0].action: expected deny, warn or audit"},
      {R"({"cluster":{"name":"prod"},"admission_audit":{"results":[{"kind":"Pod","namespace":"shop","name":"p","action":"deny"}]}})",
       "messages[0].body.admission_audit.results[0].policy: required"},
      {R"({"cluster":{"name":"prod"},"admission_audit":{"results":[{"kind":"Pod","namespace":"Shop","name":"p","policy":"x","action":"deny"}]}})",
       "messages[0].body.admission_audit.results[0].namespace"},
      {R"({"cluster":{"name":"prod"},"admission_audit":{"results":[{"kind":"Pod","namespace":"shop","name":"a/b","policy":"x","action":"warn"}]}})",
       "messages[0].body.admission_audit.results[0].name"},
      {R"({"cluster":{"name":"prod"},"admission_audit":{"results":[{"kind":"Pod","namespace":"shop","name":"p","policy":"x","action":"audit","message":7}]}})",
       "messages[0].body.admission_audit.results[0].message: expected a string"},
      {R"({"cluster":{"name":"prod"},"admission_audit":{"results":[{"kind":"Pod","namespace":"shop","name":"p","policy":"x","action":"audit","message":")" +
           std::string(5000, 'm') + R"("}]}})",
       "messages[0].body.admission_audit.results[0].message: over 4096 bytes"},
  };
  for (const auto& [body, expected] : bad) {
    SCOPED_TRACE(body);
    auto response = As(Role::kAgent, "POST", "/api/v1/agents/prod/messages", batch(body));
    EXPECT_EQ(response.status, 400);
    const std::string error = json::parse(response.body, nullptr, false).value("error", "");
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
  EXPECT_EQ((*center_->store().GetAgent("prod"))->acked_through, 0);
  EXPECT_TRUE(center_->store().ListClusters()->empty());
  EXPECT_TRUE(json::parse(As(Role::kReader, "GET", "/api/v1/clusters").body)["items"].empty());

  // A good report: the cluster, its namespaces and workloads; two occurrences of one check on
  // one workload are one finding whose evidence lists both.
  const std::string second_occurrence =
      R"({"check":"wl-privileged","severity":"HIGH","kind":"Deployment","namespace":"shop","name":"cart","path":"spec.template.spec.initContainers[0].securityContext.privileged","message":"privileged"})";
  auto sent = As(
      Role::kAgent, "POST", "/api/v1/agents/prod/messages",
      batch(
          R"({"cluster":{"name":"prod","uid":"a3b7","context":"admin"},"namespaces":["shop"],"workloads":[)" +
          cart + R"(,{"kind":"Role","namespace":"shop","name":"reader"}],"findings":[)" +
          privileged + "," + second_occurrence + "]}"));
  ASSERT_EQ(sent.status, 200) << sent.body;
  json clusters = json::parse(As(Role::kReader, "GET", "/api/v1/clusters").body)["items"];
  ASSERT_EQ(clusters.size(), 1u);
  EXPECT_EQ(clusters[0]["id"], "prod");
  EXPECT_EQ(clusters[0]["workloads"], 2);
  EXPECT_EQ(clusters[0]["findings"]["high"], 1);
  auto cluster = As(Role::kReader, "GET", "/api/v1/clusters/prod");
  ASSERT_EQ(cluster.status, 200) << cluster.body;
  EXPECT_EQ(json::parse(cluster.body)["namespaces"][0]["name"], "shop");
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/clusters/nope").status, 404);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/clusters/nope/workloads").status, 404);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/clusters/prod/workloads?limit=0").status, 400);
  json roles =
      json::parse(As(Role::kReader, "GET", "/api/v1/clusters/prod/workloads?kind=Role").body);
  ASSERT_EQ(roles["items"].size(), 1u);
  EXPECT_EQ(roles["items"][0]["id"], "prod/shop/Role/reader");
  json findings = json::parse(
      As(Role::kReader, "GET", "/api/v1/findings?resource_kind=workload").body)["items"];
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0]["resource_id"], "prod/shop/Deployment/cart");
  EXPECT_NE(findings[0]["evidence"].get<std::string>().find("initContainers[0]"),
            std::string::npos);
  // Only the unhealthy workload is listed, and the healthy Role counts in the score's total.
  auto recommendation =
      As(Role::kReader, "GET", "/api/v1/recommendations/workload-privileged-containers");
  ASSERT_EQ(recommendation.status, 200) << recommendation.body;
  json unhealthy = json::parse(recommendation.body)["unhealthy"];
  ASSERT_EQ(unhealthy.size(), 1u);
  EXPECT_EQ(unhealthy[0]["id"], "prod/shop/Deployment/cart");
  EXPECT_EQ(json::parse(recommendation.body)["assessed_count"], 2);
}

// One recommendation's unhealthy resources come a page at a time, each with its findings.
TEST_P(ApiTest, ARecommendationsUnhealthyResourcesComeInPages) {
  RegistryRecord registry;
  registry.name = "local";
  registry.url = "http://127.0.0.1:5000";
  auto added = center_->store().AddRegistry(registry);
  ASSERT_TRUE(added.ok());
  for (const char* digest : {"sha256:p1", "sha256:p2", "sha256:p3"}) {
    ASSERT_TRUE(center_->store().RecordPush(added->id, "app", digest, "", 5).ok());
    FindingRecord high;
    high.finding_id = "CVE-2024-7";
    high.severity = "HIGH";
    FindingRecord low = high;
    low.finding_id = "CVE-2024-8";
    low.severity = "LOW";
    ASSERT_TRUE(center_->store().SaveImageScan(digest, "", "", "{}", {}, {low, high}, 10).ok());
  }
  const std::string path = "/api/v1/recommendations/registry-images-vulnerabilities";
  std::vector<std::string> seen;
  std::string cursor;
  for (int pages = 0; pages < 5; ++pages) {
    auto response =
        As(Role::kReader, "GET", path + "?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(response.status, 200) << response.body;
    json j = json::parse(response.body);
    EXPECT_EQ(j["unhealthy_count"], 3);
    for (const auto& u : j["unhealthy"]) {
      seen.push_back(u["id"]);
      ASSERT_EQ(u["findings"].size(), 2u) << u.dump();
      EXPECT_EQ(u["finding_count"], 2);
      EXPECT_EQ(u["findings"][0]["finding_id"], "CVE-2024-7");  // most severe first
    }
    cursor = j["next_cursor"];
    if (cursor.empty()) break;
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"sha256:p1", "sha256:p2", "sha256:p3"}));
  // findings=N: the N worst findings of each resource, and the count of all of them.
  for (const auto& [shown, worst] : std::vector<std::pair<int, std::vector<std::string>>>{
           {0, {}}, {1, {"CVE-2024-7"}}, {5, {"CVE-2024-7", "CVE-2024-8"}}}) {
    auto response = As(Role::kReader, "GET", path + "?findings=" + std::to_string(shown));
    ASSERT_EQ(response.status, 200) << response.body;
    const json j = json::parse(response.body);
    ASSERT_EQ(j["unhealthy"].size(), 3u);
    for (const auto& u : j["unhealthy"]) {
      std::vector<std::string> ids;
      for (const auto& f : u["findings"]) ids.push_back(f["finding_id"]);
      EXPECT_EQ(ids, worst) << "findings=" << shown;
      EXPECT_EQ(u["finding_count"], 2);
    }
  }
  EXPECT_EQ(As(Role::kReader, "GET", path + "?cursor=x:1").status, 400);
  EXPECT_EQ(As(Role::kReader, "GET", path + "?limit=0").status, 400);
  EXPECT_EQ(As(Role::kReader, "GET", path + "?findings=-1").status, 400);
  EXPECT_EQ(As(Role::kReader, "GET", path + "?findings=five").status, 400);
}

// The few worst findings come from the kept posture, more from the store: both must agree with
// the full list, which is read from the store.
TEST_P(ApiTest, ARecommendationsWorstFindingsAgreeWithTheFullList) {
  RegistryRecord registry;
  registry.name = "local";
  registry.url = "http://127.0.0.1:5000";
  auto added = center_->store().AddRegistry(registry);
  ASSERT_TRUE(added.ok());
  const char* severities[] = {"LOW", "HIGH", "MEDIUM", "CRITICAL", "UNKNOWN"};
  std::vector<FindingRecord> findings;
  for (int i = 0; i < 25; ++i) {  // more than assess::kWorstFindingsKept
    FindingRecord f;
    f.finding_id = "CVE-2024-" + std::to_string(100 + i);
    f.severity = severities[i % 5];
    f.cvss = (i * 7) % 10;
    f.kev = i % 6 == 0;
    findings.push_back(f);
  }
  ASSERT_TRUE(center_->store().RecordPush(added->id, "app", "sha256:w1", "", 5).ok());
  ASSERT_TRUE(center_->store().SaveImageScan("sha256:w1", "", "", "{}", {}, findings, 10).ok());
  const std::string path = "/api/v1/recommendations/registry-images-vulnerabilities";
  auto ids_of = [&](const std::string& query, size_t* count) {
    auto response = As(Role::kReader, "GET", path + query);
    EXPECT_EQ(response.status, 200) << response.body;
    const json j = json::parse(response.body);
    std::vector<std::string> ids;
    for (const auto& f : j["unhealthy"][0]["findings"]) ids.push_back(f["finding_id"]);
    *count = j["unhealthy"][0]["finding_count"];
    return ids;
  };
  size_t count = 0;
  const auto all = ids_of("", &count);
  ASSERT_EQ(all.size(), 25u);
  EXPECT_EQ(count, 25u);
  for (size_t shown : {1, 5, 10, 11, 20}) {
    const auto worst = ids_of("?findings=" + std::to_string(shown), &count);
    EXPECT_EQ(worst, std::vector<std::string>(all.begin(), all.begin() + shown))
        << "findings=" << shown;
    EXPECT_EQ(count, 25u) << "findings=" << shown;
  }
}

TEST_P(ApiTest, FindingsExportAsCsvAndValidSarif) {
  FindingRecord f;
  f.finding_id = "CVE-2024-0001";
  f.severity = "HIGH";
  f.cvss = 7.5;
  f.package = "=cmd|' /C calc'!A0";  // a spreadsheet formula must not run
  f.installed_version = "1.0";
  f.fixed_version = "1.1";
  f.patchable = true;
  f.title = "a title, with \"quotes\"";
  ASSERT_TRUE(center_->store().SaveImageScan("sha256:e", "", "", "{}", {}, {f}, 10).ok());
  auto csv = As(Role::kReader, "GET", "/api/v1/findings?format=csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.Header("content-type").rfind("text/csv", 0), 0u);
  EXPECT_NE(csv.body.find("\"a title, with \"\"quotes\"\"\""), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find("'=cmd"), std::string::npos);
  auto sarif = As(Role::kReader, "GET", "/api/v1/findings?format=sarif");
  ASSERT_EQ(sarif.status, 200);
  auto [code, output] = ValidateWithSchema("sarif-2.1.0", sarif.body);
  EXPECT_EQ(code, 0) << output;
}

// Incidents: the alerts of one container close in time are one incident, listed with its rules,
// tactics, worst priority and status; its page has the alerts oldest first; an incident closes
// when none of its alerts is active.
TEST_P(ApiTest, IncidentsGroupTheAlertsOfOneContainer) {
  json miner = json::parse(Alert("Crypto miner", "2026-12-02T10:05:00Z", "c1"));
  miner["priority"] = "Emergency";
  miner["mitre"] = {{{"tactic", "Impact"}, {"technique_id", "T1496"}}};
  auto posted = As(Role::kAgent, "POST", "/api/v1/alerts",
                   "[" + Alert("Reverse shell", "2026-12-02T10:00:00Z", "c1") + "," + miner.dump() +
                       "," + Alert("Reverse shell", "2026-12-02T10:01:00Z", "c2") + "]");
  ASSERT_EQ(posted.status, 200) << posted.body;
  const json ids = json::parse(posted.body)["alert_ids"];
  auto listed = As(Role::kReader, "GET", "/api/v1/incidents");
  ASSERT_EQ(listed.status, 200) << listed.body;
  json items = json::parse(listed.body)["items"];
  ASSERT_EQ(items.size(), 2u) << items.dump();
  // The c1 incident's last occurrence (10:05) is the most recent.
  const json& c1 = items[0];
  EXPECT_EQ(c1["id"], ids[0]);
  EXPECT_EQ(c1["container_id"], "c1");
  EXPECT_EQ(c1["alerts"], 2);
  EXPECT_EQ(c1["priority"], "Emergency");
  EXPECT_EQ(c1["rules"], json({"Reverse shell", "Crypto miner"}));
  EXPECT_EQ(c1["tactics"], json({"execution", "impact"}));
  EXPECT_EQ(c1["status"], "active");
  EXPECT_EQ(c1["first_time"], "2026-12-02T10:00:00.000000000Z");
  EXPECT_EQ(items[1]["container_id"], "c2");
  EXPECT_EQ(items[1]["priority"], "Critical");

  auto detail = As(Role::kReader, "GET", "/api/v1/incidents/" + ids[0].dump());
  ASSERT_EQ(detail.status, 200) << detail.body;
  json d = json::parse(detail.body);
  ASSERT_EQ(d["alert_items"].size(), 2u);
  EXPECT_EQ(d["alert_items"][0]["id"], ids[0]);
  EXPECT_EQ(d["alert_items"][1]["id"], ids[1]);
  EXPECT_FALSE(d["alert_items_truncated"]);

  // Pages of one: the cursor leads to the second and last.
  json first_page = json::parse(As(Role::kReader, "GET", "/api/v1/incidents?limit=1").body);
  ASSERT_EQ(first_page["items"].size(), 1u);
  ASSERT_FALSE(first_page["next_cursor"].get<std::string>().empty());
  json second_page = json::parse(
      As(Role::kReader, "GET",
         "/api/v1/incidents?limit=1&cursor=" + first_page["next_cursor"].get<std::string>())
          .body);
  ASSERT_EQ(second_page["items"].size(), 1u);
  EXPECT_EQ(second_page["items"][0]["container_id"], "c2");
  EXPECT_EQ(second_page["next_cursor"], "");

  // Both c1 alerts dismissed: the incident is closed.
  for (const auto& id : {ids[0], ids[1]}) {
    ASSERT_EQ(As(Role::kAnalyst, "POST", "/api/v1/alerts/" + id.dump() + "/status",
                 R"({"status":"dismissed","reason":"test"})")
                  .status,
              200);
  }
  json active = json::parse(As(Role::kReader, "GET", "/api/v1/incidents?status=active").body);
  ASSERT_EQ(active["items"].size(), 1u);
  EXPECT_EQ(active["items"][0]["container_id"], "c2");
  json closed = json::parse(As(Role::kReader, "GET", "/api/v1/incidents?status=closed").body);
  ASSERT_EQ(closed["items"].size(), 1u);
  EXPECT_EQ(closed["items"][0]["status"], "closed");

  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/incidents?status=open").status, 400);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/incidents?cursor=x:1:2").status, 400);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/incidents/999999").status, 404);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/incidents/abc").status, 400);
}

TEST_P(ApiTest, DisabledFindingsDoNotCount) {
  // Nothing assessed yet: no score (not the formula's 100 %), and it says so.
  auto unassessed = json::parse(As(Role::kReader, "GET", "/api/v1/score").body);
  EXPECT_EQ(unassessed["assessed"], 0);
  EXPECT_TRUE(unassessed["percent"].is_null()) << unassessed.dump();
  EXPECT_TRUE(unassessed["points"].is_null()) << unassessed.dump();
  RegistryRecord registry;
  registry.name = "local";
  registry.url = "http://127.0.0.1:5000";
  auto added = center_->store().AddRegistry(registry);
  ASSERT_TRUE(added.ok());
  ASSERT_TRUE(center_->store().RecordPush(added->id, "web", "sha256:w", "1", 5).ok());
  FindingRecord low;
  low.finding_id = "CVE-2024-9";
  low.severity = "LOW";
  low.cvss = 3.1;
  ASSERT_TRUE(center_->store().SaveImageScan("sha256:w", "", "", "{}", {}, {low}, 10).ok());
  auto before = json::parse(As(Role::kReader, "GET", "/api/v1/recommendations").body);
  ASSERT_FALSE(before["items"].empty());
  auto score_before = json::parse(As(Role::kReader, "GET", "/api/v1/score").body);
  auto rule =
      As(Role::kAdmin, "POST", "/api/v1/rules", R"({"name":"ignore low","severities":["LOW"]})");
  ASSERT_EQ(rule.status, 201) << rule.body;
  auto after = json::parse(As(Role::kReader, "GET", "/api/v1/recommendations").body);
  EXPECT_TRUE(after["items"].empty()) << after.dump();
  auto score_after = json::parse(As(Role::kReader, "GET", "/api/v1/score").body);
  EXPECT_GT(score_after["percent"].get<double>(), score_before["percent"].get<double>());
  EXPECT_EQ(score_after["assessed"], 1);
}

TEST_P(ApiTest, TrendShowsTodaysFlowAndTheSchedulersHourlySnapshot) {
  RegistryRecord registry;
  registry.name = "local";
  registry.url = "http://127.0.0.1:5000";
  auto added = center_->store().AddRegistry(registry);
  ASSERT_TRUE(added.ok());
  const int64_t now = std::time(nullptr);
  ASSERT_TRUE(center_->store().RecordPush(added->id, "web", "sha256:w", "1", now).ok());
  FindingRecord high;
  high.finding_id = "CVE-2024-1";
  high.severity = "HIGH";
  high.cvss = 7.5;
  FindingRecord low = high;
  low.finding_id = "CVE-2024-2";
  low.severity = "LOW";
  low.cvss = 2;
  ASSERT_TRUE(center_->store().SaveImageScan("sha256:w", "", "", "{}", {}, {high, low}, now).ok());

  // Before any snapshot the flow is known and the figures are empty.
  auto before = As(Role::kReader, "GET", "/api/v1/trend?days=2");
  ASSERT_EQ(before.status, 200) << before.body;
  auto days = json::parse(before.body)["days"];
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[1]["day"], FormatUtcDay(now));
  EXPECT_EQ(days[1]["findings_new"], 2);
  EXPECT_EQ(days[0]["findings_new"], 0);
  EXPECT_TRUE(days[1]["figures"].empty());
  // The counted flow is kept only until findings are written again.
  FindingRecord medium = high;
  medium.finding_id = "CVE-2024-3";
  medium.severity = "MEDIUM";
  ASSERT_TRUE(
      center_->store().SaveImageScan("sha256:w", "", "", "{}", {}, {high, low, medium}, now).ok());
  auto again = json::parse(As(Role::kReader, "GET", "/api/v1/trend?days=2").body)["days"];
  EXPECT_EQ(again[1]["findings_new"], 3);
  ASSERT_TRUE(center_->store().SaveImageScan("sha256:w", "", "", "{}", {}, {high, low}, now).ok());

  SchedulerOptions options;
  options.clock = [now] { return now; };
  Scheduler scheduler(*center_, options);
  EXPECT_TRUE(scheduler.RunOnce(now).trend_recorded);
  EXPECT_FALSE(scheduler.RunOnce(now + 60).trend_recorded);  // once an hour
  EXPECT_TRUE(scheduler.RunOnce(now + 3600).trend_recorded);
  auto score = json::parse(As(Role::kReader, "GET", "/api/v1/score").body);
  auto today = json::parse(As(Role::kAnalyst, "GET", "/api/v1/trend?days=1").body)["days"];
  ASSERT_EQ(today.size(), 1u);
  const auto& figures = today[0]["figures"];
  EXPECT_EQ(figures["score.percent"], score["percent"]);
  EXPECT_EQ(figures["findings.open.HIGH"], 1);
  EXPECT_EQ(figures["findings.open.LOW"], 1);
  EXPECT_EQ(figures["findings.open.CRITICAL"], 0);
  EXPECT_GE(figures["resources.unhealthy"].get<double>(), 1);

  // A disable rule lowers the next snapshot's count of the day; the day keeps the last one.
  ASSERT_EQ(
      As(Role::kAdmin, "POST", "/api/v1/rules", R"({"name":"ignore low","severities":["LOW"]})")
          .status,
      201);
  Scheduler restarted(*center_, options);  // a restarted server records at once
  EXPECT_TRUE(restarted.RunOnce(now).trend_recorded);
  auto later = json::parse(As(Role::kReader, "GET", "/api/v1/trend?days=1").body)["days"];
  EXPECT_EQ(later[0]["figures"]["findings.open.LOW"], 0);
  EXPECT_EQ(later[0]["figures"]["findings.open.HIGH"], 1);

  for (const char* bad : {"0", "367", "x", ""}) {
    EXPECT_EQ(As(Role::kReader, "GET", std::string("/api/v1/trend?days=") + bad).status, 400)
        << bad;
  }
}

TEST_P(ApiTest, TokensAreCreatedByAdminsOnlyAndWork) {
  auto created =
      As(Role::kAdmin, "POST", "/api/v1/tokens", R"({"name":"grafana","role":"reader"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string token = json::parse(created.body)["token"];
  EXPECT_EQ(Call("GET", "/api/v1/images", token).status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/alerts", token, "[]").status, 403);
  auto listed = json::parse(As(Role::kAdmin, "GET", "/api/v1/tokens").body);
  EXPECT_EQ(listed["items"].size(), 5u);
  EXPECT_EQ(listed.dump().find(token), std::string::npos);  // never shown again
  auto metrics = As(Role::kReader, "GET", "/metrics");
  EXPECT_NE(metrics.body.find("moat_http_requests_total{route=\"/api/v1/images\",code=\"200\"}"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("\nmoat_jobs_taken_over_total 0\n"), std::string::npos);
}

TEST_P(ApiTest, WhoamiNamesTheTokenAndItsRole) {
  for (Role role : {Role::kAdmin, Role::kAnalyst, Role::kReader}) {
    SCOPED_TRACE(std::string(RoleName(role)));
    auto response = As(role, "GET", "/api/v1/whoami");
    ASSERT_EQ(response.status, 200) << response.body;
    json me = json::parse(response.body);
    EXPECT_EQ(me["name"], RoleName(role));  // SetUp names each token after its role
    EXPECT_EQ(me["role"], RoleName(role));
    EXPECT_TRUE(me["id"].is_number_integer());
  }
  // An agent token cannot use the dashboard: it may not read.
  EXPECT_EQ(As(Role::kAgent, "GET", "/api/v1/whoami").status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/whoami", "").status, 401);
}

TEST_P(ApiTest, TheDashboardIsServedWithoutATokenAndTheApiKeepsItsPaths) {
  auto unknown = Call("GET", "/api/v1/no-such-route", "");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Header("Content-Type"), "application/json");
  EXPECT_EQ(Call("GET", "/healthz", "").body, "ok\n");
  auto page = Call("GET", "/", "");
  if (EmbeddedWebFiles().empty()) {
    EXPECT_EQ(page.status, 404);
    EXPECT_NE(page.body.find("without its dashboard"), std::string::npos);
    return;
  }
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page.Header("Cache-Control"), "no-cache");
  EXPECT_NE(page.body.find("<div id=\"app\">"), std::string::npos);
  // The page's own route, as a browser asks for it after a reload of a shared link.
  HttpRequest reload;
  reload.url = server_->url() + "/images/sha256:0123?severity=HIGH";
  reload.headers.emplace_back("Accept", "text/html,*/*;q=0.8");
  reload.headers.emplace_back("Accept-Encoding", "gzip");
  auto routed = HttpFetch(reload);
  ASSERT_TRUE(routed.ok());
  EXPECT_EQ(routed->status, 200);
  EXPECT_EQ(routed->Header("Content-Encoding"), "gzip");
  // Revalidation: the same ETag gets a 304 without a body.
  HttpRequest again;
  again.url = server_->url() + "/";
  again.headers.emplace_back("If-None-Match", page.Header("ETag"));
  auto revalidated = HttpFetch(again);
  ASSERT_TRUE(revalidated.ok());
  EXPECT_EQ(revalidated->status, 304);
  EXPECT_TRUE(revalidated->body.empty());
}

// The dashboard's views: the summary against what was stored, server-side image filters, SBOM
// export from the stored inventory, where an image runs, similar alerts, the stream's contract and
// a registry connection test against real loopback servers.
TEST_P(ApiTest, DashboardViewsSummariseFilterExportAndTest) {
  Store& store = center_->store();
  RegistryRecord local;
  local.name = "local";
  local.url = "http://127.0.0.1:5000";
  auto registry = store.AddRegistry(local);
  ASSERT_TRUE(registry.ok()) << registry.error().message;
  const std::string web = "sha256:" + std::string(64, 'a');
  const std::string base = "sha256:" + std::string(64, 'b');
  const std::string pending = "sha256:" + std::string(64, 'c');
  for (const auto& [repository, digest] :
       {std::pair{"web", web}, std::pair{"base", base}, std::pair{"pending", pending}}) {
    ASSERT_TRUE(store.RecordPush(registry->id, repository, digest, "1", 100).ok());
  }
  // A real stored inventory (the scan's JSON): two layers, a package in each.
  Inventory inventory;
  inventory.artifact.type = "container_image";
  inventory.artifact.name = "127.0.0.1:5000/web:1";
  inventory.artifact.manifest_digest = web;
  inventory.artifact.layers = {LayerInfo{"sha256:l1", "", "ADD rootfs.tar /", 1000},
                               LayerInfo{"sha256:l2", "", "RUN npm install left-pad", 10}};
  inventory.os = OsInfo{"debian", "Debian GNU/Linux 12", "12", "bookworm"};
  Package zlib;
  zlib.name = "zlib1g";
  zlib.version = "1:1.2.13.dfsg-1";
  zlib.layer_diff_id = "sha256:l1";
  Package pad;
  pad.type = PackageType::kNpm;
  pad.name = "left-pad";
  pad.version = "1.3.0";
  pad.layer_diff_id = "sha256:l2";
  inventory.packages = {zlib, pad};
  ImageScan scan = MatchImage(inventory, nullptr);
  FindingRecord critical;
  critical.finding_id = "CVE-2023-45853";
  critical.severity = "CRITICAL";
  critical.package = "zlib1g";
  critical.installed_version = zlib.version;
  critical.fixed_version = "1:1.2.13.dfsg-2";
  critical.patchable = true;
  critical.kev = true;
  critical.layer = "sha256:l1";
  ASSERT_TRUE(store
                  .SaveImageScan(web, "debian 12", "linux/amd64", scan.inventory_json,
                                 scan.package_keys, {critical}, 200)
                  .ok());
  ASSERT_TRUE(store.SaveImageScan(base, "debian 12", "linux/amd64", "{}", {}, {}, 200).ok());

  auto summary = As(Role::kReader, "GET", "/api/v1/summary");
  ASSERT_EQ(summary.status, 200) << summary.body;
  json sum = json::parse(summary.body);
  EXPECT_EQ(sum["images"]["total"], 3);
  EXPECT_EQ(sum["images"]["vulnerable"], 1);
  EXPECT_EQ(sum["images"]["fixable"], 1);
  EXPECT_EQ(sum["images"]["with_kev"], 1);
  EXPECT_EQ(sum["images"]["by_worst"]["CRITICAL"]["images"], 1);
  EXPECT_EQ(sum["images"]["by_worst"]["CRITICAL"]["fixable"], 1);
  EXPECT_EQ(sum["images"]["by_worst"]["HIGH"]["images"], 0);
  ASSERT_EQ(sum["images"]["top"].size(), 1u);  // only vulnerable images rank
  EXPECT_EQ(sum["images"]["top"][0]["digest"], web);
  EXPECT_EQ(sum["images"]["top"][0]["risk"]["score"], 20.0);  // critical 10, x2 for KEV
  EXPECT_EQ(sum["alerts"]["total"], 0);
  EXPECT_EQ(sum["agents"]["total"], 0);
  EXPECT_TRUE(sum["hosts"].empty());
  EXPECT_GE(sum["recommendations"]["total"], 1);

  // Filters, validated.
  auto kev = json::parse(As(Role::kReader, "GET", "/api/v1/images?kev=true").body);
  ASSERT_EQ(kev["items"].size(), 1u);
  EXPECT_EQ(kev["items"][0]["digest"], web);
  EXPECT_EQ(kev["total"], 1);
  auto named = json::parse(As(Role::kReader, "GET", "/api/v1/images?sort=name&limit=2").body);
  ASSERT_EQ(named["items"].size(), 2u);
  EXPECT_EQ(named["items"][0]["locations"][0]["repository"], "base");
  EXPECT_EQ(named["total"], 3);
  auto rest = json::parse(
      As(Role::kReader, "GET",
         "/api/v1/images?sort=name&limit=2&cursor=" + named["next_cursor"].get<std::string>())
          .body);
  ASSERT_EQ(rest["items"].size(), 1u);
  EXPECT_EQ(rest["items"][0]["digest"], web);
  for (const char* bad : {"severity=SEVERE", "sort=size", "fixable=maybe", "registry_id=x",
                          "sort=name&cursor=x:1:2"}) {
    EXPECT_EQ(As(Role::kReader, "GET", std::string("/api/v1/images?") + bad).status, 400) << bad;
  }

  // SBOMs of the stored inventory.
  auto cdx = As(Role::kReader, "GET", "/api/v1/images/" + web + "/sbom");
  ASSERT_EQ(cdx.status, 200) << cdx.body;
  EXPECT_EQ(cdx.Header("Content-Type"), "application/vnd.cyclonedx+json");
  EXPECT_NE(cdx.Header("Content-Disposition").find(".cdx.json"), std::string::npos);
  json bom = json::parse(cdx.body);
  EXPECT_EQ(bom["bomFormat"], "CycloneDX");
  std::set<std::string> components;
  for (const auto& c : bom["components"]) components.insert(c.value("name", ""));
  EXPECT_TRUE(components.count("zlib1g") && components.count("left-pad")) << cdx.body;
  auto spdx = As(Role::kReader, "GET", "/api/v1/images/" + web + "/sbom?format=spdx");
  ASSERT_EQ(spdx.status, 200) << spdx.body;
  EXPECT_EQ(json::parse(spdx.body)["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/images/" + web + "/sbom?format=xml").status, 400);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/images/" + pending + "/sbom").status, 409);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/images/sha256:none/sbom").status, 404);

  // Where it runs, a host's CIS results, repositories.
  auto usage = As(Role::kReader, "GET", "/api/v1/images/" + web + "/usage");
  ASSERT_EQ(usage.status, 200) << usage.body;
  EXPECT_TRUE(json::parse(usage.body)["containers"].empty());
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/images/sha256:none/usage").status, 404);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/hosts/nobody/cis").status, 404);
  auto repositories = json::parse(As(Role::kReader, "GET", "/api/v1/repositories").body);
  ASSERT_EQ(repositories["items"].size(), 3u);
  EXPECT_EQ(repositories["items"][2]["repository"], "web");
  EXPECT_EQ(repositories["items"][2]["vulnerabilities"]["critical"], 1);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/repositories?registry_id=0").status, 400);

  // Alerts: the summary counts them by tactic; the same rule on the same container an hour
  // apart (two alerts, beyond the dedupe window) are similar.
  auto posted = As(Role::kAgent, "POST", "/api/v1/alerts",
                   "[" + Alert("Reverse shell", "2026-12-02T01:00:00Z", "c1") + "," +
                       Alert("Reverse shell", "2026-12-02T02:00:00Z", "c1") + "," +
                       Alert("Reverse shell", "2026-12-02T02:00:00Z", "c2") + "]");
  ASSERT_EQ(posted.status, 200) << posted.body;
  json ids = json::parse(posted.body)["alert_ids"];
  sum = json::parse(As(Role::kReader, "GET", "/api/v1/summary").body);
  EXPECT_EQ(sum["alerts"]["total"], 3);
  EXPECT_EQ(sum["alerts"]["active"], 3);
  EXPECT_EQ(sum["alerts"]["bucket"], "hour");
  EXPECT_EQ(sum["alerts"]["by_tactic"]["execution"], 3);  // ATT&CK short names
  EXPECT_EQ(sum["alerts"]["buckets"].size(), 2u);         // 01:00 and 02:00
  auto similar = As(Role::kReader, "GET", "/api/v1/alerts/" + ids[1].dump() + "/similar");
  ASSERT_EQ(similar.status, 200) << similar.body;
  json similar_items = json::parse(similar.body)["items"];
  ASSERT_EQ(similar_items.size(), 1u);
  EXPECT_EQ(similar_items[0]["id"], ids[0]);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/alerts/999999/similar").status, 404);
  // The stream is only for clients that ask for one.
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/alerts/stream").status, 406);

  // A registry's connection: Basic credentials answered by a loopback registry API, and a
  // server that is no registry.
  moat::testing::TestHttpServer v2([](const moat::testing::TestHttpRequest& request) {
    if (request.target != "/v2/") return moat::testing::TestHttpResponse{404, {}, "no"};
    if (request.Header("Authorization") != "Basic " + Base64Encode("robot:s3cret")) {
      return moat::testing::TestHttpResponse{
          401, {{"WWW-Authenticate", "Basic realm=\"registry\""}}, "{}"};
    }
    return moat::testing::TestHttpResponse{200, {}, "{}"};
  });
  moat::testing::TestHttpServer not_registry([](const moat::testing::TestHttpRequest&) {
    return moat::testing::TestHttpResponse{404, {}, "not here"};
  });
  auto add = [&](const std::string& name, int port, const std::string& password) {
    RegistryRecord r;
    r.name = name;
    r.url = "http://127.0.0.1:" + std::to_string(port);
    r.username = password.empty() ? "" : "robot";
    r.secret = password;
    auto added = store.AddRegistry(r);
    EXPECT_TRUE(added.ok());
    return added.ok() ? std::to_string(added->id) : std::string("0");
  };
  auto tested = [&](const std::string& id) {
    auto response = As(Role::kAdmin, "POST", "/api/v1/registries/" + id + "/test", "{}");
    EXPECT_EQ(response.status, 200) << response.body;
    return json::parse(response.body);
  };
  json good = tested(add("good", v2.port(), "s3cret"));
  EXPECT_EQ(good["ok"], true) << good.dump();
  EXPECT_EQ(good["status"], 200);
  json wrong = tested(add("wrong", v2.port(), "guess"));
  EXPECT_EQ(wrong["ok"], false);
  EXPECT_EQ(wrong["status"], 401);
  json anonymous = tested(add("anonymous", v2.port(), ""));
  EXPECT_EQ(anonymous["ok"], false);
  EXPECT_NE(anonymous["message"].get<std::string>().find("credentials"), std::string::npos)
      << anonymous.dump();
  json other = tested(add("other", not_registry.port(), ""));
  EXPECT_EQ(other["ok"], false);
  EXPECT_EQ(other["status"], 404);
  EXPECT_EQ(As(Role::kAdmin, "POST", "/api/v1/registries/999999/test", "{}").status, 404);
}

// User accounts: an admin creates them; a name and password sign in for a session token of the
// user's role; a wrong password and an unknown name get the same 401; deleting the user ends its
// sessions.
TEST_P(ApiTest, UsersSignInForASessionOfTheirRole) {
  const std::string password = "correct horse battery";
  auto create = [&](Role as, const std::string& body) {
    return As(as, "POST", "/api/v1/users", body);
  };
  EXPECT_EQ(create(Role::kAnalyst,
                   R"({"name":"carol","role":"reader","password":"correct horse battery"})")
                .status,
            403);
  EXPECT_EQ(create(Role::kAdmin, R"({"name":"carol","role":"reader","password":"short"})").status,
            400);
  EXPECT_EQ(
      create(Role::kAdmin, R"({"name":"carol","role":"agent","password":"correct horse battery"})")
          .status,
      400);
  EXPECT_EQ(
      create(Role::kAdmin, R"({"name":"a b","role":"reader","password":"correct horse battery"})")
          .status,
      400);
  auto created = create(Role::kAdmin,
                        R"({"name":"carol","role":"analyst","password":"correct horse battery"})");
  ASSERT_EQ(created.status, 201) << created.body;
  json user = json::parse(created.body);
  EXPECT_EQ(user["role"], "analyst");
  EXPECT_EQ(user.count("password_hash"), 0u);
  EXPECT_EQ(
      create(Role::kAdmin, R"({"name":"carol","role":"reader","password":"correct horse battery"})")
          .status,
      409);
  auto listed = json::parse(As(Role::kAdmin, "GET", "/api/v1/users").body);
  ASSERT_EQ(listed["items"].size(), 1u);
  EXPECT_EQ(listed["items"][0]["last_sign_in_at"], "");

  auto sign_in = [&](const std::string& name, const std::string& pw) {
    return Call("POST", "/api/v1/sessions", "", json{{"name", name}, {"password", pw}}.dump());
  };
  auto wrong = sign_in("carol", "correct horse batterz");
  auto unknown = sign_in("mallory", password);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  auto session = sign_in("carol", password);
  ASSERT_EQ(session.status, 201) << session.body;
  json s = json::parse(session.body);
  EXPECT_EQ(s["role"], "analyst");
  EXPECT_FALSE(s["expires_at"].get<std::string>().empty());
  const std::string token = s["token"];
  auto me = Call("GET", "/api/v1/whoami", token);
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(json::parse(me.body)["name"], "carol");
  EXPECT_EQ(json::parse(me.body)["role"], "analyst");
  // The session is no API token, and ends with its user.
  const json api_tokens = json::parse(As(Role::kAdmin, "GET", "/api/v1/tokens").body);
  for (const auto& t : api_tokens["items"]) EXPECT_NE(t["name"], "carol");
  EXPECT_NE(
      json::parse(As(Role::kAdmin, "GET", "/api/v1/users").body)["items"][0]["last_sign_in_at"],
      "");

  // Sessions: an admin lists them and revokes one; a user signs out on the server; an API token
  // cannot end itself that way.
  auto second = json::parse(sign_in("carol", password).body)["token"].get<std::string>();
  auto third = json::parse(sign_in("carol", password).body)["token"].get<std::string>();
  EXPECT_EQ(As(Role::kAnalyst, "GET", "/api/v1/sessions").status, 403);
  json sessions = json::parse(As(Role::kAdmin, "GET", "/api/v1/sessions").body)["items"];
  ASSERT_EQ(sessions.size(), 3u) << sessions.dump();
  for (const auto& one : sessions) {
    EXPECT_EQ(one["name"], "carol");
    EXPECT_EQ(one["user_id"], user["id"]);
    EXPECT_FALSE(one["expires_at"].get<std::string>().empty());
  }
  const std::string second_id = sessions[1]["id"].dump();
  EXPECT_EQ(As(Role::kAdmin, "DELETE", "/api/v1/sessions/" + second_id).status, 200);
  EXPECT_EQ(As(Role::kAdmin, "DELETE", "/api/v1/sessions/" + second_id).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/whoami", second).status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/whoami", token).status, 200) << "the other sessions go on";
  EXPECT_EQ(Call("DELETE", "/api/v1/sessions/current", third).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/whoami", third).status, 401);
  EXPECT_EQ(As(Role::kReader, "DELETE", "/api/v1/sessions/current").status, 409);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/whoami").status, 200) << "the API token lives on";
  // An API token's id is no session's.
  const json tokens = json::parse(As(Role::kAdmin, "GET", "/api/v1/tokens").body)["items"];
  ASSERT_FALSE(tokens.empty());
  EXPECT_EQ(As(Role::kAdmin, "DELETE", "/api/v1/sessions/" + tokens[0]["id"].dump()).status, 404);
  EXPECT_EQ(json::parse(As(Role::kAdmin, "GET", "/api/v1/sessions").body)["items"].size(), 1u);

  ASSERT_EQ(As(Role::kAdmin, "DELETE", "/api/v1/users/" + user["id"].dump()).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/whoami", token).status, 401);
  EXPECT_EQ(sign_in("carol", password).status, 401);
}

TEST_P(ApiTest, NotificationTargetsAreManagedOverTheApiAndReloadedWithoutRestart) {
  // A second real receiver for the stored target; it records each request's Authorization.
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> got;  // (Authorization, body)
  moat::testing::TestHttpServer receiver([&](const moat::testing::TestHttpRequest& request) {
    std::lock_guard lock(mutex);
    got.emplace_back(request.Header("Authorization"), request.body);
    return moat::testing::TestHttpResponse{200, {}, "ok"};
  });
  auto received = [&] {
    center_->notifications()->Drain();
    std::lock_guard lock(mutex);
    auto out = got;
    got.clear();
    return out;
  };
  const std::string secret_path = "/hook/T0KEN-in-the-path";
  const std::string url = "http://127.0.0.1:" + std::to_string(receiver.port()) + secret_path;
  const json target = {{"name", "soc"},
                       {"kind", "webhook"},
                       {"url", url},
                       {"min_priority", "error"},
                       {"headers", {{"Authorization", "Bearer s3cret-value"}}}};
  auto added = As(Role::kAdmin, "POST", "/api/v1/notifications", target.dump());
  ASSERT_EQ(added.status, 201) << added.body;
  const json stored = json::parse(added.body);
  const std::string id = stored["id"].dump();
  EXPECT_EQ(stored["min_priority"], "Error");
  EXPECT_EQ(stored["header_names"], json::array({"Authorization"}));
  // Secrets are write-only: neither the header's value nor the URL's path ever comes back.
  auto listed = As(Role::kAdmin, "GET", "/api/v1/notifications");
  ASSERT_EQ(listed.status, 200);
  for (const std::string& body : {added.body, listed.body}) {
    EXPECT_EQ(body.find("s3cret-value"), std::string::npos) << body;
    EXPECT_EQ(body.find("T0KEN"), std::string::npos) << body;
  }
  const json items = json::parse(listed.body)["items"];
  ASSERT_EQ(items.size(), 2u) << items.dump();
  EXPECT_EQ(items[0]["source"], "config");  // the one given as a flag: shown, read-only
  EXPECT_EQ(items[0]["read_only"], true);
  EXPECT_TRUE(items[0]["id"].is_null());
  EXPECT_EQ(items[1]["name"], "soc");
  EXPECT_EQ(items[1]["read_only"], false);

  // The running dispatcher took the new target: an Error alert reaches it with its header, a
  // Warning (below its minimum) does not; the flag's target still gets both.
  json warning = json::parse(Alert("Shell", "2026-12-02T01:00:00Z", "c1"));
  warning["priority"] = "Warning";
  json error = json::parse(Alert("Miner", "2026-12-02T01:00:00Z", "c2"));
  error["priority"] = "Error";
  ASSERT_EQ(
      As(Role::kAgent, "POST", "/api/v1/alerts", "[" + warning.dump() + "," + error.dump() + "]")
          .status,
      200);
  auto sent = received();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, "Bearer s3cret-value");
  EXPECT_EQ(json::parse(sent[0].second)["rule"], "Miner");
  {
    std::lock_guard lock(received_mutex_);
    EXPECT_EQ(received_.size(), 2u);
  }

  // The test alert goes to that target only, at its threshold.
  auto tested = As(Role::kAdmin, "POST", "/api/v1/notifications/" + id + "/test", "{}");
  ASSERT_EQ(tested.status, 200) << tested.body;
  EXPECT_EQ(json::parse(tested.body)["ok"], true) << tested.body;
  sent = received();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(json::parse(sent[0].second)["rule"], "Moat test notification");
  EXPECT_EQ(json::parse(sent[0].second)["priority"], "Error");

  // An edit without url and headers keeps them; the lower minimum applies at once.
  auto edited = As(Role::kAdmin, "PUT", "/api/v1/notifications/" + id,
                   R"({"name":"soc","kind":"webhook","min_priority":"warning"})");
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_EQ(json::parse(edited.body)["header_names"], json::array({"Authorization"}));
  warning["output"] = "another shell";
  warning["container"]["id"] = "c3";
  ASSERT_EQ(As(Role::kAgent, "POST", "/api/v1/alerts", "[" + warning.dump() + "]").status, 200);
  sent = received();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, "Bearer s3cret-value");

  // A target that does not answer: the test says so.
  ASSERT_EQ(As(Role::kAdmin, "PUT", "/api/v1/notifications/" + id,
               R"({"name":"soc","kind":"webhook","url":"http://127.0.0.1:9/closed"})")
                .status,
            200);
  tested = As(Role::kAdmin, "POST", "/api/v1/notifications/" + id + "/test", "{}");
  EXPECT_EQ(json::parse(tested.body)["ok"], false) << tested.body;

  // Bad input: 400 (409 for a taken name) and nothing stored or changed.
  for (const auto& [body, status] : std::vector<std::pair<std::string, int>>{
           {R"({"name":"x","kind":"email","url":"http://127.0.0.1:1/"})", 400},
           {R"({"name":"x","kind":"webhook","url":"ftp://host/"})", 400},
           {R"({"name":"x","kind":"webhook"})", 400},
           {R"({"name":"x","kind":"syslog","url":"udp://127.0.0.1:514","syslog_facility":24})",
            400},
           {R"({"name":"x","kind":"webhook","url":"http://h/","min_priority":"loud"})", 400},
           {R"({"name":"x","kind":"webhook","url":"http://h/","headers":{"X":"a\r\nB: c"}})", 400},
           {R"({"name":"x","kind":"webhook","url":"http://h/","headers":{"a b":"c"}})", 400},
           {R"({"name":"soc","kind":"slack","url":"https://hooks.slack.com/services/T/B/X"})",
            409}}) {
    SCOPED_TRACE(body);
    auto refused = As(Role::kAdmin, "POST", "/api/v1/notifications", body);
    EXPECT_EQ(refused.status, status) << refused.body;
  }
  EXPECT_EQ(center_->store().ListNotificationTargets()->size(), 1u);
  EXPECT_EQ(As(Role::kAdmin, "PUT", "/api/v1/notifications/424242", target.dump()).status, 404);

  // Deleted: the next alert does not reach it; the flag's target goes on.
  ASSERT_EQ(As(Role::kAdmin, "DELETE", "/api/v1/notifications/" + id).status, 200);
  EXPECT_EQ(center_->notifications()->target_count(), 1u);
  error["container"]["id"] = "c4";
  ASSERT_EQ(As(Role::kAgent, "POST", "/api/v1/alerts", "[" + error.dump() + "]").status, 200);
  EXPECT_TRUE(received().empty());
  // Every change was audited.
  std::set<std::string> actions;
  auto audit = center_->store().ListAudit(100);
  ASSERT_TRUE(audit.ok());
  for (const auto& event : *audit) actions.insert(event.action);
  for (const char* action :
       {"notification.add", "notification.update", "notification.test", "notification.delete"}) {
    EXPECT_TRUE(actions.count(action)) << action;
  }
}

TEST_P(ApiTest, StoredNotificationTargetsAreLoadedAtStartAndBySchedulerRounds) {
  // A target stored by another replica (here: straight into the store) reaches this server's
  // dispatcher at the next scheduler round, and a new Center starts with it.
  std::mutex mutex;
  int hits = 0;
  moat::testing::TestHttpServer receiver([&](const moat::testing::TestHttpRequest&) {
    std::lock_guard lock(mutex);
    ++hits;
    return moat::testing::TestHttpResponse{200, {}, "ok"};
  });
  NotificationTargetRecord record;
  record.name = "other-replica";
  record.config.kind = "webhook";
  record.config.url = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/h";
  ASSERT_TRUE(center_->store().AddNotificationTarget(record).ok());
  EXPECT_EQ(center_->notifications()->target_count(), 1u);
  SchedulerOptions options;
  options.clock = [] { return int64_t{std::time(nullptr)}; };
  Scheduler scheduler(*center_, options);
  const SchedulerRound round = scheduler.RunOnce(std::time(nullptr));
  EXPECT_TRUE(round.errors.empty()) << round.errors[0];
  EXPECT_EQ(center_->notifications()->target_count(), 2u);
  ASSERT_EQ(As(Role::kAgent, "POST", "/api/v1/alerts",
               "[" + Alert("r", "2026-12-02T01:00:00Z", "c") + "]")
                .status,
            200);
  center_->notifications()->Drain();
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(hits, 1);
  }
  CenterOptions reopened_options = center_->options();
  reopened_options.notifications.clear();
  auto reopened = Center::Open(reopened_options);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ((*reopened)->notifications()->target_count(), 1u);
  // The stored URL is sealed: the store file holds no trace of it.
  auto rows =
      center_->store().pool().Acquire()->Query("SELECT secret_enc FROM notification_targets");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->rows[0].Text(0).find("127.0.0.1"), std::string::npos);
}

TEST_P(ApiTest, AdmissionPolicyModesAreAPoliciesSectionWithAnETag) {
  auto empty = As(Role::kReader, "GET", "/api/v1/admission/policies");
  ASSERT_EQ(empty.status, 200);
  EXPECT_EQ(json::parse(empty.body), json::parse(R"({"policies":[]})"));
  const std::string etag = empty.Header("ETag");
  ASSERT_FALSE(etag.empty());

  const std::string set = R"({"policies":[
      {"checks":["pss-baseline","image-vulnerabilities"],"action":"Enforce"},
      {"checks":["wl-*"],"action":"off"},
      {"checks":["pss-restricted"],"action":"dryrun"}]})";
  auto replaced = As(Role::kAdmin, "PUT", "/api/v1/admission/policies", set);
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  // One entry per policy, by policy, under the admission's canonical action names.
  const json expected = json::parse(R"({"policies":[
      {"checks":["image-vulnerabilities"],"action":"deny"},
      {"checks":["pss-baseline"],"action":"deny"},
      {"checks":["pss-restricted"],"action":"audit"},
      {"checks":["wl-*"],"action":"disabled"}]})");
  EXPECT_EQ(json::parse(replaced.body), expected);
  auto read = As(Role::kReader, "GET", "/api/v1/admission/policies");
  EXPECT_EQ(json::parse(read.body), expected);

  // If-None-Match: 304 while nothing changed, 200 once something did.
  HttpRequest conditional;
  conditional.url = server_->url() + "/api/v1/admission/policies";
  conditional.headers = {{"Authorization", "Bearer " + tokens_[Role::kReader]},
                         {"If-None-Match", read.Header("ETag")}};
  EXPECT_NE(read.Header("ETag"), etag);
  auto not_modified = HttpFetch(conditional);
  ASSERT_TRUE(not_modified.ok());
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_TRUE(not_modified->body.empty());

  // One policy at a time.
  auto one = As(Role::kAdmin, "PUT", "/api/v1/admission/policies/wl-*", R"({"action":"WARN"})");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body), json::parse(R"({"checks":["wl-*"],"action":"warn"})"));
  EXPECT_EQ(HttpFetch(conditional)->status, 200);
  EXPECT_EQ(As(Role::kAdmin, "DELETE", "/api/v1/admission/policies/pss-restricted").status, 204);
  EXPECT_EQ(As(Role::kAdmin, "DELETE", "/api/v1/admission/policies/pss-restricted").status, 404);
  EXPECT_EQ(
      json::parse(As(Role::kReader, "GET", "/api/v1/admission/policies").body)["policies"].size(),
      3u);

  // Bad input: a 400 naming the entry, and nothing changes.
  const std::string before = As(Role::kReader, "GET", "/api/v1/admission/policies").body;
  for (
      const auto& [body, where] : std::vector<std::pair<std::string, std::string>>{
          {R"({"policies":[{"checks":["no-such-check"],"action":"deny"}]})",
           "policies[0].checks[0]"},
          {R"({"policies":[{"checks":["pss-baseline"],"action":"block"}]})", "policies[0].action"},
          {R"({"policies":[{"checks":[],"action":"deny"}]})", "policies[0].checks"},
          {R"({"policies":[{"checks":["rbac"],"action":"warn"},{"checks":["rbac"],"action":"deny"}]})",
           "policies[1].checks[0]"},
          {R"({"policies":[{"checks":["rbac"],"action":"warn","namespaces":["a"]}]})",
           "policies[0]"},
          {R"({"policy":[]})", "policies"}}) {
    SCOPED_TRACE(body);
    auto refused = As(Role::kAdmin, "PUT", "/api/v1/admission/policies", body);
    EXPECT_EQ(refused.status, 400);
    EXPECT_NE(refused.body.find(where), std::string::npos) << refused.body;
  }
  EXPECT_EQ(
      As(Role::kAdmin, "PUT", "/api/v1/admission/policies/nope-*", R"({"action":"warn"})").status,
      400);
  EXPECT_EQ(As(Role::kReader, "GET", "/api/v1/admission/policies").body, before);
  // Clearing.
  ASSERT_EQ(As(Role::kAdmin, "PUT", "/api/v1/admission/policies", R"({"policies":[]})").status,
            200);
  EXPECT_TRUE(center_->store().ListAdmissionPolicyModes()->empty());

  // The catalog the Settings page offers: the image policies and every built-in check.
  const json checks = json::parse(As(Role::kReader, "GET", "/api/v1/admission/checks").body);
  std::set<std::string> ids;
  for (const auto& c : checks["items"]) ids.insert(c["id"]);
  EXPECT_TRUE(ids.count("image-signature"));
  EXPECT_TRUE(ids.count("pss-baseline-privileged"));
  EXPECT_EQ(ids.size(), checks["items"].size());
}

MOAT_STORE_TEST_SUITE(ApiTest);

}  // namespace
}  // namespace moat::server
