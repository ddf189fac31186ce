#include "registry-server/token_issuer.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "baton/webapi/http_server.h"
#include "baton/webapi/router.h"
#include "registry-server/registry_fixture.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

// JWTs use the URL alphabet without padding (RFC 7515 §2).
std::string Base64Url(std::string_view in) {
  std::string out = Base64(in);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string Unbase64(const std::string& in) {
  std::string out(3 * (in.size() / 4) + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t pad = in.size() - in.find_last_not_of('=') - 1;
  out.resize(static_cast<size_t>(n) - std::min<size_t>(pad, static_cast<size_t>(n)));
  return out;
}

// The DER bytes of the certificate in a PEM file.
std::string CertificateDer(const fs::path& pem) {
  FILE* f = std::fopen(pem.c_str(), "r");
  if (f == nullptr) throw std::runtime_error("cannot open " + pem.string());
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) throw std::runtime_error("no certificate in " + pem.string());
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<char*>(der), n < 0 ? 0 : static_cast<size_t>(n));
  OPENSSL_free(der);
  X509_free(cert);
  return out;
}

void MakeKeyAndCertificate(const fs::path& key, const fs::path& cert, const std::string& cn) {
  RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
              "/CN=" + cn, "-keyout", key.string(), "-out", cert.string()},
             key.parent_path());
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

struct TokenIssuer::Answer {
  int status = 200;
  nlohmann::json body;
};

TokenIssuer::TokenIssuer(const fs::path& dir, TokenIssuerOptions options)
    : dir_(dir), options_(std::move(options)), cert_(dir / "token-cert.pem") {
  fs::create_directories(dir_);
  MakeKeyAndCertificate(dir_ / "token-key.pem", cert_, "baton-test-token-issuer");
  key_ = dir_ / "token-key.pem";
  x5c_cert_ = cert_;
  if (options_.sign_with_untrusted_key) {
    MakeKeyAndCertificate(dir_ / "other-key.pem", dir_ / "other-cert.pem", "not-trusted");
    key_ = dir_ / "other-key.pem";
    x5c_cert_ = dir_ / "other-cert.pem";
  }
  webapi::Router router;
  router.Add("GET", "/token", [this](webapi::Request& request) {
    std::vector<std::string> scopes;
    for (auto [it, end] = request.query.equal_range("scope"); it != end; ++it)
      scopes.push_back(it->second);
    Answer a =
        Issue(request.Query("service").value_or(""), scopes, request.Query("account").value_or(""),
              request.headers.Get("Authorization").value_or(""));
    return webapi::Response::Json(a.status, a.body);
  });
  server_ = std::make_unique<webapi::HttpServer>(std::move(router), webapi::ServerOptions{});
  Status s = server_->Start();
  if (!s.ok()) throw std::runtime_error("token issuer stand-in: " + s.ToString());
}

TokenIssuer::~TokenIssuer() { server_->Stop(); }

std::string TokenIssuer::realm() const { return server_->base_url() + "/token"; }

std::vector<TokenRequest> TokenIssuer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}
std::vector<std::string> TokenIssuer::tokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_;
}
std::vector<std::string> TokenIssuer::problems() const {
  std::lock_guard<std::mutex> lock(mu_);
  return problems_;
}

TokenIssuer::Answer TokenIssuer::Issue(const std::string& service,
                                       const std::vector<std::string>& scopes,
                                       const std::string& account,
                                       const std::string& authorization) {
  TokenRequest seen{service, "", account, !authorization.empty(), 0};
  for (const auto& s : scopes) seen.scope += (seen.scope.empty() ? "" : " ") + s;
  std::lock_guard<std::mutex> lock(mu_);
  // A protocol mistake: recorded, and answered 400 as a token service does.
  auto wrong = [&](const std::string& problem) {
    problems_.push_back(problem);
    seen.status = 400;
    requests_.push_back(seen);
    return Answer{400, {{"details", problem + " (token issuer stand-in)"}}};
  };
  auto refuse = [&](const std::string& why) {
    seen.status = 401;
    requests_.push_back(seen);
    return Answer{401, {{"details", why}}};
  };
  if (service != options_.service)
    return wrong("service `" + service + "` is not " + options_.service);
  std::string user;
  if (!authorization.empty()) {
    if (authorization.rfind("Basic ", 0) != 0)
      return wrong("credentials are not HTTP Basic: `" + authorization.substr(0, 7) + "...`");
    std::string pair = Unbase64(authorization.substr(6));
    size_t colon = pair.find(':');
    if (options_.username.empty() || colon == std::string::npos ||
        pair.substr(0, colon) != options_.username || pair.substr(colon + 1) != options_.password)
      return refuse("incorrect username or password");
    user = options_.username;
  }
  if (!account.empty() && account != user)
    return wrong("account `" + account + "` is not the user who authenticated (`" + user + "`)");
  if (user.empty() && !options_.anonymous_pull) return refuse("authentication required");
  nlohmann::json access = nlohmann::json::array();
  for (const auto& scope : scopes) {
    std::vector<std::string> parts = Split(scope, ':');
    if (parts.size() != 3 || parts[0] != "repository" || parts[1].empty())
      return wrong("scope `" + scope + "` is not repository:<name>:<actions>");
    nlohmann::json granted = nlohmann::json::array();
    for (const auto& action : Split(parts[2], ',')) {
      if (action != "pull" && action != "push" && action != "delete" && action != "*")
        return wrong("scope `" + scope + "` asks for an unknown action `" + action + "`");
      if (action == "pull" || (action == "push" && !user.empty())) granted.push_back(action);
    }
    access.push_back({{"type", "repository"}, {"name", parts[1]}, {"actions", granted}});
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  nlohmann::json claims = {{"iss", options_.issuer},
                           {"sub", user},
                           {"aud", options_.service},
                           {"exp", now + 300},
                           {"nbf", now - 10},
                           {"iat", now},
                           {"jti", "baton-test-" + std::to_string(tokens_.size() + 1)},
                           {"access", access}};
  std::string token = Sign(claims.dump());
  tokens_.push_back(token);
  seen.status = 200;
  requests_.push_back(seen);
  return Answer{200, {{"token", token}, {"access_token", token}, {"expires_in", 300}}};
}

std::string TokenIssuer::Sign(const std::string& claims_json) const {
  nlohmann::json header = {
      {"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {Base64(CertificateDer(x5c_cert_))}}};
  std::string input = Base64Url(header.dump()) + "." + Base64Url(claims_json);
  FILE* f = std::fopen(key_.c_str(), "r");
  if (f == nullptr) throw std::runtime_error("cannot open " + key_.string());
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (key == nullptr) throw std::runtime_error("no private key in " + key_.string());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t n = 0;
  std::string signature;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &n, reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()) == 1;
  if (ok) {
    signature.resize(n);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &n,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    signature.resize(n);
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok) throw std::runtime_error("token issuer stand-in: signing failed");
  return input + "." + Base64Url(signature);
}

}  // namespace baton::testing
