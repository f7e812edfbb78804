#pragma once

/// \file
/// nabla::compiled: the instantiations most programs use, compiled once into a library so that
/// a program's own files do not compile them again. A program that links the CMake target
/// nabla::compiled (which defines NABLA_COMPILED) and includes <nabla/nabla.hpp> gets these
/// declared `extern template` here; everything else, and every program without the target,
/// stays header-only and compiles what it uses as before. The library is built from these same
/// headers (src/compiled/), so the two ways run the same code.
///
/// Held by the library, for Scalar float and double:
/// - the run-time layers: Dense<Scalar, Dynamic, Dynamic, AnyActivation> and Dropout<Scalar>
///   behind AnyLayer, and the built-in activations behind AnyActivation;
/// - for DynamicNetwork<Scalar, L> with each built-in loss L: fit() with Sgd or Adam, on
///   Eigen::Matrix<Scalar, Dynamic, Dynamic> data, with and without validation data; save() to
///   a path or a stream, load() and load_network(); save() with the inputs' Standardizer and
///   load_model().
///
/// A call with other argument types (a Map, a block, another optimizer) compiles in the
/// program, as without the library.

#include <nabla/any_activation.hpp>
#include <nabla/any_layer.hpp>
#include <nabla/dynamic_network.hpp>
#include <nabla/fit.hpp>
#include <nabla/io/model_file.hpp>
#include <nabla/layers/dense.hpp>
#include <nabla/layers/dropout.hpp>
#include <nabla/loss.hpp>
#include <nabla/model.hpp>
#include <nabla/optim/adam.hpp>
#include <nabla/optim/sgd.hpp>

#include <Eigen/Core>
#include <ostream>
#include <string>

// The lists, written once for the declarations below and the definitions in src/compiled/
// (EXTERN: `extern` or nothing).

/// The type-erased layers of Scalar.
#define NABLA_COMPILED_LAYERS(EXTERN, Scalar)                                                     \
    EXTERN template class nabla::detail::LayerHolder<                                            \
        nabla::Dense<Scalar, Eigen::Dynamic, Eigen::Dynamic, nabla::AnyActivation>>;            \
    EXTERN template class nabla::detail::StateHolder<                                            \
        nabla::Dense<Scalar, Eigen::Dynamic, Eigen::Dynamic, nabla::AnyActivation>>;            \
    EXTERN template class nabla::detail::LayerHolder<nabla::Dropout<Scalar>>;                    \
    EXTERN template class nabla::detail::StateHolder<nabla::Dropout<Scalar>>

/// The built-in activations.
#define NABLA_COMPILED_ACTIVATIONS(EXTERN)                                                        \
    EXTERN template class nabla::detail::ActivationHolder<nabla::Identity>;                      \
    EXTERN template class nabla::detail::ActivationHolder<nabla::Sigmoid>;                       \
    EXTERN template class nabla::detail::ActivationHolder<nabla::Tanh>;                          \
    EXTERN template class nabla::detail::ActivationHolder<nabla::ReLU>;                          \
    EXTERN template class nabla::detail::ActivationHolder<nabla::LeakyReLU>;                     \
    EXTERN template class nabla::detail::ActivationHolder<nabla::Softmax>;                       \
    EXTERN template class nabla::detail::ActivationHolder<nabla::ELU>;                           \
    EXTERN template class nabla::detail::ActivationHolder<nabla::Softplus>;                      \
    EXTERN template class nabla::detail::ActivationHolder<nabla::GELU>

/// fit() of DynamicNetwork<Scalar, Loss> with Optimizer, without and with validation data.
#define NABLA_COMPILED_FIT(EXTERN, Scalar, Loss, Optimizer)                                       \
    EXTERN template nabla::History nabla::fit(                                                   \
        nabla::DynamicNetwork<Scalar, Loss>&, Optimizer&,                                        \
        const Eigen::MatrixBase<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>&,        \
        const Eigen::MatrixBase<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>&,        \
        const nabla::FitOptions&);                                                               \
    EXTERN template nabla::History nabla::fit(                                                   \
        nabla::DynamicNetwork<Scalar, Loss>&, Optimizer&,                                        \
        const Eigen::MatrixBase<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>&,        \
        const Eigen::MatrixBase<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>&,        \
        const Eigen::MatrixBase<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>&,        \
        const Eigen::MatrixBase<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>&,        \
        const nabla::FitOptions&)

/// Training, saving and loading DynamicNetwork<Scalar, Loss>.
#define NABLA_COMPILED_NETWORK(EXTERN, Scalar, Loss)                                              \
    NABLA_COMPILED_FIT(EXTERN, Scalar, Loss, nabla::Sgd);                                        \
    NABLA_COMPILED_FIT(EXTERN, Scalar, Loss, nabla::Adam);                                       \
    EXTERN template void nabla::save(const nabla::DynamicNetwork<Scalar, Loss>&,                 \
                                     const std::string&);                                        \
    EXTERN template void nabla::save(const nabla::DynamicNetwork<Scalar, Loss>&, std::ostream&); \
    EXTERN template void nabla::load(nabla::DynamicNetwork<Scalar, Loss>&, const std::string&);  \
    EXTERN template nabla::DynamicNetwork<Scalar, Loss> nabla::load_network<Scalar, Loss>(       \
        const std::string&);                                                                     \
    EXTERN template void nabla::save(const nabla::DynamicNetwork<Scalar, Loss>&,                 \
                                     const nabla::Standardizer<Scalar>&, const std::string&);    \
    EXTERN template nabla::Model<Scalar, Loss> nabla::load_model<Scalar, Loss>(const std::string&)

/// Everything the library holds for Scalar.
#define NABLA_COMPILED_SCALAR(EXTERN, Scalar)                                                     \
    NABLA_COMPILED_LAYERS(EXTERN, Scalar);                                                       \
    NABLA_COMPILED_NETWORK(EXTERN, Scalar, nabla::SquaredError);                                 \
    NABLA_COMPILED_NETWORK(EXTERN, Scalar, nabla::HalfSquaredError);                             \
    NABLA_COMPILED_NETWORK(EXTERN, Scalar, nabla::CrossEntropy);                                 \
    NABLA_COMPILED_NETWORK(EXTERN, Scalar, nabla::BinaryCrossEntropy)

#if defined(NABLA_COMPILED)
NABLA_COMPILED_ACTIVATIONS(extern);
NABLA_COMPILED_SCALAR(extern, float);
NABLA_COMPILED_SCALAR(extern, double);
#endif
