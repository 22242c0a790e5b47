//! `--plot FILE.svg`: the run as a picture. Top row: median spawn+wait time against the parent's
//! resident size, one panel per latency scenario, log scale (the fork lines climb, the
//! vfork-class lines stay flat). Bottom row, when the threads scenario ran: spawns per second
//! against the number of threads, one panel per parent size.

use super::methods::Method;
use super::report::Row;
use super::sizes::size_name;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::RangedCoordu32;
use plotters::prelude::*;
use std::path::Path;

const PANEL_W: u32 = 520;
const PANEL_H: u32 = 400;

/// The same colour for a method in every panel; forkexec stands out.
fn colour(m: Method) -> RGBColor {
    match m {
        Method::Forkexec => RGBColor(214, 39, 40),
        Method::Std => RGBColor(31, 119, 180),
        Method::StdPreExec => RGBColor(148, 103, 189),
        Method::PosixSpawn => RGBColor(44, 160, 44),
        Method::ForkExec => RGBColor(255, 127, 14),
        Method::VforkExec => RGBColor(127, 127, 127),
        Method::VforkPidfd => RGBColor(23, 23, 23),
        Method::ForkexecTokio => RGBColor(227, 119, 194),
        Method::TokioProcess => RGBColor(23, 190, 207),
        Method::Bwrap => RGBColor(140, 86, 75),
    }
}

fn unique<T: PartialEq + Copy>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Draws `rows` into the SVG file `path`.
pub fn draw(path: &Path, rows: &[Row]) -> Result<(), String> {
    let latency: Vec<&Row> = rows.iter().filter(|r| r.threads.is_none()).collect();
    let rates: Vec<&Row> = rows.iter().filter(|r| r.threads.is_some()).collect();
    let scenarios = unique(latency.iter().map(|r| r.scenario.as_str()));
    let rate_sizes = unique(rates.iter().map(|r| r.rss_mib));
    let cols = scenarios.len().max(rate_sizes.len()).max(1) as u32;
    let rows_of_panels = (!scenarios.is_empty()) as u32 + (!rate_sizes.is_empty()) as u32;
    let size = (cols * PANEL_W, rows_of_panels.max(1) * PANEL_H);
    let root = SVGBackend::new(path, size).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let bands = root.split_evenly((rows_of_panels.max(1) as usize, 1));
    let mut band = bands.iter();
    if !scenarios.is_empty() {
        let panels = band
            .next()
            .expect("a band")
            .split_evenly((1, cols as usize));
        for (area, scenario) in panels.iter().zip(&scenarios) {
            let mine: Vec<&Row> = latency
                .iter()
                .copied()
                .filter(|r| r.scenario == *scenario)
                .collect();
            latency_panel(area, scenario, &mine).map_err(e)?;
        }
    }
    if !rate_sizes.is_empty() {
        let panels = band
            .next()
            .expect("a band")
            .split_evenly((1, cols as usize));
        for (area, &mib) in panels.iter().zip(&rate_sizes) {
            let mine: Vec<&Row> = rates.iter().copied().filter(|r| r.rss_mib == mib).collect();
            rate_panel(area, mib, &mine).map_err(e)?;
        }
    }
    root.present().map_err(e)?;
    Ok(())
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type Drawn<'a> = Result<(), DrawingAreaErrorKind<<SVGBackend<'a> as DrawingBackend>::ErrorType>>;
/// A panel's x axis: categories (sizes or thread counts) at even steps.
type Categories = SegmentedCoord<RangedCoordu32>;

/// Evenly spaced categories 0..n (plotters' integer ranges include their end).
fn categories(n: usize) -> std::ops::Range<u32> {
    0..(n.max(1) - 1) as u32
}

fn latency_panel<'a>(area: &Area<'a>, scenario: &str, rows: &[&Row]) -> Drawn<'a> {
    let sizes = unique(rows.iter().map(|r| r.rss_mib));
    let values: Vec<f64> = rows
        .iter()
        .map(|r| r.median_us)
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let lo = values
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .max(1.0)
        / 1.5;
    let hi = values.iter().copied().fold(0.0, f64::max).max(lo * 2.0) * 4.0;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{scenario}: median spawn+wait"), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            categories(sizes.len()).into_segmented(),
            (lo..hi).log_scale(),
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(BLACK.mix(0.04))
        .x_desc("parent resident size")
        .y_desc("microseconds (log scale)")
        .x_label_formatter(&|v| category(v, &sizes, |&m| size_name(m)))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    let x = |r: &Row| sizes.iter().position(|&s| s == r.rss_mib);
    draw_methods(&mut chart, rows, x, |r| r.median_us)
}

fn rate_panel<'a>(area: &Area<'a>, mib: u64, rows: &[&Row]) -> Drawn<'a> {
    let threads = unique(rows.iter().filter_map(|r| r.threads));
    // Headroom above the highest point for the legend.
    let hi = rows
        .iter()
        .filter_map(|r| r.spawns_per_s)
        .fold(1.0, f64::max)
        * 1.8;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("threads, parent {}: spawns per second", size_name(mib)),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(categories(threads.len()).into_segmented(), 0.0..hi)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(BLACK.mix(0.04))
        .x_desc("threads spawning at once")
        .y_desc("spawns/s")
        .x_label_formatter(&|v| category(v, &threads, |t| t.to_string()))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    let x = |r: &Row| threads.iter().position(|&t| Some(t) == r.threads);
    draw_methods(&mut chart, rows, x, |r| r.spawns_per_s.unwrap_or(f64::NAN))
}

/// The label of category `v`.
fn category<T>(v: &SegmentValue<u32>, items: &[T], name: impl Fn(&T) -> String) -> String {
    match v {
        SegmentValue::CenterOf(i) => items.get(*i as usize).map_or(String::new(), name),
        _ => String::new(),
    }
}

/// One line with points per method, in `Method::ALL` order, and the legend.
fn draw_methods<'a, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<Categories, Y>>,
    rows: &[&Row],
    x: impl Fn(&Row) -> Option<usize>,
    y: impl Fn(&Row) -> f64,
) -> Drawn<'a> {
    for m in Method::ALL {
        let points: Vec<(SegmentValue<u32>, f64)> = rows
            .iter()
            .filter(|r| r.method == m.id())
            .filter_map(|r| Some((SegmentValue::CenterOf(x(r)? as u32), y(r))))
            .filter(|&(_, v)| v.is_finite() && v > 0.0)
            .collect();
        if points.is_empty() {
            continue;
        }
        let c = colour(m);
        let width = if m == Method::Forkexec { 3 } else { 2 };
        chart
            .draw_series(LineSeries::new(points.clone(), c.stroke_width(width)))?
            .label(m.label())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(width))
            });
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, c.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()?;
    Ok(())
}
