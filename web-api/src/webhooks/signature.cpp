// Webhook signature checks (HMAC-SHA256 through OpenSSL's EVP_Q_mac, constant-time compare).
#include <openssl/evp.h>

#include "baton/common/strings.h"
#include "baton/webapi/auth.h"
#include "baton/webapi/webhooks.h"

namespace baton::webapi {
namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Compares `given` (hex, optionally "sha256=" prefixed when `prefixed`) with the body's HMAC.
Status CheckHmac(const std::string& header, const std::string& given, bool prefixed,
                 std::string_view body, std::string_view secret) {
  if (given.empty()) return PermissionDenied("missing " + header + " header");
  std::string hex = given;
  if (prefixed) {
    if (!StartsWith(hex, "sha256=")) {
      return PermissionDenied(header + " must start with \"sha256=\"");
    }
    hex = hex.substr(7);
  }
  if (!ConstantTimeEquals(Lower(hex), HmacSha256Hex(secret, body))) {
    return PermissionDenied("signature mismatch in " + header +
                            ": check that the webhook secret equals the resource's webhook_token");
  }
  return Status::Ok();
}

}  // namespace

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
                 &out_len)) {
    return {};
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(out), out_len));
}

Status VerifySignature(Forge forge, const HeaderLookup& headers, std::string_view body,
                       std::string_view secret) {
  if (secret.empty()) {
    return PermissionDenied("the resource has no webhook_token, so no signature can verify");
  }
  switch (forge) {
    case Forge::kGitHub:
      return CheckHmac("X-Hub-Signature-256", headers("X-Hub-Signature-256"), true, body, secret);
    case Forge::kGitea: {
      for (const char* h : {"X-Gitea-Signature", "X-Forgejo-Signature", "X-Gogs-Signature"}) {
        std::string value = headers(h);
        if (!value.empty()) return CheckHmac(h, value, false, body, secret);
      }
      return CheckHmac("X-Hub-Signature-256", headers("X-Hub-Signature-256"), true, body, secret);
    }
    case Forge::kBitbucket:
      return CheckHmac("X-Hub-Signature", headers("X-Hub-Signature"), true, body, secret);
    case Forge::kGitLab: {
      std::string token = headers("X-Gitlab-Token");
      if (token.empty()) return PermissionDenied("missing X-Gitlab-Token header");
      if (!ConstantTimeEquals(token, secret)) {
        return PermissionDenied(
            "X-Gitlab-Token does not match: set the GitLab webhook's secret token to the "
            "resource's webhook_token");
      }
      return Status::Ok();
    }
  }
  return Internal("unknown forge");
}

}  // namespace baton::webapi
