//! An instrument as a FHIR R4 `Questionnaire`: its items with their options and scores, its skip
//! rules as `enableWhen` (or the SDC `enableWhenExpression` where `enableWhen` cannot say it
//! exactly), its citation and licence, and only the wording its licence or the host allows.

use super::{
    AnswerOption, Coding, EnableWhen, Expression, Extension, Options, Questionnaire, QuestionnaireItem, Wording,
    ENABLE_WHEN_EXPRESSION, ITEM_WEIGHT, LOINC, ORDINAL_VALUE,
};
use crate::expr::{BinOp, CmpOp, Cond, Expr, Op};
use crate::Instrument;

/// The link id of the stem, a `display` item written before the questions when there is a stem.
pub const STEM_LINK_ID: &str = "instructions";

/// The instrument as a Questionnaire.
///
/// ```
/// use attune_core::{fhir, Catalog};
/// let phq9 = Catalog::embedded().get("phq9").unwrap();
/// let q = fhir::questionnaire(phq9, &fhir::Options::default());
/// assert_eq!(q.url, "urn:attune:fhir/Questionnaire/phq9");
/// assert_eq!(q.code[0].code.as_deref(), Some("44249-1"));
/// let item9 = q.item.iter().find(|i| i.link_id == "9").unwrap();
/// assert_eq!(item9.code[0].code.as_deref(), Some("44260-8"));
/// assert_eq!(item9.answer_option[3].value_coding.weight(), Some(3.0));
/// ```
pub fn questionnaire(inst: &Instrument, opts: &Options<'_>) -> Questionnaire {
    let def = inst.definition();
    let text = Wording::new(inst, opts);
    let mut items = Vec::with_capacity(def.items.len() + 1);
    if let Some(stem) = text.instructions() {
        items.push(QuestionnaireItem {
            link_id: STEM_LINK_ID.to_string(),
            text: Some(stem),
            kind: "display".to_string(),
            ..QuestionnaireItem::default()
        });
    }
    for (index, item) in def.items.iter().enumerate() {
        let set = item.response_set.as_ref();
        let answer_option = inst
            .option_values(index)
            .iter()
            .map(|&value| AnswerOption { value_coding: option_coding(inst, opts, &text, index, value) })
            .collect();
        let (enable_when, extension) = skip_rules(inst, opts, &text, index);
        items.push(QuestionnaireItem {
            extension,
            link_id: item.id.to_string(),
            code: item.loinc.iter().map(|c| Coding::new(LOINC, c, None)).collect(),
            text: text.item(&item.id),
            kind: "choice".to_string(),
            // The one form written: "item N is unanswered, or not v" (see `skip_rules`).
            enable_behavior: (enable_when.len() > 1).then(|| "any".to_string()),
            enable_when,
            required: false,
            answer_option,
        });
        debug_assert_eq!(inst.response_set(index), set);
    }
    let loinc_panel = def.loinc.as_ref().and_then(|l| l.get("panel"));
    let mut copyright = inst.citation().to_string();
    if let Some(licence) = &def.license {
        copyright.push_str(&format!("\n\nLicence ({}): {}", licence.status.as_str(), licence.statement));
        if let Some(line) = &licence.attribution {
            copyright.push_str(&format!("\n\n{line}"));
        }
    }
    Questionnaire {
        id: inst.id().to_string(),
        language: Some(opts.lang.to_string()),
        url: opts.questionnaire_url(inst.id()),
        version: crate::VERSION.to_string(),
        name: computable_name(inst.id()),
        title: inst.name().to_string(),
        status: "active".to_string(),
        copyright,
        code: loinc_panel.iter().map(|c| Coding::new(LOINC, c, None)).collect(),
        item: items,
    }
}

/// An option as a coding of its response set's code system: the value as the code, the label when
/// there is wording, and the value as [`ORDINAL_VALUE`] and [`ITEM_WEIGHT`] for items it is the
/// score of ([`weighs`]): a reversed item's option adds `c - value`, so FHIR's "the option's score"
/// would be wrong for it; its code still says which option it is.
pub(super) fn option_coding(
    inst: &Instrument,
    opts: &Options<'_>,
    text: &Wording<'_>,
    index: usize,
    value: i64,
) -> Coding {
    let set = inst.response_set(index);
    let mut coding = Coding::new(&opts.answer_system(inst.id(), set), &value.to_string(), text.option(set, value));
    if weighs(inst, index) {
        coding.extension =
            vec![Extension::decimal(ORDINAL_VALUE, value as f64), Extension::decimal(ITEM_WEIGHT, value as f64)];
    }
    coding
}

/// Whether an item's option value is what it adds to every score: scored, and reversed by none.
pub(super) fn weighs(inst: &Instrument, index: usize) -> bool {
    let def = inst.definition();
    let Some(item) = def.items.get(index) else { return false };
    let reversed = def.scores.iter().flat_map(|s| s.reverse.iter()).any(|r| r.items.contains(&item.id));
    item.scored && !reversed
}

/// `phq9` as `Phq9`, `decisional-balance-alcohol` as `DecisionalBalanceAlcohol` (FHIR's name rule:
/// a capital letter, then letters, digits and `_`).
fn computable_name(id: &str) -> String {
    let mut name = String::with_capacity(id.len());
    for part in id.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            name.push(first.to_ascii_uppercase());
            name.extend(chars);
        }
    }
    if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        name.insert(0, 'Q');
    }
    name
}

/// The skip rules that hide item `index`, as FHIR says them.
///
/// A single rule `item N = v` becomes two `enableWhen`s, either of which enables the item: `N exists
/// false` and `N != v`: asked while item N is unanswered, hidden once it is `v`, as Attune evaluates
/// it. (`!=` alone is read differently for an unanswered item by different form engines.) Anything
/// else (more rules, sums, `and`) becomes one FHIRPath `enableWhenExpression` that keeps Attune's
/// three-valued logic: the item is hidden only when some rule certainly holds, and an unanswered item
/// never hides anything.
fn skip_rules(
    inst: &Instrument,
    opts: &Options<'_>,
    text: &Wording<'_>,
    index: usize,
) -> (Vec<EnableWhen>, Vec<Extension>) {
    // The rules (by their position, shared by the plans and the definition) that skip this item.
    let rules: Vec<usize> = (0..inst.skips.len()).filter(|&r| inst.skips[r].items.contains(&index)).collect();
    let [only] = rules.as_slice() else {
        return (Vec::new(), expression(inst, &rules).into_iter().collect());
    };
    if let Cond::Cmp(CmpOp::Eq, a, b) = &inst.skips[*only].when {
        let simple = match (a.0.as_ref(), b.0.as_ref()) {
            ([Op::Item(i)], [Op::Num(n)]) | ([Op::Num(n)], [Op::Item(i)]) => Some((*i, *n)),
            _ => None,
        };
        if let Some((item, value)) = simple {
            let option = value as i64;
            if option as f64 == value && inst.option_values(item).contains(&option) {
                let question = inst.item_ids().nth(item).unwrap_or_default().to_string();
                let unanswered = EnableWhen {
                    question: question.clone(),
                    operator: "exists".to_string(),
                    answer_boolean: Some(false),
                    answer_coding: None,
                };
                let coding = Coding { extension: Vec::new(), ..option_coding(inst, opts, text, item, option) };
                let other = EnableWhen {
                    question,
                    operator: "!=".to_string(),
                    answer_boolean: None,
                    answer_coding: Some(coding),
                };
                return (vec![unanswered, other], Vec::new());
            }
        }
    }
    (Vec::new(), expression(inst, &rules).into_iter().collect())
}

/// `iif(rule1 or rule2 ..., false, true)`: FHIRPath's `iif` takes the `true` branch when the
/// criterion is empty (unknown), so only a rule that certainly holds hides the item.
fn expression(inst: &Instrument, rules: &[usize]) -> Option<Extension> {
    if rules.is_empty() {
        return None;
    }
    let any = rules.iter().map(|&r| fhirpath_cond(inst, &inst.skips[r].when)).collect::<Vec<_>>().join(" or ");
    let written = inst.definition().skip_logic.as_ref().map(|s| &s.rules[..]).unwrap_or_default();
    let described: Vec<&str> = rules.iter().filter_map(|&r| written.get(r)).map(|rule| rule.when.as_ref()).collect();
    Some(Extension {
        url: ENABLE_WHEN_EXPRESSION.to_string(),
        value_expression: Some(Expression {
            language: "text/fhirpath".to_string(),
            expression: format!("iif({any}, false, true)"),
            description: Some(format!("Asked unless: {}", described.join("; or "))),
        }),
        ..Extension::default()
    })
}

fn fhirpath_cond(inst: &Instrument, cond: &Cond) -> String {
    match cond {
        Cond::Cmp(op, a, b) => {
            let op = match op {
                CmpOp::Eq => "=",
                CmpOp::Ne => "!=",
                CmpOp::Ge => ">=",
                CmpOp::Le => "<=",
                CmpOp::Gt => ">",
                CmpOp::Lt => "<",
            };
            format!("({} {op} {})", fhirpath_expr(inst, a), fhirpath_expr(inst, b))
        }
        Cond::And(parts) => join(inst, parts, " and "),
        Cond::Or(parts) => join(inst, parts, " or "),
    }
}

fn join(inst: &Instrument, parts: &[Cond], with: &str) -> String {
    format!("({})", parts.iter().map(|p| fhirpath_cond(inst, p)).collect::<Vec<_>>().join(with))
}

/// An arithmetic rule in FHIRPath infix form. An item reads the code of its answer, which is the
/// option value (an unanswered item is empty, and empty propagates through arithmetic, as Attune's
/// unknown does); conditions never read scores, which would be empty too.
fn fhirpath_expr(inst: &Instrument, expr: &Expr) -> String {
    let mut stack: Vec<String> = Vec::new();
    for op in expr.0.iter() {
        let term = match *op {
            Op::Num(n) => crate::score::number(n),
            Op::Item(i) => format!(
                "%resource.repeat(item).where(linkId = '{}').answer.value.code.toInteger()",
                inst.item_ids().nth(i).unwrap_or_default()
            ),
            Op::Score(_) => "{}".to_string(),
            // `0 - x`, not `-x`: FHIRPath engines refuse unary minus on an empty collection, and an
            // unanswered item must stay empty (unknown).
            Op::Neg => format!("(0 - {})", stack.pop().unwrap_or_default()),
            Op::Bin(op) => {
                let b = stack.pop().unwrap_or_default();
                let a = stack.pop().unwrap_or_default();
                let op = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                };
                format!("({a} {op} {b})")
            }
        };
        stack.push(term);
    }
    stack.pop().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn names_are_computable() {
        assert_eq!(computable_name("phq9"), "Phq9");
        assert_eq!(computable_name("decisional-balance-alcohol"), "DecisionalBalanceAlcohol");
        assert_eq!(computable_name("9x"), "Q9x");
    }

    #[test]
    fn audit_skip_rules_are_enable_when_and_an_expression() {
        let audit = Catalog::embedded().get("audit").unwrap();
        let q = questionnaire(audit, &Options::default());
        let item = |id: &str| q.item.iter().find(|i| i.link_id == id).unwrap();
        let two = item("2");
        assert_eq!(two.enable_behavior.as_deref(), Some("any"));
        assert_eq!(two.enable_when.len(), 2);
        assert_eq!((two.enable_when[0].question.as_str(), two.enable_when[0].operator.as_str()), ("1", "exists"));
        assert_eq!(two.enable_when[0].answer_boolean, Some(false));
        assert_eq!(two.enable_when[1].operator, "!=");
        assert_eq!(two.enable_when[1].answer_coding.as_ref().and_then(|c| c.code.as_deref()), Some("0"));
        let four = item("4");
        assert!(four.enable_when.is_empty());
        let expr = four.extension[0].value_expression.as_ref().unwrap();
        assert!(expr.expression.starts_with("iif(("), "{}", expr.expression);
        assert!(expr.expression.contains("linkId = '3'") && expr.expression.ends_with(", false, true)"));
        assert!(item("9").enable_when.is_empty() && item("9").extension.is_empty());
    }

    #[test]
    fn reversed_items_carry_no_weight_for_their_options() {
        // DAST-10 item 3 is reverse-keyed: "Yes" (1) adds 0 to the total.
        let dast = Catalog::embedded().get("dast10").unwrap();
        let q = questionnaire(dast, &Options::default());
        let item = |id: &str| q.item.iter().find(|i| i.link_id == id).unwrap();
        assert!(item("3").answer_option.iter().all(|o| o.value_coding.weight().is_none()));
        assert_eq!(item("1").answer_option[1].value_coding.weight(), Some(1.0));
    }

    #[test]
    fn keys_only_instruments_have_no_item_wording_without_a_host_pack() {
        for inst in Catalog::embedded().instruments().iter().filter(|i| !i.text_bundled()) {
            let q = questionnaire(inst, &Options::default());
            // Option labels are in the catalog where the reference has them; item wording and the
            // stem are not.
            assert!(q.item.iter().all(|i| i.text.is_none()), "{} has item text", inst.id());
            assert!(q.item.iter().all(|i| i.kind == "choice"), "{} has a stem", inst.id());
        }
    }
}
