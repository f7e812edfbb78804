#pragma once

// Layers chosen at run time: AnyLayer holds any type that models the layer concept (layer.hpp)
// behind one interface, so that a DynamicNetwork stacks Dense, Dropout and a program's own
// layers in one vector. Its state, AnyLayerState, holds the layer type's own state and shows its
// buffers (a, ∂C/∂a, and z, δ, ∂C/∂W, ∂C/∂b where the type has them) as matrix views. A call
// dispatches once per layer per batch, never per element or sample.

#include <nabla/any_activation.hpp>
#include <nabla/attributes.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/init.hpp>
#include <nabla/layer.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <typeindex>
#include <utility>

namespace nabla {

template <class Scalar>
class AnyLayerState;
template <class Scalar>
class AnyLayer;

namespace detail {

template <class L, class = void>
struct IsLayer : std::false_type {};
template <class L>
struct IsLayer<L, std::void_t<typename L::Scalar, decltype(std::declval<const L&>().type_name()),
                              decltype(std::declval<const L&>().parameter_count())>>
    : std::true_type {};

template <class State, class = void>
struct HasErrorBuffers : std::false_type {};
template <class State>
struct HasErrorBuffers<
    State, std::void_t<decltype(std::declval<State&>().z), decltype(std::declval<State&>().delta)>>
    : std::true_type {};

template <class State, class = void>
struct HasGradientViews : std::false_type {};
template <class State>
struct HasGradientViews<
    State, std::void_t<decltype(std::declval<State&>().dW), decltype(std::declval<State&>().db)>>
    : std::true_type {};

/// The state of one layer type behind AnyLayerState.
template <class Scalar>
class StateModel {
public:
    virtual ~StateModel() = default;
    virtual std::unique_ptr<StateModel> clone() const = 0;
    virtual std::type_index layer_type() const = 0;
    virtual std::type_index state_type() const = 0;
    virtual const void* state() const = 0;
    virtual void bind_gradients(Scalar* gradients) = 0;
    /// Points the views of `into` at this state's buffers.
    virtual void expose(AnyLayerState<Scalar>& into) = 0;
};

/// StateModel for layer type L: its State for a batch of any size.
template <class L>
class StateHolder final : public StateModel<typename L::Scalar> {
public:
    using Scalar = typename L::Scalar;
    using State = typename L::template State<Eigen::Dynamic>;

    std::unique_ptr<StateModel<Scalar>> clone() const override {
        return std::make_unique<StateHolder>(*this);
    }
    std::type_index layer_type() const override { return typeid(L); }
    std::type_index state_type() const override { return typeid(State); }
    const void* state() const override { return &held; }
    void bind_gradients(Scalar* gradients) override { held.bind_gradients(gradients); }
    void expose(AnyLayerState<Scalar>& into) override;

    State held;  ///< The layer type's own buffers.
};

/// What an initializer fills, handed across the type-erased boundary: W, b, the context and the
/// generator. Dense's initialize() calls fill() on it as on any initializer.
template <class Scalar>
struct ErasedInit {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    std::function<void(Eigen::Ref<Matrix>, Eigen::Ref<Vector>, const InitContext&, Rng&)> fill_f;

    template <class W, class B>
    void fill(Eigen::MatrixBase<W>& weights, Eigen::MatrixBase<B>& bias, const InitContext& context,
              Rng& rng) const {
        fill_f(Eigen::Ref<Matrix>(weights.derived()), Eigen::Ref<Vector>(bias.derived()), context,
               rng);
    }
};

/// The interface AnyLayer calls.
template <class Scalar>
class LayerModel {
public:
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    using In = Eigen::Ref<const Matrix>;
    using Out = Eigen::Ref<Matrix>;

    virtual ~LayerModel() = default;
    virtual std::unique_ptr<LayerModel> clone() const = 0;
    /// Copies `other`, a model of the same layer type, into this one's storage.
    virtual void assign(const LayerModel& other) = 0;
    virtual std::type_index type() const = 0;
    virtual const char* type_name() const = 0;
    virtual void* layer() = 0;
    virtual Eigen::Index inputs() const = 0;
    virtual Eigen::Index outputs() const = 0;
    virtual Eigen::Index parameter_count() const = 0;
    virtual std::size_t blocks() const = 0;
    virtual Eigen::Map<Matrix> block(std::size_t k) = 0;
    virtual const char* block_name(std::size_t k) const = 0;
    virtual const AnyActivation* activation() const = 0;
    virtual bool has_error_buffers() const = 0;
    virtual Attributes attributes() const = 0;
    virtual std::unique_ptr<StateModel<Scalar>> make_state() const = 0;
    virtual void prepare(StateModel<Scalar>& state, Eigen::Index batch,
                         Scalar* gradients) const = 0;
    virtual void forward(const In& input, StateModel<Scalar>& state, const Pass& pass) const = 0;
    virtual void backward(const In& input, StateModel<Scalar>& state,
                          const BackwardPass& how) const = 0;
    virtual void propagate(const StateModel<Scalar>& state, Out da_below) const = 0;
    virtual bool folds_step(Eigen::Index batch) const = 0;
    virtual bool step_is_finite(const In& input, const StateModel<Scalar>& state,
                                Scalar learning_rate) const = 0;
    virtual void descend(const In& input, const StateModel<Scalar>& state,
                         Scalar learning_rate) = 0;
    virtual bool folds_parts(Eigen::Index batch) const = 0;
    virtual void descend_part(const In& input, const StateModel<Scalar>& state, Scalar step,
                              int part, int parts) = 0;
    virtual bool splits_rows() const = 0;
    virtual void forward_rows(const In& input, StateModel<Scalar>& state, Eigen::Index first,
                              Eigen::Index count) const = 0;
    virtual void delta_rows(StateModel<Scalar>& state, Eigen::Index first,
                            Eigen::Index count) const = 0;
    virtual void propagate_rows(const StateModel<Scalar>& state, Out da_below, Eigen::Index first,
                                Eigen::Index count) const = 0;
    virtual void initialize(const ErasedInit<Scalar>& init, std::size_t index, Rng& rng) = 0;
    virtual void set_number(int number) = 0;
};

/// LayerModel for layer type L.
template <class L>
class LayerHolder final : public LayerModel<typename L::Scalar> {
public:
    using Scalar = typename L::Scalar;
    using Base = LayerModel<Scalar>;
    using typename Base::In;
    using typename Base::Matrix;
    using typename Base::Out;
    using State = typename StateHolder<L>::State;

    explicit LayerHolder(L layer) : m_layer(std::move(layer)) { cache_activation(); }
    LayerHolder(const LayerHolder& other) : m_layer(other.m_layer) { cache_activation(); }

    std::unique_ptr<Base> clone() const override { return std::make_unique<LayerHolder>(*this); }
    void assign(const Base& other) override {
        m_layer = static_cast<const LayerHolder&>(other).m_layer;
        cache_activation();
    }
    std::type_index type() const override { return typeid(L); }
    const char* type_name() const override { return m_layer.type_name(); }
    void* layer() override { return &m_layer; }
    Eigen::Index inputs() const override { return m_layer.inputs(); }
    Eigen::Index outputs() const override { return m_layer.outputs(); }
    Eigen::Index parameter_count() const override { return m_layer.parameter_count(); }
    std::size_t blocks() const override {
        std::size_t count = 0;
        m_layer.for_each_parameter([&](const auto&, const char*) { ++count; });
        return count;
    }
    Eigen::Map<Matrix> block(std::size_t k) override {
        Eigen::Map<Matrix> found(nullptr, 0, 0);
        std::size_t index = 0;
        m_layer.for_each_parameter([&](auto& block, const char*) {
            if (index++ == k)
                new (&found) Eigen::Map<Matrix>(block.data(), block.rows(), block.cols());
        });
        return found;
    }
    const char* block_name(std::size_t k) const override {
        const char* found = "";
        std::size_t index = 0;
        m_layer.for_each_parameter([&](const auto&, const char* name) {
            if (index++ == k)
                found = name;
        });
        return found;
    }
    const AnyActivation* activation() const override {
        return m_activation ? &*m_activation : nullptr;
    }
    bool has_error_buffers() const override { return HasErrorBuffers<State>::value; }
    Attributes attributes() const override { return layer_attributes(m_layer); }
    std::unique_ptr<StateModel<Scalar>> make_state() const override {
        return std::make_unique<StateHolder<L>>();
    }
    void prepare(StateModel<Scalar>& state, Eigen::Index batch, Scalar* gradients) const override {
        m_layer.prepare(own(state), batch, gradients);
    }
    void forward(const In& input, StateModel<Scalar>& state, const Pass& pass) const override {
        m_layer.forward(input, own(state), pass);
    }
    void backward(const In& input, StateModel<Scalar>& state,
                  const BackwardPass& how) const override {
        m_layer.backward(input, own(state), how);
    }
    void propagate(const StateModel<Scalar>& state, Out da_below) const override {
        m_layer.propagate(own(state), da_below);
    }
    bool folds_step(Eigen::Index batch) const override {
        if constexpr (can_descend_v<L, In>)
            return m_layer.template folds_step<In>(batch);
        else
            return false;
    }
    bool step_is_finite(const In& input, const StateModel<Scalar>& state,
                        Scalar learning_rate) const override {
        if constexpr (can_descend_v<L, In>)
            return m_layer.step_is_finite(input, own(state), learning_rate);
        else
            return false;
    }
    void descend(const In& input, const StateModel<Scalar>& state, Scalar learning_rate) override {
        if constexpr (can_descend_v<L, In>)
            m_layer.descend(input, own(state), learning_rate);
    }
    bool folds_parts(Eigen::Index batch) const override {
        if constexpr (can_descend_parts_v<L, In>)
            return m_layer.template folds_parts<In>(batch);
        else
            return false;
    }
    void descend_part(const In& input, const StateModel<Scalar>& state, Scalar step, int part,
                      int parts) override {
        if constexpr (can_descend_parts_v<L, In>)
            m_layer.descend_part(input, own(state), step, part, parts);
    }
    bool splits_rows() const override {
        if constexpr (can_split_rows_v<L>)
            return m_layer.splits_rows();
        else
            return false;
    }
    void forward_rows(const In& input, StateModel<Scalar>& state, Eigen::Index first,
                      Eigen::Index count) const override {
        if constexpr (can_split_rows_v<L>)
            m_layer.forward_rows(input, own(state), first, count);
    }
    void delta_rows(StateModel<Scalar>& state, Eigen::Index first,
                    Eigen::Index count) const override {
        if constexpr (can_split_rows_v<L>)
            m_layer.delta_rows(own(state), first, count);
    }
    void propagate_rows(const StateModel<Scalar>& state, Out da_below, Eigen::Index first,
                        Eigen::Index count) const override {
        if constexpr (can_split_rows_v<L>)
            m_layer.propagate_rows(own(state), da_below, first, count);
    }
    void initialize(const ErasedInit<Scalar>& init, std::size_t index, Rng& rng) override {
        initialize_layer(m_layer, init, index, rng);
    }
    void set_number(int number) override {
        if constexpr (HasSetNumber<L>::value)
            m_layer.set_number(number);
    }

private:
    static State& own(StateModel<Scalar>& state) {
        return static_cast<StateHolder<L>&>(state).held;
    }
    static const State& own(const StateModel<Scalar>& state) {
        return static_cast<const StateHolder<L>&>(state).held;
    }

    void cache_activation() {
        if constexpr (has_activation_v<L>)
            m_activation.emplace(m_layer.activation());
    }

    L m_layer;
    std::optional<AnyActivation> m_activation;  // σ of the layer, in run-time form
};

}  // namespace detail

/// The buffers of one layer of a DynamicNetwork: the layer type's own state, whatever the type,
/// with views of the buffers that the notes name. Views a layer type does not have are empty
/// (a Dropout layer has no z, δ, ∂C/∂W or ∂C/∂b).
template <class Scalar>
class AnyLayerState {
public:
    /// outputs × batch, like a, ∂C/∂a, z and δ.
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    /// A view of one of the layer's buffers.
    using Activations = Eigen::Map<Matrix>;
    /// outputs × 1, like b.
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

    Eigen::Map<Matrix> a{nullptr, 0, 0};      ///< aˡ, the layer's output.
    Eigen::Map<Matrix> da{nullptr, 0, 0};     ///< ∂C/∂aˡ per sample.
    Eigen::Map<Matrix> z{nullptr, 0, 0};      ///< zˡ, for a layer with an activation.
    Eigen::Map<Matrix> delta{nullptr, 0, 0};  ///< δˡ = ∂C/∂zˡ, for a layer with an activation.
    Eigen::Map<Matrix> dW{nullptr, 0, 0};     ///< ∂C/∂Wˡ, for a layer with W and b.
    Eigen::Map<Vector> db{nullptr, 0};        ///< ∂C/∂bˡ, for a layer with W and b.

    /// Empty: a network's pass makes and sizes it.
    AnyLayerState() = default;
    /// A copy of the layer type's state; gradient views point nowhere until the owning
    /// workspace binds them (bind_gradients).
    AnyLayerState(const AnyLayerState& other)
        : m_state(other.m_state ? other.m_state->clone() : nullptr) {
        expose();
    }
    /// The state moves; the views follow it.
    AnyLayerState(AnyLayerState&& other) noexcept : m_state(std::move(other.m_state)) {
        expose();
        other.clear_views();
    }
    /// As the copy.
    AnyLayerState& operator=(const AnyLayerState& other) {
        if (this != &other) {
            m_state = other.m_state ? other.m_state->clone() : nullptr;
            expose();
        }
        return *this;
    }
    /// As the move.
    AnyLayerState& operator=(AnyLayerState&& other) noexcept {
        if (this != &other) {
            m_state = std::move(other.m_state);
            expose();
            other.clear_views();
        }
        return *this;
    }

    /// The layer type's own state, e.g.
    /// `ws.layer(1).as<nabla::DropoutState<float, Eigen::Dynamic, Eigen::Dynamic>>().mask`;
    /// throws ConfigError when the layer's state is not of that type.
    template <class State>
    State& as() {
        return const_cast<State&>(std::as_const(*this).template as<State>());
    }
    /// The layer type's own state, read-only.
    template <class State>
    const State& as() const {
        if (m_state) {
            if (const auto* found = find<State>(*m_state))
                return *found;
        }
        throw ConfigError("AnyLayerState: the layer's state is not of the type asked for");
    }

    /// Points the gradient views at `gradients` again (the workspace's array moved).
    void bind_gradients(Scalar* gradients) {
        if (!m_state)
            return;
        m_state->bind_gradients(gradients);
        expose();
    }

    /// The type-erased state behind the views, as AnyLayer's passes reach it; null before the
    /// first pass.
    detail::StateModel<Scalar>* erased() { return m_state.get(); }
    /// The type-erased state, read-only.
    const detail::StateModel<Scalar>* erased() const { return m_state.get(); }
    /// Holds `state` (a layer type's fresh state) from now on.
    void hold(std::unique_ptr<detail::StateModel<Scalar>> state) {
        m_state = std::move(state);
        expose();
    }
    /// Points the views at the held state's buffers again, after a pass resized them.
    void expose() {
        clear_views();
        if (m_state)
            m_state->expose(*this);
    }

private:
    template <class State>
    static const State* find(const detail::StateModel<Scalar>& model);

    void clear_views() {
        new (&a) Eigen::Map<Matrix>(nullptr, 0, 0);
        new (&da) Eigen::Map<Matrix>(nullptr, 0, 0);
        new (&z) Eigen::Map<Matrix>(nullptr, 0, 0);
        new (&delta) Eigen::Map<Matrix>(nullptr, 0, 0);
        new (&dW) Eigen::Map<Matrix>(nullptr, 0, 0);
        new (&db) Eigen::Map<Vector>(nullptr, 0);
    }

    std::unique_ptr<detail::StateModel<Scalar>> m_state;
};

template <class L>
void detail::StateHolder<L>::expose(AnyLayerState<Scalar>& into) {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    const auto view = [](auto& m) { return Eigen::Map<Matrix>(m.data(), m.rows(), m.cols()); };
    new (&into.a) Eigen::Map<Matrix>(view(held.a));
    new (&into.da) Eigen::Map<Matrix>(view(held.da));
    if constexpr (HasErrorBuffers<State>::value) {
        new (&into.z) Eigen::Map<Matrix>(view(held.z));
        new (&into.delta) Eigen::Map<Matrix>(view(held.delta));
    }
    if constexpr (HasGradientViews<State>::value) {
        new (&into.dW) Eigen::Map<Matrix>(view(held.dW));
        new (&into.db) Eigen::Map<Vector>(held.db.data(), held.db.rows());
    }
}

template <class Scalar>
template <class State>
const State* AnyLayerState<Scalar>::find(const detail::StateModel<Scalar>& model) {
    return model.state_type() == typeid(State) ? static_cast<const State*>(model.state()) : nullptr;
}

/// Any layer type, chosen at run time: what a DynamicNetwork holds. It models the layer concept
/// itself, forwarding each call to the layer it holds once per layer per batch. Copies are deep.
///
///     std::vector<nabla::AnyLayer<float>> layers = {
///         nabla::Dense<float, Eigen::Dynamic, Eigen::Dynamic, nabla::AnyActivation>(784, 256,
///         nabla::ReLU{}), nabla::Dropout<float>(256, 0.2), nabla::Dense<float, Eigen::Dynamic,
///         Eigen::Dynamic, nabla::AnyActivation>(256, 10, nabla::Softmax{})};
template <class Scalar_>
class AnyLayer {
public:
    using Scalar = Scalar_;                                         ///< float or double.
    static constexpr int InputsAtCompileTime = Eigen::Dynamic;      ///< Known at run time only.
    static constexpr int OutputsAtCompileTime = Eigen::Dynamic;     ///< Known at run time only.
    static constexpr int ParametersAtCompileTime = Eigen::Dynamic;  ///< Known at run time only.
    /// The buffers of any layer, for a batch of any size.
    template <int Batch>
    using State = AnyLayerState<Scalar>;
    /// The type weights() views, for a layer with W and b.
    using Weights = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    /// The type bias() views, for a layer with W and b.
    using Bias = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

    /// Holds `layer`, any type that models the layer concept with this Scalar.
    template <class L,
              std::enable_if_t<
                  !std::is_same_v<std::decay_t<L>, AnyLayer> && detail::IsLayer<L>::value, int> = 0>
    AnyLayer(L layer) : m_model(std::make_unique<detail::LayerHolder<L>>(std::move(layer))) {
        static_assert(std::is_same_v<typename L::Scalar, Scalar>,
                      "NABLA_LAYERS_MUST_SHARE_ONE_SCALAR_TYPE");
        if constexpr (has_activation_v<L>) {
            using A = typename L::Activation;
            static_assert(std::is_same_v<A, AnyActivation> || detail::HasName<A>::value,
                          "NABLA_AN_ACTIVATION_NEEDS_A_NAME: a layer chosen at run time names its "
                          "activation; give the activation type static constexpr const char* "
                          "name()");
        }
    }
    /// A deep copy.
    AnyLayer(const AnyLayer& other) : m_model(other.m_model->clone()) {}
    /// Moves the layer.
    AnyLayer(AnyLayer&&) noexcept = default;
    /// A deep copy, into the storage this one has when the layer types match: keeping the
    /// best weights during fit() then allocates nothing per epoch.
    AnyLayer& operator=(const AnyLayer& other) {
        if (this == &other)
            return *this;
        if (m_model && m_model->type() == other.m_model->type())
            m_model->assign(*other.m_model);
        else
            m_model = other.m_model->clone();
        return *this;
    }
    /// Moves the layer.
    AnyLayer& operator=(AnyLayer&&) noexcept = default;

    /// The held layer's type name ("Dense").
    const char* type_name() const { return m_model->type_name(); }
    /// m, the inputs.
    Eigen::Index inputs() const { return m_model->inputs(); }
    /// n, the outputs.
    Eigen::Index outputs() const { return m_model->outputs(); }
    /// The scalars of all its parameter blocks.
    Eigen::Index parameter_count() const { return m_model->parameter_count(); }
    /// σ of its output in run-time form, or null for a layer without one.
    const AnyActivation* activation_if_any() const { return m_model->activation(); }
    /// True when its state keeps z and δ, which a fused loss (CrossEntropy) writes.
    bool has_error_buffers() const { return m_model->has_error_buffers(); }
    /// Its own attributes, as a model file keeps them.
    void write_attributes(Attributes& out) const {
        const Attributes own = m_model->attributes();
        for (const Attributes::Entry& entry : own.entries())
            out.set(entry.first, entry.second);
    }

    /// σ of its output; throws ConfigError for a layer without one.
    const AnyActivation& activation() const {
        if (const AnyActivation* held = activation_if_any())
            return *held;
        throw ConfigError(name() + ": the layer has no activation");
    }

    /// The parameter block named "W" (Dense's weights, outputs × inputs); throws ConfigError
    /// for a layer without one.
    Eigen::Map<const Weights> weights() const {
        const Eigen::Map<Weights> block = find_block("W");
        return {block.data(), block.rows(), block.cols()};
    }
    /// The parameter block named "b" (Dense's bias, outputs × 1); throws ConfigError for a
    /// layer without one.
    Eigen::Map<const Bias> bias() const {
        const Eigen::Map<Weights> block = find_block("b");
        return {block.data(), block.size()};
    }
    /// Sets W; throws ShapeError naming the layer and both shapes unless w has W's shape.
    template <class Derived>
    void set_weights(const Eigen::MatrixBase<Derived>& w) {
        set_block("W", w, "weights");
    }
    /// Sets b; throws ShapeError naming the layer and both shapes unless b has b's shape.
    template <class Derived>
    void set_bias(const Eigen::MatrixBase<Derived>& b) {
        set_block("b", b, "bias");
    }

    /// "Dense layer 2" (or "Dense layer" when the layer is not in a network), for messages.
    std::string name() const {
        return m_number > 0 ? detail::cat(type_name(), " layer ", m_number)
                            : detail::cat(type_name(), " layer");
    }

    /// The held layer as type L (a pointer), or null when it is of another type.
    template <class L>
    L* get() {
        return m_model->type() == typeid(L) ? static_cast<L*>(m_model->layer()) : nullptr;
    }
    /// The held layer as type L, read-only, or null.
    template <class L>
    const L* get() const {
        return const_cast<AnyLayer&>(*this).template get<L>();
    }

    /// Calls f(block, name) for each parameter block, as a view of the held layer's matrix.
    template <class F>
    void for_each_parameter(F&& f) {
        const std::size_t count = m_model->blocks();
        for (std::size_t k = 0; k < count; ++k) {
            Eigen::Map<typename Model::Matrix> block = m_model->block(k);
            f(block, m_model->block_name(k));
        }
    }
    /// Calls f(block, name) for each parameter block, read-only.
    template <class F>
    void for_each_parameter(F&& f) const {
        const std::size_t count = m_model->blocks();
        for (std::size_t k = 0; k < count; ++k) {
            const Eigen::Map<typename Model::Matrix> block = m_model->block(k);
            f(block, m_model->block_name(k));
        }
    }

    /// Fills the parameters with `init`, as layer `index` of its network.
    template <class Init>
    void initialize(const Init& init, std::size_t index, Rng& rng) {
        detail::ErasedInit<Scalar> erased;
        erased.fill_f = [&init](Eigen::Ref<typename Model::Matrix> weights,
                                Eigen::Ref<Eigen::Matrix<Scalar, Eigen::Dynamic, 1>> bias,
                                const InitContext& context, Rng& generator) {
            detail::apply_initializer(init, weights, bias, context, generator);
        };
        m_model->initialize(erased, index, rng);
    }
    /// Sets the place in a network that messages name.
    void set_number(int number) {
        m_number = number;
        m_model->set_number(number);
    }

    /// Makes `state` the held type's state (anew when it held another type's) and sizes it.
    void prepare(AnyLayerState<Scalar>& state, Eigen::Index batch, Scalar* gradients) const {
        if (!state.erased() || state.erased()->layer_type() != m_model->type())
            state.hold(m_model->make_state());
        m_model->prepare(*state.erased(), batch, gradients);
        state.expose();
    }
    /// The held layer's forward pass.
    template <class Input>
    void forward(const Eigen::MatrixBase<Input>& input, AnyLayerState<Scalar>& state,
                 const Pass& pass) const {
        m_model->forward(typename Model::In(input.derived()), *state.erased(), pass);
    }
    /// The held layer's backward pass.
    template <class Input>
    void backward(const Eigen::MatrixBase<Input>& input, AnyLayerState<Scalar>& state,
                  const BackwardPass& how) const {
        m_model->backward(typename Model::In(input.derived()), *state.erased(), how);
    }
    /// The held layer's ∂C/∂a of the layer below.
    template <class Below>
    void propagate(const AnyLayerState<Scalar>& state, Below&& da_below) const {
        m_model->propagate(*state.erased(), typename Model::Out(da_below));
    }
    /// True when train_step folds the held layer's step into its parameters.
    template <class Input>
    bool folds_step(Eigen::Index batch) const {
        return m_model->folds_step(batch);
    }
    /// The held layer's bound on its folded step.
    template <class Input>
    bool step_is_finite(const Eigen::MatrixBase<Input>& input, const AnyLayerState<Scalar>& state,
                        Scalar learning_rate) const {
        return m_model->step_is_finite(typename Model::In(input.derived()), *state.erased(),
                                       learning_rate);
    }
    /// The held layer's folded step.
    template <class Input>
    void descend(const Eigen::MatrixBase<Input>& input, const AnyLayerState<Scalar>& state,
                 Scalar learning_rate) {
        m_model->descend(typename Model::In(input.derived()), *state.erased(), learning_rate);
    }
    /// True when DataParallel folds the held layer's step in parts.
    template <class Input>
    bool folds_parts(Eigen::Index batch) const {
        return m_model->folds_parts(batch);
    }
    /// Part `part` of `parts` of the held layer's folded step.
    template <class Input>
    void descend_part(const Eigen::MatrixBase<Input>& input, const AnyLayerState<Scalar>& state,
                      Scalar step, int part, int parts) {
        m_model->descend_part(typename Model::In(input.derived()), *state.erased(), step, part,
                              parts);
    }

    /// True when the held layer's neurons can be split between threads.
    bool splits_rows() const { return m_model->splits_rows(); }
    /// The held layer's forward pass for neurons [first, first + count).
    template <class Input>
    void forward_rows(const Eigen::MatrixBase<Input>& input, AnyLayerState<Scalar>& state,
                      Eigen::Index first, Eigen::Index count) const {
        m_model->forward_rows(typename Model::In(input.derived()), *state.erased(), first, count);
    }
    /// The held layer's error terms for neurons [first, first + count).
    void delta_rows(AnyLayerState<Scalar>& state, Eigen::Index first, Eigen::Index count) const {
        m_model->delta_rows(*state.erased(), first, count);
    }
    /// The held layer's rows [first, first + count) of ∂C/∂a of the layer below.
    template <class Below>
    void propagate_rows(const AnyLayerState<Scalar>& state, Below&& da_below, Eigen::Index first,
                        Eigen::Index count) const {
        m_model->propagate_rows(*state.erased(), typename Model::Out(da_below), first, count);
    }

private:
    using Model = detail::LayerModel<Scalar>;

    Eigen::Map<Weights> find_block(const char* wanted) const {
        const std::size_t count = m_model->blocks();
        for (std::size_t k = 0; k < count; ++k)
            if (std::string(m_model->block_name(k)) == wanted)
                return m_model->block(k);
        throw ConfigError(
            detail::cat(name(), ": the layer has no parameter block \"", wanted, "\""));
    }

    template <class Derived>
    void set_block(const char* wanted, const Eigen::MatrixBase<Derived>& value, const char* what) {
        Eigen::Map<Weights> block = find_block(wanted);
        if (value.rows() != block.rows() || value.cols() != block.cols()) {
            throw ShapeError(detail::cat(
                name(), ": ", what, " set with shape ", detail::shape(value.rows(), value.cols()),
                ", the layer's ", wanted, " is ", detail::shape(block.rows(), block.cols())));
        }
        block = value;
    }

    std::unique_ptr<Model> m_model;
    int m_number = 0;
};

}  // namespace nabla
