// The email templates (private to src/mail): each is a subject, a plain-text
// body and an HTML body with {{name}} placeholders. fill() substitutes them:
// in the HTML body every value is HTML-escaped, except the few fragments the
// code builds itself from escaped pieces (`raw`, e.g. the items table).
// An unknown placeholder is a bug in a template, reported as std::logic_error.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace bazaar::mail::templates {

struct Template {
    std::string_view subject;
    std::string_view text;
    std::string_view html;
};

// Null for an unknown name.
const Template* find(std::string_view name);

using Vars = std::map<std::string, std::string, std::less<>>;

// `escape_html`: escape values from `vars` (the HTML body); `raw` values are
// inserted as they are and win over `vars`.
std::string fill(std::string_view tmpl, const Vars& vars, bool escape_html, const Vars& raw = {});

}  // namespace bazaar::mail::templates
