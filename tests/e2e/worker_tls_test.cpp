// End to end: a `baton worker` reaches its web node over TLS, as it does behind a load balancer
// that terminates https (baton web serves plain HTTP; docs/workers.md). The TLS front is Debian's
// socat with a certificate made in the test for "localhost". With `--ca-cert` the worker trusts
// it, registers and runs a build's task; without it the worker refuses the connection, says the
// certificate could not be verified, and never registers.
#include <gtest/gtest.h>

#include <thread>

#include "fakes/e2e_util.h"
#include "fakes/git_fixture.h"
#include "fakes/server_process.h"
#include "worker_cluster.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

class WorkerTlsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(web_.started()) << web_.log();
    if (RunProcess({"sh", "-c", "command -v socat"}).exit_code != 0) {
      GTEST_FAIL() << "socat is not installed (.ci/packages/tests.txt)";
    }
    cert_ = dir_ / "cert.pem";
    ProcessResult made =
        RunProcess({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout",
                    (dir_ / "key.pem").string(), "-out", cert_.string()});
    ASSERT_EQ(made.exit_code, 0) << made.All();
    port_ = FreeLocalPort();
    std::string web_port = web_.url().substr(web_.url().rfind(':') + 1);
    front_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "socat", "-d",
        "OPENSSL-LISTEN:" + std::to_string(port_) +
            ",bind=127.0.0.1,reuseaddr,fork,verify=0,cert=" + cert_.string() +
            ",key=" + (dir_ / "key.pem").string(),
        "TCP:127.0.0.1:" + web_port});
    // Ready once a TLS client gets the web node's answer through it.
    for (int i = 0; i < 100; ++i) {
      ProcessResult probe =
          RunProcess({"curl", "-sf", "--cacert", cert_.string(), url() + "/api/v1/info"});
      if (probe.exit_code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the TLS front did not answer: " << front_->out() << front_->err();
  }

  std::string url() const { return "https://localhost:" + std::to_string(port_); }

  TempDir dir_;
  fs::path cert_;
  int port_ = 0;
  WorkerCluster cluster_;
  ServerProcess& web_ = cluster_.web();
  std::unique_ptr<ChildProcess> front_;
};

TEST_F(WorkerTlsE2E, AWorkerTrustingTheCertificateRegistersOverHttpsAndRunsATask) {
  auto worker =
      cluster_.LaunchWorker("w1", WorkerCluster::Key(), {"--ca-cert", cert_.string()}, url());
  ASSERT_TRUE(worker->WaitForOutput("registered with " + url(), std::chrono::seconds(60)))
      << worker->out() << worker->err();
  cluster_.SetPipeline("p",
                       "jobs:\n- name: j\n  plan:\n  - task: t\n    config:\n      platform: "
                       "linux\n      run: {path: sh, args: [-c, 'echo over-tls']}\n");
  int64_t id = cluster_.Trigger("p", "j");
  auto builds = web_.WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(2));
  ASSERT_EQ(builds.size(), 1u) << web_.log();
  std::string log = web_.BuildLog(id);
  EXPECT_EQ(builds[0].value("status", ""), "succeeded") << log << worker->out();
  EXPECT_NE(log.find("over-tls"), std::string::npos) << log;
  EXPECT_EQ(cluster_.WorkerOfStepSaying(id, "over-tls"), "w1") << log;
}

TEST_F(WorkerTlsE2E, AWorkerThatCannotVerifyTheCertificateSaysSoAndNeverRegisters) {
  auto worker = cluster_.LaunchWorker("w1", WorkerCluster::Key(), {}, url());
  ASSERT_TRUE(worker->WaitForOutput("certificate verify failed", std::chrono::seconds(60)))
      << worker->out() << worker->err();
  EXPECT_NE((worker->out() + worker->err()).find("cannot register with " + url()),
            std::string::npos)
      << worker->out() << worker->err();
  EXPECT_TRUE(cluster_.Workers().empty()) << "a worker registered over an unverified connection";
}

}  // namespace
}  // namespace baton::testing
