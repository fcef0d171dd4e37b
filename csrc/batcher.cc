#include "batcher.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace talkmesh {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

void check_offsets(const int64_t* offsets, int64_t num_clips, int64_t total, const char* name,
                   const char* unit) {
  require(offsets[0] == 0, std::string(name) + "[0] must be 0, got " + std::to_string(offsets[0]));
  for (int64_t c = 0; c < num_clips; ++c) {
    require(offsets[c + 1] >= offsets[c],
            std::string(name) + " must be non-decreasing, but " + name + "[" +
                std::to_string(c + 1) + "]=" + std::to_string(offsets[c + 1]) + " < " + name +
                "[" + std::to_string(c) + "]=" + std::to_string(offsets[c]));
  }
  require(offsets[num_clips] == total,
          std::string(name) + "[-1]=" + std::to_string(offsets[num_clips]) + " must equal the " +
              unit + " count " + std::to_string(total));
}

void check_config(const WindowConfig& c) {
  require(c.window_frames > 0, "window_frames must be > 0, got " + std::to_string(c.window_frames));
  require(c.stride_frames > 0, "stride_frames must be > 0, got " + std::to_string(c.stride_frames));
  require(c.batch_size > 0, "batch_size must be > 0, got " + std::to_string(c.batch_size));
  require(c.samples_per_frame > 0,
          "samples_per_frame must be > 0, got " + std::to_string(c.samples_per_frame));
  require(c.min_valid_fraction >= 0.0 && c.min_valid_fraction <= 1.0,
          "min_valid_fraction must be in [0, 1], got " + std::to_string(c.min_valid_fraction));
  require(c.num_threads >= 0, "num_threads must be >= 0, got " + std::to_string(c.num_threads));
}

}  // namespace

// ---------------------------------------------------------------- SplitMix64

uint64_t SplitMix64::next() {
  state_ += 0x9E3779B97F4A7C15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
}

SplitMix64 SplitMix64::for_epoch(uint64_t seed, uint64_t epoch) {
  SplitMix64 seed_stream(seed);
  SplitMix64 epoch_stream(seed_stream.next() ^ epoch);
  return SplitMix64(epoch_stream.next());
}

// ---------------------------------------------------------------- ThreadPool

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) num_threads = static_cast<int>(std::thread::hardware_concurrency());
  num_threads = std::max(num_threads, 1);
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back(&ThreadPool::work, this, i);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunk(int index) {
  const int64_t parts = size();
  const int64_t lo = task_size_ * index / parts;
  const int64_t hi = task_size_ * (index + 1) / parts;
  if (lo < hi) (*task_)(lo, hi);
}

void ThreadPool::work(int index) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    run_chunk(index);
    std::lock_guard<std::mutex> lock(mu_);
    if (--pending_ == 0) done_cv_.notify_one();
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  std::lock_guard<std::mutex> call_lock(call_mu_);
  if (workers_.empty() || n <= 1) {
    if (n > 0) fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = &fn;
    task_size_ = n;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  run_chunk(0);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return pending_ == 0; });
  task_ = nullptr;
}

// ---------------------------------------------------------------- WindowBatcher

int64_t row_bytes(const WindowConfig& config, int64_t num_vertices) {
  const int64_t w = config.window_frames;
  const int64_t audio = config.with_audio ? w * config.samples_per_frame * 4 : 0;
  return audio + w * num_vertices * 3 * 4 + w;
}

WindowBatcher::WindowBatcher(const ClipArrays& arrays, const WindowConfig& config)
    : arrays_(arrays), config_(config), pool_((check_config(config), config.num_threads)) {
  require(arrays.num_clips >= 1, "need at least one clip (offsets of length >= 2)");
  require(arrays.num_vertices >= 1, "landmarks must have at least one vertex");
  check_offsets(arrays.audio_offsets, arrays.num_clips, arrays.audio_len, "audio_offsets",
                "audio sample");
  check_offsets(arrays.frame_offsets, arrays.num_clips, arrays.num_frames, "frame_offsets",
                "landmark frame");

  int64_t longest = 0;
  for (int64_t c = 0; c < arrays.num_clips; ++c)
    longest = std::max(longest, arrays.frame_offsets[c + 1] - arrays.frame_offsets[c]);
  require(longest >= config.window_frames,
          "window_frames=" + std::to_string(config.window_frames) +
              " is longer than every clip (the longest has " + std::to_string(longest) +
              " frames)");

  valid_prefix_.resize(arrays.num_frames + 1);
  valid_prefix_[0] = 0;
  for (int64_t f = 0; f < arrays.num_frames; ++f)
    valid_prefix_[f + 1] = valid_prefix_[f] + (arrays.valid[f] != 0 ? 1 : 0);

  const int64_t count = num_windows(0);
  require(count > 0, "no window of " + std::to_string(config.window_frames) +
                         " frames has a valid fraction >= " +
                         std::to_string(config.min_valid_fraction));
  require(!config.drop_remainder || count >= config.batch_size,
          "only " + std::to_string(count) + " windows pass the validity filter, fewer than " +
              "batch_size=" + std::to_string(config.batch_size) + " (with drop_remainder)");
}

std::vector<Window> WindowBatcher::plan_epoch(int64_t epoch) const {
  const int64_t w = config_.window_frames;
  const int64_t stride = config_.stride_frames;
  const double need = config_.min_valid_fraction * static_cast<double>(w);
  SplitMix64 rng = SplitMix64::for_epoch(config_.seed, static_cast<uint64_t>(epoch));
  std::vector<Window> plan;
  for (int64_t c = 0; c < arrays_.num_clips; ++c) {
    const int64_t first = arrays_.frame_offsets[c];
    const int64_t frames = arrays_.frame_offsets[c + 1] - first;
    if (frames < w) continue;
    const int64_t count = (frames - w) / stride + 1;
    const int64_t slack = (frames - w) - (count - 1) * stride;
    const int64_t offset = config_.jitter ? static_cast<int64_t>(rng.below(slack + 1)) : 0;
    for (int64_t j = 0; j < count; ++j) {
      const int64_t start = offset + j * stride;
      const int64_t valid = valid_prefix_[first + start + w] - valid_prefix_[first + start];
      if (static_cast<double>(valid) >= need) plan.push_back({c, start});
    }
  }
  if (config_.shuffle) {
    for (int64_t i = static_cast<int64_t>(plan.size()) - 1; i > 0; --i) {
      const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i + 1)));
      std::swap(plan[i], plan[j]);
    }
  }
  return plan;
}

std::shared_ptr<const std::vector<Window>> WindowBatcher::windows(int64_t epoch) {
  require(epoch >= 0, "epoch must be >= 0, got " + std::to_string(epoch));
  std::lock_guard<std::mutex> lock(plan_mu_);
  if (epoch != cached_epoch_) {
    cached_plan_ = std::make_shared<const std::vector<Window>>(plan_epoch(epoch));
    cached_epoch_ = epoch;
  }
  return cached_plan_;
}

int64_t WindowBatcher::num_batches(int64_t epoch) {
  const int64_t n = num_windows(epoch);
  const int64_t b = config_.batch_size;
  return config_.drop_remainder ? n / b : (n + b - 1) / b;
}

void WindowBatcher::copy_audio(const Window& w, float* dst) const {
  const int64_t need = config_.window_frames * config_.samples_per_frame;
  const int64_t begin = arrays_.audio_offsets[w.clip] + w.start * config_.samples_per_frame;
  const int64_t end = arrays_.audio_offsets[w.clip + 1];
  const int64_t avail = std::clamp<int64_t>(end - begin, 0, need);
  if (avail > 0) std::memcpy(dst, arrays_.audio + begin, avail * sizeof(float));
  if (avail < need) std::memset(dst + avail, 0, (need - avail) * sizeof(float));
}

void WindowBatcher::copy_frames(const Window& w, float* landmarks_dst, uint8_t* mask_dst) const {
  const int64_t frame = arrays_.frame_offsets[w.clip] + w.start;
  const int64_t per_frame = arrays_.num_vertices * 3;
  std::memcpy(landmarks_dst, arrays_.landmarks + frame * per_frame,
              config_.window_frames * per_frame * sizeof(float));
  for (int64_t f = 0; f < config_.window_frames; ++f)
    mask_dst[f] = arrays_.valid[frame + f] != 0 ? 1 : 0;
}

void WindowBatcher::fill_batch(int64_t epoch, int64_t batch, const BatchOut& out) {
  const auto plan = windows(epoch);
  const int64_t batches = num_batches(epoch);
  if (batch < 0 || batch >= batches) {
    throw std::out_of_range("batch " + std::to_string(batch) + " is out of range: epoch " +
                            std::to_string(epoch) + " has " + std::to_string(batches) +
                            " batches");
  }
  const int64_t rows = config_.batch_size;
  const int64_t w = config_.window_frames;
  const int64_t audio_row = config_.with_audio ? w * config_.samples_per_frame : 0;
  const int64_t landmark_row = w * arrays_.num_vertices * 3;
  const int64_t first = batch * rows;
  const int64_t available = static_cast<int64_t>(plan->size());

  // Two independent tasks per row (audio; landmarks + mask) spread over the pool.
  pool_.parallel_for(2 * rows, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t r = t / 2;
      const bool audio_part = (t % 2) == 0;
      if (first + r < available) {
        const Window& win = (*plan)[first + r];
        if (audio_part) {
          if (audio_row > 0) copy_audio(win, out.audio + r * audio_row);
        } else {
          copy_frames(win, out.landmarks + r * landmark_row, out.mask + r * w);
        }
      } else if (audio_part) {
        std::memset(out.audio + r * audio_row, 0, audio_row * sizeof(float));
      } else {
        std::memset(out.landmarks + r * landmark_row, 0, landmark_row * sizeof(float));
        std::memset(out.mask + r * w, 0, w);
      }
    }
  });
  for (int64_t r = 0; r < rows; ++r) {
    const bool real = first + r < available;
    out.clip[r] = real ? (*plan)[first + r].clip : -1;
    out.start[r] = real ? (*plan)[first + r].start : -1;
  }
}

}  // namespace talkmesh
