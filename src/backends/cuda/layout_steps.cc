// Where values live: Define places an op's output in NHWC or plain layout; Get returns a value
// in the layout an op wants, inserting a layout transpose (kernels/layout.cu) or uploading a
// constant; GetNhwcPadded gives a channel-padded NHWC copy for Tensor Core convolutions.
#include "backends/cuda/engine_impl.h"
#include "backends/cuda/kernels/layout.cuh"
#include "backends/cuda/kernels/transpose.cuh"

namespace ridge::cuda {

Ref Engine::Impl::Define(ir::ValueId v, bool as_nhwc) {
  const ir::Value& val = graph->value(v);
  Ref r;
  for (const Dim& d : val.shape->dims()) r.dims.push_back(d.value);
  r.nhwc = as_nhwc && r.dims.size() == 4;
  r.buf = NewBuffer(NumElements(r.dims) * esize);
  if (r.nhwc) {
    nhwc[v] = r;
    if (PhysicallySame(r.dims)) plain[v] = Ref{r.buf, r.dims, false};
  } else {
    plain[v] = r;
    if (PhysicallySame(r.dims)) nhwc[v] = Ref{r.buf, r.dims, true};
  }
  return r;
}

Result<Ref> Engine::Impl::GetAny(ir::ValueId v) {
  if (auto it = nhwc.find(v); it != nhwc.end()) return it->second;
  return Get(v, false);
}

Result<Ref> Engine::Impl::Get(ir::ValueId v, bool want_nhwc) {
  auto& want = want_nhwc ? nhwc : plain;
  if (auto it = want.find(v); it != want.end()) return it->second;
  const ir::Value& val = graph->value(v);
  auto& other = want_nhwc ? plain : nhwc;
  auto it = other.find(v);
  if (it == other.end()) {
    if (!val.constant) {
      return Status(StatusCode::kInternal, "value '" + val.name + "' used before it is computed");
    }
    RIDGE_ASSIGN_OR_RETURN(int32_t buf, Upload(*val.constant));
    Ref r{buf, val.constant->dims(), false};
    plain[v] = r;
    if (!want_nhwc) return r;
    it = plain.find(v);
  }
  const Ref src = it->second;
  if (src.dims.size() != 4) {
    if (!want_nhwc) return src;
    return Status(StatusCode::kInternal,
                  "NHWC asked for a rank-" + std::to_string(src.dims.size()) + " value");
  }
  if (PhysicallySame(src.dims)) {
    Ref r{src.buf, src.dims, want_nhwc};
    want[v] = r;
    return r;
  }
  // Transpose: a tiled batched 2-D transpose; the generic permutation (out dims in physical
  // order and the source strides for each) only for shapes beyond its grid limits.
  const int64_t n = src.dims[0], c = src.dims[1], h = src.dims[2], w = src.dims[3];
  Ref dst{NewBuffer(NumElements(src.dims) * esize), src.dims, want_nhwc};
  std::vector<int64_t> out_dims, strides;
  if (want_nhwc) {
    out_dims = {n, h, w, c};
    strides = {c * h * w, w, 1, h * w};
  } else {
    out_dims = {n, c, h, w};
    strides = {h * w * c, 1, w * c, c};
  }
  const int es = static_cast<int>(esize);
  Impl* self = this;
  const int32_t in_buf = src.buf, out_buf = dst.buf;
  AddStep(Step{"layout_transpose",
               [self, es, in_buf, out_buf, out_dims, strides, want_nhwc](cudaStream_t s) {
                 const int64_t n = out_dims[0], c = want_nhwc ? out_dims[3] : out_dims[1],
                               hw = out_dims[1] * out_dims[2] * out_dims[3] / c;
                 void *x = self->Ptr(in_buf), *y = self->Ptr(out_buf);
                 const bool tiled = want_nhwc ? kernels::LaunchNchwToNhwc(es, x, y, n, c, hw, c, s)
                                              : kernels::LaunchNhwcToNchw(es, x, y, n, c, hw, s);
                 if (!tiled)
                   kernels::LaunchTranspose(es, x, y, 4, out_dims.data(), strides.data(), s);
               },
               nullptr},
          {in_buf}, {out_buf});
  stats.layout_changes++;
  want[v] = dst;
  return dst;
}

Result<Ref> Engine::Impl::GetNhwcPadded(ir::ValueId v, int64_t c_pad) {
  RIDGE_ASSIGN_OR_RETURN(Ref src, Get(v, false));
  if (src.dims.size() != 4 || src.dims[1] > c_pad)
    return Status(StatusCode::kInternal,
                  "channel padding of a rank-" + std::to_string(src.dims.size()) + " value");
  const int64_t n = src.dims[0], c = src.dims[1], hw = src.dims[2] * src.dims[3];
  Ref dst{NewBuffer(n * hw * c_pad * esize), {n, c_pad, src.dims[2], src.dims[3]}, true};
  const int es = static_cast<int>(esize);
  Impl* self = this;
  const int32_t in_buf = src.buf, out_buf = dst.buf;
  // The grid limits are far beyond any image: c_pad * elem bytes == 16 takes the per-pixel path.
  AddStep(Step{"layout_transpose_pad",
               [self, es, in_buf, out_buf, n, c, hw, c_pad](cudaStream_t s) {
                 kernels::LaunchNchwToNhwc(es, self->Ptr(in_buf), self->Ptr(out_buf), n, c, hw,
                                           c_pad, s);
               },
               nullptr},
          {in_buf}, {out_buf});
  stats.layout_changes++;
  return dst;
}

}  // namespace ridge::cuda
