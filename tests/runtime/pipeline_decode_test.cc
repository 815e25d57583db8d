// The vision pipeline's decode stage (a batch's frames on several threads, in order, bad frames
// per frame) and the naive baseline's injectable preprocessing (called once per frame, in order).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "runtime/pipeline_vision.h"
#include "runtime/pipeline_vision_internal.h"

namespace fs = std::filesystem;

namespace ridge::runtime {
namespace {

using internal::DecodedBatch;
using internal::DecodeItem;
using internal::DecodePool;
using internal::DecodeTarget;

TEST(DecodePoolTest, RunsEveryIndexOnceAndUsesSeveralThreads) {
  DecodePool pool(4);
  EXPECT_EQ(pool.threads(), 4);
  std::set<std::thread::id> seen_threads;
  for (int round = 0; round < 200; ++round) {
    const int n = 1 + round % 13;
    std::vector<std::atomic<int>> calls(n);
    std::mutex mu;
    pool.ParallelFor(n, [&](int i) {
      ++calls[i];
      if (round % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      std::lock_guard<std::mutex> lock(mu);
      seen_threads.insert(std::this_thread::get_id());
    });
    for (int i = 0; i < n; ++i) ASSERT_EQ(calls[i].load(), 1) << "round " << round << " i " << i;
  }
  EXPECT_GT(seen_threads.size(), 1u);
  DecodePool single(1);
  int sum = 0;
  single.ParallelFor(5, [&](int i) { sum += i; });  // the caller's thread only: no race
  EXPECT_EQ(sum, 10);
}

// Frames of 4x2 pixels whose first byte is the frame id; ids in `bad` fail; reads sleep a random
// while so threads finish out of order.
class FakeSource : public vision::FrameSource {
 public:
  FakeSource(int64_t n, std::set<int64_t> bad) : n_(n), bad_(std::move(bad)) {}
  int64_t size() const override { return n_; }
  std::string Describe() const override { return "fake"; }
  int64_t FixedFrameBytes() const override { return 4 * 2 * 3; }
  Status Read(int64_t id, vision::Frame* out) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++reads_[id];
    }
    std::this_thread::sleep_for(std::chrono::microseconds(Jitter(id)));
    if (bad_.count(id)) return InvalidArgument("fake frame " + std::to_string(id) + " is corrupt");
    out->id = id;
    out->name = "f" + std::to_string(id);
    out->image.width = 4;
    out->image.height = 2;
    out->image.channels = 3;
    out->image.stride = 12;
    out->image.order = vision::ChannelOrder::kBgr;
    out->image.data.assign(24, static_cast<uint8_t>(id));
    return Status::Ok();
  }
  int reads(int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_[id];
  }

 private:
  static int Jitter(int64_t id) { return static_cast<int>((id * 7919) % 5) * 300; }
  int64_t n_;
  std::set<int64_t> bad_;
  std::mutex mu_;
  std::map<int64_t, int> reads_;
};

TEST(DecodeItemTest, ParallelBatchKeepsOrderAndMarksBadFrames) {
  FakeSource src(11, {2, 5, 6});
  DecodePool pool(4);
  DecodedBatch batch;
  std::atomic<int64_t> bad{0};
  std::vector<int64_t> delivered;
  for (int64_t index = 0; index < 3; ++index) {  // batches of 4: 0-3, 4-7, 8-10 (short)
    PipelineItem item;
    item.index = index;
    ASSERT_TRUE(DecodeItem(src, item, 4, 11, /*skip_bad=*/true, &pool, {}, &batch, &bad).ok());
    ASSERT_EQ(batch.results.size(), index < 2 ? 4u : 3u);
    int v = 0;
    for (const FrameResult& r : batch.results) {
      delivered.push_back(r.frame_id);
      EXPECT_EQ(r.bad, r.frame_id == 2 || r.frame_id == 5 || r.frame_id == 6) << r.frame_id;
      if (r.bad) {
        EXPECT_NE(r.name.find("corrupt"), std::string::npos);
        continue;
      }
      // The v-th valid frame holds this frame's pixels.
      EXPECT_EQ(batch.frames[v].id, r.frame_id);
      EXPECT_EQ(batch.frames[v].image.data[0], static_cast<uint8_t>(r.frame_id));
      ++v;
    }
    EXPECT_EQ(v, batch.num_valid);
  }
  EXPECT_EQ(delivered, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(bad.load(), 3);
  for (int64_t id = 0; id < 11; ++id) EXPECT_EQ(src.reads(id), 1) << id;
}

TEST(DecodeItemTest, FirstBadFrameInOrderIsTheError) {
  FakeSource src(8, {6, 5});
  DecodePool pool(4);
  DecodedBatch batch;
  std::atomic<int64_t> bad{0};
  PipelineItem item;
  item.index = 1;  // frames 4..7
  Status st = DecodeItem(src, item, 4, 8, /*skip_bad=*/false, &pool, {}, &batch, &bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("frame 5"), std::string::npos) << st.message();
  EXPECT_EQ(bad.load(), 0);
}

TEST(DecodeItemTest, AllBadItemIsSkipped) {
  FakeSource src(2, {0, 1});
  DecodedBatch batch;
  std::atomic<int64_t> bad{0};
  PipelineItem item;
  ASSERT_TRUE(DecodeItem(src, item, 2, 2, true, nullptr, {}, &batch, &bad).ok());
  EXPECT_TRUE(item.skipped);
  EXPECT_EQ(batch.num_valid, 0);
}

// ReadInto target (the GPU path's pinned staging): frame p of the batch at p * stride.
TEST(DecodeItemTest, ReadIntoTargetPlacesFramesByBatchPosition) {
  FakeSource src(6, {1});
  DecodePool pool(3);
  DecodedBatch batch;
  std::atomic<int64_t> bad{0};
  const int64_t stride = 256;
  std::vector<uint8_t> staging(3 * stride, 0xEE);
  PipelineItem item;
  item.index = 0;
  ASSERT_TRUE(
      DecodeItem(src, item, 3, 6, true, &pool, DecodeTarget{staging.data(), stride}, &batch, &bad)
          .ok());
  ASSERT_EQ(batch.num_valid, 2);
  EXPECT_EQ(batch.offsets, (std::vector<int64_t>{0, 2 * stride}));
  EXPECT_EQ(staging[0], 0);
  EXPECT_EQ(staging[2 * stride], 2);
  EXPECT_EQ(staging[2 * stride + 23], 2);
  EXPECT_EQ(staging[2 * stride + 24], 0xEE);  // nothing past the frame
  EXPECT_EQ(batch.frames[1].image.width, 4);
  EXPECT_EQ(batch.frames[1].image.stride, 12u);
  EXPECT_TRUE(batch.frames[1].image.data.empty());
}

// ---- the naive baseline's injected preprocessing (resnet18 from the zoo) ---------------------

const std::string kResnet = std::string(RIDGE_MODEL_DIR) + "/resnet18.onnx";

uint64_t Hash(const std::vector<uint8_t>& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

TEST(NaivePreTest, InjectedPreIsCalledOncePerFrameInOrder) {
  if (!fs::exists(kResnet)) GTEST_SKIP() << "no " << kResnet << " (run scripts/export_zoo.py)";
  vision::DecodeOptions decode;
  decode.order = vision::ChannelOrder::kBgr;
  auto source = vision::OpenFrameSource("synthetic:4:320x240", decode);
  ASSERT_TRUE(source.ok());
  std::vector<uint64_t> expected;
  for (int64_t id = 0; id < 4; ++id) {
    vision::Frame f;
    ASSERT_TRUE((*source)->Read(id, &f).ok());
    expected.push_back(Hash(f.image.data));
  }
  VisionPipelineOptions options;
  options.model_path = kResnet;
  options.naive = true;
  options.threads = 2;
  std::vector<uint64_t> calls;
  std::set<std::thread::id> threads;
  options.naive_pre = [&](const vision::Image& im, const vision::PreprocessSpec& spec, void* out) {
    calls.push_back(Hash(im.data));
    threads.insert(std::this_thread::get_id());
    return vision::PreprocessReference(im, spec, out);
  };
  options.naive_pre_name = "recorder";
  auto run = RunVisionPipeline(options, **source);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(calls, expected);
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_EQ(run->naive_pre, "recorder");
  EXPECT_NE(run->description.find("recorder"), std::string::npos) << run->description;
  ASSERT_EQ(run->frames.size(), 4u);

  // Without an injected function the naive run uses the reference: same classes.
  options.naive_pre = nullptr;
  auto reference = RunVisionPipeline(options, **source);
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(reference->naive_pre, "reference");
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_FALSE(run->frames[i].top.empty());
    EXPECT_EQ(run->frames[i].top[0].class_id, reference->frames[i].top[0].class_id);
  }
  // The overlapped pipeline never calls it.
  calls.clear();
  options.naive = false;
  options.naive_pre = [&](const vision::Image&, const vision::PreprocessSpec&, void*) {
    calls.push_back(0);
    return Status::Ok();
  };
  auto overlapped = RunVisionPipeline(options, **source);
  ASSERT_TRUE(overlapped.ok());
  EXPECT_TRUE(calls.empty());
  EXPECT_TRUE(overlapped->naive_pre.empty());
}

TEST(NaivePreTest, AFailingPreNamesTheFrame) {
  if (!fs::exists(kResnet)) GTEST_SKIP() << "no " << kResnet << " (run scripts/export_zoo.py)";
  auto source = vision::MakeSyntheticSource(3, 64, 64);
  ASSERT_TRUE(source.ok());
  VisionPipelineOptions options;
  options.model_path = kResnet;
  options.naive = true;
  options.threads = 2;
  int calls = 0;
  options.naive_pre = [&](const vision::Image&, const vision::PreprocessSpec&, void*) {
    return ++calls == 2 ? Internal("peer broke") : Status::Ok();
  };
  auto run = RunVisionPipeline(options, **source);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("peer broke"), std::string::npos);
  EXPECT_NE(run.status().message().find("frame 1"), std::string::npos) << run.status().message();
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace ridge::runtime
