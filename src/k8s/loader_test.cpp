#include "k8s/loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "k8s/checks.h"

namespace moat::k8s {
namespace {

TEST(Loader, MultipleDocumentsKeepFileAndLines) {
  const std::string yaml = R"(# leading comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  namespace: ns1
---
---
apiVersion: v1
kind: Pod
metadata:
  name: b
spec:
  hostPID: true
...
)";
  LoadResult r;
  ParseManifests(yaml, "m.yaml", r);
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  ASSERT_EQ(r.objects.size(), 2u);
  EXPECT_EQ(r.empty_documents, 1u);
  EXPECT_EQ(r.objects[0].kind, "ConfigMap");
  EXPECT_EQ(r.objects[0].namespace_name, "ns1");
  EXPECT_EQ(r.objects[1].Reference(), "Pod/b");
  EXPECT_EQ(r.objects[1].EffectiveNamespace(), "default");
  const Value* host_pid = r.objects[1].root.Path({"spec", "hostPID"});
  ASSERT_NE(host_pid, nullptr);
  EXPECT_TRUE(host_pid->IsTrue());
  EXPECT_EQ(host_pid->line, 14u);
  EXPECT_EQ(host_pid->column, 3u);
  EXPECT_EQ(r.objects[1].file, "m.yaml");
}

TEST(Loader, ClusterWidePoliciesOfNetworkPolicyEnginesHaveNoNamespace) {
  LoadResult r;
  ParseManifests(R"(apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: deny-all}
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: default-deny}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: shop}
)",
                 "p.yaml", r);
  ASSERT_EQ(r.objects.size(), 3u);
  EXPECT_EQ(r.objects[0].EffectiveNamespace(), "");
  EXPECT_EQ(r.objects[1].EffectiveNamespace(), "");
  EXPECT_EQ(r.objects[2].EffectiveNamespace(), "default");
}

TEST(Loader, ScalarTypes) {
  auto v = ParseYamlDocument(R"({a: true, b: "true", c: 42, d: "42", e: 0x1F, f: 1.5, g: ~,
h: null, i: yes, j: off, k: plain text, l: '0'})",
                             "t");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->Get("a")->IsTrue());
  EXPECT_TRUE(v->Get("b")->IsString());
  EXPECT_EQ(v->Get("c")->Int(), 42);
  EXPECT_TRUE(v->Get("d")->IsString());
  EXPECT_EQ(v->Get("e")->Int(), 31);
  EXPECT_EQ(v->Get("f")->type, Value::Type::kFloat);
  EXPECT_TRUE(v->Get("g")->IsNull());
  EXPECT_EQ(v->Field("h"), nullptr);
  EXPECT_TRUE(v->Get("i")->IsTrue());
  EXPECT_EQ(v->Get("j")->Bool(), false);
  EXPECT_EQ(v->Get("k")->Str(), "plain text");
  EXPECT_TRUE(v->Get("l")->IsString());
}

TEST(Loader, JsonListAndTypedList) {
  const std::string json = R"({"apiVersion": "v1", "kind": "PodList", "items": [
  {"metadata": {"name": "p1", "namespace": "x"}, "spec": {"containers": []}},
  {"metadata": {"name": "p2", "namespace": "x"}, "spec": {"hostNetwork": true}}
]})";
  LoadResult r;
  ParseManifests(json, "pods.json", r);
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.objects.size(), 2u);
  EXPECT_EQ(r.objects[1].kind, "Pod");
  EXPECT_EQ(r.objects[1].item_path, "items[1]");
  EXPECT_EQ(r.objects[1].root.Path({"spec", "hostNetwork"})->line, 3u);
}

TEST(Loader, MalformedDocumentDoesNotHideOthers) {
  const std::string yaml = R"(kind: Pod
metadata: {name: one}
---
kind: Pod
metadata: {name: two
  bad: [
---
kind: Pod
metadata: {name: three}
)";
  LoadResult r;
  ParseManifests(yaml, "bad.yaml", r);
  ASSERT_EQ(r.objects.size(), 2u);
  EXPECT_EQ(r.objects[0].name, "one");
  EXPECT_EQ(r.objects[1].name, "three");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, "bad.yaml");
  EXPECT_GE(r.errors[0].line, 4u);
  EXPECT_LE(r.errors[0].line, 7u);
  EXPECT_NE(r.errors[0].ToString().find("bad.yaml:"), std::string::npos);
}

TEST(Loader, NotObjects) {
  LoadResult r;
  ParseManifests("- a\n- b\n---\njust a string\n---\nmetadata: {name: x}\n---\nkind: [1]\n", "x",
                 r);
  EXPECT_TRUE(r.objects.empty());
  EXPECT_EQ(r.errors.size(), 4u);
}

TEST(Loader, DepthAndAliasBombsAreBounded) {
  std::string deep = "kind: Pod\nspec: ";
  for (int i = 0; i < 100000; ++i) deep += "[";
  LoadResult r;
  ParseManifests(deep, "deep.yaml", r);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("nesting"), std::string::npos);

  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) bomb += std::string(j ? ", " : "") + "*a" + std::to_string(i - 1);
    bomb += "]\n";
  }
  LoadResult b;
  ParseManifests(bomb, "bomb.yaml", b);
  ASSERT_EQ(b.errors.size(), 1u);
  EXPECT_NE(b.errors[0].message.find("aliases"), std::string::npos);
}

TEST(Loader, MergeKeysAndAnchors) {
  auto v = ParseYamlDocument("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n", "m");
  ASSERT_TRUE(v.ok());
  const Value* d = v->Get("derived");
  EXPECT_EQ(d->Get("x")->Int(), 1);
  EXPECT_EQ(d->Get("y")->Int(), 3);
  EXPECT_EQ(d->Get("<<"), nullptr);
}

// Containers are built aside and moved into vectors of their exact size when they close (a large
// input holds millions of them); nesting, complex keys, anchors and lines must come through.
TEST(Loader, NestedContainersComplexKeysAndAnchorsKeepTheirShape) {
  const std::string yaml = R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: shapes
  labels: &labels {a: "1", b: "2", c: "3"}
data:
  ? [k1, k2]
  : v
  ? {x: {y: 1}}
  : {nested: [1, [2, 3], {deep: yes}], other: []}
  after: value
  copy: *labels
  list:
  - {name: one}
  - - inner
    - {name: two}
)";
  LoadResult r;
  ParseManifests(yaml, "s.yaml", r);
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  ASSERT_EQ(r.objects.size(), 1u);
  const Value& root = r.objects[0].root;
  // Every container's children vector holds exactly its children, at every depth.
  std::function<void(const Value&)> exact = [&](const Value& v) {
    EXPECT_EQ(v.children.capacity(), v.children.size()) << v.key << " line " << v.line;
    for (const Value& child : v.children) exact(child);
  };
  exact(root);
  const Value* data = root.Get("data");
  ASSERT_NE(data, nullptr);
  ASSERT_EQ(data->Entries().size(), 5u);
  EXPECT_EQ(data->Entries()[0].key, "<complex key>");
  EXPECT_EQ(data->Entries()[0].Str(), "v");
  EXPECT_EQ(data->Entries()[0].line, 7u);
  const Value& complex = data->Entries()[1];
  EXPECT_EQ(complex.key, "<complex key>");
  EXPECT_EQ(complex.line, 9u);
  const Value* nested = complex.Get("nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->Items().size(), 3u);
  EXPECT_EQ(nested->Items()[1].Items().size(), 2u);
  EXPECT_EQ(nested->Items()[1].Items()[1].Str(), "3");
  EXPECT_TRUE(nested->Items()[2].Get("deep")->IsTrue());
  EXPECT_TRUE(complex.Get("other")->IsSequence());
  EXPECT_TRUE(complex.Get("other")->Items().empty());
  EXPECT_EQ(data->Get("after")->Str(), "value");
  EXPECT_EQ(data->Get("after")->line, 11u);
  const Value* copy = data->Get("copy");
  ASSERT_NE(copy, nullptr);
  ASSERT_EQ(copy->Entries().size(), 3u);
  EXPECT_EQ(copy->Entries()[2].key, "c");
  EXPECT_EQ(copy->Entries()[2].Str(), "3");
  const Value* list = data->Get("list");
  ASSERT_EQ(list->Items().size(), 2u);
  EXPECT_EQ(list->Items()[0].Get("name")->Str(), "one");
  EXPECT_EQ(list->Items()[1].Items()[0].Str(), "inner");
  EXPECT_EQ(list->Items()[1].Items()[1].Get("name")->Str(), "two");
  EXPECT_EQ(list->Items()[1].Items()[1].line, 16u);
}

TEST(Loader, WrongTypesAreFindingsNotCrashes) {
  const std::string yaml = R"(apiVersion: v1
kind: Pod
metadata: {name: p, namespace: x}
spec:
  hostNetwork: "yes"
  securityContext: [1, 2]
  containers:
  - name: c
    image: 42
    securityContext:
      privileged: "true"
      capabilities: {add: SYS_ADMIN, drop: {a: b}}
    ports: [{hostPort: "80"}, 7, {containerPort: [1]}]
  - just a string
  volumes: {a: b}
)";
  LoadResult r;
  ParseManifests(yaml, "types.yaml", r);
  ASSERT_EQ(r.objects.size(), 1u);
  AssessOptions options;
  auto a = Assess(std::move(r), options);
  ASSERT_TRUE(a.ok());
  size_t invalid = 0;
  for (const Finding& f : a->findings) invalid += f.check->id == "k8s-invalid-field";
  EXPECT_GE(invalid, 6u);
}

TEST(Loader, FilesDirectoriesAndErrors) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(MOAT_BINARY_DIR) / "k8s-loader-test";
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "a.yaml") << "kind: Pod\nmetadata: {name: a}\n";
  std::ofstream(dir / "sub" / "b.yml") << "kind: Pod\nmetadata: {name: b}\n";
  std::ofstream(dir / "sub" / "c.json") << R"({"kind": "Pod", "metadata": {"name": "c"}})";
  std::ofstream(dir / "sub" / "readme.md") << "kind: Pod\n";
  LoadResult r = LoadManifests({dir.string(), (dir / "missing.yaml").string()});
  ASSERT_EQ(r.objects.size(), 3u);
  EXPECT_EQ(r.objects[0].name, "a");
  EXPECT_EQ(r.objects[2].name, "c");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].file.find("missing.yaml"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace moat::k8s
