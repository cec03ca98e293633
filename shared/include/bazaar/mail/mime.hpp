// The MIME building blocks of outgoing mail (RFC 5322, 2045-2047), kept apart
// from the templates so each rule is tested on its own:
//   - header text: anything a user typed (a username in a Subject or a
//     display name) loses every control character (CR/LF would start a new
//     header) and becomes RFC 2047 encoded-words (UTF-8, base64 via OpenSSL's
//     EVP_EncodeBlock) when it is not plain printable ASCII; each word stays
//     within 75 characters and splits only between UTF-8 characters.
//   - addresses: accepted only when they cannot break out of a header or an
//     SMTP command (no controls, spaces, <>, commas, quotes); anything else is
//     refused, not repaired, because a "repaired" address sends mail elsewhere.
//   - bodies: quoted-printable (readable in the .eml files of var/mail/,
//     lines of at most 76 characters, CRLF line ends) or base64 lines.
//
// Must never: emit a bare CR or LF inside a header, or a body line longer
// than 998 octets (RFC 5322's hard limit).
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace bazaar::mail::mime {

// Replaces CR, LF and other ASCII controls (tab becomes a space too) by
// spaces, and drops bytes that are not valid UTF-8. The result is one line.
std::string one_line(std::string_view s);

// A header's unstructured text (Subject): one_line(), then encoded-words when
// needed, folded with CRLF SP between words.
std::string header_text(std::string_view utf8);

// True when `addr` is a plain addr-spec (local@domain) safe in a header and in
// MAIL FROM / RCPT TO: printable ASCII without space, <>, (), comma, ;, :,
// quotes or backslash; one @ with non-empty sides; at most 254 bytes.
bool is_safe_address(std::string_view addr);

struct Mailbox {
    std::string name;     // display name, UTF-8, may be empty
    std::string address;  // addr-spec
};

// "Book Bazar <no-reply@example.com>" or "no-reply@example.com" (MAIL_FROM).
// Throws std::invalid_argument when the address part is not safe.
Mailbox parse_mailbox(std::string_view s);

// The mailbox as a header value: `"Name" <addr>` (quoted when ASCII,
// encoded-words otherwise) or `addr`. Throws std::invalid_argument for an
// unsafe address.
std::string format_mailbox(const Mailbox& m);

// Quoted-printable body (RFC 2045 §6.7). Input line ends (LF or CRLF) become
// CRLF hard breaks; longer lines get soft breaks ("=" CRLF).
std::string quoted_printable(std::string_view text);

// Base64 in lines of 76 characters, each ending in CRLF.
std::string base64_lines(std::string_view data);

// &, <, >, " and ' as entities: user strings inside the HTML part.
std::string html_escape(std::string_view s);

// "Mon, 30 Nov 2026 20:00:00 +0000".
std::string rfc5322_date(std::time_t t);

}  // namespace bazaar::mail::mime
