import Foundation
import TallyCore

/// A stacked bar chart as SVG, drawn on the server: no script, no network, readable by screen
/// readers (a title, a description and a tooltip per bar), series named after what they are.
struct StackedBarChart {
    var title: String
    /// What the y axis measures, with its unit ("core hours").
    var measure: String
    var categories: [String]
    var series: [(name: String, values: [Double])]
    /// Periods the window cuts short: drawn lighter and labelled partial.
    var partial: Set<Int> = []
    /// Where a series (its bars and legend entry) drills down to; nil for none ("other").
    var link: ((String) -> String)? = nil

    /// Colour-blind-safe (Okabe–Ito), then greys.
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
                          "#999999", "#666666"]

    /// HTML-escapes `&`, `<`, `>` and `"`. Byte by byte: Foundation's replacingOccurrences bridged
    /// every table cell through CFString and was a fifth of a large page's time.
    static func escape(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
                                     || $0 == UInt8(ascii: "\"") }) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count + 16)
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "&"): bytes.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): bytes.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): bytes.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): bytes.append(contentsOf: "&quot;".utf8)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A round axis maximum and step (1, 2 or 5 × 10ⁿ) for `maximum`.
    static func axis(_ maximum: Double) -> (top: Double, step: Double) {
        guard maximum > 0 else { return (1, 0.25) }
        let rough = maximum / 5
        let power = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        return ((maximum / step).rounded(.up) * step, step)
    }

    /// `1,234,567.8`: thousands separated, one decimal below 1,000 when not whole.
    static func grouped(_ value: Double, places: Int? = nil) -> String {
        let decimals = places ?? (abs(value) >= 1000 || value == value.rounded() ? 0 : 1)
        let text = fixedPoint(value, places: decimals)
        let parts = text.split(separator: ".", maxSplits: 1)
        var whole = String(parts[0])
        let negative = whole.hasPrefix("-")
        if negative { whole.removeFirst() }
        var groups: [String] = []
        while whole.count > 3 { groups.insert(String(whole.suffix(3)), at: 0); whole.removeLast(3) }
        groups.insert(whole, at: 0)
        return (negative ? "-" : "") + groups.joined(separator: ",") + (parts.count > 1 ? "." + parts[1] : "")
    }

    static func label(_ value: Double) -> String {
        if value >= 1_000_000 { return fixedPoint(value / 1_000_000, places: 1) + "M" }
        if value >= 10_000 { return fixedPoint(value / 1000, places: 0) + "k" }
        if value == value.rounded() { return fixedPoint(value, places: 0) }
        return fixedPoint(value, places: 2)
    }

    var svg: String {
        let width = 860.0, height = 360.0, left = 70.0, right = 190.0, top = 30.0, bottom = 60.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let totals = categories.indices.map { index in series.reduce(0) { $0 + ($1.values[index]) } }
        let (axisTop, step) = Self.axis(totals.max() ?? 0)
        let slot = plotWidth / Double(max(categories.count, 1))
        let barWidth = max(1, slot * 0.7)
        func y(_ value: Double) -> Double { top + plotHeight - value / axisTop * plotHeight }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" \
            aria-labelledby="chart-title chart-desc" class="chart" data-measure="\(Self.escape(measure))">
            <title id="chart-title">\(Self.escape(title))</title>
            <desc id="chart-desc">\(Self.escape(measure)) per period, stacked by \(series.count) series: \
            \(Self.escape(series.map(\.name).joined(separator: ", ")))</desc>

            """
        // Grid and y axis.
        var tick = 0.0
        while tick <= axisTop + step / 2 {
            out += """
                <line x1="\(left)" x2="\(left + plotWidth)" y1="\(y(tick))" y2="\(y(tick))" stroke="#ddd"/>\
                <text x="\(left - 6)" y="\(y(tick) + 4)" text-anchor="end" font-size="11">\(Self.label(tick))</text>

                """
            tick += step
        }
        out += """
            <text x="16" y="\(top + plotHeight / 2)" font-size="12" text-anchor="middle" \
            transform="rotate(-90 16 \(top + plotHeight / 2))">\(Self.escape(measure))</text>

            """
        // Bars.
        for (seriesIndex, entry) in series.enumerated() {
            let colour = Self.palette[seriesIndex % Self.palette.count]
            let href = entry.name.hasPrefix("other (") ? nil : link?(entry.name)
            if let href { out += "<a href=\"\(Self.escape(href))\">" }
            out += "<g class=\"series\" data-series=\"\(Self.escape(entry.name))\" fill=\"\(colour)\">\n"
            for (index, value) in entry.values.enumerated() where value > 0 {
                let below = series[..<seriesIndex].reduce(0) { $0 + $1.values[index] }
                let x = left + Double(index) * slot + (slot - barWidth) / 2
                out += """
                    <rect x="\(x)" y="\(y(below + value))" width="\(barWidth)" height="\(y(below) - y(below + value))"\
                    \(partial.contains(index) ? " fill-opacity=\"0.45\" class=\"partial\"" : "")>\
                    <title>\(Self.escape(entry.name)), \(Self.escape(categories[index]))\(partial.contains(index) ? " (partial)" : ""): \
                    \(Self.grouped(value)) \(Self.escape(measure))</title></rect>

                    """
            }
            out += "</g>\n"
            if href != nil { out += "</a>" }
        }
        // X axis labels: as many as fit side by side (about 90 px each).
        let fitting = max(1, Int(plotWidth / 90))
        let every = max(1, Int((Double(categories.count) / Double(fitting)).rounded(.up)))
        for (index, name) in categories.enumerated() where index % every == 0 {
            let x = left + (Double(index) + 0.5) * slot
            out += """
                <text x="\(x)" y="\(top + plotHeight + 16)" font-size="11" text-anchor="middle">\(Self.escape(name))\
                \(partial.contains(index) ? " (partial)" : "")</text>

                """
        }
        out += "<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(y(0))\" y2=\"\(y(0))\" stroke=\"#333\"/>\n"
        // Legend, named after the real series.
        for (index, entry) in series.enumerated() {
            let legendY = top + Double(index) * 18
            let href = entry.name.hasPrefix("other (") ? nil : link?(entry.name)
            if let href { out += "<a href=\"\(Self.escape(href))\">" }
            defer { if href != nil { out += "</a>" } }
            out += """
                <rect x="\(left + plotWidth + 16)" y="\(legendY)" width="12" height="12" \
                fill="\(Self.palette[index % Self.palette.count])"/>\
                <text x="\(left + plotWidth + 34)" y="\(legendY + 10)" font-size="12" class="legend">\(Self.escape(entry.name))</text>

                """
        }
        return out + "</svg>"
    }
}
