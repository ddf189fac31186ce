#include "fakes/postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

std::string Tail(const fs::path& file, size_t max_bytes = 2000) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text.empty() ? "(empty)" : text;
}

// The user the server runs as: `postgres` when we are root (PostgreSQL refuses root), else us.
Status ServerUser(uid_t& uid, gid_t& gid) {
  if (geteuid() != 0) {
    uid = geteuid();
    gid = getegid();
    return Status::Ok();
  }
  const passwd* pw = getpwnam("postgres");
  if (!pw) {
    return FailedPrecondition(
        "PostgreSQL refuses to run as root and there is no `postgres` user to run it as: "
        "install Debian's postgresql-15 (.ci/install-deps.sh creates it)");
  }
  uid = pw->pw_uid;
  gid = pw->pw_gid;
  return Status::Ok();
}

// Runs `argv` (argv[0] an absolute path) as uid/gid with output to `log`; OK on exit status 0.
Status RunAs(uid_t uid, gid_t gid, const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;  // before the fork: the child must not allocate
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return IoError("fork failed while starting " + argv[0]);
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (geteuid() == 0 && uid != 0) {
      if (fd >= 0) (void)fchown(fd, uid, gid);
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  return Unavailable(argv[0] + " failed (exit status " +
                     std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                     "); its output: " + Tail(log));
}

// The initdb'd cluster every server copies, made once per machine and user (initdb takes
// seconds; a copy takes a fraction of one). Made under an flock so parallel tests wait for it.
Result<fs::path> Template(uid_t uid, gid_t gid) {
  const fs::path root = fs::temp_directory_path();
  const fs::path dir = root / ("baton-postgres-15-template-" + std::to_string(uid));
  const fs::path lock_file = root / ("baton-postgres-15-template-" + std::to_string(uid) + ".lock");
  int lock = open(lock_file.c_str(), O_RDWR | O_CREAT, 0644);
  if (lock < 0) return IoError("cannot open " + lock_file.string() + " to make the template");
  flock(lock, LOCK_EX);
  Status status = Status::Ok();
  if (!fs::exists(dir / "PG_VERSION")) {
    const fs::path tmp = root / ("baton-postgres-15-template.tmp-" + std::to_string(getpid()));
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::remove_all(dir, ec);
    fs::create_directories(tmp);
    if (chown(tmp.c_str(), uid, gid) != 0 || chmod(tmp.c_str(), 0700) != 0) {
      status = IoError("cannot give " + tmp.string() + " to the PostgreSQL user");
    } else {
      const fs::path log = root / ("baton-postgres-15-initdb-" + std::to_string(getpid()) + ".log");
      status = RunAs(uid, gid,
                     {(PostgresServer::BinDir() / "initdb").string(), "-D", tmp.string(), "-U",
                      "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"},
                     log);
      fs::remove(log, ec);
      if (status.ok()) fs::rename(tmp, dir, ec);
      if (status.ok() && ec) status = IoError("cannot rename the template: " + ec.message());
    }
    if (!status.ok()) fs::remove_all(tmp, ec);
  }
  flock(lock, LOCK_UN);
  close(lock);
  if (!status.ok()) return status;
  return dir;
}

}  // namespace

fs::path PostgresServer::BinDir() { return "/usr/lib/postgresql/15/bin"; }

Status PostgresServer::Run(const std::string& program, const std::vector<std::string>& args) const {
  std::vector<std::string> argv{(BinDir() / program).string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunAs(uid_, gid_, argv, dir_ / (program + ".log"));
}

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  if (!fs::exists(BinDir() / "pg_ctl")) {
    return FailedPrecondition("PostgreSQL 15 is not installed (" + (BinDir() / "pg_ctl").string() +
                              " is missing): run .ci/install-deps.sh");
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  BATON_RETURN_IF_ERROR(ServerUser(server->uid_, server->gid_));
  BATON_ASSIGN_OR_RETURN(fs::path templ, Template(server->uid_, server->gid_));
  std::string dir = (fs::temp_directory_path() / "baton-pg-XXXXXX").string();
  if (!mkdtemp(dir.data())) return IoError("mkdtemp failed for a PostgreSQL test directory");
  server->dir_ = dir;
  if (chown(dir.c_str(), server->uid_, server->gid_) != 0) {
    return IoError("cannot give " + dir + " to the PostgreSQL user");
  }
  // cp -a as the server's user keeps the cluster's owner and its 0700 mode.
  BATON_RETURN_IF_ERROR(RunAs(server->uid_, server->gid_,
                              {"/bin/cp", "-a", templ.string(), (server->dir_ / "data").string()},
                              server->dir_ / "cp.log"));
  const std::string options = "-k " + dir +
                              " -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
                              " -c full_page_writes=off -c max_connections=200";
  Status started = server->Run("pg_ctl", {"-D", (server->dir_ / "data").string(), "-l",
                                          (server->dir_ / "server.log").string(), "-w", "-t", "120",
                                          "-o", options, "start"});
  if (!started.ok()) {
    return Unavailable("PostgreSQL did not start in " + dir + ": " + started.message() +
                       "; server.log: " + Tail(server->dir_ / "server.log"));
  }
  server->started_ = true;
  return server;
}

Result<PostgresServer*> PostgresServer::Shared() {
  static std::mutex mu;
  static std::unique_ptr<PostgresServer> shared;  // stopped by its destructor at exit
  static Status failed = Status::Ok();
  std::lock_guard lock(mu);
  if (!failed.ok()) return failed;
  if (!shared) {
    auto started = Start();
    if (!started.ok()) {
      failed = started.status();
      return failed;
    }
    shared = std::move(*started);
  }
  return shared.get();
}

PostgresServer::~PostgresServer() {
  if (started_) {
    (void)Run("pg_ctl", {"-D", (dir_ / "data").string(), "-m", "fast", "-w", "stop"});
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string PostgresServer::Uri(const std::string& database) const {
  return "postgresql:///" + database + "?host=" + dir_.string() + "&user=postgres";
}

Status PostgresServer::Exec(const std::string& sql) {
  PGconn* conn = PQconnectdb(Uri("postgres").c_str());
  Status status = Status::Ok();
  if (PQstatus(conn) != CONNECTION_OK) {
    status = Unavailable("cannot connect to the test PostgreSQL in " + dir_.string() + ": " +
                         PQerrorMessage(conn));
  } else {
    PGresult* res = PQexec(conn, sql.c_str());
    const ExecStatusType result = PQresultStatus(res);
    if (result != PGRES_COMMAND_OK && result != PGRES_TUPLES_OK) {
      status = IoError(sql + " failed: " + PQerrorMessage(conn));
    }
    PQclear(res);
  }
  PQfinish(conn);
  return status;
}

Result<std::string> PostgresServer::CreateDatabase() {
  const std::string name =
      "baton_" + std::to_string(getpid()) + "_" + std::to_string(++next_database_);
  BATON_RETURN_IF_ERROR(Exec("CREATE DATABASE " + name));
  return Uri(name);
}

}  // namespace baton::testing
