// The cel-spec "simple" conformance suite (../shared/data/cel, the JSON rendering of its
// textproto files): every test that needs no protobuf message type and no type checker runs;
// the pass rate must stay at or above 95 %, and no test listed in
// testdata/conformance_must_pass.txt may fail. MOAT_CEL_WRITE_MUST_PASS=1 rewrites that list
// from the current passes.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "artifact/source_util.h"
#include "cel/program.h"

namespace moat::cel {
namespace {

using Json = nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A cel.expr.Value in protobuf's JSON form; false for message values (objectValue).
bool ToValue(const Json& j, Value& out) {
  if (j.contains("nullValue")) {
    out = Value();
  } else if (j.contains("boolValue")) {
    out = Value::Bool(j["boolValue"].get<bool>());
  } else if (j.contains("int64Value")) {
    const Json& v = j["int64Value"];
    out = Value::Int(v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>());
  } else if (j.contains("uint64Value")) {
    const Json& v = j["uint64Value"];
    out = Value::Uint(v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>());
  } else if (j.contains("doubleValue")) {
    const Json& v = j["doubleValue"];
    if (v.is_string()) {
      std::string s = v.get<std::string>();
      out = Value::Double(s == "NaN"         ? std::nan("")
                          : s == "Infinity"  ? INFINITY
                          : s == "-Infinity" ? -INFINITY
                                             : std::stod(s));
    } else {
      out = Value::Double(v.get<double>());
    }
  } else if (j.contains("stringValue")) {
    out = Value::String(j["stringValue"].get<std::string>());
  } else if (j.contains("bytesValue")) {
    auto decoded = Base64Decode(j["bytesValue"].get<std::string>());
    if (!decoded.ok()) return false;
    out = Value::Bytes(*decoded);
  } else if (j.contains("listValue")) {
    std::vector<Value> items;
    for (const Json& item : j["listValue"].value("values", Json::array())) {
      Value v;
      if (!ToValue(item, v)) return false;
      items.push_back(v);
    }
    out = Value::List(std::move(items));
  } else if (j.contains("mapValue")) {
    std::vector<MapEntry> entries;
    for (const Json& e : j["mapValue"].value("entries", Json::array())) {
      Value k;
      Value v;
      if (!ToValue(e["key"], k) || !ToValue(e["value"], v)) return false;
      entries.push_back({k, v});
    }
    out = Value::Map(std::move(entries));
  } else if (j.contains("typeValue")) {
    out = Value::Type(j["typeValue"].get<std::string>());
  } else {
    return false;
  }
  return true;
}

// Exact equality: same kinds (1 and 1u differ here), NaN equal to NaN, map order ignored.
bool SameValue(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kDouble:
      if (std::isnan(a.AsDouble())) return std::isnan(b.AsDouble());
      return a.AsDouble() == b.AsDouble();
    case Kind::kList:
      if (a.AsList().size() != b.AsList().size()) return false;
      for (size_t i = 0; i < a.AsList().size(); ++i) {
        if (!SameValue(a.AsList()[i], b.AsList()[i])) return false;
      }
      return true;
    case Kind::kMap:
      if (a.AsMap().size() != b.AsMap().size()) return false;
      for (const MapEntry& e : a.AsMap()) {
        bool found = false;
        for (const MapEntry& f : b.AsMap()) {
          if (SameValue(e.key, f.key)) {
            if (!SameValue(e.value, f.value)) return false;
            found = true;
          }
        }
        if (!found) return false;
      }
      return true;
    default:
      return Equal(a, b);
  }
}

enum class Outcome { kPass, kFail, kSkipProto, kSkipCheckOnly, kSkipUnknowns };

struct Tally {
  int pass = 0;
  int fail = 0;
  int skip_proto = 0;
  int skip_check = 0;
};

Outcome RunOne(const Json& test, std::string& detail) {
  if (test.value("needs_proto", false)) return Outcome::kSkipProto;
  const Json& original = test["original"];
  if (original.value("checkOnly", false)) return Outcome::kSkipCheckOnly;
  CompileOptions options;
  options.allow_unknown_functions = true;
  Activation activation;
  if (original.contains("bindings")) {
    for (auto it = original["bindings"].begin(); it != original["bindings"].end(); ++it) {
      Value v;
      if (!it.value().contains("value") || !ToValue(it.value()["value"], v)) {
        return Outcome::kSkipProto;
      }
      activation.Bind(it.key(), v);
    }
  }
  bool expect_error = original.contains("evalError");
  Value expected = Value::Bool(true);
  if (original.contains("value")) {
    if (!ToValue(original["value"], expected)) return Outcome::kSkipProto;
  } else if (original.contains("typedResult")) {
    if (!ToValue(original["typedResult"]["result"], expected)) return Outcome::kSkipProto;
  }
  auto program = Compile(test["expr"].get<std::string>(), options);
  if (!program.ok()) {
    detail = "compile: " + program.error().message;
    if (expect_error && std::getenv("MOAT_CEL_VERBOSE") != nullptr) {
      std::cout << "COMPILE-ERROR-PASS " << test["suite"].get<std::string>() << " | "
                << test["expr"] << " | " << detail << "\n";
    }
    return expect_error ? Outcome::kPass : Outcome::kFail;
  }
  auto result = program->Evaluate(activation);
  if (!result.ok()) {
    detail = "eval: " + result.error().message;
    return expect_error ? Outcome::kPass : Outcome::kFail;
  }
  if (expect_error) {
    detail = "expected an error, got " + DebugString(*result);
    return Outcome::kFail;
  }
  if (!SameValue(*result, expected)) {
    detail = "got " + DebugString(*result) + ", want " + DebugString(expected);
    return Outcome::kFail;
  }
  return Outcome::kPass;
}

TEST(CelConformance, SimpleSuiteWithoutProtobuf) {
  std::string path = std::string(MOAT_SHARED_DATA_DIR) + "/cel/conformance_from_bufbuild_npm.json";
  std::string text = ReadFile(path);
  ASSERT_FALSE(text.empty()) << "missing " << path;
  Json tests = Json::parse(text);
  std::string must_pass_path =
      std::string(MOAT_SOURCE_DIR) + "/src/cel/testdata/conformance_must_pass.txt";
  std::set<std::string> must_pass;
  {
    std::istringstream lines(ReadFile(must_pass_path));
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line[0] != '#') must_pass.insert(line);
    }
  }
  std::map<std::string, Tally> per_file;
  Tally total;
  std::vector<std::string> passed_names;
  std::vector<std::string> regressions;
  bool verbose = std::getenv("MOAT_CEL_VERBOSE") != nullptr;
  for (const Json& test : tests) {
    std::string suite = test["suite"].get<std::string>();
    std::string file = suite.substr(0, suite.find('/'));
    std::string id = suite + "/" + test["name"].get<std::string>();
    std::string detail;
    Outcome outcome = RunOne(test, detail);
    Tally& t = per_file[file];
    switch (outcome) {
      case Outcome::kPass:
        ++t.pass;
        ++total.pass;
        passed_names.push_back(id);
        break;
      case Outcome::kFail:
        ++t.fail;
        ++total.fail;
        if (must_pass.count(id)) regressions.push_back(id + ": " + detail);
        if (verbose) std::cout << "FAIL " << id << " | " << test["expr"] << " | " << detail << "\n";
        break;
      case Outcome::kSkipProto:
        ++t.skip_proto;
        ++total.skip_proto;
        break;
      case Outcome::kSkipCheckOnly:
      case Outcome::kSkipUnknowns:
        ++t.skip_check;
        ++total.skip_check;
        break;
    }
  }
  std::cout << "file                 passed failed skipped(protobuf) skipped(type-check only)\n";
  for (const auto& [file, t] : per_file) {
    std::printf("%-20s %6d %6d %17d %24d\n", file.c_str(), t.pass, t.fail, t.skip_proto,
                t.skip_check);
  }
  int run = total.pass + total.fail;
  double rate = run == 0 ? 0 : 100.0 * total.pass / run;
  std::printf("total                %6d %6d %17d %24d   pass rate %.1f %% of %d run\n", total.pass,
              total.fail, total.skip_proto, total.skip_check, rate, run);
  if (std::getenv("MOAT_CEL_WRITE_MUST_PASS") != nullptr) {
    std::ofstream out(must_pass_path);
    out << "# cel-spec conformance tests that pass and must keep passing (suite/name).\n";
    for (const std::string& name : passed_names) out << name << "\n";
  }
  EXPECT_GE(rate, 95.0);
  EXPECT_GT(run, 1500);
  for (const std::string& r : regressions) ADD_FAILURE() << "regression: " << r;
}

}  // namespace
}  // namespace moat::cel
