// Payments (API.md §5): POST /api/v1/payments/init (Idempotency-Key),
// POST /api/v1/payments/webhook (Stripe-signed, no user: the signature is the
// authentication), POST /api/v1/payments/test/complete (PAYMENT_PROVIDER=test
// only; 404 otherwise). Thin adapters over payments/payment_service.hpp.
//
// The webhook reads Request::body as the raw bytes: the signature is checked
// over exactly what arrived, before any JSON parsing or content-type rule
// (Request::json() is never called on that route).
#pragma once

#include "../router.hpp"

namespace bazaar::http {

void register_payment_routes(Router& router);

}  // namespace bazaar::http
