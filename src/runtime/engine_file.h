// The Ridgeline engine file (`model.ridge`): a versioned, checksummed container for a built
// model. A fixed little-endian header (magic, format version, sizes, batch, SM version, section
// count, SHA-256 of the source model and of the payload), seven length-prefixed strings
// (Ridgeline version, backend, device name, CUDA/cuDNN/cuBLAS versions, precision), a table of
// sections (type, flags, offset, length) and a SHA-256 of the header itself; then the payload:
// the sections (the optimized graph as ONNX, build metadata JSON, more later), 64-byte aligned.
// The byte layout is documented in docs/engine_file.md.
//
// Loading validates, in this order and before allocating anything the file merely claims:
// size >= fixed header, magic, format version, header fields bounded (string lengths, section
// count, offsets + lengths inside the file, no overlaps), header and payload SHA-256, backend /
// device compatibility (CheckCompatible), then parses the payload.
//
// Usage (what `ridge run` / `ridge bench` do with a .ridge file):
//   RIDGE_ASSIGN_OR_RETURN(LoadedEngine e, LoadEngineFile(path, EnvironmentInfo::Cpu()));
//   ops::InferShapes(e.graph, {});   // input shapes are concrete: bound at build time
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "onnx/loader.h"
#include "runtime/sha256.h"

namespace ridge::runtime {

inline constexpr char kEngineMagic[8] = {'R', 'I', 'D', 'G', 'E', 'E', 'N', 'G'};
inline constexpr uint32_t kEngineFormatVersion = 1;
inline constexpr size_t kEngineFixedHeaderBytes = 104;  // up to the strings
inline constexpr size_t kEngineMaxStringBytes = 256;    // each header string
inline constexpr uint32_t kEngineMaxSections = 64;
inline constexpr size_t kEngineSectionAlignment = 64;  // payload sections start on 64 bytes
inline constexpr int64_t kEngineMaxBatch = int64_t{1} << 20;
inline constexpr uint32_t kEngineMaxSmVersion = 1000;  // sm_90 is 90; sm_100 is 100

// Section types. Readers skip types they do not know unless the entry has kSectionRequired.
enum class SectionType : uint32_t {
  kOnnxGraph = 1,   // the optimized graph, an ONNX ModelProto (no external data)
  kBuildJson = 2,   // build metadata: options, source model, sizes, engine stats
  kPreprocess = 3,  // preprocessing baked in: spec text and frame size, a JSON object
  kTactics = 4,     // reserved: the CUDA timing cache's JSON (tactic choices), when it exists
};
inline constexpr uint32_t kSectionRequired = 1;  // flag: refuse the file if the type is unknown

// What the header says. The writer fills format_version, file_bytes, header_bytes and
// payload_sha256 itself; the reader fills them from the file.
struct EngineHeader {
  uint32_t format_version = kEngineFormatVersion;
  std::string ridge_version;  // e.g. "0.1.0"
  std::string backend;        // "cpu" now, "cuda" later
  std::string device_name;    // "cpu", or the GPU's name, e.g. "NVIDIA H100 80GB HBM3"
  uint32_t sm_version = 0;    // CUDA compute capability major*10+minor (90); 0 for cpu
  std::string cuda_version;   // runtime versions the engine was built with; "" for cpu
  std::string cudnn_version;
  std::string cublas_version;
  std::string precision;          // "fp32", "tf32", "fp16", "int8"
  int64_t batch = 0;              // dim 0 bound at build time; 0: none (no batched input)
  Sha256Digest model_sha256{};    // of the source .onnx file
  Sha256Digest payload_sha256{};  // of every byte after the header
  uint64_t header_bytes = 0;
  uint64_t file_bytes = 0;
};

struct EngineSection {
  uint32_t type = 0;
  uint32_t flags = 0;
  std::string bytes;
};

// A section as the table of contents lists it; `bytes` points into the buffer parsed.
struct SectionEntry {
  uint32_t type = 0;
  uint32_t flags = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string_view bytes;
};

// The running environment a file must match. For "cpu" only the backend is compared: the
// payload is a portable graph compiled when loaded. For "cuda" every field is compared, since
// kernels and tactics are chosen for one GPU, SM and library versions.
struct EnvironmentInfo {
  std::string backend;
  std::string ridge_version;
  std::string device_name;
  uint32_t sm_version = 0;
  std::string cuda_version;
  std::string cudnn_version;
  std::string cublas_version;

  static EnvironmentInfo Cpu() {
    EnvironmentInfo env;
    env.backend = "cpu";
    return env;
  }
};

// A container that passed every structural and checksum check (not yet compatibility).
struct EngineContainer {
  EngineHeader header;
  std::vector<SectionEntry> sections;  // in file order
};

struct LoadedEngine {
  EngineHeader header;
  std::vector<SectionEntry> sections;  // offsets and lengths only (bytes views are cleared)
  ir::Graph graph;                     // from the ONNX section, shapes as built
  std::string build_json;              // the metadata section ("" if absent)
  std::string preprocess_json;         // the preprocess section, a JSON object ("" if absent)
  std::string tactics_json;            // the tactics section, a JSON object ("" if absent)
};

// Serializes header + sections into a complete file image (checksums computed here).
// Fails on strings over kEngineMaxStringBytes or non-printable, too many sections, bad batch.
Result<std::string> SerializeEngine(const EngineHeader& header,
                                    const std::vector<EngineSection>& sections);
// SerializeEngine, then writes `path` atomically (a temporary file renamed over it).
Status WriteEngineFile(const std::string& path, const EngineHeader& header,
                       const std::vector<EngineSection>& sections);

// Structural and checksum validation of a file image. Errors: DataLoss (truncated, checksum),
// InvalidModel (magic, fields out of bounds, overlaps), Unsupported (other format version).
// Messages start with `display_name` and name the field and its byte offset.
Result<EngineContainer> ParseEngineContainer(std::string_view bytes,
                                             const std::string& display_name);

// Unsupported, naming the first field that differs, e.g. "sm_version: engine built for sm_86,
// this GPU is sm_90; rebuild the engine on this machine (ridge build)".
Status CheckCompatible(const EngineHeader& header, const EnvironmentInfo& env);

// ParseEngineContainer + CheckCompatible + parses the ONNX and JSON sections.
Result<LoadedEngine> LoadEngineFromBytes(std::string_view bytes, const std::string& display_name,
                                         const EnvironmentInfo& env,
                                         const onnx::LoadOptions& options = {});
// Reads `path` (refusing files over options.limits.max_file_bytes before reading) and loads it.
Result<LoadedEngine> LoadEngineFile(const std::string& path, const EnvironmentInfo& env,
                                    const onnx::LoadOptions& options = {});

// Reads `path` and validates its container (structure and checksums) without the
// compatibility check: how `ridge run` / `ridge bench` learn which backend a file is for.
// The sections' byte views are cleared (the buffer does not outlive the call).
Result<EngineContainer> ReadEngineContainer(const std::string& path,
                                            const onnx::LoadOptions& options = {});

// True if `path` starts with the engine magic (how `ridge run` can tell .ridge from .onnx).
bool IsEngineFile(const std::string& path);

// Recomputes the header and payload checksums of a file image in place, if its header is
// well-formed enough to locate them (fuzzing and tests: reach the checks behind the checksums).
Status ResealEngineBytes(std::string* bytes);

std::string SectionTypeName(uint32_t type);

}  // namespace ridge::runtime
