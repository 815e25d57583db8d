// Image decoding for pipelines: JPEG (libjpeg-turbo's TurboJPEG API), PNG (libpng's simplified
// png_image API) and raw interleaved frames, into one 8-bit, 3-channel, interleaved Image.
//
// Every decoder treats its input as hostile: the header is parsed first and checked against
// DecodeLimits before any pixel buffer is allocated; corrupt or truncated data gives a Status
// naming the file and the problem, never a crash, a longjmp through C++ frames, or stderr noise.
// The caps and their defaults are listed in docs/vision.md and docs/security.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace ridge::vision {

enum class ChannelOrder { kRgb, kBgr };

// 8-bit interleaved pixels, row-major; row r starts at data[r * stride]. Decoders always produce
// channels == 3 and stride == width * 3 (no padding).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  size_t stride = 0;
  ChannelOrder order = ChannelOrder::kRgb;
  std::vector<uint8_t> data;

  const uint8_t* Pixel(int x, int y) const { return data.data() + y * stride + x * channels; }
};

// Caps checked against the header, before any pixel allocation.
struct DecodeLimits {
  int max_width = 16384;
  int max_height = 16384;
  int64_t max_pixels = 100'000'000;      // 100 MP: 300 MB of RGB output
  int64_t max_file_bytes = 256LL << 20;  // 256 MiB of encoded input
  // A JPEG whose pixel count exceeds this many times its byte size is refused as corrupt: Huffman
  // coding spends >= 1 bit per 8x8 luma block in the DC scan (<= 512 pixels per byte); 4x margin.
  // Arithmetic-coded JPEGs of flat content can exceed it. 0 disables the check.
  int64_t max_jpeg_pixels_per_byte = 2048;
  // Refuse JPEGs for which libjpeg reports a warning (premature end of data, corrupt entropy
  // data): they would decode to partly grey images. False accepts them as libjpeg decoded them.
  bool strict_jpeg = true;
};

struct DecodeOptions {
  ChannelOrder order = ChannelOrder::kRgb;
  // Alpha is composited over this colour (R, G, B), then dropped: out = (c*a + bg*(255-a)) / 255.
  uint8_t background[3] = {255, 255, 255};
  DecodeLimits limits;
};

enum class ImageFormat { kUnknown, kJpeg, kPng };

// By magic bytes: FF D8 FF (JPEG), 89 'PNG' 0D 0A 1A 0A (PNG).
ImageFormat DetectImageFormat(std::string_view bytes);
const char* ImageFormatName(ImageFormat format);

// Decodes JPEG or PNG bytes; `name` (usually the file path) prefixes every error message.
Result<Image> DecodeImage(std::string_view bytes, const std::string& name,
                          const DecodeOptions& options = {});
Result<Image> DecodeJpeg(std::string_view bytes, const std::string& name,
                         const DecodeOptions& options = {});
Result<Image> DecodePng(std::string_view bytes, const std::string& name,
                        const DecodeOptions& options = {});

// Reads the file (size checked against limits.max_file_bytes first) and decodes it.
Result<Image> DecodeImageFile(const std::string& path, const DecodeOptions& options = {});

// A raw interleaved frame: channels 1 (grey, expanded to 3), 3 (in `source_order`) or 4 (source
// order plus alpha, composited on options.background). `bytes` must hold exactly
// width * height * channels bytes.
Result<Image> ImageFromRaw(std::string_view bytes, int width, int height, int channels,
                           ChannelOrder source_order, const std::string& name,
                           const DecodeOptions& options = {});

// The *.jpg, *.jpeg and *.png files (extension case-insensitive) directly in a folder, sorted by
// name. Other files are skipped silently; image-named entries that cannot be read (permissions,
// directories, broken links) are listed in `unreadable` with the reason.
struct ImageFolder {
  std::vector<std::string> files;
  std::vector<std::string> unreadable;  // "path: reason"
};
Result<ImageFolder> ListImageFolder(const std::string& folder);

}  // namespace ridge::vision
