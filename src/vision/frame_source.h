// Frame sources for pipelines: a folder of JPEG/PNG files, a synthetic deterministic source, or
// a file of raw interleaved frames. Every source knows its frame count up front and reads frame
// i on demand, so the pipeline's decode stage can run it and a bad frame is one frame's error.
// Frames are independent: the decode stage reads the frames of a batch on several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "vision/image_decode.h"

namespace ridge::vision {

struct Frame {
  int64_t id = 0;    // position in the source: 0 .. size()-1
  std::string name;  // file name, "synthetic", or "raw"
  Image image;
};

// What ReadInto wrote: the frame's id, name and pixel layout (8-bit, interleaved, rows `stride`
// bytes apart).
struct FrameInfo {
  int64_t id = 0;
  std::string name;
  int width = 0, height = 0, channels = 0;
  size_t stride = 0;
  ChannelOrder order = ChannelOrder::kRgb;
  size_t size_bytes() const { return stride * static_cast<size_t>(height); }
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  virtual int64_t size() const = 0;
  virtual std::string Describe() const = 0;
  // Reads frame `id` (0 <= id < size()) into *out, in the order the source was opened with.
  // out->image.data's buffer is reused when it is large enough (a pipeline keeps its Frames
  // from item to item). Errors name the frame (file name or index).
  // Thread safety: Read and ReadInto may run on several threads at once for different ids and
  // different `out`s (the decode stage spreads a batch over threads).
  virtual Status Read(int64_t id, Frame* out) = 0;
  // Writes frame `id`'s pixels (info->size_bytes() bytes) to dst, e.g. a pipeline's pinned
  // staging buffer. A frame larger than `capacity` is a LimitExceeded error and writes nothing.
  // This default reads into a temporary Frame and copies it; sources whose frames already sit
  // in memory (synthetic) or in a file (raw) write straight to dst: one copy, no allocation.
  virtual Status ReadInto(int64_t id, uint8_t* dst, size_t capacity, FrameInfo* info);
  // Bytes of every frame when all frames have one known size (synthetic, raw), else 0 (a folder:
  // known only once decoded). Lets a caller size its buffers for ReadInto up front.
  virtual int64_t FixedFrameBytes() const { return 0; }
};

// The JPEG/PNG files of a folder (ListImageFolder: sorted by name), decoded with
// DecodeImageFile. An empty folder, or one whose image files are all unreadable, is an error.
Result<std::unique_ptr<FrameSource>> OpenFolderSource(const std::string& folder,
                                                      const DecodeOptions& options);

// `count` frames of width x height, 3 channels in `order`: a gradient with a bright square that
// moves with the frame id. Same id, same bytes, on every machine. Sizes 1..16384.
// It models frames that are already in host memory (a capture driver's buffers): a pool of up
// to 8 distinct frames (fewer when they would exceed 256 MiB) is rendered once, here, and frame
// id is pool frame id % pool size; Read/ReadInto are one memcpy, so a pipeline's "decode" stage
// on this source measures the copy into its own (e.g. pinned) buffer, not rendering.
Result<std::unique_ptr<FrameSource>> MakeSyntheticSource(int64_t count, int width = 1920,
                                                         int height = 1080,
                                                         ChannelOrder order = ChannelOrder::kBgr);

// A file of back-to-back raw frames (width * height * channels bytes each, channels 1, 3 or 4 in
// `source_order`); a trailing partial frame is an error. Frames become 3-channel images in
// options.order (ImageFromRaw).
Result<std::unique_ptr<FrameSource>> OpenRawSource(const std::string& path, int width, int height,
                                                   int channels, ChannelOrder source_order,
                                                   const DecodeOptions& options);

// Parses a --source argument: "synthetic" (100 frames), "synthetic:N", "synthetic:N:WxH",
// "raw:FILE:WxH" or "raw:FILE:WxHxC" (BGR order for 3/4 channels), or a folder.
Result<std::unique_ptr<FrameSource>> OpenFrameSource(const std::string& spec,
                                                     const DecodeOptions& options);

}  // namespace ridge::vision
