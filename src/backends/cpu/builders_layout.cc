// Native data-movement builders: Slice, Split, nearest Resize, and Concat of blocked values.
//
// These used to run on reference kernels (a copy of the input into a plain tensor, one thread)
// plus a reorder out of oneDNN's blocked layout before each of them. Here they are oneDNN
// reorders from a sub-memory view (Slice/Split), a resampling primitive (Resize) and a concat
// over blocked inputs, so a chain conv -> Slice -> conv ... -> Concat -> conv stays blocked.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "backends/cpu/compiler.h"

namespace ridge::cpu {
namespace {

using dnnl::memory;
using Dims = std::vector<int64_t>;

Dims DimsOf(const Compiler& c, ir::ValueId v) { return *c.value(v).shape->ToInts(); }
memory::dims ToDnnl(const Dims& d) { return memory::dims(d.begin(), d.end()); }
bool Present(const ir::Node& node, size_t i) {
  return i < node.inputs.size() && node.inputs[i] != ir::kNoValue;
}
bool IsF32(const Compiler& c, ir::ValueId v) { return c.value(v).dtype == DType::kFloat32; }

// Constant integer input i of a node as int64s; nullopt when absent or not constant.
std::optional<Dims> ConstInts(const Compiler& c, const ir::Node& node, size_t i) {
  if (!Present(node, i)) return std::nullopt;
  const auto& val = c.value(node.inputs[i]);
  if (!val.constant) return std::nullopt;
  if (val.dtype != DType::kInt64 && val.dtype != DType::kInt32) return std::nullopt;
  Dims out;
  for (int64_t k = 0; k < val.constant->num_elements(); ++k) {
    out.push_back(val.constant->GetAsInt64(k));
  }
  return out;
}

// The channel block size of a 4-D/5-D "nC...16c"-style layout (one inner block on dim 1), or 0.
int64_t ChannelBlock(const memory::desc& md) {
  const auto& d = md.data;
  if (d.format_kind != dnnl_blocked) return 0;
  const auto& b = d.format_desc.blocking;
  if (b.inner_nblks != 1 || b.inner_idxs[0] != 1) return 0;
  return b.inner_blks[0];
}

// A dense desc for dims in the same layout family as `like`: nC..Bc when `like` is blocked with
// channel block B and dims[1] is a multiple of B (no padding); the same dimension order when
// `like` is a permutation without inner blocks (oneDNN's convs here pick NHWC, acdb); else
// plain row-major.
memory::desc DenseLike(const memory::desc& like, const Dims& dims) {
  const auto& d = like.data;
  if (d.format_kind == dnnl_blocked && d.ndims == static_cast<int>(dims.size()) &&
      d.format_desc.blocking.inner_nblks == 0) {
    const int rank = d.ndims;
    std::vector<int> order(rank);
    for (int i = 0; i < rank; ++i) order[i] = i;
    const auto* st = d.format_desc.blocking.strides;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return st[a] > st[b]; });
    memory::dims strides(rank);
    int64_t run = 1;
    for (int i = rank - 1; i >= 0; --i) {
      strides[order[i]] = run;
      run *= dims[order[i]];
    }
    return memory::desc(ToDnnl(dims), memory::data_type::f32, strides);
  }
  int64_t block = ChannelBlock(like);
  if (block > 0 && (dims.size() == 4 || dims.size() == 5) && dims[1] % block == 0) {
    using tag = memory::format_tag;
    tag t = tag::undef;
    if (dims.size() == 4) t = block == 16 ? tag::nChw16c : block == 8 ? tag::nChw8c : tag::undef;
    if (dims.size() == 5) {
      t = block == 16 ? tag::nCdhw16c : block == 8 ? tag::nCdhw8c : tag::undef;
    }
    if (t != tag::undef) return memory::desc(ToDnnl(dims), memory::data_type::f32, t);
  }
  return PlainDesc(dims);
}

// One reorder kernel copying the window (offsets, out dims) of x into a new slot for y. Tries
// the input's own (possibly blocked) layout first; falls back to its plain form, where every
// window is a valid view.
bool AddWindowCopy(Compiler& c, ir::NodeId id, ir::ValueId x, ir::ValueId y, const Dims& offsets,
                   const Dims& out_dims, const std::string& type) {
  int src = c.SlotOf(x);
  if (src < 0) return false;
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      if (!c.slot(src).blocked) return false;
      src = c.PlainSlot(x);
    }
    const memory::desc& src_md = c.slot(src).md;
    try {
      memory::desc view = src_md.submemory_desc(ToDnnl(out_dims), ToDnnl(offsets));
      memory::desc dst_md = DenseLike(src_md, out_dims);
      dnnl::reorder::primitive_desc pd(c.engine(), view, c.engine(), dst_md);
      auto k = std::make_unique<DnnlKernel>();
      k->op_type = type;
      k->primitive = dnnl::reorder(pd);
      int dst = c.NewValueSlot(y, dst_md);
      k->slot_args = {{DNNL_ARG_FROM, src, view}, {DNNL_ARG_TO, dst, {}}};
      k->input_slots = {src};
      k->output_slots = {dst};
      c.AddKernel(std::move(k), {id}, "dnnl");
      return true;
    } catch (const dnnl::error&) {
      // Unaligned window in a blocked layout: retry on the plain form.
    }
  }
  return false;
}

// A kernel written here: a function over the plain fp32 input and output slots.
class LoopKernel : public Kernel {
 public:
  std::function<void(const float*, float*)> fn;
  Status Run(ExecState& state) override {
    fn(state.F(input_slots[0]), state.F(output_slots[0]));
    return Status::Ok();
  }
};

// (Log)Softmax over a non-innermost axis of a plain tensor viewed as [outer, n, inner]. oneDNN
// 2.6 runs this case one strided row at a time (YOLOv8's DFL softmax, [1,16,4,8400] over
// axis 1: ~100 ms); here the inner dimension is the vectorized loop, in tiles of 512.
void StridedSoftmax(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  constexpr int64_t kTile = 512;
  const int64_t tiles = (inner + kTile - 1) / kTile;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < outer * tiles; ++t) {
    const int64_t o = t / tiles, i0 = (t % tiles) * kTile, len = std::min(kTile, inner - i0);
    const float* xs = x + o * n * inner + i0;
    float* ys = y + o * n * inner + i0;
    float mx[kTile], sum[kTile];
    for (int64_t i = 0; i < len; ++i) mx[i] = xs[i];
    for (int64_t a = 1; a < n; ++a) {
      for (int64_t i = 0; i < len; ++i) mx[i] = std::max(mx[i], xs[a * inner + i]);
    }
    for (int64_t i = 0; i < len; ++i) sum[i] = 0;
    for (int64_t a = 0; a < n; ++a) {
      for (int64_t i = 0; i < len; ++i) {
        float e = std::exp(xs[a * inner + i] - mx[i]);
        if (!log) ys[a * inner + i] = e;
        sum[i] += e;
      }
    }
    if (log) {
      for (int64_t i = 0; i < len; ++i) sum[i] = mx[i] + std::log(sum[i]);
      for (int64_t a = 0; a < n; ++a) {
        for (int64_t i = 0; i < len; ++i) ys[a * inner + i] = xs[a * inner + i] - sum[i];
      }
    } else {
      for (int64_t i = 0; i < len; ++i) sum[i] = 1.f / sum[i];
      for (int64_t a = 0; a < n; ++a) {
        for (int64_t i = 0; i < len; ++i) ys[a * inner + i] *= sum[i];
      }
    }
  }
}

}  // namespace

bool TryBuildStridedSoftmax(Compiler& c, ir::NodeId id) {
  const ir::Node& node = c.graph().node(id);
  if (node.inputs.empty() || node.outputs.size() != 1) return false;
  ir::ValueId x = node.inputs[0], y = node.outputs[0];
  if (!c.IsFloatActivation(x) || !IsF32(c, y)) return false;
  Dims xd = DimsOf(c, x);
  int64_t rank = static_cast<int64_t>(xd.size());
  int64_t axis = node.GetInt("axis", c.graph().opset_version >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  // Opset < 13 flattens at `axis`: the same as per-axis only for the last axis (not ours).
  if (axis < 0 || axis >= rank - 1 || c.graph().opset_version < 13) return false;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= xd[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= xd[i];
  const int64_t n = xd[axis];
  if (outer <= 0 || inner <= 1 || n <= 0) return false;
  auto k = std::make_unique<LoopKernel>();
  k->op_type = node.op_type;
  const bool log = node.op_type == "LogSoftmax";
  k->fn = [outer, n, inner, log](const float* in, float* out) {
    StridedSoftmax(in, out, outer, n, inner, log);
  };
  k->input_slots = {c.PlainSlot(x)};
  k->output_slots = {c.NewValueSlot(y, PlainDesc(xd))};
  c.AddKernel(std::move(k), {id}, "native");
  return true;
}

// Slice with constant starts/ends/axes and unit steps: a reorder from a window view.
Status BuildSlice(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  if (node.inputs.size() < 3 || node.outputs.empty()) return Status::Ok();
  ir::ValueId x = node.inputs[0], y = node.outputs[0];
  if (!c.IsFloatActivation(x) || !IsF32(c, y)) return Status::Ok();
  Dims xd = DimsOf(c, x), yd = DimsOf(c, y);
  const int64_t rank = static_cast<int64_t>(xd.size());
  if (rank == 0 || yd.size() != xd.size()) return Status::Ok();
  for (int64_t d : yd) {
    if (d <= 0) return Status::Ok();
  }
  auto starts = ConstInts(c, node, 1), ends = ConstInts(c, node, 2);
  if (!starts || !ends || starts->size() != ends->size()) return Status::Ok();
  Dims axes;
  if (Present(node, 3)) {
    auto a = ConstInts(c, node, 3);
    if (!a) return Status::Ok();
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (Present(node, 4)) {
    auto steps = ConstInts(c, node, 4);
    if (!steps) return Status::Ok();
    for (int64_t s : *steps) {
      if (s != 1) return Status::Ok();
    }
  }
  if (axes.size() != starts->size()) return Status::Ok();
  Dims offsets(rank, 0), out = xd;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank) return Status::Ok();
    int64_t s = (*starts)[i], e = (*ends)[i], n = xd[a];
    if (s < 0) s += n;
    if (e < 0) e += n;
    s = std::clamp<int64_t>(s, 0, n);
    e = std::clamp<int64_t>(e, 0, n);
    offsets[a] = s;
    out[a] = std::max<int64_t>(e - s, 0);
  }
  if (out != yd) return Status::Ok();  // disagrees with shape inference: let the reference run
  *handled = AddWindowCopy(c, id, x, y, offsets, yd, "Slice");
  return Status::Ok();
}

// Split into constant sizes: one window reorder per output.
Status BuildSplit(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  if (node.inputs.empty() || node.outputs.empty()) return Status::Ok();
  ir::ValueId x = node.inputs[0];
  if (!c.IsFloatActivation(x)) return Status::Ok();
  Dims xd = DimsOf(c, x);
  const int64_t rank = static_cast<int64_t>(xd.size());
  int64_t axis = node.GetInt("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return Status::Ok();
  // Validate every output against the input before emitting any kernel.
  int64_t offset = 0;
  std::vector<int64_t> offsets;
  for (ir::ValueId o : node.outputs) {
    if (o == ir::kNoValue) return Status::Ok();
    Dims od = DimsOf(c, o);
    if (od.size() != xd.size() || !IsF32(c, o)) return Status::Ok();
    for (int64_t i = 0; i < rank; ++i) {
      if (i != axis && od[i] != xd[i]) return Status::Ok();
      if (od[i] <= 0) return Status::Ok();
    }
    offsets.push_back(offset);
    offset += od[axis];
  }
  if (offset != xd[axis]) return Status::Ok();
  // All outputs view the same source; take the plain form once when a window is unaligned.
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    Dims off(rank, 0);
    off[axis] = offsets[i];
    if (!AddWindowCopy(c, id, x, node.outputs[i], off, DimsOf(c, node.outputs[i]), "Split")) {
      return Internal("Split: could not build a window copy for output " + std::to_string(i));
    }
  }
  *handled = true;
  return Status::Ok();
}

// Nearest Resize by integer factors whose ONNX coordinate rule reduces to floor(out / factor):
// asymmetric + floor, or half_pixel / pytorch_half_pixel with round_prefer_*. That is exactly
// oneDNN's nearest resampling for integer factors.
Status BuildResize(Compiler& c, ir::NodeId id, bool* handled) {
  const ir::Node& node = c.graph().node(id);
  if (node.inputs.empty() || node.outputs.empty()) return Status::Ok();
  ir::ValueId x = node.inputs[0], y = node.outputs[0];
  if (!c.IsFloatActivation(x) || !IsF32(c, y)) return Status::Ok();
  if (node.GetString("mode", "nearest") != "nearest") return Status::Ok();
  std::string coord = node.GetString("coordinate_transformation_mode", "half_pixel");
  std::string rounding = node.GetString("nearest_mode", "round_prefer_floor");
  bool ok_rule = (coord == "asymmetric" && rounding == "floor") ||
                 ((coord == "half_pixel" || coord == "pytorch_half_pixel") &&
                  (rounding == "round_prefer_floor" || rounding == "round_prefer_ceil"));
  if (!ok_rule) return Status::Ok();
  if (node.GetInts("axes", {}).size() > 0) return Status::Ok();
  if (node.GetInt("antialias", 0) != 0) return Status::Ok();
  if (Present(node, 1) && !c.value(node.inputs[1]).constant) return Status::Ok();  // roi
  Dims xd = DimsOf(c, x), yd = DimsOf(c, y);
  if (xd.size() < 3 || xd.size() > 5 || yd.size() != xd.size()) return Status::Ok();
  if (yd[0] != xd[0] || yd[1] != xd[1]) return Status::Ok();
  // Given scales must equal the integer factors exactly (the rule uses the scale, not out/in).
  std::vector<double> scales;
  if (Present(node, 2)) {
    const auto& sv = c.value(node.inputs[2]);
    if (!sv.constant) return Status::Ok();
    for (int64_t i = 0; i < sv.constant->num_elements(); ++i) {
      scales.push_back(sv.constant->GetAsDouble(i));
    }
  }
  if (!scales.empty() && scales.size() != xd.size()) return Status::Ok();
  for (size_t i = 2; i < xd.size(); ++i) {
    if (xd[i] <= 0 || yd[i] % xd[i] != 0) return Status::Ok();
    if (!scales.empty() && scales[i] != static_cast<double>(yd[i] / xd[i])) return Status::Ok();
  }
  if (!scales.empty() && (scales[0] != 1.0 || scales[1] != 1.0)) return Status::Ok();
  int src = c.SlotOf(x);
  if (src < 0) return Status::Ok();
  dnnl::resampling_forward::primitive_desc pd;
  try {
    memory::desc dst_any(ToDnnl(yd), memory::data_type::f32, memory::format_tag::any);
    pd = dnnl::resampling_forward::primitive_desc(
        dnnl::resampling_forward::desc(dnnl::prop_kind::forward_inference,
                                       dnnl::algorithm::resampling_nearest, c.slot(src).md,
                                       dst_any),
        c.engine());
  } catch (const dnnl::error&) {
    return Status::Ok();
  }
  auto k = std::make_unique<DnnlKernel>();
  k->op_type = "Resize";
  k->primitive = dnnl::resampling_forward(pd);
  int dst = c.NewValueSlot(y, pd.dst_desc());
  k->slot_args = {{DNNL_ARG_SRC, src, {}}, {DNNL_ARG_DST, dst, {}}};
  k->input_slots = {src};
  k->output_slots = {dst};
  c.AddKernel(std::move(k), {id}, "dnnl");
  *handled = true;
  return Status::Ok();
}

// Concat along channels of values that are all dense in the same non-plain layout (NHWC, or
// nChw16c with block-multiple channel counts): one concat in that layout, no reorders.
// False: use the plain path.
bool TryBuildBlockedConcat(Compiler& c, ir::NodeId id) {
  const ir::Node& node = c.graph().node(id);
  ir::ValueId y = node.outputs[0];
  Dims yd = DimsOf(c, y);
  int64_t rank = static_cast<int64_t>(yd.size());
  int64_t axis = node.GetInt("axis", 0);
  if (axis < 0) axis += rank;
  if (axis != 1 || (rank != 4 && rank != 5)) return false;
  std::vector<memory::desc> mds;
  std::vector<int> srcs;
  for (ir::ValueId in : node.inputs) {
    if (in == ir::kNoValue || !IsF32(c, in)) return false;
    int s = c.SlotOf(in);
    if (s < 0 || !c.slot(s).blocked) return false;
    const memory::desc& md = c.slot(s).md;
    if (!(md == DenseLike(md, c.slot(s).dims))) return false;
    if (!mds.empty() && !(DenseLike(md, yd) == DenseLike(mds[0], yd))) return false;
    mds.push_back(md);
    srcs.push_back(s);
  }
  if (srcs.empty()) return false;
  memory::desc dst_md = DenseLike(mds[0], yd);
  if (dst_md == PlainDesc(yd)) return false;
  dnnl::concat::primitive_desc pd;
  try {
    pd = dnnl::concat::primitive_desc(dst_md, 1, mds, c.engine());
  } catch (const dnnl::error&) {
    return false;
  }
  auto k = std::make_unique<DnnlKernel>();
  k->op_type = "Concat";
  k->primitive = dnnl::concat(pd);
  for (size_t i = 0; i < srcs.size(); ++i) {
    k->slot_args.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), srcs[i], {}});
    k->input_slots.push_back(srcs[i]);
  }
  int dst = c.NewValueSlot(y, dst_md);
  k->slot_args.push_back({DNNL_ARG_DST, dst, {}});
  k->output_slots = {dst};
  c.AddKernel(std::move(k), {id}, "dnnl");
  return true;
}

}  // namespace ridge::cpu
