// SqlStore: resources and their versions.
#include "baton/runner/sql_store.h"
#include "rows.h"
#include "sql_db.h"

namespace baton::runner {

using sql::Connection;

namespace {

std::string ResourceName(Id id) { return "resource " + std::to_string(id); }

Result<ResourceRecord> LoadResource(Connection& conn, Id resource_id) {
  return sql::QueryOne(conn, sql::ReadResource, ResourceName(resource_id),
                       std::string(sql::kResourceSelect) + "WHERE id = ?", resource_id);
}

// Inserts `found` if new (as the newest), else refreshes its metadata when it brings some;
// returns the row. A check that finds a version again without metadata keeps the stored one
// (a put's digest and file counts), as Concourse keeps metadata unless new metadata comes.
Result<ResourceVersion> SaveVersion(Connection& conn, const ResourceRecord& resource,
                                    const VersionFound& found, int64_t now_ms) {
  const std::string version_json = sql::JsonText(found.version);
  const bool has_metadata = !found.metadata.is_null() && !found.metadata.empty();
  BATON_RETURN_IF_ERROR(conn.Run(
      std::string(
          "INSERT INTO resource_versions (resource_id, source_hash, version_json, "
          "metadata_json, check_order, created_at) VALUES (?1, ?2, ?3, ?4, (SELECT "
          "coalesce(max(check_order), 0) + 1 FROM resource_versions WHERE resource_id = ?1), ?5) "
          "ON CONFLICT (resource_id, source_hash, version_json) ") +
          (has_metadata ? "DO UPDATE SET metadata_json = ?4" : "DO NOTHING"),
      resource.id, resource.source_hash, version_json, sql::JsonText(found.metadata), now_ms));
  return sql::QueryOne(conn, sql::ReadVersion, "resource version",
                       std::string(sql::kVersionSelect) +
                           "WHERE v.resource_id = ? AND v.source_hash = ? AND "
                           "v.version_json = ?",
                       resource.id, resource.source_hash, version_json);
}

// A known version that a check lists after a newer one moves to the newest place: the check's
// order wins, as Concourse re-orders known versions in the order a check gives them (so a
// version recorded from a push, then found by a check after the commits pushed before it,
// stays the newest).
Status MakeNewest(Connection& conn, ResourceVersion& v) {
  BATON_RETURN_IF_ERROR(
      conn.Run("UPDATE resource_versions SET check_order = (SELECT max(check_order) + 1 FROM "
               "resource_versions WHERE resource_id = ?1) WHERE id = ?2",
               v.resource_id, v.id));
  BATON_ASSIGN_OR_RETURN(v,
                         sql::QueryOne(conn, sql::ReadVersion, "resource version",
                                       std::string(sql::kVersionSelect) + "WHERE v.id = ?", v.id));
  return Status::Ok();
}

// True when every field of `subset` is in `version` with the same value.
bool Contains(const Json& version, const Json& subset) {
  if (!subset.is_object() || !version.is_object()) return false;
  for (auto it = subset.begin(); it != subset.end(); ++it) {
    auto found = version.find(it.key());
    if (found == version.end() || *found != it.value()) return false;
  }
  return true;
}

}  // namespace

Result<ResourceRecord> SqlStore::GetResource(Id pipeline_id, const std::string& name) {
  ResourceRecord r;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        r, sql::QueryOne(conn, sql::ReadResource, "resource " + name,
                         std::string(sql::kResourceSelect) + "WHERE pipeline_id = ? AND name = ?",
                         pipeline_id, name));
    return Status::Ok();
  }));
  return r;
}

Result<ResourceRecord> SqlStore::GetResourceById(Id resource_id) {
  ResourceRecord r;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(r, LoadResource(conn, resource_id));
    return Status::Ok();
  }));
  return r;
}

Result<std::vector<ResourceRecord>> SqlStore::ListResources(Id pipeline_id) {
  std::vector<ResourceRecord> resources;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(resources, sql::QueryRows(conn, sql::ReadResource,
                                                     std::string(sql::kResourceSelect) +
                                                         "WHERE pipeline_id = ? AND active = 1 "
                                                         "ORDER BY id",
                                                     pipeline_id));
    return Status::Ok();
  }));
  return resources;
}

Result<std::vector<ResourceVersion>> SqlStore::SaveResourceVersions(
    Id resource_id, const std::vector<VersionFound>& versions) {
  std::vector<ResourceVersion> saved;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    const int64_t now_ms = ToUnixMillis(clock_.Now());
    BATON_ASSIGN_OR_RETURN(ResourceRecord resource, LoadResource(conn, resource_id));
    int64_t newest = 0;  // the newest order among the versions saved so far
    for (const VersionFound& found : versions) {
      if (!found.version.is_object()) {
        return InvalidArgument("a resource version must be a JSON object, got " +
                               sql::JsonText(found.version));
      }
      BATON_ASSIGN_OR_RETURN(ResourceVersion v, SaveVersion(conn, resource, found, now_ms));
      if (v.check_order < newest) BATON_RETURN_IF_ERROR(MakeNewest(conn, v));
      newest = v.check_order;
      saved.push_back(std::move(v));
    }
    return conn.Run("UPDATE resources SET last_checked_at = ?, check_error = '' WHERE id = ?",
                    now_ms, resource_id);
  }));
  return saved;
}

Status SqlStore::RecordCheckError(Id resource_id, const std::string& error) {
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(
        conn.Run("UPDATE resources SET last_checked_at = ?, check_error = ? WHERE id = ?",
                 ToUnixMillis(clock_.Now()), error, resource_id));
    if (conn.Changes() == 0) return NotFound(ResourceName(resource_id) + " not found");
    return Status::Ok();
  });
}

Result<std::vector<ResourceVersion>> SqlStore::ListResourceVersions(Id resource_id,
                                                                    const VersionPage& page) {
  std::vector<ResourceVersion> versions;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        versions, sql::QueryRows(conn, sql::ReadVersion,
                                 std::string(sql::kVersionSelect) +
                                     "JOIN resources r ON r.id = v.resource_id "
                                     "WHERE v.resource_id = ?1 AND v.source_hash = r.source_hash "
                                     "AND (?2 = 0 OR v.check_order < ?2) "
                                     "ORDER BY v.check_order DESC LIMIT ?3",
                                 resource_id, page.before_check_order, page.limit));
    return Status::Ok();
  }));
  return versions;
}

Result<ResourceVersion> SqlStore::GetResourceVersion(Id version_id) {
  ResourceVersion v;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        v, sql::QueryOne(conn, sql::ReadVersion, "resource version " + std::to_string(version_id),
                         std::string(sql::kVersionSelect) + "WHERE v.id = ?", version_id));
    return Status::Ok();
  }));
  return v;
}

Result<ResourceVersion> SqlStore::FindResourceVersion(Id resource_id, const Json& subset) {
  VersionPage page;
  page.limit = 500;
  while (true) {
    BATON_ASSIGN_OR_RETURN(auto versions, ListResourceVersions(resource_id, page));
    for (ResourceVersion& v : versions) {
      if (Contains(v.version, subset)) return std::move(v);
    }
    if (static_cast<int>(versions.size()) < page.limit) break;
    page.before_check_order = versions.back().check_order;
  }
  return NotFound("no version of " + ResourceName(resource_id) + " matches " +
                  sql::JsonText(subset));
}

Status SqlStore::PinResourceVersion(Id resource_id, Id version_id, const std::string& comment) {
  return Write([&](Connection& conn) -> Status {
    if (version_id != 0) {
      BATON_ASSIGN_OR_RETURN(
          auto owner,
          conn.QueryInt("SELECT resource_id FROM resource_versions WHERE id = ?", version_id));
      if (owner != resource_id) {
        return NotFound("version " + std::to_string(version_id) + " of " +
                        ResourceName(resource_id) + " not found");
      }
    }
    BATON_RETURN_IF_ERROR(
        conn.Run("UPDATE resources SET pinned_version_id = ?, pin_comment = ? WHERE id = ?",
                 version_id == 0 ? std::optional<int64_t>() : std::optional<int64_t>(version_id),
                 version_id == 0 ? std::string() : comment, resource_id));
    if (conn.Changes() == 0) return NotFound(ResourceName(resource_id) + " not found");
    return Status::Ok();
  });
}

}  // namespace baton::runner
