//! Charts drawn on the server as inline SVG: no chart library and no script, so they show
//! without JavaScript and cost the page nothing to load. Each drawing is an image to assistive
//! technology (`role="img"` with an `aria-label` summarising the data); the page puts a
//! visually hidden table of the same data beside it, and every bar has a `<title>` shown on
//! hover.

use std::fmt::Write;

/// The drawing area, in SVG user units (the drawing scales to the width of its container).
const WIDTH: f64 = 640.0;
/// Height of a column chart.
const COLUMNS_HEIGHT: f64 = 220.0;
/// Room left of the plot for the value axis' labels.
const LEFT: f64 = 40.0;
/// Room right of the plot.
const RIGHT: f64 = 8.0;
/// Room above the plot (the top label).
const TOP: f64 = 12.0;
/// Room under the plot for the bars' labels.
const BOTTOM: f64 = 28.0;
/// Share of a bar's slot the bar fills (the rest is the gap to the next one).
const BAR_FILL: f64 = 0.7;
/// At most this many bar labels fit under the plot; the others are skipped evenly, counting
/// from the last bar.
const MAX_LABELS: usize = 8;
/// Height of a share chart.
const SHARE_HEIGHT: f64 = 36.0;
/// Height of the share chart's bar.
const SHARE_BAR: f64 = 28.0;

/// One column: its value, the label under it (shown for every few bars when many), and what a
/// pointer resting on it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Column {
    /// What the column stands for, e.g. a day: `data-key` and the label.
    pub(super) label: String,
    /// Its value, at least 0.
    pub(super) value: i64,
    /// The hover text, e.g. `2026-03-14: 12 calls`.
    pub(super) title: String,
}

/// One part of a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Part {
    /// What it is, e.g. `Owner answered`.
    pub(super) label: String,
    /// How many, at least 0.
    pub(super) value: i64,
    /// Its colour (a CSS colour).
    pub(super) colour: &'static str,
}

/// `text` safe inside SVG text and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// `value` in user units, one decimal (enough at this size, and stable in tests).
fn units(value: f64) -> String {
    format!("{value:.1}")
}

/// The opening tag of a drawing of `height` summarised by `summary`.
fn open(height: f64, summary: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%" preserveAspectRatio="xMinYMid meet" focusable="false">"##,
        escape(summary),
        units(WIDTH),
        units(height)
    )
}

/// `part` of `whole` in whole percent, rounded (0 when the whole is 0).
pub(super) fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        0
    } else {
        (part.max(0) * 200 + whole) / (2 * whole)
    }
}

/// A column chart of `columns`, left to right, scaled so the tallest reaches the top of the
/// plot; `empty` is written across the plot when there is nothing to draw (no columns, or all
/// at 0). Each column is a `<rect class="bar">` with `data-key`, `data-value` and a `<title>`.
pub(super) fn columns(columns: &[Column], summary: &str, empty: &str) -> String {
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = COLUMNS_HEIGHT - TOP - BOTTOM;
    let baseline = TOP + plot_height;
    let max = columns.iter().map(|c| c.value.max(0)).max().unwrap_or(0);
    let mut svg = open(COLUMNS_HEIGHT, summary);
    // The axes: the baseline with 0, and a line at the top with the largest value.
    let _ = write!(
        svg,
        r##"<line class="axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}" stroke="#98a2b3"/><text class="tick" x="{label_x}" y="{base}" text-anchor="end" dominant-baseline="middle" font-size="11" fill="#5a6474">0</text>"##,
        left = units(LEFT),
        right = units(LEFT + plot_width),
        base = units(baseline),
        label_x = units(LEFT - 6.0),
    );
    if max > 0 {
        let _ = write!(
            svg,
            r##"<line class="grid" x1="{left}" y1="{top}" x2="{right}" y2="{top}" stroke="#d8dde6" stroke-dasharray="4 4"/><text class="tick" x="{label_x}" y="{top}" text-anchor="end" dominant-baseline="middle" font-size="11" fill="#5a6474">{max}</text>"##,
            left = units(LEFT),
            right = units(LEFT + plot_width),
            top = units(TOP),
            label_x = units(LEFT - 6.0),
        );
    }
    let slot = if columns.is_empty() {
        0.0
    } else {
        plot_width / columns.len() as f64
    };
    let label_every = columns.len().div_ceil(MAX_LABELS).max(1);
    for (index, column) in columns.iter().enumerate() {
        let value = column.value.max(0);
        let height = if max > 0 {
            value as f64 / max as f64 * plot_height
        } else {
            0.0
        };
        let x = LEFT + slot * index as f64 + slot * (1.0 - BAR_FILL) / 2.0;
        let _ = write!(
            svg,
            r##"<rect class="bar" data-key="{key}" data-value="{value}" x="{x}" y="{y}" width="{width}" height="{height}" fill="#1f5fbf"><title>{title}</title></rect>"##,
            key = escape(&column.label),
            x = units(x),
            y = units(baseline - height),
            width = units(slot * BAR_FILL),
            height = units(height),
            title = escape(&column.title),
        );
        // Counted from the last column, so the newest always has its label.
        if (columns.len() - 1 - index).is_multiple_of(label_every) {
            let _ = write!(
                svg,
                r##"<text class="label" x="{x}" y="{y}" text-anchor="middle" font-size="11" fill="#5a6474">{label}</text>"##,
                x = units(LEFT + slot * (index as f64 + 0.5)),
                y = units(baseline + 18.0),
                label = escape(&column.label),
            );
        }
    }
    if max == 0 {
        let _ = write!(
            svg,
            r##"<text class="empty" x="{x}" y="{y}" text-anchor="middle" font-size="14" fill="#5a6474">{empty}</text>"##,
            x = units(LEFT + plot_width / 2.0),
            y = units(TOP + plot_height / 2.0),
            empty = escape(empty),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One bar split into `parts` in proportion to their values (the page gives the legend);
/// `empty` is written instead when the parts add up to 0. Each part is a `<rect class="part">`
/// with `data-key`, `data-value` and a `<title>` giving its share.
pub(super) fn share(parts: &[Part], summary: &str, empty: &str) -> String {
    let width = WIDTH - RIGHT;
    let total: i64 = parts.iter().map(|part| part.value.max(0)).sum();
    let mut svg = open(SHARE_HEIGHT, summary);
    if total == 0 {
        let _ = write!(
            svg,
            r##"<rect x="0.0" y="4.0" width="{width}" height="{bar}" fill="#eef1f5"/><text class="empty" x="{x}" y="{y}" text-anchor="middle" dominant-baseline="middle" font-size="14" fill="#5a6474">{empty}</text></svg>"##,
            width = units(width),
            bar = units(SHARE_BAR),
            x = units(width / 2.0),
            y = units(4.0 + SHARE_BAR / 2.0),
            empty = escape(empty),
        );
        return svg;
    }
    let mut x = 0.0;
    for part in parts {
        let value = part.value.max(0);
        let part_width = value as f64 / total as f64 * width;
        let _ = write!(
            svg,
            r##"<rect class="part" data-key="{key}" data-value="{value}" x="{x}" y="4.0" width="{w}" height="{bar}" fill="{colour}"><title>{key}: {value} ({share}%)</title></rect>"##,
            key = escape(&part.label),
            x = units(x),
            w = units(part_width),
            bar = units(SHARE_BAR),
            colour = escape(part.colour),
            share = percent(value, total),
        );
        x += part_width;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests;
