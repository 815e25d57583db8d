// Decode tests: images are encoded inside the test (TurboJPEG's tjCompress2 and a tiny PNG
// writer over zlib, so palette, 16-bit and crafted headers are under our control), then decoded
// and compared; hostile inputs (huge headers, truncations, bit flips) must give a Status.
#include "vision/image_decode.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>
#include <string>
#include <vector>

// GCC flags free() on memory from a replaced operator new; the pair here is consistent.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
// Largest single operator-new request while g_track is set: proves caps act before allocation.
static std::atomic<bool> g_track{false};
static std::atomic<size_t> g_largest{0};
void* operator new(size_t n) {
  if (g_track.load(std::memory_order_relaxed)) {
    size_t prev = g_largest.load();
    while (n > prev && !g_largest.compare_exchange_weak(prev, n)) {
    }
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace ridge::vision {
namespace {

using Bytes = std::string;

void PutBe32(Bytes& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}

void AddChunk(Bytes& png, const char* type, const Bytes& data) {
  PutBe32(png, static_cast<uint32_t>(data.size()));
  Bytes body = std::string(type, 4) + data;
  png += body;
  PutBe32(png, static_cast<uint32_t>(
                   crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
}

// Minimal PNG writer: `rows` holds the unfiltered scanlines (filter 0 is prepended here).
Bytes MakePng(uint32_t w, uint32_t h, int depth, int color_type, const Bytes& rows,
              size_t row_bytes, const Bytes& plte = "", const Bytes& trns = "") {
  Bytes png("\x89PNG\r\n\x1a\n", 8);
  Bytes ihdr;
  PutBe32(ihdr, w);
  PutBe32(ihdr, h);
  ihdr += {static_cast<char>(depth), static_cast<char>(color_type), 0, 0, 0};
  AddChunk(png, "IHDR", ihdr);
  if (!plte.empty()) AddChunk(png, "PLTE", plte);
  if (!trns.empty()) AddChunk(png, "tRNS", trns);
  Bytes raw;
  for (size_t r = 0; r * row_bytes < rows.size(); ++r)
    raw += '\0' + rows.substr(r * row_bytes, row_bytes);
  uLongf len = compressBound(raw.size());
  Bytes z(len, '\0');
  EXPECT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &len,
                     reinterpret_cast<const Bytef*>(raw.data()), raw.size()),
            Z_OK);
  z.resize(len);
  AddChunk(png, "IDAT", z);
  AddChunk(png, "IEND", "");
  return png;
}

// Deterministic test pattern, 8-bit RGB.
Bytes Pattern(int w, int h, int channels) {
  Bytes px(static_cast<size_t>(w) * h * channels, '\0');
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c)
        px[(static_cast<size_t>(y) * w + x) * channels + c] =
            static_cast<char>((x * 7 + y * 13 + c * 61) & 0xFF);
  return px;
}

// Smooth pattern for JPEG (sharp edges ring even at quality 100).
Bytes Smooth(int w, int h, int channels) {
  Bytes px(static_cast<size_t>(w) * h * channels, '\0');
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c)
        px[(static_cast<size_t>(y) * w + x) * channels + c] =
            static_cast<char>(40 + (x * 2 + y + c * 30) % 160);
  return px;
}

Bytes MakeJpeg(const Bytes& px, int w, int h, int pixel_format, int subsamp, int quality = 100) {
  tjhandle tj = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(tj, reinterpret_cast<const unsigned char*>(px.data()), w, 0, h,
                             pixel_format, &out, &size, subsamp, quality, 0);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(tj);
  Bytes jpeg(reinterpret_cast<char*>(out), size);
  tjFree(out);
  tjDestroy(tj);
  return jpeg;
}

// Patches the SOF0 marker's height and width.
void PatchJpegSize(Bytes& jpeg, uint16_t w, uint16_t h) {
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (static_cast<uint8_t>(jpeg[i]) == 0xFF && static_cast<uint8_t>(jpeg[i + 1]) == 0xC0) {
      jpeg[i + 5] = static_cast<char>(h >> 8);
      jpeg[i + 6] = static_cast<char>(h & 0xFF);
      jpeg[i + 7] = static_cast<char>(w >> 8);
      jpeg[i + 8] = static_cast<char>(w & 0xFF);
      return;
    }
  }
  ADD_FAILURE() << "no SOF0 marker";
}

int MaxDiff(const Image& img, const Bytes& rgb) {
  int worst = 0;
  for (size_t i = 0; i < img.data.size(); ++i)
    worst = std::max(worst, std::abs(int{img.data[i]} - static_cast<uint8_t>(rgb[i])));
  return worst;
}

TEST(ImageDecode, DetectsFormatByMagic) {
  EXPECT_EQ(DetectImageFormat(MakeJpeg(Smooth(8, 8, 3), 8, 8, TJPF_RGB, TJSAMP_444)),
            ImageFormat::kJpeg);
  EXPECT_EQ(DetectImageFormat(MakePng(1, 1, 8, 2, "abc", 3)), ImageFormat::kPng);
  EXPECT_EQ(DetectImageFormat("GIF89a"), ImageFormat::kUnknown);
  EXPECT_EQ(DetectImageFormat(""), ImageFormat::kUnknown);
}

TEST(ImageDecode, PngRgbExactInBothOrders) {
  const Bytes px = Pattern(37, 23, 3);
  const Bytes png = MakePng(37, 23, 8, 2, px, 37 * 3);
  auto rgb = DecodeImage(png, "rgb.png");
  ASSERT_TRUE(rgb.ok()) << rgb.status().ToString();
  EXPECT_EQ(rgb->width, 37);
  EXPECT_EQ(rgb->height, 23);
  EXPECT_EQ(rgb->channels, 3);
  EXPECT_EQ(rgb->stride, 37u * 3);
  EXPECT_EQ(MaxDiff(*rgb, px), 0);
  DecodeOptions bgr_opts;
  bgr_opts.order = ChannelOrder::kBgr;
  auto bgr = DecodeImage(png, "rgb.png", bgr_opts);
  ASSERT_TRUE(bgr.ok());
  EXPECT_EQ(bgr->Pixel(5, 7)[0], rgb->Pixel(5, 7)[2]);
  EXPECT_EQ(bgr->Pixel(5, 7)[2], rgb->Pixel(5, 7)[0]);
  EXPECT_EQ(bgr->Pixel(5, 7)[1], rgb->Pixel(5, 7)[1]);
}

TEST(ImageDecode, PngGreyExpandsToThreeChannels) {
  const Bytes px = Pattern(16, 9, 1);
  auto img = DecodeImage(MakePng(16, 9, 8, 0, px, 16), "grey.png");
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  for (int i = 0; i < 16 * 9; ++i)
    for (int c = 0; c < 3; ++c) ASSERT_EQ(img->data[3 * i + c], static_cast<uint8_t>(px[i]));
}

TEST(ImageDecode, PngPaletteWithTransparency) {
  // 2-bit palette, 4 colours; entry 3 is fully transparent, entry 2 half transparent.
  const Bytes plte("\x10\x20\x30\xF0\x00\x00\x00\x80\x00\x00\x00\xFF", 12);
  const Bytes trns("\xFF\xFF\x80\x00", 4);
  const Bytes rows("\x1B", 1);  // indices 0,1,2,3 packed MSB first: 00 01 10 11
  DecodeOptions opts;
  opts.background[0] = 10;
  opts.background[1] = 20;
  opts.background[2] = 30;
  auto img = DecodePng(MakePng(4, 1, 2, 3, rows, 1, plte, trns), "pal.png", opts);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  const uint8_t* p = img->data.data();
  EXPECT_EQ(p[0], 0x10);
  EXPECT_EQ(p[1], 0x20);
  EXPECT_EQ(p[2], 0x30);
  EXPECT_EQ(p[3], 0xF0);
  EXPECT_EQ(p[6], (0 * 128 + 10 * 127 + 127) / 255);    // black at alpha 128 over bg red 10
  EXPECT_EQ(p[7], (128 * 128 + 20 * 127 + 127) / 255);  // green 128
  EXPECT_EQ(p[9], 10);                                  // fully transparent -> background
  EXPECT_EQ(p[10], 20);
  EXPECT_EQ(p[11], 30);
}

TEST(ImageDecode, Png16BitReducesToHighByte) {
  const int w = 5, h = 3;
  Bytes rows;
  Bytes expect;
  for (int i = 0; i < w * h * 3; ++i) {
    const uint8_t v = static_cast<uint8_t>(i * 17);
    const uint16_t v16 = static_cast<uint16_t>(v * 257);  // exact in 8 bits
    rows += static_cast<char>(v16 >> 8);
    rows += static_cast<char>(v16 & 0xFF);
    expect += static_cast<char>(v);
  }
  auto img = DecodeImage(MakePng(w, h, 16, 2, rows, w * 6), "deep.png");
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(MaxDiff(*img, expect), 0);
}

TEST(ImageDecode, PngRgbaAndGreyAlphaComposite) {
  // RGBA: opaque red, transparent, half-transparent white.
  const Bytes rgba(
      "\xFF\x00\x00\xFF"
      "\x12\x34\x56\x00"
      "\xFF\xFF\xFF\x80",
      12);
  DecodeOptions opts;
  opts.background[0] = 0;
  opts.background[1] = 0;
  opts.background[2] = 0;
  auto img = DecodeImage(MakePng(3, 1, 8, 6, rgba, 12), "rgba.png", opts);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  const std::vector<uint8_t> want = {255, 0, 0, 0, 0, 0, 128, 128, 128};
  EXPECT_EQ(img->data, want);
  // Grey + alpha over the default white background.
  auto ga = DecodeImage(MakePng(2, 1, 8, 4, Bytes("\x00\xFF\x00\x00", 4), 4), "ga.png");
  ASSERT_TRUE(ga.ok()) << ga.status().ToString();
  const std::vector<uint8_t> want_ga = {0, 0, 0, 255, 255, 255};
  EXPECT_EQ(ga->data, want_ga);
}

TEST(ImageDecode, OnePixelAndExtremeAspect) {
  for (auto [w, h] : {std::pair{1, 1}, std::pair{1, 4000}, std::pair{4000, 1}}) {
    const Bytes px = Pattern(w, h, 3);
    auto png = DecodeImage(MakePng(w, h, 8, 2, px, w * 3), "p.png");
    ASSERT_TRUE(png.ok()) << png.status().ToString();
    EXPECT_EQ(MaxDiff(*png, px), 0);
    const Bytes smooth = Smooth(w, h, 3);
    auto jpg = DecodeImage(MakeJpeg(smooth, w, h, TJPF_RGB, TJSAMP_444), "p.jpg");
    ASSERT_TRUE(jpg.ok()) << jpg.status().ToString();
    EXPECT_EQ(jpg->width, w);
    EXPECT_EQ(jpg->height, h);
    EXPECT_LE(MaxDiff(*jpg, smooth), 6) << w << "x" << h;
  }
}

TEST(ImageDecode, JpegQuality100WithinTolerance) {
  const Bytes px = Smooth(64, 48, 3);
  const Bytes jpeg = MakeJpeg(px, 64, 48, TJPF_RGB, TJSAMP_444);
  auto img = DecodeJpeg(jpeg, "q100.jpg");
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_LE(MaxDiff(*img, px), 4);
  DecodeOptions bgr;
  bgr.order = ChannelOrder::kBgr;
  auto b = DecodeImage(jpeg, "q100.jpg", bgr);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->Pixel(10, 10)[0], img->Pixel(10, 10)[2]);
  // 4:2:0 still decodes to full size.
  auto sub = DecodeJpeg(MakeJpeg(px, 64, 48, TJPF_RGB, TJSAMP_420), "420.jpg");
  ASSERT_TRUE(sub.ok());
  // Chroma is halved, so the pattern's wrap edges blur; the average error stays small.
  double sum = 0;
  for (size_t i = 0; i < px.size(); ++i)
    sum += std::abs(int{sub->data[i]} - static_cast<uint8_t>(px[i]));
  EXPECT_LT(sum / px.size(), 4.0);
}

TEST(ImageDecode, JpegGreyExpands) {
  const Bytes px = Smooth(20, 10, 1);
  auto img = DecodeImage(MakeJpeg(px, 20, 10, TJPF_GRAY, TJSAMP_GRAY), "grey.jpg");
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(img->data[3 * i], img->data[3 * i + 1]);
    EXPECT_EQ(img->data[3 * i], img->data[3 * i + 2]);
    EXPECT_LE(std::abs(int{img->data[3 * i]} - static_cast<uint8_t>(px[i])), 2);
  }
}

TEST(ImageDecodeHostile, HugeHeadersRefusedBeforeAllocation) {
  Bytes jpeg = MakeJpeg(Smooth(16, 16, 3), 16, 16, TJPF_RGB, TJSAMP_444);
  PatchJpegSize(jpeg, 60000, 60000);
  Bytes png = MakePng(60000, 60000, 8, 2, Pattern(4, 1, 3), 12);
  g_largest = 0;
  g_track = true;
  auto j = DecodeImage(jpeg, "huge.jpg");
  auto p = DecodeImage(png, "huge.png");
  g_track = false;
  ASSERT_FALSE(j.ok());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kLimitExceeded) << j.status().ToString();
  EXPECT_EQ(p.status().code(), StatusCode::kLimitExceeded) << p.status().ToString();
  EXPECT_NE(j.status().message().find("huge.jpg"), std::string::npos);
  EXPECT_NE(p.status().message().find("60000x60000"), std::string::npos);
  EXPECT_LT(g_largest.load(), size_t{1} << 16);  // nothing near 60000^2 * 3
}

TEST(ImageDecodeHostile, HugeHeaderTinyDataRefused) {
  // Within the pixel cap (64 MP), but a few hundred bytes cannot hold that image.
  Bytes png = MakePng(8000, 8000, 8, 2, Pattern(4, 1, 3), 12);
  Bytes jpeg = MakeJpeg(Smooth(16, 16, 3), 16, 16, TJPF_RGB, TJSAMP_444);
  PatchJpegSize(jpeg, 8000, 8000);
  g_largest = 0;
  g_track = true;
  auto p = DecodeImage(png, "bomb.png");
  auto j = DecodeImage(jpeg, "bomb.jpg");
  g_track = false;
  ASSERT_FALSE(p.ok());
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << p.status().ToString();
  EXPECT_EQ(j.status().code(), StatusCode::kInvalidArgument) << j.status().ToString();
  EXPECT_LT(g_largest.load(), size_t{1} << 16);
  // Custom, tighter caps apply too.
  DecodeOptions small;
  small.limits.max_width = 8;
  auto c = DecodeImage(MakePng(9, 1, 8, 0, Pattern(9, 1, 1), 9), "wide.png", small);
  EXPECT_EQ(c.status().code(), StatusCode::kLimitExceeded);
}

TEST(ImageDecodeHostile, EmptyWrongMagicMissing) {
  auto empty = DecodeImage("", "empty.png");
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("empty.png: empty"), std::string::npos);
  auto gif = DecodeImage("GIF89a\x01\x00\x01\x00", "x.gif");
  EXPECT_EQ(gif.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(gif.status().message().find("47 49 46 38"), std::string::npos)
      << gif.status().ToString();
  EXPECT_EQ(DecodeImageFile("/nonexistent/x.png").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(DecodePng("\x89PNG\r\n\x1a\n", "sig-only.png").ok());
  EXPECT_FALSE(DecodeJpeg("\xFF\xD8\xFF", "soi.jpg").ok());
}

// Each truncation must be refused with a Status, or (never for these inputs) decode to the
// full size; stderr must stay silent.
void CheckTruncations(const Bytes& file, const char* name) {
  testing::internal::CaptureStderr();
  int refused = 0;
  for (size_t n = 0; n < file.size(); ++n) {
    auto img = DecodeImage(file.substr(0, n), name);
    if (img.ok()) {
      EXPECT_EQ(img->data.size(), img->stride * img->height);
    } else {
      ++refused;
      EXPECT_NE(img.status().message().find(name), std::string::npos);
    }
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  // Everything short of the last few bytes misses image data.
  EXPECT_GE(refused, static_cast<int>(file.size()) - 16) << name;
}

TEST(ImageDecodeHostile, EveryTruncationRefusedCleanly) {
  CheckTruncations(MakeJpeg(Smooth(24, 16, 3), 24, 16, TJPF_RGB, TJSAMP_420, 90), "t.jpg");
  CheckTruncations(MakePng(24, 16, 8, 2, Pattern(24, 16, 3), 72), "t.png");
}

TEST(ImageDecodeHostile, SeededBitFlipsNeverCrash) {
  const Bytes files[] = {MakeJpeg(Smooth(24, 16, 3), 24, 16, TJPF_RGB, TJSAMP_420, 90),
                         MakePng(24, 16, 8, 2, Pattern(24, 16, 3), 72)};
  std::mt19937 rng(12345);
  int decoded = 0, refused = 0;
  testing::internal::CaptureStderr();
  for (const Bytes& file : files) {
    for (int i = 0; i < 1000; ++i) {
      Bytes mutated = file;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) mutated[rng() % mutated.size()] ^= 1 << (rng() % 8);
      auto img = DecodeImage(mutated, "flip");
      if (img.ok()) {
        ++decoded;
        EXPECT_EQ(img->data.size(), img->stride * img->height);
        EXPECT_LE(img->width, 16384);
      } else {
        ++refused;
      }
    }
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(decoded + refused, 2000);
  EXPECT_GT(refused, 0);
}

TEST(ImageRaw, OrdersGreyAndAlpha) {
  const Bytes rgb("\x01\x02\x03\x04\x05\x06", 6);
  DecodeOptions bgr;
  bgr.order = ChannelOrder::kBgr;
  auto a = ImageFromRaw(rgb, 2, 1, 3, ChannelOrder::kRgb, "raw", bgr);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->data, (std::vector<uint8_t>{3, 2, 1, 6, 5, 4}));
  auto g = ImageFromRaw(Bytes("\x07\x09", 2), 1, 2, 1, ChannelOrder::kRgb, "raw");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->data, (std::vector<uint8_t>{7, 7, 7, 9, 9, 9}));
  DecodeOptions black;
  black.background[0] = black.background[1] = black.background[2] = 0;
  // BGRA source: blue 200, alpha 0 then opaque; into RGB output.
  auto c = ImageFromRaw(Bytes("\xC8\x00\x00\x00\xC8\x00\x00\xFF", 8), 2, 1, 4, ChannelOrder::kBgr,
                        "raw", black);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->data, (std::vector<uint8_t>{0, 0, 0, 0, 0, 200}));
  EXPECT_EQ(ImageFromRaw(rgb, 3, 1, 3, ChannelOrder::kRgb, "raw").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ImageFromRaw(rgb, 1, 3, 2, ChannelOrder::kRgb, "raw").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ImageFromRaw("", 60000, 60000, 3, ChannelOrder::kRgb, "raw").status().code(),
            StatusCode::kLimitExceeded);
}

TEST(ImageFolderTest, ListsSortedImagesAndReportsUnreadable) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(RIDGE_TEST_DATA_DIR) / "vision_folder";
  fs::remove_all(dir);
  fs::create_directories(dir / "sub.png");  // a directory with an image name
  const Bytes png = MakePng(2, 2, 8, 0, "abcd", 2);
  for (const char* name : {"b.png", "a.JPG", "c.jpeg", "notes.txt"}) {
    std::ofstream(dir / name, std::ios::binary) << png;
  }
  fs::create_symlink(dir / "missing.png", dir / "dangling.jpg");
  auto listing = ListImageFolder(dir.string());
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  ASSERT_EQ(listing->files.size(), 3u);
  EXPECT_EQ(fs::path(listing->files[0]).filename(), "a.JPG");
  EXPECT_EQ(fs::path(listing->files[1]).filename(), "b.png");
  EXPECT_EQ(fs::path(listing->files[2]).filename(), "c.jpeg");
  ASSERT_EQ(listing->unreadable.size(), 2u);
  EXPECT_NE(listing->unreadable[0].find("dangling.jpg: broken link"), std::string::npos);
  EXPECT_NE(listing->unreadable[1].find("sub.png: not a regular file"), std::string::npos);
  auto img = DecodeImageFile(listing->files[1]);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->data[0], 'a');
  EXPECT_EQ(ListImageFolder((dir / "nope").string()).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace ridge::vision

namespace ridge::vision {
namespace {

// The fuzz seeds are tiny real files; each must decode, so the fuzzer starts from valid paths.
TEST(ImageDecode, FuzzSeedsDecode) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(RIDGE_SOURCE_DIR) / "tests/fuzz/seeds/image_decode";
  auto listing = ListImageFolder(dir.string());
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  EXPECT_GE(listing->files.size(), 4u);
  for (const std::string& file : listing->files) {
    auto img = DecodeImageFile(file);
    EXPECT_TRUE(img.ok()) << img.status().ToString();
  }
}

}  // namespace
}  // namespace ridge::vision
