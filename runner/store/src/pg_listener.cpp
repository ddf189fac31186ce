#include "pg_listener.h"

#include <libpq-fe.h>
#include <poll.h>

#include <chrono>

#include "baton/common/logging.h"

namespace baton::runner::pg {
namespace {

// A connection that LISTENs on `channel`, or null (the reason logged once per outage).
PGconn* Connect(const std::string& uri, const std::string& what, const std::string& channel,
                bool* logged) {
  PGconn* conn = PQconnectdb(uri.c_str());
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult* res = PQexec(conn, ("LISTEN " + channel).c_str());
    const bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (ok) return conn;
  }
  if (!*logged) {
    ModuleLogger("store")->warn(
        "cannot listen for other nodes' changes on {}: {}; retrying every second (changes "
        "arrive by polling meanwhile)",
        what, PQerrorMessage(conn));
    *logged = true;
  }
  PQfinish(conn);
  return nullptr;
}

}  // namespace

Listener::Listener(std::string uri, std::string what, std::string channel,
                   std::function<void(const std::string&)> on_message)
    : uri_(std::move(uri)),
      what_(std::move(what)),
      channel_(std::move(channel)),
      on_message_(std::move(on_message)) {
  // LISTEN before the constructor returns, so nothing published after it is missed.
  bool logged = false;
  PGconn* first = Connect(uri_, what_, channel_, &logged);
  thread_ = std::thread([this, first] { Run(first); });
}

Listener::~Listener() {
  stop_ = true;
  thread_.join();
}

void Listener::Run(PGconn* conn) {
  bool first = conn != nullptr;
  bool logged = false;
  while (!stop_) {
    if (!conn) conn = Connect(uri_, what_, channel_, &logged);
    if (!conn) {
      for (int i = 0; i < 10 && !stop_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    if (!first) on_message_("");  // (re)connected late: what was sent meanwhile is lost
    first = false;
    logged = false;
    // Wait on the socket a quarter second at a time, so that the destructor is heard.
    while (!stop_ && PQstatus(conn) == CONNECTION_OK) {
      pollfd fd{PQsocket(conn), POLLIN, 0};
      if (::poll(&fd, 1, 250) < 0) continue;
      if (!PQconsumeInput(conn)) break;
      while (PGnotify* note = PQnotifies(conn)) {
        on_message_(note->extra ? note->extra : "");
        PQfreemem(note);
      }
    }
    PQfinish(conn);
    conn = nullptr;
  }
}

}  // namespace baton::runner::pg
