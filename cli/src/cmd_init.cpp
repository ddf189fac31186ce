// `baton init [DIR]`: writes the seed pipeline for the project in DIR (default: the current
// directory) — ci/pipeline.yml, its task files and scripts, a cf manifest and a starter
// .clang-tidy (Maven: checkstyle.xml and the secure-coding rules) — which the user commits and
// sets. CMake projects are
// detected by their CMakeLists.txt, Maven projects by their pom.xml. Existing files are never
// overwritten without --force.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "baton/common/strings.h"
#include "client/client_command.h"
#include "command.h"
#include "init_templates.h"
#include "local_env.h"

namespace baton::cli {
namespace {

namespace fs = std::filesystem;

struct InitFlags {
  std::string dir = ".";
  std::string name;    // pipeline name (default: CMake's project())
  std::string branch;  // default: the repository's current branch
  std::string app;     // the executable target to deploy (default: the first non-test one)
  bool no_deploy = false;
  bool force = false;
};

// What init learned about the project.
struct Project {
  std::string kind;  // "cmake"
  std::string name;
  std::string branch;
  std::string app;  // empty: no deploy job
  std::vector<std::string> notes;
};

// Lower-case letters, digits, '-' and '_', starting with a letter (a Concourse identifier).
std::string Identifier(const std::string& text) {
  std::string out;
  for (char c : text) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (std::isalnum(static_cast<unsigned char>(l)) || l == '-' || l == '_') ? l : '-';
  }
  while (!out.empty() && !std::isalpha(static_cast<unsigned char>(out[0]))) out.erase(0, 1);
  return out.empty() ? "app" : out;
}

std::string ReadOrEmpty(const fs::path& file) {
  auto text = ReadInputFile(file.string());
  return text.ok() ? *text : "";
}

// The branch HEAD names in DIR/.git, or "" when DIR is not (yet) a git repository.
std::string CurrentBranch(const fs::path& dir) {
  std::string head = ReadOrEmpty(dir / ".git" / "HEAD");
  const std::string prefix = "ref: refs/heads/";
  if (head.rfind(prefix, 0) != 0) return "";
  return std::string(Trim(head.substr(prefix.size())));
}

// The CMakeLists.txt files of the project, outside build and dependency directories.
std::vector<fs::path> CMakeFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::string base = it->path().filename().string();
    if (it->is_directory() && (base[0] == '.' || base.rfind("build", 0) == 0 ||
                               base == "third_party" || base == "external" || base == "_deps")) {
      it.disable_recursion_pending();
    } else if (base == "CMakeLists.txt") {
      out.push_back(it->path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The first add_executable() target whose name does not look like a test, bench or example.
std::string FirstAppTarget(const fs::path& dir) {
  std::regex add_executable(R"(add_executable\s*\(\s*([A-Za-z0-9_.+-]+))");
  std::regex not_app("test|bench|example|demo|fuzz", std::regex::icase);
  for (const fs::path& file : CMakeFiles(dir)) {
    std::string text = ReadOrEmpty(file);
    for (std::sregex_iterator m(text.begin(), text.end(), add_executable), end; m != end; ++m) {
      std::string target = (*m)[1];
      if (target.find("${") == std::string::npos && !std::regex_search(target, not_app)) {
        return target;
      }
    }
  }
  return "";
}

Result<Project> Detect(const InitFlags& flags) {
  fs::path dir(flags.dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound(flags.dir + " is not a directory");
  Project p;
  bool cmake = fs::exists(dir / "CMakeLists.txt", ec);
  if (!cmake && !fs::exists(dir / "pom.xml", ec)) {
    return NotFound("no CMakeLists.txt or pom.xml in " + fs::absolute(dir).string() +
                    ": baton init knows CMake and Maven projects; run it at the project's root");
  }
  p.kind = cmake ? "cmake" : "maven";
  std::smatch m;
  std::string top = ReadOrEmpty(dir / (cmake ? "CMakeLists.txt" : "pom.xml"));
  // A pom's own artifactId, not its parent's.
  top = std::regex_replace(top, std::regex(R"(<parent>[\s\S]*?</parent>)"), "");
  std::regex project_re(
      cmake ? R"(project\s*\(\s*([A-Za-z0-9_.+-]+))" : R"(<artifactId>\s*([A-Za-z0-9_.+-]+))",
      std::regex::icase);
  std::string fallback = fs::absolute(dir).lexically_normal().filename().string();
  if (fallback.empty()) {
    fallback = fs::absolute(dir).lexically_normal().parent_path().filename().string();
  }
  p.name = Identifier(!flags.name.empty()                     ? flags.name
                      : std::regex_search(top, m, project_re) ? m[1].str()
                                                              : fallback);
  p.branch = !flags.branch.empty() ? flags.branch : CurrentBranch(dir);
  if (p.branch.empty()) {
    p.branch = "main";
    p.notes.push_back(
        "not a git repository yet (or a detached HEAD): the pipeline follows "
        "branch main; change source.branch in ci/pipeline.yml if need be");
  }
  if (!cmake) {
    if (!flags.no_deploy) p.app = !flags.app.empty() ? Identifier(flags.app) : p.name;
    // java_buildpack runs a jar's Main-Class: a pom that sets none builds a jar it cannot start.
    if (!p.app.empty() && top.find("<mainClass>") == std::string::npos &&
        top.find("spring-boot-maven-plugin") == std::string::npos) {
      p.notes.push_back(
          "the pom names no <mainClass> (maven-jar-plugin's <archive><manifest>): the jar "
          "cannot be started by Cloud Foundry's java_buildpack until it does (or use --no-deploy)");
    }
    return p;
  }
  if (!flags.no_deploy) p.app = !flags.app.empty() ? flags.app : FirstAppTarget(dir);
  if (p.app.empty() && !flags.no_deploy) {
    p.notes.push_back(
        "no executable target to deploy found (add_executable): the pipeline has "
        "no deploy job; run again with --app TARGET to add one");
  }
  return p;
}

std::string Fill(std::string text, const Project& p) {
  auto replace = [&](const std::string& key, const std::string& value) {
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
      text.replace(at, key.size(), value);
      at += value.size();
    }
  };
  std::string deploy_resource, deploy_job;
  for (const auto& t : InitTemplates()) {
    if (std::string(t.path) == p.kind + "/deploy-resource.yml") deploy_resource = t.content;
    if (std::string(t.path) == p.kind + "/deploy-job.yml") deploy_job = t.content;
  }
  replace("@DEPLOY_RESOURCE@\n", p.app.empty() ? "" : deploy_resource);
  replace("@DEPLOY_JOB@\n", p.app.empty() ? "" : deploy_job);
  replace("@NAME@", p.name);
  replace("@BRANCH@", p.branch);
  replace("@APP@", p.app);
  return text;
}

// The files to write: path in the project -> (content, mode).
std::map<std::string, std::pair<std::string, int>> Files(const Project& p) {
  std::map<std::string, std::pair<std::string, int>> out;
  const std::string prefix = p.kind + "/";
  for (const auto& t : InitTemplates()) {
    std::string path = t.path;
    if (path.rfind(prefix, 0) != 0) continue;
    path = path.substr(prefix.size());
    if (path == "deploy-resource.yml" || path == "deploy-job.yml") continue;
    if (path == "pipeline.yml") path = "ci/pipeline.yml";
    if (path == "ci/manifest.yml" && p.app.empty()) continue;
    out[path] = {Fill(t.content, p), t.mode};
  }
  return out;
}

Status WriteProjectFile(const fs::path& file, const std::string& content, int mode) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return IoError("cannot write " + file.string());
  fs::permissions(file, fs::perms(mode), ec);
  if (ec) return IoError("cannot set the mode of " + file.string() + ": " + ec.message());
  return Status::Ok();
}

bool IsStarter(const std::string& path) {
  return path == ".clang-tidy" || path == "checkstyle.xml";
}

int Init(const InitFlags& flags) {
  auto project = Detect(flags);
  if (!project.ok()) return ReportError(project.status());
  auto files = Files(*project);
  fs::path dir(flags.dir);
  std::vector<std::string> clashes;
  for (const auto& [path, file] : files) {
    std::error_code ec;
    // A project's own .clang-tidy or checkstyle.xml is kept: ours is only a starter.
    if (!IsStarter(path) && fs::exists(dir / path, ec)) clashes.push_back(path);
  }
  if (!clashes.empty() && !flags.force) {
    std::string list;
    for (const auto& c : clashes) list += (list.empty() ? "" : ", ") + c;
    return ReportError(FailedPrecondition("nothing was written: " + list +
                                          " exist already (--force overwrites them)"));
  }
  for (const auto& [path, file] : files) {
    std::error_code ec;
    if (IsStarter(path) && fs::exists(dir / path, ec)) continue;
    if (Status s = WriteProjectFile(dir / path, file.first, file.second); !s.ok()) {
      return ReportError(s);
    }
    std::printf("wrote %s\n", path.c_str());
  }
  const Project& p = *project;
  std::printf("\nthe seed pipeline `%s` for this %s project: branch %s, %s\n", p.name.c_str(),
              p.kind == "cmake" ? "CMake" : "Maven", p.branch.c_str(),
              p.app.empty() ? "no deploy" : ("deploys " + p.app).c_str());
  for (const auto& note : p.notes) std::printf("note: %s\n", note.c_str());
  std::printf(
      "next: commit ci/ (and .clang-tidy or checkstyle.xml), then\n"
      "  baton set-pipeline -p %s -c ci/pipeline.yml -v repo=URL%s\n"
      "see docs/own-project.md\n",
      p.name.c_str(),
      p.app.empty() ? ""
                    : " -v cf_api=URL -v cf_org=ORG -v cf_space=SPACE -v cf_username=USER "
                      "-v cf_password=PASSWORD -v cf_domain=DOMAIN -v cf_ca_cert=");
  return kExitOk;
}

void RegisterInit(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<InitFlags>();
  auto* cmd = root.add_subcommand(
      "init",
      "Write the seed pipeline (ci/pipeline.yml, tasks, scripts) for a CMake or Maven project");
  cmd->add_option("dir", flags->dir, "The project's root directory (default: .)");
  cmd->add_option("--name", flags->name, "Pipeline name (default: the CMake project() name)");
  cmd->add_option("--branch", flags->branch,
                  "Branch to build (default: the repository's current branch)");
  cmd->add_option("--app", flags->app,
                  "CMake: the executable target to deploy (default: the first that is not a "
                  "test); Maven: the app's name (default: the artifactId)");
  cmd->add_flag("--no-deploy", flags->no_deploy, "Write no deploy job");
  cmd->add_flag("--force", flags->force, "Overwrite files that exist");
  cmd->callback([flags, &exit_code] { exit_code = Init(*flags); });
}

BATON_COMMAND(RegisterInit, "init");

}  // namespace
}  // namespace baton::cli
