// BuildExecutor: gets answered from the resource caches, and the copies of cached fetches into
// the volumes of the steps that use them (resource_caches.h).
#include <filesystem>
#include <thread>

#include "executor/executor_impl.h"

namespace baton::runner {

namespace fs = std::filesystem;

namespace {

// Types whose fetch is plain files that ResourceCaches::CopyFiles copies faithfully. A
// registry-image's rootfs has owners, device files and extended attributes; a custom type's
// fetch depends on its image as well: both fetch every time.
bool CachedType(const std::string& type) {
  return type == "git" || type == "mock" || type == "time";
}

}  // namespace

bool BuildExecutor::Impl::CachesFetch(const RunGet& get, const workers::ResourceRun& run) const {
  return options_.resource_caches != nullptr && !get.for_image && !run.custom_type_rootfs &&
         run.custom_type_image.is_null() && CachedType(run.type);
}

void BuildExecutor::Impl::UseCachedFetch(const RunGet& get,
                                         std::shared_ptr<const ResourceCaches::Entry> entry) {
  if (!get.for_image) {
    observer_.OnVersion(Shown(get.step), get.resource, entry->version, entry->metadata);
  }
  ActionResult result;
  result.version = entry->version;
  result.metadata = entry->metadata;
  result.cached_at = entry->dir.string();
  cached_[get.volume.id] = std::move(entry);
  Report(get.id, std::move(result));
}

std::string BuildExecutor::Impl::ReadablePath(const Volume& volume) const {
  if (auto it = cached_.find(volume.id); it != cached_.end()) return it->second->files.string();
  if (auto it = copies_.find(volume.id); it != copies_.end() && !it->second.done) {
    return it->second.entry->files.string();
  }
  return VolumePath(volume);
}

bool BuildExecutor::Impl::VolumesReady(const std::vector<Volume>& volumes, ActionId id,
                                       std::function<void(Impl&)> retry_action) {
  waiting_for_copies_.erase(id);
  // Retried once a copy is done, unless cancelled meanwhile.
  auto retry = [id, retry = std::move(retry_action)](Impl& me) {
    if (me.waiting_for_copies_.erase(id) != 0) retry(me);
  };
  for (const Volume& volume : volumes) {
    if (auto copy = copies_.find(volume.id); copy != copies_.end()) {
      if (!copy->second.done) {
        copy->second.waiting.push_back(std::move(retry));
        waiting_for_copies_.insert(id);
        return false;
      }
      if (!copy->second.status.ok()) {
        Report(id, ActionResult::Errored(copy->second.status.message()));
        return false;
      }
      continue;
    }
    auto cached = cached_.find(volume.id);
    if (cached == cached_.end()) continue;
    // Copied beside the caches, off this thread, and renamed into the volume on the loop (a
    // build that ended meanwhile has no volume left to copy into).
    std::shared_ptr<const ResourceCaches::Entry> entry = std::move(cached->second);
    cached_.erase(cached);
    VolumeCopy& copy = copies_[volume.id];
    copy.entry = entry;
    copy.waiting.push_back(std::move(retry));
    waiting_for_copies_.insert(id);
    // (A build resumed without caches, from a journal that names an entry: beside the volume.)
    Result<fs::path> scratch = options_.resource_caches
                                   ? options_.resource_caches->NewDir()
                                   : Result<fs::path>(fs::path(VolumePath(volume) + ".copy"));
    if (!scratch.ok()) {
      Post([vid = volume.id, s = scratch.status()](Impl& me) { me.CopyDone(vid, s); });
      return false;
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    std::thread([weak, entry, vid = volume.id, dir = *scratch, target = VolumePath(volume)] {
      Status copied = ResourceCaches::CopyFiles(*entry, dir / "files");
      auto self = weak.lock();
      if (!self) return;  // no entry.json: the next ResourceCaches removes it
      self->Post([vid, dir, target, copied](Impl& me) {
        Status status = copied;
        if (status.ok()) {
          // The volume is the copy's alone: a spare build tree (spare_directories.h) may hold an
          // empty directory of its name.
          std::error_code ec;
          fs::remove_all(target, ec);
          fs::create_directories(fs::path(target).parent_path(), ec);
          if (!ec) fs::rename(dir / "files", target, ec);
          if (ec)
            status = IoError("cannot move the copy of a cached fetch to " + target + ": " +
                             ec.message());
        }
        if (me.options_.resource_caches) {
          me.options_.resource_caches->Discard(dir);
        } else {
          std::error_code ec;
          fs::remove_all(dir, ec);
        }
        me.CopyDone(vid, status);
      });
    }).detach();
    return false;
  }
  return true;
}

bool BuildExecutor::Impl::CancelWaiting(ActionId id) {
  if (waiting_for_copies_.erase(id) == 0) return false;
  Report(id, ActionResult::Errored("cancelled before it started (its inputs were being copied)"));
  return true;
}

void BuildExecutor::Impl::CopyDone(int volume_id, Status status) {
  VolumeCopy& copy = copies_[volume_id];
  copy.done = true;
  copy.status = std::move(status);
  copy.entry.reset();
  std::vector<std::function<void(Impl&)>> waiting = std::move(copy.waiting);
  for (auto& retry : waiting) retry(*this);
}

}  // namespace baton::runner
