#include "routes.hpp"

#include "handlers/admin_orders.hpp"
#include "handlers/admin_pipelines.hpp"
#include "handlers/admin_queues.hpp"
#include "handlers/auth.hpp"
#include "handlers/books.hpp"
#include "handlers/cart.hpp"
#include "handlers/favorites.hpp"
#include "handlers/images.hpp"
#include "handlers/operations.hpp"
#include "handlers/orders.hpp"
#include "handlers/payments.hpp"
#include "handlers/tags.hpp"

namespace bazaar::http {

void register_all_routes(Router& router) {
    register_operations_routes(router);
    register_admin_queue_routes(router);
    register_admin_pipeline_routes(router);
    register_auth_routes(router);
    register_books_routes(router);
    register_tags_routes(router);
    register_favorites_routes(router);
    register_cart_routes(router);
    register_payment_routes(router);
    register_admin_order_routes(router);
    register_orders_routes(router);
    register_images_routes(router);
}

}  // namespace bazaar::http
