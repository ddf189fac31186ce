// The stand-in's runtime: app processes (like the binary_buildpack on a Diego cell), health
// checks, the route proxy (like gorouter), the reconciler thread, and FakeCloudFoundry itself.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/start_dir.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "baton/net/http_client.h"
#include "cf-api/fake_cf_impl.h"

extern char** environ;

namespace baton::testing::fakecf {

namespace bp = boost::process;
namespace fs = std::filesystem;

namespace {

// The child leads a new process group before exec, so that the app's own children go with it.
struct NewProcessGroup : bp::extend::handler {
  template <class Executor>
  void on_exec_setup(Executor&) const {
    ::setpgid(0, 0);
  }
};

// The child's environment, given as the array execve takes. (Boost 1.74's bp::environment reads
// past the end of shorter entries when it looks a name up: AddressSanitizer caught it.)
struct Environment : bp::extend::handler {
  char** envp = nullptr;
  template <class Executor>
  void on_setup(Executor& e) const {
    e.env = envp;
  }
};

}  // namespace

struct AppProcess::Impl {
  std::mutex mu;
  bp::child child;  // GUARDED_BY(mu)
  pid_t pid = -1;
  bool exited = false;  // GUARDED_BY(mu)
};

AppProcess::AppProcess(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AppProcess::~AppProcess() { Kill(); }

Result<std::shared_ptr<AppProcess>> AppProcess::Start(const std::string& command,
                                                      const std::string& dir, uint16_t port,
                                                      const Json& env,
                                                      const std::string& log_file) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    size_t eq = entry.find('=');
    if (eq != std::string::npos) vars[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  vars["PORT"] = std::to_string(port);
  vars["HOME"] = dir;
  for (const auto& [k, v] : env.items()) vars[k] = v.is_string() ? v.get<std::string>() : v.dump();
  std::vector<std::string> entries;
  for (const auto& [k, v] : vars) entries.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& entry : entries) envp.push_back(entry.data());
  envp.push_back(nullptr);
  // Appended to, as Diego's log stream keeps every instance's lines.
  FILE* log = std::fopen(log_file.c_str(), "ae");
  if (!log) return IoError("cannot open the app's log " + log_file + ": " + strerror(errno));
  auto impl = std::make_unique<Impl>();
  std::error_code ec;
  impl->child = bp::child(bp::exe = "/bin/sh", bp::args = {"-c", command}, bp::start_dir = dir,
                          Environment{{}, envp.data()}, bp::std_in<bp::null, bp::std_out> log,
                          bp::std_err > log, NewProcessGroup{}, ec);
  std::fclose(log);
  if (ec) return IoError("cannot start the app `" + command + "`: " + ec.message());
  impl->pid = impl->child.id();
  ::setpgid(impl->pid, impl->pid);  // also from here: no window where a kill misses the group
  return std::shared_ptr<AppProcess>(new AppProcess(std::move(impl)));
}

bool AppProcess::Exited() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->exited) {
    std::error_code ec;
    impl_->exited = !impl_->child.running(ec);  // reaps it once it has exited
  }
  return impl_->exited;
}

void AppProcess::Kill() {
  if (!impl_ || impl_->pid <= 0) return;
  ::kill(-impl_->pid, SIGTERM);
  for (int i = 0; i < 60 && !Exited(); ++i) {  // up to 3 s to stop on its own
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-impl_->pid, SIGKILL);  // and whatever of its group is left
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->exited) {
    std::error_code ec;
    impl_->child.wait(ec);
    impl_->exited = true;
  }
}

bool Healthy(const std::string& type, uint16_t port, const std::string& endpoint) {
  if (type == "process") return true;
  if (type == "port") {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  }
  net::ClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(500);
  o.request_timeout = std::chrono::milliseconds(1000);
  net::HttpClient client(o);
  auto r = client.Get("http://127.0.0.1:" + std::to_string(port) + endpoint);
  return r.ok() && r->status == 200;
}

void FakeCloudFoundry::Impl::Log(const std::string& line) const {
  if (options_.log) options_.log("baton-fake-cf (stand-in): " + line);
}

void FakeCloudFoundry::Impl::AppLog(const App& app, const std::string& line) {
  MarkLog(app);
  std::ofstream(app.log_file, std::ios::app) << "[stand-in] " << line << "\n";
}

Status FakeCloudFoundry::Impl::StartProxy(App& app, MappedRoute& route) {
  webapi::Router router;
  std::string guid = app.guid, route_guid = route.guid, name = route.Url();
  auto forward = [this, guid, route_guid, name](webapi::Request& req) -> webapi::Response {
    uint16_t port = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = state_.apps.find(guid);
      bool mapped = false;
      if (it != state_.apps.end()) {
        for (const auto& r : it->second.routes) mapped = mapped || r->guid == route_guid;
      }
      if (!mapped) {
        return webapi::Response::Text(404, "404 Not Found: Requested route ('" + name +
                                               "') does not exist. (stand-in router)\n");
      }
      if (it != state_.apps.end()) {
        port = NextRunningPort(it->second);
      }
    }
    if (port == 0) {
      return webapi::Response::Text(404, "404 Not Found: Requested route ('" + name +
                                             "') has no available endpoints. (stand-in router)\n");
    }
    net::HttpClient client;
    net::Headers headers = req.headers;
    headers.Remove("Host");
    auto r = client.Send(req.method, "http://127.0.0.1:" + std::to_string(port) + req.target,
                         req.body, headers);
    if (!r.ok()) return webapi::Response::Text(502, "502 Bad Gateway (stand-in router)\n");
    webapi::Response out;
    out.status = r->status;
    out.content_type = r->headers.Get("Content-Type").value_or("text/plain");
    out.body = r->body;
    out.headers.Set("X-Cf-Stand-In", "true");
    return out;
  };
  for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    router.Add(m, "/*rest", forward);
  }
  webapi::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = FreePort();
  route.proxy = std::make_unique<webapi::HttpServer>(std::move(router), o);
  BATON_RETURN_IF_ERROR(route.proxy->Start());
  route.loopback = "http://127.0.0.1:" + std::to_string(route.proxy->port());
  return Status::Ok();
}

void FakeCloudFoundry::Impl::ReconcileLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Reconcile();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping_; });
  }
}

Status FakeCloudFoundry::Impl::Start() {
  std::error_code ec;
  fs::create_directories(options_.data_dir, ec);
  if (ec) return IoError("cannot create " + options_.data_dir + ": " + ec.message());
  state_.fail_at = options_.fail_at;
  state_.faults = options_.faults;
  state_.org_guid = NewGuid();
  state_.space_guid = NewGuid();
  webapi::Router router;
  AddControlRoutes(router);
  AddAppRoutes(router);
  AddDeployRoutes(router);
  AddRouteRoutes(router);
  webapi::ServerOptions o;
  o.host = "127.0.0.1";  // behind the front door
  o.port = 0;
  o.body_limit = 512u * 1024 * 1024;
  server_ = std::make_unique<webapi::HttpServer>(std::move(router), o);
  BATON_RETURN_IF_ERROR(server_->Start());
  SSL_CTX* tls = nullptr;
  if (options_.tls) {
    BATON_ASSIGN_OR_RETURN(tls, MakeTlsContext(options_.host, options_.data_dir));
  }
  front_ = std::make_unique<FrontDoor>(options_.host, options_.port, server_->port(), tls,
                                       options_.slow_link);
  BATON_RETURN_IF_ERROR(front_->Start());
  url_ = std::string(options_.tls ? "https://" : "http://") + options_.host + ":" +
         std::to_string(front_->port());
  started_ = true;
  reconciler_ = std::thread([this] { ReconcileLoop(); });
  return Status::Ok();
}

void FakeCloudFoundry::Impl::Stop() {
  if (!started_) return;
  started_ = false;
  if (front_) front_->Stop();
  if (server_) server_->Stop();
  std::vector<std::thread> unzippers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    unzippers.swap(unzippers_);
  }
  for (auto& t : unzippers) t.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (reconciler_.joinable()) reconciler_.join();
  std::vector<std::shared_ptr<Instance>> all;
  std::vector<std::unique_ptr<webapi::HttpServer>> proxies;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [g, app] : state_.apps) {
      all.insert(all.end(), app.instances.begin(), app.instances.end());
      for (auto& r : app.routes) {
        if (r->proxy) proxies.push_back(std::move(r->proxy));
      }
      app.state = "STOPPED";
    }
    for (auto& [g, d] : state_.deployments) {
      all.insert(all.end(), d.instances.begin(), d.instances.end());
    }
    for (auto& p : state_.unmapped_proxies) proxies.push_back(std::move(p));
    state_.unmapped_proxies.clear();
    for (auto& i : state_.dying) all.push_back(i);
    state_.dying.clear();
  }
  for (auto& p : proxies) p->Stop();
  for (auto& i : all) {
    if (i->process) i->process->Kill();
  }
  Log("stopped every app it started");
}

FakeCloudFoundry::FakeCloudFoundry(FakeCfOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
FakeCloudFoundry::~FakeCloudFoundry() { Stop(); }
Status FakeCloudFoundry::Start() { return impl_->Start(); }
void FakeCloudFoundry::Stop() { impl_->Stop(); }
std::string FakeCloudFoundry::url() const { return impl_->url_; }
std::string FakeCloudFoundry::ca_file() const {
  return impl_->options_.tls ? impl_->options_.data_dir + "/tls-cert.pem" : "";
}
void FakeCloudFoundry::SetSlowLink(const SlowLink& link) {
  if (impl_->front_) impl_->front_->set_link(link);
}

void FakeCloudFoundry::AddFault(const Fault& fault) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->state_.faults.push_back(fault);
}

void FakeCloudFoundry::SetFailAt(FailAt stage) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->state_.fail_at = stage;
}

void FakeCloudFoundry::ExpireTokens() {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->state_.access_tokens.clear();
}

std::vector<FakeApp> FakeCloudFoundry::Apps() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  std::vector<FakeApp> out;
  for (const auto& [g, app] : impl_->state_.apps) {
    FakeApp a{app.name, app.state, app.routes.empty() ? "" : app.routes[0]->loopback, {}};
    for (const auto& r : app.routes) a.routes.push_back(r->Url());
    out.push_back(std::move(a));
  }
  return out;
}

int FakeCloudFoundry::TokenGrants(const std::string& grant_type) const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  auto it = impl_->state_.grants.find(grant_type);
  return it == impl_->state_.grants.end() ? 0 : it->second;
}

std::vector<std::string> FakeCloudFoundry::Requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->state_.requests;
}

}  // namespace baton::testing::fakecf
