#include "cel/program.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cel/json.h"
#include "cel/k8s_value.h"
#include "k8s/loader.h"

namespace moat::cel {
namespace {

Result<Value> Eval(std::string_view expression, const Activation& activation = {},
                   const EvalOptions& eval = {}) {
  MOAT_ASSIGN_OR_RETURN(Program program, Compile(expression));
  return program.Evaluate(activation, eval);
}

std::string EvalJson(std::string_view expression, const Activation& activation = {}) {
  auto result = Eval(expression, activation);
  if (!result.ok()) return "error: " + result.error().message;
  return ToJson(*result);
}

std::string ErrorOf(std::string_view expression, const Activation& activation = {}) {
  auto result = Eval(expression, activation);
  return result.ok() ? "no error: " + DebugString(*result) : result.error().message;
}

Activation Deployment(int replicas, std::string_view image) {
  auto object = ValueFromJson(R"({"apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"replicas": )" + std::to_string(replicas) +
                              R"(,
      "template": {"spec": {"containers": [
        {"name": "a", "image": ")" +
                              std::string(image) + R"("},
        {"name": "b", "image": "registry.example.com/b:1"}]}}}})");
  EXPECT_TRUE(object.ok());
  Activation activation;
  activation.Bind("object", *object);
  return activation;
}

TEST(CelProgram, KubernetesDocumentationValidations) {
  // The ValidatingAdmissionPolicy examples of the Kubernetes documentation.
  Activation good = Deployment(3, "registry.example.com/a:1");
  Activation bad = Deployment(7, "docker.io/a:1");
  const char* replicas = "object.spec.replicas <= 5";
  const char* images =
      "object.spec.template.spec.containers.all(c, c.image.startsWith('registry.example.com/'))";
  EXPECT_EQ(EvalJson(replicas, good), "true");
  EXPECT_EQ(EvalJson(replicas, bad), "false");
  EXPECT_EQ(EvalJson(images, good), "true");
  EXPECT_EQ(EvalJson(images, bad), "false");
  EXPECT_EQ(EvalJson("has(object.metadata.labels) && 'app' in object.metadata.labels", good),
            "true");
  EXPECT_EQ(EvalJson("object.spec.template.spec.containers.map(c, c.name)", good), R"(["a","b"])");
  EXPECT_EQ(EvalJson("object.spec.template.spec.containers.filter(c, "
                     "!c.image.startsWith('registry.example.com/')).size()",
                     bad),
            "1");
  EXPECT_EQ(EvalJson("object.metadata.?annotations.orValue({}).size()", good), "0");
  EXPECT_EQ(EvalJson("'Deployment ' + object.metadata.name + ' has ' + "
                     "string(object.spec.replicas) + ' replicas'",
                     bad),
            R"("Deployment web has 7 replicas")");
}

TEST(CelProgram, CompileOnceEvaluateMany) {
  auto program = Compile("object.spec.replicas * 2", {.variables = {"object"}});
  ASSERT_TRUE(program.ok()) << program.error().message;
  for (int replicas = 0; replicas < 10; ++replicas) {
    auto result = program->Evaluate(Deployment(replicas, "x"));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->AsInt(), replicas * 2);
  }
}

TEST(CelProgram, DeclaredVariablesCatchTypos) {
  auto program = Compile("objet.spec.replicas <= 5", {.variables = {"object", "oldObject"}});
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().message, "1:1: undeclared reference to 'objet'");
  EXPECT_TRUE(Compile("object.spec.all(k, k != '')", {.variables = {"object"}}).ok());
}

TEST(CelProgram, SyntaxErrorsNamePositionAndExpectation) {
  EXPECT_EQ(Compile("1 + ").error().message,
            "1:5: syntax error: expected an expression but found end of expression");
  EXPECT_EQ(Compile("a.b(\n  1,, 2)").error().message,
            "2:5: syntax error: expected an expression but found ','");
  EXPECT_EQ(Compile("[1, 2").error().message,
            "1:6: syntax error: expected ',' or ']' but found end of expression");
  EXPECT_EQ(Compile("'abc").error().message, "1:1: syntax error: unterminated string literal");
  EXPECT_EQ(Compile("9223372036854775808").error().message,
            "1:1: int literal out of range: 9223372036854775808");
  EXPECT_EQ(Compile("if").error().message, "1:1: syntax error: reserved identifier 'if'");
  EXPECT_EQ(Compile("size(1, 2)").error().message, "1:1: no overload of 'size' takes 2 arguments");
  EXPECT_EQ(Compile("x.nosuch()").error().message,
            "1:3: undeclared reference to function 'nosuch' (called as a method)");
  EXPECT_EQ(Compile("'a'.matches('[')").error().message.substr(0, 38),
            "1:13: invalid regular expression: miss");
}

TEST(CelProgram, HostileInputIsBounded) {
  std::string deep(100000, '(');
  auto result = Compile(deep);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("nests deeper than 250 levels"), std::string::npos);
  std::string brackets;
  for (int i = 0; i < 5000; ++i) brackets += "[";
  EXPECT_FALSE(Compile(brackets).ok());
  std::string long_chain = "a";
  for (int i = 0; i < 20000; ++i) long_chain += ".b";
  EXPECT_FALSE(Compile(long_chain).ok());
  // Operator chains are as deep as they are long.
  std::string sums = "1";
  for (int i = 0; i < 5000; ++i) sums += " + 1";
  EXPECT_FALSE(Compile(sums).ok());
  EXPECT_FALSE(Compile(std::string(5000, '!') + "true").ok());
  EXPECT_FALSE(Compile(std::string(5000, '-') + "1").ok());
  std::string indexes = "[0]";
  for (int i = 0; i < 5000; ++i) indexes += "[0]";
  EXPECT_FALSE(Compile(indexes).ok());
  std::string sums_ok = "1";
  for (int i = 0; i < 100; ++i) sums_ok += " + 1";
  EXPECT_EQ(EvalJson(sums_ok), "101");
  // A long flat || chain is fine: it is kept balanced rather than 10,000 levels deep.
  std::string ors = "false";
  for (int i = 0; i < 10000; ++i) ors += " || false";
  EXPECT_EQ(EvalJson(ors), "false");
  EXPECT_FALSE(Compile(std::string(200 * 1024, ' ') + "1").ok());
}

TEST(CelProgram, EvaluationErrorsNamePosition) {
  EXPECT_EQ(ErrorOf("1 + (2 / 0)"), "1:8: divide by zero");
  EXPECT_EQ(ErrorOf("9223372036854775807 + 1"), "1:21: integer overflow");
  Activation vars = Deployment(1, "x");
  EXPECT_EQ(ErrorOf("object.spec.nosuch == 1", vars), "1:12: no such key: 'nosuch'");
  EXPECT_EQ(ErrorOf("[1, 2][5]"), "1:7: index out of bounds: 5 (list of size 2)");
  EXPECT_EQ(ErrorOf("missing"), "1:1: undeclared reference to 'missing'");
}

TEST(CelProgram, LogicalOperatorsAbsorbErrors) {
  EXPECT_EQ(EvalJson("1/0 == 1 || true"), "true");
  EXPECT_EQ(EvalJson("true || 1/0 == 1"), "true");
  EXPECT_EQ(EvalJson("1/0 == 1 && false"), "false");
  EXPECT_EQ(ErrorOf("1/0 == 1 && true"), "1:2: divide by zero");
  EXPECT_EQ(EvalJson("[1, 0].exists(x, 1 / x == 1)"), "true");
  EXPECT_EQ(EvalJson("[0, 1].all(x, 1 / x == 2)"), "false");
}

TEST(CelProgram, CostBudgetStopsHostileExpressions) {
  // 1,000 x 1,000 comprehension steps: far over a budget of 100,000.
  const char* hostile =
      "[0,1,2,3,4,5,6,7,8,9].map(a, [0,1,2,3,4,5,6,7,8,9]).map(l, l.map(x, x))"
      ".all(l, l.all(x, range.all(y, range.all(z, z >= 0))))";
  Activation vars;
  std::vector<Value> items;
  for (int i = 0; i < 1000; ++i) items.push_back(Value::Int(i));
  vars.Bind("range", Value::List(items));
  auto result = Eval(hostile, vars, {.cost_limit = 100000});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message.rfind("cost budget exceeded", 0), 0u) << result.error().message;
  // A budget error is never absorbed by || (it is not an ordinary error value).
  auto absorbed = Eval("range.all(y, range.all(z, z >= 0)) || true", vars, {.cost_limit = 5000});
  ASSERT_FALSE(absorbed.ok());
  EXPECT_EQ(absorbed.error().message.rfind("cost budget exceeded", 0), 0u);
  // The same expression within budget, and its cost reported.
  auto program = Compile("range.all(y, y >= 0)");
  ASSERT_TRUE(program.ok());
  uint64_t cost = 0;
  auto ok = program->Evaluate(vars, {}, &cost);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->AsBool());
  EXPECT_GT(cost, 4000u);
  EXPECT_LT(cost, 6000u);
}

TEST(CelProgram, FollowsCelGoWhereTheDifferentialOracleDiffers) {
  // @bufbuild/cel (tests/cel/differential.mjs) differs from cel-go on these; Moat follows cel-go.
  EXPECT_EQ(EvalJson("'ab'.replace('', '-')"), R"("-a-b-")");
  EXPECT_EQ(EvalJson("'ab'.replace('', '-', 2)"), R"("-a-b")");
  EXPECT_EQ(ErrorOf("double('nope')"), "1:1: cannot convert 'nope' to double");
}

TEST(CelProgram, QualifiedVariableNames) {
  Activation vars;
  vars.Bind("a.b", Value::Int(7));
  vars.Bind("a", ValueFromJson(R"({"b": 1, "c": 2})").value());
  EXPECT_EQ(EvalJson("a.b", vars), "7");
  EXPECT_EQ(EvalJson("a.c", vars), "2");
}

TEST(CelProgram, JsonMapping) {
  EXPECT_EQ(EvalJson("[1, 2u, 1.5, b'\\x01\\x02', null, true]"), R"([1,2,1.5,"AQI=",null,true])");
  EXPECT_EQ(EvalJson("timestamp('2024-01-02T03:04:05.5Z')"), R"("2024-01-02T03:04:05.500Z")");
  EXPECT_EQ(EvalJson("duration('1h30m')"), R"("5400s")");
  EXPECT_EQ(EvalJson("{1: 'a', true: 'b'}"), R"({"1":"a","true":"b"})");
  EXPECT_EQ(EvalJson("type(1)"), R"("int")");
  EXPECT_EQ(EvalJson("optional.none()"), "null");
  EXPECT_EQ(EvalJson("double('NaN')"), R"("NaN")");
}

TEST(CelProgram, FromParsedJson) {
  auto tree = nlohmann::json::parse(
      R"({"spec": {"replicas": 3, "ratio": 0.5, "big": 18446744073709551615}})");
  Activation vars;
  vars.Bind("object", ValueFromJsonTree(tree));
  EXPECT_EQ(EvalJson("[object.spec.replicas, object.spec.ratio, object.spec.big]", vars),
            "[3,0.5,18446744073709551615]");
  EXPECT_EQ(EvalJson("type(object.spec.big) == uint && type(object.spec.replicas) == int", vars),
            "true");
  EXPECT_FALSE(ValueFromJson("{\"a\": ").ok());
}

TEST(CelProgram, TimeZonesFromTzdata) {
  // 2024-07-01T12:00:00Z is 08:00 in New York (EDT) and 22:00 in Sydney (AEST).
  EXPECT_EQ(EvalJson("timestamp('2024-07-01T12:00:00Z').getHours('America/New_York')"), "8");
  EXPECT_EQ(EvalJson("timestamp('2024-01-01T12:00:00Z').getHours('America/New_York')"), "7");
  EXPECT_EQ(EvalJson("timestamp('2024-07-01T12:00:00Z').getHours('Australia/Sydney')"), "22");
  EXPECT_EQ(EvalJson("timestamp('2024-07-01T12:00:00Z').getMinutes('+05:30')"), "30");
  EXPECT_EQ(ErrorOf("timestamp('2024-07-01T12:00:00Z').getHours('Mars/Olympus')"),
            "1:35: unknown time zone 'Mars/Olympus'");
  EXPECT_EQ(ErrorOf("timestamp('2024-07-01T12:00:00Z').getHours('../../etc/passwd')"),
            "1:35: unknown time zone '../../etc/passwd'");
}

TEST(CelProgram, KubernetesListAndRegexLibraries) {
  EXPECT_EQ(EvalJson("[1, 2, 3].isSorted() && ![3, 1].isSorted()"), "true");
  EXPECT_EQ(EvalJson("[1, 2, 3].sum()"), "6");
  EXPECT_EQ(EvalJson("[1.5, 2.5].sum()"), "4.0");
  EXPECT_EQ(EvalJson("[3, 1, 2].min()"), "1");
  EXPECT_EQ(EvalJson("['b', 'c', 'a'].max()"), R"("c")");
  EXPECT_EQ(EvalJson("[1, 2, 3, 2].indexOf(2)"), "1");
  EXPECT_EQ(EvalJson("[1, 2, 3, 2].lastIndexOf(2)"), "3");
  EXPECT_EQ(EvalJson("'abc 123'.find('[0-9]+')"), R"("123")");
  EXPECT_EQ(EvalJson("'123 abc 456'.findAll('[0-9]+')"), R"(["123","456"])");
  EXPECT_EQ(EvalJson("'123 abc 456'.findAll('[0-9]+', 1)"), R"(["123"])");
  EXPECT_EQ(ErrorOf("[].min()"), "1:4: min of an empty list");
}

TEST(CelProgram, FromKubernetesObjectModel) {
  // The YAML loader of moat k8s, as the admission webhook reads objects.
  auto object = k8s::ParseYamlDocument(R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  hostNetwork: true
  priority: 3
  weight: 1.5
  containers:
  - name: app
    image: registry.example.com/app:1
    ports: [{containerPort: 80}]
)",
                                       "pod.yaml");
  ASSERT_TRUE(object.ok()) << object.error().message;
  Activation vars;
  vars.Bind("object", FromK8sValue(*object));
  EXPECT_EQ(EvalJson("object.spec.containers[0].ports[0].containerPort", vars), "80");
  EXPECT_EQ(EvalJson("object.spec.hostNetwork && object.spec.priority + 1 == 4", vars), "true");
  EXPECT_EQ(EvalJson("object.spec.weight * 2.0", vars), "3.0");
  EXPECT_EQ(EvalJson("object.metadata", vars), R"({"name":"web"})");
}

}  // namespace
}  // namespace moat::cel
