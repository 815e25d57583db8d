#include "mutators.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <vector>

namespace ridge::fuzz {
namespace {

namespace fs = std::filesystem;
using ::onnx::AttributeProto;
using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::TensorProto;

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename T>
T Pick(std::mt19937_64& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

size_t Below(std::mt19937_64& rng, size_t n) {
  return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
}

const std::vector<int64_t> kEvilDims = {-1,
                                        -7,
                                        0,
                                        int64_t{1} << 31,
                                        int64_t{1} << 40,
                                        int64_t{1} << 62,
                                        std::numeric_limits<int64_t>::max(),
                                        std::numeric_limits<int64_t>::min()};

// A structural mutation edits the proto; returns its description ("" if not applicable).
using ProtoMutation = std::function<std::string(ModelProto&, std::mt19937_64&, const std::string&,
                                                const std::string&)>;

std::string EvilInitializerDim(ModelProto& m, std::mt19937_64& rng, const std::string&,
                               const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->initializer_size() == 0) return "";
  TensorProto* t = g->mutable_initializer(static_cast<int>(Below(rng, g->initializer_size())));
  if (t->dims_size() == 0) t->add_dims(1);
  int64_t v = Pick(rng, kEvilDims);
  t->set_dims(static_cast<int>(Below(rng, t->dims_size())), v);
  return std::string(v < 0 || v > (int64_t{1} << 40) ? "!" : "") + "initializer '" + t->name() +
         "' dim -> " + std::to_string(v);
}

std::string EvilInputDim(ModelProto& m, std::mt19937_64& rng, const std::string&,
                         const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->input_size() == 0) return "";
  auto* shape = g->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  if (shape->dim_size() == 0) return "";
  int64_t v = Pick(rng, kEvilDims);
  shape->mutable_dim(static_cast<int>(Below(rng, shape->dim_size())))->set_dim_value(v);
  return "input dim -> " + std::to_string(v);
}

std::string HugeRank(ModelProto& m, std::mt19937_64& rng, const std::string&, const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->input_size() == 0) return "";
  auto* shape = g->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  int extra = static_cast<int>(Below(rng, 5000)) + 17;
  for (int i = 0; i < extra; ++i) shape->add_dim()->set_dim_value(2);
  return "!input rank +" + std::to_string(extra);
}

std::string DtypeMismatch(ModelProto& m, std::mt19937_64& rng, const std::string&,
                          const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->initializer_size() == 0) return "";
  TensorProto* t = g->mutable_initializer(static_cast<int>(Below(rng, g->initializer_size())));
  int dt = Pick<int>(rng, {0, 2, 7, 8, 10, 11, 14, 15, 17, 99, -3});
  t->set_data_type(dt);
  return "initializer '" + t->name() + "' dtype -> " + std::to_string(dt);
}

std::string DataSizeMismatch(ModelProto& m, std::mt19937_64& rng, const std::string&,
                             const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->initializer_size() == 0) return "";
  TensorProto* t = g->mutable_initializer(static_cast<int>(Below(rng, g->initializer_size())));
  switch (Below(rng, 3)) {
    case 0:
      t->clear_raw_data();
      t->clear_float_data();
      t->clear_int64_data();
      return "initializer '" + t->name() + "' declared dims without data";
    case 1:
      if (!t->raw_data().empty()) {
        t->mutable_raw_data()->resize(t->raw_data().size() - 1 - Below(rng, t->raw_data().size()));
      } else {
        t->add_int64_data(1);
      }
      return "initializer '" + t->name() + "' data shorter/longer than dims";
    default:
      t->add_dims(3);
      return "initializer '" + t->name() + "' extra dim without data";
  }
}

std::string DanglingInput(ModelProto& m, std::mt19937_64& rng, const std::string&,
                          const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->node_size() == 0) return "";
  auto* n = g->mutable_node(static_cast<int>(Below(rng, g->node_size())));
  if (n->input_size() == 0) n->add_input("");
  n->set_input(static_cast<int>(Below(rng, n->input_size())), "does_not_exist");
  return "!dangling input on node '" + n->name() + "'";
}

std::string Cycle(ModelProto& m, std::mt19937_64& rng, const std::string&, const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->node_size() < 2 || g->node(0).input_size() == 0) return "";
  int last = g->node_size() - 1;
  g->mutable_node(0)->set_input(0, g->node(last).output(0));
  return "!cycle: first node reads the last node's output";
}

std::string DuplicateName(ModelProto& m, std::mt19937_64& rng, const std::string&,
                          const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->node_size() < 2) return "";
  int a = static_cast<int>(Below(rng, g->node_size()));
  int b = static_cast<int>(Below(rng, g->node_size()));
  if (a == b) b = (a + 1) % g->node_size();
  g->mutable_node(b)->set_output(0, g->node(a).output(0));
  return "!duplicate output name '" + g->node(a).output(0) + "'";
}

std::string MissingInitializer(ModelProto& m, std::mt19937_64& rng, const std::string&,
                               const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->initializer_size() == 0) return "";
  int i = static_cast<int>(Below(rng, g->initializer_size()));
  std::string name = g->initializer(i).name();
  g->mutable_initializer()->DeleteSubrange(i, 1);
  return "!initializer '" + name + "' removed";
}

std::string BadOpset(ModelProto& m, std::mt19937_64& rng, const std::string&, const std::string&) {
  switch (Below(rng, 4)) {
    case 0:
      m.clear_opset_import();
      return "!no opset_import";
    case 1:
      m.mutable_opset_import(0)->set_version(0);
      return "!opset 0";
    case 2:
      m.mutable_opset_import(0)->set_version(9999);
      return "!opset 9999";
    default:
      m.mutable_opset_import(0)->set_domain("com.evil");
      return "!unknown opset domain";
  }
}

std::string DeepNesting(ModelProto& m, std::mt19937_64& rng, const std::string&,
                        const std::string&) {
  int depth = static_cast<int>(Below(rng, 200)) + 2;
  GraphProto inner;
  inner.set_name("leaf");
  for (int d = 0; d < depth; ++d) {
    GraphProto outer;
    outer.set_name("level" + std::to_string(d));
    auto* n = outer.add_node();
    n->set_op_type("If");
    n->add_input("x");
    n->add_output("y" + std::to_string(d));
    auto* a = n->add_attribute();
    a->set_name("then_branch");
    a->set_type(AttributeProto::GRAPH);
    *a->mutable_g() = inner;
    inner = std::move(outer);
  }
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type("If");
  n->add_input(m.graph().input(0).name());
  n->add_output("nested_out");
  auto* a = n->add_attribute();
  a->set_name("then_branch");
  a->set_type(AttributeProto::GRAPH);
  *a->mutable_g() = inner;
  return "!subgraphs nested " + std::to_string(depth) + " deep";
}

std::string UnknownOp(ModelProto& m, std::mt19937_64& rng, const std::string&, const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->node_size() == 0) return "";
  auto* n = g->mutable_node(static_cast<int>(Below(rng, g->node_size())));
  n->set_op_type(Pick<std::string>(rng, {"FooBar", "", "Loop", "NonMaxSuppression"}));
  return "!node op -> '" + n->op_type() + "'";
}

std::string EvilAttribute(ModelProto& m, std::mt19937_64& rng, const std::string&,
                          const std::string&) {
  GraphProto* g = m.mutable_graph();
  if (g->node_size() == 0) return "";
  auto* n = g->mutable_node(static_cast<int>(Below(rng, g->node_size())));
  std::string name = Pick<std::string>(
      rng, {"kernel_shape", "strides", "pads", "dilations", "group", "axis", "axes", "perm",
            "split", "keepdims", "transB", "mode", "epsilon", "to", "value"});
  AttributeProto* a = nullptr;
  for (auto& existing : *n->mutable_attribute())
    if (existing.name() == name) a = &existing;
  if (!a) {
    a = n->add_attribute();
    a->set_name(name);
  }
  int64_t v = Pick(rng, kEvilDims);
  switch (Below(rng, 4)) {
    case 0:
      a->set_type(AttributeProto::INT);
      a->set_i(v);
      break;
    case 1:
      a->set_type(AttributeProto::INTS);
      a->clear_ints();
      for (size_t i = 0, k = Below(rng, 9); i < k; ++i) a->add_ints(Pick(rng, kEvilDims));
      break;
    case 2:
      a->set_type(AttributeProto::STRING);
      a->set_s("\xff\xfe garbage");
      break;
    default:
      a->set_type(AttributeProto::FLOAT);
      a->set_f(std::numeric_limits<float>::quiet_NaN());
  }
  return "node '" + n->name() + "' attribute '" + name + "' -> hostile value";
}

// External data: moves an initializer's bytes to a side file, then breaks the reference.
std::string EvilExternalData(ModelProto& m, std::mt19937_64& rng, const std::string& dir,
                             const std::string& outside_file) {
  GraphProto* g = m.mutable_graph();
  int idx = -1;
  for (int i = 0; i < g->initializer_size(); ++i)
    if (!g->initializer(i).raw_data().empty()) idx = i;
  if (idx < 0) return "";
  TensorProto* t = g->mutable_initializer(idx);
  std::string data = t->raw_data();
  WriteFile(dir + "/weights.bin", data);
  t->clear_raw_data();
  t->set_data_location(TensorProto::EXTERNAL);
  std::string location = "weights.bin";
  int64_t offset = 0;
  int64_t length = static_cast<int64_t>(data.size());
  std::string what;
  switch (Below(rng, 9)) {
    case 0:
      location = "../" + fs::path(outside_file).filename().string();
      what = "'../' path";
      break;
    case 1:
      location = outside_file;
      what = "absolute path";
      break;
    case 2:
      fs::create_symlink(outside_file, dir + "/link.bin");
      location = "link.bin";
      what = "symlink leaving the folder";
      break;
    case 3:
      fs::create_hard_link(outside_file, dir + "/hard.bin");
      location = "hard.bin";
      what = "hard link to a file outside the folder";
      break;
    case 4:
      offset = static_cast<int64_t>(data.size());
      what = "offset at end of file";
      break;
    case 5:
      length = int64_t{1} << 40;
      what = "length past end of file";
      break;
    case 6:
      offset = -16;
      what = "negative offset";
      break;
    case 7:
      offset = std::numeric_limits<int64_t>::max() - 2;
      what = "offset+length overflows";
      break;
    default:
      location = "missing.bin";
      what = "missing file";
      break;
  }
  auto add_kv = [&](const std::string& k, const std::string& v) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add_kv("location", location);
  add_kv("offset", std::to_string(offset));
  add_kv("length", std::to_string(length));
  return "!external data of '" + t->name() + "': " + what;
}

const std::vector<ProtoMutation>& ProtoMutations() {
  static const std::vector<ProtoMutation> kAll = {
      EvilInitializerDim, EvilInputDim, HugeRank,      DtypeMismatch,      DataSizeMismatch,
      DanglingInput,      Cycle,        DuplicateName, MissingInitializer, BadOpset,
      DeepNesting,        UnknownOp,    EvilAttribute, EvilExternalData};
  return kAll;
}

}  // namespace

int NumMutationKinds() { return static_cast<int>(ProtoMutations().size()) + 2; }

MalformedCase MakeMalformedCase(const ModelProto& seed, std::mt19937_64& rng,
                                const std::string& dir, const std::string& outside_file) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  MalformedCase c;
  c.model_path = dir + "/model.onnx";
  size_t kind = Below(rng, static_cast<size_t>(NumMutationKinds()));
  if (kind < 2) {  // byte-level: bit flips or truncation of the serialized model
    std::string bytes = seed.SerializeAsString();
    if (kind == 0) {
      size_t flips = 1 + Below(rng, 8);
      for (size_t i = 0; i < flips; ++i)
        bytes[Below(rng, bytes.size())] ^= static_cast<char>(1u << Below(rng, 8));
      c.description = std::to_string(flips) + " bit flip(s)";
    } else {
      size_t len = Below(rng, bytes.size());
      bytes.resize(len);
      c.description = "truncated to " + std::to_string(len) + " bytes";
    }
    WriteFile(c.model_path, bytes);
    return c;
  }
  ModelProto m = seed;
  std::string what;
  for (int attempt = 0; attempt < 8 && what.empty(); ++attempt) {
    what = ProtoMutations()[kind - 2](m, rng, dir, outside_file);
    if (what.empty()) kind = 2 + Below(rng, ProtoMutations().size());
  }
  if (!what.empty() && what[0] == '!') {
    c.must_refuse = true;
    what.erase(0, 1);
  }
  c.description = what.empty() ? "unmutated seed" : what;
  WriteFile(c.model_path, m.SerializeAsString());
  return c;
}

}  // namespace ridge::fuzz
