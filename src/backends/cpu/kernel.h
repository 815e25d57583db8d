// Internal to the CPU backend: runtime buffers (slots) and the kernel interface.
//
// The compiler (executor.cc) turns a shape-inferred graph into a flat list of kernels over
// slots. A slot is one buffer with a fixed physical layout: fp32 activations may live in a
// oneDNN blocked layout (nChw16c) between consecutive convs, everything else is plain row-major.
// Arena slots get an offset in one activation arena from the memory plan.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "dnnl.hpp"

namespace ridge::cpu {

enum class Storage {
  kArena,     // planned activation buffer
  kConstant,  // initializer or folded constant (points into the graph's tensor)
  kInput,     // graph input: the caller's tensor
  kOwned,     // produced by a reference kernel: the kernel's own tensor
  kAlias,     // same bytes as another slot (Reshape, Flatten, ...): ptr set at run time
};

struct Slot {
  std::string name;
  DType dtype = DType::kUndefined;
  std::vector<int64_t> dims;  // logical dims
  dnnl::memory::desc md;      // physical layout (fp32 only; zero desc otherwise)
  bool blocked = false;       // md is not plain row-major
  size_t size_bytes = 0;
  Storage storage = Storage::kArena;
  int64_t arena_offset = -1;
  Tensor tensor;             // kConstant / kInput / kOwned: the tensor holding the bytes
  std::byte* ptr = nullptr;  // resolved address (arena at compile, others at run)
  // kAlias whose source value is dead (a residual accumulated in place): the bytes belong to
  // this slot alone, like an arena slot's.
  bool sole_owner = false;
};

struct ExecState {
  std::vector<Slot> slots;
  dnnl::engine engine;
  dnnl::stream stream;

  dnnl::memory Mem(int slot) { return dnnl::memory(slots[slot].md, engine, slots[slot].ptr); }
  float* F(int slot) { return reinterpret_cast<float*>(slots[slot].ptr); }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status Run(ExecState& state) = 0;

  std::string label;    // node name(s), for profiles and errors
  std::string op_type;  // "Conv+Relu", "Reorder", ...
  std::vector<int> input_slots, output_slots;
  // The slot whose bytes this kernel's output aliases (alias kernels), else -1.
  int alias_source = -1;
};

// Plain row-major oneDNN desc of fp32 dims (rank 0 becomes {1}).
dnnl::memory::desc PlainDesc(const std::vector<int64_t>& dims,
                             dnnl::memory::data_type dt = dnnl::memory::data_type::f32);

}  // namespace ridge::cpu
