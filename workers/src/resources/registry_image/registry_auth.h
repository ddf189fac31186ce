// The pieces of a registry's authentication that need no connection: reading a 401's
// `WWW-Authenticate` challenge (RFC 7235), the token request of Docker's token protocol
// (`GET <realm>?service=...&scope=repository:<name>:<actions>`), reading the token service's
// answer, and the registry's own error words. Pure; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "baton/common/status.h"
#include "baton/workers/http_transport.h"

namespace baton::workers::resources {

// `Bearer realm="https://auth",service="registry",scope="repository:a:pull"` -> scheme (lower
// case) and parameters; quoted values may hold commas.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;

  // The parameter `name`, or "".
  std::string Param(const std::string& name) const;
};
Challenge ParseChallenge(std::string_view header);

// The URL a token for `scope` is asked for at: the challenge's realm with service, scope and
// (when given) account as query parameters.
std::string TokenUrl(const Challenge& challenge, const std::string& scope,
                     const std::string& account);

// The token in a token service's 200 answer (`token`, or OAuth2's `access_token`); "" when the
// answer holds neither.
std::string TokenFromAnswer(const std::string& body);

// The service's own words from an error answer: the registry's
// `{"errors":[{"code","message"}]}`, a token service's `{"details"}` or `{"error"}`, or the
// start of the text.
std::string ServiceMessage(const HttpResponse& response);

// Whether the registry's error answer (`{"errors":[{"code",...}]}`) names `code`, e.g.
// NAME_UNKNOWN for a repository nothing was pushed to.
bool HasRegistryError(const HttpResponse& response, std::string_view code);

}  // namespace baton::workers::resources
