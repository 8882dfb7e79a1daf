#pragma once
// Registry authentication pieces parsed from untrusted input (exposed for tests and fuzzing).

#include <map>
#include <string>
#include <string_view>

#include "core/http.h"
#include "core/result.h"

namespace moat {

/// One challenge of a WWW-Authenticate header: `Bearer realm="...",service="...",scope="..."`.
struct AuthChallenge {
  std::string scheme;                         // lower-case: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower-case, quoted-strings unescaped
};

/// Parses the first challenge of a WWW-Authenticate value (RFC 7235 auth-param syntax).
Result<AuthChallenge> ParseWwwAuthenticate(std::string_view header);

/// Credentials for `registry` ("docker.io", "127.0.0.1:5000") from a Docker config.json text
/// (`auths` entries with base64 "auth" or username/password). Returns empty user when none.
struct RegistryCredentials {
  std::string username;
  std::string password;
};
Result<RegistryCredentials> CredentialsFromDockerConfig(std::string_view config_json,
                                                        std::string_view registry,
                                                        std::string_view input_name);

/// Answers a `Bearer` challenge: asks the challenge's realm for a token of `scope` (with the
/// challenge's service, and Basic credentials when given) and returns it. `request` carries the
/// TLS and timeout settings. Errors name `source_name`, the realm and the token server's reply.
Result<std::string> FetchRegistryToken(const AuthChallenge& challenge, const std::string& scope,
                                       const RegistryCredentials& credentials, HttpRequest request,
                                       const std::string& source_name);

}  // namespace moat
