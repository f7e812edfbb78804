#pragma once

// Checks shared by the allocation tests (test_allocations*.cpp): include after
// "allocation_counter.hpp", which must come before every Eigen include.

#include "allocation_counter.hpp"
#include "catch.hpp"

namespace nabla_alloc_test {

/// A training loop that sizes its buffers before the first epoch allocates as much for 20 epochs
/// as for 1 or 2. `allocations(epochs)` runs the loop (setup included) on a fresh copy of the
/// network and returns what it allocated. Returns the one-epoch counts for further checks.
template <class F>
Counts check_allocations_flat_in_epochs(F&& allocations) {
    const Counts one = allocations(1);
    const Counts two = allocations(2);
    const Counts twenty = allocations(20);
    INFO("1 epoch: " << one.new_calls << " operator new, " << one.eigen_mallocs << " Eigen");
    INFO("20 epochs: " << twenty.new_calls << " operator new, " << twenty.eigen_mallocs
                       << " Eigen");
    CHECK(two.new_calls == one.new_calls);
    CHECK(two.eigen_mallocs == one.eigen_mallocs);
    CHECK(twenty.new_calls == one.new_calls);
    CHECK(twenty.eigen_mallocs == one.eigen_mallocs);
    CHECK(one.total() > 0);  // setup allocates: the count is not blind
    return one;
}

}  // namespace nabla_alloc_test
