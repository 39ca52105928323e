import Foundation
import TallyCore

/// An allocation's burn-down as SVG: cumulative use against the amount granted, and the projection
/// at the current burn rate. Drawn on the server like the other charts; the series carry their names.
struct BurnDownChart {
    var title: String
    var unit: String
    var amount: Double
    var start: Int64
    var end: Int64
    /// Cumulative use at instants, in order.
    var used: [(instant: Int64, value: Double)]
    /// Where the projection reaches the amount (or the end), from the last used point.
    var projection: (instant: Int64, value: Double)?

    var svg: String {
        let width = 860.0, height = 300.0, left = 70.0, right = 170.0, top = 30.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let peak = max(amount, used.map(\.value).max() ?? 0, projection?.value ?? 0)
        let (axisTop, step) = StackedBarChart.axis(peak)
        let span = Double(max(1, end - start))
        func x(_ instant: Int64) -> Double { left + Double(min(max(instant, start), end) - start) / span * plotWidth }
        func y(_ value: Double) -> Double { top + plotHeight - value / axisTop * plotHeight }
        func f(_ value: Double) -> String { fixedPoint(value, places: 1) }
        var out = """
            <svg class="chart" role="img" aria-labelledby="bd-title bd-desc" viewBox="0 0 \(Int(width)) \(Int(height))" xmlns="http://www.w3.org/2000/svg">
            <title id="bd-title">\(StackedBarChart.escape(title))</title>
            <desc id="bd-desc">Cumulative \(StackedBarChart.escape(unit)) used against \(StackedBarChart.label(amount)) granted</desc>
            """
        var tick = 0.0
        while tick <= axisTop + step / 2 {
            out += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(y(tick)))\" y2=\"\(f(y(tick)))\" stroke=\"#e3e3e3\"/>"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y(tick) + 4))\" text-anchor=\"end\" font-size=\"11\">\(StackedBarChart.label(tick))</text>"
            tick += step
        }
        out += "<text x=\"14\" y=\"\(f(top + plotHeight / 2))\" transform=\"rotate(-90 14 \(f(top + plotHeight / 2)))\" text-anchor=\"middle\" font-size=\"12\">\(StackedBarChart.escape(unit))</text>"
        for (instant, anchor) in [(start, "start"), (end, "end")] {
            out += "<text x=\"\(f(x(instant)))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"\(anchor)\" font-size=\"11\">\(String(UTCDay.timestamp(instant).prefix(10)))</text>"
        }
        out += "<line data-series=\"granted\" x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(y(amount)))\" y2=\"\(f(y(amount)))\" stroke=\"#D55E00\" stroke-width=\"2\"><title>granted: \(StackedBarChart.label(amount)) \(StackedBarChart.escape(unit))</title></line>"
        let points = ([(start, 0.0)] + used.map { ($0.instant, $0.value) }).map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " ")
        out += "<polyline data-series=\"used\" fill=\"none\" stroke=\"#0072B2\" stroke-width=\"2.5\" points=\"\(points)\"><title>used</title></polyline>"
        if let projection, let last = used.last {
            out += "<line data-series=\"projection\" x1=\"\(f(x(last.instant)))\" y1=\"\(f(y(last.value)))\" x2=\"\(f(x(projection.instant)))\" y2=\"\(f(y(projection.value)))\" stroke=\"#0072B2\" stroke-dasharray=\"6 4\" stroke-width=\"2\"><title>projected at the current burn rate</title></line>"
        }
        // Each entry drawn as its own line (solid, dashed, orange), so the swatches differ as the series do.
        let legend = [("#0072B2", "", "used"), ("#0072B2", " stroke-dasharray=\"6 4\"", "projected"), ("#D55E00", "", "granted")]
        for (index, entry) in legend.enumerated() {
            let ly = top + Double(index) * 20 + 6
            out += "<line data-legend=\"\(entry.2)\" x1=\"\(f(left + plotWidth + 12))\" x2=\"\(f(left + plotWidth + 40))\" y1=\"\(f(ly))\" y2=\"\(f(ly))\" stroke=\"\(entry.0)\" stroke-width=\"2.5\"\(entry.1)/>"
            out += "<text x=\"\(f(left + plotWidth + 46))\" y=\"\(f(ly + 4))\" font-size=\"12\">\(entry.2)</text>"
        }
        return out + "</svg>"
    }
}
