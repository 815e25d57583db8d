#include "ops/util_tensor.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "core/checked_math.h"
#include "ir/graph.h"
#include "ops/op.h"

namespace ridge::ops {

Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank) {
    return InvalidModel(what + " " + std::to_string(axis) + " is out of range for rank " +
                        std::to_string(rank) + " (expected [" + std::to_string(-rank) + ", " +
                        std::to_string(rank) + "))");
  }
  return axis < 0 ? axis + rank : axis;
}

Result<std::vector<int64_t>> NormalizeAxes(std::span<const int64_t> axes, int64_t rank,
                                           const std::string& what) {
  std::vector<int64_t> out;
  std::set<int64_t> seen;
  for (int64_t a : axes) {
    RIDGE_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, rank, what));
    if (!seen.insert(n).second) {
      return InvalidModel(what + " contains axis " + std::to_string(a) + " more than once");
    }
    out.push_back(n);
  }
  return out;
}

Result<Dim> BroadcastDim(const Dim& a, const Dim& b) {
  if (a.known() && b.known()) {
    if (a.value == b.value || b.value == 1) return a;
    if (a.value == 1) return b;
    return InvalidModel("dims " + std::to_string(a.value) + " and " + std::to_string(b.value) +
                        " cannot be broadcast");
  }
  if (a.known()) return a.value == 1 ? b : a;
  if (b.known()) return b.value == 1 ? a : b;
  if (!a.symbol.empty() && a.symbol == b.symbol) return a;
  return Dim();
}

Result<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.rank(), b.rank());
  std::vector<Dim> dims(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Right-aligned: missing leading dims act as 1.
    Dim da = i + a.rank() >= rank ? a[i + a.rank() - rank] : Dim(1);
    Dim db = i + b.rank() >= rank ? b[i + b.rank() - rank] : Dim(1);
    auto d = BroadcastDim(da, db);
    if (!d.ok()) {
      return InvalidModel("shapes " + a.ToString() + " and " + b.ToString() +
                          " cannot be broadcast (" + d.status().message() + ")");
    }
    dims[i] = *d;
  }
  return Shape(std::move(dims));
}

Result<Shape> BroadcastShapes(std::span<const Shape> shapes) {
  Shape out;
  for (const Shape& s : shapes) {
    RIDGE_ASSIGN_OR_RETURN(out, BroadcastShapes(out, s));
  }
  return out;
}

Result<std::vector<int64_t>> BroadcastInts(std::span<const int64_t> a, std::span<const int64_t> b) {
  RIDGE_ASSIGN_OR_RETURN(Shape s, BroadcastShapes(Shape::FromInts({a.begin(), a.end()}),
                                                  Shape::FromInts({b.begin(), b.end()})));
  return *s.ToInts();
}

std::vector<int64_t> ContiguousStrides(std::span<const int64_t> dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return strides;
}

std::vector<int64_t> BroadcastStrides(std::span<const int64_t> in, std::span<const int64_t> out) {
  std::vector<int64_t> strides(out.size(), 0);
  std::vector<int64_t> own = ContiguousStrides(in);
  size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    strides[lead + i] = in[i] == 1 ? 0 : own[i];
  }
  return strides;
}

BroadcastIterator::BroadcastIterator(std::vector<int64_t> out_dims,
                                     const std::vector<std::vector<int64_t>>& ins)
    : out_dims_(std::move(out_dims)) {
  for (const auto& in : ins) strides_.push_back(BroadcastStrides(in, out_dims_));
}

Status RequireInputs(const KernelContext& ctx, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) return ctx.Error("input " + std::to_string(i) + " is missing");
  }
  return Status::Ok();
}

Result<std::vector<int64_t>> TensorToInts(const Tensor& t, const std::string& what) {
  if (!IsInteger(t.dtype())) {
    return InvalidModel(what + " must be an integer tensor, got " +
                        std::string(DTypeName(t.dtype())));
  }
  std::vector<int64_t> out(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) out[i] = t.GetAsInt64(i);
  return out;
}

Tensor IntsToTensor(std::span<const int64_t> values) {
  Tensor t(DType::kInt64, {static_cast<int64_t>(values.size())});
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(int64_t));
  return t;
}

bool IsFloatLike(DType d) {
  return d == DType::kFloat32 || d == DType::kFloat16 || d == DType::kBFloat16 ||
         d == DType::kFloat64;
}

Result<Tensor> NewTensor(DType dtype, std::vector<int64_t> dims) {
  return Tensor::MakeChecked(dtype, std::move(dims), kMaxKernelBytes);
}

Result<Tensor> ToFloat32(const Tensor& t) {
  if (t.dtype() == DType::kFloat32) return t;
  if (!IsFloatLike(t.dtype())) {
    return Unsupported("expected a floating-point tensor, got " +
                       std::string(DTypeName(t.dtype())));
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(DType::kFloat32, t.dims()));
  float* o = out.data<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) o[i] = static_cast<float>(t.GetAsDouble(i));
  return out;
}

Result<Tensor> FromFloat32(const Tensor& t, DType dtype) {
  if (dtype == DType::kFloat32) return t;
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(dtype, t.dims()));
  const float* in = t.data<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    switch (dtype) {
      case DType::kFloat16:
        out.data<uint16_t>()[i] = FloatToHalf(in[i]);
        break;
      case DType::kFloat64:
        out.data<double>()[i] = in[i];
        break;
      case DType::kBFloat16: {
        uint32_t bits;
        std::memcpy(&bits, &in[i], 4);
        if ((bits & 0x7fffffffu) > 0x7f800000u) {
          bits = 0x7fc00000u;  // NaN stays NaN
        } else {
          bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest even
        }
        out.data<uint16_t>()[i] = static_cast<uint16_t>(bits >> 16);
        break;
      }
      default:
        return Unsupported("cannot convert float32 to " + std::string(DTypeName(dtype)));
    }
  }
  return out;
}

}  // namespace ridge::ops

// ---- Partial values --------------------------------------------------------------------------
namespace ridge::ops {
namespace {

constexpr int64_t kMaxPartialElements = 64;  // shape vectors are short
constexpr int kMaxPartialDepth = 32;

std::optional<std::vector<PartialInt>> Partial(const ir::Graph& g, ir::ValueId id, int depth);

std::optional<std::vector<int64_t>> ConstInts(const ir::Graph& g, const ir::Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] == ir::kNoValue) return std::nullopt;
  const auto& c = g.value(n.inputs[i]).constant;
  if (!c || !IsInteger(c->dtype())) return std::nullopt;
  std::vector<int64_t> out;
  for (int64_t k = 0; k < c->num_elements(); ++k) out.push_back(c->GetAsInt64(k));
  return out;
}

std::optional<std::vector<PartialInt>> FromProducer(const ir::Graph& g, const ir::Node& n,
                                                    int depth) {
  if (n.inputs.empty() || n.inputs[0] == ir::kNoValue) return std::nullopt;
  const std::string& op = n.op_type;
  if (op == "Shape") {
    const auto& s = g.value(n.inputs[0]).shape;
    if (!s) return std::nullopt;
    auto rank = static_cast<int64_t>(s->rank());
    int64_t start = n.GetInt("start", 0), end = n.GetInt("end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, 0, rank);
    std::vector<PartialInt> out;
    for (int64_t i = start; i < end; ++i) {
      const Dim& d = (*s)[static_cast<size_t>(i)];
      out.push_back(d.known() ? PartialInt{true, d.value, ""} : PartialInt{false, 0, d.symbol});
    }
    return out;
  }
  if (op == "Cast" || op == "Identity" || op == "Unsqueeze" || op == "Squeeze") {
    return Partial(g, n.inputs[0], depth + 1);
  }
  if (op == "Gather") {
    if (n.GetInt("axis", 0) != 0) return std::nullopt;
    auto data = Partial(g, n.inputs[0], depth + 1);
    auto idx = ConstInts(g, n, 1);
    if (!data || !idx) return std::nullopt;
    std::vector<PartialInt> out;
    auto size = static_cast<int64_t>(data->size());
    for (int64_t i : *idx) {
      if (i < 0) i += size;
      if (i < 0 || i >= size) return std::nullopt;
      out.push_back((*data)[static_cast<size_t>(i)]);
    }
    return out;
  }
  if (op == "Concat") {
    std::vector<PartialInt> out;
    for (ir::ValueId in : n.inputs) {
      if (in == ir::kNoValue) return std::nullopt;
      auto part = Partial(g, in, depth + 1);
      if (!part) return std::nullopt;
      out.insert(out.end(), part->begin(), part->end());
    }
    return out;
  }
  if (op == "Slice") {
    auto data = Partial(g, n.inputs[0], depth + 1);
    auto starts = ConstInts(g, n, 1), ends = ConstInts(g, n, 2);
    if (!data || !starts || !ends || starts->size() != 1 || ends->size() != 1) {
      return std::nullopt;
    }
    auto axes = ConstInts(g, n, 3);
    if (axes && (axes->size() != 1 || ((*axes)[0] != 0 && (*axes)[0] != -1))) return std::nullopt;
    auto steps = ConstInts(g, n, 4);
    int64_t step = steps && steps->size() == 1 ? (*steps)[0] : 1;
    if (step != 1) return std::nullopt;  // shape slices are contiguous in practice
    auto size = static_cast<int64_t>(data->size());
    int64_t s = (*starts)[0], e = (*ends)[0];
    if (s < 0) s += size;
    if (e < 0) e += size;
    s = std::clamp<int64_t>(s, 0, size);
    e = std::clamp<int64_t>(e, 0, size);
    std::vector<PartialInt> out;
    for (int64_t i = s; i < e; ++i) out.push_back((*data)[static_cast<size_t>(i)]);
    return out;
  }
  return std::nullopt;
}

std::optional<std::vector<PartialInt>> Partial(const ir::Graph& g, ir::ValueId id, int depth) {
  if (id == ir::kNoValue || depth > kMaxPartialDepth) return std::nullopt;
  const ir::Value& v = g.value(id);
  if (v.constant) {
    if (!IsInteger(v.constant->dtype()) || v.constant->rank() > 1 ||
        v.constant->num_elements() > kMaxPartialElements) {
      return std::nullopt;
    }
    std::vector<PartialInt> out;
    for (int64_t i = 0; i < v.constant->num_elements(); ++i) {
      out.push_back({true, v.constant->GetAsInt64(i), ""});
    }
    return out;
  }
  if (v.producer == ir::kNoNode) return std::nullopt;
  auto out = FromProducer(g, g.node(v.producer), depth);
  if (out && static_cast<int64_t>(out->size()) > kMaxPartialElements) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::vector<PartialInt>> PartialIntValues(const ir::Graph& graph, int32_t id) {
  return Partial(graph, id, 0);
}

Shape PartialToShape(const std::vector<PartialInt>& values) {
  std::vector<Dim> dims;
  for (const PartialInt& p : values) {
    dims.push_back(p.known && p.value >= 0 ? Dim(p.value) : Dim::Symbolic(p.symbol));
  }
  return Shape(std::move(dims));
}

Result<Tensor> TransposeTensor(const Tensor& in, std::span<const int64_t> perm) {
  size_t esize = DTypeSize(in.dtype());
  if (esize == 0)
    return Unsupported("cannot transpose dtype " + std::string(DTypeName(in.dtype())));
  if (perm.size() != in.rank()) return InvalidArgument("perm length does not match the rank");
  std::vector<int64_t> out_dims(in.rank());
  std::vector<int64_t> in_strides = ContiguousStrides(in.dims());
  std::vector<int64_t> strides(in.rank());  // input stride of each output axis
  for (size_t i = 0; i < perm.size(); ++i) {
    out_dims[i] = in.dims()[static_cast<size_t>(perm[i])];
    strides[i] = in_strides[static_cast<size_t>(perm[i])];
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor out, NewTensor(in.dtype(), out_dims));
  // Zero-stride broadcast inputs are not involved: reuse the iterator with explicit strides.
  std::vector<int64_t> idx(out_dims.size(), 0);
  int64_t off = 0;
  const std::byte* src = in.raw_data();
  std::byte* dst = out.raw_data();
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    std::memcpy(dst + i * esize, src + off * esize, esize);
    for (size_t ax = out_dims.size(); ax-- > 0;) {
      ++idx[ax];
      off += strides[ax];
      if (idx[ax] < out_dims[ax]) break;
      off -= strides[ax] * idx[ax];
      idx[ax] = 0;
    }
  }
  return out;
}

}  // namespace ridge::ops
