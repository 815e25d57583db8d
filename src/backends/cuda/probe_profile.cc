#include "backends/cuda/probe_profile.h"

#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>

namespace ridge::cuda {
namespace {

bool Contains(const std::string& hay, const char* needle) {
  return hay.find(needle) != std::string::npos;
}

// `word` as a whole token: "L4" is in "NVIDIA L4" but not in "NVIDIA L40S".
bool HasWord(const std::string& hay, const std::string& word) {
  for (size_t at = hay.find(word); at != std::string::npos; at = hay.find(word, at + 1)) {
    const size_t end = at + word.size();
    const bool left = at == 0 || !std::isalnum(static_cast<unsigned char>(hay[at - 1]));
    const bool right = end == hay.size() || !std::isalnum(static_cast<unsigned char>(hay[end]));
    if (left && right) return true;
  }
  return false;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Fmt(double v, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4g %s", v, unit);
  return buf;
}

}  // namespace

std::string BuiltinProfileFor(const std::string& gpu_name) {
  const std::string n = Upper(gpu_name);
  // Most specific first: "H100 PCIe" before "H100", "A100-PCIE" before "A100".
  if (Contains(n, "H200")) return "h200";
  if (Contains(n, "H100")) return Contains(n, "PCIE") ? "h100-pcie" : "h100-sxm";
  if (Contains(n, "A100")) return Contains(n, "PCIE") ? "a100-pcie" : "a100-sxm";
  if (Contains(n, "RTX 4090")) return "rtx4090";
  if (Contains(n, "TITAN RTX")) return "titan-rtx";
  if (Contains(n, "ORIN")) return "jetson-agx-orin";
  if (HasWord(n, "L4")) return "l4";
  if (HasWord(n, "T4")) return "t4";
  return "";
}

std::string MeasuredProfileName(const std::string& gpu_name) {
  std::string out = "measured-";
  bool dash = true;  // no leading or doubled dashes
  for (char c : gpu_name) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out += static_cast<char>(std::tolower(u));
      dash = false;
    } else if (!dash) {
      out += '-';
      dash = true;
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out == "measured" ? "measured-gpu" : out;
}

Status CheckProbeResult(const ProbeResult& r) {
  auto bad = [](double v) { return !(v > 0) || !std::isfinite(v) || v > 1e30; };
  if (bad(r.fp32_flops_per_s)) return Internal("probe: fp32 GEMM throughput was not measured");
  if (bad(r.hbm_bytes_per_s)) return Internal("probe: memory bandwidth was not measured");
  return Status::Ok();
}

std::string ProbeProfileJson(const ProbeResult& r, const std::string& date,
                             const analysis::DeviceProfile* builtin) {
  using nlohmann::json;
  const std::string measured = "measured by ridge probe on " + date;
  json j;
  j["name"] = MeasuredProfileName(r.gpu_name);
  j["display_name"] = r.gpu_name + " (measured)";
  j["kind"] = "gpu";
  j["source"] = measured;
  j["peak_fp32_flops_per_s"] = r.fp32_flops_per_s;
  j["peak_fp16_flops_per_s"] = r.fp16_tc_flops_per_s;
  j["memory_bytes_per_s"] = r.hbm_bytes_per_s;
  j["l2_bytes"] = r.l2_bytes;
  j["launch_overhead_s"] = r.graph_node_s;
  j["sm_count"] = r.sm_count;
  j["tensor_core_align_fp16"] = builtin ? builtin->tensor_core_align_fp16 : 8;
  j["tensor_core_align_int8"] = builtin ? builtin->tensor_core_align_int8 : 16;
  json src;
  const std::string n = std::to_string(r.gemm_n);
  src["peak_fp32_flops_per_s"] = measured + ": cuBLASLt fp32 GEMM " + n + "^3, no TF32 (" +
                                 Fmt(r.fp32_flops_per_s / 1e12, "TFLOP/s") + ")";
  src["peak_fp16_flops_per_s"] = measured + ": cuBLASLt fp16 GEMM " + n + "^3, fp32 accumulate (" +
                                 Fmt(r.fp16_tc_flops_per_s / 1e12, "TFLOP/s") + ")";
  src["memory_bytes_per_s"] = measured + ": device copy kernel, read + write bytes (" +
                              Fmt(r.hbm_bytes_per_s / 1e9, "GB/s") + ")";
  src["l2_bytes"] = measured + ": cudaDevAttrL2CacheSize";
  src["sm_count"] = measured + ": cudaDevAttrMultiProcessorCount";
  src["launch_overhead_s"] = measured + ": per node of a replayed CUDA graph of " +
                             std::to_string(r.graph_nodes) + " empty kernels";
  // Not measured: carried over from the built-in profile (with its source) or 0.
  auto carry = [&](const char* key, double analysis::DeviceProfile::*member) {
    if (builtin != nullptr && builtin->*member > 0) {
      j[key] = builtin->*member;
      src[key] = "not measured; from built-in profile " + builtin->name;
    } else {
      j[key] = 0.0;
      src[key] = "not measured by ridge probe (0: unknown)";
    }
  };
  carry("peak_tf32_flops_per_s", &analysis::DeviceProfile::peak_tf32_flops_per_s);
  carry("peak_int8_ops_per_s", &analysis::DeviceProfile::peak_int8_ops_per_s);
  src["tensor_core_align"] =
      builtin ? "from built-in profile " + builtin->name
              : "NVIDIA Deep Learning Performance Guide, 'Matrix Multiplication Background: "
                "Tensor Core Requirements' (multiples of 8 for FP16, 16 for INT8)";
  j["sources"] = src;
  j["measured"] = {
      {"sm_count", r.sm_count},
      {"compute_capability", std::to_string(r.cc_major) + "." + std::to_string(r.cc_minor)},
      {"sm_clock_mhz", r.sm_clock_mhz},
      {"mem_clock_mhz", r.mem_clock_mhz},
      {"memory_bus_bits", r.memory_bus_bits},
      {"global_memory_bytes", r.global_memory_bytes},
      {"launch_host_s", r.launch_host_s},
      {"launches_per_s", r.launches_per_s},
      {"h2d_pinned_bytes_per_s", r.h2d_bytes_per_s},
      {"d2h_pinned_bytes_per_s", r.d2h_bytes_per_s},
      {"probe_seconds", r.seconds}};
  // Names from the driver could hold any bytes: replace invalid UTF-8 rather than throw.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace ridge::cuda
