// Lints: findings about a model on a device, each with advice and the predicted time at stake.
// Definitions of every lint: docs/metrics.md.
#pragma once

#include <string>
#include <vector>

#include "analysis/roofline.h"

namespace ridge::analysis {

struct Lint {
  std::string id;                  // "tensor_core_alignment", "low_intensity_conv", ...
  std::string severity;            // "warning" (costs time now) or "info"
  std::string message;             // what was found, with figures
  std::string advice;              // what to do about it
  std::vector<std::string> nodes;  // affected node names (all of them)
  double predicted_cost_s = 0;     // predicted time at stake (0 when not quantified)
};

std::vector<Lint> RunLints(const ir::Graph& graph, const CostReport& costs,
                           const Grouping& grouping, const Prediction& prediction,
                           const DeviceProfile& device);

}  // namespace ridge::analysis
