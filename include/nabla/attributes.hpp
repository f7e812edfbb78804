#pragma once

// Attributes: the named numbers that describe an activation or a layer beyond its type, such as
// leaky ReLU's slope or Dropout's rate. A model file keeps them beside the parameters, and a type
// that has any gives them (write_attributes) and is built back from them (from_attributes).

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nabla {

/// An ordered list of named numbers: `{"slope", 0.2}`. Names are what a model file stores, so
/// keep them short, lower-case ASCII.
class Attributes {
public:
    /// One attribute.
    using Entry = std::pair<std::string, double>;

    /// No attributes.
    Attributes() = default;
    /// The given attributes, in order: `Attributes{{"slope", 0.2}}`.
    Attributes(std::initializer_list<Entry> entries) {
        for (const Entry& entry : entries) set(entry.first, entry.second);
    }

    /// Sets `name` to `value`, adding it at the end when it is new.
    void set(std::string_view name, double value) {
        for (Entry& entry : m_entries) {
            if (entry.first == name) {
                entry.second = value;
                return;
            }
        }
        m_entries.emplace_back(std::string(name), value);
    }

    /// True when `name` is set.
    bool has(std::string_view name) const { return find(name) != nullptr; }

    /// The value of `name`; throws ConfigError naming it and `owner` when it is not set.
    double get(std::string_view name, std::string_view owner) const {
        if (const Entry* entry = find(name)) return entry->second;
        throw ConfigError(detail::cat(owner, ": the attribute \"", name, "\" is missing"));
    }

    /// The value of `name`, or `fallback` when it is not set.
    double get_or(std::string_view name, double fallback) const {
        const Entry* entry = find(name);
        return entry ? entry->second : fallback;
    }

    /// Every attribute, in the order they were set.
    const std::vector<Entry>& entries() const { return m_entries; }
    /// The number of attributes.
    std::size_t size() const { return m_entries.size(); }
    /// True when there is none.
    bool empty() const { return m_entries.empty(); }

    /// The same names with the same values, in any order.
    friend bool operator==(const Attributes& x, const Attributes& y) {
        if (x.size() != y.size()) return false;
        return std::all_of(x.m_entries.begin(), x.m_entries.end(), [&](const Entry& entry) {
            const Entry* other = y.find(entry.first);
            return other && other->second == entry.second;
        });
    }
    /// Not operator==.
    friend bool operator!=(const Attributes& x, const Attributes& y) { return !(x == y); }

private:
    const Entry* find(std::string_view name) const {
        for (const Entry& entry : m_entries)
            if (entry.first == name) return &entry;
        return nullptr;
    }

    std::vector<Entry> m_entries;
};

}  // namespace nabla
