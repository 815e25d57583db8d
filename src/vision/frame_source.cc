#include "vision/frame_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <new>
#include <string_view>

namespace ridge::vision {
namespace {

namespace fs = std::filesystem;

class FolderSource : public FrameSource {
 public:
  FolderSource(std::string folder, std::vector<std::string> files, DecodeOptions options)
      : folder_(std::move(folder)), files_(std::move(files)), options_(options) {}
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  std::string Describe() const override {
    return folder_ + " (" + std::to_string(files_.size()) + " images)";
  }
  Status Read(int64_t id, Frame* out) override {
    if (id < 0 || id >= size())
      return InvalidArgument("frame " + std::to_string(id) + " of " + std::to_string(size()));
    const std::string& path = files_[static_cast<size_t>(id)];
    RIDGE_ASSIGN_OR_RETURN(out->image, DecodeImageFile(path, options_));
    out->id = id;
    out->name = path;
    return Status::Ok();
  }

 private:
  std::string folder_;
  std::vector<std::string> files_;
  DecodeOptions options_;
};

// Renders the pool once (MakeSyntheticSource); reads are one memcpy out of it.
class SyntheticSource : public FrameSource {
 public:
  SyntheticSource(int64_t count, int width, int height, ChannelOrder order)
      : count_(count), width_(width), height_(height), order_(order) {}
  int64_t size() const override { return count_; }
  std::string Describe() const override {
    return "synthetic " + std::to_string(width_) + "x" + std::to_string(height_) + " (" +
           std::to_string(count_) + " frames, " + std::to_string(pool_frames_) +
           " distinct, in memory)";
  }
  int64_t FixedFrameBytes() const override { return static_cast<int64_t>(frame_bytes()); }

  Status Read(int64_t id, Frame* out) override {
    RIDGE_ASSIGN_OR_RETURN(const uint8_t* src, PoolFrame(id));
    Image& im = out->image;
    im.width = width_;
    im.height = height_;
    im.channels = 3;
    im.stride = static_cast<size_t>(width_) * 3;
    im.order = order_;
    im.data.assign(src, src + frame_bytes());  // keeps the buffer when it is large enough
    out->id = id;
    out->name = "synthetic";
    return Status::Ok();
  }

  Status ReadInto(int64_t id, uint8_t* dst, size_t capacity, FrameInfo* info) override {
    RIDGE_ASSIGN_OR_RETURN(const uint8_t* src, PoolFrame(id));
    if (capacity < frame_bytes())
      return LimitExceeded("synthetic frame " + std::to_string(id) + " needs " +
                           std::to_string(frame_bytes()) + " bytes, the buffer holds " +
                           std::to_string(capacity));
    std::memcpy(dst, src, frame_bytes());
    *info = {id, "synthetic", width_, height_, 3, static_cast<size_t>(width_) * 3, order_};
    return Status::Ok();
  }

  // The pool: min(count, 8) frames, fewer when they would exceed kPoolBytes (at least one).
  Status Render() {
    constexpr size_t kPoolBytes = size_t{256} << 20;
    pool_frames_ = static_cast<int>(std::clamp<int64_t>(
        std::min<int64_t>(count_, static_cast<int64_t>(kPoolBytes / frame_bytes())), 1, 8));
    try {
      pool_.resize(frame_bytes() * static_cast<size_t>(pool_frames_));
    } catch (const std::bad_alloc&) {
      return LimitExceeded("synthetic frames: out of memory");
    }
    // A diagonal gradient (something to resize) with a 1/4-height square whose x position
    // differs per pool frame: different frames give different bytes, one id always the same.
    const int side = std::max(1, height_ / 4);
    const int span = std::max(0, width_ - side);
    const size_t stride = size_t{3} * width_;
    for (int p = 0; p < pool_frames_; ++p) {
      uint8_t* frame = pool_.data() + frame_bytes() * static_cast<size_t>(p);
      if (p > 0) {
        std::memcpy(frame, pool_.data(), frame_bytes());  // the gradient of frame 0
      } else {
        for (int y = 0; y < height_; ++y) {
          uint8_t* row = frame + stride * y;
          for (int x = 0; x < width_; ++x) {
            row[3 * x] = static_cast<uint8_t>((x + y) >> 3);
            row[3 * x + 1] = static_cast<uint8_t>(x * 255 / std::max(1, width_ - 1));
            row[3 * x + 2] = static_cast<uint8_t>(y * 255 / std::max(1, height_ - 1));
          }
        }
      }
      const int sq_x =
          pool_frames_ > 1 ? static_cast<int>(int64_t{span} * p / (pool_frames_ - 1)) : 0;
      const int sq_y = height_ / 3;
      for (int y = sq_y; y < std::min(height_, sq_y + side); ++y) {
        uint8_t* px = frame + stride * y + size_t{3} * sq_x;
        for (int x = 0; x < side && sq_x + x < width_; ++x, px += 3)
          px[0] = 40, px[1] = 200, px[2] = 240;
      }
    }
    return Status::Ok();
  }

 private:
  size_t frame_bytes() const { return size_t{3} * width_ * height_; }
  Result<const uint8_t*> PoolFrame(int64_t id) const {
    if (id < 0 || id >= count_)
      return InvalidArgument("synthetic frame " + std::to_string(id) + " of " +
                             std::to_string(count_));
    return pool_.data() + frame_bytes() * static_cast<size_t>(id % pool_frames_);
  }

  int64_t count_;
  int width_, height_;
  ChannelOrder order_;
  int pool_frames_ = 1;
  std::vector<uint8_t> pool_;  // pool_frames_ frames back to back; read-only after Render
};

// Reads with pread on one descriptor: no shared file position, so threads read in parallel.
class RawSource : public FrameSource {
 public:
  RawSource(std::string path, int fd, int64_t count, int width, int height, int channels,
            ChannelOrder order, DecodeOptions options)
      : path_(std::move(path)),
        fd_(fd),
        count_(count),
        width_(width),
        height_(height),
        channels_(channels),
        order_(order),
        options_(options) {}
  ~RawSource() override { ::close(fd_); }
  int64_t size() const override { return count_; }
  std::string Describe() const override {
    return path_ + " (raw " + std::to_string(width_) + "x" + std::to_string(height_) + "x" +
           std::to_string(channels_) + ", " + std::to_string(count_) + " frames)";
  }
  int64_t FixedFrameBytes() const override { return int64_t{width_} * height_ * 3; }

  Status Read(int64_t id, Frame* out) override {
    const std::string name = path_ + " frame " + std::to_string(id);
    if (id < 0 || id >= count_) return InvalidArgument(name + ": out of range");
    if (Direct()) {  // the file holds what the pipeline wants: read straight into the image
      Image& im = out->image;
      im.data.resize(frame_bytes());
      RIDGE_RETURN_IF_ERROR(ReadAt(id, im.data.data(), name));
      im.width = width_;
      im.height = height_;
      im.channels = 3;
      im.stride = size_t{3} * width_;
      im.order = order_;
    } else {
      std::string bytes(frame_bytes(), '\0');
      RIDGE_RETURN_IF_ERROR(ReadAt(id, reinterpret_cast<uint8_t*>(bytes.data()), name));
      RIDGE_ASSIGN_OR_RETURN(
          out->image, ImageFromRaw(bytes, width_, height_, channels_, order_, name, options_));
    }
    out->id = id;
    out->name = name;
    return Status::Ok();
  }

  Status ReadInto(int64_t id, uint8_t* dst, size_t capacity, FrameInfo* info) override {
    if (!Direct()) return FrameSource::ReadInto(id, dst, capacity, info);
    const std::string name = path_ + " frame " + std::to_string(id);
    if (id < 0 || id >= count_) return InvalidArgument(name + ": out of range");
    if (capacity < frame_bytes())
      return LimitExceeded(name + " needs " + std::to_string(frame_bytes()) +
                           " bytes, the buffer holds " + std::to_string(capacity));
    RIDGE_RETURN_IF_ERROR(ReadAt(id, dst, name));
    *info = {id, name, width_, height_, 3, size_t{3} * width_, order_};
    return Status::Ok();
  }

 private:
  size_t frame_bytes() const { return static_cast<size_t>(width_) * height_ * channels_; }
  bool Direct() const { return channels_ == 3 && order_ == options_.order; }

  // Reads frame `id`'s frame_bytes() bytes (a file truncated since opening: a short read).
  Status ReadAt(int64_t id, uint8_t* dst, const std::string& name) const {
    const size_t want = frame_bytes();
    size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(fd_, dst + got, want - got,
                                static_cast<off_t>(id * static_cast<int64_t>(want) + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoError(name + ": " + std::strerror(errno));
      if (n == 0) return IoError(name + ": short read");
      got += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  std::string path_;
  int fd_;
  int64_t count_;
  int width_, height_, channels_;
  ChannelOrder order_;
  DecodeOptions options_;
};

bool ParseInt(std::string_view s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// "WxH" or "WxHxC" (C optional: returns 3).
bool ParseSize(std::string_view s, int64_t* w, int64_t* h, int64_t* c) {
  *c = 3;
  size_t x1 = s.find('x');
  if (x1 == std::string_view::npos) return false;
  std::string_view rest = s.substr(x1 + 1);
  size_t x2 = rest.find('x');
  if (x2 != std::string_view::npos && !ParseInt(rest.substr(x2 + 1), c)) return false;
  return ParseInt(s.substr(0, x1), w) && ParseInt(rest.substr(0, x2), h);
}

}  // namespace

Status FrameSource::ReadInto(int64_t id, uint8_t* dst, size_t capacity, FrameInfo* info) {
  Frame frame;
  RIDGE_RETURN_IF_ERROR(Read(id, &frame));
  const Image& im = frame.image;
  const size_t bytes = im.stride * static_cast<size_t>(im.height);
  if (capacity < bytes || im.data.size() < bytes)
    return LimitExceeded(frame.name + " needs " + std::to_string(bytes) +
                         " bytes, the buffer holds " + std::to_string(capacity));
  std::memcpy(dst, im.data.data(), bytes);
  *info = {id, frame.name, im.width, im.height, im.channels, im.stride, im.order};
  return Status::Ok();
}

Result<std::unique_ptr<FrameSource>> OpenFolderSource(const std::string& folder,
                                                      const DecodeOptions& options) {
  RIDGE_ASSIGN_OR_RETURN(ImageFolder list, ListImageFolder(folder));
  if (list.files.empty()) {
    std::string why = list.unreadable.empty() ? "" : ("; unreadable: " + list.unreadable[0]);
    return NotFound(folder + ": no readable .jpg/.jpeg/.png files" + why);
  }
  return std::unique_ptr<FrameSource>(new FolderSource(folder, std::move(list.files), options));
}

Result<std::unique_ptr<FrameSource>> MakeSyntheticSource(int64_t count, int width, int height,
                                                         ChannelOrder order) {
  if (count < 0) return InvalidArgument("synthetic source: negative frame count");
  if (width < 1 || height < 1 || width > 16384 || height > 16384)
    return InvalidArgument("synthetic source: frame size must be 1..16384 per side");
  auto source = std::make_unique<SyntheticSource>(count, width, height, order);
  if (count > 0) RIDGE_RETURN_IF_ERROR(source->Render());
  return std::unique_ptr<FrameSource>(std::move(source));
}

Result<std::unique_ptr<FrameSource>> OpenRawSource(const std::string& path, int width, int height,
                                                   int channels, ChannelOrder source_order,
                                                   const DecodeOptions& options) {
  if (channels != 1 && channels != 3 && channels != 4)
    return InvalidArgument(path + ": raw frames need 1, 3 or 4 channels");
  if (width < 1 || height < 1 || width > options.limits.max_width ||
      height > options.limits.max_height || int64_t{width} * height > options.limits.max_pixels)
    return LimitExceeded(path + ": raw frame size " + std::to_string(width) + "x" +
                         std::to_string(height) + " outside the decode limits");
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return NotFound(path + ": " + ec.message());
  const uintmax_t frame_bytes = static_cast<uintmax_t>(width) * height * channels;
  if (size == 0 || size % frame_bytes != 0)
    return InvalidArgument(path + ": " + std::to_string(size) + " bytes is not a whole number of " +
                           std::to_string(frame_bytes) + "-byte frames");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(path + ": cannot open for reading: " + std::strerror(errno));
  return std::unique_ptr<FrameSource>(new RawSource(path, fd,
                                                    static_cast<int64_t>(size / frame_bytes), width,
                                                    height, channels, source_order, options));
}

Result<std::unique_ptr<FrameSource>> OpenFrameSource(const std::string& spec,
                                                     const DecodeOptions& options) {
  std::string_view s = spec;
  if (s == "synthetic") return MakeSyntheticSource(100, 1920, 1080, options.order);
  if (s.substr(0, 10) == "synthetic:") {
    std::string_view rest = s.substr(10);
    size_t colon = rest.find(':');
    int64_t n = 0, w = 1920, h = 1080, c = 3;
    if (!ParseInt(rest.substr(0, colon), &n) ||
        (colon != std::string_view::npos && (!ParseSize(rest.substr(colon + 1), &w, &h, &c))) ||
        c != 3 || w > 16384 || h > 16384)
      return InvalidArgument("--source " + spec + ": expected synthetic:N or synthetic:N:WxH");
    return MakeSyntheticSource(n, static_cast<int>(w), static_cast<int>(h), options.order);
  }
  if (s.substr(0, 4) == "raw:") {
    std::string_view rest = s.substr(4);
    size_t colon = rest.rfind(':');
    int64_t w = 0, h = 0, c = 3;
    if (colon == std::string_view::npos || !ParseSize(rest.substr(colon + 1), &w, &h, &c) ||
        w > 16384 || h > 16384 || w < 1 || h < 1)
      return InvalidArgument("--source " + spec + ": expected raw:FILE:WxH or raw:FILE:WxHxC");
    return OpenRawSource(std::string(rest.substr(0, colon)), static_cast<int>(w),
                         static_cast<int>(h), static_cast<int>(c), ChannelOrder::kBgr, options);
  }
  return OpenFolderSource(spec, options);
}

}  // namespace ridge::vision
