// The whole analysis of one model on one device at one precision: costs -> fused groups ->
// roofline prediction -> lints. What `ridge analyze` prints and the reports render.
#pragma once

#include <string>
#include <vector>

#include "analysis/lints.h"

namespace ridge::analysis {

struct Analysis {
  std::string model_name;
  DeviceProfile device;
  CostReport costs;
  Grouping grouping;
  Prediction prediction;
  std::vector<Lint> lints;
  Precision precision() const { return costs.precision; }
};

// FLOPs and predicted time per op kind (FLOPs by each node's kind; a fused group's time by the
// kind of its main op, since that is the kernel that runs).
struct KindShare {
  ops::OpKind kind;
  int num_nodes = 0;
  double flops = 0;
  double time_s = 0;
};

// `graph` must be shape-inferred.
Result<Analysis> Analyze(const ir::Graph& graph, const DeviceProfile& device, Precision precision,
                         const std::string& model_name);
std::vector<KindShare> SharesByKind(const Analysis& analysis);

}  // namespace ridge::analysis
