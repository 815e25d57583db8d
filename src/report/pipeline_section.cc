// Reading and checking a `ridge pipeline --json` file. nlohmann::json parses with exceptions
// only inside ParsePipelineJson (to report the byte offset of a syntax error); every field is
// read through the typed getters below, so a wrong type is a named error, never a throw.
#include "report/pipeline_section.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ridge::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A run of 100 frames with detections is ~100 KB; 64 MiB leaves room for long runs and still
// refuses a file that would take the analyzer's memory.
constexpr uintmax_t kMaxFileBytes = 64u << 20;
constexpr const char* kStageNames[] = {"decode", "pre", "H2D", "infer", "D2H", "post"};

class Reader {
 public:
  Reader(const json& j, std::string where) : j_(j), where_(std::move(where)) {}

  Result<double> Number(const char* key) const {
    auto it = j_.find(key);
    if (it == j_.end()) return InvalidModel(where_ + ": missing field \"" + key + "\"");
    if (!it->is_number()) return InvalidModel(where_ + ": field \"" + key + "\" is not a number");
    double v = it->get<double>();
    if (!std::isfinite(v) || v < 0)
      return InvalidModel(where_ + ": field \"" + key + "\" must be a finite number >= 0");
    return v;
  }
  Result<int64_t> Count(const char* key) const {
    RIDGE_ASSIGN_OR_RETURN(double v, Number(key));
    if (v != std::floor(v) || v > 1e15)
      return InvalidModel(where_ + ": field \"" + key + "\" must be a whole number");
    return static_cast<int64_t>(v);
  }
  Result<std::string> String(const char* key) const {
    auto it = j_.find(key);
    if (it == j_.end()) return InvalidModel(where_ + ": missing field \"" + key + "\"");
    if (!it->is_string()) return InvalidModel(where_ + ": field \"" + key + "\" is not a string");
    return it->get<std::string>();
  }
  // Descriptive fields: absent or mistyped leaves them empty.
  std::string OptionalString(const char* key) const {
    auto it = j_.find(key);
    return it != j_.end() && it->is_string() ? it->get<std::string>() : std::string();
  }

 private:
  const json& j_;
  std::string where_;
};

Result<PipelineStage> ParseStage(const json& s, const std::string& where) {
  if (!s.is_object()) return InvalidModel(where + " is not an object");
  Reader r(s, where);
  PipelineStage out;
  RIDGE_ASSIGN_OR_RETURN(out.stage, r.String("stage"));
  RIDGE_ASSIGN_OR_RETURN(out.count, r.Count("count"));
  RIDGE_ASSIGN_OR_RETURN(out.mean_ms, r.Number("mean_ms"));
  RIDGE_ASSIGN_OR_RETURN(out.p50_ms, r.Number("p50_ms"));
  RIDGE_ASSIGN_OR_RETURN(out.p99_ms, r.Number("p99_ms"));
  RIDGE_ASSIGN_OR_RETURN(out.total_ms, r.Number("total_ms"));
  return out;
}

void Derive(PipelineSection& p) {
  p.total_stage_ms = 0;
  for (const auto& s : p.stages) p.total_stage_ms += s.total_ms;
  for (auto& s : p.stages) {
    s.share = s.total_ms / p.total_stage_ms;
    if (s.stage == "infer") {
      p.infer_share = s.share;
      p.infer_mean_ms = s.mean_ms;
    } else if (s.stage == "decode") {
      p.decode_share = s.share;
    } else if (s.stage == "pre" || s.stage == "post") {
      p.pre_post_share += s.share;
    } else {
      p.copies_share += s.share;
    }
  }
}

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f%%", 100 * share);
  return buf;
}

}  // namespace

const PipelineStage* PipelineSection::Find(const std::string& name) const {
  for (const auto& s : stages)
    if (s.stage == name) return &s;
  return nullptr;
}

Result<PipelineSection> ParsePipelineJson(const std::string& text, const std::string& what) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {  // boundary: nothing from nlohmann escapes
    return InvalidModel(what + ": not valid JSON (byte " + std::to_string(e.byte) +
                        "); expected the file `ridge pipeline --json` writes");
  } catch (const std::exception& e) {
    return InvalidModel(what + ": " + e.what());
  }
  if (!j.is_object())
    return InvalidModel(what +
                        ": not a JSON object; expected the file `ridge pipeline --json` "
                        "writes");
  Reader r(j, what);
  PipelineSection p;
  p.file = what;
  RIDGE_ASSIGN_OR_RETURN(p.model, r.String("model"));
  p.task = r.OptionalString("task");
  p.source = r.OptionalString("source");
  p.device = r.OptionalString("device");
  p.pre = r.OptionalString("pre");
  p.post = r.OptionalString("post");
  p.description = r.OptionalString("description");
  if (auto it = j.find("naive"); it != j.end() && it->is_boolean()) p.naive = it->get<bool>();
  RIDGE_ASSIGN_OR_RETURN(p.batch, r.Count("batch"));
  RIDGE_ASSIGN_OR_RETURN(p.inflight, r.Count("inflight"));
  RIDGE_ASSIGN_OR_RETURN(p.frames, r.Count("frames"));
  RIDGE_ASSIGN_OR_RETURN(p.wall_ms, r.Number("wall_ms"));
  RIDGE_ASSIGN_OR_RETURN(p.throughput_fps, r.Number("throughput_fps"));
  RIDGE_ASSIGN_OR_RETURN(p.overlap, r.Number("overlap"));
  if (p.batch < 1) return InvalidModel(what + ": field \"batch\" must be >= 1");
  if (p.frames < 1) return InvalidModel(what + ": no frames ran (\"frames\" is 0)");

  auto lat = j.find("latency_ms");
  if (lat == j.end() || !lat->is_object())
    return InvalidModel(what + ": missing object \"latency_ms\"");
  Reader lr(*lat, what + ": latency_ms");
  RIDGE_ASSIGN_OR_RETURN(p.latency_p50_ms, lr.Number("p50"));
  RIDGE_ASSIGN_OR_RETURN(p.latency_p99_ms, lr.Number("p99"));
  RIDGE_ASSIGN_OR_RETURN(p.latency_mean_ms, lr.Number("mean"));

  auto stages = j.find("stages");
  if (stages == j.end() || !stages->is_array())
    return InvalidModel(what + ": missing array \"stages\"");
  for (size_t i = 0; i < stages->size(); ++i) {
    std::string where = what + ": stages[" + std::to_string(i) + "]";
    RIDGE_ASSIGN_OR_RETURN(PipelineStage s, ParseStage((*stages)[i], where));
    bool known = false;
    for (const char* n : kStageNames) known = known || s.stage == n;
    if (!known)
      return InvalidModel(where + ": unknown stage \"" + s.stage +
                          "\" (expected decode, pre, H2D, infer, D2H or post)");
    if (p.Find(s.stage)) return InvalidModel(where + ": stage \"" + s.stage + "\" repeats");
    p.stages.push_back(std::move(s));
  }
  if (!p.Find("infer")) return InvalidModel(what + ": no \"infer\" stage in \"stages\"");
  double total = 0;
  for (const auto& s : p.stages) total += s.total_ms;
  if (!(total > 0) || !std::isfinite(total))
    return InvalidModel(what + ": the stages' total_ms sum to 0: nothing was measured");
  Derive(p);
  return p;
}

Result<PipelineSection> LoadPipelineJson(const std::string& path, const std::string& model_path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound("pipeline file '" + path + "' does not exist");
  if (!fs::is_regular_file(path, ec))
    return InvalidArgument("pipeline file '" + path + "' is not a regular file");
  uintmax_t size = fs::file_size(path, ec);
  if (ec) return IoError("cannot stat pipeline file '" + path + "': " + ec.message());
  if (size > kMaxFileBytes)
    return LimitExceeded("pipeline file '" + path + "' is " + std::to_string(size) +
                         " bytes; the limit is " + std::to_string(kMaxFileBytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open pipeline file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return IoError("failed reading pipeline file '" + path + "'");
  RIDGE_ASSIGN_OR_RETURN(PipelineSection p, ParsePipelineJson(text.str(), path));

  // Same model? The file records the path `ridge pipeline` was given, relative to where it ran,
  // so only the file name is a reliable key; a different directory is worth a warning only.
  fs::path measured(p.model), analyzed(model_path);
  if (measured.filename() != analyzed.filename()) {
    return InvalidArgument("pipeline file '" + path + "' measured '" + p.model + "', not '" +
                           model_path + "': run `ridge pipeline " + model_path +
                           " --json F` and pass that file");
  }
  fs::path a = fs::weakly_canonical(analyzed, ec);
  fs::path b = fs::weakly_canonical(measured, ec);
  if (ec || a != b) {
    p.warnings.push_back("the pipeline ran '" + p.model + "' and this analysis reads '" +
                         model_path + "': same file name, assumed to be the same model");
  }
  return p;
}

void CheckAgainstAnalysis(const analysis::Analysis& a, int64_t analyzed_batch, PipelineSection* p) {
  bool measured_on_gpu = p->device == "cuda";
  bool predicted_for_gpu = a.device.kind == "gpu";
  if (!p->device.empty() && measured_on_gpu != predicted_for_gpu) {
    p->warnings.push_back("the pipeline ran on " + p->device + " but the prediction is for " +
                          a.device.name + " (" + a.device.kind +
                          "): pass a matching --device to compare measured with predicted");
  }
  if (analyzed_batch > 0 && analyzed_batch != p->batch) {
    p->warnings.push_back("the pipeline ran batch " + std::to_string(p->batch) +
                          " and the analysis batch " + std::to_string(analyzed_batch) +
                          ": pass --batch " + std::to_string(p->batch) +
                          " to compare per-item times");
  }
}

double MeasuredOverPredicted(const analysis::Analysis& a, const PipelineSection& p) {
  double predicted_ms = a.prediction.total_s * 1e3;
  return predicted_ms > 0 ? p.infer_mean_ms / predicted_ms : 0;
}

std::string PipelineTakeaway(const PipelineSection& p) {
  std::string outside =
      "pre+post+copies = " + Percent(p.outside_share()) + " of end-to-end stage time";
  std::string network = "the network's " + Percent(p.infer_share);
  std::string s;
  if (p.outside_share() > p.infer_share) {
    s = outside + ": more than " + network;
  } else if (p.outside_share() >= 0.5 * p.infer_share) {
    s = outside + ": at least half of " + network;
  } else {
    s = "the network dominates: " + Percent(p.infer_share) + " of end-to-end stage time, " +
        "pre+post+copies " + Percent(p.outside_share());
  }
  if (p.decode_share > p.infer_share) {
    s += "; decoding (" + Percent(p.decode_share) + ") costs more than the network";
  } else if (p.decode_share >= 0.1) {
    s += "; decoding takes " + Percent(p.decode_share);
  }
  return s;
}

}  // namespace ridge::report
