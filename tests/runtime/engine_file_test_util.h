// Helpers shared by the engine-file tests (engine_file_test.cc, engine_file_compat_test.cc).
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/engine_file.h"

namespace ridge::runtime {

// A conv + relu graph with weights, input [2, 3, 8, 8], shapes inferred.
ir::Graph SmallGraph();
// A valid cpu header (fields the writer does not fill).
EngineHeader CpuHeader();
// The sections a cpu engine file of `g` carries.
std::vector<EngineSection> Sections(const ir::Graph& g);
// A serialized engine file of `g` under header `h`.
std::string EngineBytes(const EngineHeader& h, const ir::Graph& g);

}  // namespace ridge::runtime
