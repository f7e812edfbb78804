#pragma once

/// \file
/// The whole library: `#include <nabla/nabla.hpp>`.

/// \namespace nabla
/// Everything a program calls: networks, layers, activations, losses, optimizers, training,
/// data, files. Internals live in nabla::detail and may change in any release.

#include <nabla/activation.hpp>
#include <nabla/any_activation.hpp>
#include <nabla/any_layer.hpp>
#include <nabla/attributes.hpp>
#include <nabla/data/fashion_mnist.hpp>
#include <nabla/data/one_hot.hpp>
#include <nabla/data/split.hpp>
#include <nabla/data/standardizer.hpp>
#include <nabla/denormals.hpp>
#include <nabla/dynamic_network.hpp>
#include <nabla/error.hpp>
#include <nabla/fit.hpp>
#include <nabla/gradient_check.hpp>
#include <nabla/history.hpp>
#include <nabla/init.hpp>
#include <nabla/io/atomic_file.hpp>
#include <nabla/io/checksum.hpp>
#include <nabla/io/csv.hpp>
#include <nabla/io/dot.hpp>
#include <nabla/io/idx.hpp>
#include <nabla/io/model_file.hpp>
#include <nabla/io/safetensors.hpp>
#include <nabla/layer.hpp>
#include <nabla/layer_registry.hpp>
#include <nabla/layers/dense.hpp>
#include <nabla/layers/dropout.hpp>
#include <nabla/loss.hpp>
#include <nabla/metrics.hpp>
#include <nabla/model.hpp>
#include <nabla/network.hpp>
#include <nabla/optim/adam.hpp>
#include <nabla/optim/clipping.hpp>
#include <nabla/optim/l1.hpp>
#include <nabla/optim/rmsprop.hpp>
#include <nabla/optim/schedule.hpp>
#include <nabla/optim/sgd.hpp>
#include <nabla/parallel/communicator.hpp>
#include <nabla/parallel/data_parallel.hpp>
#include <nabla/parallel/thread_pool.hpp>
#include <nabla/parameters.hpp>
#include <nabla/progress.hpp>
#include <nabla/random.hpp>
#include <nabla/summary.hpp>
#include <nabla/train.hpp>
#include <nabla/version.hpp>
#include <nabla/workspace.hpp>
// Last: with NABLA_COMPILED it declares what nabla::compiled holds, before any use.
#include <nabla/compiled.hpp>
