// Pieces shared by the cpu (engine_runner.cc) and cuda (engine_runner_cuda.cc) engine runners.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/engine_file.h"
#include "runtime/engine_runner.h"
#include "runtime/preprocessed_engine.h"

namespace ridge::runtime::internal {

// Infers shapes of a loaded graph (bound at build time).
Status PrepareLoadedGraph(LoadedEngine& engine, const std::string& path);
// The graph's non-constant inputs (with dims) and output names.
void FillGraphIo(const ir::Graph& graph, std::vector<TensorSpec>* inputs,
                 std::vector<std::string>* outputs);
// The engine's preprocess section checked against its one input; empty without the section.
Result<std::optional<PreprocessConfig>> LoadedPreprocess(const LoadedEngine& engine,
                                                         const std::vector<TensorSpec>& inputs,
                                                         const std::string& path);
// engine_runner_cuda.cc (Unsupported in a build without CUDA).
Result<std::unique_ptr<EngineRunner>> OpenCudaRunner(const std::string& path);

}  // namespace ridge::runtime::internal
