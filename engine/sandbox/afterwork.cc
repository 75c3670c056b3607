#include "sandbox/afterwork.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace toolgate::sandbox {

namespace {

using Clock = std::chrono::steady_clock;

// Never destroyed: a forked child that calls exit() must not join (or
// destroy) a thread it does not have; the exit hook checks the pid instead.
class Worker {
 public:
  static Worker& Get() {
    static Worker* worker = [] {
      auto* w = new Worker();
      std::atexit([] { Get().Shutdown(); });
      return w;
    }();
    return *worker;
  }

  void Start() {
    std::lock_guard lock(mu_);
    if (running_ || stopped_) return;
    running_ = true;
    thread_ = std::thread([this] { Run(); });
  }

  bool Running() {
    std::lock_guard lock(mu_);
    return running_ && !stopped_;
  }

  // false: not running; the caller runs the job itself.
  bool Post(std::function<void()> job, std::chrono::milliseconds delay) {
    std::lock_guard lock(mu_);
    if (!running_ || stopped_) return false;
    jobs_.emplace(Clock::now() + delay, std::move(job));
    cv_.notify_one();
    return true;
  }

 private:
  Worker() : owner_(::getpid()) {}

  void Run() {
    // Background work must not take the CPU from a launch: SCHED_BATCH is
    // never woken into preempting another task, and nice 10 gives it a small
    // share while launches run. (Best effort: a failure leaves the defaults.)
    const sched_param param{};
    (void)::pthread_setschedparam(::pthread_self(), SCHED_BATCH, &param);
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (jobs_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const auto due = jobs_.begin()->first;
      if (Clock::now() < due) {
        cv_.wait_until(lock, due);
        continue;
      }
      std::function<void()> job = std::move(jobs_.begin()->second);
      jobs_.erase(jobs_.begin());
      lock.unlock();
      job();
      lock.lock();
    }
  }

  void Shutdown() {
    if (::getpid() != owner_) return;  // a forked child: the thread and the jobs are the parent's
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      stopped_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    // What was left runs now, in order (a job that re-posts itself runs inline from here on).
    for (;;) {
      std::function<void()> job;
      {
        std::lock_guard lock(mu_);
        if (jobs_.empty()) return;
        job = std::move(jobs_.begin()->second);
        jobs_.erase(jobs_.begin());
      }
      job();
    }
  }

  const pid_t owner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  bool running_ = false;
  bool stop_ = false;
  bool stopped_ = false;
  std::multimap<Clock::time_point, std::function<void()>> jobs_;
};

}  // namespace

void Afterwork::Start() { Worker::Get().Start(); }

bool Afterwork::Running() { return Worker::Get().Running(); }

void Afterwork::Post(std::function<void()> job, std::chrono::milliseconds delay) {
  if (Worker::Get().Post(job, delay)) return;
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  job();
}

}  // namespace toolgate::sandbox
