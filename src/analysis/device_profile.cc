// Device profiles from data/devices/<name>.json. Every figure must be present, numeric and
// non-negative, and must name its public source in "sources" (an object keyed by figure), so a
// profile cannot silently carry an unsourced number.
#include "analysis/device_profile.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>

namespace ridge::analysis {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kMaxProfileBytes = 1 << 20;  // a profile is a few KB; refuse anything huge

// Figures every profile carries, each of which needs an entry in "sources".
struct FigureField {
  const char* key;
  double DeviceProfile::*member;
  bool must_be_positive;  // fp32 peak and bandwidth: 0 would divide by zero downstream
};
constexpr FigureField kFigures[] = {
    {"peak_fp32_flops_per_s", &DeviceProfile::peak_fp32_flops_per_s, true},
    {"peak_tf32_flops_per_s", &DeviceProfile::peak_tf32_flops_per_s, false},
    {"peak_fp16_flops_per_s", &DeviceProfile::peak_fp16_flops_per_s, false},
    {"peak_int8_ops_per_s", &DeviceProfile::peak_int8_ops_per_s, false},
    {"memory_bytes_per_s", &DeviceProfile::memory_bytes_per_s, true},
    {"l2_bytes", &DeviceProfile::l2_bytes, false},
    {"launch_overhead_s", &DeviceProfile::launch_overhead_s, false},
};

Result<std::string> ReadSmallFile(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return NotFound("cannot read device profile '" + path.string() + "': " + ec.message());
  if (size > static_cast<uintmax_t>(kMaxProfileBytes)) {
    return LimitExceeded("device profile '" + path.string() + "' is " + std::to_string(size) +
                         " bytes; profiles are limited to 1 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open device profile '" + path.string() + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::string> GetString(const json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return InvalidArgument(std::string("missing field \"") + key + "\"");
    return std::string();
  }
  if (!it->is_string())
    return InvalidArgument(std::string("field \"") + key + "\" must be a string");
  return it->get<std::string>();
}

Result<int> GetAlign(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return InvalidArgument(std::string("missing field \"") + key + "\"");
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 1024) {
    return InvalidArgument(std::string("field \"") + key + "\" must be an integer in 1..1024");
  }
  return static_cast<int>(it->get<int64_t>());
}

Result<DeviceProfile> ParseProfile(const json& j) {
  if (!j.is_object()) return InvalidArgument("a device profile must be a JSON object");
  DeviceProfile p;
  RIDGE_ASSIGN_OR_RETURN(p.name, GetString(j, "name", true));
  RIDGE_ASSIGN_OR_RETURN(p.display_name, GetString(j, "display_name", true));
  RIDGE_ASSIGN_OR_RETURN(p.kind, GetString(j, "kind", true));
  if (p.kind != "gpu" && p.kind != "cpu") {
    return InvalidArgument("field \"kind\" must be \"gpu\" or \"cpu\", got \"" + p.kind + "\"");
  }
  auto sources = j.find("sources");
  if (sources == j.end() || !sources->is_object()) {
    return InvalidArgument("missing field \"sources\" (an object: figure name -> public source)");
  }
  for (const FigureField& f : kFigures) {
    auto it = j.find(f.key);
    if (it == j.end()) return InvalidArgument(std::string("missing field \"") + f.key + "\"");
    if (!it->is_number())
      return InvalidArgument(std::string("field \"") + f.key + "\" must be a number");
    double v = it->get<double>();
    if (!(v >= 0) || v > 1e30 || (f.must_be_positive && v == 0)) {
      return InvalidArgument(std::string("field \"") + f.key + "\" must be " +
                             (f.must_be_positive ? "positive" : "non-negative") + " and finite");
    }
    p.*(f.member) = v;
    auto src = sources->find(f.key);
    if (src == sources->end() || !src->is_string() || src->get<std::string>().empty()) {
      return InvalidArgument(std::string("figure \"") + f.key + "\" has no entry in \"sources\"");
    }
    p.sources.push_back(std::string(f.key) + ": " + src->get<std::string>());
  }
  RIDGE_ASSIGN_OR_RETURN(p.tensor_core_align_fp16, GetAlign(j, "tensor_core_align_fp16"));
  RIDGE_ASSIGN_OR_RETURN(p.tensor_core_align_int8, GetAlign(j, "tensor_core_align_int8"));
  // The kernel model's figures are optional, each with a source when present.
  struct OptionalFigure {
    const char* key;
    double lo, hi;
  };
  for (const OptionalFigure& f :
       {OptionalFigure{"sm_count", 1, 4096}, OptionalFigure{"kernel_floor_s", 0, 1e-2},
        OptionalFigure{"compute_efficiency", 1e-3, 1}, OptionalFigure{"memory_efficiency", 1e-3, 1},
        OptionalFigure{"streaming_memory_efficiency", 1e-3, 1}}) {
    auto it = j.find(f.key);
    if (it == j.end()) continue;
    if (!it->is_number() || !(it->get<double>() >= f.lo) || !(it->get<double>() <= f.hi)) {
      return InvalidArgument(std::string("field \"") + f.key + "\" must be a number in [" +
                             std::to_string(f.lo) + ", " + std::to_string(f.hi) + "]");
    }
    auto src = sources->find(f.key);
    if (src == sources->end() || !src->is_string() || src->get<std::string>().empty()) {
      return InvalidArgument(std::string("figure \"") + f.key + "\" has no entry in \"sources\"");
    }
    p.sources.push_back(std::string(f.key) + ": " + src->get<std::string>());
    const double v = it->get<double>();
    if (f.key == std::string_view("sm_count")) p.sm_count = static_cast<int>(v);
    if (f.key == std::string_view("kernel_floor_s")) p.kernel_floor_s = v;
    if (f.key == std::string_view("compute_efficiency")) p.compute_efficiency = v;
    if (f.key == std::string_view("memory_efficiency")) p.memory_efficiency = v;
    if (f.key == std::string_view("streaming_memory_efficiency")) {
      p.streaming_memory_efficiency = v;
    }
  }
  auto align_src = sources->find("tensor_core_align");
  if (align_src == sources->end() || !align_src->is_string()) {
    return InvalidArgument("\"tensor_core_align\" has no entry in \"sources\"");
  }
  p.sources.push_back("tensor_core_align: " + align_src->get<std::string>());
  return p;
}

Result<DeviceProfile> LoadFile(const fs::path& path) {
  RIDGE_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return InvalidArgument("device profile '" + path.string() + "' is not valid JSON");
  }
  auto profile = ParseProfile(j);
  if (!profile.ok()) return profile.status().WithContext("device profile '" + path.string() + "'");
  return profile;
}

// Short names a profile answers to besides its file name ("h100" for h100-sxm).
std::vector<std::string> AliasesOf(const fs::path& path) {
  auto text = ReadSmallFile(path);
  if (!text.ok()) return {};
  json j = json::parse(*text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_object() && j.contains("aliases") && j["aliases"].is_array()) {
    for (const auto& a : j["aliases"])
      if (a.is_string()) out.push_back(a.get<std::string>());
  }
  return out;
}

}  // namespace

double DeviceProfile::PeakFlopsPerS(Precision p) const {
  // A missing Tensor Core mode (0: T4 has no TF32, CPUs have none) falls back to the next mode
  // the hardware would actually use.
  switch (p) {
    case Precision::kFp32:
      return peak_fp32_flops_per_s;
    case Precision::kTf32:
      return peak_tf32_flops_per_s > 0 ? peak_tf32_flops_per_s : peak_fp32_flops_per_s;
    case Precision::kFp16:
      return peak_fp16_flops_per_s > 0 ? peak_fp16_flops_per_s : peak_fp32_flops_per_s;
    case Precision::kInt8:
      if (peak_int8_ops_per_s > 0) return peak_int8_ops_per_s;
      return peak_fp16_flops_per_s > 0 ? peak_fp16_flops_per_s : peak_fp32_flops_per_s;
  }
  return peak_fp32_flops_per_s;
}

double DeviceProfile::VectorFlopsPerS(Precision /*p*/) const {
  // Elementwise math runs on the CUDA cores / SIMD units. Packed fp16 can double this on some
  // chips, but elementwise kernels are memory-bound by orders of magnitude, so the fp32 rate is
  // used for every precision (a conservative, source-backed figure).
  return peak_fp32_flops_per_s;
}

Result<DeviceProfile> LoadDeviceProfile(const std::string& name_or_path,
                                        const std::string& data_dir) {
  if (name_or_path.empty()) return InvalidArgument("empty device name");
  bool looks_like_path =
      name_or_path.find('/') != std::string::npos ||
      (name_or_path.size() > 5 && name_or_path.compare(name_or_path.size() - 5, 5, ".json") == 0);
  if (looks_like_path) return LoadFile(name_or_path);

  fs::path dir = fs::path(data_dir) / "devices";
  fs::path direct = dir / (name_or_path + ".json");
  std::error_code ec;
  if (fs::is_regular_file(direct, ec)) return LoadFile(direct);
  for (const std::string& name : ListDeviceProfiles(data_dir)) {
    fs::path file = dir / (name + ".json");
    for (const std::string& alias : AliasesOf(file))
      if (alias == name_or_path) return LoadFile(file);
  }
  std::string known;
  for (const std::string& name : ListDeviceProfiles(data_dir)) {
    known += (known.empty() ? "" : ", ") + name;
    for (const std::string& alias : AliasesOf(dir / (name + ".json"))) known += " (" + alias + ")";
  }
  return NotFound("unknown device '" + name_or_path + "'; available: " +
                  (known.empty() ? "none (no profiles under " + dir.string() + ")" : known));
}

std::vector<std::string> ListDeviceProfiles(const std::string& data_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(fs::path(data_dir) / "devices", ec);
  if (ec) return names;
  for (const auto& entry : it) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace ridge::analysis
