#pragma once

// A nabla::Communicator whose ranks are threads of one process, for testing fit() across
// "processes" without MPI: every collective waits at a barrier until all ranks have posted
// their arrays, then each rank computes the result itself, summing in rank order, so that
// every rank gets the same bits (as MPI's sums do). run_ranks(n, f) starts n threads, one per
// rank, and rethrows the first exception any of them threw.

#include <nabla/parallel/communicator.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace nabla_test {

/// The state the ranks of one group share.
class LocalGroupState {
public:
    explicit LocalGroupState(int ranks)
        : m_ranks(ranks), m_posted(std::size_t(ranks), nullptr), m_texts(std::size_t(ranks)) {}

    int ranks() const { return m_ranks; }

    /// Blocks until every rank has arrived.
    void barrier() {
        std::unique_lock<std::mutex> lock(m_mutex);
        const long generation = m_generation;
        if (++m_arrived == m_ranks) {
            m_arrived = 0;
            ++m_generation;
            m_wake.notify_all();
            return;
        }
        m_wake.wait(lock, [&] { return m_generation != generation; });
    }

    std::vector<const void*>& posted() { return m_posted; }
    std::vector<std::string>& texts() { return m_texts; }

private:
    int m_ranks;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    int m_arrived = 0;
    long m_generation = 0;
    std::vector<const void*> m_posted;
    std::vector<std::string> m_texts;
};

/// One rank's view of a LocalGroupState.
class LocalGroup final : public nabla::Communicator {
public:
    LocalGroup(std::shared_ptr<LocalGroupState> state, int rank)
        : m_state(std::move(state)), m_rank(rank) {}

    int rank() const override { return m_rank; }
    int size() const override { return m_state->ranks(); }
    void sum(float* values, std::size_t count) override { add_up(values, count); }
    void sum(double* values, std::size_t count) override { add_up(values, count); }
    int min(int value) override {
        int result = value;
        post(&value);
        for (const void* p : m_state->posted()) result = std::min(result, *static_cast<const int*>(p));
        m_state->barrier();
        return result;
    }
    void broadcast(float* values, std::size_t count, int root) override {
        copy_from(values, count, root);
    }
    void broadcast(double* values, std::size_t count, int root) override {
        copy_from(values, count, root);
    }
    void broadcast(std::string& text, int root) override {
        m_state->texts()[std::size_t(m_rank)] = text;
        m_state->barrier();
        const std::string value = m_state->texts()[std::size_t(root)];
        m_state->barrier();
        text = value;
    }

    /// How many collectives this rank has made.
    long calls() const { return m_calls; }

private:
    // Posts `data` and waits until every rank has posted.
    void post(const void* data) {
        ++m_calls;
        m_state->posted()[std::size_t(m_rank)] = data;
        m_state->barrier();
    }

    template <class T>
    void add_up(T* values, std::size_t count) {
        post(values);
        std::vector<T> total(count, T(0));
        for (const void* p : m_state->posted()) {
            const T* other = static_cast<const T*>(p);
            for (std::size_t i = 0; i < count; ++i) total[i] += other[i];
        }
        m_state->barrier();  // every rank has read every array
        for (std::size_t i = 0; i < count; ++i) values[i] = total[i];
    }

    template <class T>
    void copy_from(T* values, std::size_t count, int root) {
        post(values);
        std::vector<T> copy(static_cast<const T*>(m_state->posted()[std::size_t(root)]),
                            static_cast<const T*>(m_state->posted()[std::size_t(root)]) + count);
        m_state->barrier();
        for (std::size_t i = 0; i < count; ++i) values[i] = copy[i];
    }

    std::shared_ptr<LocalGroupState> m_state;
    int m_rank;
    long m_calls = 0;
};

/// Runs f(communicator) on `ranks` threads, one per rank, and waits for all; rethrows the
/// exception of the lowest rank that threw one.
template <class F>
void run_ranks(int ranks, F&& f) {
    auto state = std::make_shared<LocalGroupState>(ranks);
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(ranks));
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r) {
        threads.emplace_back([&, r] {
            try {
                f(std::make_shared<LocalGroup>(state, r));
            } catch (...) {
                errors[std::size_t(r)] = std::current_exception();
            }
        });
    }
    for (std::thread& t : threads) t.join();
    for (const std::exception_ptr& error : errors)
        if (error) std::rethrow_exception(error);
}

}  // namespace nabla_test
