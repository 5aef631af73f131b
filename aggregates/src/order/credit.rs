//! What a credit note takes back: some lines (a refund at the counter, a cancellation), or
//! an amount (a refund made in the payment provider's dashboard).

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{OrderError, OrderLine};
use crate::values::{compute_totals, Money, Reference, Totals, VatLine, VatRate};

/// A credit note as the order knows it: asked for, then numbered by the credit note series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNote {
    /// Its id (the order's own id for the credit note of a cancellation).
    pub id: Uuid,
    /// What it takes back, as lines of the invoice (amounts positive).
    pub lines: Vec<OrderLine>,
    /// Its totals (positive; the printed note shows them negative).
    pub totals: Totals,
    /// Why.
    pub reason: String,
    /// Its number, once the series gave one.
    pub number: Option<String>,
    /// When it was issued, once it was.
    #[serde(default)]
    pub issued_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A line to take back: `quantity` units of `product_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLineInput {
    /// The product, as on the order.
    pub product_id: Uuid,
    /// Units, at most what was invoiced and not yet credited.
    pub quantity: u32,
}

/// The reference printed on the lines of a credit note made from an amount.
pub const AMOUNT_REFUND_REFERENCE: &str = "REMBOURSEMENT";

/// Units of each product already taken back by `credits`.
pub(crate) fn credited_quantities(credits: &[CreditNote]) -> BTreeMap<Uuid, u32> {
    let mut out = BTreeMap::new();
    for line in credits.iter().flat_map(|c| &c.lines) {
        if !line.product_id.is_nil() {
            *out.entry(line.product_id).or_insert(0) += line.quantity;
        }
    }
    out
}

/// What is left to credit at each rate, incl. VAT.
fn remaining_by_rate(invoiced: &Totals, credits: &[CreditNote]) -> BTreeMap<VatRate, Decimal> {
    let mut left: BTreeMap<VatRate, Decimal> = invoiced
        .vat_breakdown
        .iter()
        .map(|l| (l.rate, l.base_ht.amount() + l.vat.amount()))
        .collect();
    for line in credits.iter().flat_map(|c| &c.totals.vat_breakdown) {
        *left.entry(line.rate).or_default() -= line.base_ht.amount() + line.vat.amount();
    }
    left
}

/// The lines of `ordered` not yet credited, whole.
pub(crate) fn remaining_lines(ordered: &[OrderLine], credits: &[CreditNote]) -> Vec<OrderLine> {
    let done = credited_quantities(credits);
    ordered
        .iter()
        .filter_map(|line| {
            let left = line
                .quantity
                .saturating_sub(done.get(&line.product_id).copied().unwrap_or(0));
            (left > 0).then(|| OrderLine {
                quantity: left,
                line_total_ht: line.unit_price_ht.times(left),
                ..line.clone()
            })
        })
        .collect()
}

/// Totals of credited lines, by the same rule as an order's.
pub(crate) fn totals_of(lines: &[OrderLine]) -> Totals {
    let priced: Vec<_> = lines
        .iter()
        .map(|l| (l.quantity, l.unit_price_ht, l.vat_rate))
        .collect();
    compute_totals(&priced)
}

/// The lines `wanted` takes back from `ordered`, given what `credits` already took.
pub(crate) fn lines_to_credit(
    ordered: &[OrderLine],
    credits: &[CreditNote],
    wanted: &[RefundLineInput],
) -> Result<Vec<OrderLine>, OrderError> {
    if wanted.is_empty() {
        return Err(OrderError::NothingToCredit);
    }
    let done = credited_quantities(credits);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for want in wanted {
        if !seen.insert(want.product_id) {
            return Err(OrderError::DuplicateProduct(want.product_id));
        }
        let Some(line) = ordered.iter().find(|l| l.product_id == want.product_id) else {
            return Err(OrderError::NotOnOrder(want.product_id));
        };
        let left = line
            .quantity
            .saturating_sub(done.get(&line.product_id).copied().unwrap_or(0));
        if want.quantity == 0 || want.quantity > left {
            return Err(OrderError::CreditQuantity {
                product_id: want.product_id,
                quantity: want.quantity,
                left,
            });
        }
        out.push(OrderLine {
            quantity: want.quantity,
            line_total_ht: line.unit_price_ht.times(want.quantity),
            ..line.clone()
        });
    }
    Ok(out)
}

/// Refuses lines worth more, at one of their rates, than is left to credit there, once
/// an amount was credited: after a refund made in the provider's dashboard the units
/// still on the invoice are not all owed back at their price. Without such a refund the
/// units left bound the credit ([`lines_to_credit`]).
pub(crate) fn within_amount_left(
    invoiced: &Totals,
    credits: &[CreditNote],
    totals: &Totals,
) -> Result<(), OrderError> {
    let by_amount_before = credits
        .iter()
        .flat_map(|c| &c.lines)
        .any(|l| l.product_id.is_nil());
    if !by_amount_before {
        return Ok(());
    }
    let left = remaining_by_rate(invoiced, credits);
    for line in &totals.vat_breakdown {
        let wanted = line.base_ht.amount() + line.vat.amount();
        let available = left.get(&line.rate).copied().unwrap_or_default();
        if wanted > available {
            let total_left: Decimal = left.values().copied().sum();
            return Err(OrderError::CreditExceedsInvoice {
                amount: totals.total_ttc,
                left: Money::new(total_left.max(Decimal::ZERO)).unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// A credit note for `amount` incl. VAT, spread over the VAT rates in proportion to what is
/// left to credit at each (largest remainder to the cent). When the amount is all that is
/// left and no amount was credited before, the remaining lines themselves are credited.
///
/// At each rate the amount incl. VAT is what the customer got back; the base is that amount
/// divided by (1 + rate), rounded half-up, and the VAT the difference, so that the note's
/// total incl. VAT is exactly the amount refunded.
pub(crate) fn credit_for_amount(
    ordered: &[OrderLine],
    invoiced: &Totals,
    credits: &[CreditNote],
    amount: Money,
) -> Result<(Vec<OrderLine>, Totals), OrderError> {
    let left = remaining_by_rate(invoiced, credits);
    let total_left: Decimal = left.values().copied().sum();
    let wanted = amount.amount();
    if wanted.is_zero() {
        return Err(OrderError::NothingToCredit);
    }
    if wanted > total_left {
        return Err(OrderError::CreditExceedsInvoice {
            amount,
            left: Money::new(total_left.max(Decimal::ZERO)).unwrap_or_default(),
        });
    }
    let by_amount_before = credits
        .iter()
        .flat_map(|c| &c.lines)
        .any(|l| l.product_id.is_nil());
    if wanted == total_left && !by_amount_before {
        let lines = remaining_lines(ordered, credits);
        let totals = totals_of(&lines);
        if totals.total_ttc.amount() == wanted {
            return Ok((lines, totals));
        }
    }
    // Cents per rate, largest remainder first.
    let cents = |d: Decimal| (d * Decimal::ONE_HUNDRED).trunc();
    let wanted_cents = cents(wanted);
    let total_cents = cents(total_left);
    let mut shares: Vec<(VatRate, Decimal, Decimal)> = left
        .iter()
        .filter(|(_, v)| v.is_sign_positive() && !v.is_zero())
        .map(|(rate, v)| {
            let exact = wanted_cents * cents(*v) / total_cents;
            (*rate, exact.trunc(), exact - exact.trunc())
        })
        .collect();
    let mut short = wanted_cents - shares.iter().map(|s| s.1).sum::<Decimal>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].2.cmp(&shares[*a].2));
    for i in order {
        if short <= Decimal::ZERO {
            break;
        }
        shares[i].1 += Decimal::ONE;
        short -= Decimal::ONE;
    }
    let reference =
        Reference::new(AMOUNT_REFUND_REFERENCE).map_err(|_| OrderError::NothingToCredit)?;
    let mut lines = Vec::new();
    let mut breakdown = Vec::new();
    for (rate, share_cents, _) in shares {
        if share_cents.is_zero() {
            continue;
        }
        let ttc = share_cents / Decimal::ONE_HUNDRED;
        let base = (ttc / (Decimal::ONE + rate.percent() / Decimal::ONE_HUNDRED))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        let base = Money::new(base).map_err(|_| OrderError::NothingToCredit)?;
        let vat = Money::new(ttc - base.amount()).map_err(|_| OrderError::NothingToCredit)?;
        lines.push(OrderLine {
            product_id: Uuid::nil(),
            reference: reference.clone(),
            name: format!(
                "Remboursement partiel (TVA {} %)",
                rate.percent().normalize()
            ),
            quantity: 1,
            unit_price_ht: base,
            vat_rate: rate,
            line_total_ht: base,
        });
        breakdown.push(VatLine {
            rate,
            base_ht: base,
            vat,
        });
    }
    let total_ht: Money = breakdown.iter().map(|l| l.base_ht).sum();
    let total_vat: Money = breakdown.iter().map(|l| l.vat).sum();
    let totals = Totals {
        total_ht,
        vat_breakdown: breakdown,
        total_vat,
        total_ttc: total_ht + total_vat,
    };
    Ok((lines, totals))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::*;

    fn lines() -> impl Strategy<Value = Vec<OrderLine>> {
        prop::collection::vec(
            (
                1u32..20,
                1u64..50_000,
                prop::sample::select(vec!["5.5", "10", "20"]),
            ),
            1..6,
        )
        .prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (quantity, cents, rate))| {
                    let unit = Money::from_cents(cents).unwrap();
                    OrderLine {
                        product_id: Uuid::from_u128(i as u128 + 1),
                        reference: Reference::new(&format!("REF-{i}")).unwrap(),
                        name: format!("Pièce {i}"),
                        quantity,
                        unit_price_ht: unit,
                        vat_rate: rate.parse().unwrap(),
                        line_total_ht: unit.times(quantity),
                    }
                })
                .collect()
        })
    }

    proptest! {
        /// A refund of any amount up to what was invoiced gives a credit note whose lines
        /// add up to its base, whose base and VAT add up to exactly the amount, and whose
        /// VAT at each rate is the rounded VAT of its base give or take the cent that the
        /// amount incl. VAT imposes.
        #[test]
        fn an_amount_refund_adds_up(ordered in lines(), share in 1u32..=1000) {
            let invoiced = totals_of(&ordered);
            let ttc = invoiced.total_ttc.amount();
            let amount = (ttc * Decimal::from(share) / Decimal::from(1000)).round_dp(2);
            prop_assume!(amount > Decimal::ZERO);
            let amount = Money::new(amount).unwrap();
            let (lines, totals) = credit_for_amount(&ordered, &invoiced, &[], amount).unwrap();
            let lines_ht: Money = lines.iter().map(|l| l.line_total_ht).sum();
            prop_assert_eq!(lines_ht, totals.total_ht);
            prop_assert_eq!(totals.total_ht + totals.total_vat, totals.total_ttc);
            prop_assert_eq!(totals.total_ttc, amount);
            let base: Money = totals.vat_breakdown.iter().map(|l| l.base_ht).sum();
            let vat: Money = totals.vat_breakdown.iter().map(|l| l.vat).sum();
            prop_assert_eq!(base, totals.total_ht);
            prop_assert_eq!(vat, totals.total_vat);
            for line in &totals.vat_breakdown {
                let exact = line.rate.vat_on(line.base_ht).amount();
                prop_assert!((line.vat.amount() - exact).abs() <= Decimal::new(1, 2));
            }
            // What is left can be refunded next, and nothing more.
            let first = CreditNote {
                id: Uuid::from_u128(99),
                lines,
                totals,
                reason: "refund".into(),
                number: None,
                issued_at: None,
            };
            let left = ttc - amount.amount();
            if left > Decimal::ZERO {
                let rest = Money::new(left).unwrap();
                let (_, totals) =
                    credit_for_amount(&ordered, &invoiced, std::slice::from_ref(&first), rest)
                        .unwrap();
                prop_assert_eq!(totals.total_ttc, rest);
            }
            let more = Money::new(left + Decimal::new(1, 2)).unwrap();
            prop_assert!(credit_for_amount(&ordered, &invoiced, &[first], more).is_err());
        }

        /// Refunding lines gives totals by the invoices' own rule.
        #[test]
        fn a_line_refund_adds_up(ordered in lines()) {
            let wanted: Vec<RefundLineInput> = ordered
                .iter()
                .map(|l| RefundLineInput { product_id: l.product_id, quantity: l.quantity.div_ceil(2) })
                .collect();
            let lines = lines_to_credit(&ordered, &[], &wanted).unwrap();
            let totals = totals_of(&lines);
            let lines_ht: Money = lines.iter().map(|l| l.line_total_ht).sum();
            prop_assert_eq!(lines_ht, totals.total_ht);
            for line in &totals.vat_breakdown {
                prop_assert_eq!(line.vat, line.rate.vat_on(line.base_ht));
            }
        }
    }
}
