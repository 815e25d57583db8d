// A cuda engine file loaded and rebuilt on this GPU (only in builds with the CUDA backend):
// what `ridge bench FILE` hands to the trtexec-style CUDA benchmark.
#pragma once

#include <memory>
#include <string>

#include "backends/cuda/engine.h"
#include "core/status.h"
#include "runtime/engine_file.h"

namespace ridge::runtime {

struct LoadedCudaEngine {
  EngineHeader header;
  ir::Graph graph;  // shapes as built
  std::unique_ptr<cuda::Engine> engine;
  // The preprocess section ("" if none): LoadCudaEngineFile builds the engine alone; the
  // runner puts the GPU preprocessing in front of it.
  std::string preprocess_json;
};

// LoadEngineFile against LiveCudaEnvironment(), shape inference, cuda::Engine::Build with the
// file's precision. Unsupported without a GPU or on another GPU / SM / library version.
Result<LoadedCudaEngine> LoadCudaEngineFile(const std::string& path);

}  // namespace ridge::runtime
