#include "runtime/engine_file.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <new>
#include <nlohmann/json.hpp>

#include "core/dtype.h"

namespace ridge::runtime {
namespace {

// Byte offsets of the fixed header fields (docs/engine_file.md has the table).
constexpr size_t kOffMagic = 0;
constexpr size_t kOffFormatVersion = 8;
constexpr size_t kOffHeaderBytes = 12;
constexpr size_t kOffFileBytes = 16;
constexpr size_t kOffBatch = 24;
constexpr size_t kOffSmVersion = 32;
constexpr size_t kOffNumSections = 36;
constexpr size_t kOffModelSha = 40;
constexpr size_t kOffPayloadSha = 72;
static_assert(kOffPayloadSha + 32 == kEngineFixedHeaderBytes);

constexpr size_t kNumStrings = 7;
constexpr size_t kTocEntryBytes = 24;
constexpr size_t kDigestBytes = 32;
constexpr size_t kMinHeaderBytes = kEngineFixedHeaderBytes + kNumStrings * 2 + kDigestBytes;
constexpr size_t kMaxHeaderBytes = 4096;  // the largest valid header is 3478 bytes
static_assert(kEngineFixedHeaderBytes + kNumStrings * (2 + kEngineMaxStringBytes) +
                  kEngineMaxSections * kTocEntryBytes + kDigestBytes <=
              kMaxHeaderBytes);

// The header strings, in file order.
constexpr const char* kStringNames[kNumStrings] = {
    "ridge_version", "backend",        "device_name", "cuda_version",
    "cudnn_version", "cublas_version", "precision"};

std::string* StringField(EngineHeader& h, size_t i) {
  std::string* fields[kNumStrings] = {&h.ridge_version, &h.backend,       &h.device_name,
                                      &h.cuda_version,  &h.cudnn_version, &h.cublas_version,
                                      &h.precision};
  return fields[i];
}

uint64_t ReadLe(std::string_view b, size_t off, int num_bytes) {
  uint64_t v = 0;
  for (int i = num_bytes - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<uint8_t>(b[off + static_cast<size_t>(i)]);
  }
  return v;
}

void WriteLe(std::string& b, size_t off, uint64_t v, int num_bytes) {
  for (int i = 0; i < num_bytes; ++i)
    b[off + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
}

void PutLe(std::string& b, uint64_t v, int num_bytes) {
  for (int i = 0; i < num_bytes; ++i) b.push_back(static_cast<char>(v >> (8 * i)));
}

bool Printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

std::string Field(const char* name, size_t offset) {
  return std::string(name) + " (byte " + std::to_string(offset) + ")";
}

size_t AlignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

Status ValidateHeaderForWrite(const EngineHeader& h, const std::vector<EngineSection>& sections) {
  EngineHeader copy = h;
  for (size_t i = 0; i < kNumStrings; ++i) {
    const std::string& s = *StringField(copy, i);
    if (s.size() > kEngineMaxStringBytes || !Printable(s)) {
      return InvalidArgument(std::string(kStringNames[i]) + " must be printable ASCII of at most " +
                             std::to_string(kEngineMaxStringBytes) + " bytes");
    }
  }
  Precision p;
  if (!ParsePrecision(h.precision, &p)) {
    return InvalidArgument("precision '" + h.precision + "' is not fp32, tf32, fp16 or int8");
  }
  if (h.backend.empty()) return InvalidArgument("backend is empty");
  if (h.batch < 0 || h.batch > kEngineMaxBatch) {
    return InvalidArgument("batch " + std::to_string(h.batch) + " is outside [0, " +
                           std::to_string(kEngineMaxBatch) + "]");
  }
  if (h.sm_version > kEngineMaxSmVersion) return InvalidArgument("sm_version is out of range");
  if (sections.size() > kEngineMaxSections) {
    return InvalidArgument("more than " + std::to_string(kEngineMaxSections) + " sections");
  }
  for (const EngineSection& s : sections) {
    if (s.type == 0) return InvalidArgument("section type 0 is reserved");
    if (s.flags & ~kSectionRequired) return InvalidArgument("unknown section flags");
  }
  return Status::Ok();
}

}  // namespace

std::string SectionTypeName(uint32_t type) {
  switch (static_cast<SectionType>(type)) {
    case SectionType::kOnnxGraph:
      return "onnx-graph";
    case SectionType::kBuildJson:
      return "build-json";
    case SectionType::kPreprocess:
      return "preprocess";
    case SectionType::kTactics:
      return "tactics";
  }
  return "type-" + std::to_string(type);
}

Result<std::string> SerializeEngine(const EngineHeader& header,
                                    const std::vector<EngineSection>& sections) {
  RIDGE_RETURN_IF_ERROR(ValidateHeaderForWrite(header, sections));
  EngineHeader h = header;
  size_t header_bytes = kEngineFixedHeaderBytes + kTocEntryBytes * sections.size() + kDigestBytes;
  for (size_t i = 0; i < kNumStrings; ++i) header_bytes += 2 + StringField(h, i)->size();
  // Section offsets: each starts on a 64-byte boundary (room for mapping weights in place).
  std::vector<size_t> offsets;
  size_t end = header_bytes;
  for (const EngineSection& s : sections) {
    offsets.push_back(AlignUp(end, kEngineSectionAlignment));
    end = offsets.back() + s.bytes.size();
  }
  try {
    std::string out;
    out.reserve(end);
    out.append(kEngineMagic, sizeof(kEngineMagic));
    PutLe(out, kEngineFormatVersion, 4);
    PutLe(out, header_bytes, 4);
    PutLe(out, end, 8);
    PutLe(out, static_cast<uint64_t>(h.batch), 8);
    PutLe(out, h.sm_version, 4);
    PutLe(out, sections.size(), 4);
    out.append(reinterpret_cast<const char*>(h.model_sha256.data()), kDigestBytes);
    out.append(kDigestBytes, '\0');  // payload SHA-256, filled below
    for (size_t i = 0; i < kNumStrings; ++i) {
      const std::string& s = *StringField(h, i);
      PutLe(out, s.size(), 2);
      out += s;
    }
    for (size_t i = 0; i < sections.size(); ++i) {
      PutLe(out, sections[i].type, 4);
      PutLe(out, sections[i].flags, 4);
      PutLe(out, offsets[i], 8);
      PutLe(out, sections[i].bytes.size(), 8);
    }
    out.append(kDigestBytes, '\0');  // header SHA-256, filled below
    if (out.size() != header_bytes) return Internal("engine header size mismatch");
    for (size_t i = 0; i < sections.size(); ++i) {
      out.resize(offsets[i], '\0');  // zero padding up to the aligned offset
      out += sections[i].bytes;
    }
    RIDGE_RETURN_IF_ERROR(ResealEngineBytes(&out));
    return out;
  } catch (const std::bad_alloc&) {
    return LimitExceeded("out of memory while serializing the engine");
  }
}

Status WriteEngineFile(const std::string& path, const EngineHeader& header,
                       const std::vector<EngineSection>& sections) {
  RIDGE_ASSIGN_OR_RETURN(std::string bytes, SerializeEngine(header, sections));
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return IoError(path + ": cannot open '" + tmp + "' for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) return IoError(path + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return IoError(path + ": cannot rename '" + tmp + "': " + ec.message());
  return Status::Ok();
}

Status ResealEngineBytes(std::string* bytes) {
  std::string& b = *bytes;
  if (b.size() < kEngineFixedHeaderBytes) return InvalidArgument("shorter than the fixed header");
  uint64_t header_bytes = ReadLe(b, kOffHeaderBytes, 4);
  if (header_bytes < kMinHeaderBytes || header_bytes > std::min(b.size(), kMaxHeaderBytes)) {
    return InvalidArgument("header_bytes out of range");
  }
  WriteLe(b, kOffFileBytes, b.size(), 8);
  std::string_view view(b);
  Sha256Digest payload = Sha256Of(view.substr(header_bytes));
  std::memcpy(b.data() + kOffPayloadSha, payload.data(), kDigestBytes);
  Sha256Digest head = Sha256Of(view.substr(0, header_bytes - kDigestBytes));
  std::memcpy(b.data() + header_bytes - kDigestBytes, head.data(), kDigestBytes);
  return Status::Ok();
}

Result<EngineContainer> ParseEngineContainer(std::string_view b, const std::string& name) {
  const std::string at = name + ": ";
  const uint64_t size = b.size();
  if (size < kEngineFixedHeaderBytes) {
    return DataLoss(at + "the file is " + std::to_string(size) + " bytes, shorter than the " +
                    std::to_string(kEngineFixedHeaderBytes) +
                    "-byte engine header: truncated, or not a Ridgeline engine");
  }
  if (std::memcmp(b.data() + kOffMagic, kEngineMagic, sizeof(kEngineMagic)) != 0) {
    return InvalidModel(at + Field("magic", kOffMagic) +
                        " is not 'RIDGEENG': not a Ridgeline engine file (an .onnx model? run "
                        "`ridge build` to make one)");
  }
  EngineContainer c;
  EngineHeader& h = c.header;
  h.format_version = static_cast<uint32_t>(ReadLe(b, kOffFormatVersion, 4));
  if (h.format_version != kEngineFormatVersion) {
    return Unsupported(at + Field("format_version", kOffFormatVersion) + " is " +
                       std::to_string(h.format_version) + ": this engine was written by " +
                       (h.format_version > kEngineFormatVersion ? "a newer" : "an older") +
                       " Ridgeline; this one reads format version " +
                       std::to_string(kEngineFormatVersion) +
                       " only. Rebuild the engine from the .onnx model with this Ridgeline "
                       "(ridge build)");
  }
  h.file_bytes = ReadLe(b, kOffFileBytes, 8);
  if (h.file_bytes != size) {
    return DataLoss(at + Field("file_bytes", kOffFileBytes) + " says " +
                    std::to_string(h.file_bytes) + " bytes but the file has " +
                    std::to_string(size) + ": the file is corrupt or truncated");
  }
  h.header_bytes = ReadLe(b, kOffHeaderBytes, 4);
  if (h.header_bytes < kMinHeaderBytes ||
      h.header_bytes > std::min<uint64_t>(size, kMaxHeaderBytes)) {
    return InvalidModel(at + Field("header_bytes", kOffHeaderBytes) + " is " +
                        std::to_string(h.header_bytes) + ", outside [" +
                        std::to_string(kMinHeaderBytes) + ", min(file size, " +
                        std::to_string(kMaxHeaderBytes) + ")]");
  }
  h.batch = static_cast<int64_t>(ReadLe(b, kOffBatch, 8));
  if (h.batch < 0 || h.batch > kEngineMaxBatch) {
    return InvalidModel(at + Field("batch", kOffBatch) + " is " + std::to_string(h.batch) +
                        ", outside [0, " + std::to_string(kEngineMaxBatch) + "]");
  }
  h.sm_version = static_cast<uint32_t>(ReadLe(b, kOffSmVersion, 4));
  if (h.sm_version > kEngineMaxSmVersion) {
    return InvalidModel(at + Field("sm_version", kOffSmVersion) + " is " +
                        std::to_string(h.sm_version) + ", over " +
                        std::to_string(kEngineMaxSmVersion));
  }
  uint64_t num_sections = ReadLe(b, kOffNumSections, 4);
  if (num_sections > kEngineMaxSections) {
    return InvalidModel(at + Field("num_sections", kOffNumSections) + " is " +
                        std::to_string(num_sections) + ", over " +
                        std::to_string(kEngineMaxSections));
  }
  std::memcpy(h.model_sha256.data(), b.data() + kOffModelSha, kDigestBytes);
  std::memcpy(h.payload_sha256.data(), b.data() + kOffPayloadSha, kDigestBytes);

  // Strings: u16 length + bytes each, all inside the header (before its checksum).
  const uint64_t strings_end = h.header_bytes - kDigestBytes;
  uint64_t pos = kEngineFixedHeaderBytes;
  uint64_t string_offsets[kNumStrings] = {};
  for (size_t i = 0; i < kNumStrings; ++i) {
    string_offsets[i] = pos;
    if (pos + 2 > strings_end) {
      return InvalidModel(at + Field(kStringNames[i], pos) + ": length runs past header_bytes " +
                          std::to_string(h.header_bytes));
    }
    uint64_t len = ReadLe(b, pos, 2);
    if (len > kEngineMaxStringBytes || pos + 2 + len > strings_end) {
      return InvalidModel(at + Field(kStringNames[i], pos) + ": length " + std::to_string(len) +
                          " is over " + std::to_string(kEngineMaxStringBytes) +
                          " or runs past the header");
    }
    std::string_view s = b.substr(pos + 2, len);
    if (!Printable(s)) {
      return InvalidModel(at + Field(kStringNames[i], pos) + ": not printable ASCII");
    }
    StringField(h, i)->assign(s);
    pos += 2 + len;
  }
  Precision precision;
  if (!ParsePrecision(h.precision, &precision)) {
    return InvalidModel(at + Field("precision", string_offsets[6]) + " is '" + h.precision +
                        "', not fp32, tf32, fp16 or int8");
  }
  if (h.backend.empty())
    return InvalidModel(at + Field("backend", string_offsets[1]) + " is empty");
  if (pos + num_sections * kTocEntryBytes != strings_end) {
    return InvalidModel(at + Field("header_bytes", kOffHeaderBytes) + " is " +
                        std::to_string(h.header_bytes) + " but strings and " +
                        std::to_string(num_sections) + " table entries end at byte " +
                        std::to_string(pos + num_sections * kTocEntryBytes + kDigestBytes));
  }

  // Table of contents: sections in file order, inside the payload, not overlapping.
  uint64_t prev_end = h.header_bytes;
  for (uint64_t i = 0; i < num_sections; ++i, pos += kTocEntryBytes) {
    SectionEntry e;
    e.type = static_cast<uint32_t>(ReadLe(b, pos, 4));
    e.flags = static_cast<uint32_t>(ReadLe(b, pos + 4, 4));
    e.offset = ReadLe(b, pos + 8, 8);
    e.length = ReadLe(b, pos + 16, 8);
    std::string where =
        at + "section " + std::to_string(i) + " (table entry at byte " + std::to_string(pos) + ")";
    if (e.type == 0) return InvalidModel(where + ": type 0 is reserved");
    if (e.flags & ~kSectionRequired) {
      return InvalidModel(where + ": unknown flags 0x" + std::to_string(e.flags));
    }
    if (e.offset < prev_end) {
      return InvalidModel(where + ": offset " + std::to_string(e.offset) +
                          (i == 0 ? " is inside the header (ends at "
                                  : " overlaps the previous "
                                    "section (ends at ") +
                          std::to_string(prev_end) + ")");
    }
    if (e.offset > size || e.length > size - e.offset) {  // no overflow: offset <= size first
      return InvalidModel(where + ": offset " + std::to_string(e.offset) + " + length " +
                          std::to_string(e.length) + " runs past the end of the file (" +
                          std::to_string(size) + " bytes)");
    }
    e.bytes = b.substr(e.offset, e.length);
    prev_end = e.offset + e.length;
    c.sections.push_back(e);
  }

  // Checksums last among the container checks: the bounds above give precise messages (and let
  // a fuzzer reach them); these catch every flipped byte the bounds allow.
  Sha256Digest head = Sha256Of(b.substr(0, strings_end));
  if (std::memcmp(head.data(), b.data() + strings_end, kDigestBytes) != 0) {
    return DataLoss(at + Field("header_sha256", strings_end) + " does not match bytes 0-" +
                    std::to_string(strings_end - 1) + ": the header is corrupt");
  }
  Sha256Digest payload = Sha256Of(b.substr(h.header_bytes));
  if (payload != h.payload_sha256) {
    return DataLoss(at + Field("payload_sha256", kOffPayloadSha) + " does not match bytes " +
                    std::to_string(h.header_bytes) + "-" + std::to_string(size - 1) +
                    ": the file is corrupt or truncated");
  }
  return c;
}

Status CheckCompatible(const EngineHeader& h, const EnvironmentInfo& env) {
  const std::string rebuild = "; rebuild the engine on this machine (ridge build)";
  if (h.backend != env.backend) {
    return Unsupported("backend: the engine was built for backend '" + h.backend +
                       "', this runtime is '" + env.backend + "'; rebuild it for this device " +
                       "(ridge build --device " + env.backend + ")");
  }
  if (h.backend == "cpu") return Status::Ok();  // a portable graph, compiled when loaded
  struct Check {
    const char* field;
    std::string built, here;
  };
  const Check checks[] = {
      {"device_name", h.device_name, env.device_name},
      {"sm_version", "sm_" + std::to_string(h.sm_version), "sm_" + std::to_string(env.sm_version)},
      {"cuda_version", h.cuda_version, env.cuda_version},
      {"cudnn_version", h.cudnn_version, env.cudnn_version},
      {"cublas_version", h.cublas_version, env.cublas_version},
      {"ridge_version", h.ridge_version, env.ridge_version},
  };
  for (const Check& c : checks) {
    if (c.built != c.here) {
      return Unsupported(std::string(c.field) + ": the engine was built for '" + c.built +
                         "', this machine has '" + c.here + "'" + rebuild);
    }
  }
  return Status::Ok();
}

Result<LoadedEngine> LoadEngineFromBytes(std::string_view bytes, const std::string& name,
                                         const EnvironmentInfo& env,
                                         const onnx::LoadOptions& options) {
  try {
    RIDGE_ASSIGN_OR_RETURN(EngineContainer c, ParseEngineContainer(bytes, name));
    RIDGE_RETURN_IF_ERROR_CTX(CheckCompatible(c.header, env), name);
    // Known sections at most once each; the JSON ones (build, preprocess, tactics) must parse.
    const SectionEntry* graph_section = nullptr;
    const SectionEntry* json_sections[3] = {nullptr, nullptr, nullptr};
    const SectionType json_types[3] = {SectionType::kBuildJson, SectionType::kPreprocess,
                                       SectionType::kTactics};
    for (size_t i = 0; i < c.sections.size(); ++i) {
      const SectionEntry& e = c.sections[i];
      const SectionEntry** slot = nullptr;
      if (e.type == static_cast<uint32_t>(SectionType::kOnnxGraph)) slot = &graph_section;
      for (int k = 0; k < 3; ++k) {
        if (e.type == static_cast<uint32_t>(json_types[k])) slot = &json_sections[k];
      }
      if (slot == nullptr) {
        if (e.flags & kSectionRequired) {
          return Unsupported(name + ": section " + std::to_string(i) + " has type " +
                             std::to_string(e.type) +
                             ", required but unknown to this Ridgeline; rebuild the engine "
                             "(ridge build)");
        }
        continue;  // an optional section from a newer writer
      }
      if (*slot != nullptr) {
        return InvalidModel(name + ": section " + std::to_string(i) + ": a second " +
                            SectionTypeName(e.type) + " section");
      }
      *slot = &e;
    }
    if (graph_section == nullptr) return InvalidModel(name + ": no onnx-graph section");
    LoadedEngine engine;
    engine.header = c.header;
    std::string* json_out[3] = {&engine.build_json, &engine.preprocess_json, &engine.tactics_json};
    for (int k = 0; k < 3; ++k) {
      const SectionEntry* e = json_sections[k];
      if (e == nullptr) continue;
      auto meta = nlohmann::json::parse(e->bytes, nullptr, /*allow_exceptions=*/false);
      if (meta.is_discarded() || !meta.is_object()) {
        return InvalidModel(name + ": the " + SectionTypeName(e->type) + " section (byte " +
                            std::to_string(e->offset) + ") is not a JSON object");
      }
      json_out[k]->assign(e->bytes);
    }
    RIDGE_ASSIGN_OR_RETURN(
        engine.graph,
        onnx::LoadModelFromBytes(
            graph_section->bytes.data(), graph_section->bytes.size(), "",
            name + " [onnx-graph section at byte " + std::to_string(graph_section->offset) + "]",
            options));
    engine.graph.source_path = name;
    for (SectionEntry e : c.sections) {
      e.bytes = {};  // the buffer does not outlive this call
      engine.sections.push_back(e);
    }
    return engine;
  } catch (const std::bad_alloc&) {
    return LimitExceeded(name + ": out of memory while loading the engine");
  } catch (const std::exception& e) {
    return Internal(name + ": loading the engine failed: " + e.what());
  }
}

namespace {

// Reads the whole file (its real size, checked against the cap before allocating).
Result<std::string> ReadWholeFile(const std::string& path, const onnx::LoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound(path + ": no such file (or not a regular file)");
  }
  uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return IoError(path + ": " + ec.message());
  if (size > static_cast<uint64_t>(options.limits.max_file_bytes)) {
    return LimitExceeded(path + ": " + std::to_string(size) + " bytes, over the " +
                         std::to_string(options.limits.max_file_bytes) + "-byte cap");
  }
  std::string bytes;
  try {
    bytes.resize(size);  // the file's real size (checked above), never a size it claims
  } catch (const std::bad_alloc&) {
    return LimitExceeded(path + ": out of memory reading " + std::to_string(size) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(path + ": cannot open");
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size) return IoError(path + ": short read");
  return bytes;
}

}  // namespace

Result<LoadedEngine> LoadEngineFile(const std::string& path, const EnvironmentInfo& env,
                                    const onnx::LoadOptions& options) {
  RIDGE_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path, options));
  return LoadEngineFromBytes(bytes, path, env, options);
}

Result<EngineContainer> ReadEngineContainer(const std::string& path,
                                            const onnx::LoadOptions& options) {
  RIDGE_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path, options));
  RIDGE_ASSIGN_OR_RETURN(EngineContainer c, ParseEngineContainer(bytes, path));
  for (SectionEntry& e : c.sections) e.bytes = {};
  return c;
}

bool IsEngineFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[sizeof(kEngineMagic)] = {};
  in.read(magic, sizeof(magic));
  return in.gcount() == sizeof(magic) && std::memcmp(magic, kEngineMagic, sizeof(magic)) == 0;
}

}  // namespace ridge::runtime
