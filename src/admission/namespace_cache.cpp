// The namespace cache and the periodic cluster listing behind it (and behind the VAP params).

#include "admission/namespace_cache.h"

#include "cel/k8s_value.h"
#include "core/log.h"

namespace moat::admission {

PeriodicTask::PeriodicTask(std::function<void()> step, std::chrono::milliseconds interval) {
  thread_ = std::thread([this, step = std::move(step), interval] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (wake_.wait_for(lock, interval, [this] { return stopping_; })) break;
      lock.unlock();
      step();
      lock.lock();
    }
  });
}

PeriodicTask::~PeriodicTask() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ClusterObjectCache::ClusterObjectCache(k8s::ClusterConnection connection,
                                       std::vector<k8s::ResourceKind> kinds,
                                       k8s::ClusterListOptions options)
    : connection_(std::move(connection)), kinds_(std::move(kinds)), options_(options) {
  auto empty = std::make_shared<Snapshot>();
  empty->objects.resize(kinds_.size());
  empty->listed.resize(kinds_.size(), false);
  snapshot_ = std::move(empty);
}

ClusterObjectCache::~ClusterObjectCache() { task_.reset(); }

Result<void> ClusterObjectCache::Refresh() {
  auto next = std::make_shared<Snapshot>(*snapshot());
  for (size_t i = 0; i < kinds_.size(); ++i) {
    k8s::LoadResult listed;
    k8s::KindListing listing{kinds_[i].kind, kinds_[i].api_version, 0, 0, 200};
    MOAT_TRY(k8s::ListKind(connection_, kinds_[i], options_, listed, listing));
    for (const std::string& warning : listed.warnings) log::Warn("admission: " + warning);
    for (const k8s::LoadError& error : listed.errors) log::Warn("admission: " + error.ToString());
    if (!listing.complete) {
      if (listing.status == 404) {
        log::Warn("admission: " + kinds_[i].resource + " (" + kinds_[i].api_version +
                  ") is not served by the cluster");
      }
      continue;  // keep what the last complete listing gave
    }
    next->objects[i] = std::move(listed.objects);
    next->listed[i] = true;
  }
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(next);
  return Ok();
}

void ClusterObjectCache::StartRefreshing(std::chrono::milliseconds interval,
                                         std::function<void()> on_refresh) {
  task_ = std::make_unique<PeriodicTask>(
      [this, on_refresh = std::move(on_refresh)] {
        auto refreshed = Refresh();
        if (!refreshed.ok()) {
          log::Warn("admission: cluster objects not refreshed, keeping the last ones: " +
                    refreshed.error().message);
          return;
        }
        if (on_refresh) on_refresh();
      },
      interval);
}

std::shared_ptr<const ClusterObjectCache::Snapshot> ClusterObjectCache::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

std::shared_ptr<NamespaceCache> NamespaceCache::FromObjects(
    const std::vector<k8s::Object>& objects) {
  auto cache = std::make_shared<NamespaceCache>();
  cache->Replace(objects);
  return cache;
}

Result<std::shared_ptr<NamespaceCache>> NamespaceCache::Start(
    const k8s::ClusterConnection& connection, std::chrono::milliseconds interval) {
  auto cache = std::make_shared<NamespaceCache>();
  cache->source_ = std::make_unique<ClusterObjectCache>(
      connection, std::vector<k8s::ResourceKind>{{"v1", "namespaces", "Namespace"}});
  MOAT_TRY(cache->source_->Refresh());
  NamespaceCache* self = cache.get();
  auto replace = [self] { self->Replace(self->source_->snapshot()->objects[0]); };
  replace();
  // The task lives in source_, which the cache owns: `self` outlives it.
  cache->source_->StartRefreshing(interval, replace);
  return cache;
}

void NamespaceCache::Replace(const std::vector<k8s::Object>& objects) {
  auto index = std::make_shared<Index>();
  for (const k8s::Object& object : objects) {
    if (object.kind != "Namespace" || object.name.empty()) continue;
    auto entry = std::make_shared<Namespace>();
    entry->object = object;
    entry->value = cel::FromK8sValue(object.root);
    (*index)[object.name] = std::move(entry);
  }
  std::lock_guard lock(mutex_);
  index_ = std::move(index);
}

std::shared_ptr<const NamespaceCache::Namespace> NamespaceCache::Find(std::string_view name) const {
  std::shared_ptr<const Index> index;
  {
    std::lock_guard lock(mutex_);
    index = index_;
  }
  auto it = index->find(std::string(name));
  return it == index->end() ? nullptr : it->second;
}

size_t NamespaceCache::size() const {
  std::lock_guard lock(mutex_);
  return index_->size();
}

}  // namespace moat::admission
