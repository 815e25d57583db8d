// Frame sources for pipelines: a folder of JPEG/PNG files, a synthetic deterministic source, or
// a file of raw interleaved frames. Every source knows its frame count up front and reads frame
// i on demand, so the pipeline's decode stage can run it and a bad frame is one frame's error.
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

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  virtual int64_t size() const = 0;
  virtual std::string Describe() const = 0;
  // Reads frame `id` (0 <= id < size()) into *out, in the order the source was opened with.
  // Called from one thread at a time; errors name the frame (file name or index).
  virtual Status Read(int64_t id, Frame* out) = 0;
};

// The JPEG/PNG files of a folder (ListImageFolder: sorted by name), decoded with
// DecodeImageFile. An empty folder, or one whose image files are all unreadable, is an error.
Result<std::unique_ptr<FrameSource>> OpenFolderSource(const std::string& folder,
                                                      const DecodeOptions& options);

// `count` frames of width x height, 3 channels in `order`: a gradient with a bright square that
// moves with the frame id. Same id, same bytes, on every machine. Sizes 1..16384.
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
