// `ridge probe [--json F] [-o PROFILE.json] [--quick]`: measures this GPU's real peaks (HBM
// bandwidth, fp16 Tensor Core and fp32 GEMM throughput, launch and CUDA graph overheads, pinned
// PCIe copies) and can write them as a device profile that `ridge analyze --device F` and
// `ridge bench --device cuda --device-profile F` accept.
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "commands.h"
#ifdef RIDGE_HAVE_CUDA
#include "analysis/device_profile.h"
#include "backends/cuda/probe.h"
#include "backends/cuda/trace_writer.h"
#endif

namespace ridge::cli {
namespace {

struct ProbeFlags {
  std::string json_path, profile_path;
  bool quick = false;
};

#ifdef RIDGE_HAVE_CUDA
std::string Today() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

void PrintTable(const cuda::ProbeResult& r, const analysis::DeviceProfile* builtin) {
  std::printf(
      "%s  (sm_%d%d, %d SMs, SM clock %.0f MHz, memory clock %.0f MHz, %d-bit bus, "
      "L2 %.0f MiB, %.1f GiB)\n",
      r.gpu_name.c_str(), r.cc_major, r.cc_minor, r.sm_count, r.sm_clock_mhz, r.mem_clock_mhz,
      r.memory_bus_bits, r.l2_bytes / 1048576.0, r.global_memory_bytes / 1073741824.0);
  std::printf("%-40s %14s %14s %7s\n", "figure", "measured",
              builtin ? ("spec " + builtin->name).c_str() : "spec", "%");
  auto row = [&](const char* what, double v, double scale, const char* unit, double spec) {
    char m[32], s[32] = "-", pct[16] = "-";
    std::snprintf(m, sizeof(m), "%.2f %s", v / scale, unit);
    if (spec > 0) {
      std::snprintf(s, sizeof(s), "%.2f %s", spec / scale, unit);
      std::snprintf(pct, sizeof(pct), "%.0f%%", 100 * v / spec);
    }
    std::printf("%-40s %14s %14s %7s\n", what, m, s, pct);
  };
  row("HBM bandwidth (copy kernel, r+w)", r.hbm_bytes_per_s, 1e12, "TB/s",
      builtin ? builtin->memory_bytes_per_s : 0);
  std::string n = std::to_string(r.gemm_n);
  row(("fp16 Tensor Core GEMM " + n + "^3").c_str(), r.fp16_tc_flops_per_s, 1e12, "TF/s",
      builtin ? builtin->peak_fp16_flops_per_s : 0);
  row(("fp32 GEMM (no TF32) " + n + "^3").c_str(), r.fp32_flops_per_s, 1e12, "TF/s",
      builtin ? builtin->peak_fp32_flops_per_s : 0);
  row("launch, host time per kernel", r.launch_host_s, 1e-6, "us", 0);
  row("launches per second (empty kernels)", r.launches_per_s, 1e6, "M/s", 0);
  row(("CUDA graph, per node (" + std::to_string(r.graph_nodes) + " nodes)").c_str(),
      r.graph_node_s, 1e-6, "us", builtin ? builtin->launch_overhead_s : 0);
  row("H2D pinned 64 MiB", r.h2d_bytes_per_s, 1e9, "GB/s", 0);
  row("D2H pinned 64 MiB", r.d2h_bytes_per_s, 1e9, "GB/s", 0);
  std::printf("probe took %.1f s\n", r.seconds);
}

Status Probe(const ProbeFlags& f) {
  cuda::ProbeOptions options;
  options.quick = f.quick;
  RIDGE_ASSIGN_OR_RETURN(cuda::ProbeResult r, cuda::RunProbe(options));
  RIDGE_RETURN_IF_ERROR(cuda::CheckProbeResult(r));
  std::string builtin_name = cuda::BuiltinProfileFor(r.gpu_name);
  std::unique_ptr<analysis::DeviceProfile> builtin;
  if (!builtin_name.empty()) {
    auto p = analysis::LoadDeviceProfile(builtin_name, DataDir());
    if (p.ok()) builtin = std::make_unique<analysis::DeviceProfile>(*p);
  }
  PrintTable(r, builtin.get());
  const std::string profile = cuda::ProbeProfileJson(r, Today(), builtin.get());
  if (!f.profile_path.empty()) {
    RIDGE_RETURN_IF_ERROR(cuda::WriteTextFile(f.profile_path, profile));
    // What we wrote must load as a profile: catch a bad figure here, not in `ridge analyze`.
    RIDGE_RETURN_IF_ERROR(analysis::LoadDeviceProfile(f.profile_path, DataDir()).status());
    std::printf("device profile written to %s\n", f.profile_path.c_str());
  }
  if (!f.json_path.empty()) RIDGE_RETURN_IF_ERROR(cuda::WriteTextFile(f.json_path, profile));
  return Status::Ok();
}
#else
Status Probe(const ProbeFlags&) {
  return Unsupported("this build has no CUDA backend (configure with nvcc and cuDNN present)");
}
#endif

}  // namespace

Command RegisterProbe(CLI::App& parent) {
  auto f = std::make_shared<ProbeFlags>();
  CLI::App* app = parent.add_subcommand("probe", "Measure this GPU's peaks (device profile)");
  app->add_option("--json", f->json_path, "Write the measurements as JSON");
  app->add_option("-o,--output", f->profile_path,
                  "Write a device profile (data/devices format) for analyze --device");
  app->add_flag("--quick", f->quick, "Smaller sizes, fewer repetitions (about 5 s)");
  return {app, [f] {
            Status st = Probe(*f);
            return st.ok() ? 0 : ReportError("probe", st);
          }};
}

}  // namespace ridge::cli
