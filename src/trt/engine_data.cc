// Readers of trtexec's JSON exports. nlohmann::json is used without exceptions on parse, and
// every field access goes through the small typed getters below, so a wrong type is a missing
// field, never a throw. The one try/catch at each entry is the boundary the house style asks for.
#include "trt/engine_data.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

namespace ridge::trt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uintmax_t kMaxFileBytes = 64u << 20;  // the largest real export is well under 1 MiB
constexpr size_t kMaxLayers = 200000;
constexpr size_t kMaxRank = 16;

const json* Find(const json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return nullptr;
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it != j.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

std::string Str(const json& j, std::initializer_list<const char*> keys) {
  const json* v = Find(j, keys);
  if (v && v->is_string()) return v->get<std::string>();
  return {};
}

double Num(const json& j, std::initializer_list<const char*> keys, double fallback = 0) {
  const json* v = Find(j, keys);
  if (!v) return fallback;
  if (v->is_number()) {
    double d = v->get<double>();
    return std::isfinite(d) ? d : fallback;
  }
  if (v->is_string()) {  // some exports quote numbers
    char* end = nullptr;
    const std::string s = v->get<std::string>();
    double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() && std::isfinite(d)) return d;
  }
  return fallback;
}

int64_t Int(const json& j, std::initializer_list<const char*> keys, int64_t fallback = 0) {
  double d = Num(j, keys, static_cast<double>(fallback));
  if (d > 9.0e15 || d < -9.0e15) return fallback;
  return static_cast<int64_t>(d);
}

std::vector<int64_t> IntList(const json& j, std::initializer_list<const char*> keys) {
  std::vector<int64_t> out;
  const json* v = Find(j, keys);
  if (!v || !v->is_array() || v->size() > kMaxRank) return out;
  for (const json& e : *v) {
    if (!e.is_number()) return {};
    double d = e.get<double>();
    if (!std::isfinite(d) || d > 4.0e9 || d < -1) return {};  // -1 = dynamic
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

std::vector<EngineTensor> Tensors(const json& j, std::initializer_list<const char*> keys) {
  std::vector<EngineTensor> out;
  const json* v = Find(j, keys);
  if (!v || !v->is_array()) return out;
  for (const json& t : *v) {
    if (!t.is_object()) continue;
    EngineTensor et;
    et.name = Str(t, {"Name", "name"});
    et.dims = IntList(t, {"Dimensions", "Dims", "dimensions", "Shape"});
    et.format_text = Str(t, {"Format/Datatype", "Format", "Datatype", "format"});
    et.format = ParseFormat(et.format_text);
    out.push_back(std::move(et));
  }
  return out;
}

EngineLayer ParseLayer(const json& l) {
  EngineLayer layer;
  if (l.is_string()) {  // --profilingVerbosity=layer_names_only: names only
    layer.name = l.get<std::string>();
    return layer;
  }
  layer.name = Str(l, {"Name", "name", "LayerName"});
  layer.layer_type = Str(l, {"LayerType", "Type", "layerType"});
  layer.parameter_type = Str(l, {"ParameterType", "parameterType"});
  layer.origin = Str(l, {"Origin", "origin"});
  layer.tactic_name = Str(l, {"TacticName", "Tactic", "tacticName"});
  layer.inputs = Tensors(l, {"Inputs", "inputs"});
  layer.outputs = Tensors(l, {"Outputs", "outputs"});
  layer.kernel = IntList(l, {"Kernel", "KernelSize", "WindowSize"});
  layer.stride = IntList(l, {"Stride", "Strides"});
  layer.groups = std::max<int64_t>(1, Int(l, {"Groups", "NbGroups"}, 1));
  layer.out_maps = std::max<int64_t>(0, Int(l, {"OutMaps", "NbOutputMaps"}, 0));
  layer.pooling_type = Str(l, {"PoolingType"});
  if (const json* w = Find(l, {"Weights"}); w && w->is_object()) {
    layer.weight_count = std::max<int64_t>(0, Int(*w, {"Count"}));
    layer.weight_type = Str(*w, {"Type"});
  }
  if (const json* b = Find(l, {"Bias"}); b && b->is_object())
    layer.bias_count = std::max<int64_t>(0, Int(*b, {"Count"}));
  return layer;
}

Result<json> ParseJson(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidModel(what + ": not valid JSON (malformed or truncated)");
  return j;
}

}  // namespace

double EngineProfile::TotalAverageMs() const {
  double sum = 0;
  for (const LayerTiming& t : layers) sum += t.average_ms;
  return sum;
}

Result<std::vector<EngineLayer>> ParseLayerInfo(const std::string& text, const std::string& what) {
  try {
    RIDGE_ASSIGN_OR_RETURN(json j, ParseJson(text, what));
    const json* layers = &j;
    if (j.is_object()) layers = Find(j, {"Layers", "layers"});
    if (!layers || !layers->is_array())
      return InvalidModel(what + ": no \"Layers\" array (is this an --exportLayerInfo file?)");
    if (layers->size() > kMaxLayers)
      return LimitExceeded(what + ": " + std::to_string(layers->size()) + " layers exceeds " +
                           std::to_string(kMaxLayers));
    std::vector<EngineLayer> out;
    out.reserve(layers->size());
    for (size_t i = 0; i < layers->size(); ++i) {
      const json& l = (*layers)[i];
      if (!l.is_object() && !l.is_string())
        return InvalidModel(what + ": layer " + std::to_string(i) + " is not an object");
      EngineLayer layer = ParseLayer(l);
      if (layer.name.empty())
        return InvalidModel(what + ": layer " + std::to_string(i) + " has no name");
      out.push_back(std::move(layer));
    }
    if (out.empty()) return InvalidModel(what + ": the engine has no layers");
    return out;
  } catch (const std::exception& e) {  // boundary: nothing from nlohmann escapes
    return InvalidModel(what + ": " + e.what());
  }
}

Result<EngineProfile> ParseProfile(const std::string& text, const std::string& what) {
  try {
    RIDGE_ASSIGN_OR_RETURN(json j, ParseJson(text, what));
    const json* arr = &j;
    if (j.is_object()) arr = Find(j, {"layers", "Layers", "profile"});
    if (!arr || !arr->is_array())
      return InvalidModel(what + ": expected an array of per-layer timings (--exportProfile)");
    if (arr->size() > kMaxLayers) return LimitExceeded(what + ": too many profile entries");
    EngineProfile p;
    for (size_t i = 0; i < arr->size(); ++i) {
      const json& e = (*arr)[i];
      if (!e.is_object())
        return InvalidModel(what + ": entry " + std::to_string(i) + " is not an object");
      if (Find(e, {"count"}) && !Find(e, {"name", "Name"})) {
        p.iterations = Int(e, {"count"});
        if (p.iterations < 0) return InvalidModel(what + ": negative iteration count");
        continue;
      }
      LayerTiming t;
      t.name = Str(e, {"name", "Name"});
      if (t.name.empty())
        return InvalidModel(what + ": entry " + std::to_string(i) + " has no name");
      t.total_ms = Num(e, {"timeMs", "totalMs", "time"}, -1);
      t.average_ms = Num(e, {"averageMs", "averageTimeMs", "avgMs", "average"}, -1);
      if (t.average_ms < 0 && t.total_ms >= 0 && p.iterations > 0)
        t.average_ms = t.total_ms / static_cast<double>(p.iterations);
      if (t.average_ms < 0)
        return InvalidModel(what + ": layer '" + t.name + "' has no usable averageMs/timeMs");
      if (t.total_ms < 0) t.total_ms = t.average_ms * std::max<int64_t>(1, p.iterations);
      t.median_ms = Num(e, {"medianMs", "median"}, t.average_ms);
      t.percentage = Num(e, {"percentage", "percent"}, -1);
      p.layers.push_back(std::move(t));
    }
    if (p.layers.empty()) return InvalidModel(what + ": the profile has no layers");
    double total = p.TotalAverageMs();
    for (LayerTiming& t : p.layers)  // fill a missing share from the times
      if (t.percentage < 0) t.percentage = total > 0 ? 100.0 * t.average_ms / total : 0;
    return p;
  } catch (const std::exception& e) {
    return InvalidModel(what + ": " + e.what());
  }
}

Result<RunSummary> ParseRunSummary(const std::string& text, const std::string& build_text,
                                   const std::string& what) {
  try {
    RIDGE_ASSIGN_OR_RETURN(json j, ParseJson(text, what));
    RunSummary s;
    const json* perf = Find(j, {"performance_summary", "performanceSummary"});
    if (!perf || !perf->is_object())
      return InvalidModel(what + ": no \"performance_summary\" object");
    s.throughput_qps = Num(*perf, {"Throughput", "throughput"});
    // [min, max, mean, median, percentile...] in TREx's export.
    if (const json* g = Find(*perf, {"GPU Compute Time", "gpuComputeTime"}); g && g->is_array()) {
      if (g->size() >= 3 && (*g)[2].is_number()) s.gpu_compute_mean_ms = (*g)[2].get<double>();
      if (g->size() >= 4 && (*g)[3].is_number()) s.gpu_compute_median_ms = (*g)[3].get<double>();
    }
    if (const json* d = Find(j, {"device_information", "deviceInformation"}); d)
      s.device_name = Str(*d, {"Selected Device", "Name", "name"});
    if (!build_text.empty()) {
      json b = json::parse(build_text, nullptr, false);
      if (!b.is_discarded())
        if (const json* o = Find(b, {"build_options"}); o)
          s.precision_flags = Str(*o, {"Precision"});
    }
    return s;
  } catch (const std::exception& e) {
    return InvalidModel(what + ": " + e.what());
  }
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound("no such file: '" + path + "'");
  auto size = fs::file_size(path, ec);
  if (ec) return IoError("cannot stat '" + path + "': " + ec.message());
  if (size > kMaxFileBytes)
    return LimitExceeded("'" + path + "' is " + std::to_string(size) + " bytes; limit 64 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<EngineFiles> LocateEngineFiles(const std::string& path) {
  static const char* kSuffixes[] = {".profile.metadata.json", ".build.metadata.json", ".graph.json",
                                    ".profile.json", ".metadata.json"};
  std::error_code ec;
  std::string stem;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      const std::string p = entry.path().string();
      if (p.size() > 11 && p.ends_with(".graph.json")) {
        if (!stem.empty())
          return InvalidArgument("'" + path + "' holds several *.graph.json; name one");
        stem = p.substr(0, p.size() - 11);
      }
    }
    if (stem.empty()) return NotFound("no *.graph.json (layer info) in '" + path + "'");
  } else {
    stem = path;
    for (const char* suf : kSuffixes) {
      if (stem.ends_with(suf)) {
        stem.resize(stem.size() - std::string(suf).size());
        break;
      }
    }
  }
  EngineFiles f;
  f.stem = stem;
  auto exists = [&](const std::string& p) {
    return fs::is_regular_file(p, ec) ? p : std::string();
  };
  f.layers = exists(stem + ".graph.json");
  if (f.layers.empty() && fs::is_regular_file(path, ec)) f.layers = path;  // non-standard name
  f.profile = exists(stem + ".profile.json");
  f.run_meta = exists(stem + ".profile.metadata.json");
  f.build_meta = exists(stem + ".build.metadata.json");
  if (f.layers.empty()) return NotFound("no layer-info file for '" + path + "'");
  return f;
}

Result<EngineData> LoadEngine(const EngineFiles& files) {
  EngineData d;
  d.label = fs::path(files.stem).filename().string();
  RIDGE_ASSIGN_OR_RETURN(std::string layer_text, ReadTextFile(files.layers));
  RIDGE_ASSIGN_OR_RETURN(d.layers, ParseLayerInfo(layer_text, files.layers));
  d.timing.resize(d.layers.size());
  for (size_t i = 0; i < d.layers.size(); ++i) d.timing[i].name = d.layers[i].name;
  if (!files.profile.empty()) {
    RIDGE_ASSIGN_OR_RETURN(std::string text, ReadTextFile(files.profile));
    RIDGE_ASSIGN_OR_RETURN(d.profile, ParseProfile(text, files.profile));
    d.has_profile = true;
    std::unordered_map<std::string, size_t> by_name;
    for (size_t i = 0; i < d.layers.size(); ++i) by_name.emplace(d.layers[i].name, i);
    std::vector<std::string> unmatched;
    for (const LayerTiming& t : d.profile.layers) {
      auto it = by_name.find(t.name);
      if (it == by_name.end()) {
        unmatched.push_back(t.name);
        continue;
      }
      LayerTiming& dst = d.timing[it->second];  // a name profiled twice accumulates
      dst.average_ms += t.average_ms;
      dst.median_ms += t.median_ms;
      dst.total_ms += t.total_ms;
      dst.percentage += t.percentage;
    }
    if (!unmatched.empty()) {
      // A profile of another engine would silently give wrong shares; refuse it.
      return InvalidArgument("profile '" + files.profile + "' names " +
                             std::to_string(unmatched.size()) +
                             " layer(s) the layer info lacks, first: '" + unmatched[0] + "'");
    }
  }
  if (!files.run_meta.empty()) {
    RIDGE_ASSIGN_OR_RETURN(std::string text, ReadTextFile(files.run_meta));
    std::string build_text;
    if (!files.build_meta.empty()) {
      auto b = ReadTextFile(files.build_meta);
      if (b.ok()) build_text = *b;
    }
    RIDGE_ASSIGN_OR_RETURN(d.summary, ParseRunSummary(text, build_text, files.run_meta));
    d.has_summary = true;
  }
  return d;
}

}  // namespace ridge::trt
