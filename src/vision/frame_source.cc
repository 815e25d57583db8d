#include "vision/frame_source.h"

#include <charconv>
#include <filesystem>
#include <fstream>
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

class SyntheticSource : public FrameSource {
 public:
  SyntheticSource(int64_t count, int width, int height, ChannelOrder order)
      : count_(count), width_(width), height_(height), order_(order) {}
  int64_t size() const override { return count_; }
  std::string Describe() const override {
    return "synthetic " + std::to_string(width_) + "x" + std::to_string(height_) + " (" +
           std::to_string(count_) + " frames)";
  }
  Status Read(int64_t id, Frame* out) override {
    if (id < 0 || id >= count_)
      return InvalidArgument("synthetic frame " + std::to_string(id) + " of " +
                             std::to_string(count_));
    if (base_.empty()) RIDGE_RETURN_IF_ERROR(DrawBase());
    Image& im = out->image;
    im.width = width_;
    im.height = height_;
    im.channels = 3;
    im.stride = static_cast<size_t>(width_) * 3;
    im.order = order_;
    im.data = base_;  // one copy of the background (~1 ms at 1080p), then the square
    // A 1/4-height square that moves 37 px per frame: different frames give different bytes,
    // the same frame always the same bytes.
    const int side = std::max(1, height_ / 4);
    const int sq_x = static_cast<int>((id * 37) % std::max(1, width_ - side + 1));
    const int sq_y = height_ / 3;
    for (int y = sq_y; y < std::min(height_, sq_y + side); ++y) {
      uint8_t* p = im.data.data() + static_cast<size_t>(y) * im.stride + size_t{3} * sq_x;
      for (int x = 0; x < side && sq_x + x < width_; ++x, p += 3) p[0] = 40, p[1] = 200, p[2] = 240;
    }
    out->id = id;
    out->name = "synthetic";
    return Status::Ok();
  }

 private:
  // The background every frame starts from: a diagonal gradient (something to resize).
  Status DrawBase() {
    try {
      base_.resize(size_t{3} * width_ * height_);
    } catch (const std::bad_alloc&) {
      return LimitExceeded("synthetic frame: out of memory");
    }
    for (int y = 0; y < height_; ++y) {
      uint8_t* row = base_.data() + size_t{3} * width_ * y;
      for (int x = 0; x < width_; ++x) {
        row[3 * x] = static_cast<uint8_t>((x + y) >> 3);
        row[3 * x + 1] = static_cast<uint8_t>(x * 255 / std::max(1, width_ - 1));
        row[3 * x + 2] = static_cast<uint8_t>(y * 255 / std::max(1, height_ - 1));
      }
    }
    return Status::Ok();
  }

  int64_t count_;
  int width_, height_;
  ChannelOrder order_;
  std::vector<uint8_t> base_;
};

class RawSource : public FrameSource {
 public:
  RawSource(std::string path, int64_t count, int width, int height, int channels,
            ChannelOrder order, DecodeOptions options)
      : path_(std::move(path)),
        count_(count),
        width_(width),
        height_(height),
        channels_(channels),
        order_(order),
        options_(options) {}
  int64_t size() const override { return count_; }
  std::string Describe() const override {
    return path_ + " (raw " + std::to_string(width_) + "x" + std::to_string(height_) + "x" +
           std::to_string(channels_) + ", " + std::to_string(count_) + " frames)";
  }
  Status Read(int64_t id, Frame* out) override {
    const std::string name = path_ + " frame " + std::to_string(id);
    if (id < 0 || id >= count_) return InvalidArgument(name + ": out of range");
    const int64_t frame_bytes = int64_t{width_} * height_ * channels_;
    if (!in_.is_open()) in_.open(path_, std::ios::binary);
    if (!in_) return IoError(path_ + ": cannot open for reading");
    bytes_.resize(static_cast<size_t>(frame_bytes));
    in_.seekg(static_cast<std::streamoff>(id * frame_bytes));
    in_.read(bytes_.data(), static_cast<std::streamsize>(frame_bytes));
    if (in_.gcount() != frame_bytes) {
      in_.close();  // reopened (state cleared) on the next read
      return IoError(name + ": short read");
    }
    RIDGE_ASSIGN_OR_RETURN(
        out->image, ImageFromRaw(bytes_, width_, height_, channels_, order_, name, options_));
    out->id = id;
    out->name = name;
    return Status::Ok();
  }

 private:
  std::string path_;
  int64_t count_;
  int width_, height_, channels_;
  ChannelOrder order_;
  DecodeOptions options_;
  std::ifstream in_;
  std::string bytes_;
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
  return std::unique_ptr<FrameSource>(new SyntheticSource(count, width, height, order));
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
  return std::unique_ptr<FrameSource>(new RawSource(path, static_cast<int64_t>(size / frame_bytes),
                                                    width, height, channels, source_order,
                                                    options));
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
