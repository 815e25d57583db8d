// Mutations that turn a valid model into a hostile one: each returns a description of what it
// did, and writes the case (model bytes, plus any side files such as external data) into `dir`.
#pragma once

#include <random>
#include <string>

#include "onnx/onnx_pb.h"

namespace ridge::fuzz {

struct MalformedCase {
  std::string description;  // "bit flips x3", "dim -> negative (initializer 'w')", ...
  std::string model_path;   // file to load
  // True when the mutation certainly makes the model invalid, so loading it must fail
  // (bit flips, truncation and some value changes may leave a valid model).
  bool must_refuse = false;
};

// Applies one randomly chosen mutation to `seed` (or its serialized bytes) and writes the case
// under `dir` (emptied first). `parent_dir` is outside `dir`, for escaping paths and links.
MalformedCase MakeMalformedCase(const ::onnx::ModelProto& seed, std::mt19937_64& rng,
                                const std::string& dir, const std::string& outside_file);

// Number of distinct mutation kinds (for coverage reporting).
int NumMutationKinds();

}  // namespace ridge::fuzz
