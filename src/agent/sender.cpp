#include "agent/sender.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/http.h"
#include "core/log.h"

namespace moat::agent {
namespace {

using Json = nlohmann::json;

// Path segment escaping (RFC 3986 unreserved characters pass).
std::string EscapePathSegment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The server's {"error": "..."} message, else the start of the body.
std::string ServerMessage(const HttpResponse& response) {
  Json json = Json::parse(response.body, nullptr, false);
  if (json.is_object()) {
    auto error = json.find("error");
    if (error != json.end() && error->is_string()) return error->get<std::string>();
  }
  return response.body.substr(0, 200);
}

// {"acked_through": N} from a 200 or 409 answer.
Result<uint64_t> AckedThrough(const HttpResponse& response, std::string_view what) {
  Json json = Json::parse(response.body, nullptr, false);
  if (json.is_object()) {
    auto acked = json.find("acked_through");
    if (acked != json.end() && acked->is_number_unsigned()) return acked->get<uint64_t>();
    if (acked != json.end() && acked->is_number_integer() && acked->get<int64_t>() >= 0) {
      return static_cast<uint64_t>(acked->get<int64_t>());
    }
  }
  return Fail("server answer to ", what, " (HTTP ", std::to_string(response.status),
              "): no acked_through (a non-negative integer) in: ", response.body.substr(0, 200));
}

bool LoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  // 127.0.0.0/8 in dotted decimal.
  if (host.rfind("127.", 0) != 0) return false;
  int parts = 0;
  size_t start = 0;
  while (start <= host.size()) {
    size_t end = host.find('.', start);
    if (end == std::string_view::npos) end = host.size();
    std::string_view part = host.substr(start, end - start);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(part)) > 255) {
      return false;
    }
    ++parts;
    start = end + 1;
  }
  return parts == 4;
}

}  // namespace

Result<void> ValidateServerUrl(std::string_view url) {
  std::string_view rest;
  bool https = false;
  if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    https = true;
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return Fail("--server ", url, ": expected an https:// URL (http:// only on loopback)");
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string_view::npos) {
    return Fail("--server ", url, ": credentials in the URL are not supported; use --token-file");
  }
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    host =
        host.substr(0, host.find(']') == std::string_view::npos ? host.size() : host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host.empty()) return Fail("--server ", url, ": no host");
  if (!https && !LoopbackHost(host)) {
    return Fail(
        "--server ", url, ": plain http is allowed only to a loopback address, since the ",
        "token and this host's inventory would cross the network unencrypted; use https:// ",
        "(with --ca-file for a private CA)");
  }
  return Ok();
}

std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds cap) {
  int64_t delay = initial.count();
  for (int i = 1; i < attempt && delay < cap.count(); ++i) delay *= 2;
  delay = std::min<int64_t>(delay, cap.count());
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(delay) * jitter(random)));
}

Sender::Sender(Spool& spool, ServerConfig server, Registration registration, SenderOptions options)
    : spool_(spool),
      server_(std::move(server)),
      registration_(std::move(registration)),
      options_(options) {
  while (!server_.url.empty() && server_.url.back() == '/') server_.url.pop_back();
}

Sender::Step Sender::Retry(std::string message) {
  last_error_ = std::move(message);
  if (!outage_reported_) {
    log::Warn(last_error_ + "; retrying with backoff (messages stay in the spool " + spool_.dir() +
              ")");
    outage_reported_ = true;
  } else {
    log::Debug(last_error_);
  }
  return Step::kRetry;
}

Sender::Step Sender::Fatal(std::string message) {
  last_error_ = std::move(message);
  fatal_ = true;
  return Step::kFatal;
}

Sender::Step Sender::AdoptServerAcked(uint64_t acked) {
  Result<void> adopted =
      acked > spool_.last_seq() ? spool_.Rebase(acked) : spool_.Acknowledge(acked);
  if (!adopted.ok()) return Fatal("spool: " + adopted.error().message);
  server_acked_ = acked;
  return Step::kProgress;
}

Sender::Step Sender::Register() {
  Json body = {{"name", registration_.name},
               {"kind", registration_.kind},
               {"version", registration_.version},
               {"hostname", registration_.hostname}};
  HttpRequest request;
  request.method = "POST";
  request.url = server_.url + "/api/v1/agents/register";
  request.headers = {{"Authorization", "Bearer " + server_.token},
                     {"Content-Type", "application/json"}};
  request.body = body.dump();
  request.ca_pem = server_.ca_pem;
  request.connect_timeout_seconds = 10;
  request.timeout_seconds = server_.request_timeout_seconds;
  request.deadline = deadline_;
  auto response = HttpFetch(request);
  if (!response.ok())
    return Retry("register with " + server_.url + ": " + response.error().message);
  const long status = response->status;
  if (status == 401 || status == 403) {
    return Fatal("server " + server_.url + " refused the agent's token (HTTP " +
                 std::to_string(status) + ": " + ServerMessage(*response) +
                 "); check --token/--token-file (the token needs the agent or admin role)");
  }
  if (status >= 500 || status == 408 || status == 429) {
    return Retry("register with " + server_.url + ": HTTP " + std::to_string(status) + ": " +
                 ServerMessage(*response));
  }
  if (status != 200) {
    return Fatal("register with " + server_.url + ": HTTP " + std::to_string(status) + ": " +
                 ServerMessage(*response));
  }
  Json json = Json::parse(response->body, nullptr, false);
  auto acked = AckedThrough(*response, "register");
  if (!acked.ok() || !json.is_object() || !json.contains("agent_id") ||
      !json["agent_id"].is_string() || json["agent_id"].get<std::string>().empty()) {
    return Fatal("register with " + server_.url + ": the answer is not {\"agent_id\": string, " +
                 "\"acked_through\": integer}: " + response->body.substr(0, 200));
  }
  agent_id_ = json["agent_id"].get<std::string>();
  registered_ = true;
  log::Info("registered with " + server_.url + " as agent " + agent_id_ +
            " (server has applied through seq " + std::to_string(*acked) + ")");
  return AdoptServerAcked(*acked);
}

Sender::Step Sender::SendBatch(const std::vector<SpooledMessage>& batch) {
  std::string body = "{\"messages\":[";
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i > 0) body += ',';
    body += batch[i].json;
  }
  body += "]}";
  const std::string range =
      "seq " + std::to_string(batch.front().seq) + ".." + std::to_string(batch.back().through);
  HttpRequest request;
  request.method = "POST";
  request.url = server_.url + "/api/v1/agents/" + EscapePathSegment(agent_id_) + "/messages";
  request.headers = {{"Authorization", "Bearer " + server_.token},
                     {"Content-Type", "application/json"}};
  request.body = std::move(body);
  request.ca_pem = server_.ca_pem;
  request.connect_timeout_seconds = 10;
  request.timeout_seconds = server_.request_timeout_seconds;
  request.deadline = deadline_;
  auto response = HttpFetch(request);
  if (!response.ok()) return Retry("send " + range + ": " + response.error().message);
  const long status = response->status;
  const std::string what = "send " + range + " to " + server_.url;
  if (status == 200 || status == 409) {
    auto acked = AckedThrough(*response, what);
    if (!acked.ok()) return Retry(acked.error().message);
    if (status == 409) {
      log::Info(what + ": the server has applied through seq " + std::to_string(*acked) +
                "; resending from there");
    }
    const uint64_t before = server_acked_;
    Step step = AdoptServerAcked(*acked);
    if (step != Step::kProgress) return step;
    // An answer that tells nothing new would loop at full speed: back off instead. (A 409 may
    // move acked_through back, when the server lost what it had applied.)
    if (status == 200 ? *acked <= before : *acked == before) {
      return Retry(what + ": HTTP " + std::to_string(status) + " without progress (acked_through " +
                   std::to_string(*acked) + ")");
    }
    if (outage_reported_) log::Info("server " + server_.url + " reachable again");
    outage_reported_ = false;
    return Step::kProgress;
  }
  if (status == 401 || status == 403) {
    return Fatal(what + ": the server refused the agent's token (HTTP " + std::to_string(status) +
                 ": " + ServerMessage(*response) + "); check --token/--token-file");
  }
  if (status == 404) {
    registered_ = false;  // the server no longer knows this agent (a new database): register again
    return Retry(what + ": HTTP 404 (" + ServerMessage(*response) + "); registering again");
  }
  if (status >= 500 || status == 408 || status == 429) {
    return Retry(what + ": HTTP " + std::to_string(status) + ": " + ServerMessage(*response));
  }
  // 400 and the rest: resending the same batch would be refused the same way.
  return Fatal(what + ": refused with HTTP " + std::to_string(status) + ": " +
               ServerMessage(*response) + " (the messages stay in the spool " + spool_.dir() + ")");
}

Result<void> Sender::Flush(const std::function<bool()>& stop,
                           std::chrono::steady_clock::time_point deadline) {
  using Clock = std::chrono::steady_clock;
  deadline_ = deadline;
  if (fatal_) return Fail(last_error_);
  int failures = 0;
  while (true) {
    auto pending = [&] {
      return std::to_string(spool_.pending()) + " messages still spooled in " + spool_.dir();
    };
    if (stop()) return Fail("stopped; ", pending());
    Step step;
    if (!registered_) {
      step = Register();
    } else {
      auto batch =
          spool_.ReadFrom(server_acked_ + 1, options_.max_batch_messages, options_.max_batch_bytes);
      if (!batch.ok()) {
        fatal_ = true;
        last_error_ = batch.error().message;
        return batch.error();
      }
      if (batch->empty()) return Ok();
      step = SendBatch(*batch);
    }
    if (step == Step::kFatal) return Fail(last_error_);
    if (step == Step::kProgress) {
      failures = 0;
      continue;
    }
    auto wake =
        Clock::now() + BackoffDelay(++failures, options_.initial_backoff, options_.max_backoff);
    while (Clock::now() < wake) {
      if (stop()) return Fail("stopped; ", pending());
      if (Clock::now() >= deadline) {
        return Fail("server ", server_.url, " not reached in time (", last_error_, "); ",
                    pending());
      }
      std::this_thread::sleep_for(
          std::min<Clock::duration>(wake - Clock::now(), std::chrono::milliseconds(50)));
    }
    if (Clock::now() >= deadline) {
      return Fail("server ", server_.url, " not reached in time (", last_error_, "); ", pending());
    }
  }
}

}  // namespace moat::agent
