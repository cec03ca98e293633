// Loads the Lua scripts from the source tree once for all queue tests.
#include <gtest/gtest.h>

#include "bazaar/log.hpp"
#include "queue_test_support.hpp"

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    bazaar::log::init("queue_tests", bazaar::log::Level::kError);
    bazaar::load_scripts(std::string(BAZAAR_SOURCE_DIR) + "/lua");
    return RUN_ALL_TESTS();
}
