//! Writes compiled instruments as Rust source: `static` borrowed data in the style of ICU4X's
//! `databake`, so the embedded catalog costs its data and no code to build it. Each value is written
//! as the expression that constructs it (`Cow::Borrowed("phq9")`, `Cow::Borrowed(&[...])`).

use std::borrow::Cow;
use std::fmt::Write;

use crate::expr::{BinOp, CmpOp, Cond, Expr, Op};
use crate::model::*;
use crate::plan::*;

/// A value that can be written as a Rust constant expression.
pub trait Bake {
    fn bake(&self, out: &mut String);
}

impl Bake for bool {
    fn bake(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

macro_rules! bake_integer {
    ($($t:ty),*) => {$(
        impl Bake for $t {
            fn bake(&self, out: &mut String) {
                let _ = write!(out, "{}{}", self, stringify!($t));
            }
        }
    )*};
}
bake_integer!(usize, u32, u16, i64);

impl Bake for f64 {
    fn bake(&self, out: &mut String) {
        if self.is_nan() {
            out.push_str("f64::NAN");
        } else if self.is_infinite() {
            out.push_str(if *self > 0.0 { "f64::INFINITY" } else { "f64::NEG_INFINITY" });
        } else {
            // Debug writes the shortest text that reads back as exactly this value.
            let _ = write!(out, "{self:?}f64");
        }
    }
}

impl Bake for str {
    fn bake(&self, out: &mut String) {
        // Debug of a str is a valid Rust string literal with every special character escaped.
        let _ = write!(out, "{self:?}");
    }
}

impl Bake for Cow<'static, str> {
    fn bake(&self, out: &mut String) {
        out.push_str("::std::borrow::Cow::Borrowed(");
        self.as_ref().bake(out);
        out.push(')');
    }
}

impl<T: Bake + Clone> Bake for Cow<'static, [T]> {
    fn bake(&self, out: &mut String) {
        out.push_str("::std::borrow::Cow::Borrowed(&[");
        for (k, x) in self.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            x.bake(out);
        }
        out.push_str("])");
    }
}

impl<T: Bake> Bake for Option<T> {
    fn bake(&self, out: &mut String) {
        match self {
            None => out.push_str("None"),
            Some(x) => {
                out.push_str("Some(");
                x.bake(out);
                out.push(')');
            }
        }
    }
}

impl<A: Bake, B: Bake> Bake for (A, B) {
    fn bake(&self, out: &mut String) {
        out.push('(');
        self.0.bake(out);
        out.push_str(", ");
        self.1.bake(out);
        out.push(')');
    }
}

impl<A: Bake, B: Bake, C: Bake> Bake for (A, B, C) {
    fn bake(&self, out: &mut String) {
        out.push('(');
        self.0.bake(out);
        out.push_str(", ");
        self.1.bake(out);
        out.push_str(", ");
        self.2.bake(out);
        out.push(')');
    }
}

impl Bake for [f64; 2] {
    fn bake(&self, out: &mut String) {
        out.push('[');
        self[0].bake(out);
        out.push_str(", ");
        self[1].bake(out);
        out.push(']');
    }
}

impl<V: Bake + Clone + 'static> Bake for Map<V> {
    fn bake(&self, out: &mut String) {
        out.push_str("crate::model::Map(");
        self.0.bake(out);
        out.push(')');
    }
}

/// `Bake` for a struct: its path in the library and its fields, each baked in turn, then any
/// fields written as they are (`then "..."`).
macro_rules! bake_struct {
    ($ty:ident at $path:literal { $($field:ident),* $(,)? } $(then $tail:literal)?) => {
        impl Bake for $ty {
            fn bake(&self, out: &mut String) {
                out.push_str($path);
                out.push_str(" { ");
                $(
                    out.push_str(stringify!($field));
                    out.push_str(": ");
                    self.$field.bake(out);
                    out.push_str(", ");
                )*
                $(out.push_str($tail);)?
                out.push('}');
            }
        }
    };
}

/// `Bake` for a fieldless enum: its path and its variants.
macro_rules! bake_enum {
    ($ty:ident at $path:literal { $($variant:ident),* $(,)? }) => {
        impl Bake for $ty {
            fn bake(&self, out: &mut String) {
                out.push_str($path);
                out.push_str("::");
                out.push_str(match self { $($ty::$variant => stringify!($variant)),* });
            }
        }
    };
}

// The reference vectors are read from the files by the tests, never from the catalog.
bake_struct!(Definition at "crate::model::Definition" {
    id, name, short_name, domain, citation, sources, license, instructions, response_sets, items, scores, flags,
    skip_logic, context, loinc, notes
} then "#[cfg(feature = \"json\")] test_vectors: ::std::vec::Vec::new(), ");

bake_enum!(LicenceStatus at "crate::model::LicenceStatus" {
    PublicDomain, FreeWithAttribution, NonCommercial, Unverified, HostTextOnly
});
bake_enum!(Method at "crate::model::Method" { Sum, Mean, Expression, Lookup });
bake_enum!(MissingRule at "crate::model::MissingRule" { NoneAllowed, Prorate, MeanOfAnswered });
bake_enum!(BinOp at "crate::expr::BinOp" { Add, Sub, Mul, Div });
bake_enum!(CmpOp at "crate::expr::CmpOp" { Eq, Ne, Ge, Le, Gt, Lt });
bake_struct!(License at "crate::model::License" { status, text_bundled, statement, attribution });
bake_struct!(ResponseOption at "crate::model::ResponseOption" { value, label });
bake_struct!(Item at "crate::model::Item" { id, text, response_set, scored, loinc });
bake_struct!(ScoreDef at "crate::model::ScoreDef" {
    id, label, method, items, reverse, expression, lookup, range, missing, bands, cutoffs
});
bake_struct!(Reverse at "crate::model::Reverse" { items, rule });
bake_struct!(Lookup at "crate::model::Lookup" { score, table });
bake_struct!(LookupRow at "crate::model::LookupRow" { min, max, value });
bake_struct!(MissingDef at "crate::model::MissingDef" { rule, max_missing, note });
bake_struct!(Band at "crate::model::Band" { id, min, max, label });
bake_struct!(Cutoff at "crate::model::Cutoff" { id, min, when, label });
bake_struct!(FlagDef at "crate::model::FlagDef" {
    id, critical, rule, label, unanswered_more_than, invalidates_scores
});
bake_struct!(SkipLogic at "crate::model::SkipLogic" {
    description, rules, skipped_items_score, answered_anyway, complete_when
});
bake_struct!(SkipRule at "crate::model::SkipRule" { when, skip });
bake_struct!(ContextSpec at "crate::model::ContextSpec" { values, required, note });
bake_struct!(Translation at "crate::model::Translation" {
    instrument, lang, source, instructions, response_sets, items, attribution
});

bake_struct!(SetPlan at "crate::plan::SetPlan" { name, values });
bake_struct!(ScorePlan at "crate::plan::ScorePlan" { id, calc, range, band_ids, bands, cutoffs });
bake_struct!(CutoffPlan at "crate::plan::CutoffPlan" { id, min, when });
bake_struct!(FlagPlan at "crate::plan::FlagPlan" { id, critical, test, invalidates });
bake_struct!(About at "crate::plan::About" { name, short_name, domain, licence, text_bundled, translations });
bake_struct!(SkipPlan at "crate::plan::SkipPlan" { when, items });
bake_struct!(ContextPlan at "crate::plan::ContextPlan" { key, values, required });

// The plan only: the definition and its translations are baked apart (see build.rs).
bake_struct!(Instrument at "crate::plan::Instrument" {
    id, about, item_ids, item_sets, sets, scores, order, flags, skips, skipped_item_score, context, scored_items
} then "source: crate::plan::Source::Baked, ");

impl Bake for Calc {
    fn bake(&self, out: &mut String) {
        match self {
            Calc::Items { mean, items, rule, max_missing } => {
                out.push_str("crate::plan::Calc::Items { mean: ");
                mean.bake(out);
                out.push_str(", items: ");
                items.bake(out);
                out.push_str(", rule: ");
                rule.bake(out);
                out.push_str(", max_missing: ");
                max_missing.bake(out);
                out.push_str(" }");
            }
            Calc::Expression(e) => {
                out.push_str("crate::plan::Calc::Expression(");
                e.bake(out);
                out.push(')');
            }
            Calc::Lookup { source, table } => {
                out.push_str("crate::plan::Calc::Lookup { source: ");
                source.bake(out);
                out.push_str(", table: ");
                table.bake(out);
                out.push_str(" }");
            }
        }
    }
}

impl Bake for FlagTest {
    fn bake(&self, out: &mut String) {
        match self {
            FlagTest::Condition(c) => {
                out.push_str("crate::plan::FlagTest::Condition(");
                c.bake(out);
                out.push(')');
            }
            FlagTest::UnansweredMoreThan(n) => {
                out.push_str("crate::plan::FlagTest::UnansweredMoreThan(");
                n.bake(out);
                out.push(')');
            }
        }
    }
}

impl Bake for Expr {
    fn bake(&self, out: &mut String) {
        out.push_str("crate::expr::Expr(");
        self.0.bake(out);
        out.push(')');
    }
}

impl Bake for Op {
    fn bake(&self, out: &mut String) {
        let (name, arg): (&str, Option<&dyn Bake>) = match self {
            Op::Num(n) => ("Num", Some(n)),
            Op::Item(i) => ("Item", Some(i)),
            Op::Score(s) => ("Score", Some(s)),
            Op::Neg => ("Neg", None),
            Op::Bin(b) => ("Bin", Some(b)),
        };
        out.push_str("crate::expr::Op::");
        out.push_str(name);
        if let Some(arg) = arg {
            out.push('(');
            arg.bake(out);
            out.push(')');
        }
    }
}

impl Bake for Cond {
    fn bake(&self, out: &mut String) {
        match self {
            Cond::Cmp(op, a, b) => {
                out.push_str("crate::expr::Cond::Cmp(");
                op.bake(out);
                out.push_str(", ");
                a.bake(out);
                out.push_str(", ");
                b.bake(out);
                out.push(')');
            }
            Cond::And(parts) => {
                out.push_str("crate::expr::Cond::And(");
                parts.bake(out);
                out.push(')');
            }
            Cond::Or(parts) => {
                out.push_str("crate::expr::Cond::Or(");
                parts.bake(out);
                out.push(')');
            }
        }
    }
}
