#include "lib/service/cache.h"

#include <sys/mman.h>

#include <atomic>
#include <new>

namespace kod::service {
namespace {
std::atomic<uint64_t>* g_epoch = nullptr;  // in a MAP_SHARED page: one counter for all workers
int64_t g_ttl_ms = 0;
}  // namespace

void EnableMetadataCache(int64_t ttl_ms) {
  if (g_epoch == nullptr) {
    void* page = mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return;  // no cache: every request reads the database
    g_epoch = new (page) std::atomic<uint64_t>(1);
  }
  g_ttl_ms = ttl_ms;
}

uint64_t MetadataEpoch() { return g_epoch ? g_epoch->load(std::memory_order_acquire) : 0; }

void MetadataChanged() {
  if (g_epoch) g_epoch->fetch_add(1, std::memory_order_acq_rel);
}

bool MetadataCacheEnabled() { return g_epoch != nullptr; }
int64_t MetadataCacheTtlMs() { return g_ttl_ms; }

}  // namespace kod::service
