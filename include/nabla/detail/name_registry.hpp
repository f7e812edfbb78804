#pragma once

// What the activation and layer registries share: factories by name, one type per name, safe to
// use from several threads.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <typeindex>
#include <vector>

namespace nabla::detail {

/// Factories of type `Factory` by name, each for one C++ type.
template <class Factory>
class NameRegistry {
public:
    /// Adds `factory`, which builds `type`, under `name`. The same type again does nothing;
    /// another type under a name already taken throws ConfigError, its message starting with
    /// `caller`.
    void add(const std::string& name, std::type_index type, Factory factory, const char* caller) {
        std::lock_guard<std::mutex> lock(m_mutex);
        const auto found = m_entries.find(name);
        if (found != m_entries.end()) {
            if (found->second.type == type) return;
            throw ConfigError(cat(caller, ": the name \"", name, "\" is taken by another type"));
        }
        m_entries.emplace(name, Entry{type, factory});
    }

    /// The factory registered as `name`, or null.
    Factory find(std::string_view name) const {
        std::lock_guard<std::mutex> lock(m_mutex);
        const auto found = m_entries.find(name);
        return found == m_entries.end() ? nullptr : found->second.factory;
    }

    /// Every registered name, in alphabetical order.
    std::vector<std::string> names() const {
        std::lock_guard<std::mutex> lock(m_mutex);
        std::vector<std::string> result;
        for (const auto& entry : m_entries) result.push_back(entry.first);
        return result;
    }

    /// "a, b, c": the names, for messages.
    std::string names_text() const {
        std::string text;
        for (const std::string& name : names()) text += (text.empty() ? "" : ", ") + name;
        return text;
    }

private:
    struct Entry {
        std::type_index type;
        Factory factory;
    };

    mutable std::mutex m_mutex;
    std::map<std::string, Entry, std::less<>> m_entries;
};

}  // namespace nabla::detail
