// Subcommands contributed by other modules (queue, pipeline): each file in
// cli/ may register a command here with a static Registration object.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bazaar/config.hpp"

namespace bazaar::cli {

struct Command {
    std::string name;
    std::string usage;
    std::function<int(const Config&, const std::vector<std::string>&)> run;
};

std::vector<Command>& extra_commands();

struct Registration {
    explicit Registration(Command c) { extra_commands().push_back(std::move(c)); }
};

}  // namespace bazaar::cli
