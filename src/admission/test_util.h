#pragma once
// Shared by the admission tests: the captured AdmissionReview requests and the PSA fixtures made
// into AdmissionReviews, with nlohmann as the independent JSON reader.

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "k8s/value.h"

namespace moat::admission::testing {

inline const std::filesystem::path kReviews =
    std::filesystem::path(MOAT_SHARED_DATA_DIR) / "k8s" / "admission-review";

inline const std::filesystem::path kPsa =
    std::filesystem::path(MOAT_SHARED_DATA_DIR) / "k8s" / "psa";

/// One Pod Security admission fixture of ../shared/data/k8s/psa/INDEX.tsv.
struct PsaFixture {
  std::string level, version, expected, check, path;  // path relative to kPsa
};

/// Every fixture of the index, in its order.
inline std::vector<PsaFixture> PsaFixtures() {
  std::vector<PsaFixture> out;
  std::ifstream index(kPsa / "INDEX.tsv");
  std::string line;
  std::getline(index, line);  // header
  while (std::getline(index, line)) {
    std::istringstream fields(line);
    PsaFixture f;
    std::getline(fields, f.level, '\t');
    std::getline(fields, f.version, '\t');
    std::getline(fields, f.expected, '\t');
    std::getline(fields, f.check, '\t');
    std::getline(fields, f.path, '\t');
    out.push_back(f);
  }
  return out;
}

/// A k8s Value (a parsed YAML manifest) as JSON, as the API server would send the object.
inline nlohmann::json ToJson(const k8s::Value& v) {
  using Type = k8s::Value::Type;
  switch (v.type) {
    case Type::kNull:
      return nullptr;
    case Type::kBool:
      return v.IsTrue();
    case Type::kInt:
      return v.Int() ? nlohmann::json(*v.Int()) : nlohmann::json(v.text);
    case Type::kFloat:
      return std::stod(v.text);
    case Type::kString:
      return v.text;
    case Type::kSequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const k8s::Value& item : v.Items()) out.push_back(ToJson(item));
      return out;
    }
    case Type::kMap: {
      nlohmann::json out = nlohmann::json::object();
      for (const k8s::Value& entry : v.Entries()) out[entry.key] = ToJson(entry);
      return out;
    }
  }
  return nullptr;
}

/// An admission.k8s.io/v1 CREATE review of `object` in `namespace_name`.
inline nlohmann::json CreateReview(const nlohmann::json& object, const std::string& namespace_name,
                                   const std::string& uid = "uid-1") {
  nlohmann::json review = {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}};
  const std::string kind = object.value("kind", "");
  review["request"] = {{"uid", uid},
                       {"kind", {{"group", ""}, {"version", "v1"}, {"kind", kind}}},
                       {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "objects"}}},
                       {"namespace", namespace_name},
                       {"name", object["metadata"].value("name", "")},
                       {"operation", "CREATE"},
                       {"userInfo", {{"username", "alice"}, {"groups", {"system:authenticated"}}}},
                       {"object", object},
                       {"oldObject", nullptr},
                       {"dryRun", false}};
  return review;
}

}  // namespace moat::admission::testing
