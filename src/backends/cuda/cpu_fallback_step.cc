// CPU fallback (EngineOptions::allow_cpu_fallback): a node without a GPU kernel runs on the
// host through its reference kernel (ops::OpDef::reference, the per-node entry the CPU
// backend's ReferenceKernel runs too), in the engine's stream order, so inside the captured
// CUDA graph as well. One "cpu_fallback" step enqueues, on one stream:
//   1. cudaMemcpyAsync D2H of each activation input (plain NCHW layout, storage dtype) into
//      pinned staging allocated at build,
//   2. cudaLaunchHostFunc: the host function converts the staging to the graph's dtype, runs
//      the reference kernel and writes the outputs back to pinned staging in storage dtype,
//   3. cudaMemcpyAsync H2D of each output from its staging.
// Stream order alone sequences them: the host function starts after the D2H copies complete
// and the H2D copies start after it returns. Copies into and host functions on pinned memory
// are legal in stream capture; the host function calls no CUDA API (it must not). Constant
// inputs (axes, weights) stay on the host, never copied. Device pointers are read through
// Ptr() when the step launches, never cached (buffers may be rebound).
#include <algorithm>
#include <cstring>
#include <mutex>

#include "backends/cuda/engine_impl.h"
#include "ops/op.h"

namespace ridge::cuda {

struct CpuFallbackNode {
  // A tensor staged in pinned host memory in the engine's storage dtype.
  struct Staged {
    bool present = false;
    Tensor constant;  // inputs only: a constant, handed to the kernel as it is
    bool is_constant = false;
    int32_t buf = -1;
    DType dtype = DType::kFloat32;  // the graph's dtype (what the reference kernel reads/writes)
    std::vector<int64_t> dims;
    void* host = nullptr;  // cudaMallocHost, NumElements(dims) * esize bytes
    int64_t bytes = 0;
  };

  ir::Node node;  // a copy: the graph is only borrowed during Build
  std::string describe;
  const ops::OpDef* def = nullptr;
  int64_t opset = 0;
  bool half = false;  // storage fp16 (else fp32)
  std::vector<Staged> inputs, outputs;
  std::mutex mu;
  Status error;  // the first failure since the last TakeFallbackError

  ~CpuFallbackNode() {
    for (auto* list : {&inputs, &outputs})
      for (Staged& s : *list)
        if (s.host) cudaFreeHost(s.host);
  }
  Status RunOnHost();
};

namespace {

bool IsFloat(DType d) { return d == DType::kFloat32 || d == DType::kFloat16; }

// Storage (fp32 or fp16 bits) -> a tensor of the graph's float dtype, and back.
void FromStorage(const void* host, bool half, Tensor* t) {
  const size_t n = static_cast<size_t>(t->num_elements());
  const bool same = half == (t->dtype() == DType::kFloat16);
  if (same) {
    if (n > 0) std::memcpy(t->raw_data(), host, t->size_bytes());
  } else if (half) {  // fp16 storage, fp32 tensor
    const auto* h = static_cast<const uint16_t*>(host);
    for (size_t i = 0; i < n; ++i) t->data<float>()[i] = HalfToFloat(h[i]);
  } else {  // fp32 storage, fp16 tensor
    const auto* f = static_cast<const float*>(host);
    for (size_t i = 0; i < n; ++i) t->data<uint16_t>()[i] = FloatToHalf(f[i]);
  }
}

void ToStorage(const Tensor& t, bool half, void* host) {
  const size_t n = static_cast<size_t>(t.num_elements());
  const bool same = half == (t.dtype() == DType::kFloat16);
  if (same) {
    if (n > 0) std::memcpy(host, t.raw_data(), t.size_bytes());
  } else if (half) {
    auto* h = static_cast<uint16_t*>(host);
    for (size_t i = 0; i < n; ++i) h[i] = FloatToHalf(t.data<float>()[i]);
  } else {
    auto* f = static_cast<float*>(host);
    for (size_t i = 0; i < n; ++i) f[i] = HalfToFloat(t.data<uint16_t>()[i]);
  }
}

// The host function: no CUDA calls here. A failure is recorded for Run / Enqueue to report;
// the outputs then keep their previous contents.
void CUDART_CB RunCpuFallback(void* user) {
  auto* f = static_cast<CpuFallbackNode*>(user);
  Status st = f->RunOnHost();
  if (st.ok()) return;
  std::lock_guard<std::mutex> lock(f->mu);
  if (f->error.ok()) f->error = std::move(st);
}

}  // namespace

Status CpuFallbackNode::RunOnHost() {
  std::vector<Tensor> staged;
  staged.reserve(inputs.size());  // pointers into it stay valid
  std::vector<const Tensor*> in;
  for (const Staged& s : inputs) {
    if (!s.present) {
      in.push_back(nullptr);
    } else if (s.is_constant) {
      in.push_back(&s.constant);
    } else {
      staged.emplace_back(s.dtype, s.dims);
      FromStorage(s.host, half, &staged.back());
      in.push_back(&staged.back());
    }
  }
  ops::KernelContext ctx(node, std::move(in), node.outputs.size());
  ctx.set_opset_version(opset);
  RIDGE_RETURN_IF_ERROR_CTX(def->reference(ctx), describe + " (CPU fallback)");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Staged& s = outputs[i];
    if (!s.present) continue;
    const Tensor& out = ctx.output(i);
    if (out.dtype() != s.dtype || out.dims() != s.dims) {
      return Internal(describe + " (CPU fallback): the reference kernel produced output " +
                      std::to_string(i) + " with a dtype/shape other than inferred");
    }
    ToStorage(out, half, s.host);
  }
  return Status::Ok();
}

std::string CpuFallbackHint(int32_t rescuable, int32_t total) {
  if (rescuable <= 0) return "";
  const std::string which = rescuable < total ? std::to_string(rescuable) + " of them"
                            : total == 1      ? "it"
                                              : "them";
  return ". --allow-cpu-fallback (EngineOptions::allow_cpu_fallback) runs " + which + " on the CPU";
}

std::string Engine::Impl::WhyNoCpuFallback(ir::NodeId id) const {
  const ir::Node& node = graph->node(id);
  if (!node.domain.empty() && node.domain != "ai.onnx") return "domain '" + node.domain + "'";
  const ops::OpDef* def = ops::FindOp(node.domain, node.op_type);
  if (!def) return "unknown op";
  if (!def->reference) return "no CPU reference kernel";
  for (const auto* list : {&node.inputs, &node.outputs}) {
    for (ir::ValueId v : *list) {
      if (v == ir::kNoValue) continue;
      const ir::Value& val = graph->value(v);
      if (val.constant) continue;  // stays on the host
      if (!val.shape || !val.shape->fully_known())
        return "'" + val.name + "' has a shape not fully known";
      if (!IsFloat(val.dtype)) {
        return "'" + val.name + "' is " + std::string(DTypeName(val.dtype)) +
               " (only float activations move between GPU and host)";
      }
    }
  }
  return "";
}

std::string Engine::Impl::FallBackOrExplain(ir::NodeId id, const std::string& why,
                                            int32_t* rescuable) {
  const std::string cpu = WhyNoCpuFallback(id);
  if (cpu.empty() && options.allow_cpu_fallback) {
    cpu_fallback[static_cast<size_t>(id)] = true;
    return "";
  }
  if (cpu.empty()) {
    ++*rescuable;
    return why;
  }
  if (!options.allow_cpu_fallback) return why;
  return why + ", and the CPU fallback cannot run it: " + cpu;
}

Status Engine::Impl::BuildCpuFallback(ir::NodeId id) {
  const ir::Node& node = graph->node(id);
  auto f = std::make_shared<CpuFallbackNode>();
  fallback_nodes.push_back(f);  // frees the staging on every path
  f->node = node;
  f->describe = node.Describe(id);
  f->def = ops::FindOp(node.domain, node.op_type);
  f->opset = graph->opset_version;
  f->half = half;
  if (!f->def || !f->def->reference) return Internal("no reference kernel for the CPU fallback");
  std::vector<int32_t> reads, writes;
  auto stage = [this](CpuFallbackNode::Staged* s) -> Status {
    s->bytes = NumElements(s->dims) * esize;
    RIDGE_CUDA(cudaMallocHost(&s->host, static_cast<size_t>(std::max<int64_t>(s->bytes, 1))));
    stats.cpu_fallback_bytes_per_run += s->bytes;
    return Status::Ok();
  };
  for (ir::ValueId v : node.inputs) {
    CpuFallbackNode::Staged& s = f->inputs.emplace_back();
    if (v == ir::kNoValue) continue;
    s.present = true;
    const ir::Value& val = graph->value(v);
    if (val.constant) {
      s.is_constant = true;
      s.constant = *val.constant;
      continue;
    }
    RIDGE_ASSIGN_OR_RETURN(Ref r, Get(v, /*want_nhwc=*/false));
    s.buf = r.buf;
    s.dtype = val.dtype;
    s.dims = r.dims;
    RIDGE_RETURN_IF_ERROR(stage(&s));
    reads.push_back(r.buf);
  }
  for (ir::ValueId v : node.outputs) {
    CpuFallbackNode::Staged& s = f->outputs.emplace_back();
    if (v == ir::kNoValue) continue;
    s.present = true;
    const Ref r = Define(v, /*as_nhwc=*/false);
    s.buf = r.buf;
    s.dtype = graph->value(v).dtype;
    s.dims = r.dims;
    RIDGE_RETURN_IF_ERROR(stage(&s));
    writes.push_back(r.buf);
  }
  stats.cpu_fallback_nodes++;
  stats.cpu_fallback_node_names.push_back(node.name.empty() ? f->describe : node.name);
  stats.cpu_fallback_host_syncs++;
  Impl* self = this;
  CpuFallbackNode* raw = f.get();  // owned by fallback_nodes for the engine's lifetime
  Step step;
  step.kind = "cpu_fallback";
  step.launch = [self, raw](cudaStream_t st) {
    for (const CpuFallbackNode::Staged& s : raw->inputs)
      if (s.host && s.bytes > 0)
        cudaMemcpyAsync(s.host, self->Ptr(s.buf), static_cast<size_t>(s.bytes),
                        cudaMemcpyDeviceToHost, st);
    cudaLaunchHostFunc(st, &RunCpuFallback, raw);
    for (const CpuFallbackNode::Staged& s : raw->outputs)
      if (s.host && s.bytes > 0)
        cudaMemcpyAsync(self->Ptr(s.buf), s.host, static_cast<size_t>(s.bytes),
                        cudaMemcpyHostToDevice, st);
  };
  AddStep(std::move(step), reads, writes);
  return Status::Ok();
}

Status Engine::Impl::TakeFallbackError() {
  for (const auto& f : fallback_nodes) {
    std::lock_guard<std::mutex> lock(f->mu);
    if (!f->error.ok()) {
      Status st = std::move(f->error);
      f->error = Status::Ok();
      return st;
    }
  }
  return Status::Ok();
}

}  // namespace ridge::cuda
