// Shape and dtype inference over a whole graph, with constant folding of shape sub-graphs
// (Shape -> Gather -> Concat -> Reshape chains resolve to constants) and binding of dynamic
// input dims (--batch, --shapes).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"

namespace ridge::ops {

struct InferOptions {
  // Binds dim 0 of every graph input whose dim 0 is symbolic or unknown (`--batch N`).
  std::optional<int64_t> batch;
  // Full shapes for named inputs (`--shapes name:1x3x224x224`); override what the file says.
  std::map<std::string, std::vector<int64_t>> input_shapes;
  // Outputs of nodes whose inputs are all constant are folded when no larger than this.
  int64_t max_fold_elements = 1 << 16;
};

// Parses "name:1x3x224x224[,name2:...]" into options->input_shapes.
Status ParseShapesFlag(const std::string& text, InferOptions* options);

// Applies batch/shape bindings to graph inputs. Fails on unknown input names or bad dims.
Status BindInputShapes(ir::Graph& graph, const InferOptions& options);

// Every node whose op Ridgeline does not know, listed all at once:
// "3 unsupported nodes: node 'a' (Foo), node 'b' (Bar) [domain com.x], ...".
Status CheckOpsKnown(const ir::Graph& graph);

// Binds inputs, then infers dtype/shape of every value in topological order, folding
// constants. The graph must be topologically sorted (the loader does it).
Status InferShapes(ir::Graph& graph, const InferOptions& options);

}  // namespace ridge::ops
