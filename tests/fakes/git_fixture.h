// Test helpers for the git resource: real repositories and commits made with libgit2, and real
// `git daemon` / `git http-backend` servers on 127.0.0.1. Not thread-safe (one test thread).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>

namespace baton::testing {

// A non-bare repository at `path` whose commits the test makes.
class GitFixtureRepo {
 public:
  // Creates (git init) a repository with initial branch `branch`.
  GitFixtureRepo(std::filesystem::path path, const std::string& branch = "main");
  ~GitFixtureRepo();
  GitFixtureRepo(const GitFixtureRepo&) = delete;
  GitFixtureRepo& operator=(const GitFixtureRepo&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `files` (path -> content) and commits them on the current branch; returns the sha.
  std::string Commit(const std::map<std::string, std::string>& files, const std::string& message,
                     const std::string& author = "Ada Lovelace");
  // Removes `file` and commits.
  std::string CommitRemoval(const std::string& file, const std::string& message);
  // Creates a lightweight tag at HEAD.
  void Tag(const std::string& name);
  // Points branch `branch` at `sha` (force) — with HEAD on it this rewrites history.
  void ResetBranch(const std::string& branch, const std::string& sha);
  std::string Head() const;

 private:
  std::filesystem::path path_;
  void* repo_ = nullptr;  // git_repository*
};

// Runs `git <args>` in `dir` and returns stdout; aborts the test process on failure.
std::string RunGit(const std::filesystem::path& dir, const std::string& args);

// A free TCP port on 127.0.0.1 (bound to port 0, then released).
int FreeLocalPort();

// `git daemon` serving every repository under `base` (read and receive-pack) on 127.0.0.1.
// Waits until it accepts connections; stops it on destruction.
class GitDaemon {
 public:
  explicit GitDaemon(const std::filesystem::path& base);
  ~GitDaemon();
  // "git://127.0.0.1:<port>/<name>"
  std::string Url(const std::string& name) const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Smart HTTP through `git http-backend` as a CGI under python3's http.server.
// Serves repositories under `base` at http://127.0.0.1:<port>/cgi-bin/git/<name>; with
// `basic_auth` ("user:password") every request without those credentials gets a 401.
class GitHttpServer {
 public:
  explicit GitHttpServer(const std::filesystem::path& base, const std::string& basic_auth = "");
  ~GitHttpServer();
  std::string Url(const std::string& name) const;
  bool started() const { return pid_ > 0; }

 private:
  std::filesystem::path root_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Debian's sshd on 127.0.0.1 (a free port) that lets `root` in with a key made here, so git
// runs over ssh:// as with a forge. Keys are ed25519 (libssh2 1.10 cannot use the ssh-rsa
// host keys OpenSSH 9 offers). Stops sshd on destruction.
class GitSshServer {
 public:
  explicit GitSshServer(const std::filesystem::path& dir);
  ~GitSshServer();
  bool started() const { return pid_ > 0; }
  // "ssh://root@127.0.0.1:<port><absolute path>"
  std::string Url(const std::filesystem::path& repo) const;
  // The private key (OpenSSH PEM text) that the server accepts, and one it does not.
  const std::string& client_key() const { return client_key_; }
  const std::string& other_key() const { return other_key_; }
  const std::string& log_path() const { return log_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string client_key_, other_key_, log_;
};

}  // namespace baton::testing
