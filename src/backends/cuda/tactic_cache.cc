#include "backends/cuda/tactic_cache.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

namespace ridge::cuda {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "ridge-timing-cache";
constexpr int64_t kVersion = 1;

// Arrays and objects nest at most this deep in a valid file (top, entries, entry): checked on
// the raw text first, so a hostile file cannot make the parser recurse deeply.
constexpr int kMaxDepth = 4;

bool NestingWithin(const std::string& text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

Status Bad(const std::string& what) { return DataLoss("timing cache: " + what); }

// An integer field within [lo, hi]; floats, strings and out-of-range numbers are refused.
Status GetInt(const json& o, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  auto it = o.find(name);
  if (it == o.end()) return Bad(std::string("missing field '") + name + "'");
  if (it->is_number_unsigned()) {
    if (it->get<uint64_t>() > static_cast<uint64_t>(hi))
      return Bad(std::string("'") + name + "' out of range");
    *out = static_cast<int64_t>(it->get<uint64_t>());
  } else if (it->is_number_integer()) {
    *out = it->get<int64_t>();
  } else {
    return Bad(std::string("'") + name + "' must be an integer");
  }
  if (*out < lo || *out > hi) return Bad(std::string("'") + name + "' out of range");
  return Status::Ok();
}

Status GetString(const json& o, const char* name, size_t max_chars, std::string* out) {
  auto it = o.find(name);
  if (it == o.end()) return Bad(std::string("missing field '") + name + "'");
  if (!it->is_string()) return Bad(std::string("'") + name + "' must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_chars) return Bad(std::string("'") + name + "' is too long");
  *out = s;
  return Status::Ok();
}

// Every field of `o` must be one of `allowed`: a typo or a foreign file is refused, not
// half-read.
Status OnlyFields(const json& o, std::initializer_list<const char*> allowed, const char* what) {
  for (auto it = o.begin(); it != o.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) return Bad(std::string("unknown field '") + it.key() + "' in " + what);
  }
  return Status::Ok();
}

bool IsLowerHex(const std::string& s) {
  if (s.size() % 2 != 0) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Status ParseEnvironment(const json& e, TacticEnvironment* env) {
  if (!e.is_object()) return Bad("'environment' must be an object");
  RIDGE_RETURN_IF_ERROR(
      OnlyFields(e, {"gpu", "sm", "driver", "cuda_runtime", "cudnn", "cublas"}, "'environment'"));
  int64_t v = 0;
  RIDGE_RETURN_IF_ERROR(GetString(e, "gpu", 256, &env->gpu_name));
  RIDGE_RETURN_IF_ERROR(GetInt(e, "sm", 0, 10000, &v));
  env->sm = static_cast<int32_t>(v);
  RIDGE_RETURN_IF_ERROR(GetInt(e, "driver", 0, INT32_MAX, &v));
  env->driver_version = static_cast<int32_t>(v);
  RIDGE_RETURN_IF_ERROR(GetInt(e, "cuda_runtime", 0, INT32_MAX, &v));
  env->cuda_runtime_version = static_cast<int32_t>(v);
  RIDGE_RETURN_IF_ERROR(GetInt(e, "cudnn", 0, INT64_MAX, &env->cudnn_version));
  RIDGE_RETURN_IF_ERROR(GetInt(e, "cublas", 0, INT64_MAX, &env->cublas_version));
  return Status::Ok();
}

Status ParseEntry(const json& e, std::string* key, Tactic* t) {
  if (!e.is_object()) return Bad("an entry must be an object");
  RIDGE_RETURN_IF_ERROR(OnlyFields(
      e, {"key", "library", "algo", "math", "blob", "workspace_bytes", "ms", "candidates"},
      "an entry"));
  RIDGE_RETURN_IF_ERROR(GetString(e, "key", TacticCache::kMaxKeyChars, key));
  if (key->empty()) return Bad("empty key");
  const std::string where = " (entry '" + key->substr(0, 80) + "')";
  Status s = GetString(e, "library", 16, &t->library);
  if (s.ok() && t->library != "cudnn" && t->library != "cublaslt" && t->library != "ridge")
    s = Bad("library must be cudnn, cublaslt or ridge");
  int64_t v = 0;
  if (s.ok()) s = GetInt(e, "algo", -1, 1 << 20, &v);
  t->algo = static_cast<int32_t>(v);
  if (s.ok()) s = GetInt(e, "math", 0, 64, &v);
  t->math = static_cast<int32_t>(v);
  if (s.ok()) s = GetString(e, "blob", TacticCache::kMaxBlobHexChars, &t->blob_hex);
  if (s.ok() && !IsLowerHex(t->blob_hex)) s = Bad("blob must be lowercase hex bytes");
  if (s.ok() && t->library == "cublaslt" && t->blob_hex.empty())
    s = Bad("a cublaslt entry needs its algo blob");
  if (s.ok()) s = GetInt(e, "workspace_bytes", 0, int64_t{1} << 40, &t->workspace_bytes);
  if (s.ok()) s = GetInt(e, "candidates", 0, 100000, &v);
  t->candidates = static_cast<int32_t>(v);
  if (s.ok()) {
    auto it = e.find("ms");
    if (it == e.end() || !it->is_number()) {
      s = Bad("'ms' must be a number");
    } else {
      t->ms = it->get<double>();
      if (!std::isfinite(t->ms) || t->ms < 0 || t->ms > 1e6) s = Bad("'ms' out of range");
    }
  }
  return s.ok() ? s : Status(s.code(), s.message() + where);
}

}  // namespace

std::string TacticEnvironment::Describe() const {
  return gpu_name + ", sm " + std::to_string(sm) + ", driver " + std::to_string(driver_version) +
         ", CUDA " + std::to_string(cuda_runtime_version) + ", cuDNN " +
         std::to_string(cudnn_version) + ", cuBLAS " + std::to_string(cublas_version);
}

bool TacticEnvironment::operator==(const TacticEnvironment& o) const {
  return gpu_name == o.gpu_name && sm == o.sm && driver_version == o.driver_version &&
         cuda_runtime_version == o.cuda_runtime_version && cudnn_version == o.cudnn_version &&
         cublas_version == o.cublas_version;
}

std::string Tactic::Describe() const {
  std::string s = library + " algo " + std::to_string(algo);
  if (library == "cudnn") s += " (math " + std::to_string(math) + ")";
  if (workspace_bytes > 0) s += ", workspace " + std::to_string(workspace_bytes) + " B";
  return s;
}

bool Tactic::operator==(const Tactic& o) const {
  return library == o.library && algo == o.algo && math == o.math && blob_hex == o.blob_hex &&
         workspace_bytes == o.workspace_bytes && ms == o.ms && candidates == o.candidates;
}

TacticKey::TacticKey(std::string_view op) : key_(op) {}

TacticKey& TacticKey::Add(std::string_view name, int64_t value) {
  return Add(name, std::string_view(std::to_string(value)));
}

TacticKey& TacticKey::Add(std::string_view name, const std::vector<int64_t>& values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(values[i]);
  }
  return Add(name, std::string_view(s));
}

TacticKey& TacticKey::Add(std::string_view name, std::string_view value) {
  key_ += '|';
  key_ += name;
  key_ += '=';
  key_ += value;
  return *this;
}

const Tactic* TacticCache::Find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

void TacticCache::Put(const std::string& key, const Tactic& tactic) { entries_[key] = tactic; }

bool TacticCache::MatchEnvironment(const TacticEnvironment& current, std::string* note) {
  const bool keep = env_.empty() || env_ == current;
  if (!keep) {
    if (note) {
      *note = "timing cache from another environment (" + env_.Describe() + "; this is " +
              current.Describe() + "): its " + std::to_string(entries_.size()) +
              " entries are ignored";
    }
    entries_.clear();
  }
  env_ = current;
  return keep;
}

std::string TacticCache::ToJson() const {
  json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["environment"] = {{"gpu", env_.gpu_name},          {"sm", env_.sm},
                      {"driver", env_.driver_version}, {"cuda_runtime", env_.cuda_runtime_version},
                      {"cudnn", env_.cudnn_version},   {"cublas", env_.cublas_version}};
  json entries = json::array();
  for (const auto& [key, t] : entries_) {
    entries.push_back({{"key", key},
                       {"library", t.library},
                       {"algo", t.algo},
                       {"math", t.math},
                       {"blob", t.blob_hex},
                       {"workspace_bytes", t.workspace_bytes},
                       {"ms", t.ms},
                       {"candidates", t.candidates}});
  }
  j["entries"] = std::move(entries);
  return j.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

Status TacticCache::Parse(const std::string& text) {
  env_ = TacticEnvironment{};
  entries_.clear();
  if (text.size() > kMaxJsonBytes)
    return LimitExceeded("timing cache: " + std::to_string(text.size()) + " bytes (limit " +
                         std::to_string(kMaxJsonBytes) + ")");
  if (!NestingWithin(text, kMaxDepth)) return Bad("nested deeper than a timing cache is");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad("not valid JSON (truncated or corrupt)");
  if (!j.is_object()) return Bad("the top level must be an object");
  Status s = OnlyFields(j, {"format", "version", "environment", "entries"}, "the top level");
  std::string format;
  int64_t version = 0;
  if (s.ok()) s = GetString(j, "format", 64, &format);
  if (s.ok() && format != kFormat) s = Bad("format is '" + format + "', not " + kFormat);
  if (s.ok()) s = GetInt(j, "version", 0, INT32_MAX, &version);
  if (s.ok() && version != kVersion)
    s = Bad("version " + std::to_string(version) + " (this build reads " +
            std::to_string(kVersion) + ")");
  TacticEnvironment env;
  if (s.ok())
    s = j.contains("environment") ? ParseEnvironment(j["environment"], &env)
                                  : Bad("missing field 'environment'");
  std::map<std::string, Tactic> entries;
  if (s.ok()) {
    auto it = j.find("entries");
    if (it == j.end() || !it->is_array()) {
      s = Bad("'entries' must be an array");
    } else if (it->size() > kMaxEntries) {
      s = LimitExceeded("timing cache: " + std::to_string(it->size()) + " entries (limit " +
                        std::to_string(kMaxEntries) + ")");
    }
    for (size_t i = 0; s.ok() && it != j.end() && i < it->size(); ++i) {
      std::string key;
      Tactic t;
      s = ParseEntry((*it)[i], &key, &t);
      if (s.ok() && !entries.emplace(key, t).second) s = Bad("duplicate key '" + key + "'");
    }
  }
  RIDGE_RETURN_IF_ERROR(s);
  env_ = std::move(env);
  entries_ = std::move(entries);
  return Status::Ok();
}

Status TacticCache::LoadFile(const std::string& path) {
  env_ = TacticEnvironment{};
  entries_.clear();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFound("no timing cache at '" + path + "'");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return IoError("cannot read '" + path + "': " + ec.message());
  if (size > kMaxJsonBytes)
    return LimitExceeded("timing cache '" + path + "' is " + std::to_string(size) + " bytes");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  if (!(ss << in.rdbuf()) && size > 0) return IoError("cannot read '" + path + "'");
  Status s = Parse(ss.str());
  return s.ok() ? s : Status(s.code(), s.message() + " ('" + path + "')");
}

Status TacticCache::SaveFile(const std::string& path) const {
  std::error_code ec;
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return IoError("cannot create the folder of '" + path + "': " + ec.message());
  const std::string tmp = path + ".tmp" + std::to_string(static_cast<long>(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!(out << ToJson()) || !out.flush()) {
      std::filesystem::remove(tmp, ec);
      return IoError("cannot write '" + tmp + "'");
    }
  }
  // rename() replaces the old file atomically: a concurrent reader sees the old or new cache.
  std::filesystem::rename(tmp, p, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return IoError("cannot replace '" + path + "'");
  }
  return Status::Ok();
}

std::string TacticCache::DefaultPath() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/ridge/timing_cache.json";
  const char* home = std::getenv("HOME");
  if (home && *home) return std::string(home) + "/.cache/ridge/timing_cache.json";
  return "";
}

void TacticCacheFile::Open(const std::string& explicit_path, bool disabled,
                           const std::function<void(const std::string&)>& warn) {
  cache = TacticCache();
  path = disabled ? "" : (explicit_path.empty() ? TacticCache::DefaultPath() : explicit_path);
  if (path.empty()) return;
  Status s = cache.LoadFile(path);
  if (!s.ok() && s.code() != StatusCode::kNotFound && warn)
    warn("warning: " + s.ToString() + "; tactics are timed again");
}

void TacticCacheFile::Save(const std::function<void(const std::string&)>& warn) const {
  if (path.empty()) return;
  Status s = cache.SaveFile(path);
  if (!s.ok() && warn) warn("warning: timing cache not saved: " + s.ToString());
}

BuildProgress::BuildProgress(int32_t total, bool tty, std::function<void(const std::string&)> write)
    : total_(total), tty_(tty), write_(std::move(write)) {}

std::string BuildProgress::Bar(int32_t done, int32_t total, double elapsed_s, int32_t width) {
  const double frac = total > 0 ? std::clamp(static_cast<double>(done) / total, 0.0, 1.0) : 1.0;
  width = std::max<int32_t>(width, 0);
  const auto filled = static_cast<int32_t>(frac * width + 1e-9);
  std::string s = "[";
  s.append(static_cast<size_t>(filled), '#');
  s.append(static_cast<size_t>(width - filled), '.');
  s += "] ";
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%d/%d layers  %.1f s", done, total, elapsed_s);
  return s + buf;
}

void BuildProgress::Update(int32_t done, double elapsed_s) {
  done_ = done;
  if (!write_ || total_ <= 0) return;
  if (tty_) {
    write_("\rtactics " + Bar(done, total_, elapsed_s));
    return;
  }
  const int32_t decile = static_cast<int32_t>(int64_t{done} * 10 / total_);
  if (decile <= last_decile_) return;
  last_decile_ = decile;
  char buf[96];
  std::snprintf(buf, sizeof(buf), "tactics: %d/%d layers (%d%%), %.1f s\n", done, total_,
                decile * 10, elapsed_s);
  write_(buf);
}

void BuildProgress::Abort() {
  if (write_ && total_ > 0 && tty_ && done_ > 0) write_("\n");
}

void BuildProgress::Finish(double elapsed_s) {
  if (!write_ || total_ <= 0) return;
  if (tty_) {
    write_("\rtactics " + Bar(done_, total_, elapsed_s) + "\n");
  } else if (last_decile_ < 10) {
    last_decile_ = 9;
    Update(total_, elapsed_s);
  }
}

}  // namespace ridge::cuda
