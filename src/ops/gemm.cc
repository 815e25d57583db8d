// Gemm and MatMul (ONNX opset 11-17): shape inference, cost and CPU reference kernels.
//
// Gemm: Y = alpha * A' * B' + beta * C with A' = transA ? A^T : A (M x K), B' likewise (K x N),
//   C optional (opset 11+) and unidirectionally broadcastable to (M, N).
// MatMul: numpy matmul. A 1-D A is promoted to (1, K) and a 1-D B to (K, 1), the added dim being
//   removed from the result; batch dims (all but the last two) broadcast numpy-style.
//
// Cost: FLOPs = 2*M*N*K per matrix product (times the broadcast batch count for MatMul), plus
//   M*N for Gemm's C addition when C is present. alpha/beta scaling is not counted: every GEMM
//   library folds it into the epilogue. GEMM view m = batch*M, n = N, k = K.
#include <algorithm>

#include "ops/op.h"
#include "ops/util_nn.h"

namespace ridge::ops {
namespace {

// Dims as -1-for-unknown, keeping symbols when the result copies a dim unchanged.
Dim Pick(const Shape& s, size_t i) { return s[i]; }

// Broadcasts two Dims numpy-style; error when both known, different and neither 1.
Result<Dim> Bcast(const Dim& a, const Dim& b) {
  if (a.known() && b.known()) {
    if (a.value == b.value || b.value == 1) return a;
    if (a.value == 1) return b;
    return InvalidModel("dims " + std::to_string(a.value) + " and " + std::to_string(b.value) +
                        " do not broadcast");
  }
  if (a.known() && a.value != 1) return a;
  if (b.known() && b.value != 1) return b;
  if (a.known()) return b;  // a == 1
  if (b.known()) return a;
  if (a.symbol == b.symbol) return a;
  return Dim();
}

Status InferGemm(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(2, 3));
  const DType dt = ctx.input_dtype(0);
  const Shape* a = ctx.input_shape(0);
  const Shape* b = ctx.input_shape(1);
  const int64_t trans_a = ctx.node().GetInt("transA", 0), trans_b = ctx.node().GetInt("transB", 0);
  if ((trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1)) {
    return ctx.Error("transA/transB must be 0 or 1");
  }
  if (a && a->rank() != 2) return ctx.Error("input A must be 2-D, got " + a->ToString());
  if (b && b->rank() != 2) return ctx.Error("input B must be 2-D, got " + b->ToString());
  Dim m, n;
  if (a) m = Pick(*a, trans_a ? 1 : 0);
  if (b) n = Pick(*b, trans_b ? 0 : 1);
  if (a && b) {
    const Dim& ka = (*a)[trans_a ? 0 : 1];
    const Dim& kb = (*b)[trans_b ? 1 : 0];
    if (ka.known() && kb.known() && ka.value != kb.value) {
      return ctx.Error("inner dims differ: A " + a->ToString() + (trans_a ? " (transposed)" : "") +
                       " and B " + b->ToString() + (trans_b ? " (transposed)" : ""));
    }
  }
  if (ctx.has_input(2)) {
    if (const Shape* c = ctx.input_shape(2)) {
      if (c->rank() > 2) return ctx.Error("input C must have rank <= 2, got " + c->ToString());
      const Dim* mn[2] = {&m, &n};
      for (size_t i = 0; i < c->rank(); ++i) {
        const Dim& cd = (*c)[i];
        const Dim& yd = *mn[2 - c->rank() + i];
        if (cd.known() && yd.known() && cd.value != 1 && cd.value != yd.value) {
          return ctx.Error("C " + c->ToString() + " is not broadcastable to (M, N)");
        }
      }
    }
  }
  ctx.SetOutput(0, dt, Shape(std::vector<Dim>{m, n}));
  return Status::Ok();
}

// MatMul output shape; also used by the kernel with fully known dims.
Result<Shape> MatMulShape(const Shape& a_in, const Shape& b_in) {
  if (a_in.rank() == 0 || b_in.rank() == 0) {
    return InvalidModel("MatMul operands must have rank >= 1 (got " + a_in.ToString() + " and " +
                        b_in.ToString() + ")");
  }
  std::vector<Dim> a = a_in.dims(), b = b_in.dims();
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), Dim(1));
  if (b1) b.push_back(Dim(1));
  const Dim& ka = a[a.size() - 1];
  const Dim& kb = b[b.size() - 2];
  if (ka.known() && kb.known() && ka.value != kb.value) {
    return InvalidModel("MatMul inner dims differ: " + a_in.ToString() + " x " + b_in.ToString());
  }
  const size_t ba = a.size() - 2, bb = b.size() - 2, batch = std::max(ba, bb);
  std::vector<Dim> out(batch);
  for (size_t i = 0; i < batch; ++i) {
    Dim da = i + ba >= batch ? a[i + ba - batch] : Dim(1);
    Dim db = i + bb >= batch ? b[i + bb - batch] : Dim(1);
    auto d = Bcast(da, db);
    if (!d.ok()) {
      return InvalidModel("MatMul batch " + d.status().message() + ": " + a_in.ToString() + " x " +
                          b_in.ToString());
    }
    out[i] = *d;
  }
  if (!a1) out.push_back(a[a.size() - 2]);
  if (!b1) out.push_back(b[b.size() - 1]);
  return Shape(out);
}

Status InferMatMul(InferContext& ctx) {
  RIDGE_RETURN_IF_ERROR(ctx.CheckArity(2, 2));
  const DType dt = ctx.input_dtype(0);
  if (ctx.input_dtype(1) != dt && ctx.input_dtype(1) != DType::kUndefined &&
      dt != DType::kUndefined) {
    return ctx.Error("A and B dtypes differ (" + std::string(DTypeName(dt)) + " vs " +
                     std::string(DTypeName(ctx.input_dtype(1))) + ")");
  }
  const Shape* a = ctx.input_shape(0);
  const Shape* b = ctx.input_shape(1);
  if (!a || !b) {
    ctx.SetOutputType(0, dt);
    return Status::Ok();
  }
  auto s = MatMulShape(*a, *b);
  if (!s.ok()) return ctx.Error(s.status().message());
  ctx.SetOutput(0, dt, *s);
  return Status::Ok();
}

NodeCost CostGemm(const CostContext& ctx) {
  NodeCost c = nn::IoCost(ctx, OpKind::kCompute);
  auto a = ctx.input_dims(0);
  auto y = ctx.output_dims(0);
  if (a.size() != 2 || y.size() != 2) return c;
  const int64_t k = ctx.node().GetInt("transA", 0) ? a[0] : a[1];
  c.flops = 2.0 * static_cast<double>(y[0]) * static_cast<double>(y[1]) * static_cast<double>(k);
  if (ctx.has_input(2)) c.flops += static_cast<double>(y[0]) * static_cast<double>(y[1]);
  c.gemm_m = y[0];
  c.gemm_n = y[1];
  c.gemm_k = k;
  return c;
}

NodeCost CostMatMul(const CostContext& ctx) {
  NodeCost c = nn::IoCost(ctx, OpKind::kCompute);
  auto a = ctx.input_dims(0);
  auto b = ctx.input_dims(1);
  auto y = ctx.output_dims(0);
  if (a.empty() || b.empty()) return c;
  const int64_t k = a.back();
  const int64_t n = b.size() == 1 ? 1 : b.back();
  // Output elements = batch * M * N, so batch*M = elements / N.
  const int64_t out = ctx.output_elements(0);
  if (out == 0 && !y.empty()) return c;
  c.flops = 2.0 * static_cast<double>(out) * static_cast<double>(k);
  c.gemm_m = n ? out / n : 0;
  c.gemm_n = n;
  c.gemm_k = k;
  return c;
}

// ---- Reference kernels ----------------------------------------------------------------------
Status GemmReference(KernelContext& ctx) {
  const Tensor& at = ctx.input(0);
  const Tensor& bt = ctx.input(1);
  if (at.rank() != 2 || bt.rank() != 2) return ctx.Error("A and B must be 2-D");
  const bool ta = ctx.node().GetInt("transA", 0) != 0, tb = ctx.node().GetInt("transB", 0) != 0;
  const float alpha = ctx.node().GetFloat("alpha", 1.0f), beta = ctx.node().GetFloat("beta", 1.0f);
  const int64_t m = ta ? at.dims()[1] : at.dims()[0], k = ta ? at.dims()[0] : at.dims()[1];
  const int64_t kb = tb ? bt.dims()[1] : bt.dims()[0], n = tb ? bt.dims()[0] : bt.dims()[1];
  if (k != kb) return ctx.Error("inner dims differ");
  RIDGE_RETURN_IF_ERROR(nn::CheckAlloc(std::vector<int64_t>{m, n}, 4));
  RIDGE_ASSIGN_OR_RETURN(auto a, nn::ToFloats(at, "A"));
  RIDGE_ASSIGN_OR_RETURN(auto b, nn::ToFloats(bt, "B"));
  std::vector<float> c;
  int64_t cm = 1, cn = 1;  // C dims after right-aligning to (M, N)
  if (ctx.has_input(2)) {
    const Tensor& ct = ctx.input(2);
    RIDGE_ASSIGN_OR_RETURN(c, nn::ToFloats(ct, "C"));
    if (ct.rank() > 2) return ctx.Error("C must have rank <= 2");
    if (ct.rank() == 2) cm = ct.dims()[0];
    if (ct.rank() >= 1) cn = ct.dims().back();
    if ((cm != 1 && cm != m) || (cn != 1 && cn != n)) return ctx.Error("C does not broadcast");
  }
  std::vector<float> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        const float av = a[static_cast<size_t>(ta ? p * m + i : i * k + p)];
        const float bv = b[static_cast<size_t>(tb ? j * k + p : p * n + j)];
        acc += static_cast<double>(av) * bv;
      }
      double v = alpha * acc;
      if (!c.empty())
        v += static_cast<double>(beta) *
             c[static_cast<size_t>((cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j))];
      y[static_cast<size_t>(i * n + j)] = static_cast<float>(v);
    }
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(at.dtype(), {m, n}, y));
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

// Integer MatMul (int32/int64) is allowed by ONNX; shape arithmetic never needs it, so only
// floats are handled here.
Status MatMulReference(KernelContext& ctx) {
  const Tensor& at = ctx.input(0);
  const Tensor& bt = ctx.input(1);
  RIDGE_ASSIGN_OR_RETURN(Shape ys,
                         MatMulShape(Shape::FromInts(at.dims()), Shape::FromInts(bt.dims())));
  auto y_dims = *ys.ToInts();
  RIDGE_RETURN_IF_ERROR(nn::CheckAlloc(y_dims, 4));
  RIDGE_ASSIGN_OR_RETURN(auto a, nn::ToFloats(at, "A"));
  RIDGE_ASSIGN_OR_RETURN(auto b, nn::ToFloats(bt, "B"));
  std::vector<int64_t> ad = at.dims(), bd = bt.dims();
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  const size_t batch_rank = std::max(ad.size(), bd.size()) - 2;
  // Broadcast batch dims and per-operand batch strides (in matrices).
  std::vector<int64_t> bdims(batch_rank), sa(batch_rank, 0), sb(batch_rank, 0);
  int64_t stride_a = 1, stride_b = 1;
  for (size_t i = batch_rank; i-- > 0;) {
    const size_t off_a = batch_rank - (ad.size() - 2), off_b = batch_rank - (bd.size() - 2);
    const int64_t da = i >= off_a ? ad[i - off_a] : 1, db = i >= off_b ? bd[i - off_b] : 1;
    bdims[i] = std::max(da, db);
    sa[i] = da == 1 ? 0 : stride_a;
    sb[i] = db == 1 ? 0 : stride_b;
    stride_a *= da;
    stride_b *= db;
  }
  const int64_t num_batches = nn::Prod(bdims);
  std::vector<float> y(static_cast<size_t>(num_batches * m * n));
  std::vector<int64_t> idx(batch_rank, 0);
  for (int64_t t = 0; t < num_batches; ++t) {
    int64_t ma = 0, mb = 0;
    for (size_t i = 0; i < batch_rank; ++i) {
      ma += idx[i] * sa[i];
      mb += idx[i] * sb[i];
    }
    const float* ap = a.data() + ma * m * k;
    const float* bp = b.data() + mb * k * n;
    float* yp = y.data() + t * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(ap[i * k + p]) * bp[p * n + j];
        yp[i * n + j] = static_cast<float>(acc);
      }
    for (size_t i = batch_rank; i-- > 0;) {
      if (++idx[i] < bdims[i]) break;
      idx[i] = 0;
    }
  }
  RIDGE_ASSIGN_OR_RETURN(Tensor yt, nn::FromFloats(at.dtype(), y_dims, y));
  ctx.SetOutput(0, std::move(yt));
  return Status::Ok();
}

}  // namespace

extern const OpDef kOpGemm{"Gemm", OpKind::kCompute, InferGemm, CostGemm, GemmReference};
extern const OpDef kOpMatMul{"MatMul", OpKind::kCompute, InferMatMul, CostMatMul, MatMulReference};

}  // namespace ridge::ops
