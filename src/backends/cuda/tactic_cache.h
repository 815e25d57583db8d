// Tactic choices of the CUDA engine and the persistent timing cache that makes rebuilds fast.
//
// At build the engine times several implementations ("tactics") of each conv and GEMM on the
// real shapes and keeps the fastest. The choice depends only on the layer's signature (op,
// shapes, dtypes, attributes, precision, limits) and on the environment (GPU, driver and
// library versions), so it is stored under a key built from the signature, in a cache that
// records the environment it was measured in. A cache from another environment is dropped,
// never trusted: an algorithm id or a serialized cuBLASLt algo is meaningless across library
// versions, and a timing is meaningless across GPUs.
//
// Plain C++ (no CUDA include): the cache file format is tested on every machine.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace ridge::cuda {

// What a timing is valid for. Filled by CurrentTacticEnvironment() (engine.h) on a GPU.
struct TacticEnvironment {
  std::string gpu_name;                                  // cudaDeviceProp::name
  int32_t sm = 0;                                        // compute capability, major * 10 + minor
  int32_t driver_version = 0, cuda_runtime_version = 0;  // cudaDriverGetVersion / RuntimeGet
  int64_t cudnn_version = 0, cublas_version = 0;         // cudnnGetVersion, cublasLtGetVersion
  bool empty() const { return gpu_name.empty() && sm == 0; }
  // One line: "NVIDIA H200, sm 90, driver 12080, CUDA 13000, cuDNN 91900, cuBLAS 130000".
  std::string Describe() const;
  bool operator==(const TacticEnvironment& o) const;
  bool operator!=(const TacticEnvironment& o) const { return !(*this == o); }
};

// One chosen implementation of a layer: enough to rebuild it without timing anything.
struct Tactic {
  // "cudnn" (a cuDNN convolution algorithm), "cublaslt", or "ridge" (one of Ridgeline's own
  // kernel variants, e.g. kernels::DepthwiseKernel)
  std::string library;
  int32_t algo = -1;     // cudnn: cudnnConvolutionFwdAlgo_t; cublaslt: the algo id; ridge: variant
  int32_t math = 0;      // cudnn: cudnnMathType_t (the knob that goes with the algo)
  std::string blob_hex;  // cublaslt: the cublasLtMatmulAlgo_t bytes, lowercase hex
  int64_t workspace_bytes = 0;  // what the tactic needs
  double ms = 0;                // its median time when it was chosen
  int32_t candidates = 0;       // how many candidates were timed to choose it
  // "cudnn algo 1 (math 1, workspace 4096 B)" / "cublaslt algo 21 (tile ..)".
  std::string Describe() const;
  bool operator==(const Tactic& o) const;
};

// A layer signature, built field by field: "conv|prec=fp16|x=1x64x56x56|...". The same fields in
// the same order give the same key; any changed field gives another key.
class TacticKey {
 public:
  explicit TacticKey(std::string_view op);
  TacticKey& Add(std::string_view name, int64_t value);
  TacticKey& Add(std::string_view name, const std::vector<int64_t>& values);
  TacticKey& Add(std::string_view name, std::string_view value);
  const std::string& str() const { return key_; }

 private:
  std::string key_;
};

class TacticCache {
 public:
  // Bounds on what Parse accepts (a larger file is refused, never allocated).
  static constexpr size_t kMaxJsonBytes = size_t{32} << 20;
  static constexpr size_t kMaxEntries = 100000;
  static constexpr size_t kMaxKeyChars = 2048;
  static constexpr size_t kMaxBlobHexChars = 512;

  TacticCache() = default;

  const Tactic* Find(const std::string& key) const;
  void Put(const std::string& key, const Tactic& tactic);
  size_t size() const { return entries_.size(); }
  void Clear() { entries_.clear(); }
  const std::map<std::string, Tactic>& entries() const { return entries_; }

  // The environment the entries were measured in (empty for a fresh cache).
  const TacticEnvironment& environment() const { return env_; }
  // Called by the engine before it uses the cache: entries from another environment are
  // dropped (and `note`, when given, gets one line saying so); then the cache belongs to
  // `current`. Returns whether the entries were kept.
  bool MatchEnvironment(const TacticEnvironment& current, std::string* note = nullptr);

  // The whole cache as JSON (entries sorted by key, so the text is deterministic):
  // {"format": "ridge-timing-cache", "version": 1, "environment": {...}, "entries": [...]}.
  std::string ToJson() const;
  // Replaces the cache with the one in `json`. Strict and bounded: any malformed, oversized or
  // out-of-range field fails with DataLoss/LimitExceeded naming it, and leaves the cache empty.
  Status Parse(const std::string& json);

  // Persistence. LoadFile: NotFound when the file does not exist (a cold cache, not a problem);
  // any other failure leaves the cache empty (callers print it as a warning). SaveFile writes a
  // temporary file next to `path` and renames it, creating the folder when needed.
  Status LoadFile(const std::string& path);
  Status SaveFile(const std::string& path) const;
  // $XDG_CACHE_HOME/ridge/timing_cache.json, else $HOME/.cache/ridge/timing_cache.json; empty
  // when neither variable is set.
  static std::string DefaultPath();

 private:
  TacticEnvironment env_;
  std::map<std::string, Tactic> entries_;
};

// The cache file of one command (ridge bench / build / pipeline): Open picks the path (the
// explicit one, else TacticCache::DefaultPath(); none when disabled) and reads it: a missing
// file is a cold cache, a bad one a line to `warn` and an empty cache. Save writes it back
// (failures go to `warn` too): a cache problem never fails the command.
struct TacticCacheFile {
  TacticCache cache;
  std::string path;  // empty: no file (disabled, or no home folder)
  void Open(const std::string& explicit_path, bool disabled,
            const std::function<void(const std::string&)>& warn);
  void Save(const std::function<void(const std::string&)>& warn) const;
};

// Layers done / total while tactics are chosen, on a stream of text (stderr in the CLI). On a
// TTY a bar is redrawn in place ("\r[#####.....] 12/53 layers  1.4 s"); otherwise one line is
// written each time another ~10% is done, so logs stay short.
class BuildProgress {
 public:
  BuildProgress(int32_t total, bool tty, std::function<void(const std::string&)> write);
  void Update(int32_t done, double elapsed_s);
  // The last state and a newline (on a TTY) or the final line.
  void Finish(double elapsed_s);
  // After a failure: ends the bar's line on a TTY (so the error starts on its own line).
  void Abort();
  static std::string Bar(int32_t done, int32_t total, double elapsed_s, int32_t width = 30);

 private:
  int32_t total_;
  bool tty_;
  std::function<void(const std::string&)> write_;
  int32_t last_decile_ = 0;  // lines are written from 10% on
  int32_t done_ = 0;
};

}  // namespace ridge::cuda
