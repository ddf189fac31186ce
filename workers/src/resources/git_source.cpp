#include "resources/git_source.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>

#include "baton/common/sha256.h"
#include "baton/common/strings.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {

namespace fs = std::filesystem;

std::string GitSource::Describe(const std::string& action) const {
  std::string out = action + " of " + RedactGitUrl(remote.url);
  if (!branch.empty()) out += " branch " + branch;
  return out;
}

Result<GitSource> ParseGitSource(const Json& source) {
  GitSource s;
  BATON_ASSIGN_OR_RETURN(s.remote.url, StringField(source, "uri", "source"));
  if (s.remote.url.empty()) {
    return InvalidArgument("git: source.uri is required (a URL or path of the repository)");
  }
  BATON_ASSIGN_OR_RETURN(s.remote.username, StringField(source, "username", "source"));
  BATON_ASSIGN_OR_RETURN(s.remote.password, StringField(source, "password", "source"));
  BATON_ASSIGN_OR_RETURN(s.remote.private_key, StringField(source, "private_key", "source"));
  BATON_ASSIGN_OR_RETURN(s.remote.private_key_passphrase,
                         StringField(source, "private_key_passphrase", "source"));
  BATON_ASSIGN_OR_RETURN(s.remote.skip_ssl_verification,
                         BoolField(source, "skip_ssl_verification", "source"));
  BATON_ASSIGN_OR_RETURN(s.branch, StringField(source, "branch", "source"));
  BATON_ASSIGN_OR_RETURN(s.paths, StringListField(source, "paths", "source"));
  BATON_ASSIGN_OR_RETURN(s.ignore_paths, StringListField(source, "ignore_paths", "source"));
  BATON_ASSIGN_OR_RETURN(s.tag_filter, StringField(source, "tag_filter", "source"));
  BATON_ASSIGN_OR_RETURN(s.tag_regex, StringField(source, "tag_regex", "source"));
  if (!s.tag_regex.empty()) {
    try {
      std::regex check(s.tag_regex, std::regex::extended);
    } catch (const std::regex_error& e) {
      return InvalidArgument("git: source.tag_regex `" + s.tag_regex +
                             "` is not a valid POSIX extended regular expression (" + e.what() +
                             "): write it as for `grep -E`, e.g. 'v[0-9]+\\.[0-9]+\\.[0-9]+'");
    }
  }
  if (source.contains("fetch_tags") && !source["fetch_tags"].is_null()) {
    BATON_ASSIGN_OR_RETURN(bool fetch_tags, BoolField(source, "fetch_tags", "source"));
    s.fetch_tags = fetch_tags;
  }
  BATON_ASSIGN_OR_RETURN(s.disable_ci_skip, BoolField(source, "disable_ci_skip", "source"));
  if (source.contains("git_config") && !source["git_config"].is_null()) {
    const Json& cfg = source["git_config"];
    if (!cfg.is_array())
      return InvalidArgument("git: source.git_config must be a list of {name, value}");
    for (const Json& e : cfg) {
      if (!e.is_object() || !e.value("name", Json()).is_string()) {
        return InvalidArgument("git: each source.git_config entry needs `name` and `value`");
      }
      Json v = e.value("value", Json(""));
      s.git_config[e["name"].get<std::string>()] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  }
  return s;
}

bool GitSource::TagMatches(const std::string& name) const {
  // git-resource: tag_filter is a glob (`git tag --list`); tag_regex must match the whole name
  // (`grep -Ex`) and is ignored when tag_filter is set.
  if (!tag_filter.empty()) return fnmatch(tag_filter.c_str(), name.c_str(), 0) == 0;
  try {
    return std::regex_match(name, std::regex(tag_regex, std::regex::extended));
  } catch (const std::regex_error&) {
    return false;  // rejected by ParseGitSource
  }
}

namespace {

Result<int> DepthParam(const Json& params) {
  if (!params.contains("depth") || params["depth"].is_null()) return 0;
  const Json& d = params["depth"];
  if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > 1000000000) {
    return InvalidArgument("git get: params.depth must be a whole number of commits (e.g. " +
                           std::string("`depth: 1`), got ") + d.dump());
  }
  return static_cast<int>(d.get<int64_t>());
}

Status SubmodulesParam(const Json& params, GitGetParams* out) {
  if (!params.contains("submodules") || params["submodules"].is_null()) return Status::Ok();
  const Json& s = params["submodules"];
  if (s.is_string() && (s == "all" || s == "none")) {
    out->submodules = s == "all";
    return Status::Ok();
  }
  if (s.is_array()) {
    for (const Json& path : s) {
      if (!path.is_string()) break;
      out->submodule_paths.push_back(path.get<std::string>());
    }
    if (out->submodule_paths.size() == s.size()) {
      out->submodules = !s.empty();
      return Status::Ok();
    }
  }
  return InvalidArgument("git get: params.submodules must be `all`, `none` or a list of " +
                         std::string("submodule paths, got ") + s.dump());
}

}  // namespace

std::string GitGetParams::CacheVariant() const {
  std::string out;
  if (depth > 0) out += "depth=" + std::to_string(depth) + ";";
  if (tags != GitCheckoutOptions::Tags::kFollow) {
    out += tags == GitCheckoutOptions::Tags::kAll ? "tags=all;" : "tags=none;";
  }
  if (!submodules) out += "submodules=none;";
  for (const auto& p : submodule_paths) out += "submodule=" + p + ";";
  if (!submodule_recursive) out += "flat;";
  return out;
}

namespace {

const char* const kTimestampFormats[] = {"iso8601", "iso",    "iso8601-strict", "iso-strict",
                                         "rfc2822", "rfc",    "short",          "raw",
                                         "unix",    "default"};

// describe_ref_options, as git-resource passes them to `git describe`.
Result<GitDescribeOptions> DescribeOptions(const std::string& text) {
  GitDescribeOptions out;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    if (word == "--always") {
      out.always = true;
    } else if (word == "--tags") {
      out.tags = true;
    } else if (word == "--long") {
      out.long_format = true;
    } else if (word == "--dirty" || word == "--broken" || StartsWith(word, "--dirty=") ||
               StartsWith(word, "--broken=")) {
      // A checkout Baton makes is never dirty or broken.
    } else if (StartsWith(word, "--abbrev=") && word.size() > 9 &&
               word.find_first_not_of("0123456789", 9) == std::string::npos && word.size() < 12) {
      out.abbrev = std::max(4, std::stoi(word.substr(9)));
    } else {
      return InvalidArgument("params.describe_ref_options: `" + word +
                             "` is not supported; use --always, --tags, --long, --abbrev=N, "
                             "--dirty or --broken");
    }
  }
  return out;
}

Status GetFileParams(const Json& params, GitGetParams* out) {
  BATON_ASSIGN_OR_RETURN(std::string short_ref, StringField(params, "short_ref_format", "params"));
  if (!short_ref.empty()) out->short_ref_format = short_ref;
  BATON_ASSIGN_OR_RETURN(std::string timestamp, StringField(params, "timestamp_format", "params"));
  if (!timestamp.empty()) {
    if (std::find(std::begin(kTimestampFormats), std::end(kTimestampFormats), timestamp) ==
        std::end(kTimestampFormats)) {
      return InvalidArgument("params.timestamp_format `" + timestamp +
                             "` is not supported; use iso8601 (the default), iso8601-strict, "
                             "rfc2822, short, raw, unix or default");
    }
    out->timestamp_format = timestamp;
  }
  BATON_ASSIGN_OR_RETURN(std::string describe,
                         StringField(params, "describe_ref_options", "params"));
  if (!describe.empty()) {
    BATON_ASSIGN_OR_RETURN(out->describe, DescribeOptions(describe));
  }
  return Status::Ok();
}

}  // namespace

Result<GitGetParams> ParseGitGetParams(const Json& params, const GitSource& source) {
  GitGetParams out;
  if (!params.is_object()) return out;
  BATON_ASSIGN_OR_RETURN(out.depth, DepthParam(params));
  std::optional<bool> fetch_tags = source.fetch_tags;
  if (params.contains("fetch_tags") && !params["fetch_tags"].is_null()) {
    BATON_ASSIGN_OR_RETURN(bool value, BoolField(params, "fetch_tags", "params"));
    fetch_tags = value;
  }
  if (fetch_tags) {
    out.tags = *fetch_tags ? GitCheckoutOptions::Tags::kAll : GitCheckoutOptions::Tags::kNone;
  }
  BATON_RETURN_IF_ERROR(SubmodulesParam(params, &out));
  if (params.contains("submodule_recursive") && !params["submodule_recursive"].is_null()) {
    BATON_ASSIGN_OR_RETURN(out.submodule_recursive,
                           BoolField(params, "submodule_recursive", "params"));
  }
  BATON_RETURN_IF_ERROR(GetFileParams(params, &out));
  return out;
}

bool MatchesAny(const std::string& path, const std::vector<std::string>& patterns) {
  for (std::string pat : patterns) {
    while (pat.size() > 1 && pat.back() == '/') pat.pop_back();
    if (fnmatch(pat.c_str(), path.c_str(), 0) == 0) return true;
    if (path.size() > pat.size() && path.compare(0, pat.size(), pat) == 0 &&
        path[pat.size()] == '/') {
      return true;
    }
    // A glob naming a directory ("src/*/docs") matches everything under it.
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      if (fnmatch(pat.c_str(), path.substr(0, slash).c_str(), FNM_PATHNAME) == 0) return true;
    }
  }
  return false;
}

namespace {

// What this process keeps of each mirror path: its lock, and (guarded by it) the last fetch into
// it that succeeded: when it began and the remote's default branch it found.
struct MirrorState {
  std::mutex mu;
  FetchClock::time_point last_fetch_began;
  std::string last_fetch_default_branch;
};

std::shared_ptr<MirrorState> StateOf(const std::string& path) {
  static std::mutex table_mu;
  static std::map<std::string, std::shared_ptr<MirrorState>> table;
  std::lock_guard<std::mutex> lock(table_mu);
  auto& state = table[path];
  if (!state) state = std::make_shared<MirrorState>();
  return state;
}

std::vector<std::string> MirrorRefspecs(const GitSource& s) {
  std::vector<std::string> specs = {"+refs/heads/*:refs/heads/*"};
  specs.push_back("+refs/tags/*:refs/tags/*");  // tags feed metadata and tag_filter
  (void)s;
  return specs;
}

// The remote's default branch, kept beside the mirror so a get that needs no fetch knows it.
void RememberDefaultBranch(const std::string& mirror, const std::string& branch) {
  const std::string file = mirror + ".default-branch";
  auto known = ReadFile(file);
  if (known.ok() && *known == branch) return;
  (void)WriteFile(file, branch);
}

}  // namespace

MirrorLock::MirrorLock(const std::string& mirror_path) {
  std::shared_ptr<MirrorState> state = StateOf(mirror_path);
  mu_ = std::shared_ptr<std::mutex>(state, &state->mu);  // keeps the state alive
  mu_->lock();
  std::error_code ec;
  fs::create_directories(fs::path(mirror_path).parent_path(), ec);
  fd_ = ::open((mirror_path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ >= 0) ::flock(fd_, LOCK_EX);
}

MirrorLock::~MirrorLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  mu_->unlock();
}

std::string MirrorPath(const ResourceContext& ctx, const GitSource& source) {
  std::string base =
      ctx.cache_dir.empty() ? fs::temp_directory_path().string() + "/baton-git" : ctx.cache_dir;
  // One mirror per remote URL (the cache dir is per resource; the URL may change).
  return base + "/mirror-" + Sha256Hex(RedactGitUrl(source.remote.url)).substr(0, 16) + ".git";
}

Result<std::unique_ptr<GitRepository>> FetchMirror(const ResourceContext& ctx,
                                                   const GitSource& source,
                                                   std::string* default_branch) {
  const FetchClock::time_point began = FetchClock::now();
  const std::string path = MirrorPath(ctx, source);
  BATON_ASSIGN_OR_RETURN(auto repo, OpenGitMirror(path));
  BATON_RETURN_IF_ERROR(repo->SetConfig(source.git_config));
  auto fetched = repo->Fetch(source.remote, MirrorRefspecs(source));
  if (!fetched.ok()) {
    return Status(fetched.status().code(),
                  source.Describe("git fetch") + ": " + fetched.status().message());
  }
  *default_branch = *fetched;
  RememberDefaultBranch(path, *fetched);
  std::shared_ptr<MirrorState> state = StateOf(path);  // the caller holds its lock
  if (began >= state->last_fetch_began) {
    state->last_fetch_began = began;
    state->last_fetch_default_branch = *fetched;
  }
  return repo;
}

Result<std::unique_ptr<GitRepository>> FetchMirrorUnlessFetchedSince(const ResourceContext& ctx,
                                                                     const GitSource& source,
                                                                     FetchClock::time_point asked,
                                                                     std::string* default_branch) {
  const std::string path = MirrorPath(ctx, source);
  std::shared_ptr<MirrorState> state = StateOf(path);  // the caller holds its lock
  if (state->last_fetch_began >= asked) {
    auto repo = OpenGitMirror(path);
    if (repo.ok() && (*repo)->SetConfig(source.git_config).ok()) {
      *default_branch = state->last_fetch_default_branch;
      return std::move(*repo);
    }
  }
  return FetchMirror(ctx, source, default_branch);
}

std::unique_ptr<GitRepository> MirrorWithCommit(const ResourceContext& ctx, const GitSource& source,
                                                const std::string& sha,
                                                std::string* default_branch) {
  if (sha.size() != 40 || source.TracksTags()) return nullptr;
  const std::string path = MirrorPath(ctx, source);
  if (!fs::is_directory(path)) return nullptr;
  if (source.branch.empty()) {
    auto remembered = ReadFile(path + ".default-branch");
    if (!remembered.ok() || remembered->empty()) return nullptr;
    *default_branch = *remembered;
  }
  auto repo = OpenGitMirror(path);
  if (!repo.ok()) return nullptr;
  auto found = (*repo)->ResolveCommit(sha);
  if (!found.ok() || *found != sha) return nullptr;
  if (!source.git_config.empty() && !(*repo)->SetConfig(source.git_config).ok()) return nullptr;
  return std::move(*repo);
}

}  // namespace baton::workers::resources
