#include "backends/cpu/executor.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "backends/cpu/compiler.h"
#include "profiler/stats.h"

namespace ridge::cpu {
namespace {

constexpr size_t kAlignment = 64;

size_t AlignUp(size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

// Liveness-based first-fit placement of every arena slot in one buffer. An aliased slot
// (Reshape output) extends the life of the slot that owns the bytes.
MemoryPlanStats PlanMemory(Program& p) {
  auto& slots = p.state.slots;
  std::vector<int> root(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) root[i] = static_cast<int>(i);
  for (const auto& k : p.kernels) {
    if (k->alias_source >= 0) root[k->output_slots[0]] = root[k->alias_source];
  }
  const int end = static_cast<int>(p.kernels.size());
  std::vector<int> first(slots.size(), end), last(slots.size(), -1);
  for (int t = 0; t < end; ++t) {
    for (int s : p.kernels[t]->output_slots) {
      if (s >= 0) first[root[s]] = std::min(first[root[s]], t);
    }
    for (int s : p.kernels[t]->input_slots) {
      if (s >= 0) last[root[s]] = std::max(last[root[s]], t);
    }
  }
  for (int s : p.output_slots) last[root[s]] = end;
  struct Item {
    int slot;
    size_t size;
  };
  std::vector<Item> items;
  MemoryPlanStats stats;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].storage != Storage::kArena || first[i] == end) continue;
    if (last[i] < first[i]) last[i] = first[i];  // written, never read: still needs bytes
    items.push_back({static_cast<int>(i), AlignUp(std::max<size_t>(slots[i].size_bytes, 1))});
    stats.naive_bytes += static_cast<int64_t>(items.back().size);
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.size != b.size ? a.size > b.size : a.slot < b.slot;
  });
  struct Placed {
    size_t offset, size;
    int first, last;
  };
  std::vector<Placed> placed;
  size_t arena = 0;
  for (const Item& it : items) {
    int f = first[it.slot], l = last[it.slot];
    std::vector<std::pair<size_t, size_t>> busy;
    for (const Placed& q : placed) {
      if (q.first <= l && f <= q.last) busy.push_back({q.offset, q.offset + q.size});
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [b, e] : busy) {
      if (offset + it.size <= b) break;
      offset = std::max(offset, e);
    }
    placed.push_back({offset, it.size, f, l});
    slots[it.slot].arena_offset = static_cast<int64_t>(offset);
    arena = std::max(arena, offset + it.size);
  }
  stats.planned_bytes = static_cast<int64_t>(arena);
  stats.num_buffers = static_cast<int64_t>(items.size());
  return stats;
}

}  // namespace

struct Executor::Impl {
  Program program;
  ExecutorOptions options;
  MemoryPlanStats memory;
  std::vector<std::byte, std::allocator<std::byte>> arena_storage;
  std::byte* arena = nullptr;
  std::vector<double> kernel_ms;
};

Executor::Executor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Executor::~Executor() = default;

Result<std::unique_ptr<Executor>> Executor::Create(const ir::Graph& graph,
                                                   const ExecutorOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (options.num_threads > 0) omp_set_num_threads(options.num_threads);
  Program& p = impl->program;
  try {
    p.state.engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
    p.state.stream = dnnl::stream(p.state.engine);
    Compiler compiler(graph, options, &p);
    RIDGE_RETURN_IF_ERROR(compiler.Compile());
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN error while compiling: ") + e.what());
  } catch (const std::bad_alloc&) {
    return LimitExceeded("out of memory while compiling the CPU program");
  }
  impl->memory = PlanMemory(p);
  try {
    impl->arena_storage.resize(static_cast<size_t>(impl->memory.planned_bytes) + kAlignment);
  } catch (const std::bad_alloc&) {
    return LimitExceeded("activation arena of " + std::to_string(impl->memory.planned_bytes) +
                         " bytes does not fit in memory");
  }
  auto base = reinterpret_cast<uintptr_t>(impl->arena_storage.data());
  impl->arena = impl->arena_storage.data() + (AlignUp(base) - base);
  for (Slot& s : p.state.slots) {
    if (s.storage == Storage::kArena && s.arena_offset >= 0) s.ptr = impl->arena + s.arena_offset;
  }
  impl->kernel_ms.assign(p.kernels.size(), 0.0);
  return std::unique_ptr<Executor>(new Executor(std::move(impl)));
}

Result<std::vector<Tensor>> Executor::Run(const std::map<std::string, Tensor>& inputs) {
  Program& p = impl_->program;
  auto& slots = p.state.slots;
  if (impl_->options.num_threads > 0) omp_set_num_threads(impl_->options.num_threads);
  for (size_t i = 0; i < p.input_slots.size(); ++i) {
    auto it = inputs.find(p.input_names[i]);
    if (it == inputs.end()) return InvalidArgument("missing input '" + p.input_names[i] + "'");
    Slot& s = slots[p.input_slots[i]];
    if (it->second.dtype() != s.dtype || it->second.dims() != s.dims) {
      std::string want, got;
      for (int64_t d : s.dims) want += (want.empty() ? "" : "x") + std::to_string(d);
      for (int64_t d : it->second.dims()) got += (got.empty() ? "" : "x") + std::to_string(d);
      return InvalidArgument("input '" + s.name + "' must be " + std::string(DTypeName(s.dtype)) +
                             " " + want + ", got " + std::string(DTypeName(it->second.dtype())) +
                             " " + got);
    }
    s.tensor = it->second;
    s.ptr = s.tensor.raw_data();
  }
  for (const auto& [name, t] : inputs) {
    if (std::find(p.input_names.begin(), p.input_names.end(), name) == p.input_names.end()) {
      return InvalidArgument("the model has no input named '" + name + "'");
    }
  }
  const bool profile = impl_->options.profile;
  for (size_t k = 0; k < p.kernels.size(); ++k) {
    profiler::Timer timer;
    Status st = p.kernels[k]->Run(p.state);
    if (!st.ok()) return st;
    if (profile) impl_->kernel_ms[k] += timer.ElapsedMs();
  }
  std::vector<Tensor> outputs;
  for (int s : p.output_slots) {
    Slot& slot = slots[s];
    Tensor out(slot.dtype, slot.dims);
    if (slot.blocked) {
      try {
        dnnl::memory src = p.state.Mem(s);
        dnnl::memory dst(PlainDesc(slot.dims), p.state.engine, out.raw_data());
        dnnl::reorder(src, dst).execute(p.state.stream, src, dst);
        p.state.stream.wait();
      } catch (const dnnl::error& e) {
        return Internal(std::string("oneDNN reorder of an output: ") + e.what());
      }
    } else if (out.size_bytes() > 0) {
      std::memcpy(out.raw_data(), slot.ptr, out.size_bytes());
    }
    outputs.push_back(std::move(out));
  }
  // Drop references to the caller's tensors.
  for (int s : p.input_slots) slots[s].tensor = Tensor();
  return outputs;
}

const MemoryPlanStats& Executor::memory_stats() const { return impl_->memory; }

std::vector<LayerTime> Executor::Profile() const {
  std::vector<LayerTime> out;
  const Program& p = impl_->program;
  for (size_t k = 0; k < p.kernels.size(); ++k) {
    LayerTime t;
    t.label = p.kernels[k]->label;
    t.op_type = p.kernels[k]->op_type;
    t.node_names = p.kernel_nodes[k];
    t.total_ms = impl_->kernel_ms[k];
    out.push_back(std::move(t));
  }
  return out;
}

void Executor::ResetProfile() { std::fill(impl_->kernel_ms.begin(), impl_->kernel_ms.end(), 0); }

std::map<std::string, int> Executor::KernelCounts() const {
  std::map<std::string, int> counts;
  for (const auto& kind : impl_->program.kernel_kind) ++counts[kind];
  return counts;
}

size_t Executor::num_kernels() const { return impl_->program.kernels.size(); }

Status CheckSupported(const ir::Graph& graph) {
  std::vector<std::string> bad;
  for (size_t n = 0; n < graph.num_nodes(); ++n) {
    const ir::Node& node = graph.node(static_cast<ir::NodeId>(n));
    bool known_domain = node.domain.empty() || node.domain == "ai.onnx";
    const ops::OpDef* def = known_domain ? ops::FindOp(node.domain, node.op_type) : nullptr;
    if (known_domain && HasNativeKernel(node.op_type)) continue;
    if (def && def->reference) continue;
    bad.push_back(node.Describe(static_cast<ir::NodeId>(n)));
  }
  if (bad.empty()) return Status::Ok();
  std::string msg =
      std::to_string(bad.size()) + " node(s) the CPU backend cannot run (no kernel): ";
  for (size_t i = 0; i < bad.size(); ++i) msg += (i ? ", " : "") + bad[i];
  return Unsupported(msg);
}

}  // namespace ridge::cpu
