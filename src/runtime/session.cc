#include "runtime/session.h"

#include <random>

#include "onnx/loader.h"
#include "ops/shape_inference.h"
#include "runtime/engine_file.h"
#include "runtime/npy.h"

namespace ridge::runtime {

Result<std::unique_ptr<CpuSession>> CpuSession::Open(const std::string& model_path,
                                                     const SessionOptions& options) {
  auto session = std::unique_ptr<CpuSession>(new CpuSession());
  ops::InferOptions infer;
  infer.batch = options.batch;
  if (IsEngineFile(model_path)) {
    // A .ridge engine (ridge build) carries its graph with the input shapes bound at build time.
    RIDGE_ASSIGN_OR_RETURN(LoadedEngine engine, LoadEngineFile(model_path, EnvironmentInfo::Cpu()));
    if (options.batch && engine.header.batch != 0 && engine.header.batch != *options.batch) {
      return InvalidArgument(model_path + ": the engine was built for batch " +
                             std::to_string(engine.header.batch) + "; rebuild it with --batch " +
                             std::to_string(*options.batch));
    }
    if (!engine.preprocess_json.empty()) {
      return Unsupported(model_path +
                         ": the engine has preprocessing baked in (it takes uint8 frames); run "
                         "it with ridge run / ridge bench (runtime::OpenEngineRunner)");
    }
    infer.batch.reset();
    session->graph_ = std::make_unique<ir::Graph>(std::move(engine.graph));
  } else {
    RIDGE_ASSIGN_OR_RETURN(ir::Graph graph, onnx::LoadModel(model_path));
    session->graph_ = std::make_unique<ir::Graph>(std::move(graph));
  }
  if (!options.shapes.empty()) RIDGE_RETURN_IF_ERROR(ops::ParseShapesFlag(options.shapes, &infer));
  for (const auto& [name, dims] : options.input_shapes) {
    if (!infer.input_shapes.count(name)) infer.input_shapes[name] = dims;
  }
  RIDGE_RETURN_IF_ERROR(ops::InferShapes(*session->graph_, infer));  // names the file itself
  RIDGE_RETURN_IF_ERROR_CTX(cpu::CheckSupported(*session->graph_), model_path);
  RIDGE_ASSIGN_OR_RETURN(session->executor_, cpu::Executor::Create(*session->graph_, options.cpu));
  return session;
}

std::vector<std::string> CpuSession::InputNames() const {
  std::vector<std::string> names;
  for (ir::ValueId v : graph_->inputs()) {
    if (!graph_->value(v).constant) names.push_back(graph_->value(v).name);
  }
  return names;
}

std::vector<std::string> CpuSession::OutputNames() const {
  std::vector<std::string> names;
  for (ir::ValueId v : graph_->outputs()) names.push_back(graph_->value(v).name);
  return names;
}

Result<std::map<std::string, Tensor>> RandomInputs(const ir::Graph& graph, uint64_t seed) {
  std::map<std::string, Tensor> inputs;
  std::mt19937_64 rng(seed);
  for (ir::ValueId v : graph.inputs()) {
    const ir::Value& val = graph.value(v);
    if (val.constant) continue;
    if (!val.shape || !val.shape->fully_known()) {
      return InvalidArgument("input '" + val.name + "' has no concrete shape (use --batch)");
    }
    RIDGE_ASSIGN_OR_RETURN(Tensor t,
                           Tensor::MakeChecked(val.dtype, *val.shape->ToInts(), int64_t{1} << 32));
    int64_t n = t.num_elements();
    // Raw 53-bit draws, mapped by hand: std::uniform_real_distribution differs across libraries.
    auto uniform = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
    switch (val.dtype) {
      case DType::kFloat32:
        for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = static_cast<float>(uniform() * 2 - 1);
        break;
      case DType::kFloat64:
        for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = uniform() * 2 - 1;
        break;
      case DType::kFloat16:
        for (int64_t i = 0; i < n; ++i) {
          t.data<uint16_t>()[i] = FloatToHalf(static_cast<float>(uniform() * 2 - 1));
        }
        break;
      case DType::kInt64:
        for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = static_cast<int64_t>(rng() % 10);
        break;
      case DType::kInt32:
        for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(rng() % 10);
        break;
      case DType::kBool:
      case DType::kUInt8:
        for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(rng() % 2);
        break;
      default:
        return Unsupported("cannot make random data for input '" + val.name + "' of dtype " +
                           std::string(DTypeName(val.dtype)));
    }
    inputs[val.name] = std::move(t);
  }
  return inputs;
}

Result<std::map<std::string, Tensor>> ReadInputFlags(const std::vector<std::string>& flags) {
  std::map<std::string, Tensor> inputs;
  for (const std::string& flag : flags) {
    size_t eq = flag.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size()) {
      return InvalidArgument("--input '" + flag + "' is not name=file.npy");
    }
    std::string name = flag.substr(0, eq);
    if (inputs.count(name)) return InvalidArgument("--input '" + name + "' given twice");
    RIDGE_ASSIGN_OR_RETURN(Tensor t, ReadNpy(flag.substr(eq + 1)));
    inputs[name] = std::move(t);
  }
  return inputs;
}

std::string SafeFileName(const std::string& name) {
  std::string out;
  for (char ch : name) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.';
    out.push_back(ok ? ch : '_');
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  return out;
}

}  // namespace ridge::runtime
