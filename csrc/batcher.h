// Windowed audio/landmark batcher: pure C++, no Python.
//
// Several clips are stored concatenated, with offset indices:
//   audio          [S]        float32, mono, `samples_per_frame` samples per video frame
//   audio_offsets  [C + 1]    int64, clip c's audio is audio[audio_offsets[c] : audio_offsets[c+1]]
//   landmarks      [F, V, 3]  float32
//   frame_offsets  [C + 1]    int64, clip c's frames are [frame_offsets[c] : frame_offsets[c+1]]
//   valid          [F]        uint8 (0 or 1), per-frame validity
//
// A window is `window_frames` consecutive frames of one clip; windows never cross a clip
// boundary. The windows of an epoch (and their order) are a pure function of
// (seed, epoch); a batch is a pure function of (seed, epoch, batch index), whatever the
// number of threads. The exact rules (shared with the numpy reference in
// talkmesh_jax/data/reference.py) are documented in docs/ARCHITECTURE.md.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace talkmesh {

// Borrowed views of the concatenated clips; the caller keeps the memory alive.
struct ClipArrays {
  const float* audio = nullptr;
  int64_t audio_len = 0;
  const int64_t* audio_offsets = nullptr;
  const float* landmarks = nullptr;
  int64_t num_frames = 0;
  int64_t num_vertices = 0;
  const int64_t* frame_offsets = nullptr;
  const uint8_t* valid = nullptr;
  int64_t num_clips = 0;  // offsets arrays have num_clips + 1 entries
};

struct WindowConfig {
  int64_t window_frames = 125;
  int64_t stride_frames = 125;
  int64_t batch_size = 8;
  int64_t samples_per_frame = 640;
  double min_valid_fraction = 0.5;
  bool jitter = false;  // random start offset per clip and epoch
  bool shuffle = true;
  bool drop_remainder = true;
  uint64_t seed = 0;
  int num_threads = 1;  // 0: all hardware threads
  // false: batches carry no audio (audio [B, 0]); training on cached Whisper features gathers
  // those instead, so assembling W * samples_per_frame floats per row would be thrown away.
  bool with_audio = true;
};

struct Window {
  int64_t clip;
  int64_t start;  // first frame, relative to the clip
};

// Destination of one batch; every pointer addresses a C-contiguous buffer.
struct BatchOut {
  float* audio;      // [B, window_frames * samples_per_frame]
  float* landmarks;  // [B, window_frames, V, 3]
  uint8_t* mask;     // [B, window_frames]
  int64_t* clip;     // [B], -1 for padding rows
  int64_t* start;    // [B], -1 for padding rows
};

// SplitMix64 stream: the one source of randomness, reproduced bit for bit in Python.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t next();
  uint64_t below(uint64_t n);  // uniform in [0, n), n > 0: (next() * n) >> 64
  static SplitMix64 for_epoch(uint64_t seed, uint64_t epoch);

 private:
  uint64_t state_;
};

// A fixed set of worker threads; parallel_for splits [0, n) into contiguous chunks.
class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  int size() const { return static_cast<int>(workers_.size()) + 1; }
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void work(int index);
  void run_chunk(int index);

  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // one parallel_for at a time
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int64_t, int64_t)>* task_ = nullptr;
  int64_t task_size_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

class WindowBatcher {
 public:
  // Validates everything; throws std::invalid_argument with a readable message.
  WindowBatcher(const ClipArrays& arrays, const WindowConfig& config);

  const WindowConfig& config() const { return config_; }
  const ClipArrays& arrays() const { return arrays_; }
  int num_threads() const { return pool_.size(); }

  // The windows of an epoch, in batch order (after filtering and shuffling).
  std::shared_ptr<const std::vector<Window>> windows(int64_t epoch);
  int64_t num_windows(int64_t epoch) { return static_cast<int64_t>(windows(epoch)->size()); }
  int64_t num_batches(int64_t epoch);

  // Fills batch `batch` of `epoch`; throws std::out_of_range for a batch past the end.
  void fill_batch(int64_t epoch, int64_t batch, const BatchOut& out);

 private:
  std::vector<Window> plan_epoch(int64_t epoch) const;
  void copy_audio(const Window& w, float* dst) const;
  void copy_frames(const Window& w, float* landmarks_dst, uint8_t* mask_dst) const;

  ClipArrays arrays_;
  WindowConfig config_;
  std::vector<int64_t> valid_prefix_;  // [F + 1] running count of valid frames
  ThreadPool pool_;
  std::mutex plan_mu_;
  int64_t cached_epoch_ = -1;
  std::shared_ptr<const std::vector<Window>> cached_plan_;
};

// Bytes of one batch row: audio + landmarks + mask.
int64_t row_bytes(const WindowConfig& config, int64_t num_vertices);

}  // namespace talkmesh
