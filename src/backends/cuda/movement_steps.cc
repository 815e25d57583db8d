// Concat, Slice, Split (strided copies, in whichever layout the data already has, so channel
// splits and concats of NHWC activations need no transposes) and nearest Resize (NHWC).
#include <cmath>

#include "backends/cuda/engine_impl.h"
#include "backends/cuda/kernels/strided_copy.cuh"

namespace ridge::cuda {
namespace {

// Physical dims (N, H, W, C for NHWC) and the physical position of each logical axis.
std::vector<int64_t> PhysDims(const Ref& r) {
  if (!r.nhwc) return r.dims;
  return {r.dims[0], r.dims[2], r.dims[3], r.dims[1]};
}
size_t PhysAxis(const Ref& r, size_t logical) {
  static const size_t kNhwc[4] = {0, 3, 1, 2};
  return r.nhwc ? kNhwc[logical] : logical;
}
std::vector<int64_t> Dense(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size());
  int64_t acc = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}
std::vector<int64_t> ConstInts(const ir::Graph& g, const ir::Node& n, size_t i, bool* ok) {
  std::vector<int64_t> v;
  if (i >= n.inputs.size() || n.inputs[i] == ir::kNoValue) return v;
  const auto& c = g.value(n.inputs[i]).constant;
  if (!c) {
    *ok = false;
    return v;
  }
  for (int64_t k = 0; k < c->num_elements(); ++k) v.push_back(c->GetAsInt64(k));
  return v;
}

}  // namespace

Status Engine::Impl::BuildMovement(ir::NodeId id) {
  const ir::Graph& g = *graph;
  const ir::Node& node = g.node(id);
  const std::string& op = node.op_type;
  Impl* self = this;
  const int es = static_cast<int>(esize);
  auto copy_step = [&](const char* kind, int32_t xb, int64_t x_off, int32_t yb, int64_t y_off,
                       std::vector<int64_t> dims, std::vector<int64_t> xs,
                       std::vector<int64_t> ys) {
    if (dims.size() > 6) return Unsupported(std::string(kind) + " above rank 6");
    const int64_t xo = x_off * es, yo = y_off * es;
    AddStep(Step{kind,
                 [self, es, xb, yb, xo, yo, dims, xs, ys](cudaStream_t s) {
                   kernels::LaunchStridedCopy(es, static_cast<char*>(self->Ptr(xb)) + xo,
                                              static_cast<char*>(self->Ptr(yb)) + yo,
                                              static_cast<int>(dims.size()), dims.data(), xs.data(),
                                              ys.data(), s);
                 },
                 nullptr},
            {xb}, {yb});
    return Status::Ok();
  };

  if (op == "Concat") {
    const size_t rank = g.value(node.outputs[0]).shape->rank();
    int64_t axis = node.GetInt("axis", 0);
    if (axis < 0) axis += static_cast<int64_t>(rank);
    if (axis < 0 || axis >= static_cast<int64_t>(rank)) return InvalidModel("Concat axis");
    bool want_nhwc = false;
    for (ir::ValueId v : node.inputs)
      if (rank == 4 && nhwc.count(v) && !PhysicallySame(nhwc[v].dims)) want_nhwc = true;
    Ref y = Define(node.outputs[0], want_nhwc);
    const size_t pa = PhysAxis(y, static_cast<size_t>(axis));
    const auto ystr = Dense(PhysDims(y));
    int64_t offset = 0;
    for (ir::ValueId v : node.inputs) {
      RIDGE_ASSIGN_OR_RETURN(Ref x, Get(v, want_nhwc));
      if (x.nhwc != y.nhwc) return Status(StatusCode::kInternal, "Concat layout mismatch");
      auto pd = PhysDims(x);
      RIDGE_RETURN_IF_ERROR(
          copy_step("concat_copy", x.buf, 0, y.buf, offset * ystr[pa], pd, Dense(pd), ystr));
      offset += x.dims[static_cast<size_t>(axis)];
    }
    return Status::Ok();
  }

  if (op == "Slice") {
    bool ok = true;
    std::vector<int64_t> starts, ends, axes, steps;
    if (g.opset_version > 0 && g.opset_version < 10) {
      starts = node.GetInts("starts");
      ends = node.GetInts("ends");
      axes = node.GetInts("axes");
    } else {
      starts = ConstInts(g, node, 1, &ok);
      ends = ConstInts(g, node, 2, &ok);
      axes = ConstInts(g, node, 3, &ok);
      steps = ConstInts(g, node, 4, &ok);
    }
    if (!ok) return Unsupported("Slice with non-constant starts/ends/axes/steps");
    RIDGE_ASSIGN_OR_RETURN(Ref x, GetAny(node.inputs[0]));
    const size_t rank = x.dims.size();
    if (axes.empty())
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size())
      return InvalidModel("Slice starts/axes/steps differ in length");
    std::vector<int64_t> start(rank, 0), step(rank, 1);
    for (size_t k = 0; k < axes.size(); ++k) {
      int64_t a = axes[k] < 0 ? axes[k] + static_cast<int64_t>(rank) : axes[k];
      if (a < 0 || a >= static_cast<int64_t>(rank)) return InvalidModel("Slice axis");
      const int64_t dim = x.dims[static_cast<size_t>(a)];
      if (steps[k] == 0) return InvalidModel("Slice step 0");
      int64_t s = starts[k] < 0 ? starts[k] + dim : starts[k];
      s = steps[k] > 0 ? std::clamp<int64_t>(s, 0, dim) : std::clamp<int64_t>(s, 0, dim - 1);
      start[static_cast<size_t>(a)] = s;
      step[static_cast<size_t>(a)] = steps[k];
    }
    Ref y = Define(node.outputs[0], x.nhwc);
    if (y.nhwc != x.nhwc) return Status(StatusCode::kInternal, "Slice layout mismatch");
    const auto xstr = Dense(PhysDims(x));
    std::vector<int64_t> xs(rank);
    int64_t base = 0;
    for (size_t a = 0; a < rank; ++a) {
      const size_t p = PhysAxis(x, a);
      base += start[a] * xstr[p];
      xs[p] = xstr[p] * step[a];
    }
    const auto yd = PhysDims(y);
    return copy_step("slice_copy", x.buf, base, y.buf, 0, yd, xs, Dense(yd));
  }

  if (op == "Split") {
    RIDGE_ASSIGN_OR_RETURN(Ref x, GetAny(node.inputs[0]));
    const size_t rank = x.dims.size();
    int64_t axis = node.GetInt("axis", 0);
    if (axis < 0) axis += static_cast<int64_t>(rank);
    if (axis < 0 || axis >= static_cast<int64_t>(rank)) return InvalidModel("Split axis");
    const auto xstr = Dense(PhysDims(x));
    const size_t pa = PhysAxis(x, static_cast<size_t>(axis));
    int64_t offset = 0;
    for (ir::ValueId v : node.outputs) {
      if (v == ir::kNoValue) continue;
      Ref y = Define(v, x.nhwc);
      const auto yd = PhysDims(y);
      RIDGE_RETURN_IF_ERROR(
          copy_step("split_copy", x.buf, offset * xstr[pa], y.buf, 0, yd, xstr, Dense(yd)));
      offset += y.dims[static_cast<size_t>(axis)];
    }
    return Status::Ok();
  }

  if (op == "Resize") {
    if (node.GetString("mode", "nearest") != "nearest" ||
        node.GetString("coordinate_transformation_mode", "half_pixel") != "asymmetric" ||
        node.GetString("nearest_mode", "round_prefer_floor") != "floor")
      return Unsupported("Resize: only nearest / asymmetric / floor runs on the GPU");
    RIDGE_ASSIGN_OR_RETURN(Ref x, Get(node.inputs[0], true));
    if (x.dims.size() != 4) return Unsupported("Resize of a non 4-D tensor on the GPU");
    Ref y = Define(node.outputs[0], true);
    if (y.dims[0] != x.dims[0] || y.dims[1] != x.dims[1])
      return Unsupported("Resize of batch or channel axes on the GPU");
    float sh = static_cast<float>(y.dims[2]) / static_cast<float>(x.dims[2]);
    float sw = static_cast<float>(y.dims[3]) / static_cast<float>(x.dims[3]);
    if (node.inputs.size() > 2 && node.inputs[2] != ir::kNoValue) {
      const auto& sc = g.value(node.inputs[2]).constant;
      if (sc && sc->num_elements() == 4) {
        sh = static_cast<float>(sc->GetAsDouble(2));
        sw = static_cast<float>(sc->GetAsDouble(3));
      }
    }
    const int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3], oh = y.dims[2],
                  ow = y.dims[3];
    const int32_t xb = x.buf, yb = y.buf;
    AddStep(Step{"resize_nearest_nhwc",
                 [self, es, xb, yb, n, h, w, c, oh, ow, sh, sw](cudaStream_t s) {
                   kernels::LaunchResizeNearestNhwc(es, self->Ptr(xb), self->Ptr(yb), n, h, w, c,
                                                    oh, ow, sh, sw, s);
                 },
                 nullptr},
            {xb}, {yb});
    return Status::Ok();
  }
  return Unsupported("no GPU kernel for " + op + " here");
}

}  // namespace ridge::cuda
