// Depthwise Conv (group == channels) on Ridgeline's own NHWC kernels, bias and activation fused.
// Which kernel runs a layer is a tactic: every kernel that fits the shape is timed at build on
// the real buffers and the fastest is kept (and cached like cuDNN's algorithms). No kernel wins
// everywhere: the one-output-per-thread kernel has the most threads for small batches, the tile
// kernels the fewest loads and conversions for large ones.
#include <memory>

#include "backends/cuda/engine_impl.h"
#include "backends/cuda/kernels/depthwise_conv.cuh"

namespace ridge::cuda {

Status Engine::Impl::BuildDepthwiseConv(const std::string& node_name, const Ref& x, const Ref& y,
                                        const std::vector<float>& w, const std::vector<float>* b,
                                        const kernels::DepthwiseParams& p) {
  // Filters [C, 1, KH, KW] -> [KH, KW, C], fp32 in both precisions (depthwise_conv.cuh).
  const int64_t c = p.c, taps = int64_t{p.kh} * p.kw;
  Tensor w_rsc(DType::kFloat32, {p.kh, p.kw, c});
  for (int64_t o = 0; o < c; ++o)
    for (int64_t i = 0; i < taps; ++i) w_rsc.data<float>()[i * c + o] = w[o * taps + i];
  RIDGE_ASSIGN_OR_RETURN(int32_t w_buf, Upload(w_rsc, /*keep_fp32=*/true));
  int32_t b_buf = -1;
  if (b) {
    Tensor bt(DType::kFloat32, {c});
    std::copy(b->begin(), b->end(), bt.data<float>());
    RIDGE_ASSIGN_OR_RETURN(b_buf, Upload(bt, /*keep_fp32=*/true));
  }

  using kernels::DepthwiseKernel;
  auto chosen = std::make_shared<DepthwiseKernel>(DepthwiseKernel::kGeneral);
  Impl* self = this;
  const int32_t xb = x.buf, yb = y.buf;
  const bool hf = half;
  auto run = [self, hf, xb, yb, w_buf, b_buf, p](DepthwiseKernel k, cudaStream_t s) {
    kernels::LaunchDepthwiseConvNhwc(
        k, hf, self->Ptr(xb), static_cast<const float*>(self->Ptr(w_buf)),
        b_buf >= 0 ? static_cast<const float*>(self->Ptr(b_buf)) : nullptr, self->Ptr(yb), p, s);
  };

  const bool tiles = options.depthwise_tile_kernels;
  TacticKey key("dwconv");
  key.Add("prec", half ? "fp16" : "fp32")
      .Add("x", x.dims)
      .Add("y", y.dims)
      .Add("k", std::vector<int64_t>{p.kh, p.kw})
      .Add("pads", std::vector<int64_t>{p.ph, p.pw})
      .Add("strides", std::vector<int64_t>{p.sh, p.sw})
      .Add("dil", std::vector<int64_t>{p.dh, p.dw})
      .Add("act", static_cast<int64_t>(p.act.act))
      .Add("bias", b ? 1 : 0)
      .Add("tiles", tiles ? 1 : 0);
  const auto allowed = [tiles, hf, p](DepthwiseKernel k) {
    return kernels::DepthwiseKernelFits(k, hf, p) &&
           (tiles || k == DepthwiseKernel::kGeneral || k == DepthwiseKernel::kVec16);
  };
  auto candidates = [allowed]() -> Result<std::vector<Tactic>> {
    std::vector<Tactic> out;
    for (int32_t i = 0; i < kernels::kDepthwiseKernelCount; ++i) {
      if (!allowed(static_cast<DepthwiseKernel>(i))) continue;
      Tactic t;
      t.library = "ridge";
      t.algo = i;
      out.push_back(t);
    }
    return out;
  };
  auto apply = [allowed, chosen](const Tactic& t) -> Status {
    if (t.library != "ridge" || t.algo < 0 || t.algo >= kernels::kDepthwiseKernelCount)
      return InvalidArgument("not a Ridgeline depthwise kernel");
    const auto k = static_cast<DepthwiseKernel>(t.algo);
    if (!allowed(k))
      return InvalidArgument(std::string(kernels::DepthwiseKernelName(k)) +
                             " does not fit this layer or is not enabled");
    *chosen = k;
    return Status::Ok();
  };
  auto launch = [run, chosen](cudaStream_t s) -> Status {
    run(*chosen, s);
    return CudaStatus(cudaGetLastError(), "depthwise conv kernel");
  };
  auto name = [](const Tactic& t) {
    return std::string(kernels::DepthwiseKernelName(static_cast<DepthwiseKernel>(t.algo)));
  };
  Step step{"depthwise_conv_nhwc", [run, chosen](cudaStream_t s) { run(*chosen, s); }, nullptr};
  const std::string what = "Conv " + node_name + " (depthwise)";
  step.prepare = [self, key = key.str(), what, candidates, apply, launch, name]() -> Status {
    return self->ChooseTactic(what, key, candidates, apply, launch, name).status();
  };
  AddStep(std::move(step), {xb}, {yb});
  return Status::Ok();
}

}  // namespace ridge::cuda
