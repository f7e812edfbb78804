#pragma once

// The layer types a program can build by name, as load_network() does from a model file: Dense
// and Dropout, and every type given to register_layer(). One registry per scalar type.

#include <nabla/any_activation.hpp>
#include <nabla/any_layer.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/name_registry.hpp>
#include <nabla/error.hpp>
#include <nabla/layer.hpp>
#include <nabla/layers/dense.hpp>
#include <nabla/layers/dropout.hpp>

#include <Eigen/Core>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <typeindex>
#include <vector>

namespace nabla {

/// The layer types of scalar type `Scalar` a program can build by name: Dense (with its σ
/// chosen at run time) and Dropout, and every type given to register_layer(). Safe to use from
/// several threads.
template <class Scalar>
class LayerRegistry {
public:
    /// Builds a layer of a registered type from what a model file says of it.
    using Factory = AnyLayer<Scalar> (*)(const LayerSpec&);

    /// The one registry of the program for this scalar type.
    static LayerRegistry& instance() {
        static LayerRegistry registry;
        return registry;
    }

    /// Registers L under L::type_name(); L builds itself with `static L from_spec(const
    /// LayerSpec&)`. Registering the same type again does nothing; another type under a name
    /// already taken throws ConfigError naming it. Returns true.
    template <class L>
    bool add() {
        const Factory factory = [](const LayerSpec& spec) {
            return AnyLayer<Scalar>(L::from_spec(spec));
        };
        m_names.add(L::type_name(), typeid(L), factory, "register_layer");
        return true;
    }

    /// A layer of the type registered as `name`, built from `spec`. Throws ConfigError naming
    /// the name and the names known when there is none.
    AnyLayer<Scalar> make(std::string_view name, const LayerSpec& spec) const {
        const Factory factory = m_names.find(name);
        if (!factory) {
            throw ConfigError(detail::cat("unknown layer type \"", name, "\"; known: ",
                                          m_names.names_text(),
                                          " (register others with nabla::register_layer)"));
        }
        return factory(spec);
    }

    /// "Dense, Dropout, ...": the names, for messages.
    std::string names_text() const { return m_names.names_text(); }

private:
    LayerRegistry() {
        add<Dense<Scalar, Eigen::Dynamic, Eigen::Dynamic, AnyActivation>>();
        add<Dropout<Scalar>>();
    }

    detail::NameRegistry<Factory> m_names;
};

/// Registers the layer type L (with its scalar type) under L::type_name() (see
/// LayerRegistry::add()), so that load_network() can build it from a model file.
template <class L>
bool register_layer() {
    return LayerRegistry<typename L::Scalar>::instance().template add<L>();
}

}  // namespace nabla
