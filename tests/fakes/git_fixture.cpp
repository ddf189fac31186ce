#include "fakes/git_fixture.h"

#include <arpa/inet.h>
#include <git2.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <vector>

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

void Check(int rc, const char* what) {
  if (rc >= 0) return;
  const git_error* e = git_error_last();
  throw std::runtime_error(std::string(what) + ": " + (e ? e->message : "libgit2 error"));
}

git_repository* Repo(void* p) { return static_cast<git_repository*>(p); }

// Deterministic, increasing commit times (one minute apart) so history sorts predictably.
int64_t NextCommitTime() {
  static int64_t t = 1700000000;
  return t += 60;
}

std::string OidHex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

std::string CommitIndex(git_repository* repo, const std::string& message,
                        const std::string& author) {
  git_index* index = nullptr;
  Check(git_repository_index(&index, repo), "index");
  git_oid tree_oid;
  Check(git_index_write_tree(&tree_oid, index), "write tree");
  git_index_write(index);
  git_index_free(index);
  git_tree* tree = nullptr;
  Check(git_tree_lookup(&tree, repo, &tree_oid), "tree lookup");
  git_signature* sig = nullptr;
  std::string email = "dev@example.com";
  Check(git_signature_new(&sig, author.c_str(), email.c_str(), NextCommitTime(), 0), "signature");
  git_oid parent_oid;
  git_commit* parent = nullptr;
  if (git_reference_name_to_id(&parent_oid, repo, "HEAD") == 0) {
    Check(git_commit_lookup(&parent, repo, &parent_oid), "parent");
  }
  const git_commit* parents[] = {parent};
  git_oid commit_oid;
  Check(git_commit_create(&commit_oid, repo, "HEAD", sig, sig, nullptr, message.c_str(), tree,
                          parent ? 1 : 0, parents),
        "commit");
  git_commit_free(parent);
  git_signature_free(sig);
  git_tree_free(tree);
  return OidHex(commit_oid);
}

bool CanConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

void WaitForPort(int port, pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (CanConnect(port)) return;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) throw std::runtime_error("server exited early");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a deadline, not a wait
  }
  throw std::runtime_error("server did not start listening on port " + std::to_string(port));
}

pid_t Spawn(const std::vector<std::string>& argv, const fs::path& cwd) {
  std::vector<char*> args;  // before the fork: the child must not allocate
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) _exit(127);
    ::setpgid(0, 0);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

void Stop(pid_t pid) {
  if (pid <= 0) return;
  ::kill(-pid, SIGTERM);
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace

GitFixtureRepo::GitFixtureRepo(fs::path path, const std::string& branch) : path_(std::move(path)) {
  git_libgit2_init();
  fs::create_directories(path_);
  git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  opts.initial_head = branch.c_str();
  git_repository* repo = nullptr;
  Check(git_repository_init_ext(&repo, path_.c_str(), &opts), "init");
  repo_ = repo;
}

GitFixtureRepo::~GitFixtureRepo() {
  git_repository_free(Repo(repo_));
  git_libgit2_shutdown();
}

std::string GitFixtureRepo::Commit(const std::map<std::string, std::string>& files,
                                   const std::string& message, const std::string& author) {
  git_index* index = nullptr;
  Check(git_repository_index(&index, Repo(repo_)), "index");
  for (const auto& [rel, content] : files) {
    fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    Check(git_index_add_bypath(index, rel.c_str()), "add");
  }
  git_index_write(index);
  git_index_free(index);
  return CommitIndex(Repo(repo_), message, author);
}

std::string GitFixtureRepo::CommitRemoval(const std::string& file, const std::string& message) {
  fs::remove(path_ / file);
  git_index* index = nullptr;
  Check(git_repository_index(&index, Repo(repo_)), "index");
  Check(git_index_remove_bypath(index, file.c_str()), "remove");
  git_index_write(index);
  git_index_free(index);
  return CommitIndex(Repo(repo_), message, "Ada Lovelace");
}

void GitFixtureRepo::Tag(const std::string& name) {
  git_object* head = nullptr;
  Check(git_revparse_single(&head, Repo(repo_), "HEAD"), "HEAD");
  git_oid oid;
  Check(git_tag_create_lightweight(&oid, Repo(repo_), name.c_str(), head, 1), "tag");
  git_object_free(head);
}

void GitFixtureRepo::ResetBranch(const std::string& branch, const std::string& sha) {
  git_oid oid;
  Check(git_oid_fromstr(&oid, sha.c_str()), "sha");
  git_reference* ref = nullptr;
  Check(git_reference_create(&ref, Repo(repo_), ("refs/heads/" + branch).c_str(), &oid, 1, "reset"),
        "reset");
  git_reference_free(ref);
}

std::string GitFixtureRepo::Head() const {
  git_oid oid;
  Check(git_reference_name_to_id(&oid, Repo(repo_), "HEAD"), "HEAD");
  return OidHex(oid);
}

std::string RunGit(const fs::path& dir, const std::string& args) {
  std::string cmd = "git -C '" + dir.string() + "' " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("`" + cmd + "` failed: " + out);
  return out;
}

int FreeLocalPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

GitDaemon::GitDaemon(const fs::path& base) : port_(FreeLocalPort()) {
  pid_ = Spawn({"git", "daemon", "--reuseaddr", "--base-path=" + base.string(), "--export-all",
                "--enable=receive-pack", "--listen=127.0.0.1", "--port=" + std::to_string(port_),
                base.string()},
               base);
  WaitForPort(port_, pid_);
}

GitDaemon::~GitDaemon() { Stop(pid_); }

std::string GitDaemon::Url(const std::string& name) const {
  return "git://127.0.0.1:" + std::to_string(port_) + "/" + name;
}

GitHttpServer::GitHttpServer(const fs::path& base, const std::string& basic_auth)
    : root_(base / ".http"), port_(FreeLocalPort()) {
  fs::create_directories(root_ / "cgi-bin");
  fs::path script = root_ / "cgi-bin" / "git";
  std::ofstream(script) << "#!/bin/sh\n"
                        << "export GIT_PROJECT_ROOT='" << base.string() << "'\n"
                        << "export GIT_HTTP_EXPORT_ALL=1 GIT_CONFIG_COUNT=1\n"
                        << "export GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'\n"
                        << "exec git http-backend\n";
  fs::permissions(script, fs::perms(0755));
  // CGI scripts run as `nobody` when the server runs as root: open the tree for reading.
  for (fs::path p = base; p.has_relative_path() && p != "/tmp"; p = p.parent_path()) {
    ::chmod(p.c_str(), 0755);
  }
  ::system(("chmod -R a+rX '" + base.string() + "'").c_str());
  if (basic_auth.empty()) {
    pid_ = Spawn(
        {"python3", "-m", "http.server", "--cgi", "--bind", "127.0.0.1", std::to_string(port_)},
        root_);
  } else {
    // The CGI server, refusing requests without the credentials (as a forge does).
    std::ofstream(root_ / "serve.py")
        << "import base64, http.server, sys\n"
        << "WANT = 'Basic ' + base64.b64encode(sys.argv[2].encode()).decode()\n"
        << "class Handler(http.server.CGIHTTPRequestHandler):\n"
        << "    def allowed(self):\n"
        << "        if self.headers.get('Authorization') == WANT:\n"
        << "            return True\n"
        << "        self.send_response(401)\n"
        << "        self.send_header('WWW-Authenticate', 'Basic realm=\"git\"')\n"
        << "        self.send_header('Content-Length', '0')\n"
        << "        self.end_headers()\n"
        << "        return False\n"
        << "    def do_GET(self):\n"
        << "        if self.allowed(): super().do_GET()\n"
        << "    def do_POST(self):\n"
        << "        if self.allowed(): super().do_POST()\n"
        << "http.server.test(HandlerClass=Handler, port=int(sys.argv[1]), bind='127.0.0.1')\n";
    pid_ = Spawn({"python3", "serve.py", std::to_string(port_), basic_auth}, root_);
  }
  WaitForPort(port_, pid_);
}

GitHttpServer::~GitHttpServer() { Stop(pid_); }

std::string GitHttpServer::Url(const std::string& name) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/cgi-bin/git/" + name;
}

GitSshServer::GitSshServer(const fs::path& dir) : port_(FreeLocalPort()) {
  if (!fs::exists("/usr/sbin/sshd")) {
    throw std::runtime_error("/usr/sbin/sshd is missing: run .ci/install-deps.sh (openssh-server)");
  }
  fs::create_directories(dir);
  for (const char* key : {"host", "client", "other"}) {
    std::string cmd = "ssh-keygen -q -t ed25519 -N '' -f '" + (dir / key).string() + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("`" + cmd + "` failed");
  }
  fs::copy_file(dir / "client.pub", dir / "authorized_keys", fs::copy_options::overwrite_existing);
  std::ifstream client(dir / "client"), other(dir / "other");
  client_key_.assign(std::istreambuf_iterator<char>(client), {});
  other_key_.assign(std::istreambuf_iterator<char>(other), {});
  log_ = (dir / "sshd.log").string();
  std::ofstream(dir / "sshd_config")
      << "Port " << port_ << "\n"
      << "ListenAddress 127.0.0.1\n"
      << "HostKey " << (dir / "host").string() << "\n"
      << "AuthorizedKeysFile " << (dir / "authorized_keys").string() << "\n"
      << "PidFile " << (dir / "sshd.pid").string() << "\n"
      << "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
      << "KbdInteractiveAuthentication no\n"
      << "PermitRootLogin prohibit-password\n";
  fs::create_directories("/run/sshd");  // sshd's privilege separation directory
  pid_ = Spawn({"/usr/sbin/sshd", "-D", "-f", (dir / "sshd_config").string(), "-E", log_}, dir);
  WaitForPort(port_, pid_);
}

GitSshServer::~GitSshServer() { Stop(pid_); }

std::string GitSshServer::Url(const fs::path& repo) const {
  return "ssh://root@127.0.0.1:" + std::to_string(port_) + repo.string();
}

}  // namespace baton::testing
