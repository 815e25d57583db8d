// Data movement ops: Concat, Split, Slice, Gather, GatherElements, Tile, Expand.
//
// Cost (all kDataMovement, 0 FLOPs): Concat, Split, Tile and Expand read their inputs and write
// their outputs (constant inputs such as repeats/shape count as weight bytes). Slice, Gather and
// GatherElements read only the elements they copy: bytes_read = output bytes (+ the indices for
// the gathers), bytes_written = output bytes.
//
// Slice follows ONNX opset 10+ (starts/ends/axes/steps inputs; attributes before opset 10):
// negative starts/ends add the dim; starts clamp to [0, dim] (step > 0) or [0, dim-1]
// (step < 0), ends to [0, dim] or [-1, dim-1]; INT64_MAX/INT64_MIN ends mean "to the edge".
// Split takes sizes from input 1 (opset >= 13), the `split` attribute (before), or splits
// evenly: num_outputs (opset 18) rounds the chunk up and makes the last one smaller.
#include <algorithm>
#include <cstring>

#include "core/checked_math.h"
#include "ops/op.h"
#include "ops/util_tensor.h"

namespace ridge::ops {
namespace {

NodeCost CostMove(const CostContext& ctx) { return ctx.ElementwiseCost(OpKind::kDataMovement, 0); }

// Reads only what it copies.
NodeCost CostGatherLike(const CostContext& ctx) {
  NodeCost c;
  c.kind = OpKind::kDataMovement;
  c.bytes_written = ctx.output_bytes(0);
  c.bytes_read = ctx.output_bytes(0);
  if (ctx.has_input(1) && ctx.node().op_type != "Slice") {
    (ctx.input_is_constant(1) ? c.weight_bytes : c.bytes_read) += ctx.input_bytes(1);
  }
  return c;
}

Dim MergeDim(const Dim& a, const Dim& b) {
  if (a.known() || (!b.known() && !a.symbol.empty())) return a;
  return b;
}

// ---- Concat ---------------------------------------------------------------------------------
Status InferConcat(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 1 << 16));
  if (!ctx.node().HasAttr("axis")) return ctx.Error("attribute axis is required");
  std::optional<Shape> out;
  DType dtype = ctx.input_dtype(0);
  bool rank_known = true;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Error("input " + std::to_string(i) + " is missing");
    if (ctx.input_dtype(i) != dtype) {
      return ctx.Error("inputs must share one dtype, got " + std::string(DTypeName(dtype)) +
                       " and " + std::string(DTypeName(ctx.input_dtype(i))));
    }
    if (!ctx.input_shape(i)) rank_known = false;
  }
  if (!rank_known) return Status::Ok();
  const Shape& s0 = *ctx.input_shape(0);
  auto axis = NormalizeAxis(ctx.node().GetInt("axis", 0), static_cast<int64_t>(s0.rank()),
                            "attribute axis");
  if (!axis.ok()) return ctx.Error(axis.status().message());
  auto a = static_cast<size_t>(*axis);
  Shape result = s0;
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const Shape& s = *ctx.input_shape(i);
    if (s.rank() != s0.rank()) {
      return ctx.Error("input " + std::to_string(i) + " has rank " + std::to_string(s.rank()) +
                       ", input 0 has rank " + std::to_string(s0.rank()));
    }
    for (size_t d = 0; d < s.rank(); ++d) {
      if (d == a) {
        result[d] = result[d].known() && s[d].known() ? Dim(result[d].value + s[d].value) : Dim();
      } else if (result[d].known() && s[d].known() && result[d].value != s[d].value) {
        return ctx.Error("input " + std::to_string(i) + " has shape " + s.ToString() +
                         ", incompatible with " + s0.ToString() + " outside axis " +
                         std::to_string(a));
      } else {
        result[d] = MergeDim(result[d], s[d]);
      }
    }
  }
  ctx.SetOutput(0, dtype, std::move(result));
  return Status::Ok();
}

int64_t Prod(const std::vector<int64_t>& d, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t i = b; i < e; ++i) p *= d[i];
  return p;
}

Status RefConcat(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& t0 = ctx.input(0);
  RIDGE_ASSIGN_OR_RETURN(
      int64_t axis, NormalizeAxis(ctx.node().GetInt("axis", 0), static_cast<int64_t>(t0.rank())));
  auto a = static_cast<size_t>(axis);
  std::vector<int64_t> dims = t0.dims();
  dims[a] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != t0.dtype() || t.rank() != t0.rank()) return ctx.Error("inputs differ");
    for (size_t d = 0; d < t.rank(); ++d) {
      if (d != a && t.dims()[d] != t0.dims()[d]) return ctx.Error("input shapes differ");
    }
    dims[a] += t.dims()[a];
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(t0.dtype(), dims));
  size_t esize = DTypeSize(t0.dtype());
  int64_t outer = Prod(dims, 0, a), inner = Prod(dims, a + 1, dims.size());
  int64_t out_row = dims[a] * inner;
  int64_t offset = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    int64_t row = t.dims()[a] * inner;
    for (int64_t o = 0; row > 0 && o < outer; ++o) {  // an empty input has no buffer
      std::memcpy(out.raw_data() + (o * out_row + offset) * esize, t.raw_data() + o * row * esize,
                  static_cast<size_t>(row) * esize);
    }
    offset += row;
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

// ---- Split ----------------------------------------------------------------------------------
// Sizes of each output along the axis; nullopt entries when unknown.
Result<std::vector<Dim>> SplitSizes(const ir::Node& node, const Dim& dim, size_t num_outputs,
                                    const Tensor* split_input, bool has_split_input) {
  std::vector<int64_t> split;
  if (has_split_input) {
    if (!split_input) return std::vector<Dim>(num_outputs);
    RIDGE_ASSIGN_OR_RETURN(split, TensorToInts(*split_input, "input 1 (split)"));
  } else if (node.HasAttr("split")) {
    split = node.GetInts("split");
  }
  if (!split.empty()) {
    if (split.size() != num_outputs) {
      return InvalidModel("split has " + std::to_string(split.size()) + " entries for " +
                          std::to_string(num_outputs) + " outputs");
    }
    int64_t sum = 0;
    for (int64_t s : split) {
      if (s < 0) return InvalidModel("split has a negative size");
      sum += s;
    }
    if (dim.known() && sum != dim.value) {
      return InvalidModel("split sizes sum to " + std::to_string(sum) + ", the axis has " +
                          std::to_string(dim.value));
    }
    return std::vector<Dim>(split.begin(), split.end());
  }
  if (node.HasAttr("num_outputs") &&
      node.GetInt("num_outputs", 0) != static_cast<int64_t>(num_outputs)) {
    return InvalidModel("attribute num_outputs does not match the number of outputs");
  }
  if (!dim.known()) return std::vector<Dim>(num_outputs);
  auto n = static_cast<int64_t>(num_outputs);
  if (!node.HasAttr("num_outputs") && dim.value % n != 0) {
    return InvalidModel("axis of size " + std::to_string(dim.value) +
                        " cannot be split evenly into " + std::to_string(n) + " outputs");
  }
  int64_t chunk = (dim.value + n - 1) / n;
  std::vector<Dim> out;
  int64_t left = dim.value;
  for (int64_t i = 0; i < n; ++i) {
    int64_t c = std::min(chunk, left);
    out.push_back(Dim(c));
    left -= c;
  }
  return out;
}

Status InferSplit(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 2));
  const Shape* s = ctx.input_shape(0);
  if (!s) return Status::Ok();
  auto axis = NormalizeAxis(ctx.node().GetInt("axis", 0), static_cast<int64_t>(s->rank()),
                            "attribute axis");
  if (!axis.ok()) return ctx.Error(axis.status().message());
  auto a = static_cast<size_t>(*axis);
  auto sizes = SplitSizes(ctx.node(), (*s)[a], ctx.num_outputs(),
                          ctx.has_input(1) ? ctx.input_constant(1) : nullptr, ctx.has_input(1));
  if (!sizes.ok()) return ctx.Error(sizes.status().message());
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    Shape o = *s;
    o[a] = (*sizes)[i];
    ctx.SetOutput(i, ctx.input_dtype(0), std::move(o));
  }
  return Status::Ok();
}

Status RefSplit(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  RIDGE_ASSIGN_OR_RETURN(
      int64_t axis, NormalizeAxis(ctx.node().GetInt("axis", 0), static_cast<int64_t>(in.rank())));
  auto a = static_cast<size_t>(axis);
  RIDGE_ASSIGN_OR_RETURN(auto sizes,
                         SplitSizes(ctx.node(), Dim(in.dims()[a]), ctx.num_outputs(),
                                    ctx.has_input(1) ? &ctx.input(1) : nullptr, ctx.has_input(1)));
  size_t esize = DTypeSize(in.dtype());
  int64_t outer = Prod(in.dims(), 0, a), inner = Prod(in.dims(), a + 1, in.rank());
  int64_t in_row = in.dims()[a] * inner, offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::vector<int64_t> dims = in.dims();
    dims[a] = sizes[i].value;
    RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(in.dtype(), dims));
    int64_t row = dims[a] * inner;
    // An empty piece has no buffer (raw_data() is null): memcpy of 0 bytes to null is still UB.
    for (int64_t o = 0; row > 0 && o < outer; ++o) {
      std::memcpy(out.raw_data() + o * row * esize, in.raw_data() + (o * in_row + offset) * esize,
                  static_cast<size_t>(row) * esize);
    }
    offset += row;
    ctx.SetOutput(i, std::move(out));
  }
  return Status::Ok();
}

// ---- Slice ----------------------------------------------------------------------------------
struct SliceParams {
  std::vector<int64_t> starts, ends, axes, steps;
};

// Parameters from inputs (opset >= 10) or attributes. nullopt when an input is not constant.
Result<std::optional<SliceParams>> ReadSlice(const ir::Node& node, std::vector<const Tensor*> in,
                                             size_t rank) {
  SliceParams p;
  if (in.size() > 1) {
    const char* names[] = {"starts", "ends", "axes", "steps"};
    std::vector<int64_t>* dst[] = {&p.starts, &p.ends, &p.axes, &p.steps};
    for (size_t i = 1; i < in.size() && i < 5; ++i) {
      if (in[i] == nullptr) {
        if (i <= 2) return std::optional<SliceParams>();
        continue;
      }
      RIDGE_ASSIGN_OR_RETURN(*dst[i - 1],
                             TensorToInts(*in[i], std::string("input ") + names[i - 1]));
    }
  } else {
    p.starts = node.GetInts("starts");
    p.ends = node.GetInts("ends");
    p.axes = node.GetInts("axes");
  }
  if (p.starts.size() != p.ends.size()) return InvalidModel("starts and ends differ in length");
  if (p.axes.empty()) {
    for (size_t i = 0; i < p.starts.size(); ++i) p.axes.push_back(static_cast<int64_t>(i));
  }
  if (p.steps.empty()) p.steps.assign(p.starts.size(), 1);
  if (p.axes.size() != p.starts.size() || p.steps.size() != p.starts.size()) {
    return InvalidModel("starts, ends, axes and steps must have the same length");
  }
  RIDGE_ASSIGN_OR_RETURN(p.axes, NormalizeAxes(p.axes, static_cast<int64_t>(rank)));
  for (int64_t s : p.steps) {
    if (s == 0) return InvalidModel("steps must not be 0");
  }
  return std::optional<SliceParams>(std::move(p));
}

// Clamped start and element count of one axis of size `dim`.
void SliceAxis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* first,
               int64_t* count) {
  if (start < 0) start = start < -dim ? -dim - 1 : start + dim;
  if (end < 0) end = end < -dim ? -dim - 1 : end + dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
  }
  *first = start;
  // ceil((end - start) / step), never negative; computed without overflow (|values| <= dim+1).
  int64_t span = end - start;
  int64_t n = step > 0 ? (span + step - 1) / step : (-span + (-step) - 1) / (-step);
  *count = std::max<int64_t>(n, 0);
}

Status InferSlice(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(1, 5));
  const Shape* s = ctx.input_shape(0);
  if (!s) return Status::Ok();
  std::vector<const Tensor*> in(ctx.num_inputs(), nullptr);
  bool axes_unknown = false;
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    in[i] = ctx.input_constant(i);
    if (!in[i]) {
      // A missing constant: axes unknown -> every dim unknown; else only the sliced ones.
      if (i == 3 || i == 4) axes_unknown |= i == 3;
      in[i] = nullptr;
    }
  }
  bool params_known = true;
  for (size_t i = 1; i < ctx.num_inputs(); ++i) params_known &= !ctx.has_input(i) || in[i];
  if (!params_known) {
    Shape out = *s;
    // Without constant parameters, only dims outside known axes survive.
    std::vector<bool> touched(s->rank(), true);
    if (!axes_unknown && ctx.has_input(3) && in[3]) {
      touched.assign(s->rank(), false);
      auto axes = TensorToInts(*in[3], "input axes");
      if (axes.ok()) {
        for (int64_t a : *axes) {
          auto n = NormalizeAxis(a, static_cast<int64_t>(s->rank()));
          if (n.ok()) touched[static_cast<size_t>(*n)] = true;
        }
      }
    }
    for (size_t d = 0; d < s->rank(); ++d)
      if (touched[d]) out[d] = Dim();
    ctx.SetOutput(0, ctx.input_dtype(0), std::move(out));
    return Status::Ok();
  }
  auto p = ReadSlice(ctx.node(), in, s->rank());
  if (!p.ok()) return ctx.Error(p.status().message());
  if (!p->has_value()) return ctx.Error("inputs starts and ends are required");
  Shape out = *s;
  for (size_t k = 0; k < (*p)->axes.size(); ++k) {
    auto a = static_cast<size_t>((*p)->axes[k]);
    if (!(*s)[a].known()) {
      out[a] = Dim();
      continue;
    }
    int64_t first, count;
    SliceAxis((*s)[a].value, (*p)->starts[k], (*p)->ends[k], (*p)->steps[k], &first, &count);
    out[a] = Dim(count);
  }
  ctx.SetOutput(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status RefSlice(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& t = ctx.input(0);
  std::vector<const Tensor*> in(ctx.num_inputs(), nullptr);
  for (size_t i = 1; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i)) in[i] = &ctx.input(i);
  if (in.size() > 1 && (!in[1] || (in.size() > 2 && !in[2]))) {
    return ctx.Error("starts and ends are required");
  }
  auto p = ReadSlice(ctx.node(), in, t.rank());
  if (!p.ok()) return ctx.Error(p.status().message());
  if (!p->has_value()) return ctx.Error("inputs starts and ends are required");
  std::vector<int64_t> first(t.rank(), 0), step(t.rank(), 1), dims = t.dims();
  for (size_t k = 0; k < (*p)->axes.size(); ++k) {
    auto a = static_cast<size_t>((*p)->axes[k]);
    step[a] = (*p)->steps[k];
    SliceAxis(t.dims()[a], (*p)->starts[k], (*p)->ends[k], step[a], &first[a], &dims[a]);
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(t.dtype(), dims));
  std::vector<int64_t> strides = ContiguousStrides(t.dims());
  size_t esize = DTypeSize(t.dtype());
  std::vector<int64_t> idx(dims.size(), 0);
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < dims.size(); ++d) off += (first[d] + idx[d] * step[d]) * strides[d];
    std::memcpy(out.raw_data() + i * esize, t.raw_data() + off * esize, esize);
    for (size_t d = dims.size(); d-- > 0;) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

// ---- Gather / GatherElements ----------------------------------------------------------------
Status InferGather(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(2, 2));
  DType it = ctx.input_dtype(1);
  if (it != DType::kInt64 && it != DType::kInt32 && it != DType::kUndefined) {
    return ctx.Error("input 1 (indices) must be int32 or int64");
  }
  const Shape* d = ctx.input_shape(0);
  const Shape* i = ctx.input_shape(1);
  if (!d || !i) return Status::Ok();
  if (d->rank() == 0) return ctx.Error("input 0 (data) must have rank >= 1");
  auto axis = NormalizeAxis(ctx.node().GetInt("axis", 0), static_cast<int64_t>(d->rank()),
                            "attribute axis");
  if (!axis.ok()) return ctx.Error(axis.status().message());
  auto a = static_cast<size_t>(*axis);
  std::vector<Dim> out(d->dims().begin(), d->dims().begin() + static_cast<ptrdiff_t>(a));
  out.insert(out.end(), i->dims().begin(), i->dims().end());
  out.insert(out.end(), d->dims().begin() + static_cast<ptrdiff_t>(a) + 1, d->dims().end());
  ctx.SetOutput(0, ctx.input_dtype(0), Shape(std::move(out)));
  return Status::Ok();
}

Status RefGather(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  if (data.rank() == 0) return ctx.Error("data must have rank >= 1");
  RIDGE_ASSIGN_OR_RETURN(
      int64_t axis, NormalizeAxis(ctx.node().GetInt("axis", 0), static_cast<int64_t>(data.rank())));
  RIDGE_ASSIGN_OR_RETURN(auto indices, TensorToInts(idx, "indices"));
  auto a = static_cast<size_t>(axis);
  int64_t dim = data.dims()[a];
  for (int64_t& k : indices) {
    if (k < -dim || k >= dim) {
      return ctx.Error("index " + std::to_string(k) + " is out of range for axis of size " +
                       std::to_string(dim));
    }
    if (k < 0) k += dim;
  }
  std::vector<int64_t> dims(data.dims().begin(), data.dims().begin() + static_cast<ptrdiff_t>(a));
  dims.insert(dims.end(), idx.dims().begin(), idx.dims().end());
  dims.insert(dims.end(), data.dims().begin() + static_cast<ptrdiff_t>(a) + 1, data.dims().end());
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(data.dtype(), dims));
  size_t esize = DTypeSize(data.dtype());
  int64_t outer = Prod(data.dims(), 0, a), inner = Prod(data.dims(), a + 1, data.rank());
  auto n = static_cast<int64_t>(indices.size());
  for (int64_t o = 0; inner > 0 && o < outer; ++o) {  // inner == 0: no buffers to copy between
    for (int64_t j = 0; j < n; ++j) {
      std::memcpy(out.raw_data() + ((o * n + j) * inner) * esize,
                  data.raw_data() + ((o * dim + indices[j]) * inner) * esize,
                  static_cast<size_t>(inner) * esize);
    }
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status InferGatherElements(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(2, 2));
  const Shape* d = ctx.input_shape(0);
  const Shape* i = ctx.input_shape(1);
  if (d && i) {
    if (d->rank() != i->rank() || d->rank() == 0) {
      return ctx.Error("data " + d->ToString() + " and indices " + i->ToString() +
                       " must have the same rank >= 1");
    }
    auto axis = NormalizeAxis(ctx.node().GetInt("axis", 0), static_cast<int64_t>(d->rank()),
                              "attribute axis");
    if (!axis.ok()) return ctx.Error(axis.status().message());
  }
  if (i) ctx.SetOutput(0, ctx.input_dtype(0), *i);
  return Status::Ok();
}

Status RefGatherElements(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  if (data.rank() != idx.rank() || data.rank() == 0) return ctx.Error("ranks differ");
  RIDGE_ASSIGN_OR_RETURN(
      int64_t axis, NormalizeAxis(ctx.node().GetInt("axis", 0), static_cast<int64_t>(data.rank())));
  RIDGE_ASSIGN_OR_RETURN(auto indices, TensorToInts(idx, "indices"));
  auto a = static_cast<size_t>(axis);
  for (size_t d = 0; d < data.rank(); ++d) {
    if (d != a && idx.dims()[d] > data.dims()[d]) return ctx.Error("indices exceed data dims");
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(data.dtype(), idx.dims()));
  std::vector<int64_t> ds = ContiguousStrides(data.dims());
  size_t esize = DTypeSize(data.dtype());
  std::vector<int64_t> pos(idx.rank(), 0);
  int64_t dim = data.dims()[a];
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    int64_t k = indices[static_cast<size_t>(i)];
    if (k < -dim || k >= dim) return ctx.Error("index " + std::to_string(k) + " out of range");
    if (k < 0) k += dim;
    int64_t off = 0;
    for (size_t d = 0; d < pos.size(); ++d) off += (d == a ? k : pos[d]) * ds[d];
    std::memcpy(out.raw_data() + i * esize, data.raw_data() + off * esize, esize);
    for (size_t d = pos.size(); d-- > 0;) {
      if (++pos[d] < idx.dims()[d]) break;
      pos[d] = 0;
    }
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

// ---- Tile / Expand --------------------------------------------------------------------------
Status InferTile(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(2, 2));
  const Shape* s = ctx.input_shape(0);
  if (!s) return Status::Ok();
  auto reps = PartialIntValues(ctx.graph(), ctx.input_id(1));
  if (!reps) {
    ctx.SetOutput(0, ctx.input_dtype(0), Shape(std::vector<Dim>(s->rank())));
    return Status::Ok();
  }
  if (reps->size() != s->rank()) {
    return ctx.Error("input 1 (repeats) has " + std::to_string(reps->size()) +
                     " entries for an input of rank " + std::to_string(s->rank()));
  }
  Shape out = *s;
  for (size_t i = 0; i < s->rank(); ++i) {
    const PartialInt& r = (*reps)[i];
    if (r.known && r.value < 0) return ctx.Error("repeats must be non-negative");
    if (r.known && r.value == 1) continue;
    if (!r.known || !(*s)[i].known()) {
      out[i] = Dim();
      continue;
    }
    auto tiled = CheckedMul((*s)[i].value, r.value);
    if (!tiled) return ctx.Error("repeats overflow dim " + std::to_string(i));
    out[i] = Dim(*tiled);
  }
  ctx.SetOutput(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status RefTile(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  const Tensor& in = ctx.input(0);
  RIDGE_ASSIGN_OR_RETURN(auto reps, TensorToInts(ctx.input(1), "input 1 (repeats)"));
  if (reps.size() != in.rank()) return ctx.Error("repeats length must equal the input rank");
  std::vector<int64_t> dims = in.dims();
  for (size_t i = 0; i < dims.size(); ++i) {
    if (reps[i] < 0) return ctx.Error("repeats must be non-negative");
    auto m = CheckedMul(dims[i], reps[i]);
    if (!m) return ctx.Error("output dims overflow");
    dims[i] = *m;
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(in.dtype(), dims));
  std::vector<int64_t> is = ContiguousStrides(in.dims());
  size_t esize = DTypeSize(in.dtype());
  std::vector<int64_t> pos(dims.size(), 0);
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < dims.size(); ++d) off += (pos[d] % in.dims()[d]) * is[d];
    std::memcpy(out.raw_data() + i * esize, in.raw_data() + off * esize, esize);
    for (size_t d = dims.size(); d-- > 0;) {
      if (++pos[d] < dims[d]) break;
      pos[d] = 0;
    }
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status InferExpand(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(2, 2));
  const Shape* s = ctx.input_shape(0);
  auto target = PartialIntValues(ctx.graph(), ctx.input_id(1));
  if (!target) {
    const Shape* ts = ctx.input_shape(1);
    if (s && ts && ts->rank() == 1 && (*ts)[0].known() && (*ts)[0].value <= 64) {
      auto r = std::max<size_t>(s->rank(), static_cast<size_t>((*ts)[0].value));
      ctx.SetOutput(0, ctx.input_dtype(0), Shape(std::vector<Dim>(r)));
    }
    return Status::Ok();
  }
  for (const PartialInt& p : *target) {
    if (p.known && p.value < 0) return ctx.Error("input 1 (shape) has a negative dim");
  }
  if (!s) return Status::Ok();
  auto out = BroadcastShapes(*s, PartialToShape(*target));
  if (!out.ok()) return ctx.Error(out.status().message());
  ctx.SetOutput(0, ctx.input_dtype(0), std::move(*out));
  return Status::Ok();
}

Status RefExpand(KernelContext& ctx) {
  RIDGE_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  const Tensor& in = ctx.input(0);
  RIDGE_ASSIGN_OR_RETURN(auto shape, TensorToInts(ctx.input(1), "input 1 (shape)"));
  for (int64_t d : shape) {
    if (d < 0) return ctx.Error("shape has a negative dim");
  }
  auto dims = BroadcastInts(in.dims(), shape);
  if (!dims.ok()) return ctx.Error(dims.status().message());
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(in.dtype(), *dims));
  size_t esize = DTypeSize(in.dtype());
  BroadcastIterator it(*dims, {in.dims()});
  it.ForEach([&](int64_t i, const int64_t* off) {
    std::memcpy(out.raw_data() + i * esize, in.raw_data() + off[0] * esize, esize);
  });
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

}  // namespace

extern const OpDef kOpConcat{"Concat", OpKind::kDataMovement, InferConcat, CostMove, RefConcat};
extern const OpDef kOpSplit{"Split", OpKind::kDataMovement, InferSplit, CostMove, RefSplit};
extern const OpDef kOpSlice{"Slice", OpKind::kDataMovement, InferSlice, CostGatherLike, RefSlice};
extern const OpDef kOpGather{"Gather", OpKind::kDataMovement, InferGather, CostGatherLike,
                             RefGather};
extern const OpDef kOpGatherElements{"GatherElements", OpKind::kDataMovement, InferGatherElements,
                                     CostGatherLike, RefGatherElements};
extern const OpDef kOpTile{"Tile", OpKind::kDataMovement, InferTile, CostMove, RefTile};
extern const OpDef kOpExpand{"Expand", OpKind::kDataMovement, InferExpand, CostMove, RefExpand};

}  // namespace ridge::ops
