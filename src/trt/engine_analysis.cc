// Per-layer cost, roofline share and Tensor Core verdicts for an engine's layers.
#include "trt/engine_analysis.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <regex>

namespace ridge::trt {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Elements of a tensor with its channel dim (index 1 of NCHW-ordered dims, as TensorRT exports
// them) padded to the format's vector width. Returns -1 when a dim is dynamic or missing.
double PaddedElements(const EngineTensor& t, bool pad) {
  if (t.dims.empty()) return -1;
  double n = 1;
  for (size_t i = 0; i < t.dims.size(); ++i) {
    if (t.dims[i] < 0) return -1;
    double d = static_cast<double>(t.dims[i]);
    if (pad && i == 1 && t.dims.size() >= 3 && t.format.channel_multiple > 1) {
      const double m = t.format.channel_multiple;
      d = std::ceil(d / m) * m;
    }
    n *= d;
  }
  return n;
}

int64_t Channels(const EngineTensor& t, bool pad) {
  if (t.dims.size() < 2 || t.dims[1] < 0) return -1;
  int64_t c = t.dims[1];
  const int64_t m = pad ? t.format.channel_multiple : 1;
  return (c + m - 1) / m * m;
}

int WeightBytes(const std::string& type) {
  const std::string t = Lower(type);
  if (t.find("int8") != std::string::npos || t.find("fp8") != std::string::npos) return 1;
  if (t.find("half") != std::string::npos || t.find("fp16") != std::string::npos ||
      t.find("bf16") != std::string::npos)
    return 2;
  return 4;
}

LayerKind Classify(const EngineLayer& l) {
  const std::string type = Lower(l.layer_type), param = Lower(l.parameter_type);
  if (type == "noop" || param == "noop") return LayerKind::kNoOp;
  if (type == "reformat" || param == "reformat" || type == "shuffle_reformat") {
    return Lower(l.origin) == "qdq" ? LayerKind::kQuantize : LayerKind::kReformat;
  }
  if (type.empty() && l.name.rfind("Reformatting CopyNode", 0) == 0) return LayerKind::kReformat;
  return LayerKind::kCompute;
}

bool IsConv(const EngineLayer& l) {
  const std::string p = Lower(l.parameter_type), t = Lower(l.layer_type);
  return p == "convolution" || p == "deconvolution" || t.find("convolution") != std::string::npos ||
         t == "convactpool";
}
bool IsPool(const EngineLayer& l) {
  const std::string p = Lower(l.parameter_type), t = Lower(l.layer_type);
  return p == "pooling" || t.find("pooling") != std::string::npos;
}

// FLOPs from the layer's dims: convs count 2 per multiply-add, pools one op per window element.
double LayerFlops(const EngineLayer& l, bool pad) {
  if (l.inputs.empty() || l.outputs.empty()) return 0;
  const EngineTensor& in = l.inputs[0];
  const EngineTensor& out = l.outputs[0];
  if (IsConv(l)) {
    int64_t c = Channels(in, pad && l.groups == 1);
    int64_t k = Channels(out, pad);
    double out_spatial = PaddedElements(out, false);
    if (c <= 0 || k <= 0 || out_spatial < 0 || out.dims[1] <= 0) return 0;
    out_spatial /= static_cast<double>(out.dims[1]);  // N x OH x OW
    double window = 1;
    for (int64_t d : l.kernel) window *= static_cast<double>(std::max<int64_t>(d, 1));
    if (l.kernel.empty() && l.weight_count > 0 && out.dims[1] > 0 && in.dims[1] > 0) {
      // No kernel listed: recover KHxKW from the weight count.
      window = static_cast<double>(l.weight_count) /
               (static_cast<double>(out.dims[1]) * static_cast<double>(in.dims[1]) /
                static_cast<double>(l.groups));
      window = std::max(1.0, window);
    }
    const double cin_per_group = static_cast<double>(c) / static_cast<double>(l.groups);
    return 2.0 * out_spatial * static_cast<double>(k) * cin_per_group * window;
  }
  double out_elems = PaddedElements(out, pad);
  if (out_elems < 0) return 0;
  if (IsPool(l)) {
    double window = 1;
    for (int64_t d : l.kernel) window *= static_cast<double>(std::max<int64_t>(d, 1));
    if (l.kernel.empty()) {  // global pooling: every input element once
      double in_elems = PaddedElements(in, pad);
      return in_elems < 0 ? 0 : in_elems;
    }
    return out_elems * window;
  }
  if (Classify(l) != LayerKind::kCompute) return 0;
  return out_elems;  // elementwise and unknown compute layers: one op per output element
}

double LayerBytes(const EngineLayer& l) {
  double bytes = 0;
  for (const auto* list : {&l.inputs, &l.outputs}) {
    for (const EngineTensor& t : *list) {
      double n = PaddedElements(t, true);
      if (n > 0) bytes += n * ElemBytes(t.format.elem);
    }
  }
  bytes += static_cast<double>(l.weight_count) * WeightBytes(l.weight_type);
  bytes += static_cast<double>(l.bias_count) * 4;
  return bytes;
}

Precision RoofPrecision(ElemType e, const std::string& tactic) {
  switch (e) {
    case ElemType::kInt8:
    case ElemType::kFp8:
      return Precision::kInt8;
    case ElemType::kFp16:
    case ElemType::kBf16:
      return Precision::kFp16;
    default:
      break;
  }
  return Lower(tactic).find("tf32") != std::string::npos ? Precision::kTf32 : Precision::kFp32;
}

}  // namespace

const char* LayerKindName(LayerKind k) {
  switch (k) {
    case LayerKind::kCompute:
      return "compute";
    case LayerKind::kReformat:
      return "reformat";
    case LayerKind::kQuantize:
      return "quantize";
    case LayerKind::kNoOp:
      return "noop";
  }
  return "?";
}

std::vector<OnnxNodeRef> FusedOnnxNodes(const std::string& layer_name) {
  std::vector<OnnxNodeRef> out;
  if (layer_name.rfind("Reformatting CopyNode", 0) == 0 || layer_name.size() > 100000) return out;
  static const std::regex kIndexed("(?:^|[\\s(,])([A-Z][A-Za-z0-9]*)_([0-9]{1,9})(?=$|[\\s),])");
  static const std::regex kPath("(?:^|[\\s(,])(/[^\\s(),]+)");
  for (auto it = std::sregex_iterator(layer_name.begin(), layer_name.end(), kIndexed);
       it != std::sregex_iterator(); ++it) {
    OnnxNodeRef r;
    r.op_type = (*it)[1].str();
    r.index = std::stoll((*it)[2].str());
    r.name = r.op_type + "_" + (*it)[2].str();
    out.push_back(std::move(r));
  }
  for (auto it = std::sregex_iterator(layer_name.begin(), layer_name.end(), kPath);
       it != std::sregex_iterator(); ++it) {
    OnnxNodeRef r;
    r.name = (*it)[1].str();
    std::string last = r.name.substr(r.name.find_last_of('/') + 1);
    static const std::regex kSuffix("_[0-9]+$");
    r.op_type = std::regex_replace(last, kSuffix, "");
    if (r.op_type.empty() || !std::isupper(static_cast<unsigned char>(r.op_type[0]))) continue;
    out.push_back(std::move(r));
  }
  return out;
}

TensorCoreUse TacticUsesTensorCores(const std::string& tactic, std::string* why) {
  const std::string t = Lower(tactic);
  auto say = [&](const std::string& s, TensorCoreUse u) {
    if (why) *why = s;
    return u;
  };
  if (t.empty()) return say("no tactic name exported", TensorCoreUse::kUnknown);
  if (t.find("pooling") != std::string::npos) return say("pooling kernel", TensorCoreUse::kNo);
  // Tensor Core MMA shapes and instruction names as they appear in cuDNN/CUTLASS/xmma kernels.
  static const char* kYes[] = {"hmma",       "imma",      "h884",    "h1688",  "h16816",
                               "i8816",      "i8832",     "s1688",   "s16816", "tensorop",
                               "tensor16x8", "tensor8x8", "cutlass", "tf32"};
  for (const char* k : kYes)
    if (t.find(k) != std::string::npos) return say(k, TensorCoreUse::kYes);
  // dp4a (int8x4) and plain single-precision cuDNN kernels run on CUDA cores.
  if (t.find("int8x4") != std::string::npos) return say("int8x4 (dp4a)", TensorCoreUse::kNo);
  if (t.find("scudnn") != std::string::npos) return say("scudnn (fp32 SIMT)", TensorCoreUse::kNo);
  static const std::regex kXmma("sm([0-9]{2})_xmma_(fprop|gemm|dgrad|conv)");
  std::smatch m;
  if (std::regex_search(t, m, kXmma)) {
    const int sm = std::stoi(m[1].str());
    if (sm >= 75 || (sm >= 70 && t.find("i8") == std::string::npos))
      return say("sm" + m[1].str() + "_xmma", TensorCoreUse::kYes);
    return say("sm" + m[1].str() + "_xmma without int8 MMA", TensorCoreUse::kNo);
  }
  return say("no Tensor Core keyword in tactic", TensorCoreUse::kNo);
}

std::string GuessDeviceProfile(const std::string& device_name) {
  const std::string d = Lower(device_name);
  auto has = [&](const char* s) { return d.find(s) != std::string::npos; };
  if (has("a100")) return has("pcie") ? "a100-pcie" : "a100-sxm";
  if (has("h100")) return has("pcie") ? "h100-pcie" : "h100-sxm";
  if (has("h200")) return "h200";
  if (has("titan rtx")) return "titan-rtx";
  if (has("t4")) return "t4";
  if (has("l4")) return "l4";
  if (has("4090")) return "rtx4090";
  if (has("orin")) return "jetson-agx-orin";
  return "";
}

EngineReport AnalyzeEngine(const EngineData& engine, const analysis::DeviceProfile* device) {
  EngineReport r;
  r.engine = &engine;
  r.label = engine.label;
  r.device_name = device ? device->display_name : engine.summary.device_name;
  r.has_device = device != nullptr;
  for (size_t i = 0; i < engine.layers.size(); ++i) {
    const EngineLayer& l = engine.layers[i];
    LayerRecord rec;
    rec.layer = &l;
    rec.kind = Classify(l);
    rec.onnx_nodes = FusedOnnxNodes(l.name);
    if (!l.inputs.empty()) rec.in_elem = l.inputs[0].format.elem;
    if (!l.outputs.empty()) rec.out_elem = l.outputs[0].format.elem;
    rec.flops = LayerFlops(l, true);
    rec.flops_unpadded = LayerFlops(l, false);
    rec.bytes = LayerBytes(l);
    rec.time_ms = i < engine.timing.size() ? engine.timing[i].average_ms : 0;
    rec.intensity = rec.bytes > 0 ? rec.flops / rec.bytes : 0;
    if (rec.time_ms > 0) {
      rec.achieved_flops_per_s = rec.flops / (rec.time_ms * 1e-3);
      rec.achieved_bytes_per_s = rec.bytes / (rec.time_ms * 1e-3);
    }
    if (rec.kind == LayerKind::kCompute) {
      rec.tensor_core = TacticUsesTensorCores(l.tactic_name, &rec.tensor_core_why);
      if (IsPool(l) && l.tactic_name.empty()) {
        rec.tensor_core = TensorCoreUse::kNo;
        rec.tensor_core_why = "pooling kernel";
      }
      if (l.tactic_name.empty() && l.layer_type.find("Depthwise") != std::string::npos) {
        rec.tensor_core = TensorCoreUse::kNo;
        rec.tensor_core_why = "depthwise kernel (CUDA cores)";
      }
      const int align = rec.in_elem == ElemType::kInt8
                            ? (device ? device->tensor_core_align_int8 : 16)
                            : (device ? device->tensor_core_align_fp16 : 8);
      for (const auto* list : {&l.inputs, &l.outputs})
        for (const EngineTensor& t : *list)
          if (t.dims.size() >= 3 && t.dims[1] > 0 && t.dims[1] % align != 0 &&
              rec.in_elem != ElemType::kFp32)
            rec.channels_aligned = false;
    } else {
      rec.tensor_core = TensorCoreUse::kNo;
      rec.tensor_core_why = "data movement";
    }
    if (rec.kind != LayerKind::kCompute) {
      rec.bound = rec.kind == LayerKind::kNoOp ? "none" : "movement";
    } else if (device && rec.bytes > 0) {
      const Precision p = RoofPrecision(rec.in_elem, l.tactic_name);
      double peak = device->PeakFlopsPerS(p);
      if (rec.tensor_core != TensorCoreUse::kYes) {
        // CUDA-core rate: dp4a does 4 int8 multiply-adds per fp32 FMA slot.
        peak = device->VectorFlopsPerS(p) * (p == Precision::kInt8 ? 4.0 : 1.0);
      }
      const double mem_roof = rec.intensity * device->memory_bytes_per_s;
      rec.roof_flops_per_s = std::min(peak, mem_roof);
      rec.bound = mem_roof < peak ? "memory" : "compute";
      if (rec.roof_flops_per_s > 0)
        rec.roof_share = rec.achieved_flops_per_s / rec.roof_flops_per_s;
    } else {
      rec.bound = "unknown";
    }
    r.total_ms += rec.time_ms;
    r.total_flops += rec.flops;
    r.total_bytes += rec.bytes;
    r.ms_by_type[l.layer_type.empty() ? "(untyped)" : l.layer_type] += rec.time_ms;
    switch (rec.kind) {
      case LayerKind::kReformat:
        r.reformat_ms += rec.time_ms;
        break;
      case LayerKind::kQuantize:
        r.quantize_ms += rec.time_ms;
        break;
      case LayerKind::kCompute:
        r.compute_ms += rec.time_ms;
        if (rec.tensor_core == TensorCoreUse::kYes) r.tensor_core_ms += rec.time_ms;
        break;
      case LayerKind::kNoOp:
        break;
    }
    r.layers.push_back(std::move(rec));
  }
  for (LayerRecord& rec : r.layers) rec.time_share = r.total_ms > 0 ? rec.time_ms / r.total_ms : 0;

  // Lints: what a deployment engineer would act on.
  char buf[256];
  if (r.ConversionShare() > 0.05) {
    std::snprintf(buf, sizeof buf,
                  "%.1f%% of the time is layout/precision conversion (%.3f ms reformat, %.3f ms "
                  "standalone Q/DQ)",
                  100 * r.ConversionShare(), r.reformat_ms, r.quantize_ms);
    r.lints.push_back(buf);
  }
  for (const LayerRecord& rec : r.layers) {
    if (rec.kind != LayerKind::kCompute || rec.time_share < 0.02) continue;
    if (rec.tensor_core == TensorCoreUse::kNo) {
      std::snprintf(buf, sizeof buf, "'%.60s' (%.1f%% of time) runs without Tensor Cores (%s)",
                    rec.layer->name.c_str(), 100 * rec.time_share, rec.tensor_core_why.c_str());
      r.lints.push_back(buf);
    }
    if (!rec.channels_aligned) {
      std::snprintf(buf, sizeof buf,
                    "'%.60s' has channels not a multiple of the Tensor Core width: padded "
                    "FLOPs %.2fx the real ones",
                    rec.layer->name.c_str(),
                    rec.flops_unpadded > 0 ? rec.flops / rec.flops_unpadded : 1.0);
      r.lints.push_back(buf);
    }
  }
  if (engine.has_profile && engine.has_summary && engine.summary.gpu_compute_mean_ms > 0 &&
      r.total_ms > 1.1 * engine.summary.gpu_compute_mean_ms) {
    std::snprintf(buf, sizeof buf,
                  "per-layer profile total %.3f ms exceeds the run's GPU compute mean %.3f ms by "
                  "%.0f%%: per-layer profiling adds a sync per layer; compare shares, not sums",
                  r.total_ms, engine.summary.gpu_compute_mean_ms,
                  100 * (r.total_ms / engine.summary.gpu_compute_mean_ms - 1));
    r.lints.push_back(buf);
  }
  return r;
}

}  // namespace ridge::trt
