// Order emails end to end against the test stack: rows inserted here (the
// order flow is not needed), the producer mail::enqueue_order_mail() called in
// a real Postgres transaction, the stack's worker relaying the outbox row,
// rendering from Postgres and sending over SMTP to the sink, whose stored
// file is read back and decoded here.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend_env.hpp"
#include "bazaar/backends.hpp"
#include "bazaar/mail/mail_jobs.hpp"
#include "bazaar/time.hpp"

using namespace bazaar;

namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The stored messages carrying `X-Bazaar-Job: <job_id>`.
std::vector<std::string> mails_of_job(const std::string& job_id) {
    std::vector<std::string> out;
    std::filesystem::path dir = stacktest::stack_config().var_dir + "/mail";
    if (!std::filesystem::exists(dir)) return out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() != ".eml" || e.path().filename().string()[0] == '.') continue;
        std::string m = read_file(e.path());
        if (m.find("\r\nX-Bazaar-Job: " + job_id + "\r\n") != std::string::npos) out.push_back(m);
    }
    return out;
}

std::string wait_for_mail(const std::string& job_id) {
    for (int i = 0; i < 300; ++i) {
        auto found = mails_of_job(job_id);
        if (!found.empty()) return found.front();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "";
}

std::string unqp(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '=' && i + 2 < s.size() && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// The decoded body of the part of type `type` ("text/plain", "text/html").
std::string part(const std::string& mail, const std::string& type) {
    std::size_t at = mail.find("Content-Type: " + type + ";");
    if (at == std::string::npos) return "";
    std::size_t body = mail.find("\r\n\r\n", at) + 4;
    std::size_t end = mail.find("\r\n--=_bazaar_", body);
    return unqp(mail.substr(body, end - body));
}

struct Fixture {
    Config config = stacktest::stack_config();
    Backends b{config};
    std::string user = uuid_v4();
    std::string email = "order-mail-" + user + "@example.com";
    std::int64_t book1 = 0, book2 = 0;

    Fixture() {
        b.pg.transact([&](pqxx::work& w) {
            w.exec_params(
                "INSERT INTO users (id, email, username, password_hash) VALUES ($1, $2, $3, "
                "'$argon2id$v=19$m=65536,t=2,p=1$bm8tbG9naW4$bm8tbG9naW4')",
                user, email, "Zoë <Reader>");
            book1 = w.exec1(
                         "INSERT INTO books (title, author, price_cents, stock) "
                         "VALUES ('Mail 1', 'A', 1299, 5) RETURNING id")[0]
                        .as<std::int64_t>();
            book2 = w.exec1(
                         "INSERT INTO books (title, author, price_cents, stock) "
                         "VALUES ('Mail 2', 'A', 350, 5) RETURNING id")[0]
                        .as<std::int64_t>();
        });
    }

    // An order that reached `status` the way the machine allows (the
    // database trigger refuses any other path): inserted PAYMENT_PENDING,
    // then moved step by step.
    std::string order(const std::string& status) {
        static const std::map<std::string, std::vector<std::string>> kPaths = {
            {"PAYMENT_PENDING", {}},
            {"PAID", {"PAID"}},
            {"SHIPPED", {"PAID", "FULFILLING", "SHIPPED"}},
            {"EXPIRED", {"EXPIRED"}},
            {"REFUNDED", {"EXPIRED", "REFUND_PENDING", "REFUNDED"}},
        };
        std::string id = uuid_v4();
        b.pg.transact([&](pqxx::work& w) {
            w.exec_params(
                "INSERT INTO orders (id, user_id, status, total_cents, currency) "
                "VALUES ($1, $2, 'PAYMENT_PENDING', 2948, 'EUR')",
                id, user);
            for (const auto& step : kPaths.at(status))
                w.exec_params("UPDATE orders SET status = $2 WHERE id = $1", id, step);
            w.exec_params(
                "INSERT INTO order_items (order_id, book_id, title, unit_price_cents, quantity)"
                " VALUES ($1, $2, 'Dune <Deluxe> & Co — Édition', 1299, 2),"
                " ($1, $3, 'Plain Title', 350, 1)",
                id, book1, book2);
        });
        return id;
    }
};

}  // namespace

TEST(OrderMail, ConfirmationIsRenderedFromTheRowsAndSentOnce) {
    Fixture f;
    std::string id = f.order("PAID");
    // Enqueued twice, as a retried webhook would: one job, one email.
    for (int i = 0; i < 2; ++i) {
        f.b.pg.transact([&](pqxx::work& w) {
            mail::enqueue_order_mail(w, mail::OrderMail::kConfirmation, id);
        });
    }
    std::string job = "mail:order_confirmation:" + id;
    std::string m = wait_for_mail(job);
    ASSERT_FALSE(m.empty()) << "no email for " << job;
    std::string head = m.substr(0, m.find("\r\n\r\n"));
    EXPECT_NE(head.find("\r\nTo: =?UTF-8?B?"), std::string::npos) << head;
    EXPECT_NE(head.find("<" + f.email + ">"), std::string::npos) << head;
    std::string ref = id.substr(0, 8);
    for (auto& c : ref) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_NE(head.find("\r\nSubject: Your Book Bazar order " + ref + " is confirmed\r\n"),
              std::string::npos)
        << head;
    EXPECT_NE(head.find("\r\nMIME-Version: 1.0\r\n"), std::string::npos);
    EXPECT_NE(head.find("Content-Type: multipart/alternative;"), std::string::npos);

    std::string text = part(m, "text/plain");
    EXPECT_NE(text.find("Hello Zoë <Reader>,"), std::string::npos) << text;
    EXPECT_NE(text.find("2 x Dune <Deluxe> & Co — Édition  25.98 EUR"), std::string::npos) << text;
    EXPECT_NE(text.find("1 x Plain Title  3.50 EUR"), std::string::npos) << text;
    EXPECT_NE(text.find("Total: 29.48 EUR"), std::string::npos) << text;
    EXPECT_NE(text.find("/orders/" + id), std::string::npos) << text;

    std::string html = part(m, "text/html");
    EXPECT_NE(html.find("Dune &lt;Deluxe&gt; &amp; Co — Édition"), std::string::npos) << html;
    EXPECT_NE(html.find("Hello Zoë &lt;Reader&gt;,"), std::string::npos) << html;
    EXPECT_EQ(html.find("<Deluxe>"), std::string::npos) << html;
    EXPECT_EQ(html.find("<Reader>"), std::string::npos) << html;

    // The second enqueue found the same jobId: no second message arrives
    // while the later, committed shipped email goes through the same queue.
    f.b.pg.transact(
        [&](pqxx::work& w) { mail::enqueue_order_mail(w, mail::OrderMail::kShipped, id); });
    ASSERT_FALSE(wait_for_mail("mail:order_shipped:" + id).empty());
    EXPECT_EQ(mails_of_job(job).size(), 1u);
}

TEST(OrderMail, EveryOrderTemplateArrivesAndARolledBackTransactionEnqueuesNothing) {
    Fixture f;
    std::string rolled_back = f.order("PAYMENT_PENDING");
    EXPECT_THROW(f.b.pg.transact([&](pqxx::work& w) {
        mail::enqueue_order_mail(w, mail::OrderMail::kExpired, rolled_back);
        throw std::runtime_error("the state change failed");
    }),
                 std::runtime_error);
    auto outbox_rows = f.b.pg.transact([&](pqxx::work& w) {
        return w
            .exec_params1("SELECT count(*) FROM outbox WHERE payload::text LIKE $1",
                          "%" + rolled_back + "%")[0]
            .as<int>();
    });
    EXPECT_EQ(outbox_rows, 0);

    struct Case {
        mail::OrderMail kind;
        const char* status;
        const char* subject_end;
        const char* text;
    };
    const Case cases[] = {
        {mail::OrderMail::kShipped, "SHIPPED", "has shipped", "has shipped"},
        {mail::OrderMail::kExpired, "EXPIRED", "has expired", "Nothing was charged"},
        {mail::OrderMail::kRefunded, "REFUNDED", "was refunded", "we refunded 29.48 EUR"},
    };
    for (const auto& c : cases) {
        std::string id = f.order(c.status);
        f.b.pg.transact([&](pqxx::work& w) { mail::enqueue_order_mail(w, c.kind, id); });
        std::string job = std::string("mail:") + mail::order_mail_template(c.kind) + ":" + id;
        std::string m = wait_for_mail(job);
        ASSERT_FALSE(m.empty()) << job;
        EXPECT_NE(m.find(c.subject_end), std::string::npos) << m.substr(0, 600);
        EXPECT_NE(part(m, "text/plain").find(c.text), std::string::npos) << m;
    }
    EXPECT_TRUE(mails_of_job("mail:order_expired:" + rolled_back).empty());
}

TEST(OrderMail, ProducerRefusesAnIdThatIsNoUuid) {
    Fixture f;
    EXPECT_THROW(f.b.pg.transact([&](pqxx::work& w) {
        mail::enqueue_order_mail(w, mail::OrderMail::kShipped, "1; DROP TABLE orders");
    }),
                 std::invalid_argument);
}
