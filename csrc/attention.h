// Fused softmax attention on the CPU, float32, no mask:
//   out[b, i, h, :] = sum_j softmax_j(scale * q[b, i, h, :] . k[b, j, h, :]) v[b, j, h, :]
// Layouts (row-major, contiguous): q and out [B, Tq, H, D], k and v [B, Tk, H, D].
// One pass per (batch, head, block of queries): the scores of a block of queries against a block
// of keys stay in cache, with an online softmax across key blocks (flash attention), so the
// [Tq, Tk] matrix is never written out. The inner loops are compiled once per instruction set
// (AVX-512, AVX2+FMA, baseline) and chosen at run time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace talkmesh {

struct AttentionShape {
  int64_t batch = 0, q_len = 0, kv_len = 0, heads = 0, head_dim = 0;
};

// Runs task(0) ... task(count - 1), possibly on several threads; returns when all are done.
using ParallelFor = std::function<void(int64_t count, const std::function<void(int64_t)>& task)>;

// "" when the kernel supports the shape, else what is wrong with it (head_dim must be a multiple
// of 16; every size must be positive).
std::string check_attention_shape(const AttentionShape& shape);

// The shape of operands with these dimensions (q, k, v: rank and sizes), checked as above: ""
// and `shape` filled, or what is wrong. Both entry points (XLA FFI, numpy) call it.
std::string attention_shape_of(const int64_t* q, size_t q_rank, const int64_t* k, size_t k_rank,
                               const int64_t* v, size_t v_rank, AttentionShape& shape);

// The kernel variant in use: "avx512", "avx2" or "baseline".
std::string attention_isa();

// Chooses a variant (tests use it to check each one); false when this CPU or build lacks it.
bool set_attention_isa(const std::string& isa);

// The variants this CPU and build can run, best first.
std::string available_attention_isas();

// out = attention(q, k, v) as above; the shape must pass check_attention_shape.
void attention_f32(const float* q, const float* k, const float* v, float* out,
                   const AttentionShape& shape, float scale, const ParallelFor& parallel_for);

namespace detail {

// One call's work, shared by the instruction-set variants. A work item is one block of
// `q_block` queries of one (batch, head): item = (b * H + h) * q_blocks + block.
struct AttentionJob {
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  float* out = nullptr;
  AttentionShape shape;
  float scale = 1.0f;
  int64_t q_block = 0;    // queries per item
  int64_t q_blocks = 0;   // items per (batch, head)
  int64_t kv_block = 0;   // keys per online-softmax step (a multiple of every panel width)
  uint64_t generation = 0;  // unique per call: invalidates a thread's packed keys
};

// A thread's buffers for attend_block (attention.cc owns and sizes them): packed keys and a
// contiguous copy of the values, each [round_up(Tk, 64) * D], scores [q_block * kv_block], queries and acc [q_block * D], row_max and
// row_sum [q_block]. `packed_*` say whose keys and values `panels` and `values` hold, so
// consecutive blocks of one head pack them once.
struct Workspace {
  float *panels = nullptr, *scores = nullptr, *queries = nullptr, *acc = nullptr;
  float *row_max = nullptr, *row_sum = nullptr, *values = nullptr;
  uint64_t packed_generation = ~uint64_t{0};
  int64_t packed_head = -1;
};

#define TALKMESH_DECLARE_ATTENTION_VARIANT(ns)                               \
  namespace ns {                                                             \
  void attend_block(const AttentionJob& job, int64_t item, Workspace& work); \
  }
TALKMESH_DECLARE_ATTENTION_VARIANT(baseline)
TALKMESH_DECLARE_ATTENTION_VARIANT(avx2)
TALKMESH_DECLARE_ATTENTION_VARIANT(avx512)
#undef TALKMESH_DECLARE_ATTENTION_VARIANT

}  // namespace detail
}  // namespace talkmesh
