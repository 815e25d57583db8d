// Frame sources: ReadInto writes what Read reads, for every kind of source; reads on several
// threads at once give the bytes of serial reads; synthetic frames come from a pool rendered once;
// Read reuses the caller's buffer.
#include "vision/frame_source.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace ridge::vision {
namespace {

const std::string kSeeds = std::string(RIDGE_SOURCE_DIR) + "/tests/fuzz/seeds/image_decode/";

fs::path TempDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() /
                 ("ridge_frame_source_" + name + "_" +
                  std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A raw file of `frames` frames of 5x3 pixels with `channels` channels, every byte different.
fs::path RawFile(const fs::path& dir, int channels, int frames) {
  std::string bytes(static_cast<size_t>(5 * 3 * channels * frames), '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 3);
  fs::path path = dir / ("c" + std::to_string(channels) + ".raw");
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

DecodeOptions BgrOptions() {
  DecodeOptions options;
  options.order = ChannelOrder::kBgr;
  return options;
}

// Every frame: ReadInto's bytes and info equal Read's frame; a buffer one byte short is refused.
void ExpectReadIntoEqualsRead(FrameSource& src) {
  ASSERT_GT(src.size(), 0);
  for (int64_t id = 0; id < src.size(); ++id) {
    SCOPED_TRACE("frame " + std::to_string(id));
    Frame f;
    ASSERT_TRUE(src.Read(id, &f).ok());
    const size_t bytes = f.image.stride * static_cast<size_t>(f.image.height);
    if (src.FixedFrameBytes() > 0) {
      EXPECT_EQ(static_cast<size_t>(src.FixedFrameBytes()), bytes);
    }
    std::vector<uint8_t> buf(bytes + 16, 0xAB);
    FrameInfo info;
    Status st = src.ReadInto(id, buf.data(), bytes, &info);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(info.id, id);
    EXPECT_EQ(info.name, f.name);
    EXPECT_EQ(info.width, f.image.width);
    EXPECT_EQ(info.height, f.image.height);
    EXPECT_EQ(info.channels, 3);
    EXPECT_EQ(info.stride, f.image.stride);
    EXPECT_EQ(info.order, f.image.order);
    EXPECT_EQ(info.size_bytes(), bytes);
    EXPECT_TRUE(std::equal(f.image.data.begin(), f.image.data.begin() + bytes, buf.begin()));
    EXPECT_EQ(buf[bytes], 0xAB);  // nothing written past the frame
    std::vector<uint8_t> small(bytes - 1, 0xCD);
    Status too_small = src.ReadInto(id, small.data(), small.size(), &info);
    EXPECT_EQ(too_small.code(), StatusCode::kLimitExceeded) << too_small.ToString();
  }
  uint8_t byte = 0;
  FrameInfo info;
  EXPECT_FALSE(src.ReadInto(src.size(), &byte, 1, &info).ok());
  EXPECT_FALSE(src.ReadInto(-1, &byte, 1, &info).ok());
}

TEST(FrameSourceReadIntoTest, Synthetic) {
  auto src = MakeSyntheticSource(10, 64, 48);
  ASSERT_TRUE(src.ok());
  ExpectReadIntoEqualsRead(**src);
}

TEST(FrameSourceReadIntoTest, RawWithEveryChannelCount) {
  fs::path dir = TempDir("raw");
  for (int channels : {1, 3, 4}) {
    SCOPED_TRACE("channels " + std::to_string(channels));
    DecodeOptions options;
    options.order = ChannelOrder::kBgr;
    auto src = OpenRawSource(RawFile(dir, channels, 3).string(), 5, 3, channels, ChannelOrder::kBgr,
                             options);
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    ExpectReadIntoEqualsRead(**src);
  }
  // Source order differing from the wanted order: converted, still equal.
  DecodeOptions rgb;
  rgb.order = ChannelOrder::kRgb;
  auto src = OpenRawSource(RawFile(dir, 3, 2).string(), 5, 3, 3, ChannelOrder::kBgr, rgb);
  ASSERT_TRUE(src.ok());
  ExpectReadIntoEqualsRead(**src);
  Frame f;
  ASSERT_TRUE((*src)->Read(0, &f).ok());
  EXPECT_EQ(f.image.data[0], static_cast<uint8_t>(2 * 7 + 3));  // B and R swapped
  fs::remove_all(dir);
}

TEST(FrameSourceReadIntoTest, FolderAndItsCorruptFile) {
  fs::path dir = TempDir("folder");
  fs::copy_file(kSeeds + "rgb_8x8_420.jpg", dir / "a.jpg");
  fs::copy_file(kSeeds + "rgb_3x2.png", dir / "c.png");
  auto src = OpenFrameSource(dir.string(), {});
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ((*src)->FixedFrameBytes(), 0);  // sizes known only once decoded
  ExpectReadIntoEqualsRead(**src);
  std::ofstream(dir / "b.jpg", std::ios::binary) << "\xFF\xD8\xFF\xE0 not really a jpeg";
  auto bad = OpenFrameSource(dir.string(), {});
  ASSERT_TRUE(bad.ok());
  std::vector<uint8_t> buf(1 << 16);
  FrameInfo info;
  Status st = (*bad)->ReadInto(1, buf.data(), buf.size(), &info);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("b.jpg"), std::string::npos) << st.message();
  fs::remove_all(dir);
}

TEST(FrameSourceTest, SyntheticPoolIsRenderedOnceAndCycles) {
  auto src = MakeSyntheticSource(20, 320, 240);
  ASSERT_TRUE(src.ok());
  EXPECT_NE((*src)->Describe().find("8 distinct"), std::string::npos) << (*src)->Describe();
  std::vector<std::vector<uint8_t>> frames;
  for (int64_t id = 0; id < 20; ++id) {
    Frame f;
    ASSERT_TRUE((*src)->Read(id, &f).ok());
    frames.push_back(f.image.data);
  }
  for (int a = 0; a < 8; ++a) {
    for (int b = a + 1; b < 8; ++b) EXPECT_NE(frames[a], frames[b]) << a << " vs " << b;
    EXPECT_EQ(frames[a], frames[a + 8]);
  }
  // Fewer frames than the pool: as many distinct frames as there are.
  auto two = MakeSyntheticSource(2, 32, 32);
  ASSERT_TRUE(two.ok());
  EXPECT_NE((*two)->Describe().find("2 distinct"), std::string::npos) << (*two)->Describe();
  EXPECT_TRUE(MakeSyntheticSource(0, 32, 32).ok());
}

TEST(FrameSourceTest, ReadReusesTheFrameBuffer) {
  auto src = MakeSyntheticSource(4, 64, 48);
  ASSERT_TRUE(src.ok());
  Frame f;
  ASSERT_TRUE((*src)->Read(0, &f).ok());
  const uint8_t* buffer = f.image.data.data();
  for (int64_t id = 1; id < 4; ++id) {
    ASSERT_TRUE((*src)->Read(id, &f).ok());
    EXPECT_EQ(f.image.data.data(), buffer) << "frame " << id << " reallocated";
  }
  fs::path dir = TempDir("reuse");
  auto raw = OpenRawSource(RawFile(dir, 3, 3).string(), 5, 3, 3, ChannelOrder::kBgr, BgrOptions());
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE((*raw)->Read(0, &f).ok());
  buffer = f.image.data.data();
  ASSERT_TRUE((*raw)->Read(2, &f).ok());
  EXPECT_EQ(f.image.data.data(), buffer);
  fs::remove_all(dir);
}

// Four threads read random frames into their own buffers: every read equals the serial one.
TEST(FrameSourceTest, ConcurrentReadsEqualSerialReads) {
  fs::path dir = TempDir("threads");
  std::vector<std::unique_ptr<FrameSource>> sources;
  auto synthetic = MakeSyntheticSource(16, 96, 64);
  ASSERT_TRUE(synthetic.ok());
  sources.push_back(std::move(*synthetic));
  auto raw = OpenRawSource(RawFile(dir, 3, 9).string(), 5, 3, 3, ChannelOrder::kBgr, BgrOptions());
  ASSERT_TRUE(raw.ok());
  sources.push_back(std::move(*raw));
  for (auto& src : sources) {
    SCOPED_TRACE(src->Describe());
    std::vector<std::vector<uint8_t>> serial;
    for (int64_t id = 0; id < src->size(); ++id) {
      Frame f;
      ASSERT_TRUE(src->Read(id, &f).ok());
      serial.push_back(f.image.data);
    }
    std::atomic<int> mismatches{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(t);
        Frame f;
        std::vector<uint8_t> buf(serial[0].size());
        for (int i = 0; i < 200; ++i) {
          const int64_t id = static_cast<int64_t>(rng() % serial.size());
          FrameInfo info;
          const bool into = (i % 2) == 1;
          Status st = into ? src->ReadInto(id, buf.data(), buf.size(), &info) : src->Read(id, &f);
          if (!st.ok()) ++failures;
          if (st.ok() && (into ? buf : f.image.data) != serial[static_cast<size_t>(id)])
            ++mismatches;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(mismatches.load(), 0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ridge::vision
