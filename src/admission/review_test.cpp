// AdmissionReview decoding against every captured request (Kubernetes' documentation examples
// and Kubewarden's test requests), read independently with nlohmann; encoding read back the
// same way.

#include "admission/review.h"

#include <gtest/gtest.h>

#include <fstream>

#include "admission/test_util.h"
#include "core/bytes.h"

namespace moat::admission {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::kReviews;

/// The captured requests; Kubewarden's fixtures hold the bare request, which the API server
/// always sends wrapped in an AdmissionReview: wrap those.
std::vector<std::pair<std::string, std::string>> CapturedReviews() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* dir : {"canonical", "kubewarden"}) {
    for (const auto& entry : fs::directory_iterator(kReviews / dir)) {
      const std::string name = entry.path().filename().string();
      if (entry.path().extension() != ".json" || name.rfind("response_", 0) == 0) continue;
      auto text = ReadFileToString(entry.path().string());
      EXPECT_TRUE(text.ok());
      json parsed = json::parse(*text);
      if (!parsed.contains("request")) {
        json review = {{"apiVersion", "admission.k8s.io/v1"},
                       {"kind", "AdmissionReview"},
                       {"request", parsed}};
        out.emplace_back(std::string(dir) + "/" + name, review.dump());
      } else {
        out.emplace_back(std::string(dir) + "/" + name, *text);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(AdmissionReview, DecodesEveryCapturedRequest) {
  const auto reviews = CapturedReviews();
  ASSERT_GE(reviews.size(), 12u);
  std::set<std::string> operations;
  for (const auto& [name, text] : reviews) {
    SCOPED_TRACE(name);
    const json expected = json::parse(text)["request"];
    auto decoded = DecodeAdmissionReview(text);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    const AdmissionRequest& r = *decoded;
    EXPECT_EQ(r.review_api_version, "admission.k8s.io/v1");
    EXPECT_EQ(r.uid, expected["uid"].get<std::string>());
    EXPECT_EQ(r.kind.kind, expected["kind"]["kind"].get<std::string>());
    EXPECT_EQ(r.kind.group, expected["kind"]["group"].get<std::string>());
    EXPECT_EQ(r.resource, expected["resource"]["resource"].get<std::string>());
    EXPECT_EQ(std::string(OperationName(r.operation)), expected["operation"].get<std::string>());
    operations.insert(std::string(OperationName(r.operation)));
    EXPECT_EQ(r.namespace_name, expected.value("namespace", ""));
    EXPECT_EQ(r.name, expected.value("name", ""));
    EXPECT_EQ(r.sub_resource, expected.value("subResource", ""));
    EXPECT_EQ(r.dry_run, expected.value("dryRun", false));
    EXPECT_EQ(r.username, expected["userInfo"].value("username", ""));
    for (const auto& [field, has, object] :
         {std::tuple{"object", r.has_object, &r.object},
          std::tuple{"oldObject", r.has_old_object, &r.old_object}}) {
      const bool present = expected.contains(field) && expected[field].is_object();
      EXPECT_EQ(has, present) << field;
      if (!present) continue;
      const json& o = expected[field];
      EXPECT_EQ(object->kind, o.value("kind", expected["kind"]["kind"].get<std::string>()));
      EXPECT_EQ(object->api_version, o.value("apiVersion", ""));
      const json metadata = o.value("metadata", json::object());
      // The object's name and namespace, else the request's (the API server sets them later).
      std::string name = metadata.value("name", metadata.value("generateName", ""));
      EXPECT_EQ(object->name, name.empty() ? expected.value("name", "") : name);
      std::string ns = metadata.value("namespace", "");
      EXPECT_EQ(object->namespace_name, ns.empty() ? expected.value("namespace", "") : ns);
      // The whole object, value for value, as nlohmann reads it.
      EXPECT_EQ(testing::ToJson(object->root), o);
    }
  }
  EXPECT_EQ(operations, (std::set<std::string>{"CREATE", "UPDATE", "DELETE"}));
}

TEST(AdmissionReview, V1beta1IsAnsweredInV1beta1) {
  auto text = ReadFileToString((kReviews / "canonical" / "request_create_pod.json").string());
  ASSERT_TRUE(text.ok());
  json review = json::parse(*text);
  review["apiVersion"] = "admission.k8s.io/v1beta1";
  auto decoded = DecodeAdmissionReview(review.dump());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->review_api_version, "admission.k8s.io/v1beta1");
  AdmissionResponse response;
  const json answer =
      json::parse(EncodeAdmissionReview(decoded->review_api_version, decoded->uid, response));
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1beta1");
  EXPECT_EQ(answer["kind"], "AdmissionReview");
  EXPECT_EQ(answer["response"]["uid"], review["request"]["uid"]);
  EXPECT_EQ(answer["response"]["allowed"], true);
}

TEST(AdmissionReview, ResponseHasTheShapeOfTheCapturedOne) {
  auto text = ReadFileToString(
      (kReviews / "canonical" / "response_deny_with_status_warnings_audit.json").string());
  ASSERT_TRUE(text.ok());
  const json captured = json::parse(*text);
  AdmissionResponse response;
  response.allowed = false;
  response.code = 403;
  response.reason = "Forbidden";
  response.message = "container \"nginx\" is privileged \"quoted\" \\ and\nnewline";
  ASSERT_TRUE(AddWarning(response, "a warning"));
  response.audit_annotations.emplace_back("pss-baseline-privileged", "x");
  const json ours = json::parse(EncodeAdmissionReview(
      "admission.k8s.io/v1", captured["response"]["uid"].get<std::string>(), response));
  EXPECT_EQ(ours["response"]["uid"], captured["response"]["uid"]);
  EXPECT_EQ(ours["response"]["allowed"], false);
  EXPECT_EQ(ours["response"]["status"]["code"], 403);
  EXPECT_EQ(ours["response"]["status"]["reason"], "Forbidden");
  EXPECT_EQ(ours["response"]["status"]["message"], response.message);
  EXPECT_EQ(ours["response"]["warnings"], json::array({"a warning"}));
  EXPECT_EQ(ours["response"]["auditAnnotations"]["pss-baseline-privileged"], "x");
  for (const auto& [key, value] : captured["response"].items())
    EXPECT_TRUE(ours["response"].contains(key)) << key;
}

TEST(AdmissionReview, WarningsStayWithinTheApiServerLimits) {
  AdmissionResponse response;
  // Multi-byte characters at the cut: never split one.
  std::string long_warning(254, 'a');
  long_warning += "ééééé";
  ASSERT_TRUE(AddWarning(response, long_warning));
  EXPECT_LE(response.warnings[0].size(), kMaxWarningChars);
  EXPECT_EQ(response.warnings[0].substr(response.warnings[0].size() - 3), "...");
  EXPECT_TRUE(json::accept(json(response.warnings[0]).dump()));
  size_t added = 1;
  while (AddWarning(response, std::string(300, 'w'))) ++added;
  size_t total = 0;
  for (const std::string& w : response.warnings) {
    EXPECT_LE(w.size(), kMaxWarningChars);
    total += w.size();
  }
  EXPECT_LE(total, kMaxWarningsBytes);
  EXPECT_EQ(added, 16u);  // 16 * 256 = 4096
}

TEST(AdmissionReview, ErrorsNameTheField) {
  const json good =
      json::parse(*ReadFileToString((kReviews / "canonical" / "request_create_pod.json").string()));
  auto error_of = [](const std::string& body) {
    auto decoded = DecodeAdmissionReview(body);
    return decoded.ok() ? std::string("(accepted)") : decoded.error().message;
  };
  json r = good;
  r["request"].erase("uid");
  EXPECT_EQ(error_of(r.dump()), "request.uid: missing");
  r = good;
  r["request"]["uid"] = "";
  EXPECT_EQ(error_of(r.dump()), "request.uid: missing");
  r = good;
  r["request"]["operation"] = "PATCH";
  EXPECT_EQ(error_of(r.dump()),
            "request.operation: \"PATCH\" is not CREATE, UPDATE, DELETE or CONNECT");
  r = good;
  r["apiVersion"] = "admission.k8s.io/v2";
  EXPECT_EQ(error_of(r.dump()),
            "apiVersion: \"admission.k8s.io/v2\" is not admission.k8s.io/v1 or "
            "admission.k8s.io/v1beta1");
  r = good;
  r["request"]["object"] = json::array({1, 2});
  EXPECT_EQ(error_of(r.dump()), "request.object: expected an object, found a list");
  r = good;
  r["request"].erase("object");
  EXPECT_EQ(error_of(r.dump()), "request.object: missing for CREATE");
  r = good;
  r["request"]["dryRun"] = "yes";
  EXPECT_EQ(error_of(r.dump()), "request.dryRun: expected true or false, found \"yes\"");
  r = good;
  r["request"]["kind"] = "Pod";
  EXPECT_EQ(error_of(r.dump()), "request.kind: expected an object, found a string");
  r = good;
  r.erase("request");
  EXPECT_EQ(error_of(r.dump()), "request: missing");
  EXPECT_EQ(error_of("[1, 2]"), "AdmissionReview: expected a JSON object, found a list");
  // A body cut short: the error says where the parser stopped.
  const std::string truncated = good.dump().substr(0, 200);
  EXPECT_EQ(error_of(truncated).rfind("AdmissionReview:1:200: syntax error", 0), 0u)
      << error_of(truncated);
  EXPECT_EQ(error_of("{\"a\": 1} x").rfind("AdmissionReview:1:", 0), 0u);
  // Found by the fuzzer: an error at the end of the input is placed at its last character.
  EXPECT_EQ(error_of("{\"a\": [1, 2"),
            "AdmissionReview:1:11: syntax error while parsing array - unexpected end of input; "
            "expected ']'");
  EXPECT_EQ(error_of("apiVersion: admission.k8s.io/v1").rfind("AdmissionReview:1:", 0), 0u)
      << "YAML is not JSON";
  EXPECT_EQ(error_of(std::string(200, '[') + std::string(200, ']')),
            "AdmissionReview:1:101: nesting deeper than 100 levels");
  EXPECT_NE(error_of(std::string(4 << 20, ' ')).find("over"), std::string::npos);
}

TEST(AdmissionReview, ObjectWithoutNamespaceTakesTheRequests) {
  json review = testing::CreateReview(
      {{"apiVersion", "v1"},
       {"kind", "Pod"},
       {"metadata", {{"generateName", "web-"}}},
       {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx:1.27"}}}}}}},
      "shop");
  auto decoded = DecodeAdmissionReview(review.dump());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->object.namespace_name, "shop");
  EXPECT_EQ(decoded->object.name, "web-");
  EXPECT_EQ(decoded->object.EffectiveNamespace(), "shop");
}

}  // namespace
}  // namespace moat::admission
