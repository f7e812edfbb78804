#pragma once

#include <nabla/detail/requires_cxx17.hpp>

#include <cassert>
#include <stdexcept>
#include <string>

/// \file
/// The exceptions nabla throws, one type per kind of error, and its assert macro.

/// Checks an internal invariant (never user input). Define NABLA_ASSERT before including nabla to
/// route it elsewhere; user errors are exceptions, never asserts.
#ifndef NABLA_ASSERT
#define NABLA_ASSERT(condition) assert(condition)
#endif

namespace nabla {

/// A shape that does not fit: input rows against a layer, targets against the output, sample
/// counts, a weight matrix of the wrong size, an empty batch. Caught as std::invalid_argument.
class ShapeError : public std::invalid_argument {
public:
    /// `what` names the place and both shapes; the "nabla: " prefix is added here.
    explicit ShapeError(const std::string& what) : std::invalid_argument("nabla: " + what) {}
};

/// An option outside its domain: a batch size of 0, a learning rate that is not positive, a loss
/// that does not fit the output activation, an unknown activation name. Caught as
/// std::invalid_argument.
class ConfigError : public std::invalid_argument {
public:
    /// `what` names the option and the value given; the "nabla: " prefix is added here.
    explicit ConfigError(const std::string& what) : std::invalid_argument("nabla: " + what) {}
};

/// Training met a loss or gradient that is not finite. The weights are those from before the
/// failing step. Caught as std::runtime_error.
class NumericalError : public std::runtime_error {
public:
    /// `what` names the epoch and batch; the "nabla: " prefix is added here.
    explicit NumericalError(const std::string& what) : std::runtime_error("nabla: " + what) {}
};

/// A file that cannot be read or written as asked: missing, unreadable, or not in the format
/// expected. The message names the file and where in it: a byte offset for binary files, a line
/// and column for text. Caught as std::runtime_error.
class FileError : public std::runtime_error {
public:
    /// `what` names the file and the place in it; the "nabla: " prefix is added here.
    explicit FileError(const std::string& what) : std::runtime_error("nabla: " + what) {}
};

/// The system refused what nabla asked of it: a worker thread that could not be started (a
/// container's process or memory limit). Anything already started has been stopped. Caught as
/// std::runtime_error.
class ResourceError : public std::runtime_error {
public:
    /// `what` names what was asked for and the system's reason; the "nabla: " prefix is added here.
    explicit ResourceError(const std::string& what) : std::runtime_error("nabla: " + what) {}
};

}  // namespace nabla
