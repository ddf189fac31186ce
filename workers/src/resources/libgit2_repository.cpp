#include "resources/libgit2_repository.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "resources/libgit2_stream.h"
#include "resources/resource_util.h"

namespace baton::workers {

std::string RedactGitUrl(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t host_start = scheme + 3;
  size_t at = url.find('@', host_start);
  size_t slash = url.find('/', host_start);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  std::string userinfo = url.substr(host_start, at - host_start);
  size_t colon = userinfo.find(':');
  if (colon == std::string::npos) return url;
  return url.substr(0, host_start) + userinfo.substr(0, colon) + url.substr(at);
}

namespace resources {
namespace {

// Packs a repository may have before a fetch merges the smallest (git's gc.autoPackLimit is 50;
// a mirror's clones and spares link every pack, so fewer here).
constexpr size_t kMaxPacks = 8;

std::string ReplaceAll(std::string s, const std::string& secret) {
  if (secret.size() < 3) return s;  // too short to redact meaningfully without mangling text
  for (size_t pos; (pos = s.find(secret)) != std::string::npos;)
    s.replace(pos, secret.size(), "***");
  return s;
}

std::string OidHex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

GitSignature FromGit(const git_signature* s) {
  return {s->name ? s->name : "", s->email ? s->email : "",
          SystemTime(std::chrono::seconds(s->when.time)), s->when.offset};
}

int CredentialCallback(git_credential** out, const char* url, const char* username_from_url,
                       unsigned int allowed, void* payload) {
  auto* auth = static_cast<RemoteAuth*>(payload);
  const GitRemote& r = *auth->remote;
  if (++auth->attempts > 1) {
    git_error_set_str(GIT_ERROR_NET, "authentication failed");
    return GIT_EAUTH;
  }
  (void)url;
  std::string user =
      !r.username.empty() ? r.username : (username_from_url ? username_from_url : "git");
  if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !r.private_key.empty()) {
    if (auth->key_file.empty()) {
      char tmpl[] = "/tmp/baton-git-key-XXXXXX";
      int fd = ::mkstemp(tmpl);
      if (fd < 0) return GIT_EUSER;
      std::string key = r.private_key;
      if (key.empty() || key.back() != '\n') key.push_back('\n');
      bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
      ::close(fd);
      auth->key_file = tmpl;
      if (!ok) return GIT_EUSER;
    }
    return git_credential_ssh_key_new(out, user.c_str(), nullptr, auth->key_file.c_str(),
                                      r.private_key_passphrase.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && !r.password.empty()) {
    return git_credential_userpass_plaintext_new(out, user.c_str(), r.password.c_str());
  }
  if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user.c_str());
  git_error_set_str(GIT_ERROR_NET, "authentication required");
  return GIT_EAUTH;
}

int CertificateCallback(git_cert* cert, int valid, const char*, void* payload) {
  auto* auth = static_cast<RemoteAuth*>(payload);
  if (valid || auth->remote->skip_ssl_verification) return 0;
  // ssh host keys are accepted as Concourse's git resource does (StrictHostKeyChecking no):
  // libgit2 1.5 has no known_hosts to check them against.
  if (cert && cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) return 0;
  return GIT_PASSTHROUGH;
}

int PushUpdateCallback(const char* refname, const char* status, void* payload) {
  if (status) static_cast<RemoteAuth*>(payload)->rejected.emplace_back(refname, status);
  return 0;
}

std::vector<char*> RefspecArray(const std::vector<std::string>& refspecs) {
  std::vector<char*> out;
  for (const auto& r : refspecs) out.push_back(const_cast<char*>(r.c_str()));
  return out;
}

std::string DefaultBranch(git_remote* remote) {
  git_buf buf = GIT_BUF_INIT;
  std::string branch;
  if (git_remote_default_branch(&buf, remote) == 0) {
    branch = buf.ptr;
    const std::string prefix = "refs/heads/";
    if (branch.rfind(prefix, 0) == 0) branch = branch.substr(prefix.size());
  }
  git_buf_dispose(&buf);
  return branch;
}

}  // namespace

void EnsureLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    RegisterGitSocketStream();  // connect/idle timeouts and cancel on every git connection
  });
}

RemoteAuth::~RemoteAuth() {
  if (!key_file.empty()) ::unlink(key_file.c_str());
}

void FillCallbacks(git_remote_callbacks* callbacks, RemoteAuth* auth) {
  callbacks->credentials = &CredentialCallback;
  callbacks->certificate_check = &CertificateCallback;
  callbacks->push_update_reference = &PushUpdateCallback;
  callbacks->payload = auth;
}

Status GitError(int code, const std::string& what, const GitRemote* remote) {
  const git_error* e = git_error_last();
  std::string detail = e && e->message ? e->message : "libgit2 error " + std::to_string(code);
  if (remote) {
    detail = ReplaceAll(ReplaceAll(detail, remote->password), remote->private_key);
    detail = RedactGitUrl(detail);
  }
  std::string lower = detail;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (code == GIT_EAUTH || lower.find("authentication") != std::string::npos ||
      lower.find("401") != std::string::npos) {
    return PermissionDenied(what + ": authentication failed (" + detail +
                            "): set source.username/password (http) or source.private_key (ssh)");
  }
  if (code == GIT_ECERTIFICATE || lower.find("certificate") != std::string::npos) {
    return Unavailable(what + ": TLS certificate not trusted (" + detail +
                       "): fix the server's certificate, or set source.skip_ssl_verification");
  }
  if (e && (e->klass == GIT_ERROR_NET || e->klass == GIT_ERROR_OS || e->klass == GIT_ERROR_SSH)) {
    return Unavailable(what + ": cannot reach the remote (" + detail +
                       "): check source.uri and "
                       "that the server is up");
  }
  if (code == GIT_ENOTFOUND) return NotFound(what + ": " + detail);
  return Internal(what + ": " + detail);
}

Result<git_oid> Libgit2Repository::ParseOid(const std::string& sha) const {
  git_oid oid;
  if (sha.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, sha.c_str()) != 0) {
    return InvalidArgument("'" + sha + "' is not a full 40-character commit sha");
  }
  return oid;
}

const std::string Libgit2Repository::Path() const { return git_repository_path(repo_.get()); }

Result<std::string> Libgit2Repository::Fetch(const GitRemote& remote,
                                             const std::vector<std::string>& refspecs) {
  std::string what = "fetch from " + RedactGitUrl(remote.url);
  ScopedGitIoLimits limits(IoLimitsOf(remote));
  BATON_ASSIGN_OR_RETURN(RemotePtr r, OpenAnonymousRemote(repo_.get(), remote, what));
  RemoteAuth auth;
  auth.remote = &remote;
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  FillCallbacks(&opts.callbacks, &auth);
  opts.prune = GIT_FETCH_PRUNE;
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;  // tags come through the refspecs
  int rc =
      git_remote_connect(r.get(), GIT_DIRECTION_FETCH, &opts.callbacks, &opts.proxy_opts, nullptr);
  if (rc != 0) return GitError(rc, what, &remote);
  std::string default_branch = DefaultBranch(r.get());
  std::vector<char*> specs = RefspecArray(refspecs);
  git_strarray array{specs.data(), specs.size()};
  rc = git_remote_download(r.get(), &array, &opts);
  if (rc == 0) {
    rc = git_remote_update_tips(r.get(), &opts.callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE,
                                "baton fetch");
  }
  if (rc == 0) rc = git_remote_prune(r.get(), &opts.callbacks);
  const bool received = git_remote_stats(r.get())->received_objects > 0;
  git_remote_disconnect(r.get());
  if (rc != 0) return GitError(rc, what, &remote);
  // Best effort: packs left unmerged cost links and lookups, not correctness.
  if (received) (void)CompactPacks(repo_.get(), kMaxPacks);
  return default_branch;
}

Result<std::string> Libgit2Repository::ResolveCommit(const std::string& ref) {
  git_object* obj = nullptr;
  int rc = git_revparse_single(&obj, repo_.get(), ref.c_str());
  if (rc != 0) return NotFound("'" + ref + "' does not exist in the repository");
  git_object* commit = nullptr;
  rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
  git_object_free(obj);
  if (rc != 0) return NotFound("'" + ref + "' does not point to a commit");
  std::string sha = OidHex(git_object_id(commit));
  git_object_free(commit);
  return sha;
}

Result<bool> Libgit2Repository::IsAncestor(const std::string& ancestor,
                                           const std::string& descendant) {
  auto a = ParseOid(ancestor);
  auto d = ParseOid(descendant);
  if (!a.ok() || !d.ok()) return false;
  git_odb* odb = nullptr;
  if (git_repository_odb(&odb, repo_.get()) != 0) return GitError(-1, "open object database");
  bool both = git_odb_exists(odb, &*a) && git_odb_exists(odb, &*d);
  git_odb_free(odb);
  if (!both) return false;
  if (git_oid_equal(&*a, &*d)) return true;
  int rc = git_graph_descendant_of(repo_.get(), &*d, &*a);
  if (rc < 0) return GitError(rc, "compare commits " + ancestor + " and " + descendant);
  return rc == 1;
}

Result<std::vector<std::string>> Libgit2Repository::Log(const std::string& head,
                                                        const std::string& hide, size_t limit) {
  BATON_ASSIGN_OR_RETURN(git_oid head_oid, ParseOid(head));
  git_revwalk* raw = nullptr;
  int rc = git_revwalk_new(&raw, repo_.get());
  if (rc != 0) return GitError(rc, "walk history");
  GitPtr<git_revwalk, git_revwalk_free> walk(raw);
  git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
  if ((rc = git_revwalk_push(walk.get(), &head_oid)) != 0) return GitError(rc, "walk from " + head);
  if (!hide.empty()) {
    BATON_ASSIGN_OR_RETURN(git_oid hide_oid, ParseOid(hide));
    if ((rc = git_revwalk_hide(walk.get(), &hide_oid)) != 0) return GitError(rc, "hide " + hide);
  }
  std::vector<std::string> out;
  git_oid oid;
  while ((limit == 0 || out.size() < limit) && git_revwalk_next(&oid, walk.get()) == 0) {
    out.push_back(OidHex(&oid));
  }
  return out;
}

Result<std::vector<std::string>> Libgit2Repository::ChangedPaths(const std::string& sha) {
  BATON_ASSIGN_OR_RETURN(git_oid oid, ParseOid(sha));
  git_commit* c = nullptr;
  int rc = git_commit_lookup(&c, repo_.get(), &oid);
  if (rc != 0) return GitError(rc, "look up commit " + sha);
  CommitPtr commit(c);
  git_tree *tree = nullptr, *parent_tree = nullptr;
  if ((rc = git_commit_tree(&tree, commit.get())) != 0) return GitError(rc, "read tree of " + sha);
  TreePtr tree_ptr(tree);
  TreePtr parent_ptr;
  if (git_commit_parentcount(commit.get()) > 0) {
    git_commit* parent = nullptr;
    if ((rc = git_commit_parent(&parent, commit.get(), 0)) != 0)
      return GitError(rc, "parent of " + sha);
    CommitPtr parent_commit(parent);
    if ((rc = git_commit_tree(&parent_tree, parent)) != 0) return GitError(rc, "parent tree");
    parent_ptr.reset(parent_tree);
  }
  git_diff* diff = nullptr;
  rc = git_diff_tree_to_tree(&diff, repo_.get(), parent_ptr.get(), tree_ptr.get(), nullptr);
  if (rc != 0) return GitError(rc, "diff " + sha);
  std::vector<std::string> paths;
  for (size_t i = 0; i < git_diff_num_deltas(diff); ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff, i);
    if (d->old_file.path) paths.push_back(d->old_file.path);
    if (d->new_file.path &&
        (!d->old_file.path || std::string(d->new_file.path) != d->old_file.path)) {
      paths.push_back(d->new_file.path);
    }
  }
  git_diff_free(diff);
  return paths;
}

Result<GitCommit> Libgit2Repository::Commit(const std::string& sha) {
  BATON_ASSIGN_OR_RETURN(git_oid oid, ParseOid(sha));
  git_commit* c = nullptr;
  int rc = git_commit_lookup(&c, repo_.get(), &oid);
  if (rc != 0) return NotFound("commit " + sha + " does not exist in the repository");
  CommitPtr commit(c);
  GitCommit out;
  out.sha = sha;
  out.author = FromGit(git_commit_author(c));
  out.committer = FromGit(git_commit_committer(c));
  const char* message = git_commit_message(c);
  out.message = message ? message : "";
  for (unsigned i = 0; i < git_commit_parentcount(c); ++i) {
    out.parents.push_back(OidHex(git_commit_parent_id(c, i)));
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> Libgit2Repository::Tags() {
  git_strarray names{};
  int rc = git_tag_list(&names, repo_.get());
  if (rc != 0) return GitError(rc, "list tags");
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < names.count; ++i) {
    auto sha = ResolveCommit(std::string("refs/tags/") + names.strings[i]);
    if (sha.ok()) out.emplace_back(names.strings[i], *sha);
  }
  git_strarray_dispose(&names);
  return out;
}

Result<std::string> Libgit2Repository::Describe(const std::string& sha,
                                                const GitDescribeOptions& options) {
  BATON_ASSIGN_OR_RETURN(git_oid oid, ParseOid(sha));
  git_object* object = nullptr;
  int rc = git_object_lookup(&object, repo_.get(), &oid, GIT_OBJECT_COMMIT);
  if (rc != 0) return NotFound("commit " + sha + " does not exist in the repository");
  std::unique_ptr<git_object, void (*)(git_object*)> commit(object, git_object_free);
  git_describe_options describe = GIT_DESCRIBE_OPTIONS_INIT;
  describe.describe_strategy = options.tags ? GIT_DESCRIBE_TAGS : GIT_DESCRIBE_DEFAULT;
  describe.show_commit_oid_as_fallback = options.always ? 1 : 0;
  git_describe_result* result = nullptr;
  rc = git_describe_commit(&result, commit.get(), &describe);
  if (rc == GIT_ENOTFOUND) {
    return NotFound("no tag" + std::string(options.tags ? "" : " (annotated)") +
                    " is reachable from " + sha.substr(0, 7));
  }
  if (rc != 0) return GitError(rc, "describe " + sha);
  std::unique_ptr<git_describe_result, void (*)(git_describe_result*)> described(
      result, git_describe_result_free);
  git_describe_format_options format = GIT_DESCRIBE_FORMAT_OPTIONS_INIT;
  format.abbreviated_size = static_cast<unsigned>(options.abbrev);
  format.always_use_long_format = options.long_format ? 1 : 0;
  git_buf buf = GIT_BUF_INIT;
  rc = git_describe_format(&buf, described.get(), &format);
  if (rc != 0) return GitError(rc, "describe " + sha);
  std::string out(buf.ptr, buf.size);
  git_buf_dispose(&buf);
  return out;
}

Status Libgit2Repository::SetConfig(const std::map<std::string, std::string>& entries) {
  if (entries.empty()) return Status::Ok();
  git_config* cfg = nullptr;
  int rc = git_repository_config(&cfg, repo_.get());
  if (rc != 0) return GitError(rc, "open git config");
  for (const auto& [key, value] : entries) {
    rc = git_config_set_string(cfg, key.c_str(), value.c_str());
    if (rc != 0) {
      git_config_free(cfg);
      return InvalidArgument("git config " + key + ": " + GitError(rc, "set").message());
    }
  }
  git_config_free(cfg);
  return Status::Ok();
}

Result<git_signature*> MakeSignature(const GitSignature& sig) {
  git_signature* out = nullptr;
  int64_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(sig.when.time_since_epoch()).count();
  int rc = git_signature_new(&out, sig.name.c_str(), sig.email.c_str(), secs, sig.offset_minutes);
  if (rc != 0)
    return InvalidArgument("invalid git identity '" + sig.name + " <" + sig.email + ">'");
  return out;
}

}  // namespace resources

Result<std::unique_ptr<GitRepository>> OpenGitMirror(const std::string& path) {
  resources::EnsureLibgit2();
  git_repository* repo = nullptr;
  int rc = git_repository_open_bare(&repo, path.c_str());
  if (rc != 0) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    rc = git_repository_init(&repo, path.c_str(), /*is_bare=*/1);
    if (rc != 0) return resources::GitError(rc, "create git mirror at " + path);
  }
  return std::unique_ptr<GitRepository>(new resources::Libgit2Repository(resources::RepoPtr(repo)));
}

Result<std::unique_ptr<GitRepository>> OpenGitCheckout(const std::string& path) {
  resources::EnsureLibgit2();
  git_repository* repo = nullptr;
  int rc = git_repository_open_ext(&repo, path.c_str(), 0, nullptr);
  if (rc != 0) {
    return NotFound(path +
                    " is not a git repository: put the directory a `get` of this git "
                    "resource fetched (or a task output made from it)");
  }
  return std::unique_ptr<GitRepository>(new resources::Libgit2Repository(resources::RepoPtr(repo)));
}

}  // namespace baton::workers
