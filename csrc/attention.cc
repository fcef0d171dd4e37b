// Dispatch of the attention kernel: shape checks, work split, instruction-set choice.
#include "attention.h"

#include <algorithm>
#include <atomic>
#include <vector>

namespace talkmesh {
namespace {

using Variant = void (*)(const detail::AttentionJob&, int64_t, detail::Workspace&);

struct Isa {
  const char* name;
  Variant attend;
  bool (*supported)();
};

bool always() { return true; }
#if defined(__x86_64__) || defined(__i386__)
bool has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && has_avx2();
}
#else
bool has_avx2() { return false; }
bool has_avx512() { return false; }
#endif

// Best first.
const Isa kIsas[] = {
    {"avx512", detail::avx512::attend_block, has_avx512},
    {"avx2", detail::avx2::attend_block, has_avx2},
    {"baseline", detail::baseline::attend_block, always},
};

const Isa* best_isa() {
  for (const Isa& isa : kIsas)
    if (isa.supported()) return &isa;
  return &kIsas[2];
}

std::atomic<const Isa*> chosen{nullptr};
std::atomic<uint64_t> calls{0};

const Isa& current_isa() {
  const Isa* isa = chosen.load();
  if (!isa) {
    isa = best_isa();
    chosen.store(isa);
  }
  return *isa;
}

// A thread's buffers, kept between calls (an XLA pool thread reuses them) and grown as needed.
struct Buffers {
  std::vector<float> panels, scores, queries, acc, row_max, row_sum, values;
  detail::Workspace work;
};
thread_local Buffers buffers;

detail::Workspace& workspace(const detail::AttentionJob& job) {
  const int64_t d = job.shape.head_dim, keys = (job.shape.kv_len + 63) / 64 * 64;
  auto fit = [](std::vector<float>& v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.resize(n);
    return v.data();
  };
  Buffers& b = buffers;
  float* panels = fit(b.panels, keys * d);
  if (panels != b.work.panels) b.work.packed_head = -1;  // moved: nothing packed there
  b.work.panels = panels;
  b.work.values = fit(b.values, keys * d);
  b.work.scores = fit(b.scores, job.q_block * job.kv_block);
  b.work.queries = fit(b.queries, job.q_block * d);
  b.work.acc = fit(b.acc, job.q_block * d);
  b.work.row_max = fit(b.row_max, job.q_block);
  b.work.row_sum = fit(b.row_sum, job.q_block);
  return b.work;
}

}  // namespace

std::string check_attention_shape(const AttentionShape& s) {
  if (s.batch <= 0 || s.q_len <= 0 || s.kv_len <= 0 || s.heads <= 0 || s.head_dim <= 0)
    return "every dimension must be positive";
  if (s.head_dim % 16 != 0)
    return "head_dim " + std::to_string(s.head_dim) + " is not a multiple of 16";
  return "";
}

std::string attention_shape_of(const int64_t* q, size_t q_rank, const int64_t* k, size_t k_rank,
                               const int64_t* v, size_t v_rank, AttentionShape& shape) {
  if (q_rank != 4 || k_rank != 4 || v_rank != 4) return "q, k, v must be [B, T, H, D]";
  for (int axis : {0, 2, 3}) {
    if (k[axis] != q[axis] || v[axis] != q[axis])
      return "q, k, v differ in batch, heads or head_dim";
  }
  if (k[1] != v[1]) return "k and v differ in length";
  shape = AttentionShape{q[0], q[1], k[1], q[2], q[3]};
  return check_attention_shape(shape);
}

std::string attention_isa() { return current_isa().name; }

bool set_attention_isa(const std::string& name) {
  for (const Isa& isa : kIsas) {
    if (name == isa.name && isa.supported()) {
      chosen.store(&isa);
      return true;
    }
  }
  return false;
}

std::string available_attention_isas() {
  std::string names;
  for (const Isa& isa : kIsas)
    if (isa.supported()) names += (names.empty() ? "" : ",") + std::string(isa.name);
  return names;
}

void attention_f32(const float* q, const float* k, const float* v, float* out,
                   const AttentionShape& shape, float scale, const ParallelFor& parallel_for) {
  detail::AttentionJob job;
  job.q = q;
  job.k = k;
  job.v = v;
  job.out = out;
  job.shape = shape;
  job.scale = scale;
  // 48 queries x up to 2048 keys of scores (384 KiB) stay in a core's L2 cache with the packed
  // keys; 2048 is a multiple of every variant's panel width (16 to 64 keys).
  job.q_block = std::min<int64_t>(48, shape.q_len);
  job.q_blocks = (shape.q_len + job.q_block - 1) / job.q_block;
  job.kv_block = std::min<int64_t>(2048, (shape.kv_len + 63) / 64 * 64);
  job.generation = calls.fetch_add(1);
  const Variant attend = current_isa().attend;
  parallel_for(shape.batch * shape.heads * job.q_blocks,
               [&job, attend](int64_t item) { attend(job, item, workspace(job)); });
}

}  // namespace talkmesh
