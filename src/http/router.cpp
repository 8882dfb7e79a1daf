// Method + path-pattern dispatch for the HTTP server.

#include <algorithm>

#include "core/check.h"
#include "core/text.h"
#include "http/server.h"

namespace moat::http {
namespace {

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}
bool IsRest(std::string_view segment) {
  return IsParam(segment) && segment.size() > 5 && segment.substr(segment.size() - 4) == "...}";
}
std::string_view ParamName(std::string_view segment) {
  segment = segment.substr(1, segment.size() - 2);
  if (segment.size() >= 3 && segment.substr(segment.size() - 3) == "...") {
    segment.remove_suffix(3);
  }
  return segment;
}

// How specific a match is, segment by segment: a literal beats a {name}, which beats a
// {name...}, so "/images/export" wins over "/images/{digest}" whatever the order of Add.
enum SegmentRank { kRestRank = 0, kParamRank = 1, kLiteralRank = 2 };

// Matches `path` (already split after its leading '/') against a pattern's segments; on a match
// fills the parameters and the ranks.
bool Match(const std::vector<std::string>& pattern, const std::vector<std::string_view>& path,
           std::vector<std::pair<std::string, std::string>>& params, std::vector<int>& ranks) {
  params.clear();
  ranks.clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    const std::string& segment = pattern[i];
    if (IsRest(segment)) {
      if (i >= path.size()) return false;
      // The rest of the path as sent, slashes included: from this segment to the end.
      const char* begin = path[i].data();
      const char* end = path.back().data() + path.back().size();
      std::string rest(begin, end);
      if (rest.empty()) return false;
      params.emplace_back(ParamName(segment), std::move(rest));
      ranks.push_back(kRestRank);
      return true;
    }
    if (i >= path.size()) return false;
    if (IsParam(segment)) {
      if (path[i].empty()) return false;
      params.emplace_back(ParamName(segment), path[i]);
      ranks.push_back(kParamRank);
    } else {
      if (path[i] != segment) return false;
      ranks.push_back(kLiteralRank);
    }
  }
  return pattern.size() == path.size();
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler) {
  // Patterns are written by us, not sent by clients: a bad one is a programming error.
  MOAT_CHECK(!pattern.empty() && pattern.front() == '/');
  Entry entry;
  entry.method = std::move(method);
  entry.pattern = std::move(pattern);
  std::vector<std::string_view> names;
  std::vector<std::string_view> segments = Split(std::string_view(entry.pattern).substr(1), '/');
  for (size_t i = 0; i < segments.size(); ++i) {
    std::string_view segment = segments[i];
    if (IsParam(segment)) {
      MOAT_CHECK(!IsRest(segment) || i + 1 == segments.size());  // {name...} only at the end
      std::string_view name = ParamName(segment);
      MOAT_CHECK(!name.empty() && std::find(names.begin(), names.end(), name) == names.end());
      names.push_back(name);
    }
    entry.segments.emplace_back(segment);
  }
  entry.handler = std::move(handler);
  routes_.push_back(std::move(entry));
}

Response Router::Route(Request& request) const {
  if (request.path.empty() || request.path.front() != '/') {
    return Response::Error(404, "not found: " + request.path);
  }
  std::vector<std::string_view> path = Split(std::string_view(request.path).substr(1), '/');
  const Entry* best = nullptr;
  std::vector<int> best_ranks;
  std::vector<std::pair<std::string, std::string>> best_params;
  std::vector<std::string> allowed;
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<int> ranks;
  // HEAD is GET without the body (the server drops it) unless a HEAD route exists.
  bool has_head_route = false;
  for (const Entry& entry : routes_) {
    if (!Match(entry.segments, path, params, ranks)) continue;
    if (std::find(allowed.begin(), allowed.end(), entry.method) == allowed.end()) {
      allowed.push_back(entry.method);
    }
    has_head_route = has_head_route || entry.method == "HEAD";
    bool method_matches =
        entry.method == request.method || (request.method == "HEAD" && entry.method == "GET");
    if (!method_matches) continue;
    // An explicit HEAD route beats GET-as-HEAD at equal specificity.
    bool better =
        best == nullptr || ranks > best_ranks ||
        (ranks == best_ranks && entry.method == request.method && best->method != request.method);
    if (better) {
      best = &entry;
      best_ranks = ranks;
      best_params = params;
    }
  }
  if (best != nullptr) {
    request.path_params = std::move(best_params);
    return best->handler(request);
  }
  if (allowed.empty()) return Response::Error(404, "not found: " + request.path);
  if (!has_head_route && std::find(allowed.begin(), allowed.end(), "GET") != allowed.end()) {
    allowed.push_back("HEAD");
  }
  std::string allow;
  for (const std::string& method : allowed) allow += (allow.empty() ? "" : ", ") + method;
  Response response = Response::Error(405, "method " + request.method + " not allowed for " +
                                               request.path + " (allowed: " + allow + ")");
  response.headers.emplace_back("Allow", allow);
  return response;
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> routes;
  for (const Entry& entry : routes_) routes.emplace_back(entry.method, entry.pattern);
  return routes;
}

}  // namespace moat::http
