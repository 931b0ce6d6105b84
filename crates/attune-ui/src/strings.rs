//! Interface wording in every supported language. Item wording never comes from here: it comes
//! from the reference, its verified translations or the host's text pack.

/// Interface strings of one language. `{n}` and `{total}` are filled in by [`fill`].
#[derive(Debug)]
pub struct Strings {
    /// BCP 47 tag.
    pub lang: &'static str,
    pub question_of: &'static str,
    pub answered_of: &'static str,
    pub progress: &'static str,
    pub back: &'static str,
    pub next: &'static str,
    pub review: &'static str,
    pub review_title: &'static str,
    pub all_answered: &'static str,
    pub unanswered_intro: &'static str,
    pub unanswered_allowed: &'static str,
    pub unanswered_blocks: &'static str,
    pub go_to: &'static str,
    pub back_to_questions: &'static str,
    pub finish: &'static str,
    pub results_title: &'static str,
    pub thanks_title: &'static str,
    pub thanks_body: &'static str,
    pub change_answers: &'static str,
    pub score_of_range: &'static str,
    pub not_scored: &'static str,
    pub cutoff_met: &'static str,
    pub flags_title: &'static str,
    pub critical_label: &'static str,
    pub crisis_title: &'static str,
    pub crisis_body: &'static str,
    pub crisis_note: &'static str,
    pub citation: &'static str,
    pub attribution: &'static str,
    pub terms: &'static str,
    pub english_fallback: &'static str,
    pub error_title: &'static str,
    pub selected_announce: &'static str,
    pub loading: &'static str,
    /// A form's validation message while a required questionnaire is incomplete (`{n}`: the item).
    pub required: &'static str,
    pub print: &'static str,
    /// Label of the date on the results card (and its printout).
    pub date: &'static str,
}

/// English.
pub const EN: Strings = Strings {
    lang: "en",
    question_of: "Question {n} of {total}",
    answered_of: "{n} of {total} answered",
    progress: "Progress",
    back: "Back",
    next: "Next",
    review: "Review answers",
    review_title: "Review your answers",
    all_answered: "Every question has an answer.",
    unanswered_intro: "These questions have no answer yet:",
    unanswered_allowed: "The scoring rules allow these to stay unanswered. You can still finish.",
    unanswered_blocks: "With these unanswered, some scores cannot be calculated: {list}. You can still finish.",
    go_to: "Go to question {n}",
    back_to_questions: "Back to the questions",
    finish: "Finish",
    results_title: "Results",
    thanks_title: "Thank you",
    thanks_body: "Your answers are complete.",
    change_answers: "Change answers",
    score_of_range: "range {range}",
    not_scored: "Not scored: too many questions were left unanswered.",
    cutoff_met: "Cut-off reached",
    flags_title: "Noted",
    critical_label: "Needs attention",
    crisis_title: "You do not have to face this alone",
    crisis_body: "Your answer says you may have had thoughts of harming yourself. Please talk to someone now: the person who gave you this questionnaire, someone you trust, or a crisis line. If you are in danger right now, call your local emergency number.",
    crisis_note: "You can keep going with the questions.",
    citation: "Source",
    attribution: "Attribution",
    terms: "Wording used under these terms",
    english_fallback: "Some wording is shown in English because no verified translation is available.",
    error_title: "This questionnaire cannot be shown",
    selected_announce: "{n} of {total} answered",
    loading: "Loading the questions…",
    required: "Please answer every question: question {n} has no answer yet.",
    print: "Print",
    date: "Date",
};

/// Spanish.
pub const ES: Strings = Strings {
    lang: "es",
    question_of: "Pregunta {n} de {total}",
    answered_of: "{n} de {total} respondidas",
    progress: "Progreso",
    back: "Atrás",
    next: "Siguiente",
    review: "Revisar respuestas",
    review_title: "Revise sus respuestas",
    all_answered: "Todas las preguntas tienen respuesta.",
    unanswered_intro: "Estas preguntas aún no tienen respuesta:",
    unanswered_allowed: "Las reglas de puntuación permiten dejarlas sin responder. Puede terminar igualmente.",
    unanswered_blocks: "Si quedan sin responder, no se pueden calcular algunas puntuaciones: {list}. Puede terminar igualmente.",
    go_to: "Ir a la pregunta {n}",
    back_to_questions: "Volver a las preguntas",
    finish: "Terminar",
    results_title: "Resultados",
    thanks_title: "Gracias",
    thanks_body: "Sus respuestas están completas.",
    change_answers: "Cambiar respuestas",
    score_of_range: "rango {range}",
    not_scored: "Sin puntuación: quedaron demasiadas preguntas sin responder.",
    cutoff_met: "Punto de corte alcanzado",
    flags_title: "Observaciones",
    critical_label: "Requiere atención",
    crisis_title: "No tiene que enfrentar esto a solas",
    crisis_body: "Su respuesta indica que puede haber tenido pensamientos de hacerse daño. Hable con alguien ahora: la persona que le dio este cuestionario, alguien de confianza o una línea de crisis. Si está en peligro en este momento, llame al número de emergencias de su zona.",
    crisis_note: "Puede seguir con las preguntas.",
    citation: "Fuente",
    attribution: "Atribución",
    terms: "Texto usado bajo estas condiciones",
    english_fallback: "Parte del texto se muestra en inglés porque no hay una traducción verificada.",
    error_title: "No se puede mostrar este cuestionario",
    selected_announce: "{n} de {total} respondidas",
    loading: "Cargando las preguntas…",
    required: "Responda todas las preguntas: la pregunta {n} aún no tiene respuesta.",
    print: "Imprimir",
    date: "Fecha",
};

/// The interface languages, in the order hosts see them documented.
pub const LANGUAGES: [&Strings; 2] = [&EN, &ES];

/// Strings for a language tag (`"es"`, `"es-MX"`); English when the language is not supported.
pub fn strings(lang: &str) -> &'static Strings {
    let primary = lang.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    LANGUAGES.iter().copied().find(|s| s.lang == primary).unwrap_or(&EN)
}

/// Fills `{n}`, `{total}` and `{list}` placeholders.
pub fn fill(template: &str, n: impl std::fmt::Display, total: impl std::fmt::Display) -> String {
    template.replace("{n}", &n.to_string()).replace("{total}", &total.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_resolve_by_primary_tag() {
        assert_eq!(strings("es-MX").lang, "es");
        assert_eq!(strings("ES").lang, "es");
        assert_eq!(strings("fr").lang, "en");
        assert_eq!(strings("").lang, "en");
    }

    #[test]
    fn every_language_keeps_the_placeholders() {
        for s in LANGUAGES {
            for (template, holes) in [
                (s.question_of, &["{n}", "{total}"][..]),
                (s.answered_of, &["{n}", "{total}"]),
                (s.selected_announce, &["{n}", "{total}"]),
                (s.go_to, &["{n}"]),
                (s.required, &["{n}"]),
                (s.unanswered_blocks, &["{list}"]),
                (s.score_of_range, &["{range}"]),
            ] {
                for h in holes {
                    assert!(template.contains(h), "{}: {template:?} lacks {h}", s.lang);
                }
            }
            assert_eq!(fill(s.question_of, 3, 9).matches(char::is_numeric).count(), 2);
        }
    }
}
