#pragma once

// A small, persistent thread pool for data-parallel training steps. A training step is a few
// hundred microseconds, so starting threads per step, or waking them through the kernel each
// time, would cost as much as the work it shares out. The workers are started once and, between
// jobs, spin on an atomic counter for a while before they sleep; a job hands one part to each
// thread, part 0 to the calling thread, and returns when every part is done. Running a job
// allocates nothing.

#include <nabla/denormals.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/gemm_backend.hpp>
#include <nabla/error.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#endif

namespace nabla {

namespace detail {

/// Tells the core that this is a spin-wait: it yields issue slots to a sibling hyper-thread and
/// saves power, and costs a few dozen cycles.
inline void spin_pause() {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
}

/// One round of a wait loop: a pause for the first rounds, then a yield, so that a thread
/// that waits on a machine with more runnable threads than cores hands its core to the thread
/// it waits for instead of spinning through its time slice.
inline void spin_wait(int round) {
    if (round < 1024)
        spin_pause();
    else
        std::this_thread::yield();
}

/// Where the parts of one ThreadPool job wait for each other between two stages of their work:
/// wait() returns once every part has called it, so that each stage reads what every part
/// wrote in the one before. Spins (spin_wait): the stages of a training step are tens of
/// microseconds to milliseconds apart. A part that fails calls abandon() before it throws, so
/// that the others are not left waiting for it. Reusable: one object serves a whole job.
class PartBarrier {
public:
    /// A barrier for `parts` parts (ThreadPool::size()).
    explicit PartBarrier(int parts) : m_parts(parts) {}

    /// Waits until every part has called wait() as often as this one; false once a part has
    /// abandoned the job, when the caller must stop without writing anything more.
    bool wait() {
        const int generation = m_generation.load(std::memory_order_acquire);
        if (m_arrived.fetch_add(1, std::memory_order_acq_rel) == m_parts - 1) {
            m_arrived.store(0, std::memory_order_relaxed);
            m_generation.store(generation + 1, std::memory_order_release);
        } else {
            for (int round = 0; m_generation.load(std::memory_order_acquire) == generation &&
                                !m_abandoned.load(std::memory_order_acquire);
                 ++round)
                spin_wait(round);
        }
        return !m_abandoned.load(std::memory_order_acquire);
    }

    /// Releases every part waiting now or later: their wait() returns false.
    void abandon() { m_abandoned.store(true, std::memory_order_release); }

private:
    int m_parts;
    std::atomic<int> m_arrived{0};
    std::atomic<int> m_generation{0};
    std::atomic<bool> m_abandoned{false};
};

}  // namespace detail

/// A fixed set of threads that runs jobs of one part per thread: run(f) calls f(0) on the
/// calling thread and f(1) … f(size() − 1) on the workers, and returns when all have returned.
/// A part whose worker has not started it by the time the caller is done with its own is run
/// by the caller: on a machine whose cores are busy with other work, a job costs at worst about
/// what it costs on one thread, rather than waiting for the scheduler to run the worker. The
/// first exception a part throws is rethrown by run() after every part has finished. One job at
/// a time: run() must not be called from two threads at once, nor from inside a job. Each part's
/// matrix products run on one thread of the GEMM back end (detail/gemm_backend.hpp), so that a
/// back end with threads of its own (oneDNN's OpenMP) does not put more threads on the cores.
/// Each part runs with the caller's floating-point control (x86 MXCSR: flush-to-zero,
/// denormals-are-zero, rounding): a FlushDenormals that the caller holds, as fit() does, holds
/// for every part, and the shards of one batch round alike. Parts may wait for each other
/// (detail::PartBarrier): part 0 runs on the caller and each other part on its own worker, so
/// every part of a job is running while any waits.
class ThreadPool {
public:
    /// How long an idle worker keeps spinning for the next job before it sleeps: longer than the
    /// serial work between two steps (an optimizer step, loading the next batch), so that a
    /// training loop never waits for the kernel to wake a worker.
    static constexpr std::chrono::microseconds spin_time{2000};

    /// A pool of `threads` threads in all, the caller's included (so threads − 1 workers);
    /// throws ConfigError unless threads ≥ 1, and ResourceError, after stopping the workers
    /// already started, when the system refuses to start one.
    explicit ThreadPool(int threads) : m_size(threads) {
        if (threads < 1) {
            throw ConfigError(detail::cat("ThreadPool: threads must be at least 1, got ",
                                          threads));
        }
        m_errors.resize(static_cast<std::size_t>(threads));
        m_claimed = std::make_unique<std::atomic<bool>[]>(static_cast<std::size_t>(threads));
        for (int part = 0; part < threads; ++part) m_claimed[std::size_t(part)].store(true);
        m_workers.reserve(static_cast<std::size_t>(threads - 1));
        for (int part = 1; part < threads; ++part) {
            try {
                m_workers.emplace_back([this, part] { work(part); });
            } catch (const std::system_error& error) {
                // A joinable thread left behind by a throwing constructor would call
                // std::terminate: the workers already running are stopped and joined first.
                stop_and_join();
                throw ResourceError(detail::cat("ThreadPool: cannot start worker thread ", part,
                                                " of ", threads - 1, " (", error.what(),
                                                "); the ", part - 1,
                                                part - 1 == 1 ? " worker" : " workers",
                                                " already started were stopped. Train with "
                                                "fewer threads or raise the process limit"));
            }
        }
    }

    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    /// Stops and joins the workers.
    ~ThreadPool() { stop_and_join(); }

    /// The number of threads, the caller's included: the parts of each job.
    int size() const { return m_size; }

    /// Calls job(part) for part = 0 … size() − 1, part 0 on this thread, and waits for all.
    template <class Job>
    void run(Job&& job) {
        using Callable = std::remove_reference_t<Job>;
        const detail::OneBackendThread one_backend_thread;  // for the parts this thread runs
        m_job = const_cast<void*>(static_cast<const void*>(std::addressof(job)));
        m_call = [](void* f, int part) { (*static_cast<Callable*>(f))(part); };
        m_float_control = detail::float_control();
        m_pending.store(m_size);
        // Opening the parts after the job and the count are written: whoever claims a part
        // (a worker woken for an earlier job included) sees this job.
        for (int part = 0; part < m_size; ++part) m_claimed[std::size_t(part)].store(false);
        m_generation.fetch_add(1);  // wakes the spinning workers: they compare generations
        if (m_sleepers.load() > 0) {
            // A worker that checked the generation before the increment above is inside wait()
            // or holds the mutex on its way there; taking the mutex orders this notify after it.
            std::lock_guard<std::mutex> lock(m_mutex);
            m_wake.notify_all();
        }
        for (int part = 0; part < m_size; ++part) try_part(part);
        for (int spins = 0; m_pending.load(std::memory_order_acquire) != 0; ++spins)
            detail::spin_wait(spins);
        for (std::exception_ptr& error : m_errors) {
            if (error) {
                std::exception_ptr first = error;
                for (std::exception_ptr& e : m_errors) e = nullptr;
                std::rethrow_exception(first);
            }
        }
    }

private:
    void stop_and_join() {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stop.store(true);
            m_generation.fetch_add(1);
        }
        m_wake.notify_all();
        for (std::thread& worker : m_workers) worker.join();
    }

    // Runs `part` of the current job unless another thread has claimed it.
    void try_part(int part) {
        if (m_claimed[std::size_t(part)].exchange(true)) return;
        detail::set_float_control(m_float_control);  // a worker's; the caller's is unchanged
        try {
            m_call(m_job, part);
        } catch (...) {
            m_errors[static_cast<std::size_t>(part)] = std::current_exception();
        }
        m_pending.fetch_sub(1, std::memory_order_release);
    }

    void work(int part) {
        detail::set_backend_threads(1);
        std::uint64_t seen = 0;
        for (;;) {
            seen = wait_for_job(seen);
            if (m_stop.load()) return;
            try_part(part);
        }
    }

    // Spins until the generation moves past `seen`, then sleeps until it does.
    std::uint64_t wait_for_job(std::uint64_t seen) {
        using Clock = std::chrono::steady_clock;
        const Clock::time_point give_up = Clock::now() + spin_time;
        for (int spins = 0;; ++spins) {
            const std::uint64_t generation = m_generation.load();
            if (generation != seen) return generation;
            detail::spin_wait(spins);
            if (spins % 64 == 63 && Clock::now() > give_up) break;
        }
        std::unique_lock<std::mutex> lock(m_mutex);
        m_sleepers.fetch_add(1);
        m_wake.wait(lock, [&] { return m_generation.load() != seen; });
        m_sleepers.fetch_sub(1);
        return m_generation.load();
    }

    int m_size;
    std::vector<std::thread> m_workers;
    std::vector<std::exception_ptr> m_errors;  // one per part, so parts never share a slot
    void* m_job = nullptr;
    void (*m_call)(void*, int) = nullptr;
    unsigned m_float_control = 0;                    // the caller's, for the parts
    std::unique_ptr<std::atomic<bool>[]> m_claimed;  // per part: taken by some thread
    std::atomic<std::uint64_t> m_generation{0};
    std::atomic<int> m_pending{0};                   // parts not finished yet
    std::atomic<int> m_sleepers{0};
    std::atomic<bool> m_stop{false};
    std::mutex m_mutex;
    std::condition_variable m_wake;
};

}  // namespace nabla
