#pragma once

/// The whole library: `#include <nabla/nabla.hpp>`.

#include <nabla/activation.hpp>
#include <nabla/any_activation.hpp>
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
#include <nabla/layer.hpp>
#include <nabla/layer_state.hpp>
#include <nabla/loss.hpp>
#include <nabla/metrics.hpp>
#include <nabla/network.hpp>
#include <nabla/optim/adam.hpp>
#include <nabla/optim/rmsprop.hpp>
#include <nabla/optim/schedule.hpp>
#include <nabla/optim/sgd.hpp>
#include <nabla/progress.hpp>
#include <nabla/random.hpp>
#include <nabla/train.hpp>
#include <nabla/version.hpp>
#include <nabla/workspace.hpp>
