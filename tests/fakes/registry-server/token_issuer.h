// TokenIssuer: a STAND-IN for a registry's token service (what auth.docker.io, ghcr.io/token or
// Harbor's /service/token are), for tests. It is not any of those; it implements the Docker
// token protocol as far as the tests need it, and checks every request it gets.
//
//   GET /token?service=<service>&scope=repository:<name>:<actions>[&account=<user>]
//     [Authorization: Basic <user:password>]
//   -> 200 {"token": <JWT>, "access_token": <JWT>, "expires_in": 300, "issued_at": ...}
//
// The JWT is signed RS256 with a key made at start by the `openssl` command, its self-signed
// certificate in the header's `x5c`; Debian's docker-registry configured with `auth: token` and
// that certificate as its `rootcertbundle` (RegistryServerOptions::token_issuer) verifies it
// itself. Checks, each answered as a real token service would and recorded in problems():
// the service is the one configured, the scope is `repository:<name>:<actions>` with known
// actions, credentials (when sent) are Basic and right, `account` (when sent) is the user
// who authenticated. Granted: the actions asked for to the user, `pull` alone to anonymous
// clients when anonymous_pull is set (401 otherwise).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace baton::webapi {
class HttpServer;
}

namespace baton::testing {

struct TokenIssuerOptions {
  std::string service = "baton-test-registry";  // the registry's name (`aud` of tokens)
  std::string issuer = "baton-test-token-issuer";
  std::string username;  // with password: credentials that get every action asked for
  std::string password;
  bool anonymous_pull = false;  // clients without credentials get `pull`
  // Signs tokens with a second key the registry does not trust (the registry must refuse).
  bool sign_with_untrusted_key = false;
};

// One request as the stand-in saw it.
struct TokenRequest {
  std::string service;
  std::string scope;
  std::string account;
  bool had_credentials = false;
  int status = 0;  // what the stand-in answered
};

class TokenIssuer {
 public:
  // Makes keys and certificates under `dir` and starts serving on 127.0.0.1 (a free port).
  // Throws std::runtime_error when openssl or the server fails.
  TokenIssuer(const std::filesystem::path& dir, TokenIssuerOptions options = {});
  ~TokenIssuer();
  TokenIssuer(const TokenIssuer&) = delete;
  TokenIssuer& operator=(const TokenIssuer&) = delete;

  const TokenIssuerOptions& options() const { return options_; }
  // "http://127.0.0.1:<port>/token"
  std::string realm() const;
  // The certificate the registry trusts (PEM file).
  const std::filesystem::path& cert_path() const { return cert_; }

  std::vector<TokenRequest> requests() const;
  // Every token handed out (to check that none reaches a log).
  std::vector<std::string> tokens() const;
  // What was wrong with requests, in words ("service `x` is not baton-test-registry").
  std::vector<std::string> problems() const;

 private:
  struct Answer;
  Answer Issue(const std::string& service, const std::vector<std::string>& scopes,
               const std::string& account, const std::string& authorization);
  std::string Sign(const std::string& claims_json) const;

  std::filesystem::path dir_;
  TokenIssuerOptions options_;
  std::filesystem::path cert_;
  std::filesystem::path key_;  // the key whose certificate the registry trusts, or the other
  std::filesystem::path x5c_cert_;
  std::unique_ptr<webapi::HttpServer> server_;
  mutable std::mutex mu_;
  std::vector<TokenRequest> requests_;
  std::vector<std::string> tokens_;
  std::vector<std::string> problems_;
};

}  // namespace baton::testing
