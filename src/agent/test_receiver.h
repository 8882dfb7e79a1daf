#pragma once
// Test-only: the server side of the agent protocol (docs/server/agent-protocol.md) on a loopback
// port, enforcing its acknowledgement rules the way moat server does: bearer token, contiguous
// seq (409 with acked_through on a gap), duplicates skipped, a malformed batch refused whole
// (400 naming the message and field). Its "database" (acked_through, the applied messages)
// outlives Stop()/Start(), like a server restart; a batch can be lost before commit, or applied
// with its answer lost.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/test_http_server.h"

namespace moat::agent::testing {

class ProtocolReceiver {
 public:
  struct Applied {
    uint64_t seq, through;
    std::string type;
    nlohmann::json message;
  };

  explicit ProtocolReceiver(std::string token = "agent-token") : token_(std::move(token)) {
    // A free port, remembered so that a restart listens where the agent looks.
    moat::testing::TestHttpServer probe(
        [](const auto&) { return moat::testing::TestHttpResponse{}; });
    port_ = probe.port();
  }

  void Start() {
    std::lock_guard<std::mutex> lock(server_mutex_);
    for (int attempt = 0; attempt < 50 && (!server_ || server_->port() != port_); ++attempt) {
      server_ = std::make_unique<moat::testing::TestHttpServer>(
          [this](const moat::testing::TestHttpRequest& request) { return Handle(request); }, "",
          port_);
      if (server_->port() != port_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void Stop() {
    std::lock_guard<std::mutex> lock(server_mutex_);
    server_.reset();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// The next batch is not applied and its connection is cut mid-answer (a crash before commit).
  void LoseNextBatch() { lose_next_ = true; }
  /// The next batch is applied but its answer is cut off (a crash after commit).
  void DropNextAnswer() { drop_next_answer_ = true; }
  /// Set when a lost batch or lost answer happened.
  bool Crashed() const { return crashed_; }
  /// A database restored from a backup: the server forgets what it applied after `seq`.
  void ForgetAfter(uint64_t seq) {
    std::lock_guard<std::mutex> lock(mutex_);
    acked_ = seq;
    while (!applied_.empty() && applied_.back().seq > seq) applied_.pop_back();
  }

  std::vector<Applied> applied() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return applied_;
  }
  uint64_t acked() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return acked_;
  }
  size_t batches() const { return batches_; }
  size_t conflicts() const { return conflicts_; }
  size_t registrations() const { return registrations_; }

 private:
  static moat::testing::TestHttpResponse Json(int status, const nlohmann::json& body) {
    moat::testing::TestHttpResponse response;
    response.status = status;
    response.headers = {{"Content-Type", "application/json"}};
    response.body = body.dump();
    return response;
  }
  static moat::testing::TestHttpResponse Refuse(int status, const std::string& message) {
    return Json(status, {{"error", message}});
  }
  static moat::testing::TestHttpResponse Cut(moat::testing::TestHttpResponse response) {
    response.announce_extra_bytes = 100;  // the client sees a connection closed mid-body
    return response;
  }

  moat::testing::TestHttpResponse Handle(const moat::testing::TestHttpRequest& request) {
    if (request.Header("Authorization") != "Bearer " + token_) {
      return Refuse(401, "invalid or missing token");
    }
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (request.method == "POST" && request.target == "/api/v1/agents/register") {
      if (!body.is_object() || !body.contains("name") || !body["name"].is_string() ||
          body["name"].get<std::string>().empty()) {
        return Refuse(400, "name: expected a non-empty string");
      }
      std::lock_guard<std::mutex> lock(mutex_);
      ++registrations_;
      agent_id_ = body["name"].get<std::string>();
      return Json(200, {{"agent_id", agent_id_}, {"acked_through", acked_}});
    }
    const std::string prefix = "/api/v1/agents/";
    const std::string suffix = "/messages";
    if (request.method != "POST" || request.target.rfind(prefix, 0) != 0 ||
        request.target.size() <= prefix.size() + suffix.size() ||
        request.target.compare(request.target.size() - suffix.size(), suffix.size(), suffix) != 0) {
      return Refuse(404, "no route " + request.target);
    }
    std::string id =
        request.target.substr(prefix.size(), request.target.size() - prefix.size() - suffix.size());
    std::lock_guard<std::mutex> lock(mutex_);
    ++batches_;
    if (id != agent_id_) return Refuse(404, "unknown agent " + id);
    if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array() ||
        body["messages"].empty()) {
      return Refuse(400, "messages: expected a non-empty array");
    }
    const auto& messages = body["messages"];
    // Validate the whole batch before applying any of it.
    uint64_t previous_through = 0;
    for (size_t i = 0; i < messages.size(); ++i) {
      const auto& message = messages[i];
      const std::string where = "messages[" + std::to_string(i) + "].";
      if (!message.is_object()) return Refuse(400, where + ": expected an object");
      if (!message.contains("seq") || !message["seq"].is_number_unsigned() ||
          message["seq"].get<uint64_t>() == 0) {
        return Refuse(400, where + "seq: expected a positive integer");
      }
      const uint64_t seq = message["seq"].get<uint64_t>();
      uint64_t through = seq;
      if (message.contains("through")) {
        if (!message["through"].is_number_unsigned() || message["through"].get<uint64_t>() < seq) {
          return Refuse(400, where + "through: expected an integer >= seq");
        }
        through = message["through"].get<uint64_t>();
      }
      const std::string type = message.value("type", "");
      if (type != "heartbeat" && type != "host_report" && type != "alerts" && type != "dropped") {
        return Refuse(400, where + "type: unknown \"" + type + "\"");
      }
      if (through != seq && type != "dropped") {
        return Refuse(400, where + "through: only a dropped message covers a range");
      }
      if (!message.contains("time") || !message["time"].is_string()) {
        return Refuse(400, where + "time: expected a string");
      }
      if (!message.contains("body") || !message["body"].is_object()) {
        return Refuse(400, where + "body: expected an object");
      }
      if (type == "alerts" &&
          (!message["body"].contains("alerts") || !message["body"]["alerts"].is_array())) {
        return Refuse(400, where + "body.alerts: expected an array");
      }
      if (i > 0 && seq != previous_through + 1) {
        return Refuse(400, where + "seq: not contiguous with the message before");
      }
      previous_through = through;
    }
    if (lose_next_.exchange(false)) {
      crashed_ = true;
      return Cut(Json(200, {{"acked_through", acked_}}));
    }
    // The first message the server has not applied must continue its stream.
    for (const auto& message : messages) {
      const uint64_t seq = message["seq"].get<uint64_t>();
      const uint64_t through = message.value("through", seq);
      if (through <= acked_) continue;  // applied before: skipped
      if (seq > acked_ + 1) {
        ++conflicts_;
        return Json(409, {{"error", "gap: expected seq " + std::to_string(acked_ + 1)},
                          {"acked_through", acked_}});
      }
      break;
    }
    for (const auto& message : messages) {
      const uint64_t seq = message["seq"].get<uint64_t>();
      const uint64_t through = message.value("through", seq);
      if (through <= acked_) continue;
      applied_.push_back({seq, through, message["type"].get<std::string>(), message});
      acked_ = through;
    }
    auto answer = Json(200, {{"acked_through", acked_}});
    if (drop_next_answer_.exchange(false)) {
      crashed_ = true;
      return Cut(answer);
    }
    return answer;
  }

  const std::string token_;
  int port_ = 0;
  std::mutex server_mutex_;
  std::unique_ptr<moat::testing::TestHttpServer> server_;
  mutable std::mutex mutex_;
  std::string agent_id_;
  uint64_t acked_ = 0;
  std::vector<Applied> applied_;
  std::atomic<bool> lose_next_{false}, drop_next_answer_{false}, crashed_{false};
  std::atomic<size_t> batches_{0}, conflicts_{0}, registrations_{0};
};

}  // namespace moat::agent::testing
