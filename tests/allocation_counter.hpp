#pragma once

// Counts heap allocations, for the tests that prove hot paths allocate nothing. Include it first,
// in exactly one translation unit of a test executable of its own (test_allocations*.cpp each
// build alone): it defines the global allocation functions. Counted two ways, because Eigen does
// not go through operator new:
//   - this executable replaces the global operator new (every form) with a counting version;
//   - EIGEN_RUNTIME_NO_MALLOC makes every heap allocation of Eigen (aligned_malloc and
//     conditional_aligned_malloc, the only ways Eigen's matrices reach the heap) call
//     eigen_assert(is_malloc_allowed() && ...). eigen_assert is routed to a counter below, so a
//     forbidden allocation is counted instead of aborting, and it is counted in Release builds
//     too, where the default eigen_assert compiles to nothing.
// Counting is on only inside count_allocations(): Catch2 allocates freely outside it, and every
// CHECK runs outside it.
//
// The replacement operators serve the whole process, Catch2's main included; they forward to
// malloc/aligned_alloc and free, so mixing them with Catch2's allocations is harmless.

#define EIGEN_RUNTIME_NO_MALLOC

#include <cstddef>

namespace nabla_alloc_test {
inline void on_eigen_assert(const char* condition) noexcept;
}

// Must come before the first Eigen include.
#define eigen_assert(condition)                                                      \
    do {                                                                             \
        if (!(condition)) ::nabla_alloc_test::on_eigen_assert(#condition);           \
    } while (false)

#include <Eigen/Core>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

namespace nabla_alloc_test {

inline bool counting = false;
inline long new_calls = 0;      // operator new (any form) while counting
inline long eigen_mallocs = 0;  // Eigen heap allocations while counting (the guard's assertion)
inline long other_asserts = 0;  // any other failed eigen_assert, counted or not: must stay 0

inline void on_eigen_assert(const char* condition) noexcept {
    if (std::strstr(condition, "is_malloc_allowed") != nullptr) {
        if (counting) ++eigen_mallocs;
    } else {
        ++other_asserts;
    }
}

/// What one measured region allocated.
struct Counts {
    long new_calls = 0;
    long eigen_mallocs = 0;
    long total() const { return new_calls + eigen_mallocs; }
};

/// Runs f with both counters on and Eigen's malloc guard set; returns what it allocated.
template <class F>
Counts count_allocations(F&& f) {
    new_calls = 0;
    eigen_mallocs = 0;
    Eigen::internal::set_is_malloc_allowed(false);
    counting = true;
    f();
    counting = false;
    Eigen::internal::set_is_malloc_allowed(true);
    return Counts{new_calls, eigen_mallocs};
}

inline void* counted_malloc(std::size_t size) {
    if (counting) ++new_calls;
    return std::malloc(size == 0 ? 1 : size);
}

inline void* counted_aligned_malloc(std::size_t size, std::align_val_t alignment) {
    if (counting) ++new_calls;
    const std::size_t align = static_cast<std::size_t>(alignment);
    // aligned_alloc wants a size that is a multiple of the alignment.
    const std::size_t rounded = (size + align - 1) / align * align;
    return std::aligned_alloc(align, rounded == 0 ? align : rounded);
}

}  // namespace nabla_alloc_test

// --- the replaceable global allocation functions ------------------------------------------------

void* operator new(std::size_t size) {
    if (void* p = nabla_alloc_test::counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    if (void* p = nabla_alloc_test::counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    return nabla_alloc_test::counted_malloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    return nabla_alloc_test::counted_malloc(size);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
    if (void* p = nabla_alloc_test::counted_aligned_malloc(size, alignment)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
    if (void* p = nabla_alloc_test::counted_aligned_malloc(size, alignment)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return nabla_alloc_test::counted_aligned_malloc(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment,
                     const std::nothrow_t&) noexcept {
    return nabla_alloc_test::counted_aligned_malloc(size, alignment);
}

// The operators above take their memory from malloc, so free is the matching release. GCC 11+
// inlines these into library code that it sees calling operator new and then warns that free
// does not match new (-Wmismatched-new-delete): a false positive for a replacement operator.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#pragma GCC diagnostic pop
#endif

