#include "backends/cuda/trace_writer.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

namespace ridge::cuda {

std::string ChromeTraceJson(std::vector<TraceSlice> slices, const std::string& process_name) {
  using nlohmann::json;
  std::stable_sort(slices.begin(), slices.end(), [](const TraceSlice& a, const TraceSlice& b) {
    return a.start_us < b.start_us;
  });
  json events = json::array();
  events.push_back({{"ph", "M"},
                    {"pid", 1},
                    {"tid", 1},
                    {"name", "process_name"},
                    {"args", {{"name", process_name}}}});
  events.push_back({{"ph", "M"},
                    {"pid", 1},
                    {"tid", 1},
                    {"name", "thread_name"},
                    {"args", {{"name", "GPU stream (profiled run, no CUDA graph)"}}}});
  for (const TraceSlice& s : slices) {
    json args = json::object();
    for (const auto& [k, v] : s.args) args[k] = v;
    events.push_back({{"ph", "X"},
                      {"pid", 1},
                      {"tid", 1},
                      {"name", s.name},
                      {"cat", s.category},
                      {"ts", s.start_us},
                      {"dur", s.dur_us},
                      {"args", args}});
  }
  json doc = {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
  // Node names come from the model file: never throw on invalid UTF-8, replace it.
  return doc.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return IoError("cannot create '" + path + "'");
  out << text;
  out.flush();
  if (!out) return IoError("cannot write '" + path + "'");
  return Status::Ok();
}

}  // namespace ridge::cuda
