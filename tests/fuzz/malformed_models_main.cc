// ridge_malformed: the malformed-model generator and runner. Mutates built-in seed models and
// zoo models (bit flips, truncation, hostile dims/dtypes/sizes, dangling edges, cycles,
// duplicate names, missing initializers, bad opsets, deep nesting, escaping external data, ...),
// loads each case with the ONNX loader + shape inference in a forked child under a 2 s / 512 MB
// cap, and counts outcomes. Exit code 0 only if every case loaded or was refused cleanly with an
// error naming the file.
//
//   ridge_malformed [--cases N] [--seed S] [--models DIR] [--work DIR] [--verbose]
//   ridge_malformed --write-seeds DIR   (writes the built-in seed models, e.g. for libFuzzer)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "case_runner.h"
#include "mutators.h"
#include "onnx/loader.h"
#include "ops/shape_inference.h"
#include "seed_models.h"

namespace {

namespace fs = std::filesystem;
using ridge::fuzz::Outcome;

// No single allocation of a well-behaved load of these small models comes near this: a larger
// request means the loader trusted a size the file merely claims.
constexpr size_t kMaxSingleAllocation = size_t{256} << 20;

int LoadCase(const std::string& path) {
  try {
    auto graph = ridge::onnx::LoadModel(path);
    ridge::Status status = graph.status();
    if (graph.ok()) status = ridge::ops::InferShapes(*graph, {});
    if (status.ok()) return 0;
    // A useful refusal names the file it refers to.
    return status.message().find("model.onnx") != std::string::npos ? 1 : 3;
  } catch (const std::bad_alloc&) {
    return 4;
  }
}

bool ReadSeed(const std::string& path, ::onnx::ModelProto* m) {
  std::ifstream in(path, std::ios::binary);
  return in && m->ParseFromIstream(&in);
}

}  // namespace

void* operator new(size_t size) {
  if (size > kMaxSingleAllocation) {
    std::fprintf(stderr, "allocation of %zu bytes requested\n", size);
    std::_Exit(4);
  }
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

int main(int argc, char** argv) {
  int cases = 1000;
  uint64_t seed = 20261128;
  std::string models_dir;
  std::string work = (fs::temp_directory_path() / "ridge_malformed").string();
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--cases") {
      cases = std::atoi(next().c_str());
    } else if (a == "--seed") {
      seed = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--models") {
      models_dir = next();
    } else if (a == "--work") {
      work = next();
    } else if (a == "--write-seeds") {
      std::string dir = next();
      fs::create_directories(dir);
      int k = 0;
      for (const auto& m : ridge::fuzz::AllBuiltInSeeds()) {
        std::ofstream out(dir + "/seed" + std::to_string(k++) + ".onnx", std::ios::binary);
        m.SerializeToOstream(&out);
      }
      return 0;
    } else if (a == "--verbose") {
      verbose = true;
    } else {
      std::fprintf(stderr,
                   "usage: ridge_malformed [--cases N] [--seed S] [--models DIR] [--work DIR] "
                   "[--verbose] | --write-seeds DIR\n");
      return 2;
    }
  }
  std::vector<::onnx::ModelProto> seeds = ridge::fuzz::AllBuiltInSeeds();
  std::vector<std::string> seed_names = {"convnet", "shape_chain", "mixed"};
  // Zoo models small enough to mutate quickly (the larger ones add time, not coverage).
  for (const char* name : {"mobilenet_v2", "yolov8n", "efficientnet_b0"}) {
    if (models_dir.empty()) break;
    ::onnx::ModelProto m;
    if (ReadSeed(models_dir + "/" + name + ".onnx", &m)) {
      seeds.push_back(std::move(m));
      seed_names.push_back(name);
    }
  }
  fs::create_directories(work);
  const std::string outside = work + "/outside_secret.bin";
  { std::ofstream(outside, std::ios::binary) << std::string(4096, 'S'); }

  std::mt19937_64 rng(seed);
  std::map<Outcome, int> counts;
  int failures = 0;
  int accepted_invalid = 0;
  for (int i = 0; i < cases; ++i) {
    // Zoo seeds are 5-15 MB: use them for 1 case in 10 to keep the run short.
    size_t s = (i % 10 == 9 && seeds.size() > 3) ? 3 + rng() % (seeds.size() - 3) : rng() % 3;
    auto c = ridge::fuzz::MakeMalformedCase(seeds[s], rng, work + "/case", outside);
    std::string detail;
    Outcome o = ridge::fuzz::RunCase([&] { return LoadCase(c.model_path); }, {}, &detail);
    ++counts[o];
    bool bad = o != Outcome::kLoaded && o != Outcome::kRefused;
    if (o == Outcome::kLoaded && c.must_refuse) {
      bad = true;
      detail = "ACCEPTED an invalid model";
      ++accepted_invalid;
    }
    if (bad) {
      ++failures;
      std::printf("case %d (seed %s, %s): %s %s\n", i, seed_names[s].c_str(), c.description.c_str(),
                  ridge::fuzz::OutcomeName(o), detail.c_str());
      fs::copy_file(c.model_path, work + "/failure_" + std::to_string(i) + ".onnx",
                    fs::copy_options::overwrite_existing);
    } else if (verbose) {
      std::printf("case %d (seed %s, %s): %s\n", i, seed_names[s].c_str(), c.description.c_str(),
                  ridge::fuzz::OutcomeName(o));
    }
  }
  std::printf(
      "malformed models: %d cases tried (seeds: %zu, %d mutation kinds), %d loaded, %d refused "
      "cleanly, %d crashed, %d timed out, %d out of memory, %d unhelpful errors, %d invalid "
      "models accepted\n",
      cases, seeds.size(), ridge::fuzz::NumMutationKinds(), counts[Outcome::kLoaded],
      counts[Outcome::kRefused], counts[Outcome::kCrashed], counts[Outcome::kTimedOut],
      counts[Outcome::kOutOfMemory], counts[Outcome::kBadMessage], accepted_invalid);
  std::printf("%d passed, %d failed\n", cases - failures, failures);
  return failures == 0 ? 0 : 1;
}
