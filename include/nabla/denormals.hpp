#pragma once

#include <nabla/detail/requires_cxx17.hpp>

// Subnormal ("denormal") numbers, below 1.2e-38 in float and 2.2e-308 in double, take one to two
// orders of magnitude longer per operation on x86 CPUs than normal ones. Training makes them:
// Adam's second moment is a running mean of squared gradients, and gradients of 1e-20 square to
// subnormals. On the Fashion-MNIST demo they made later epochs 1.7 times slower than the first.
// Flushing them to zero changes only values below those limits, which no weight, gradient or
// moment needs: the demo's numbers came out identical with and without.

#if defined(__SSE__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 1)
#include <xmmintrin.h>
#define NABLA_HAS_MXCSR 1
#endif

namespace nabla {

/// While alive, this thread's floating-point unit flushes subnormal results to zero and reads
/// subnormal inputs as zero (x86 SSE/AVX: MXCSR's FTZ and DAZ bits); the destructor restores the
/// previous setting. Elsewhere it does nothing. fit() holds one while it trains (see
/// FitOptions::flush_denormals); hold one around a hand-written training loop for the same speed.
///
///     {
///         nabla::FlushDenormals flush;
///         for (...) net.train_step(x, y, ws, 0.1f);
///     }  // the thread's previous setting is back
class FlushDenormals {
public:
    /// Sets flush-to-zero and denormals-are-zero for the calling thread.
    FlushDenormals() {
#ifdef NABLA_HAS_MXCSR
        m_saved = _mm_getcsr();
        _mm_setcsr(m_saved | flush_bits);
#endif
    }
    /// Restores the calling thread's previous setting.
    ~FlushDenormals() {
#ifdef NABLA_HAS_MXCSR
        _mm_setcsr(m_saved);
#endif
    }
    FlushDenormals(const FlushDenormals&) = delete;
    FlushDenormals& operator=(const FlushDenormals&) = delete;

    /// True when this platform can flush (x86 with SSE); otherwise the guard does nothing.
    static constexpr bool supported() {
#ifdef NABLA_HAS_MXCSR
        return true;
#else
        return false;
#endif
    }

private:
#ifdef NABLA_HAS_MXCSR
    static constexpr unsigned flush_bits = 0x8040;  // FTZ (bit 15) | DAZ (bit 6)
    unsigned m_saved = 0;
#endif
};

namespace detail {

/// The calling thread's floating-point control: on x86, MXCSR without its status flags
/// (flush-to-zero, denormals-are-zero, the rounding mode and the exception masks); 0 elsewhere.
inline unsigned float_control() {
#ifdef NABLA_HAS_MXCSR
    return _mm_getcsr() & ~0x3Fu;  // bits 0-5 are the sticky exception flags, not control
#else
    return 0;
#endif
}

/// Gives the calling thread the control float_control() read on another thread, keeping its own
/// exception flags: a pool's worker then rounds and flushes as the thread whose job it runs.
inline void set_float_control(unsigned control) {
#ifdef NABLA_HAS_MXCSR
    const unsigned current = _mm_getcsr();
    if ((current & ~0x3Fu) != control) _mm_setcsr((current & 0x3Fu) | control);
#else
    (void)control;
#endif
}

}  // namespace detail

}  // namespace nabla
