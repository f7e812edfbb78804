#pragma once

#include <nabla/detail/requires_cxx17.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace nabla {

/// xoshiro256** seeded through splitmix64: small, fast and the same on every platform, unlike the
/// distributions of `<random>`, whose algorithms the standard leaves to each library. One seed
/// gives one sequence everywhere, so one seed gives one network.
class Rng {
public:
    /// A generator whose whole sequence is fixed by `seed`.
    explicit Rng(std::uint64_t seed) {
        for (std::uint64_t& word : m_state) {
            seed += 0x9E3779B97F4A7C15ULL;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
            word = z ^ (z >> 31);
        }
    }

    /// The generator's whole state, for a checkpoint: set_state() continues the sequence.
    std::array<std::uint64_t, 4> state() const {
        return {m_state[0], m_state[1], m_state[2], m_state[3]};
    }
    /// Continues the sequence of the generator whose state() this was.
    void set_state(const std::array<std::uint64_t, 4>& state) {
        for (std::size_t k = 0; k < 4; ++k) m_state[k] = state[k];
    }

    /// The next 64 random bits.
    std::uint64_t next() {
        const std::uint64_t result = rotl(m_state[1] * 5, 7) * 9;
        const std::uint64_t t = m_state[1] << 17;
        m_state[2] ^= m_state[0];
        m_state[3] ^= m_state[1];
        m_state[1] ^= m_state[2];
        m_state[0] ^= m_state[3];
        m_state[2] ^= t;
        m_state[3] = rotl(m_state[3], 45);
        return result;
    }

    /// Uniform in [0, 1), with 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

    /// Uniform in [lo, hi).
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

    /// Standard normal N(0, 1), by Marsaglia's polar method on pairs of uniform() draws. The
    /// algorithm is nabla's own, not std::normal_distribution's (which differs between standard
    /// libraries), so one seed gives one sequence wherever std::log agrees (std::sqrt is
    /// exact). Each attempt takes two draws and succeeds with probability π/4; only one of the
    /// pair's two normals is kept, so the generator's position depends on the calls made, not
    /// on a cache.
    double normal() {
        for (;;) {
            const double u = 2 * uniform() - 1;  // exact: uniform() is a multiple of 2⁻⁵³
            const double v = 2 * uniform() - 1;
            const double s = u * u + v * v;
            // (u, v) uniform in the unit disc gives u·√(−2 ln s / s) ~ N(0, 1); s = 0 would
            // divide by zero.
            if (s > 0 && s < 1) return u * std::sqrt(-2 * std::log(s) / s);
        }
    }

    /// Normal with the given mean and standard deviation: mean + stddev·normal().
    double normal(double mean, double stddev) { return mean + stddev * normal(); }

    /// Uniform integer in [0, n), without modulo bias; n > 0.
    std::uint64_t below(std::uint64_t n) {
        // Values under `threshold` would make the low residues more likely: draw again.
        const std::uint64_t threshold = (0 - n) % n;
        for (;;) {
            const std::uint64_t r = next();
            if (r >= threshold) return r % n;
        }
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

    std::uint64_t m_state[4];
};

/// Fisher–Yates shuffle driven by `rng`: a permutation that depends on the seed alone.
template <class T>
void shuffle(std::vector<T>& items, Rng& rng) {
    for (std::size_t i = items.size(); i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(rng.below(i));
        std::swap(items[i - 1], items[j]);
    }
}

}  // namespace nabla
