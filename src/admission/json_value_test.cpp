// The webhook's JSON reader against the k8s loader (libyaml) as the oracle: every captured
// AdmissionReview and every PSA fixture (as JSON) give the same tree, type for type and text for
// text, so the checks see what `moat k8s manifests` sees.

#include "admission/json_value.h"

#include <gtest/gtest.h>

#include <fstream>

#include "admission/test_util.h"
#include "core/bytes.h"
#include "k8s/loader.h"

namespace moat::admission {
namespace {

namespace fs = std::filesystem;

void ExpectSameTree(const k8s::Value& ours, const k8s::Value& oracle, const std::string& where) {
  ASSERT_EQ(ours.TypeName(), oracle.TypeName()) << where;
  EXPECT_EQ(ours.key, oracle.key) << where;
  EXPECT_EQ(ours.text, oracle.text) << where;
  EXPECT_EQ(ours.IsTrue(), oracle.IsTrue()) << where;
  EXPECT_EQ(ours.Int(), oracle.Int()) << where;
  ASSERT_EQ(ours.children.size(), oracle.children.size()) << where;
  for (size_t i = 0; i < ours.children.size(); ++i)
    ExpectSameTree(ours.children[i], oracle.children[i],
                   where + "/" + (ours.IsMap() ? ours.children[i].key : std::to_string(i)));
}

void Compare(const std::string& json_text, const std::string& name) {
  auto ours = ParseJsonValue(json_text, name, 100);
  ASSERT_TRUE(ours.ok()) << ours.error().message;
  auto oracle = k8s::ParseYamlDocument(json_text, name);
  ASSERT_TRUE(oracle.ok()) << oracle.error().message;
  ExpectSameTree(*ours, *oracle, name);
}

TEST(JsonValue, SameTreeAsTheK8sLoaderOnCapturedReviews) {
  size_t files = 0;
  for (const char* dir : {"canonical", "kubewarden"}) {
    for (const auto& entry : fs::directory_iterator(testing::kReviews / dir)) {
      if (entry.path().extension() != ".json") continue;
      Compare(*ReadFileToString(entry.path().string()), entry.path().filename().string());
      ++files;
    }
  }
  EXPECT_GE(files, 15u);
}

TEST(JsonValue, SameTreeAsTheK8sLoaderOnPsaFixtures) {
  const fs::path psa = fs::path(MOAT_SHARED_DATA_DIR) / "k8s" / "psa";
  std::ifstream index(psa / "INDEX.tsv");
  std::string line;
  std::getline(index, line);
  size_t fixtures = 0;
  while (std::getline(index, line)) {
    const std::string path = line.substr(line.rfind('\t') + 1);
    k8s::LoadResult loaded;
    k8s::ParseManifests(*ReadFileToString((psa / path).string()), path, loaded);
    ASSERT_EQ(loaded.objects.size(), 1u) << path;
    // Compact as the API server sends it, and indented.
    const nlohmann::json object = testing::ToJson(loaded.objects[0].root);
    Compare(object.dump(), path);
    if (fixtures % 50 == 0) Compare(object.dump(2), path + " (indented)");
    ++fixtures;
  }
  EXPECT_GT(fixtures, 4000u);
}

TEST(JsonValue, ScalarsAndPositions) {
  auto v = ParseJsonValue(
      "{\"a\": [1, -2, 3.5, 1e3, 18446744073709551616, true, false, null, \"x\\u00e9\\n\"],\n"
      " \"b\": {}}",
      "t", 10);
  ASSERT_TRUE(v.ok()) << v.error().message;
  const k8s::Value& a = *v->Get("a");
  ASSERT_EQ(a.Items().size(), 9u);
  EXPECT_EQ(a.Items()[0].Int(), 1);
  EXPECT_EQ(a.Items()[1].Int(), -2);
  EXPECT_EQ(a.Items()[2].type, k8s::Value::Type::kFloat);
  EXPECT_EQ(a.Items()[3].text, "1e3");
  EXPECT_EQ(a.Items()[4].type, k8s::Value::Type::kInt);  // too large: no Int(), still an integer
  EXPECT_FALSE(a.Items()[4].Int().has_value());
  EXPECT_TRUE(a.Items()[5].IsTrue());
  EXPECT_TRUE(a.Items()[6].IsBool());
  EXPECT_TRUE(a.Items()[7].IsNull());
  EXPECT_EQ(a.Items()[8].text, "x\xc3\xa9\n");
  EXPECT_EQ(a.line, 1u);
  EXPECT_EQ(v->Get("b")->line, 2u);
  EXPECT_LT(a.Items()[0].column, a.Items()[1].column);
  EXPECT_FALSE(ParseJsonValue("", "t", 10).ok());
  EXPECT_FALSE(ParseJsonValue("{\"a\":1}{}", "t", 10).ok());
  EXPECT_FALSE(ParseJsonValue("{\"a\":\"\xff\"}", "t", 10).ok());
}

}  // namespace
}  // namespace moat::admission
