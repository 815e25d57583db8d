// Tactic selection of the CUDA engine: time candidates on the real shapes and buffers (CUDA
// events, median of a few runs after warm-up), keep the fastest, remember it in the timing
// cache under the layer's signature. Candidates come from conv_step.cc (cuDNN algorithms and,
// for 1x1 convs, cuBLASLt algos) and gemm_step.cc (cuBLASLt algos).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "backends/cuda/engine_impl.h"

namespace ridge::cuda {
namespace {

constexpr int kWarmupRuns = 2;
constexpr int kTimedRuns = 5;

std::string ToHex(const void* data, size_t bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(bytes * 2, '0');
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 15];
  }
  return s;
}

bool FromHex(const std::string& s, void* data, size_t bytes) {
  if (s.size() != bytes * 2) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  auto* p = static_cast<unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) {
    const int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    p[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f ms", ms);
  return buf;
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Result<TacticEnvironment> CurrentTacticEnvironment() {
  TacticEnvironment env;
  int dev = 0;
  RIDGE_CUDA(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  RIDGE_CUDA(cudaGetDeviceProperties(&prop, dev));
  env.gpu_name = prop.name;
  env.sm = prop.major * 10 + prop.minor;
  RIDGE_CUDA(cudaDriverGetVersion(&env.driver_version));
  RIDGE_CUDA(cudaRuntimeGetVersion(&env.cuda_runtime_version));
  env.cudnn_version = static_cast<int64_t>(cudnnGetVersion());
  env.cublas_version = static_cast<int64_t>(cublasLtGetVersion());
  return env;
}

Result<double> Engine::Impl::TimeMedian(const std::function<Status(cudaStream_t)>& launch) {
  cudaGetLastError();  // start clean: an earlier failed candidate must not be blamed on this one
  for (int i = 0; i < kWarmupRuns; ++i) RIDGE_RETURN_IF_ERROR(launch(stream));
  RIDGE_CUDA(cudaGetLastError());
  cudaEvent_t ev[kTimedRuns + 1] = {};
  Status st;
  for (int i = 0; i <= kTimedRuns && st.ok(); ++i)
    st = CudaStatus(cudaEventCreate(&ev[i]), "cudaEventCreate");
  // Back-to-back runs with an event between each: one sync, per-run times, no host gaps.
  if (st.ok()) st = CudaStatus(cudaEventRecord(ev[0], stream), "cudaEventRecord");
  for (int i = 0; i < kTimedRuns && st.ok(); ++i) {
    st = launch(stream);
    if (st.ok()) st = CudaStatus(cudaEventRecord(ev[i + 1], stream), "cudaEventRecord");
  }
  if (st.ok()) st = CudaStatus(cudaEventSynchronize(ev[kTimedRuns]), "timing a candidate");
  if (st.ok()) st = CudaStatus(cudaGetLastError(), "candidate launch");
  std::vector<double> ms;
  for (int i = 0; i < kTimedRuns && st.ok(); ++i) {
    float t = 0;
    st = CudaStatus(cudaEventElapsedTime(&t, ev[i], ev[i + 1]), "cudaEventElapsedTime");
    ms.push_back(t);
  }
  for (cudaEvent_t e : ev)
    if (e) cudaEventDestroy(e);
  RIDGE_RETURN_IF_ERROR(st);
  std::nth_element(ms.begin(), ms.begin() + kTimedRuns / 2, ms.end());
  return ms[kTimedRuns / 2];
}

Status Engine::Impl::EnsureTimingWorkspace() {
  if (timing_ws || options.max_workspace_bytes <= 0) return Status::Ok();
  // As large as allowed; halve when that much is not free (cuDNN candidates needing more are
  // skipped, so the choice is still one the run-time workspace can hold).
  size_t bytes = static_cast<size_t>(options.max_workspace_bytes);
  while (cudaMalloc(&timing_ws, bytes) != cudaSuccess && bytes > (size_t{1} << 20)) bytes /= 2;
  cudaGetLastError();
  if (!timing_ws) return Status::Ok();
  timing_ws_bytes = static_cast<int64_t>(bytes);
  return Status::Ok();
}

Result<Tactic> Engine::Impl::ChooseTactic(
    const std::string& what, const std::string& key,
    const std::function<Result<std::vector<Tactic>>()>& candidates,
    const std::function<Status(const Tactic&)>& apply,
    const std::function<Status(cudaStream_t)>& launch,
    const std::function<std::string(const Tactic&)>& name) {
  auto log = [&](const std::string& line) {
    if (options.build_log) options.build_log(what + " : " + line);
  };
  const auto describe = [&](const Tactic& t) {
    return name ? t.Describe() + " (" + name(t) + ")" : t.Describe();
  };
  if (const Tactic* hit = cache->Find(key)) {
    const Tactic t = *hit;
    Status s = apply(t);
    if (s.ok()) {
      stats.tactic_layers_cached++;
      log(describe(t) + " " + Ms(t.ms) +
          (keys_timed.count(key) ? ", same as an earlier layer" : ", cached"));
      return t;
    }
    log("cached " + describe(t) + " is unusable here (" + s.message() + "); timing again");
  }
  const auto t0 = std::chrono::steady_clock::now();
  RIDGE_ASSIGN_OR_RETURN(std::vector<Tactic> cands, candidates());
  Tactic best;
  int32_t timed = 0;
  std::string first_error;
  for (Tactic& c : cands) {
    Status s = apply(c);
    Result<double> ms = s.ok() ? TimeMedian(launch) : Result<double>(s);
    if (!ms.ok()) {  // this candidate cannot run this layer: skip it
      if (first_error.empty()) first_error = c.Describe() + ": " + ms.status().message();
      cudaGetLastError();
      continue;
    }
    ++timed;
    c.ms = *ms;
    if (best.library.empty() || c.ms < best.ms) best = c;
  }
  stats.tactic_ms += SecondsSince(t0) * 1e3;
  stats.tactic_candidates_timed += timed;
  if (best.library.empty()) {
    return Unsupported("no tactic ran for " + what + " (" + std::to_string(cands.size()) +
                       " candidates" + (first_error.empty() ? "" : "; first: " + first_error) +
                       ")");
  }
  best.candidates = timed;
  RIDGE_RETURN_IF_ERROR(apply(best));
  cache->Put(key, best);
  keys_timed.insert(key);
  stats.tactic_layers_timed++;
  std::string knobs;
  if (best.library == "cublaslt") {
    cublasLtMatmulAlgo_t algo{};
    if (FromHex(best.blob_hex, &algo, sizeof(algo))) knobs = " (" + LtKnobs(algo) + ")";
  }
  log(describe(best) + knobs + " " + Ms(best.ms) + " of " + std::to_string(timed) + " candidates");
  return best;
}

Result<std::vector<Tactic>> Engine::Impl::LtCandidates(const LtGemm& g, int32_t max) const {
  max = std::clamp<int32_t>(max, 1, 32);
  cublasLtMatmulPreference_t pref = nullptr;
  RIDGE_CUBLAS(cublasLtMatmulPreferenceCreate(&pref));
  size_t ws = static_cast<size_t>(lt_workspace_bytes);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                       sizeof(ws));
  std::vector<cublasLtMatmulHeuristicResult_t> heur(static_cast<size_t>(max));
  int found = 0;
  cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(lt, g.desc, g.a, g.b, g.c, g.c, pref, max,
                                                     heur.data(), &found);
  cublasLtMatmulPreferenceDestroy(pref);
  RIDGE_CUBLAS(hs);
  std::vector<Tactic> out;
  for (int i = 0; i < std::min(found, max); ++i) {
    if (heur[i].state != CUBLAS_STATUS_SUCCESS) continue;
    Tactic t;
    t.library = "cublaslt";
    int32_t id = -1;
    size_t written = 0;
    cublasLtMatmulAlgoConfigGetAttribute(&heur[i].algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id),
                                         &written);
    t.algo = id;
    t.blob_hex = ToHex(&heur[i].algo, sizeof(heur[i].algo));
    t.workspace_bytes = static_cast<int64_t>(heur[i].workspaceSize);
    out.push_back(std::move(t));
  }
  return out;
}

Status Engine::Impl::ApplyLtTactic(const Tactic& t, LtGemm* g) const {
  cublasLtMatmulAlgo_t algo{};
  if (t.library != "cublaslt" || !FromHex(t.blob_hex, &algo, sizeof(algo)))
    return InvalidArgument("not a cuBLASLt algo of this cuBLAS build");
  cublasLtMatmulHeuristicResult_t check{};
  RIDGE_CUBLAS(cublasLtMatmulAlgoCheck(lt, g->desc, g->a, g->b, g->c, g->c, &algo, &check));
  if (check.workspaceSize > static_cast<size_t>(lt_workspace_bytes))
    return Unsupported("the algo needs more cuBLASLt workspace than the engine has");
  g->algo = algo;
  return Status::Ok();
}

std::string Engine::Impl::LtKnobs(const cublasLtMatmulAlgo_t& algo) {
  uint32_t tile = 0, stages = 0;
  int32_t splitk = 0;
  size_t written = 0;
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof(tile),
                                       &written);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages,
                                       sizeof(stages), &written);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk,
                                       sizeof(splitk), &written);
  return "tile " + std::to_string(tile) + ", stages " + std::to_string(stages) + ", splitk " +
         std::to_string(splitk);
}

}  // namespace ridge::cuda
