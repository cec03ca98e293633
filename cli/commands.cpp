#include "commands.hpp"

namespace bazaar::cli {

std::vector<Command>& extra_commands() {
    static std::vector<Command> commands;
    return commands;
}

}  // namespace bazaar::cli
