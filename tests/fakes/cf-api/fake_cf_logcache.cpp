// The stand-in's log-cache: GET /api/v1/read/:source_id over an app's log file, honouring
// start_time, end_time, descending and limit as log-cache does. App output has no per-line time
// here: a line gets the time of the last stand-in line or instance start before it.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "cf-api/fake_cf_state.h"

namespace baton::testing::fakecf {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<int64_t> Integer(const webapi::Request& req, const char* name, int64_t fallback) {
  auto text = req.Query(name);
  if (!text || text->empty()) return fallback;
  try {
    size_t used = 0;
    int64_t n = std::stoll(*text, &used);
    if (used == text->size()) return n;
  } catch (const std::exception&) {
  }
  return InvalidArgument(std::string(name) + " must be an integer, got '" + *text + "'");
}

}  // namespace

void MarkLog(const App& app) {
  struct stat st {};
  uint64_t size = stat(app.log_file.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  app.log_marks.emplace_back(size, NowNs());
}

Result<LogQuery> LogQuery::From(const webapi::Request& req) {
  LogQuery q;
  BATON_ASSIGN_OR_RETURN(q.start_time, Integer(req, "start_time", 0));
  BATON_ASSIGN_OR_RETURN(q.end_time, Integer(req, "end_time", INT64_MAX));
  BATON_ASSIGN_OR_RETURN(int64_t limit, Integer(req, "limit", 100));
  if (limit < 1 || limit > 1000) return InvalidArgument("limit must be between 1 and 1000");
  q.limit = static_cast<size_t>(limit);
  q.descending = req.Query("descending").value_or("false") == "true";
  return q;
}

Json ReadLogCache(const App& app, const LogQuery& query) {
  std::ifstream in(app.log_file);
  std::vector<Json> all;
  size_t mark = 0;
  int64_t time = 0;
  uint64_t offset = 0;
  for (std::string line; std::getline(in, line); offset += line.size() + 1) {
    while (mark < app.log_marks.size() && app.log_marks[mark].first <= offset) {
      time = app.log_marks[mark++].second;
    }
    if (time < query.start_time || time > query.end_time) continue;
    all.push_back({{"timestamp", std::to_string(time)},
                   {"source_id", app.guid},
                   {"instance_id", "0"},
                   {"tags", {{"source_type", "APP/PROC/WEB"}}},
                   {"log", {{"payload", Base64Encode(line)}, {"type", "OUT"}}}});
  }
  // log-cache returns the `limit` oldest (or, descending, newest) in the window.
  if (query.descending) std::reverse(all.begin(), all.end());
  if (all.size() > query.limit) all.resize(query.limit);
  return Json(all);
}

}  // namespace baton::testing::fakecf
