// pybind11 bindings of the windowed batcher: array checks, zero-copy views, GIL release.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "batcher.h"

namespace py = pybind11;
using talkmesh::BatchOut;
using talkmesh::ClipArrays;
using talkmesh::WindowBatcher;
using talkmesh::WindowConfig;

namespace {

std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

bool interpreter_finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

void reacquire_gil(PyThreadState* state) {
  // A daemon thread (e.g. Grain's prefetch thread) that comes back while Python finalizes would be
  // ended by pthread_exit inside the GIL re-take, which aborts the process when it unwinds through
  // C++. Such a thread parks here instead; the process is exiting anyway.
  while (interpreter_finalizing()) std::this_thread::sleep_for(std::chrono::seconds(3600));
  PyEval_RestoreThread(state);
}

// Runs fn() with the GIL released; exceptions propagate after the GIL is taken back.
template <typename Fn>
void without_gil(Fn&& fn) {
  PyThreadState* state = PyEval_SaveThread();
  try {
    fn();
  } catch (...) {
    reacquire_gil(state);
    throw;
  }
  reacquire_gil(state);
}

// Checks dtype, rank and C-contiguity without copying; errors name the argument.
void check_array(const py::array& a, const char* name, const py::dtype& dtype, int ndim,
                 const char* dtype_name) {
  if (!a.dtype().is(dtype) && !a.dtype().equal(dtype)) {
    throw std::invalid_argument(std::string(name) + " must be " + dtype_name + ", got " +
                                std::string(py::str(a.dtype())));
  }
  if (a.ndim() != ndim) {
    throw std::invalid_argument(std::string(name) + " must have " + std::to_string(ndim) +
                                " dimension(s), got shape " + shape_of(a));
  }
  if (!(a.flags() & py::array::c_style)) {
    throw std::invalid_argument(std::string(name) + " must be C-contiguous");
  }
}

void check_output(const py::array& a, const char* name, const py::dtype& dtype,
                  const std::vector<py::ssize_t>& shape, const char* dtype_name) {
  check_array(a, name, dtype, static_cast<int>(shape.size()), dtype_name);
  if (!a.writeable()) throw std::invalid_argument(std::string(name) + " must be writeable");
  for (size_t i = 0; i < shape.size(); ++i) {
    if (a.shape(i) != shape[i]) {
      std::string want = "(";
      for (size_t k = 0; k < shape.size(); ++k) want += (k ? ", " : "") + std::to_string(shape[k]);
      throw std::invalid_argument(std::string(name) + " must have shape " + want + "), got " +
                                  shape_of(a));
    }
  }
}

// Audio floats per batch row: none when the batcher runs without audio.
py::ssize_t audio_row(const WindowConfig& c) {
  return c.with_audio ? c.window_frames * c.samples_per_frame : 0;
}

// Owns references to the numpy arrays (memmaps included) the C++ batcher reads.
class PyWindowBatcher {
 public:
  PyWindowBatcher(py::array audio, py::array audio_offsets, py::array landmarks,
                  py::array frame_offsets, py::array valid, int64_t window_frames,
                  int64_t stride_frames, int64_t batch_size, double min_valid_fraction,
                  bool jitter, bool shuffle, bool drop_remainder, uint64_t seed,
                  int64_t samples_per_frame, int num_threads, bool with_audio)
      : audio_(audio), audio_offsets_(audio_offsets), landmarks_(landmarks),
        frame_offsets_(frame_offsets), valid_(valid) {
    const auto f32 = py::dtype::of<float>();
    const auto i64 = py::dtype::of<int64_t>();
    check_array(audio, "audio", f32, 1, "float32");
    check_array(audio_offsets, "audio_offsets", i64, 1, "int64");
    check_array(landmarks, "landmarks", f32, 3, "float32");
    check_array(frame_offsets, "frame_offsets", i64, 1, "int64");
    check_array(valid, "valid", py::dtype("bool"), 1, "bool");
    if (landmarks.shape(2) != 3) {
      throw std::invalid_argument("landmarks must have shape (frames, V, 3), got " +
                                  shape_of(landmarks));
    }
    if (valid.shape(0) != landmarks.shape(0)) {
      throw std::invalid_argument("valid has " + std::to_string(valid.shape(0)) +
                                  " frames but landmarks has " +
                                  std::to_string(landmarks.shape(0)));
    }
    if (audio_offsets.shape(0) != frame_offsets.shape(0)) {
      throw std::invalid_argument("audio_offsets and frame_offsets must have the same length, got " +
                                  std::to_string(audio_offsets.shape(0)) + " and " +
                                  std::to_string(frame_offsets.shape(0)));
    }
    if (frame_offsets.shape(0) < 2) {
      throw std::invalid_argument("offsets must have at least 2 entries (one clip), got " +
                                  std::to_string(frame_offsets.shape(0)));
    }
    ClipArrays arrays;
    arrays.audio = static_cast<const float*>(audio.data());
    arrays.audio_len = audio.shape(0);
    arrays.audio_offsets = static_cast<const int64_t*>(audio_offsets.data());
    arrays.landmarks = static_cast<const float*>(landmarks.data());
    arrays.num_frames = landmarks.shape(0);
    arrays.num_vertices = landmarks.shape(1);
    arrays.frame_offsets = static_cast<const int64_t*>(frame_offsets.data());
    arrays.valid = static_cast<const uint8_t*>(valid.data());
    arrays.num_clips = frame_offsets.shape(0) - 1;
    WindowConfig config;
    config.window_frames = window_frames;
    config.stride_frames = stride_frames;
    config.batch_size = batch_size;
    config.samples_per_frame = samples_per_frame;
    config.min_valid_fraction = min_valid_fraction;
    config.jitter = jitter;
    config.shuffle = shuffle;
    config.drop_remainder = drop_remainder;
    config.seed = seed;
    config.num_threads = num_threads;
    config.with_audio = with_audio;
    // The validity prefix sum scans every frame: no need to hold the GIL.
    without_gil([&] { impl_ = std::make_unique<WindowBatcher>(arrays, config); });
  }

  int64_t num_windows(int64_t epoch) {
    int64_t n = 0;
    without_gil([&] { n = impl_->num_windows(epoch); });
    return n;
  }

  int64_t num_batches(int64_t epoch) {
    int64_t n = 0;
    without_gil([&] { n = impl_->num_batches(epoch); });
    return n;
  }

  py::array_t<int64_t> windows(int64_t epoch) {
    std::shared_ptr<const std::vector<talkmesh::Window>> plan;
    without_gil([&] { plan = impl_->windows(epoch); });
    py::array_t<int64_t> out({static_cast<py::ssize_t>(plan->size()), py::ssize_t{2}});
    auto view = out.mutable_unchecked<2>();
    for (size_t i = 0; i < plan->size(); ++i) {
      view(i, 0) = (*plan)[i].clip;
      view(i, 1) = (*plan)[i].start;
    }
    return out;
  }

  void fill_batch(int64_t epoch, int64_t batch, py::array audio, py::array landmarks,
                  py::array mask, py::array clip, py::array start) {
    const auto& c = impl_->config();
    const py::ssize_t b = c.batch_size, w = c.window_frames;
    check_output(audio, "audio", py::dtype::of<float>(), {b, audio_row(c)}, "float32");
    check_output(landmarks, "landmarks", py::dtype::of<float>(),
                 {b, w, impl_->arrays().num_vertices, 3}, "float32");
    check_output(mask, "mask", py::dtype("bool"), {b, w}, "bool");
    check_output(clip, "clip", py::dtype::of<int64_t>(), {b}, "int64");
    check_output(start, "start", py::dtype::of<int64_t>(), {b}, "int64");
    BatchOut out{static_cast<float*>(audio.mutable_data()),
                 static_cast<float*>(landmarks.mutable_data()),
                 static_cast<uint8_t*>(mask.mutable_data()),
                 static_cast<int64_t*>(clip.mutable_data()),
                 static_cast<int64_t*>(start.mutable_data())};
    without_gil([&] { impl_->fill_batch(epoch, batch, out); });
  }

  py::dict get_batch(int64_t epoch, int64_t batch) {
    const auto& c = impl_->config();
    const py::ssize_t b = c.batch_size, w = c.window_frames;
    py::array_t<float> audio({b, audio_row(c)});
    py::array_t<float> landmarks({b, w, static_cast<py::ssize_t>(impl_->arrays().num_vertices),
                                  py::ssize_t{3}});
    py::array mask(py::dtype("bool"), {b, w});
    py::array_t<int64_t> clip({b});
    py::array_t<int64_t> start({b});
    fill_batch(epoch, batch, audio, landmarks, mask, clip, start);
    py::dict out;
    out["audio"] = audio;
    out["landmarks"] = landmarks;
    out["mask"] = mask;
    out["clip"] = clip;
    out["start"] = start;
    return out;
  }

  const WindowConfig& config() const { return impl_->config(); }
  int64_t num_vertices() const { return impl_->arrays().num_vertices; }
  int64_t num_clips() const { return impl_->arrays().num_clips; }
  int num_threads() const { return impl_->num_threads(); }

 private:
  py::array audio_, audio_offsets_, landmarks_, frame_offsets_, valid_;
  std::unique_ptr<WindowBatcher> impl_;
};

}  // namespace

PYBIND11_MODULE(_batcher, m) {
  m.doc() = "Windowed audio/landmark batcher (C++, GIL released, multi-threaded).";
  py::class_<PyWindowBatcher>(m, "WindowBatcher")
      .def(py::init<py::array, py::array, py::array, py::array, py::array, int64_t, int64_t,
                    int64_t, double, bool, bool, bool, uint64_t, int64_t, int, bool>(),
           py::arg("audio"), py::arg("audio_offsets"), py::arg("landmarks"),
           py::arg("frame_offsets"), py::arg("valid"), py::kw_only(), py::arg("window_frames"),
           py::arg("stride_frames"), py::arg("batch_size"), py::arg("min_valid_fraction") = 0.5,
           py::arg("jitter") = false, py::arg("shuffle") = true, py::arg("drop_remainder") = true,
           py::arg("seed") = 0, py::arg("samples_per_frame") = 640, py::arg("num_threads") = 1,
           py::arg("with_audio") = true)
      .def("num_windows", &PyWindowBatcher::num_windows, py::arg("epoch"))
      .def("num_batches", &PyWindowBatcher::num_batches, py::arg("epoch"))
      .def("windows", &PyWindowBatcher::windows, py::arg("epoch"),
           "[N, 2] int64 (clip, start frame) of the epoch's windows in batch order.")
      .def("fill_batch", &PyWindowBatcher::fill_batch, py::arg("epoch"), py::arg("batch"),
           py::arg("audio"), py::arg("landmarks"), py::arg("mask"), py::arg("clip"),
           py::arg("start"), "Fills preallocated C-contiguous buffers with one batch.")
      .def("get_batch", &PyWindowBatcher::get_batch, py::arg("epoch"), py::arg("batch"),
           "One batch as a dict of new arrays: audio, landmarks, mask, clip, start.")
      .def_property_readonly("window_frames",
                             [](const PyWindowBatcher& b) { return b.config().window_frames; })
      .def_property_readonly("stride_frames",
                             [](const PyWindowBatcher& b) { return b.config().stride_frames; })
      .def_property_readonly("batch_size",
                             [](const PyWindowBatcher& b) { return b.config().batch_size; })
      .def_property_readonly("samples_per_frame",
                             [](const PyWindowBatcher& b) { return b.config().samples_per_frame; })
      .def_property_readonly("seed", [](const PyWindowBatcher& b) { return b.config().seed; })
      .def_property_readonly("num_vertices", &PyWindowBatcher::num_vertices)
      .def_property_readonly("num_clips", &PyWindowBatcher::num_clips)
      .def_property_readonly("num_threads", &PyWindowBatcher::num_threads);
  m.def("row_bytes",
        [](int64_t window_frames, int64_t samples_per_frame, int64_t num_vertices) {
          WindowConfig c;
          c.window_frames = window_frames;
          c.samples_per_frame = samples_per_frame;
          return talkmesh::row_bytes(c, num_vertices);
        },
        py::arg("window_frames"), py::arg("samples_per_frame"), py::arg("num_vertices"),
        "Bytes one batch row moves: audio + landmarks + mask.");
}
