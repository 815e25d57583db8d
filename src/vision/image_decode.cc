// Decoders behind image_decode.h. Both C libraries keep their setjmp/longjmp error handling
// inside themselves: TurboJPEG's handlers and libpng's simplified API (png_safe_execute) return
// error codes and messages, so no longjmp ever crosses a C++ frame of ours, and neither prints to
// stderr (TurboJPEG formats messages into its own buffer, png_image stores them in .message).
#include "vision/image_decode.h"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <system_error>

namespace ridge::vision {
namespace {

namespace fs = std::filesystem;

// zlib's deflate expands at most 1032:1 (zlib tech notes, "Maximum compression factor"); a PNG
// whose IHDR needs more raw bytes than its file could ever inflate to is refused before
// allocation. A little slack covers the zlib header and per-block overhead.
constexpr int64_t kDeflateMaxRatio = 1032;
constexpr int64_t kDeflateSlackBytes = 4096;

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

Status CheckDimensions(int64_t width, int64_t height, const DecodeLimits& limits,
                       const std::string& name, const char* format) {
  if (width <= 0 || height <= 0) {
    return InvalidArgument(name + ": " + format + " header has an empty size " +
                           std::to_string(width) + "x" + std::to_string(height));
  }
  if (width > limits.max_width || height > limits.max_height) {
    return LimitExceeded(name + ": " + format + " is " + std::to_string(width) + "x" +
                         std::to_string(height) + ", over the cap of " +
                         std::to_string(limits.max_width) + "x" +
                         std::to_string(limits.max_height) + " (DecodeLimits)");
  }
  if (width * height > limits.max_pixels) {  // both <= 2^31, so no overflow in int64
    return LimitExceeded(name + ": " + format + " has " + std::to_string(width * height) +
                         " pixels, over the cap of " + std::to_string(limits.max_pixels) +
                         " (DecodeLimits::max_pixels)");
  }
  return Status::Ok();
}

Status CheckFileBytes(size_t size, const DecodeLimits& limits, const std::string& name) {
  if (size == 0) return InvalidArgument(name + ": empty file (0 bytes)");
  if (static_cast<int64_t>(size) > limits.max_file_bytes) {
    return LimitExceeded(name + ": " + std::to_string(size) + " bytes, over the cap of " +
                         std::to_string(limits.max_file_bytes) + " (DecodeLimits::max_file_bytes)");
  }
  return Status::Ok();
}

// Allocates the output pixels; bad_alloc becomes a Status instead of escaping.
Result<Image> NewImage(int width, int height, ChannelOrder order, const std::string& name) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = 3;
  image.stride = static_cast<size_t>(width) * 3;
  image.order = order;
  try {
    image.data.resize(image.stride * static_cast<size_t>(height));
  } catch (const std::bad_alloc&) {
    return LimitExceeded(name + ": out of memory for a " + std::to_string(width) + "x" +
                         std::to_string(height) + " image");
  }
  return image;
}

uint8_t Blend(uint8_t c, uint8_t a, uint8_t bg) {
  return static_cast<uint8_t>((c * a + bg * (255 - a) + 127) / 255);
}

// 4-channel pixels in `order` (colour first, alpha last) -> 3 channels composited on background.
void CompositeInto(const uint8_t* src, Image& out, const uint8_t background[3]) {
  uint8_t bg[3] = {background[0], background[1], background[2]};
  if (out.order == ChannelOrder::kBgr) std::swap(bg[0], bg[2]);
  const size_t pixels = static_cast<size_t>(out.width) * out.height;
  uint8_t* dst = out.data.data();
  for (size_t i = 0; i < pixels; ++i, src += 4, dst += 3) {
    for (int c = 0; c < 3; ++c) dst[c] = Blend(src[c], src[3], bg[c]);
  }
}

struct TjDeleter {
  void operator()(void* handle) const {
    if (handle != nullptr) tjDestroy(handle);
  }
};

struct PngImageGuard {
  png_image* image;
  ~PngImageGuard() { png_image_free(image); }
};

std::string PngMessage(const png_image& image) {
  return image.message[0] != '\0' ? std::string(image.message) : std::string("unknown error");
}

}  // namespace

ImageFormat DetectImageFormat(std::string_view bytes) {
  static constexpr unsigned char kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF &&
      static_cast<uint8_t>(bytes[1]) == 0xD8 && static_cast<uint8_t>(bytes[2]) == 0xFF) {
    return ImageFormat::kJpeg;
  }
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0) return ImageFormat::kPng;
  return ImageFormat::kUnknown;
}

const char* ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

Result<Image> DecodeImage(std::string_view bytes, const std::string& name,
                          const DecodeOptions& options) {
  RIDGE_RETURN_IF_ERROR(CheckFileBytes(bytes.size(), options.limits, name));
  switch (DetectImageFormat(bytes)) {
    case ImageFormat::kJpeg:
      return DecodeJpeg(bytes, name, options);
    case ImageFormat::kPng:
      return DecodePng(bytes, name, options);
    case ImageFormat::kUnknown:
      break;
  }
  char hex[40];
  const size_t n = std::min<size_t>(bytes.size(), 4);
  int len = 0;
  for (size_t i = 0; i < n; ++i) {
    len += std::snprintf(hex + len, sizeof(hex) - len, "%s%02X", i ? " " : "",
                         static_cast<uint8_t>(bytes[i]));
  }
  return InvalidArgument(name + ": not a JPEG or PNG image (first bytes " + std::string(hex, len) +
                         "; expected FF D8 FF or 89 50 4E 47)");
}

Result<Image> DecodeJpeg(std::string_view bytes, const std::string& name,
                         const DecodeOptions& options) {
  const DecodeLimits& limits = options.limits;
  RIDGE_RETURN_IF_ERROR(CheckFileBytes(bytes.size(), limits, name));
  if (bytes.size() > 0xFFFFFFFFu) return LimitExceeded(name + ": JPEG over 4 GiB");
  std::unique_ptr<void, TjDeleter> tj(tjInitDecompress());
  if (!tj) return Internal(name + ": tjInitDecompress failed: " + tjGetErrorStr2(nullptr));
  auto* src = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());

  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), src, size, &width, &height, &subsamp, &colorspace) != 0) {
    return InvalidArgument(name + ": corrupt JPEG header: " + tjGetErrorStr2(tj.get()));
  }
  RIDGE_RETURN_IF_ERROR(CheckDimensions(width, height, limits, name, "JPEG"));
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    return Unsupported(name + ": CMYK/YCCK JPEGs are not supported (convert to RGB first)");
  }
  const int64_t pixels = int64_t{width} * height;
  if (limits.max_jpeg_pixels_per_byte > 0 &&
      pixels > limits.max_jpeg_pixels_per_byte * static_cast<int64_t>(bytes.size())) {
    return InvalidArgument(name + ": JPEG header claims " + std::to_string(width) + "x" +
                           std::to_string(height) + " but the file has only " +
                           std::to_string(bytes.size()) +
                           " bytes: too little data for that many pixels (truncated or crafted;"
                           " DecodeLimits::max_jpeg_pixels_per_byte)");
  }

  RIDGE_ASSIGN_OR_RETURN(Image image, NewImage(width, height, options.order, name));
  const int format = options.order == ChannelOrder::kBgr ? TJPF_BGR : TJPF_RGB;
  // LIMITSCANS refuses progressive files with > 500 scans (a CPU-time bomb); STOPONWARNING makes
  // corrupt entropy data an error instead of a silently grey image.
  int flags = TJFLAG_LIMITSCANS;
  if (limits.strict_jpeg) flags |= TJFLAG_STOPONWARNING;
  if (tjDecompress2(tj.get(), src, size, image.data.data(), width, static_cast<int>(image.stride),
                    height, format, flags) != 0) {
    const bool warning = tjGetErrorCode(tj.get()) == TJERR_WARNING;
    if (!warning || limits.strict_jpeg) {
      return InvalidArgument(name +
                             ": corrupt or truncated JPEG data: " + tjGetErrorStr2(tj.get()));
    }
  }
  return image;
}

Result<Image> DecodePng(std::string_view bytes, const std::string& name,
                        const DecodeOptions& options) {
  const DecodeLimits& limits = options.limits;
  RIDGE_RETURN_IF_ERROR(CheckFileBytes(bytes.size(), limits, name));
  // Our own IHDR read comes first: libpng's own caps (1,000,000 x 1,000,000) are far looser.
  // Layout: 8-byte signature, chunk length 13, "IHDR", width, height, depth, colour type, ...
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 8 + 8 + 13 + 4 || DetectImageFormat(bytes) != ImageFormat::kPng) {
    return InvalidArgument(name + ": truncated PNG (" + std::to_string(bytes.size()) +
                           " bytes, no complete IHDR chunk)");
  }
  if (ReadBigEndian32(p + 8) != 13 || std::memcmp(p + 12, "IHDR", 4) != 0) {
    return InvalidArgument(name + ": corrupt PNG: the first chunk is not a 13-byte IHDR");
  }
  const int64_t width = ReadBigEndian32(p + 16);
  const int64_t height = ReadBigEndian32(p + 20);
  const int depth = p[24], color_type = p[25];
  RIDGE_RETURN_IF_ERROR(CheckDimensions(width, height, limits, name, "PNG"));
  int samples = 0;
  switch (color_type) {
    case 0:
      samples = 1;
      break;  // grey
    case 2:
      samples = 3;
      break;  // RGB
    case 3:
      samples = 1;
      break;  // palette
    case 4:
      samples = 2;
      break;  // grey + alpha
    case 6:
      samples = 4;
      break;  // RGBA
    default:
      return InvalidArgument(name + ": corrupt PNG: colour type " + std::to_string(color_type));
  }
  if (depth != 1 && depth != 2 && depth != 4 && depth != 8 && depth != 16) {
    return InvalidArgument(name + ": corrupt PNG: bit depth " + std::to_string(depth));
  }
  const int64_t row_bytes = (width * samples * depth + 7) / 8;
  const int64_t raw_bytes = height * (row_bytes + 1);  // + 1 filter byte per row
  const int64_t max_inflated =
      kDeflateMaxRatio * static_cast<int64_t>(bytes.size()) + kDeflateSlackBytes;
  if (raw_bytes > max_inflated) {
    return InvalidArgument(name + ": PNG header claims " + std::to_string(width) + "x" +
                           std::to_string(height) + " (" + std::to_string(raw_bytes) +
                           " bytes of pixel data) but a " + std::to_string(bytes.size()) +
                           "-byte file cannot hold that much even at deflate's best ratio"
                           " (truncated or crafted)");
  }

  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  PngImageGuard guard{&png};
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    return InvalidArgument(name + ": corrupt PNG header: " + PngMessage(png));
  }
  if (png.width != width || png.height != height) {
    return Internal(name + ": libpng and our IHDR reader disagree on the size");
  }
  // 16-bit samples are sRGB-encoded like 8-bit ones (no linear->sRGB gamma step), so 16-bit
  // files reduce to their high byte (rounded), as other decoders do.
  png.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  const bool bgr = options.order == ChannelOrder::kBgr;
  const bool alpha = (png.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  RIDGE_ASSIGN_OR_RETURN(Image image, NewImage(static_cast<int>(width), static_cast<int>(height),
                                               options.order, name));
  if (!alpha) {
    png.format = bgr ? PNG_FORMAT_BGR : PNG_FORMAT_RGB;
    if (!png_image_finish_read(&png, nullptr, image.data.data(),
                               static_cast<png_int_32>(image.stride), nullptr)) {
      return InvalidArgument(name + ": corrupt or truncated PNG data: " + PngMessage(png));
    }
    return image;
  }
  // With alpha: read 4 channels and composite ourselves, in 8-bit sRGB values as documented
  // (libpng's own background mode composites in linear light).
  png.format = bgr ? PNG_FORMAT_BGRA : PNG_FORMAT_RGBA;
  std::vector<uint8_t> rgba;
  try {
    rgba.resize(static_cast<size_t>(width) * height * 4);
  } catch (const std::bad_alloc&) {
    return LimitExceeded(name + ": out of memory for the PNG's alpha channel");
  }
  if (!png_image_finish_read(&png, nullptr, rgba.data(), static_cast<png_int_32>(width * 4),
                             nullptr)) {
    return InvalidArgument(name + ": corrupt or truncated PNG data: " + PngMessage(png));
  }
  CompositeInto(rgba.data(), image, options.background);
  return image;
}

Result<Image> DecodeImageFile(const std::string& path, const DecodeOptions& options) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return NotFound(path + ": no such file");
  if (!fs::is_regular_file(st)) return InvalidArgument(path + ": not a regular file");
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return IoError(path + ": cannot read its size: " + ec.message());
  RIDGE_RETURN_IF_ERROR(CheckFileBytes(static_cast<size_t>(size), options.limits, path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(path + ": cannot open for reading");
  std::string bytes;
  try {
    bytes.resize(static_cast<size_t>(size));
  } catch (const std::bad_alloc&) {
    return LimitExceeded(path + ": out of memory reading " + std::to_string(size) + " bytes");
  }
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<uintmax_t>(in.gcount()) != size) {
    return IoError(path + ": short read (" + std::to_string(in.gcount()) + " of " +
                   std::to_string(size) + " bytes)");
  }
  return DecodeImage(bytes, path, options);
}

Result<Image> ImageFromRaw(std::string_view bytes, int width, int height, int channels,
                           ChannelOrder source_order, const std::string& name,
                           const DecodeOptions& options) {
  if (channels != 1 && channels != 3 && channels != 4) {
    return InvalidArgument(name + ": raw frames need 1, 3 or 4 channels, not " +
                           std::to_string(channels));
  }
  RIDGE_RETURN_IF_ERROR(CheckDimensions(width, height, options.limits, name, "raw frame"));
  const size_t expected = static_cast<size_t>(width) * height * channels;
  if (bytes.size() != expected) {
    return InvalidArgument(name + ": raw " + std::to_string(width) + "x" + std::to_string(height) +
                           "x" + std::to_string(channels) + " frame needs " +
                           std::to_string(expected) + " bytes, got " +
                           std::to_string(bytes.size()));
  }
  RIDGE_ASSIGN_OR_RETURN(Image image, NewImage(width, height, options.order, name));
  const auto* src = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t pixels = static_cast<size_t>(width) * height;
  uint8_t* dst = image.data.data();
  // Per pixel: source channels -> R, G, B (+ alpha) -> composite -> output order.
  const bool swap_in = source_order == ChannelOrder::kBgr;
  const bool swap_out = options.order == ChannelOrder::kBgr;
  const uint8_t* bg = options.background;
  for (size_t i = 0; i < pixels; ++i, src += channels, dst += 3) {
    uint8_t rgb[3];
    if (channels == 1) {
      rgb[0] = rgb[1] = rgb[2] = src[0];
    } else {
      rgb[0] = src[swap_in ? 2 : 0];
      rgb[1] = src[1];
      rgb[2] = src[swap_in ? 0 : 2];
      if (channels == 4) {
        for (int c = 0; c < 3; ++c) rgb[c] = Blend(rgb[c], src[3], bg[c]);
      }
    }
    dst[0] = rgb[swap_out ? 2 : 0];
    dst[1] = rgb[1];
    dst[2] = rgb[swap_out ? 0 : 2];
  }
  return image;
}

Result<ImageFolder> ListImageFolder(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return NotFound(folder + ": not a folder");
  ImageFolder result;
  fs::directory_iterator it(folder, ec), end;
  if (ec) return IoError(folder + ": cannot list: " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return IoError(folder + ": listing failed: " + ec.message());
    const fs::path& path = it->path();
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext != ".jpg" && ext != ".jpeg" && ext != ".png") continue;
    std::error_code st_ec;
    const fs::file_status st = fs::status(path, st_ec);
    if (st_ec || !fs::exists(st)) {
      result.unreadable.push_back(path.string() + ": broken link or vanished");
    } else if (!fs::is_regular_file(st)) {
      result.unreadable.push_back(path.string() + ": not a regular file");
    } else if (!std::ifstream(path, std::ios::binary)) {
      result.unreadable.push_back(path.string() + ": cannot open for reading (permissions?)");
    } else {
      result.files.push_back(path.string());
    }
  }
  std::sort(result.files.begin(), result.files.end());
  std::sort(result.unreadable.begin(), result.unreadable.end());
  return result;
}

}  // namespace ridge::vision
