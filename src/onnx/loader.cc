// Entry points: file I/O and protobuf parsing under caps; every third-party exception stops
// here. The structural checks live in graph_builder.cc, tensor data in tensor_proto.cc.
#include "onnx/loader.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>

#include "onnx/graph_builder.h"
#include "onnx/onnx_pb.h"

namespace ridge::onnx {
namespace {

namespace pbio = google::protobuf::io;

// Protobuf cannot parse a message of 2 GiB or more, whatever our own cap says.
constexpr int64_t kProtobufMaxBytes = INT_MAX;

int64_t EffectiveFileCap(const LoadLimits& limits) {
  return std::min(limits.max_file_bytes, kProtobufMaxBytes);
}

Status CheckSize(int64_t size, const LoadLimits& limits) {
  if (size == 0) return InvalidModel("empty file, not an ONNX model");
  if (size > EffectiveFileCap(limits)) {
    return LimitExceeded("file is " + std::to_string(size) + " bytes, over the cap of " +
                         std::to_string(EffectiveFileCap(limits)) +
                         " bytes (protobuf's limit is 2 GiB; larger models keep weights as "
                         "external data)");
  }
  return Status::Ok();
}

// Parses with a total-bytes limit equal to the known input size, then builds the graph.
Result<ir::Graph> ParseAndBuild(pbio::ZeroCopyInputStream* stream, int64_t size,
                                const std::string& base_dir, const std::string& display_name,
                                const LoadOptions& options) {
  ::onnx::ModelProto model;
  {
    pbio::CodedInputStream coded(stream);
    coded.SetTotalBytesLimit(static_cast<int>(size));
    if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
      return InvalidModel("not a valid ONNX protobuf (truncated, corrupt or another format)");
    }
  }
  RIDGE_ASSIGN_OR_RETURN(ir::Graph graph, internal::BuildGraph(model, base_dir, options));
  graph.source_path = display_name;
  return graph;
}

// Turns anything a third-party library throws into a Status carrying the file name.
template <typename Fn>
Result<ir::Graph> Guarded(const std::string& display_name, Fn&& fn) {
  try {
    Result<ir::Graph> r = fn();
    if (!r.ok()) return r.status().WithContext(display_name);
    return r;
  } catch (const std::bad_alloc&) {
    return LimitExceeded(display_name + ": out of memory while loading the model");
  } catch (const std::exception& e) {
    return InvalidModel(display_name + ": loading failed: " + e.what());
  } catch (...) {
    return Internal(display_name + ": loading failed with an unknown exception");
  }
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<ir::Graph> LoadModel(const std::string& path, const LoadOptions& options) {
  return Guarded(path, [&]() -> Result<ir::Graph> {
    // O_NONBLOCK: a FIFO must not block the open; fstat on the open file (not the path) decides.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) return NotFound("file not found");
      return IoError(std::string("cannot open: ") + std::strerror(err));
    }
    FdCloser closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return IoError(std::string("cannot stat: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return InvalidArgument("not a regular file");
    RIDGE_RETURN_IF_ERROR(CheckSize(st.st_size, options.limits));
    std::string base_dir = std::filesystem::path(path).parent_path().string();
    if (base_dir.empty()) base_dir = ".";
    pbio::FileInputStream stream(fd);
    auto graph = ParseAndBuild(&stream, st.st_size, base_dir, path, options);
    if (stream.GetErrno() != 0) {
      return IoError(std::string("read failed: ") + std::strerror(stream.GetErrno()));
    }
    return graph;
  });
}

Result<ir::Graph> LoadModelFromBytes(const void* data, size_t size, const std::string& base_dir,
                                     const std::string& display_name, const LoadOptions& options) {
  return Guarded(display_name, [&]() -> Result<ir::Graph> {
    if (size > static_cast<size_t>(INT64_MAX)) return LimitExceeded("input is too large");
    RIDGE_RETURN_IF_ERROR(CheckSize(static_cast<int64_t>(size), options.limits));
    pbio::ArrayInputStream stream(data, static_cast<int>(size));
    return ParseAndBuild(&stream, static_cast<int64_t>(size), base_dir, display_name, options);
  });
}

}  // namespace ridge::onnx
