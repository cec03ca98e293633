#!/usr/bin/env python3
"""A local HTTPS stand-in for the two Stripe API calls Book Bazar makes.

The machines have no internet, so the stripe provider
(shared/src/payments/stripe_provider.cpp) is tested against this server. It
checks what Stripe's API checks and answers with Stripe's shapes:

  POST /v1/payment_intents  amount, currency (lower-case ISO 4217),
                            metadata[orderId], automatic_payment_methods[enabled]=true
                            or payment_method_types[]=card
  POST /v1/refunds          payment_intent, amount

on every request: Authorization: Bearer sk_test_..., an Idempotency-Key, a
Stripe-Version, Content-Type application/x-www-form-urlencoded. A request that
misses any of these gets Stripe's 400/401 error object. An Idempotency-Key
seen before returns the first response (as Stripe does).

Special keys steer the failure tests: sk_test_status_500 answers 500,
sk_test_status_402 answers a card_declined 402, sk_test_slow sleeps 5 s.

Usage: stripe_standin.py CERT KEY LOGFILE; prints the bound port on stdout
(first line), then serves until killed. Each request is appended to LOGFILE
as one JSON line {path, headers, form} so tests can check it.
"""
import json
import re
import secrets
import ssl
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CERT, KEY, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
SEEN = {}


def error(kind, code, message, param=None):
    e = {"type": kind, "code": code, "message": message}
    if param:
        e["param"] = param
    return {"error": e}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", "req_" + secrets.token_hex(7))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        form = urllib.parse.parse_qs(raw, keep_blank_values=True, strict_parsing=False)
        flat = {k: v[0] if len(v) == 1 else v for k, v in form.items()}
        with open(LOG, "a") as f:
            f.write(json.dumps({"path": self.path, "raw": raw,
                                "headers": {k.lower(): v for k, v in self.headers.items()},
                                "form": flat}) + "\n")
        auth = self.headers.get("Authorization", "")
        m = re.fullmatch(r"Bearer (sk_(test|live)_[A-Za-z0-9_]+)", auth)
        if not m:
            return self.reply(401, error("invalid_request_error", None,
                                         "Invalid API Key provided"))
        key = m.group(1)
        if "invalid" in key:
            return self.reply(401, error("invalid_request_error", None,
                                         "Invalid API Key provided: " + key[:8] + "***"))
        if not self.headers.get("Idempotency-Key"):
            return self.reply(400, error("invalid_request_error", "parameter_missing",
                                         "this stand-in requires Idempotency-Key"))
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", self.headers.get("Stripe-Version", "")):
            return self.reply(400, error("invalid_request_error", "api_version_invalid",
                                         "Invalid Stripe API version"))
        if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return self.reply(400, error("invalid_request_error", None,
                                         "Invalid request: expected a form-encoded body"))
        if key == "sk_test_status_500":
            return self.reply(500, error("api_error", None, "An unknown error occurred"))
        if key == "sk_test_slow":
            time.sleep(5)
        cache_key = (key, self.headers["Idempotency-Key"])
        if cache_key in SEEN:
            return self.reply(*SEEN[cache_key])
        if self.path == "/v1/payment_intents":
            result = self.intent(flat, key)
        elif self.path == "/v1/refunds":
            result = self.refund(flat)
        else:
            result = (404, error("invalid_request_error", None,
                                 "Unrecognized request URL (POST: %s)" % self.path))
        if result[0] < 500:
            SEEN[cache_key] = result
        return self.reply(*result)

    def intent(self, f, key):
        for p in ("amount", "currency", "metadata[orderId]"):
            if p not in f:
                return 400, error("invalid_request_error", "parameter_missing",
                                  "Missing required param: %s." % p, p)
        if not re.fullmatch(r"[1-9]\d{0,10}", f["amount"]):
            return 400, error("invalid_request_error", "parameter_invalid_integer",
                              "Invalid integer: %s" % f["amount"], "amount")
        if not re.fullmatch(r"[a-z]{3}", f["currency"]):
            return 400, error("invalid_request_error", "parameter_invalid_string",
                              "Invalid currency: %s" % f["currency"], "currency")
        if f.get("automatic_payment_methods[enabled]") != "true" and \
                f.get("payment_method_types[]") != "card":
            return 400, error("invalid_request_error", "parameter_missing",
                              "Missing automatic_payment_methods or payment_method_types")
        if key == "sk_test_status_402":
            return 402, error("card_error", "card_declined", "Your card was declined.")
        pid = "pi_" + secrets.token_hex(12)
        return 200, {"id": pid, "object": "payment_intent", "amount": int(f["amount"]),
                     "currency": f["currency"], "status": "requires_payment_method",
                     "client_secret": pid + "_secret_" + secrets.token_hex(12),
                     "metadata": {"orderId": f["metadata[orderId]"]}}

    def refund(self, f):
        if not f.get("payment_intent", "").startswith("pi_"):
            return 400, error("invalid_request_error", "parameter_missing",
                              "Missing required param: payment_intent.", "payment_intent")
        if not re.fullmatch(r"[1-9]\d{0,10}", f.get("amount", "")):
            return 400, error("invalid_request_error", "parameter_invalid_integer",
                              "Invalid integer", "amount")
        return 200, {"id": "re_" + secrets.token_hex(12), "object": "refund",
                     "amount": int(f["amount"]), "payment_intent": f["payment_intent"],
                     "status": "succeeded"}


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
sys.stdout.write("%d\n" % server.server_address[1])  # one write
sys.stdout.flush()
server.serve_forever()
