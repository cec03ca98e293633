-- The account rules of shared/include/bazaar/users/user_service.hpp, as the
-- database's last line of defence (issue 7). The numbers match the C++
-- constants (kEmailRule, kUsernameRule); only the rules change here.
--
-- email: the app lower-cases with the C.UTF-8 locale's towlower; the check
-- compares with lower() under the same collation, named explicitly so that
-- the database's default locale (a Turkish one lower-cases 'I' to 'ı') can
-- never make the two disagree.
ALTER TABLE users DROP CONSTRAINT users_email_check;
ALTER TABLE users ADD CONSTRAINT users_email_check
    CHECK (email = lower(email COLLATE "C.utf8") AND length(email) BETWEEN 3 AND 254
           AND email !~ '[[:cntrl:]]');

-- username: 1..64 characters, not blank, no control characters (the app also
-- refuses bidi and zero-width format characters, which a POSIX class cannot name).
ALTER TABLE users DROP CONSTRAINT users_username_check;
ALTER TABLE users ADD CONSTRAINT users_username_check
    CHECK (length(username) BETWEEN 1 AND 64 AND username ~ '[^[:space:]]'
           AND username !~ '[[:cntrl:]]');

-- Only argon2id hashes are ever stored, never a password.
ALTER TABLE users ADD CONSTRAINT users_password_hash_check
    CHECK (password_hash LIKE '$argon2id$%');
