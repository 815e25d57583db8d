#include "backends/cpu/kernels.h"

#include <cstring>
#include <unordered_map>

namespace ridge::cpu {

dnnl::memory::desc PlainDesc(const std::vector<int64_t>& dims, dnnl::memory::data_type dt) {
  dnnl::memory::dims d(dims.begin(), dims.end());
  if (d.empty()) d.push_back(1);
  dnnl::memory::dims strides(d.size(), 1);
  for (int i = static_cast<int>(d.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * d[i + 1];
  return dnnl::memory::desc(d, dt, strides);
}

Status DnnlKernel::Run(ExecState& state) {
  try {
    if (sum_in_place) {
      state.slots[sum_dest].ptr = state.slots[sum_source].ptr;
    } else if (sum_source >= 0) {
      dnnl::memory src = state.Mem(sum_source);
      dnnl::memory dst = state.Mem(sum_dest);
      sum_copy.execute(state.stream, {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
    }
    std::unordered_map<int, dnnl::memory> args;
    args.reserve(slot_args.size() + const_args.size());
    for (const auto& a : slot_args) {
      args.emplace(a.arg, a.md ? dnnl::memory(*a.md, state.engine, state.slots[a.slot].ptr)
                               : state.Mem(a.slot));
    }
    for (const auto& [arg, mem] : const_args) args.emplace(arg, mem);
    primitive.execute(state.stream, args);
    state.stream.wait();
  } catch (const dnnl::error& e) {
    return Internal(label + " (" + op_type + "): oneDNN: " + e.what());
  }
  return Status::Ok();
}

Status AliasKernel::Run(ExecState& state) {
  state.slots[output_slots[0]].ptr = state.slots[input_slots[0]].ptr;
  return Status::Ok();
}

Status ReferenceKernel::Run(ExecState& state) {
  std::vector<Tensor> copies;
  copies.reserve(input_slots.size());
  std::vector<const Tensor*> inputs;
  for (int s : input_slots) {
    if (s < 0) {
      inputs.push_back(nullptr);
      continue;
    }
    Slot& slot = state.slots[s];
    if (slot.storage == Storage::kConstant || slot.storage == Storage::kInput ||
        slot.storage == Storage::kOwned) {
      inputs.push_back(&slot.tensor);
      continue;
    }
    Tensor t(slot.dtype, slot.dims);
    if (t.size_bytes() > 0) std::memcpy(t.raw_data(), slot.ptr, t.size_bytes());
    copies.push_back(std::move(t));
    inputs.push_back(&copies.back());
  }
  ops::KernelContext ctx(node_, std::move(inputs), node_.outputs.size());
  RIDGE_RETURN_IF_ERROR_CTX(def_.reference(ctx), node_.Describe(node_id_));
  for (size_t i = 0; i < output_slots.size(); ++i) {
    int s = output_slots[i];
    if (s < 0) continue;
    Slot& slot = state.slots[s];
    Tensor& out = ctx.output(i);
    if (out.dtype() != slot.dtype || out.dims() != slot.dims) {
      return Internal(node_.Describe(node_id_) + ": reference kernel produced output " +
                      std::to_string(i) + " with a dtype/shape other than inferred");
    }
    slot.tensor = std::move(out);
    slot.ptr = slot.tensor.raw_data();
  }
  return Status::Ok();
}

}  // namespace ridge::cpu
