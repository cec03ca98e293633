-- POST /api/v1/auth/login as a demo user (argon2id verify on every call).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"user1@example.com","password":"' .. (os.getenv("SEED_USER_PASSWORD") or "user-password-1") .. '"}'
