// SqlStore: artifacts index, workers, webhook deliveries, API tokens.
#include "baton/runner/sql_store.h"

#include "baton/common/sha256.h"
#include "rows.h"
#include "sql_db.h"

namespace baton::runner {

using sql::Connection;

namespace {

WorkerRecord ReadWorker(const sql::Statement& row) {
  WorkerRecord w;
  w.name = row.Text(0);
  w.platform = row.Text(1);
  Json tags = sql::ParseJson(row.Text(2));
  if (tags.is_array()) {
    for (const Json& tag : tags) {
      if (tag.is_string()) w.tags.push_back(tag.get<std::string>());
    }
  }
  w.capacity = static_cast<int>(row.Int(3));
  w.state = row.Text(4);
  w.last_heartbeat = FromUnixMillis(row.Int(5));
  w.info = sql::ParseJson(row.Text(6));
  return w;
}

WebhookDelivery ReadDelivery(const sql::Statement& row) {
  return WebhookDelivery{row.Int(0),  row.Text(1), row.Text(2), FromUnixMillis(row.Int(3)),
                         row.Text(4), row.Text(5)};
}

}  // namespace

Result<Artifact> SqlStore::RecordArtifact(Id build_id, const std::string& name,
                                          const std::string& digest, int64_t size) {
  Artifact artifact;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run(
        "INSERT INTO artifacts (build_id, name, digest, size, created_at) VALUES (?, ?, ?, ?, ?)",
        build_id, name, digest, size, ToUnixMillis(clock_.Now())));
    BATON_ASSIGN_OR_RETURN(
        artifact,
        sql::QueryOne(conn, sql::ReadArtifact, "artifact",
                      std::string(sql::kArtifactSelect) + "WHERE id = ?", conn.LastInsertRowId()));
    return Status::Ok();
  }));
  return artifact;
}

Result<std::vector<Artifact>> SqlStore::ListArtifacts(Id build_id) {
  std::vector<Artifact> artifacts;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(artifacts, sql::QueryRows(conn, sql::ReadArtifact,
                                                     std::string(sql::kArtifactSelect) +
                                                         "WHERE build_id = ? ORDER BY name",
                                                     build_id));
    return Status::Ok();
  }));
  return artifacts;
}

Result<bool> SqlStore::IsDigestReferenced(const std::string& digest) {
  bool used = false;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        auto row, conn.QueryInt("SELECT 1 FROM artifacts WHERE digest = ? LIMIT 1", digest));
    used = row.has_value();
    return Status::Ok();
  }));
  return used;
}

Status SqlStore::SaveWorker(const WorkerRecord& w) {
  if (w.name.empty()) return InvalidArgument("a worker needs a name");
  return Write([&](Connection& conn) -> Status {
    return conn.Run(
        "INSERT INTO workers (name, platform, tags_json, capacity, state, last_heartbeat, "
        "info_json) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
        "platform = excluded.platform, tags_json = excluded.tags_json, "
        "capacity = excluded.capacity, state = excluded.state, "
        "last_heartbeat = excluded.last_heartbeat, info_json = excluded.info_json",
        w.name, w.platform, sql::JsonText(Json(w.tags)), w.capacity, w.state,
        ToUnixMillis(w.last_heartbeat), sql::JsonText(w.info));
  });
}

Result<std::vector<WorkerRecord>> SqlStore::ListWorkers() {
  std::vector<WorkerRecord> workers;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(workers,
                           sql::QueryRows(conn, ReadWorker,
                                          "SELECT name, platform, tags_json, capacity, state, "
                                          "last_heartbeat, info_json FROM workers ORDER BY name"));
    return Status::Ok();
  }));
  const SystemTime now = clock_.Now();
  for (WorkerRecord& w : workers) {
    if (w.state == "running" && now - w.last_heartbeat > options_.worker_stall_after) {
      w.state = "stalled";
    }
  }
  return workers;
}

Status SqlStore::DeleteWorker(const std::string& name) {
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run("DELETE FROM workers WHERE name = ?", name));
    if (conn.Changes() == 0) return NotFound("worker " + name + " not found");
    return Status::Ok();
  });
}

Result<bool> SqlStore::RecordWebhookDelivery(const WebhookDelivery& d) {
  bool recorded = false;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run(
        "INSERT INTO webhook_deliveries (provider, delivery_id, received_at, status, "
        "body_sha256) VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider, delivery_id) DO NOTHING",
        d.provider, d.delivery_id, ToUnixMillis(d.received_at), d.status, d.body_sha256));
    recorded = conn.Changes() > 0;
    return Status::Ok();
  }));
  return recorded;
}

Status SqlStore::SetWebhookDeliveryStatus(const std::string& provider,
                                          const std::string& delivery_id,
                                          const std::string& status) {
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(
        conn.Run("UPDATE webhook_deliveries SET status = ? WHERE provider = ? AND delivery_id = ?",
                 status, provider, delivery_id));
    if (conn.Changes() == 0) return NotFound("webhook delivery " + delivery_id + " not found");
    return Status::Ok();
  });
}

Result<std::vector<WebhookDelivery>> SqlStore::ListWebhookDeliveries(int limit) {
  std::vector<WebhookDelivery> deliveries;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        deliveries,
        sql::QueryRows(conn, ReadDelivery,
                       "SELECT id, provider, delivery_id, received_at, status, body_sha256 "
                       "FROM webhook_deliveries ORDER BY id DESC LIMIT ?",
                       limit));
    return Status::Ok();
  }));
  return deliveries;
}

Result<ApiToken> SqlStore::CreateApiToken(const std::string& team, const std::string& name,
                                          const std::string& plain_token,
                                          std::optional<SystemTime> expires_at) {
  if (plain_token.size() < 16) return InvalidArgument("an API token needs at least 16 characters");
  ApiToken token;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(auto team_id,
                           conn.QueryInt("SELECT id FROM teams WHERE name = ?", team));
    if (!team_id) return NotFound("team " + team + " not found");
    BATON_RETURN_IF_ERROR(
        conn.Run("INSERT INTO api_tokens (team_id, name, token_sha256, created_at, expires_at) "
                 "VALUES (?, ?, ?, ?, ?)",
                 *team_id, name, Sha256Hex(plain_token), ToUnixMillis(clock_.Now()),
                 sql::OptionalMillis(expires_at)));
    BATON_ASSIGN_OR_RETURN(token, sql::QueryOne(conn, sql::ReadToken, "token",
                                                std::string(sql::kTokenSelect) + "WHERE k.id = ?",
                                                conn.LastInsertRowId()));
    return Status::Ok();
  }));
  return token;
}

Result<ApiToken> SqlStore::AuthenticateApiToken(const std::string& plain_token, SystemTime now) {
  // Every API request authenticates: a read, and a write only when the recorded last use is
  // more than a minute old (so requests do not each cost a write transaction).
  constexpr auto kUseResolution = std::chrono::minutes(1);
  ApiToken token;
  const std::string hash = Sha256Hex(plain_token);
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    auto found = sql::QueryOne(conn, sql::ReadToken, "token",
                               std::string(sql::kTokenSelect) + "WHERE k.token_sha256 = ?", hash);
    if (found.status().code() == StatusCode::kNotFound ||
        (found.ok() && found->expires_at && *found->expires_at <= now)) {
      return PermissionDenied("the API token is unknown or expired");
    }
    if (!found.ok()) return found.status();
    token = *found;
    return Status::Ok();
  }));
  if (token.last_used_at && now - *token.last_used_at < kUseResolution) return token;
  token.last_used_at = now;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    return conn.Run("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", ToUnixMillis(now),
                    token.id);
  }));
  return token;
}

Result<std::vector<ApiToken>> SqlStore::ListApiTokens(const std::string& team) {
  std::vector<ApiToken> tokens;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        tokens,
        sql::QueryRows(conn, sql::ReadToken,
                       std::string(sql::kTokenSelect) + "WHERE t.name = ? ORDER BY k.id", team));
    return Status::Ok();
  }));
  return tokens;
}

Status SqlStore::RevokeApiToken(Id token_id) {
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run("DELETE FROM api_tokens WHERE id = ?", token_id));
    if (conn.Changes() == 0) return NotFound("token " + std::to_string(token_id) + " not found");
    return Status::Ok();
  });
}

}  // namespace baton::runner
