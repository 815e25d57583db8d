// Gemm and MatMul with a constant 2-D right-hand side on cuBLASLt. Row-major Y[M,N] = A[M,K] *
// B[K,N] is computed as the column-major product Y^T = B^T * A^T, so no data is transposed.
// Bias (Gemm's C, or a following Add of a constant [N] vector) and a following Relu run in
// cuBLASLt's epilogue; so does a following GELU in fp16 when EngineOptions::gemm_gelu_epilogue
// is on (cuBLASLt's GELU is the tanh form). fp32 uses CUBLAS_COMPUTE_32F (no TF32); fp16
// accumulates in fp32. The algo: the fastest of cuBLASLt's top heuristic candidates, timed at build
// (tactics.cc).
#include <cstdio>
#include <memory>
#include <optional>

#include "backends/cuda/engine_impl.h"
#include "backends/cuda/pointwise_ops.h"

namespace ridge::cuda {
LtGemm::~LtGemm() {
  if (desc) cublasLtMatmulDescDestroy(desc);
  if (a) cublasLtMatrixLayoutDestroy(a);
  if (b) cublasLtMatrixLayoutDestroy(b);
  if (c) cublasLtMatrixLayoutDestroy(c);
}

Result<std::shared_ptr<LtGemm>> Engine::Impl::MakeLtGemm(int64_t m, int64_t n, int64_t k,
                                                         bool trans_w, void* bias, LtAct act,
                                                         float alpha, float beta) {
  auto st = std::make_shared<LtGemm>();
  st->alpha = alpha;
  st->beta = beta;
  const cudaDataType_t dt = half ? CUDA_R_16F : CUDA_R_32F;
  RIDGE_CUBLAS(cublasLtMatmulDescCreate(&st->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasOperation_t op_w = trans_w ? CUBLAS_OP_T : CUBLAS_OP_N, op_n = CUBLAS_OP_N;
  RIDGE_CUBLAS(
      cublasLtMatmulDescSetAttribute(st->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_w, sizeof(op_w)));
  RIDGE_CUBLAS(
      cublasLtMatmulDescSetAttribute(st->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_n, sizeof(op_n)));
  cublasLtEpilogue_t epi = bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
  if (act == LtAct::kRelu) epi = bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
  if (act == LtAct::kGeluTanh) epi = bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  RIDGE_CUBLAS(
      cublasLtMatmulDescSetAttribute(st->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
  if (bias) {
    RIDGE_CUBLAS(cublasLtMatmulDescSetAttribute(st->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                sizeof(bias)));
  }
  // Column-major views: weight [N,K] (op T of a stored [N,K] row-major when trans_w),
  // activation [K,M], output [N,M].
  if (trans_w)
    RIDGE_CUBLAS(cublasLtMatrixLayoutCreate(&st->a, dt, k, n, k));
  else
    RIDGE_CUBLAS(cublasLtMatrixLayoutCreate(&st->a, dt, n, k, n));
  RIDGE_CUBLAS(cublasLtMatrixLayoutCreate(&st->b, dt, k, m, k));
  RIDGE_CUBLAS(cublasLtMatrixLayoutCreate(&st->c, dt, n, m, n));
  cublasLtMatmulPreference_t pref;
  RIDGE_CUBLAS(cublasLtMatmulPreferenceCreate(&pref));
  size_t ws = static_cast<size_t>(lt_workspace_bytes);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                       sizeof(ws));
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(lt, st->desc, st->a, st->b, st->c, st->c, pref,
                                                     1, &heur, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  RIDGE_CUBLAS(hs);
  if (found == 0) return Unsupported("cuBLASLt has no algorithm for this GEMM");
  st->algo = heur.algo;
  return st;
}

cublasStatus_t Engine::Impl::LaunchLt(const LtGemm& g, const void* w, const void* a, const void* c,
                                      void* y, cudaStream_t s) const {
  return cublasLtMatmul(lt, g.desc, &g.alpha, w, g.a, a, g.b, &g.beta, c ? c : y, g.c, y, g.c,
                        &g.algo, LtWorkspace(), static_cast<size_t>(lt_workspace_bytes), s);
}

Status Engine::Impl::BuildGemm(ir::NodeId id) {
  const ir::Graph& g = *graph;
  const ir::Node& node = g.node(id);
  const bool is_gemm = node.op_type == "Gemm";
  if (node.inputs.size() < 2 || !g.value(node.inputs[1]).constant)
    return Unsupported(node.op_type + " needs a constant right-hand side on the GPU");
  const Tensor& w = *g.value(node.inputs[1]).constant;
  if (w.rank() != 2) return Unsupported(node.op_type + " right-hand side must be 2-D");
  const bool trans_b = is_gemm && node.GetInt("transB", 0) != 0;
  if (is_gemm && node.GetInt("transA", 0) != 0) return Unsupported("Gemm transA=1");
  const int64_t k = trans_b ? w.dims()[1] : w.dims()[0];
  const int64_t n = trans_b ? w.dims()[0] : w.dims()[1];
  RIDGE_ASSIGN_OR_RETURN(Ref a, Get(node.inputs[0], false));
  if (a.dims.empty() || a.dims.back() != k) return Unsupported("Gemm/MatMul inner dims differ");
  const int64_t m = NumElements(a.dims) / k;
  if (is_gemm && a.dims.size() != 2) return Unsupported("Gemm input must be 2-D");

  float alpha = is_gemm ? node.GetFloat("alpha", 1.f) : 1.f;
  float beta = is_gemm ? node.GetFloat("beta", 1.f) : 1.f;
  std::optional<Tensor> bias;
  ir::ValueId y_val = node.outputs[0];
  if (is_gemm && node.inputs.size() > 2 && node.inputs[2] != ir::kNoValue) {
    const auto& c = g.value(node.inputs[2]).constant;
    if (!c || c->num_elements() != n) return Unsupported("Gemm C must be a constant [N] vector");
    bias = *c;
  } else if (!is_gemm) {
    ir::NodeId c = SoleConsumer(y_val);
    if (c != ir::kNoNode && g.node(c).op_type == "Add" && g.node(c).inputs.size() == 2) {
      const ir::Node& add = g.node(c);
      ir::ValueId other = add.inputs[0] == y_val ? add.inputs[1] : add.inputs[0];
      const auto& oc = g.value(other).constant;
      if (oc && oc->num_elements() == n && oc->dims().size() >= 1 && oc->dims().back() == n &&
          g.value(add.outputs[0]).shape == g.value(y_val).shape) {
        bias = *oc;
        beta = 1.f;
        fused[c] = true;
        stats.fused_nodes++;
        y_val = add.outputs[0];
      }
    }
  }
  LtAct act = LtAct::kNone;
  if (ir::NodeId c = SoleConsumer(y_val); c != ir::kNoNode && g.node(c).op_type == "Relu") {
    act = LtAct::kRelu;
    fused[c] = true;
    stats.fused_nodes++;
    y_val = g.node(c).outputs[0];
  } else if (half && options.gemm_gelu_epilogue) {
    if (std::optional<GeluMatch> gelu = MatchGelu(g, y_val)) {
      act = LtAct::kGeluTanh;
      for (ir::NodeId c : gelu->nodes) fused[c] = true;
      stats.fused_nodes += static_cast<int32_t>(gelu->nodes.size());
      y_val = gelu->out;
    }
  }
  Ref y = Define(y_val, false);
  if (NumElements(y.dims) != m * n) return Status(StatusCode::kInternal, "Gemm output size");

  RIDGE_ASSIGN_OR_RETURN(int32_t w_buf, Upload(w));
  int32_t b_buf = -1;
  if (bias) {
    Tensor scaled(DType::kFloat32, {n});
    for (int64_t i = 0; i < n; ++i)
      scaled.data<float>()[i] = static_cast<float>(bias->GetAsDouble(i) * beta);
    RIDGE_ASSIGN_OR_RETURN(b_buf, Upload(scaled));
  }

  RIDGE_ASSIGN_OR_RETURN(
      auto st, MakeLtGemm(m, n, k, trans_b, b_buf >= 0 ? Ptr(b_buf) : nullptr, act, alpha, 0.f));
  Impl* self = this;
  const int32_t ab = a.buf, yb = y.buf;
  auto run = [self, st, ab, yb, w_buf](cudaStream_t s) {
    return self->LaunchLt(*st, self->Ptr(w_buf), self->Ptr(ab), nullptr, self->Ptr(yb), s);
  };
  // The layer signature: everything that changes which cuBLASLt algo is valid or fastest.
  char alpha_text[32];
  std::snprintf(alpha_text, sizeof(alpha_text), "%.9g", alpha);
  const std::string key = TacticKey("gemm")
                              .Add("prec", half ? "fp16" : "fp32")
                              .Add("mnk", std::vector<int64_t>{m, n, k})
                              .Add("trans_w", trans_b ? 1 : 0)
                              .Add("bias", b_buf >= 0 ? 1 : 0)
                              .Add("relu", act == LtAct::kRelu ? 1 : 0)
                              .Add("gelu", act == LtAct::kGeluTanh ? 1 : 0)
                              .Add("alpha", alpha_text)
                              .Add("lt_ws", lt_workspace_bytes)
                              .str();
  const std::string what = node.op_type + " " + node.name;
  Step step;
  step.kind = "gemm_lt";
  step.launch = [run](cudaStream_t s) { run(s); };
  step.prepare = [self, st, run, key, what]() -> Status {
    auto candidates = [self, st]() {
      return self->LtCandidates(*st, self->options.max_tactic_candidates);
    };
    auto apply = [self, st](const Tactic& t) { return self->ApplyLtTactic(t, st.get()); };
    auto launch = [run](cudaStream_t s) { return CublasStatus(run(s), "cublasLtMatmul"); };
    return self->ChooseTactic(what, key, candidates, apply, launch).status();
  };
  AddStep(std::move(step), {a.buf}, {y.buf});
  return Status::Ok();
}

}  // namespace ridge::cuda
