// ThreadPool: every part of every job runs exactly once, on as many threads as asked, the caller
// sees the parts' writes when run() returns, and an exception in any part reaches the caller
// without losing the pool.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/denormals.hpp>
#include <nabla/parallel/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace test_thread_pool {  // named for the unity build of nabla_tests

using nabla_test::contains;
using nabla_test::message_of;

TEST_CASE("thread pool: each part runs once per job", "[threads]") {
    for (int threads = 1; threads <= 4; ++threads) {
        CAPTURE(threads);
        nabla::ThreadPool pool(threads);
        CHECK(pool.size() == threads);
        std::vector<int> calls(static_cast<std::size_t>(threads), 0);
        std::thread::id first_part;
        for (int job = 0; job < 200; ++job) {
            pool.run([&](int part) {
                ++calls[static_cast<std::size_t>(part)];  // plain ints: run() must order them
                if (part == 0) first_part = std::this_thread::get_id();
            });
        }
        for (int part = 0; part < threads; ++part) CHECK(calls[std::size_t(part)] == 200);
        CHECK(first_part == std::this_thread::get_id());  // part 0 is the caller's
    }
}

TEST_CASE("thread pool: the parts run at the same time, on threads of their own", "[threads]") {
    // Every part waits until all have started: only threads that run together get through (the
    // caller, busy in part 0, cannot take a worker's part). A time limit keeps a broken pool
    // from hanging the test.
    constexpr int threads = 3;
    nabla::ThreadPool pool(threads);
    for (int job = 0; job < 20; ++job) {
        std::atomic<int> started{0};
        std::vector<std::thread::id> ids(threads);
        std::vector<char> met(threads, 0);
        pool.run([&](int part) {
            ids[std::size_t(part)] = std::this_thread::get_id();
            started.fetch_add(1);
            const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (started.load() < threads && std::chrono::steady_clock::now() < limit)
                std::this_thread::yield();
            met[std::size_t(part)] = started.load() == threads;
        });
        for (int part = 0; part < threads; ++part) CHECK(met[std::size_t(part)] == 1);
        CHECK(std::set<std::thread::id>(ids.begin(), ids.end()).size() == ids.size());
    }
}

TEST_CASE("thread pool: run() returns only when the slowest part is done", "[threads]") {
    nabla::ThreadPool pool(3);
    std::atomic<int> done{0};
    pool.run([&](int part) {
        if (part == 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        done.fetch_add(1);
    });
    CHECK(done.load() == 3);
}

TEST_CASE("thread pool: workers asleep after a pause still take the next job", "[threads]") {
    nabla::ThreadPool pool(2);
    int value = 0;
    pool.run([&](int part) {
        if (part == 1) value = 1;
    });
    // Longer than the spin time: the worker has gone to sleep on the condition variable.
    std::this_thread::sleep_for(nabla::ThreadPool::spin_time * 5);
    pool.run([&](int part) {
        if (part == 1) value = 2;
    });
    CHECK(value == 2);
}

TEST_CASE("thread pool: an exception in a part reaches the caller, the pool goes on",
          "[threads]") {
    nabla::ThreadPool pool(3);
    std::atomic<int> finished{0};
    const std::string message = message_of<std::runtime_error>([&] {
        pool.run([&](int part) {
            if (part == 1) throw std::runtime_error("part 1 failed");
            finished.fetch_add(1);
        });
    });
    CHECK(message == "part 1 failed");
    CHECK(finished.load() == 2);  // the other parts ran to the end before run() threw

    CHECK_THROWS_AS(pool.run([](int part) {
                        if (part == 0) throw std::logic_error("the caller's part");
                    }),
                    std::logic_error);

    std::atomic<int> calls{0};
    pool.run([&](int) { calls.fetch_add(1); });
    CHECK(calls.load() == 3);
}

TEST_CASE("thread pool: parts that meet at a barrier see each other's writes",
          "[threads]") {
    // Each round every part writes its slot, waits, and reads every slot: a part that passed
    // the barrier early would read a slot of the round before.
    constexpr int parts = 3;
    constexpr int rounds = 200;
    nabla::ThreadPool pool(parts);
    nabla::detail::PartBarrier barrier(parts);
    std::vector<std::atomic<int>> slots(parts);
    std::atomic<int> stale{0};
    std::atomic<int> refused{0};
    pool.run([&](int part) {
        for (int round = 1; round <= rounds; ++round) {
            slots[std::size_t(part)].store(round, std::memory_order_relaxed);
            if (!barrier.wait()) refused.fetch_add(1);
            for (const std::atomic<int>& slot : slots)
                if (slot.load(std::memory_order_relaxed) != round) stale.fetch_add(1);
            if (!barrier.wait()) refused.fetch_add(1);  // nobody writes before all have read
        }
    });
    CHECK(stale.load() == 0);
    CHECK(refused.load() == 0);
}

TEST_CASE("thread pool: a part that abandons a barrier releases the others", "[threads]") {
    nabla::ThreadPool pool(3);
    nabla::detail::PartBarrier barrier(3);
    std::atomic<int> released{0};
    const std::string message = message_of<std::runtime_error>([&] {
        pool.run([&](int part) {
            if (part == 1) {
                barrier.abandon();  // as a part does before it throws
                throw std::runtime_error("part 1 failed");
            }
            // Without the abandon these would wait for part 1 for ever.
            if (!barrier.wait() && !barrier.wait()) released.fetch_add(1);
        });
    });
    CHECK(message == "part 1 failed");
    CHECK(released.load() == 2);
}

TEST_CASE("thread pool: fewer than one thread is a ConfigError", "[threads][errors]") {
    const std::string message =
        message_of<nabla::ConfigError>([] { nabla::ThreadPool pool(0); });
    CHECK(contains(message, "threads must be at least 1, got 0"));
    CHECK_THROWS_AS(nabla::ThreadPool(-2), nabla::ConfigError);
}

TEST_CASE("thread pool: each part's products run on one thread of the GEMM back end",
          "[threads]") {
    // A back end with threads of its own (oneDNN's OpenMP under NABLA_GEMM=onednn) would run each
    // part's products on every core: parts × cores threads on the cores. With the Eigen back end
    // every product runs on its calling thread, and each count below is 1.
    const int before = nabla::detail::set_backend_threads(3);
    const int caller = nabla::detail::backend_threads();  // 3 where the back end has threads
    {
        nabla::ThreadPool pool(3);
        for (int job = 0; job < 20; ++job) {
            std::vector<int> seen(3, 0);
            pool.run([&](int part) { seen[std::size_t(part)] = nabla::detail::backend_threads(); });
            CHECK(seen == std::vector<int>{1, 1, 1});
            CHECK(nabla::detail::backend_threads() == caller);  // the caller's own is put back
        }
    }
    nabla::detail::set_backend_threads(before);
}

TEST_CASE("thread pool: the parts flush subnormals when the caller does, and only then",
          "[threads][denormals]") {
    if (!nabla::FlushDenormals::supported()) {
        SUCCEED("no flush-to-zero on this platform: FlushDenormals does nothing");
        return;
    }
    // 1e-30 × 1e-10 = 1e-40 lies below float's least normal number (1.2e-38): a subnormal where
    // the thread keeps them, 0 where it flushes them. volatile: computed at run time, on the
    // thread that runs the part.
    const auto makes_subnormal = [] {
        volatile float x = 1e-30f;
        volatile float y = 1e-10f;
        const float product = x * y;
        return product != 0.0f;
    };
    constexpr int threads = 2;
    nabla::ThreadPool pool(threads);
    // Flushing, then not (the worker must drop the setting again), then flushing.
    for (bool flushing : {true, false, true}) {
        CAPTURE(flushing);
        std::optional<nabla::FlushDenormals> flush;
        if (flushing) flush.emplace();
        std::vector<char> made(threads, 2);
        std::vector<std::thread::id> ids(threads);
        std::atomic<int> done{0};
        pool.run([&](int part) {
            made[std::size_t(part)] = makes_subnormal();
            ids[std::size_t(part)] = std::this_thread::get_id();
            done.fetch_add(1);
            // Part 0 (the caller) waits for part 1, so that the worker, not the caller, runs it.
            const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (part == 0 && done.load() < threads && std::chrono::steady_clock::now() < limit)
                std::this_thread::yield();
        });
        CHECK(ids[0] != ids[1]);
        CHECK(made == std::vector<char>(threads, flushing ? 0 : 1));
        CHECK(makes_subnormal() == !flushing);  // the caller's own setting is untouched
    }
}

}  // namespace test_thread_pool
