// The vision pipeline's decode stage: the frames of a batch read on a few threads (JPEG decode
// and frame copies are independent per frame), results kept in frame order, buffers reused.
#include <algorithm>
#include <utility>

#include "runtime/pipeline_vision_internal.h"
#include "vision/preprocess_halide.h"

namespace ridge::runtime::internal {

DecodePool::DecodePool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

DecodePool::~DecodePool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

// A worker takes indices of the current generation until none is left. It touches fn_ only for
// an index it claimed, and ParallelFor returns only once every claimed index has finished, so
// fn_ never dangles.
void DecodePool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t seen = 0;
  while (true) {
    work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    while (next_ < n_) {
      const int i = next_++;
      const std::function<void(int)>* fn = fn_;
      lock.unlock();
      (*fn)(i);
      lock.lock();
      if (++finished_ == n_) done_cv_.notify_all();
    }
  }
}

void DecodePool::ParallelFor(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  fn_ = &fn;
  n_ = n;
  next_ = 0;
  finished_ = 0;
  ++generation_;
  work_cv_.notify_all();
  while (next_ < n_) {  // the caller works too
    const int i = next_++;
    lock.unlock();
    fn(i);
    lock.lock();
    ++finished_;
  }
  done_cv_.wait(lock, [&] { return finished_ == n_; });
  fn_ = nullptr;
  n_ = next_ = finished_ = 0;
}

int DecodeThreads(int batch) {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Up to 8 threads, half the cores: one thread copies a 1080p frame at ~8 GB/s (0.8 ms on the
  // H200 host), so 4 threads fed 32-frame batches slower than the GPU consumed them.
  return std::max(1, std::min({batch, 8, hw / 2}));
}

Status DecodeItem(vision::FrameSource& source, PipelineItem& item, int batch, int64_t total_frames,
                  bool skip_bad, DecodePool* pool, const DecodeTarget& target, DecodedBatch* out,
                  std::atomic<int64_t>* bad_frames) {
  const int64_t first = item.index * batch;
  const int count = static_cast<int>(std::clamp<int64_t>(total_frames - first, 0, batch));
  out->results.clear();
  out->geometry.clear();
  out->offsets.clear();
  out->num_valid = 0;
  if (out->frames.size() < static_cast<size_t>(count)) out->frames.resize(count);
  out->status.assign(static_cast<size_t>(count), Status::Ok());
  auto read = [&](int p) {
    const int64_t id = first + p;
    vision::Frame& f = out->frames[static_cast<size_t>(p)];
    if (target.dst == nullptr) {
      out->status[p] = source.Read(id, &f);
      return;
    }
    vision::FrameInfo info;
    Status st = source.ReadInto(id, target.dst + int64_t{p} * target.frame_stride,
                                static_cast<size_t>(target.frame_stride), &info);
    if (st.ok()) {
      f.id = id;
      f.name = std::move(info.name);
      f.image.width = info.width;
      f.image.height = info.height;
      f.image.channels = info.channels;
      f.image.stride = info.stride;
      f.image.order = info.order;
      f.image.data.clear();  // the pixels are in the target buffer
    }
    out->status[p] = std::move(st);
  };
  if (pool != nullptr) {
    pool->ParallelFor(count, read);
  } else {
    for (int p = 0; p < count; ++p) read(p);
  }
  // In frame order: the first failure is the item's error; valid frames move to the front
  // (swapping buffers, so none is freed).
  for (int p = 0; p < count; ++p) {
    FrameResult r;
    r.frame_id = first + p;
    Status& st = out->status[static_cast<size_t>(p)];
    if (!st.ok()) {
      if (!skip_bad) return st.WithContext("frame " + std::to_string(r.frame_id));
      r.bad = true;
      r.name = st.message();
      ++*bad_frames;
    } else {
      const int v = out->num_valid++;
      if (v != p)
        std::swap(out->frames[static_cast<size_t>(v)], out->frames[static_cast<size_t>(p)]);
      const vision::Frame& f = out->frames[static_cast<size_t>(v)];
      r.name = f.name;
      r.width = f.image.width;
      r.height = f.image.height;
      out->offsets.push_back(int64_t{p} * target.frame_stride);
    }
    out->results.push_back(std::move(r));
  }
  if (out->num_valid == 0) item.skipped = true;
  return Status::Ok();
}

CpuPreprocess ChooseCpuPreprocess(const VisionPipelineOptions& options) {
  if (options.naive && options.naive_pre)
    return {options.naive_pre, options.naive_pre_name.empty() ? "custom" : options.naive_pre_name};
  if (!options.naive && vision::HalidePreprocessAvailable())
    return {vision::PreprocessHalide, "halide"};
  return {vision::PreprocessReference, "reference"};
}

}  // namespace ridge::runtime::internal
