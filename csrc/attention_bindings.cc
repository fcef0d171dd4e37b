// pybind11 module talkmesh_jax._attention: the CPU attention kernel's XLA FFI handler (for
// jax.ffi.register_ffi_target), a numpy entry point (tests compare it with a numpy reference)
// and the choice of instruction-set variant.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "attention.h"
#include "attention_ffi.h"
#include "parallel.h"

namespace py = pybind11;

namespace {

using Array = py::array_t<float, py::array::c_style | py::array::forcecast>;

py::array_t<float> attention_numpy(const Array& q, const Array& k, const Array& v, float scale,
                                   int threads) {
  const std::vector<int64_t> qd(q.shape(), q.shape() + q.ndim()),
      kd(k.shape(), k.shape() + k.ndim()), vd(v.shape(), v.shape() + v.ndim());
  talkmesh::AttentionShape shape;
  const std::string problem = talkmesh::attention_shape_of(qd.data(), qd.size(), kd.data(),
                                                           kd.size(), vd.data(), vd.size(), shape);
  if (!problem.empty()) throw std::invalid_argument(problem);
  py::array_t<float> out({q.shape(0), q.shape(1), q.shape(2), q.shape(3)});
  const float *qp = q.data(), *kp = k.data(), *vp = v.data();
  float* op = out.mutable_data();
  const int64_t helpers = std::max(threads, 1) - 1;
  py::gil_scoped_release release;
  talkmesh::attention_f32(
      qp, kp, vp, op, shape, scale,
      [helpers](int64_t count, const std::function<void(int64_t)>& task) {
        std::vector<std::thread> started;
        talkmesh::share_work(count, task, helpers,
                             [&started](auto work) { started.emplace_back(std::move(work)); });
        for (std::thread& t : started) t.join();
      });
  return out;
}

}  // namespace

PYBIND11_MODULE(_attention, m) {
  m.doc() = "Fused float32 softmax attention on the CPU (XLA FFI handler and numpy entry point)";
  m.def(
      "ffi_handler",
      []() { return py::capsule(talkmesh::attention_ffi_handler()); },
      "The XLA FFI handler, for jax.ffi.register_ffi_target(..., platform='cpu').");
  m.def("attention", &attention_numpy, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("scale"),
        py::arg("threads") = 1,
        "softmax(scale q k^T) v per (batch, head): q [B, Tq, H, D], k, v [B, Tk, H, D] float32.");
  m.def("isa", &talkmesh::attention_isa, "The instruction-set variant in use.");
  m.def("available_isas", &talkmesh::available_attention_isas,
        "The variants this CPU and build can run, best first, comma-separated.");
  m.def("set_isa", &talkmesh::set_attention_isa, py::arg("name"),
        "Uses variant `name`; False if this CPU or build lacks it.");
}
