// Work sharing for the attention kernel: `count` tasks claimed one at a time from a shared counter
// by the caller and by helpers started through `spawn`. The caller works too and waits only for
// tasks that have been claimed, never for a helper to start, so a helper queued behind busy
// threads cannot deadlock it; a helper that starts late finds nothing left and returns.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

namespace talkmesh {

template <typename Spawn>
void share_work(int64_t count, const std::function<void(int64_t)>& task, int64_t helpers,
                Spawn&& spawn) {
  struct Shared {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    int64_t count = 0;
    std::function<void(int64_t)> task;
    std::mutex mu;
    std::condition_variable finished;
  };
  auto shared = std::make_shared<Shared>();
  shared->count = count;
  shared->task = task;
  auto work = [shared]() {
    for (int64_t i; (i = shared->next.fetch_add(1)) < shared->count;) {
      shared->task(i);
      if (shared->done.fetch_add(1) + 1 == shared->count) {
        std::lock_guard<std::mutex> lock(shared->mu);
        shared->finished.notify_all();
      }
    }
  };
  for (int64_t i = 0; i < std::min(helpers, count - 1); ++i) spawn(work);
  work();
  std::unique_lock<std::mutex> lock(shared->mu);
  shared->finished.wait(lock, [&] { return shared->done.load() == shared->count; });
}

}  // namespace talkmesh
