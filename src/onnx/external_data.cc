#include "onnx/external_data.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "core/checked_math.h"

namespace ridge::onnx::internal {
namespace {

namespace fs = std::filesystem;

// Parses a non-negative decimal integer; the ONNX spec stores offset/length as strings.
Result<int64_t> ParseNonNegative(const std::string& key, const std::string& text) {
  if (!text.empty() && text[0] == '-') {
    return InvalidModel(key + " is negative (" + text + ")");
  }
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec == std::errc::result_out_of_range) {
    return InvalidModel(key + " '" + text + "' is empty or overflows int64");
  }
  if (ec != std::errc() || ptr != end) {
    return InvalidModel(key + " '" + text + "' is not a decimal integer");
  }
  return v;
}

// Closes a POSIX file descriptor on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// True if `path` (canonical) is `base` (canonical) or below it.
bool IsInside(const fs::path& path, const fs::path& base) {
  auto p = path.begin();
  for (auto b = base.begin(); b != base.end(); ++b, ++p) {
    if (b->empty()) continue;  // a trailing separator in base
    if (p == path.end() || *p != *b) return false;
  }
  return true;
}

}  // namespace

Result<ExternalRef> ParseExternalRef(const ::onnx::TensorProto& proto) {
  ExternalRef ref;
  const std::string* offset = nullptr;
  const std::string* length = nullptr;
  bool has_location = false;
  for (const auto& entry : proto.external_data()) {
    if (entry.key() == "location") {
      ref.location = entry.value();
      has_location = true;
    } else if (entry.key() == "offset") {
      offset = &entry.value();
    } else if (entry.key() == "length") {
      length = &entry.value();
    }
  }
  if (!has_location || ref.location.empty()) {
    return InvalidModel("external data has no 'location'");
  }
  // Numbers are parsed once the location is known, so their errors can name it.
  const std::string where = "external data '" + ref.location + "'";
  if (offset) {
    auto v = ParseNonNegative("offset", *offset);
    if (!v.ok()) return v.status().WithContext(where);
    ref.offset = *v;
  }
  if (length) {
    auto v = ParseNonNegative("length", *length);
    if (!v.ok()) return v.status().WithContext(where);
    ref.length = *v;
  }
  return ref;
}

Status ReadExternalData(const std::string& base_dir, const ExternalRef& ref, int64_t expected_bytes,
                        std::byte* dest) {
  const std::string where =
      "external data '" + ref.location + "' at offset " + std::to_string(ref.offset);
  if (base_dir.empty()) {
    return Unsupported(where + ": external data needs a model folder (loaded from memory)");
  }
  if (ref.location.find('\0') != std::string::npos) {
    return InvalidModel(where + ": location contains a NUL byte");
  }
  const fs::path location(ref.location);
  if (location.is_absolute() || location.has_root_name() || location.has_root_directory()) {
    return InvalidModel(where +
                        ": absolute paths are refused; the location must be relative "
                        "to the model's folder");
  }
  for (const fs::path& part : location) {
    if (part == "..") {
      return InvalidModel(where +
                          ": '..' components are refused (must stay in the model's "
                          "folder)");
    }
  }
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::absolute(base_dir, ec), ec);
  if (ec) return IoError(where + ": cannot resolve the model folder: " + ec.message());
  const fs::path resolved = fs::weakly_canonical(base / location, ec);
  if (ec) return IoError(where + ": cannot resolve the path: " + ec.message());
  if (!IsInside(resolved, base)) {
    return InvalidModel(where + ": resolves to '" + resolved.string() +
                        "', outside the model's folder (symlink escape)");
  }

  // O_NONBLOCK: opening a FIFO must not wait for a writer; S_ISREG below refuses it anyway.
  const int fd = ::open(resolved.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return NotFound(where + ": file not found");
    return IoError(where + ": cannot open: " + std::strerror(err));
  }
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError(where + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return InvalidModel(where + ": not a regular file");
  // A hard link is indistinguishable from the file it shares with a folder elsewhere, so no path
  // check can prove it belongs to the model: refuse files with more than one link.
  if (st.st_nlink > 1) {
    return InvalidModel(where + ": the file has " + std::to_string(st.st_nlink) +
                        " hard links; it may be a file from outside the model's folder");
  }
  const int64_t file_bytes = st.st_size;

  if (ref.length && *ref.length != expected_bytes) {
    return InvalidModel(where + ": length " + std::to_string(*ref.length) +
                        " disagrees with the tensor's shape, which needs " +
                        std::to_string(expected_bytes) + " bytes");
  }
  const auto end = CheckedAdd(ref.offset, expected_bytes);
  if (!end || *end > file_bytes) {
    return InvalidModel(where + ": " + std::to_string(expected_bytes) +
                        " bytes extend past the end of the file (" + std::to_string(file_bytes) +
                        " bytes)");
  }
  if (dest == nullptr) return Status::Ok();

  int64_t done = 0;
  while (done < expected_bytes) {
    const ssize_t n = ::pread(fd, dest + done, static_cast<size_t>(expected_bytes - done),
                              static_cast<off_t>(ref.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError(where + ": read failed: " + std::strerror(errno));
    if (n == 0) {
      return DataLoss(where + ": file shrank while reading (got " + std::to_string(done) + " of " +
                      std::to_string(expected_bytes) + " bytes)");
    }
    done += n;
  }
  return Status::Ok();
}

}  // namespace ridge::onnx::internal
