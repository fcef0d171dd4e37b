// The attention kernel as an XLA FFI custom call on the CPU (`talkmesh_cpu_attention`): operands
// q [B, Tq, H, D], k and v [B, Tk, H, D] float32, attribute `scale` (float32), result like q.
// Work is shared with XLA's intra-op thread pool.
#include "attention_ffi.h"

#include <string>

#include "attention.h"
#include "parallel.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace talkmesh {
namespace {

ffi::Error attention_call(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> q, ffi::Buffer<ffi::F32> k,
                          ffi::Buffer<ffi::F32> v, ffi::ResultBuffer<ffi::F32> out, float scale) {
  const auto qd = q.dimensions(), kd = k.dimensions(), vd = v.dimensions();
  AttentionShape shape;
  const std::string problem = attention_shape_of(qd.begin(), qd.size(), kd.begin(), kd.size(),
                                                 vd.begin(), vd.size(), shape);
  if (!problem.empty()) return ffi::Error::InvalidArgument("talkmesh_cpu_attention: " + problem);
  const int64_t helpers = pool.num_threads() - 1;
  attention_f32(q.typed_data(), k.typed_data(), v.typed_data(), out->typed_data(), shape, scale,
                [&pool, helpers](int64_t count, const std::function<void(int64_t)>& task) {
                  share_work(count, task, helpers,
                             [&pool](auto work) { pool.Schedule(std::move(work)); });
                });
  return ffi::Error::Success();
}

}  // namespace
}  // namespace talkmesh

XLA_FFI_DEFINE_HANDLER_SYMBOL(TalkmeshCpuAttention, talkmesh::attention_call,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Attr<float>("scale"));

namespace talkmesh {
void* attention_ffi_handler() { return reinterpret_cast<void*>(TalkmeshCpuAttention); }
}  // namespace talkmesh
