// SMTP delivery with libcurl: one message, one recipient, one session.
//
// The URL decides the transport:
//   smtp://127.0.0.1:8025           plain, only to a loopback host (the sink)
//   smtp://user:pass@host:587       any other host: STARTTLS is required
//   smtps://user:pass@host:465      TLS from the first byte
// Credentials ride in the URL (libcurl's AUTH LOGIN/PLAIN); they never appear
// in an error message. Connect and total timeouts bound every session, so a
// frozen server fails the attempt (and the queue retries it) instead of
// holding a job thread.
//
// Must never: let an exception cross the curl read callback, or send a
// recipient/sender that could inject an SMTP command (mime::is_safe_address).
#pragma once

#include <stdexcept>
#include <string>

namespace bazaar::mail {

struct SmtpSettings {
    std::string url;  // smtp:// or smtps://
    int connect_timeout_ms = 10000;
    int timeout_ms = 30000;  // whole session
};

class SmtpError : public std::runtime_error {
  public:
    SmtpError(const std::string& what, bool permanent)
        : std::runtime_error(what), permanent_(permanent) {}
    // The server refused this message or recipient for good (5xx on RCPT or
    // DATA); anything else (connect, timeout, 4xx, auth) is worth a retry.
    bool permanent() const { return permanent_; }

  private:
    bool permanent_;
};

// Sends `message` (CRLF line ends, as mail::to_mime makes it) with MAIL FROM
// `from` and RCPT TO `to`. Throws SmtpError; std::invalid_argument for an
// unsafe address or a URL that is not smtp:// or smtps://.
void smtp_send(const SmtpSettings& settings, const std::string& from, const std::string& to,
               const std::string& message);

// True for 127.0.0.0/8, ::1 and localhost: the hosts plain SMTP may go to.
bool smtp_host_is_loopback(const std::string& url);

}  // namespace bazaar::mail
