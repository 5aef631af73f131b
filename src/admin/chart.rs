//! The dashboard's revenue chart: a server-rendered SVG bar chart with axes, labels and
//! each day's value on hover (an SVG `<title>` for every browser, plus a text shown by CSS
//! on hover or keyboard focus).

use chrono::NaiveDate;
use maud::{html, Markup};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 28.0;

/// A round top for the axis: 1, 2 or 5 times a power of ten, at least `max`.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 {
        return 100.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|step| step * power)
        .find(|top| *top >= max)
        .unwrap_or(10.0 * power)
}

/// Formats an amount the French way or the English way (`1 234,50` / `1,234.50`).
pub fn amount(value: Decimal, french: bool) -> String {
    let value = value.round_dp(2);
    let text = format!("{value:.2}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(if french { '\u{202f}' } else { ',' });
        }
        grouped.push(c);
    }
    if french {
        format!("{sign}{grouped},{frac}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// An amount with the shop's currency sign after it (`1 234,50 €`).
pub fn money(value: Decimal, french: bool, symbol: &str) -> String {
    format!("{} {symbol}", amount(value, french))
}

/// The chart of `days` (oldest first), titled by `title`.
pub fn revenue(
    days: &[(NaiveDate, Decimal)],
    title: &str,
    caption: &str,
    french: bool,
    symbol: &str,
) -> Markup {
    let max = days
        .iter()
        .filter_map(|(_, v)| v.to_f64())
        .fold(0.0, f64::max);
    let top = nice_ceiling(max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / days.len().max(1) as f64;
    let bar_w = (slot * 0.7).max(1.0);
    let y = |v: f64| TOP + plot_h - v / top * plot_h;
    let ticks: Vec<f64> = (0..=4).map(|i| top * f64::from(i) / 4.0).collect();
    let date_label = |d: &NaiveDate| {
        if french {
            d.format("%d/%m").to_string()
        } else {
            d.format("%m/%d").to_string()
        }
    };
    html! {
        figure.chart {
            svg viewBox={"0 0 " (WIDTH) " " (HEIGHT)} role="img" aria-labelledby="chart-title" {
                title #chart-title { (title) }
                g.grid {
                    @for tick in &ticks {
                        line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y(*tick)) y2=(y(*tick)) {}
                    }
                }
                g.axis {
                    line x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(TOP + plot_h) {}
                    line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(TOP + plot_h) y2=(TOP + plot_h) {}
                    @for tick in &ticks {
                        text x=(LEFT - 6.0) y=(y(*tick) + 4.0) text-anchor="end" {
                            (amount(Decimal::from_f64_retain(*tick).unwrap_or_default().round(), french).trim_end_matches(",00").trim_end_matches(".00"))
                        }
                    }
                    @for (i, (day, _)) in days.iter().enumerate() {
                        @if i % 5 == 0 || i + 1 == days.len() {
                            text x=(LEFT + slot * (i as f64 + 0.5)) y=(HEIGHT - 8.0) text-anchor="middle" { (date_label(day)) }
                        }
                    }
                }
                @for (i, (day, value)) in days.iter().enumerate() {
                    @let v = value.to_f64().unwrap_or(0.0);
                    @let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
                    @let label = format!("{} : {}", date_label(day), money(*value, french, symbol));
                    g.bar tabindex="0" {
                        title { (label) }
                        rect x=(x) y=(y(v)) width=(bar_w) height=((TOP + plot_h - y(v)).max(0.0)) {}
                        text.value x=(x + bar_w / 2.0) y=((y(v) - 6.0).max(12.0)) text-anchor="middle" { (amount(*value, french)) }
                    }
                }
            }
            figcaption { (caption) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_by_locale() {
        assert_eq!(
            amount(Decimal::new(123456789, 2), true),
            "1\u{202f}234\u{202f}567,89"
        );
        assert_eq!(amount(Decimal::new(123456789, 2), false), "1,234,567.89");
        assert_eq!(amount(Decimal::new(-5, 1), false), "-0.50");
    }

    #[test]
    fn the_axis_top_is_round() {
        assert_eq!(nice_ceiling(0.0), 100.0);
        assert_eq!(nice_ceiling(730.0), 1000.0);
        assert_eq!(nice_ceiling(1200.0), 2000.0);
        assert_eq!(nice_ceiling(45.0), 50.0);
    }

    #[test]
    fn every_day_has_a_bar_with_its_value() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default();
        let days: Vec<_> = (0..30)
            .map(|i| (day + chrono::Duration::days(i), Decimal::from(i * 10)))
            .collect();
        let svg = revenue(&days, "t", "c", true, "€").into_string();
        assert_eq!(svg.matches("<g class=\"bar\"").count(), 30);
        assert!(svg.contains("<title>30/11 : 290,00 €</title>"), "{svg}");
    }
}
