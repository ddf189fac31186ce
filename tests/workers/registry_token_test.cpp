// registry-image and the bearer-token flow, against Debian's docker-registry configured with
// `auth: token` and the token issuer stand-in (tests/fakes/registry-server/token_issuer.h),
// whose certificate the registry trusts: the registry itself verifies every token. The
// stand-in checks each token request (service, scope, credentials, account).
#include <gtest/gtest.h>

#include "baton/workers/resource_type.h"
#include "fakes/test_env.h"
#include "registry-server/registry_resource_fixture.h"
#include "registry-server/token_issuer.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::ImageLayout;
using baton::testing::RegistryServerOptions;
using baton::testing::TokenIssuer;
using baton::testing::TokenIssuerOptions;
using baton::testing::TokenRequest;

constexpr const char* kUser = "ci-bot";
constexpr const char* kPassword = "t0ken-pa55-word";

class RegistryToken : public baton::testing::RegistryResourceTest {
 protected:
  // Starts the issuer and a registry trusting it.
  void Start(TokenIssuerOptions options, bool tls = false) {
    options.username = kUser;
    options.password = kPassword;
    issuer_ = std::make_unique<TokenIssuer>(dir_ / "issuer", options);
    RegistryServerOptions registry;
    registry.tls = tls;
    registry.token_issuer = issuer_.get();
    StartRegistry(registry);
  }

  // Pushes a busybox image as team/app:latest (skopeo speaks the token protocol itself).
  void PushImage() {
    ImageLayout layout(dir_ / "image");
    layout.NewBusyboxImage("t");
    layout.Push("t", *registry_, "team/app", "latest");
  }

  Json Source(bool credentials) const {
    Json source = {{"repository", registry_->host() + "/team/app"}, {"insecure", true}};
    if (credentials) {
      source["username"] = kUser;
      source["password"] = kPassword;
    }
    return source;
  }

  // The token requests made after the first `skip` ones.
  std::vector<TokenRequest> RequestsAfter(size_t skip) const {
    auto all = issuer_->requests();
    return std::vector<TokenRequest>(all.begin() + static_cast<long>(std::min(skip, all.size())),
                                     all.end());
  }

  std::unique_ptr<TokenIssuer> issuer_;
};

TEST_F(RegistryToken, ChecksAndGetsAnonymouslyWithTokensTheRegistryVerifies) {
  TokenIssuerOptions options;
  options.anonymous_pull = true;
  Start(options);
  PushImage();
  size_t pushed = issuer_->requests().size();

  auto checked = type_->Check(ctx_, Source(false), nullptr);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  ASSERT_EQ(checked->size(), 1u);
  fs::create_directories(dir_ / "get");
  auto got =
      type_->Get(ctx_, Source(false), (*checked)[0], Json::object(), (dir_ / "get").string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(fs::exists(dir_ / "get" / "rootfs" / "bin" / "busybox"));

  auto ours = RequestsAfter(pushed);
  ASSERT_FALSE(ours.empty());
  for (const auto& r : ours) {
    EXPECT_EQ(r.service, "baton-test-registry");
    EXPECT_EQ(r.scope, "repository:team/app:pull");
    EXPECT_FALSE(r.had_credentials);
    EXPECT_EQ(r.account, "");
    EXPECT_EQ(r.status, 200);
  }
  EXPECT_TRUE(issuer_->problems().empty()) << issuer_->problems()[0];
}

TEST_F(RegistryToken, SendsCredentialsOnlyToTheTokenServiceAndLogsNeitherThemNorTokens) {
  Start({});
  PushImage();
  size_t pushed = issuer_->requests().size();

  auto checked = type_->Check(ctx_, Source(true), nullptr);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  fs::create_directories(dir_ / "get");
  auto got = type_->Get(ctx_, Source(true), (*checked)[0], Json{{"format", "oci"}},
                        (dir_ / "get").string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(fs::exists(dir_ / "get" / "image.tar"));

  auto ours = RequestsAfter(pushed);
  ASSERT_FALSE(ours.empty());
  for (const auto& r : ours) {
    EXPECT_TRUE(r.had_credentials);
    EXPECT_EQ(r.account, kUser);
    EXPECT_EQ(r.scope, "repository:team/app:pull");
    EXPECT_EQ(r.status, 200);
  }
  EXPECT_TRUE(issuer_->problems().empty()) << issuer_->problems()[0];
  std::string log = lines_.text();
  EXPECT_FALSE(log.empty());
  EXPECT_EQ(log.find(kPassword), std::string::npos) << log;
  for (const auto& token : issuer_->tokens()) {
    EXPECT_EQ(log.find(token), std::string::npos) << log;
    EXPECT_EQ(log.find(token.substr(0, token.find('.'))), std::string::npos) << log;
  }
}

TEST_F(RegistryToken, RefusalsNameTheTokenServiceAndWhatToDo) {
  Start({});  // no anonymous pulls
  auto anonymous = type_->Check(ctx_, Source(false), nullptr);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), StatusCode::kPermissionDenied);
  const std::string& a = anonymous.status().message();
  EXPECT_NE(a.find(issuer_->realm()), std::string::npos) << a;
  EXPECT_NE(a.find("authentication required"), std::string::npos) << a;
  EXPECT_NE(a.find("set source.username and source.password"), std::string::npos) << a;

  Json wrong = Source(true);
  wrong["password"] = "not-the-s3cret";
  auto refused = type_->Check(ctx_, wrong, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  const std::string& m = refused.status().message();
  EXPECT_NE(m.find(issuer_->realm()), std::string::npos) << m;
  EXPECT_NE(m.find("source.username `ci-bot`"), std::string::npos) << m;
  EXPECT_NE(m.find("incorrect username or password"), std::string::npos) << m;
  EXPECT_NE(m.find("HTTP 401"), std::string::npos) << m;
  EXPECT_EQ(m.find("not-the-s3cret"), std::string::npos) << m;
  EXPECT_TRUE(issuer_->problems().empty()) << issuer_->problems()[0];
}

TEST_F(RegistryToken, TheRegistryRefusesATokenItCannotVerifyAndTheErrorSaysSo) {
  TokenIssuerOptions options;
  options.sign_with_untrusted_key = true;
  Start(options);
  auto r = type_->Check(ctx_, Source(true), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("HTTP 401"), std::string::npos) << m;
  EXPECT_NE(m.find("does not accept the tokens"), std::string::npos) << m;
  EXPECT_NE(m.find("invalid_token"), std::string::npos) << m;
  EXPECT_NE(m.find(issuer_->realm()), std::string::npos) << m;
  EXPECT_FALSE(issuer_->tokens().empty());  // tokens were issued; the registry refused them
}

TEST_F(RegistryToken, CredentialsGoToAPlainHttpTokenServiceOnlyWithInsecure) {
  Start({}, /*tls=*/true);
  Json source = Source(true);
  source.erase("insecure");
  source["ca_certs"] = {registry_->ca_pem()};
  auto r = type_->Check(ctx_, source, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("plain http"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("source.insecure"), std::string::npos);
  EXPECT_TRUE(issuer_->requests().empty());  // the password was not sent
}

}  // namespace
}  // namespace baton::workers
