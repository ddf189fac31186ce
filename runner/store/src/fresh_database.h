// A new store's database file, every migration applied, as bytes linked into the store: made at
// build time by tools/fresh_database_image.cpp, which runs the migrations on a scratch file. A new
// data dir's database is written from it instead of SQLite making the schema from its SQL (~2-3 ms
// of parsing and code generation on every fresh `baton run`, docs/benchmarks.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "baton/common/status.h"

namespace baton::runner::sqlite {

struct FreshDatabaseImage {
  // The file is zeros but for these runs of bytes (7 kB of a 176 kB file for schema 4).
  struct Run {
    uint32_t offset;
    uint32_t size;
  };
  uint32_t file_size;
  int schema_version;  // PRAGMA user_version in it
  const Run* runs;
  size_t run_count;
  const unsigned char* bytes;  // the runs' bytes, one after the other
};

// Defined by the generated fresh_database_image.cpp.
extern const FreshDatabaseImage kFreshDatabaseImage;

// Writes kFreshDatabaseImage as `db_file`, which must be missing or empty: into a file beside it,
// then renamed over it, so that the name never holds half a database. The team `main` has
// created_at 0 in it (the caller sets it). Not synced, as a new database's schema was not (see
// SqliteStore::Initialize).
Status WriteFreshDatabase(const std::filesystem::path& db_file);

}  // namespace baton::runner::sqlite
