#pragma once

/// The whole library: `#include <nabla/nabla.hpp>`.

#include <nabla/activation.hpp>
#include <nabla/any_activation.hpp>
#include <nabla/dynamic_network.hpp>
#include <nabla/error.hpp>
#include <nabla/gradient_check.hpp>
#include <nabla/init.hpp>
#include <nabla/layer.hpp>
#include <nabla/layer_state.hpp>
#include <nabla/loss.hpp>
#include <nabla/network.hpp>
#include <nabla/random.hpp>
#include <nabla/train.hpp>
#include <nabla/version.hpp>
#include <nabla/workspace.hpp>
