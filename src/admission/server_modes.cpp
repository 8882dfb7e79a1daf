#include "admission/server_modes.h"

#include <utility>

#include "core/http.h"
#include "core/log.h"

namespace moat::admission {

namespace {
constexpr const char* kModesPath = "/api/v1/admission/policies";
constexpr size_t kMaxModesBytes = 4u << 20;
}  // namespace

Result<std::vector<PolicyRule>> ServerModes::ParseRules(const std::string& body,
                                                        const std::string& name) {
  if (body.size() > kMaxModesBytes)
    return Fail(name, ": the answer is over ", std::to_string(kMaxModesBytes), " bytes");
  MOAT_ASSIGN_OR_RETURN(AdmissionConfig config, ParseAdmissionConfig(body, name));
  // Only the modes: anything else in the answer (mutations, image gate settings) is the
  // configuration file's business, and the server does not send it.
  if (!config.mutations.empty())
    return Fail(name, ": the answer has mutations; expected only a policies: section");
  return std::move(config.rules);
}

Result<std::shared_ptr<ServerModes>> ServerModes::Start(ServerModesOptions options) {
  std::string base = options.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::shared_ptr<ServerModes> modes(new ServerModes(std::move(options)));
  modes->endpoint_ = base + kModesPath;
  MOAT_TRY(modes->Poll());
  modes->poller_ = std::thread([raw = modes.get()] { raw->Run(); });
  return modes;
}

ServerModes::~ServerModes() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (poller_.joinable()) poller_.join();
}

std::vector<PolicyRule> ServerModes::rules() const {
  std::lock_guard lock(mutex_);
  return rules_;
}

Result<bool> ServerModes::Poll() {
  HttpRequest request;
  request.url = endpoint_;
  request.headers.emplace_back("Authorization", "Bearer " + options_.token);
  request.headers.emplace_back("Accept", "application/json");
  std::string etag;
  {
    std::lock_guard lock(mutex_);
    etag = etag_;
  }
  if (!etag.empty()) request.headers.emplace_back("If-None-Match", etag);
  request.ca_pem = options_.ca_pem;
  request.timeout_seconds = options_.timeout_seconds;
  request.follow_redirects = false;
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, HttpFetch(request));
  if (response.status == 304) return false;
  if (response.status == 401 || response.status == 403)
    return Fail(
        endpoint_, ": the server refused the token (HTTP ", std::to_string(response.status),
        "): give a token of role reader (or, for the cluster agent, its token of role agent)");
  if (response.status != 200)
    return Fail(endpoint_, ": HTTP ", std::to_string(response.status), ": ",
                response.body.substr(0, 200));
  MOAT_ASSIGN_OR_RETURN(std::vector<PolicyRule> rules, ParseRules(response.body, endpoint_));
  {
    std::lock_guard lock(mutex_);
    rules_ = std::move(rules);
    etag_ = response.Header("etag");
  }
  generation_++;
  return true;
}

void ServerModes::Run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
    lock.unlock();
    auto changed = Poll();
    if (!changed.ok()) {
      failures_++;
      log::Warn("admission: policy modes not refreshed, keeping the last ones: " +
                changed.error().message);
    } else if (*changed) {
      log::Info("admission: policy modes changed on " + options_.url);
    }
    lock.lock();
  }
}

}  // namespace moat::admission
