#include "ops/util_tensor.h"

#include <cstring>
#include <set>

#include "core/checked_math.h"

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
