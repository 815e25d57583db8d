// A CPU inference session: load an ONNX model, bind the batch, infer shapes, compile it for the
// CPU backend, and run it. Shared by `ridge run`, `ridge bench` and the model tests.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/cpu/executor.h"
#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace ridge::runtime {

struct SessionOptions {
  std::optional<int64_t> batch;  // binds a symbolic/unknown dim 0 of every input
  std::string shapes;            // "--shapes" text: name:1x3x224x224[,...]
  // Full shapes of named inputs (e.g. taken from the .npy files given with --input).
  std::map<std::string, std::vector<int64_t>> input_shapes;
  cpu::ExecutorOptions cpu;
};

class CpuSession {
 public:
  static Result<std::unique_ptr<CpuSession>> Open(const std::string& model_path,
                                                  const SessionOptions& options);

  const ir::Graph& graph() const { return *graph_; }
  cpu::Executor& executor() { return *executor_; }
  // Graph inputs the caller feeds, with their concrete dims and dtypes.
  std::vector<std::string> InputNames() const;
  std::vector<std::string> OutputNames() const;

  Result<std::vector<Tensor>> Run(const std::map<std::string, Tensor>& inputs) {
    return executor_->Run(inputs);
  }

 private:
  std::unique_ptr<ir::Graph> graph_;
  std::unique_ptr<cpu::Executor> executor_;
};

// Seeded random inputs for every graph input of a shape-inferred graph: floats uniform in
// [-1, 1), integers in [0, 10), bools alternating. Same seed, same bytes, on every machine.
Result<std::map<std::string, Tensor>> RandomInputs(const ir::Graph& graph, uint64_t seed);

// Parses "name=file.npy" flags, reading each file (names are checked when the model runs).
Result<std::map<std::string, Tensor>> ReadInputFlags(const std::vector<std::string>& flags);

// "out:0/logits" -> "out_0_logits": a value name made safe as a file name.
std::string SafeFileName(const std::string& name);

}  // namespace ridge::runtime
