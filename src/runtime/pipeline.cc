// The scheduler: one thread per stage, bounded by a pool of `inflight` slots. See pipeline.h.
#include "runtime/pipeline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace ridge::runtime {

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kDecode:
      return "decode";
    case Stage::kPre:
      return "pre";
    case Stage::kH2D:
      return "H2D";
    case Stage::kInfer:
      return "infer";
    case Stage::kD2H:
      return "D2H";
    case Stage::kPost:
      return "post";
  }
  return "?";
}

namespace {

// A FIFO between two stages. Close() wakes every waiter; Pop() returns nothing once the queue is
// closed and empty. Never holds more than `inflight` entries (the slot pool bounds it).
template <typename T>
class Channel {
 public:
  void Push(T v) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      q_.push_back(std::move(v));
    }
    cv_.notify_one();
  }
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  std::optional<T> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return std::nullopt;
    T v = std::move(q_.front());
    q_.pop_front();
    return v;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> q_;
  bool closed_ = false;
};

using Clock = std::chrono::steady_clock;

class Scheduler {
 public:
  Scheduler(const PipelineOptions& options, const std::vector<StageDef>& stages,
            const std::function<Status(const PipelineItem&)>& deliver)
      : options_(options),
        stages_(stages),
        deliver_(deliver),
        start_(options.clock_start == Clock::time_point{} ? Clock::now() : options.clock_start) {}

  Result<PipelineResult> Run() {
    if (options_.sequential) {
      RunSequential();
    } else {
      RunThreaded();
    }
    result_.wall_ms = NowMs();
    if (!error_.ok()) return error_;
    if (options_.num_frames >= 0) result_.frames = options_.num_frames;
    SummarizePipeline(result_);
    return std::move(result_);
  }

 private:
  bool failed() const { return fail_index_.load() != INT64_MAX; }

  double NowMs() const {
    return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
  }

  PipelineItem MakeItem(int64_t index, int slot) const {
    PipelineItem item;
    item.index = index;
    item.slot = slot;
    item.frames = options_.frames_per_item;
    if (options_.num_frames >= 0) {
      const int64_t left = options_.num_frames - index * options_.frames_per_item;
      item.frames = static_cast<int>(std::clamp<int64_t>(left, 0, options_.frames_per_item));
    }
    item.created_ms = NowMs();
    return item;
  }

  // Runs stage s on the item unless the item is skipped or the pipeline failed.
  void RunStage(size_t s, PipelineItem& item) {
    if (item.skipped || item.index >= fail_index_.load()) return;
    const StageDef& def = stages_[s];
    const int k = static_cast<int>(def.stage);
    const double t0 = NowMs();
    Status st = def.run ? def.run(item) : Status::Ok();
    if (!def.self_timed) item.times[k] = {t0, NowMs()};
    if (!st.ok()) Fail(item.index, st.WithContext(std::string("stage ") + StageName(def.stage)));
  }

  // The last step of every item, in order: deliver it unless it is at or after a failed item
  // (items before the failure still complete, so none of them is lost).
  void Finish(PipelineItem& item) {
    if (item.index >= fail_index_.load()) return;
    item.delivered_ms = NowMs();
    Status st = deliver_ ? deliver_(item) : Status::Ok();
    if (!st.ok()) {
      Fail(item.index, st.WithContext("delivery"));
      return;
    }
    ++result_.delivered;
    if (item.skipped) {
      ++result_.skipped;
    } else {
      result_.frames += item.frames;
    }
    result_.items.push_back(item);
  }

  // Keeps the error of the earliest item: that is the one a sequential run would report.
  void Fail(int64_t index, Status st) {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (error_.ok() || index < fail_index_.load()) {
      error_ = Status(st.code(), "frame item " + std::to_string(index) + ": " + st.message());
      fail_index_.store(index);
    }
  }

  void RunSequential() {
    for (int64_t i = 0; i < options_.num_items && !failed(); ++i) {
      PipelineItem item = MakeItem(i, 0);
      for (size_t s = 0; s < stages_.size(); ++s) RunStage(s, item);
      Finish(item);
    }
  }

  void RunThreaded() {
    const size_t n = stages_.size();
    std::vector<Channel<PipelineItem>> queues(n + 1);  // queues[s] feeds stage s; [n] the sink
    Channel<int> free_slots;
    for (int s = 0; s < options_.inflight; ++s) free_slots.Push(s);
    std::vector<std::thread> threads;
    for (size_t s = 0; s < n; ++s) {
      threads.emplace_back([&, s] {
        while (auto item = queues[s].Pop()) {
          RunStage(s, *item);
          queues[s + 1].Push(std::move(*item));
        }
        queues[s + 1].Close();
      });
    }
    threads.emplace_back([&] {
      while (auto item = queues[n].Pop()) {
        Finish(*item);
        free_slots.Push(item->slot);  // only now may the slot's buffers be reused
      }
    });
    // The feeder: an item enters when a slot is free, so at most `inflight` are in flight.
    for (int64_t i = 0; i < options_.num_items && !failed(); ++i) {
      std::optional<int> slot = free_slots.Pop();
      if (!slot || failed()) break;
      queues[0].Push(MakeItem(i, *slot));
    }
    queues[0].Close();
    for (auto& t : threads) t.join();
  }

  const PipelineOptions& options_;
  const std::vector<StageDef>& stages_;
  const std::function<Status(const PipelineItem&)>& deliver_;
  const Clock::time_point start_;
  PipelineResult result_;  // written by the sink only (or the caller's thread when sequential)
  // Index of the earliest failed item (INT64_MAX: none); items from it on are not run further.
  std::atomic<int64_t> fail_index_{INT64_MAX};
  std::mutex error_mu_;
  Status error_;
};

}  // namespace

Result<PipelineResult> RunPipeline(const PipelineOptions& options,
                                   const std::vector<StageDef>& stages,
                                   const std::function<Status(const PipelineItem&)>& deliver) {
  if (options.inflight < 1 || options.inflight > 64)
    return InvalidArgument("in-flight items must be 1..64, got " +
                           std::to_string(options.inflight));
  if (options.num_items < 0) return InvalidArgument("negative number of items");
  if (options.frames_per_item < 1) return InvalidArgument("frames per item must be >= 1");
  if (stages.empty()) return InvalidArgument("a pipeline needs at least one stage");
  Scheduler scheduler(options, stages, deliver);
  return scheduler.Run();
}

}  // namespace ridge::runtime
