// AdmissionReview decoding into the k8s object model (request.object becomes a k8s::Object, as a
// manifest does) and encoding with the JSON string escaper of src/core.

#include "admission/review.h"

#include <algorithm>

#include "admission/json_value.h"
#include "artifact/source_util.h"
#include "core/json_writer.h"
#include "k8s/loader.h"

namespace moat::admission {
namespace {

constexpr std::string_view kV1 = "admission.k8s.io/v1";
constexpr std::string_view kV1beta1 = "admission.k8s.io/v1beta1";

/// Moves the entry `key` out of a map (the document is decoded once and taken apart).
k8s::Value* Entry(k8s::Value& map, std::string_view key) {
  if (!map.IsMap()) return nullptr;
  for (k8s::Value& child : map.children) {
    if (child.key == key) return &child;
  }
  return nullptr;
}

/// A string field; "" when absent or null; an error naming the field when it is not a string.
Result<std::string> StringField(const k8s::Value& map, std::string_view key,
                                std::string_view where) {
  const k8s::Value* v = map.Field(key);
  if (v == nullptr) return std::string();
  if (!v->IsScalar()) return Fail(where, ".", key, ": expected a string, found a ", v->TypeName());
  return v->text;
}

Result<void> DecodeObject(k8s::Value& request, std::string_view key, const AdmissionRequest& r,
                          bool& present, k8s::Object& object) {
  k8s::Value* value = Entry(request, key);
  if (value == nullptr || value->IsNull()) return Ok();
  if (!value->IsMap())
    return Fail("request.", key, ": expected an object, found a ", value->TypeName());
  value->key.clear();  // the object is a document root now
  object = k8s::ObjectFromValue(std::move(*value), "request." + std::string(key));
  if (object.namespace_name.empty()) object.namespace_name = r.namespace_name;
  if (object.name.empty()) object.name = r.name;
  if (object.kind.empty()) object.kind = r.kind.kind;
  present = true;
  return Ok();
}

}  // namespace

std::string_view OperationName(Operation operation) {
  switch (operation) {
    case Operation::kCreate:
      return "CREATE";
    case Operation::kUpdate:
      return "UPDATE";
    case Operation::kDelete:
      return "DELETE";
    case Operation::kConnect:
      return "CONNECT";
  }
  return "UNKNOWN";
}

Result<AdmissionRequest> DecodeAdmissionReview(std::string_view body, const DecodeLimits& limits) {
  if (body.size() > limits.max_bytes)
    return Fail("AdmissionReview: body of ", std::to_string(body.size()), " bytes is over ",
                std::to_string(limits.max_bytes));
  MOAT_ASSIGN_OR_RETURN(k8s::Value root, ParseJsonValue(body, "AdmissionReview", limits.max_depth));
  if (!root.IsMap())
    return Fail("AdmissionReview: expected a JSON object, found a ", root.TypeName());
  AdmissionRequest r;
  MOAT_ASSIGN_OR_RETURN(r.review_api_version, StringField(root, "apiVersion", "AdmissionReview"));
  if (r.review_api_version != kV1 && r.review_api_version != kV1beta1)
    return Fail("apiVersion: \"", r.review_api_version, "\" is not ", kV1, " or ", kV1beta1);
  MOAT_ASSIGN_OR_RETURN(std::string kind, StringField(root, "kind", "AdmissionReview"));
  if (kind != "AdmissionReview") return Fail("kind: \"", kind, "\" is not AdmissionReview");
  k8s::Value* request = Entry(root, "request");
  if (request == nullptr || request->IsNull()) return Fail("request: missing");
  if (!request->IsMap()) return Fail("request: expected an object, found a ", request->TypeName());

  MOAT_ASSIGN_OR_RETURN(r.uid, StringField(*request, "uid", "request"));
  if (r.uid.empty()) return Fail("request.uid: missing");
  if (const k8s::Value* gvk = request->Field("kind")) {
    if (!gvk->IsMap()) return Fail("request.kind: expected an object, found a ", gvk->TypeName());
    MOAT_ASSIGN_OR_RETURN(r.kind.group, StringField(*gvk, "group", "request.kind"));
    MOAT_ASSIGN_OR_RETURN(r.kind.version, StringField(*gvk, "version", "request.kind"));
    MOAT_ASSIGN_OR_RETURN(r.kind.kind, StringField(*gvk, "kind", "request.kind"));
  }
  if (r.kind.kind.empty()) return Fail("request.kind.kind: missing");
  if (const k8s::Value* gvr = request->Field("resource")) {
    if (!gvr->IsMap())
      return Fail("request.resource: expected an object, found a ", gvr->TypeName());
    MOAT_ASSIGN_OR_RETURN(r.resource_group, StringField(*gvr, "group", "request.resource"));
    MOAT_ASSIGN_OR_RETURN(r.resource, StringField(*gvr, "resource", "request.resource"));
  }
  MOAT_ASSIGN_OR_RETURN(r.sub_resource, StringField(*request, "subResource", "request"));
  MOAT_ASSIGN_OR_RETURN(r.name, StringField(*request, "name", "request"));
  MOAT_ASSIGN_OR_RETURN(r.namespace_name, StringField(*request, "namespace", "request"));
  MOAT_ASSIGN_OR_RETURN(std::string operation, StringField(*request, "operation", "request"));
  if (operation == "CREATE") {
    r.operation = Operation::kCreate;
  } else if (operation == "UPDATE") {
    r.operation = Operation::kUpdate;
  } else if (operation == "DELETE") {
    r.operation = Operation::kDelete;
  } else if (operation == "CONNECT") {
    r.operation = Operation::kConnect;
  } else if (operation.empty()) {
    return Fail("request.operation: missing");
  } else {
    return Fail("request.operation: \"", operation, "\" is not CREATE, UPDATE, DELETE or CONNECT");
  }
  if (const k8s::Value* user = request->Field("userInfo")) {
    if (!user->IsMap())
      return Fail("request.userInfo: expected an object, found a ", user->TypeName());
    MOAT_ASSIGN_OR_RETURN(r.username, StringField(*user, "username", "request.userInfo"));
    if (const k8s::Value* groups = user->Field("groups")) {
      if (!groups->IsSequence()) return Fail("request.userInfo.groups: expected a list");
      for (const k8s::Value& g : groups->Items()) r.groups.push_back(g.text);
    }
  }
  if (const k8s::Value* dry_run = request->Field("dryRun")) {
    if (!dry_run->IsBool())
      return Fail("request.dryRun: expected true or false, found \"", dry_run->text, "\"");
    r.dry_run = dry_run->IsTrue();
  }
  MOAT_TRY(DecodeObject(*request, "object", r, r.has_object, r.object));
  MOAT_TRY(DecodeObject(*request, "oldObject", r, r.has_old_object, r.old_object));
  if ((r.operation == Operation::kCreate || r.operation == Operation::kUpdate) && !r.has_object)
    return Fail("request.object: missing for ", operation);
  // What is left once the objects are moved out (their entries lost their keys).
  auto& fields = request->children;
  fields.erase(std::remove_if(fields.begin(), fields.end(),
                              [](const k8s::Value& e) {
                                return e.key.empty() || e.key == "object" || e.key == "oldObject";
                              }),
               fields.end());
  request->key.clear();
  r.fields = std::move(*request);
  return r;
}

bool AddWarning(AdmissionResponse& response, std::string_view warning) {
  std::string text(warning);
  if (text.size() > kMaxWarningChars) {
    size_t cut = kMaxWarningChars - 3;
    // Never split a UTF-8 sequence: back up over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "...";
  }
  size_t used = 0;
  for (const std::string& w : response.warnings) used += w.size();
  if (used + text.size() > kMaxWarningsBytes) return false;
  response.warnings.push_back(std::move(text));
  return true;
}

std::string EncodeAdmissionReview(std::string_view api_version, std::string_view uid,
                                  const AdmissionResponse& response) {
  std::string out;
  out.reserve(256 + response.message.size());
  out += "{\"apiVersion\":";
  AppendJsonString(out, api_version.empty() ? kV1 : api_version);
  out += ",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":";
  AppendJsonString(out, uid);
  out += response.allowed ? ",\"allowed\":true" : ",\"allowed\":false";
  if (!response.allowed || !response.message.empty()) {
    out += ",\"status\":{\"code\":" + std::to_string(response.code);
    if (!response.allowed) out += ",\"status\":\"Failure\"";
    if (!response.reason.empty()) {
      out += ",\"reason\":";
      AppendJsonString(out, response.reason);
    }
    out += ",\"message\":";
    AppendJsonString(out, response.message);
    out += "}";
  }
  if (!response.warnings.empty()) {
    out += ",\"warnings\":[";
    for (size_t i = 0; i < response.warnings.size(); ++i) {
      if (i > 0) out += ",";
      AppendJsonString(out, response.warnings[i]);
    }
    out += "]";
  }
  if (!response.audit_annotations.empty()) {
    out += ",\"auditAnnotations\":{";
    for (size_t i = 0; i < response.audit_annotations.size(); ++i) {
      if (i > 0) out += ",";
      AppendJsonString(out, response.audit_annotations[i].first);
      out += ":";
      AppendJsonString(out, response.audit_annotations[i].second);
    }
    out += "}";
  }
  if (!response.patch.empty()) {
    out += ",\"patchType\":\"JSONPatch\",\"patch\":";
    AppendJsonString(out, Base64Encode(response.patch));
  }
  out += "}}";
  return out;
}

}  // namespace moat::admission
