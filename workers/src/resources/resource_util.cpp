#include "resources/resource_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "baton/common/fd_io.h"
#include "baton/common/strings.h"

namespace baton::workers::resources {

namespace fs = std::filesystem;

Result<std::string> StringField(const Json& object, const std::string& key, const std::string& what,
                                std::string fallback) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return fallback;
  const Json& v = object[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return InvalidArgument(what + "." + key + " must be a string, got " + v.type_name());
}

Result<bool> BoolField(const Json& object, const std::string& key, const std::string& what) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return false;
  const Json& v = object[key];
  if (v.is_boolean()) return v.get<bool>();
  if (v == "true") return true;
  if (v == "false") return false;
  return InvalidArgument(what + "." + key + " must be true or false, got " + v.dump());
}

Result<std::vector<std::string>> StringListField(const Json& object, const std::string& key,
                                                 const std::string& what) {
  std::vector<std::string> out;
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return out;
  const Json& v = object[key];
  if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
  if (!v.is_array()) return InvalidArgument(what + "." + key + " must be a list of strings");
  for (const Json& item : v) {
    if (!item.is_string()) {
      return InvalidArgument(what + "." + key + " must be a list of strings, found " + item.dump());
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

void LogLine(const ResourceContext& ctx, std::string_view line) {
  if (!ctx.output) return;
  const Clock& clock = ctx.clock ? *ctx.clock : RealClock();
  ctx.output->OnLine(clock.Now(), OutputStream::kSystem, line);
}

bool IsCancelled(const ResourceContext& ctx) { return ctx.cancelled && ctx.cancelled->load(); }

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status AppendLineDurably(const fs::path& path, std::string_view line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return IoError("cannot open " + path.string() + ": " + std::strerror(errno));
  std::string data(line);
  data.push_back('\n');
  ssize_t n = ::write(fd, data.data(), data.size());
  int sync_rc = ::fsync(fd);
  ::close(fd);
  if (n != static_cast<ssize_t>(data.size()) || sync_rc != 0) {
    return IoError("cannot append to " + path.string() + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<fs::path> PathInside(const fs::path& root, const std::string& rel, const std::string& what) {
  fs::path p(rel);
  if (rel.empty() || p.is_absolute()) {
    return InvalidArgument(what + " must be a relative path, got '" + rel + "'");
  }
  fs::path normal = p.lexically_normal();
  if (!normal.empty() && *normal.begin() == "..") {
    return InvalidArgument(what + " '" + rel + "' points outside the directory");
  }
  return root / normal;
}

}  // namespace baton::workers::resources
