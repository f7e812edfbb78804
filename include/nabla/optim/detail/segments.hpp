#pragma once

// One pass over memory per parameter block. An optimizer step updates several arrays of the
// same length (the parameter, its gradient, one to three state arrays); written as one Eigen
// expression per array, each array is streamed through the caches once per expression, and a
// network of a few hundred thousand parameters no longer fits in L2 between them. Walking the
// block in short segments instead, doing every update of a segment back to back, reads each
// array from memory once and finds it in L1 for the other expressions of the segment. Inside a
// segment the math stays Eigen array expressions, so it vectorises and reads like the formula.

#include <nabla/error.hpp>

#include <Eigen/Core>

#include <type_traits>

namespace nabla::detail {

/// Entries per segment: 2 KiB of each array (512 floats, 256 doubles). With up to five arrays
/// in flight (centered RMSProp with momentum) a segment takes 10 KiB, well inside any L1; much
/// shorter segments pay the loop overhead more often, much longer ones measured no faster.
template <class Scalar>
inline constexpr int segment_length = int(2048 / sizeof(Scalar));

/// A whole segment of a parameter, gradient or state block, seen as a flat array to update in
/// place. Its length is known at compile time, so Eigen's loop over it has no scalar tail.
template <class Scalar>
using Segment = Eigen::Map<Eigen::Array<Scalar, segment_length<Scalar>, 1>>;

/// A whole segment of a block that is only read (the gradient).
template <class Scalar>
using ConstSegment = Eigen::Map<const Eigen::Array<Scalar, segment_length<Scalar>, 1>>;

/// The last, shorter segment of a block longer than one segment.
template <class Scalar>
using TailSegment = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>;

/// The last segment of a block that is only read.
template <class Scalar>
using ConstTailSegment = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;

// Every block walked here is contiguous: a parameter matrix, or a map of the gradient array or
// of an optimizer's state array (parameters.hpp), all stored column by column without gaps.

/// Entries [start, start + segment_length) of a contiguous block, in storage order.
template <class Block>
auto whole_segment(Block& block, Eigen::Index start) {
    using Scalar = typename std::remove_const_t<Block>::Scalar;
    if constexpr (std::is_const_v<Block> ||
                  !bool(int(std::remove_const_t<Block>::Flags) & Eigen::LvalueBit))
        return ConstSegment<Scalar>(block.data() + start);
    else
        return Segment<Scalar>(block.data() + start);
}

/// Entries [start, end of the block) of a contiguous block, in storage order.
template <class Block>
auto tail_segment(Block& block, Eigen::Index start) {
    using Scalar = typename std::remove_const_t<Block>::Scalar;
    if constexpr (std::is_const_v<Block> ||
                  !bool(int(std::remove_const_t<Block>::Flags) & Eigen::LvalueBit))
        return ConstTailSegment<Scalar>(block.data() + start, block.size() - start);
    else
        return TailSegment<Scalar>(block.data() + start, block.size() - start);
}

/// Calls f(segment of first, segment of each of rest...) on consecutive segments that cover the
/// blocks, which all have first's number of entries (the optimizers check the shapes before
/// stepping); f does all of a segment's updates before the next segment is touched. f is
/// generic: it gets Segment (ConstSegment for a const block) for each whole segment and
/// TailSegment (ConstTailSegment) for the rest, or, when the block fits in one segment, the
/// blocks' own array() views. Those keep the compile-time sizes and the known alignment of small
/// blocks: through Maps of unknown size and alignment, the Adam step of a [2, 3, 2] network
/// took about twice as long.
///
///     for_each_segment([&](auto p, auto g) { p -= eta * g; }, W, dW);  // W ← W − η∇W
template <class F, class First, class... Rest>
void for_each_segment(F&& f, First&& first, Rest&&... rest) {
    using Scalar = typename std::decay_t<First>::Scalar;
    constexpr Eigen::Index length = segment_length<Scalar>;
    const Eigen::Index size = first.size();
    NABLA_ASSERT(((rest.size() == size) && ...));
    if (size <= length) {
        f(first.array(), rest.array()...);
        return;
    }
    Eigen::Index start = 0;
    for (; start + length <= size; start += length)
        f(whole_segment(first, start), whole_segment(rest, start)...);
    if (start < size) f(tail_segment(first, start), tail_segment(rest, start)...);
}

}  // namespace nabla::detail
