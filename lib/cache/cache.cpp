#include "lib/cache/cache.h"

#include <sys/mman.h>

#include <atomic>
#include <new>

namespace kod::cache {
namespace {

// One counter per scope in a MAP_SHARED page: the processes forked after Enable() share them.
std::atomic<uint64_t>* g_generations = nullptr;

}  // namespace

void Enable() {
  if (g_generations != nullptr) return;
  void* page = mmap(nullptr, sizeof(std::atomic<uint64_t>) * kScopeCount, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return;  // no caches: every request reads the database
  auto* counters = static_cast<std::atomic<uint64_t>*>(page);
  for (int i = 0; i < kScopeCount; ++i) new (&counters[i]) std::atomic<uint64_t>(1);
  g_generations = counters;
}

bool Enabled() { return g_generations != nullptr; }

uint64_t Generation(Scope scope) {
  if (g_generations == nullptr || scope == Scope::kNone) return 0;
  return g_generations[static_cast<int>(scope)].load(std::memory_order_acquire);
}

void Changed(Scope scope) {
  if (g_generations == nullptr || scope == Scope::kNone) return;
  g_generations[static_cast<int>(scope)].fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace kod::cache
