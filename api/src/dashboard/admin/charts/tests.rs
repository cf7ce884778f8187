use super::*;

fn column(label: &str, value: i64) -> Column {
    Column {
        label: label.to_owned(),
        value,
        title: format!("{label}: {value} calls"),
    }
}

/// The value of attribute `name` of every element starting with `opening` (e.g.
/// `<rect class="bar"`), in order.
fn attributes(svg: &str, opening: &str, name: &str) -> Vec<String> {
    svg.match_indices(opening)
        .map(|(at, _)| {
            let element = &svg[at..at + svg[at..].find('>').unwrap()];
            let start = element.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            let length = element[start..].find('"').unwrap();
            element[start..start + length].to_owned()
        })
        .collect()
}

fn heights(svg: &str) -> Vec<String> {
    attributes(svg, "<rect class=\"bar\"", "height")
}

#[test]
fn it_should_scale_the_columns_so_the_tallest_reaches_the_top() {
    let svg = columns(
        &[column("a", 5), column("b", 10), column("c", 0)],
        "summary",
        "nothing",
    );

    // The plot is 220 - 12 - 28 = 180 units high.
    assert_eq!(heights(&svg), ["90.0", "180.0", "0.0"]);
    assert_eq!(
        attributes(&svg, "<rect class=\"bar\"", "y"),
        ["102.0", "12.0", "192.0"]
    );
    assert_eq!(
        attributes(&svg, "<rect class=\"bar\"", "data-value"),
        ["5", "10", "0"]
    );
    assert!(
        svg.contains(">10</text>"),
        "the top of the axis says the maximum"
    );
    assert!(svg.contains(">0</text>"), "the baseline says 0");
    assert!(svg.contains("<title>b: 10 calls</title>"));
    assert!(!svg.contains("nothing"));
}

#[test]
fn it_should_say_so_when_there_is_nothing_to_draw() {
    let none = columns(&[], "No data", "No calls yet");
    let zeros = columns(
        &[column("a", 0), column("b", 0)],
        "All zero",
        "No calls yet",
    );

    assert!(none.contains("No calls yet"));
    assert!(heights(&none).is_empty());
    assert!(zeros.contains("No calls yet"));
    assert_eq!(heights(&zeros), ["0.0", "0.0"]);
    assert!(none.starts_with("<svg") && none.ends_with("</svg>"));
}

#[test]
fn it_should_draw_a_single_day_across_the_plot() {
    let svg = columns(&[column("2026-03-14", 3)], "One day", "none");

    assert_eq!(heights(&svg), ["180.0"]);
    // 70% of the 592-unit plot, centred in it.
    assert_eq!(attributes(&svg, "<rect class=\"bar\"", "width"), ["414.4"]);
    assert_eq!(attributes(&svg, "<rect class=\"bar\"", "x"), ["128.8"]);
    assert!(svg.contains(">2026-03-14</text>"));
}

#[test]
fn it_should_escape_labels_titles_and_the_summary() {
    let hostile = Column {
        label: "<b>&\"x\"".to_owned(),
        value: 1,
        title: "</title><script>alert(1)</script>".to_owned(),
    };

    let svg = columns(&[hostile], "Joe's <calls>", "none");

    assert!(!svg.contains("<b>") && !svg.contains("<script>"), "{svg}");
    assert!(svg.contains("&lt;b&gt;&amp;&quot;x&quot;"));
    assert!(svg.contains("&lt;/title&gt;&lt;script&gt;"));
    assert!(svg.contains(r#"aria-label="Joe&#39;s &lt;calls&gt;""#));
    let parts = share(
        &[Part {
            label: "<i>".to_owned(),
            value: 1,
            colour: "red",
        }],
        "s",
        "none",
    );
    assert!(!parts.contains("<i>") && parts.contains("&lt;i&gt;"));
}

#[test]
fn it_should_label_at_most_a_few_columns_always_the_last() {
    let month: Vec<Column> = (1..=30)
        .map(|day| column(&format!("d{day}"), day))
        .collect();

    let svg = columns(&month, "A month", "none");

    let labels = attributes(&svg, "<text class=\"label\"", "x");
    assert!(labels.len() <= MAX_LABELS, "{labels:?}");
    assert!(svg.contains(">d30</text>"));
    assert!(!svg.contains(">d29</text>"));
    assert_eq!(heights(&svg).len(), 30);
    assert_eq!(svg.matches("role=\"img\"").count(), 1);
}

#[test]
fn it_should_split_the_share_bar_in_proportion_with_rounded_percentages() {
    let parts = [
        Part {
            label: "Owner".to_owned(),
            value: 1,
            colour: "#1e7b3c",
        },
        Part {
            label: "AI".to_owned(),
            value: 2,
            colour: "#1f5fbf",
        },
        Part {
            label: "Missed".to_owned(),
            value: 1,
            colour: "#9a5b00",
        },
    ];

    let svg = share(&parts, "Shares", "none");

    // 632 units wide: 158, 316, 158.
    assert_eq!(
        attributes(&svg, "<rect class=\"part\"", "width"),
        ["158.0", "316.0", "158.0"]
    );
    assert_eq!(
        attributes(&svg, "<rect class=\"part\"", "x"),
        ["0.0", "158.0", "474.0"]
    );
    assert!(svg.contains("<title>AI: 2 (50%)</title>"));
    assert!(share(&[], "Nothing", "No calls yet").contains("No calls yet"));
    let zero = Part {
        value: 0,
        ..parts[0].clone()
    };
    assert!(share(&[zero], "Nothing", "No calls yet").contains("No calls yet"));
}

#[test]
fn it_should_round_percentages_to_the_nearest_whole() {
    assert_eq!(percent(1, 3), 33);
    assert_eq!(percent(2, 3), 67);
    assert_eq!(percent(1, 8), 13);
    assert_eq!(percent(0, 0), 0);
    assert_eq!(percent(5, 5), 100);
}
