import Foundation
import Hummingbird
import TallyApp
import TallyCore
import TallyStore

/// The dashboard `tally serve` shows under `/`: HTML drawn on the server with SVG charts, every
/// view's state in its URL, figures from the same reports as `tally report` and the API.
struct DashboardPages: Sendable {
    let store: any UsageStore
    let choices: FilterChoices

    init(store: any UsageStore) {
        self.store = store
        choices = FilterChoices(store: store)
    }

    static func escape(_ text: String) -> String { StackedBarChart.escape(text) }

    /// Dimensions a view can group by.
    static let dimensions: [ReportDimension] = [.account, .group, .user, .partition, .cluster, .site, .gpuClass,
                                                .gpuModel, .organisation, .qos, .state, .jobSize, .wallBucket]
    static let metrics: [Metric] = [.coreHours, .jobs, .gpuHours, .wallHours, .cpuHours, .benchmarkHours,
                                    .normalisedGPUHours, .serviceUnits]

    // MARK: Layout

    /// What a person sees when a page cannot be shown: what went wrong, what to do, a way back.
    static func errorPage(_ status: HTTPResponse.Status, message: String, request: Request) -> Response {
        let advice = switch status.code {
        case 404: "Use the links above to reach the pages Tally has."
        case 403: "Ask the server's operator for a token that covers this page."
        default: "Change the value in the form (or the address) and try again."
        }
        let body = "<p role=\"alert\">\(escape(message))</p><p>\(advice)</p><p><a href=\"/\">Back to the overview</a></p>"
        let html = DashboardPages.layout("\(status.code) · \(status.reasonPhrase)", current: "", body)
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func page(_ title: String, current: String, _ body: String) -> ByteBuffer {
        ByteBuffer(string: Self.layout(title, current: current, body))
    }

    static func layout(_ title: String, current: String, _ body: String) -> String {
        let links = [("/", "Overview"), ("/explore", "Explorer"), ("/gpu", "GPUs"), ("/allocations", "Allocations"),
                     ("/quality", "Data quality")]
        let nav = links.map { path, name in
            "<a href=\"\(path)\"\(path == current ? " aria-current=\"page\"" : "")>\(name)</a>"
        }.joined(separator: " ")
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title)) · Tally</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:0;color:#222}header{background:#12355b;color:#fff;padding:.6em 1em}
            header a{color:#fff;margin-right:1.2em}header a[aria-current]{font-weight:bold;text-decoration:underline}
            main{padding:1em 1.5em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}
            th,td{border-bottom:1px solid #ddd;padding:.3em .7em;text-align:left}td.n,th.n{text-align:right}
            caption{text-align:left;font-weight:bold;padding:.4em 0}form{display:flex;flex-wrap:wrap;gap:.8em;align-items:end}
            label{display:flex;flex-direction:column;font-size:.85em}.totals{display:flex;gap:1.5em;flex-wrap:wrap}
            .totals div{background:#f2f5f9;padding:.6em 1em;border-radius:4px}.totals b{display:block;font-size:1.4em}
            svg.chart{max-width:100%;height:auto}:focus{outline:3px solid #E69F00}
            .scroll{overflow-x:auto;max-width:100%}header a.out{float:right;margin-right:0}
            input::placeholder{color:#999;font-style:italic}.presets a{margin-right:.8em}
            .exhausted,.at-risk,.on-track,.ended{padding:.1em .45em;border-radius:3px;white-space:nowrap}
            .exhausted{color:#fff;background:#b00020;font-weight:bold}.at-risk{background:#ffd27a}
            .on-track{background:#d7f0dd}.ended{background:#e6e6e6}
            /* Phones: charts keep a readable scale (10 px text and up) and scroll sideways in their box. */
            @media (max-width:600px){main{padding:.6em}th,td{padding:.25em .4em;font-size:.9em}
            svg.chart{min-width:780px}header a{margin-right:.6em}h1{font-size:1.4em}}
            </style></head>
            <body><header><nav aria-label="Views"><strong>Tally</strong> · \(nav)
            <a class="out" href="/logout">Sign out</a></nav></header>
            <main><h1>\(Self.escape(title))</h1>
            \(body)
            </main>\(body.contains("data-png") ? pngScript : "")</body></html>
            """
        return html
    }

    /// The chart as PNG, drawn by the browser from the page's own SVG (no server round trip, no
    /// external script): a link with `data-png` saves it; `#png` in the address shows it inline.
    static let pngScript = """
        <script>
        function tallyChartPNG(done){var s=document.querySelector('svg.chart');if(!s)return;var v=s.viewBox.baseVal;
        var i=new Image();i.onload=function(){var c=document.createElement('canvas');c.width=v.width*2;c.height=v.height*2;
        var g=c.getContext('2d');g.fillStyle='#fff';g.fillRect(0,0,c.width,c.height);g.drawImage(i,0,0,c.width,c.height);
        done(c.toDataURL('image/png'))};
        i.src='data:image/svg+xml;charset=utf-8,'+encodeURIComponent(new XMLSerializer().serializeToString(s))}
        document.querySelectorAll('[data-png]').forEach(function(l){l.hidden=false;l.addEventListener('click',function(e){
        e.preventDefault();tallyChartPNG(function(u){var a=document.createElement('a');a.download='tally-chart.png';a.href=u;
        document.body.appendChild(a);a.click();a.remove()})})});
        if(location.hash==='#png')tallyChartPNG(function(u){var m=document.createElement('img');m.id='chart-png';m.alt='The chart as PNG';
        m.src=u;m.style.maxWidth='100%';document.querySelector('main').appendChild(m)});
        </script>
        """

    /// A cell as a person reads it: numbers with thousands separators (the CSV keeps them plain).
    static func readable(_ cell: Table.Cell) -> String {
        switch cell {
        case let .integer(value): StackedBarChart.grouped(Double(value), places: 0)
        case let .decimal(value, places): StackedBarChart.grouped(value, places: places)
        case let .text(text) where text.contains("T00:00:00"): text.replacingOccurrences(of: "T00:00:00", with: "")
        default: cell.plain
        }
    }

    /// A semantic table of report cells (the figures of `tally report` and the API, grouped by
    /// thousands), in a box that scrolls sideways on a narrow screen. `sorted`: the column the
    /// rows are ordered by and whether descending; `totals`: a footer row; `rows`: the range shown.
    func table(_ table: Table, caption: String, sortLink: ((Int) -> String)? = nil, limit: Int? = nil,
               sorted: (column: Int, descending: Bool)? = nil, totals: [Table.Cell]? = nil,
               cellLink: ((Int, Table.Cell) -> String?)? = nil, cellClass: ((Int, Int) -> String?)? = nil,
               rows: Range<Int>? = nil) -> String {
        var out = "<div class=\"scroll\"><table><caption>\(Self.escape(caption))</caption><thead><tr>"
        for (index, column) in table.columns.enumerated() {
            let numeric = table.numericColumns.contains(index)
            var title = Self.escape(column)
            var sortAttribute = ""
            if let sorted, sorted.column == index {
                title += sorted.descending ? " ▼" : " ▲"
                sortAttribute = " aria-sort=\"\(sorted.descending ? "descending" : "ascending")\""
            }
            let cell = sortLink.map { "<a href=\"\(Self.escape($0(index)))\">\(title)</a>" } ?? title
            out += "<th scope=\"col\"\(numeric ? " class=\"n\"" : "")\(sortAttribute)>\(cell)</th>"
        }
        out += "</tr></thead><tbody>"
        let shown = rows ?? 0..<min(limit ?? table.rows.count, table.rows.count)
        for rowIndex in shown.clamped(to: 0..<table.rows.count) {
            out += "<tr>"
            for (index, cell) in table.rows[rowIndex].enumerated() {
                var text = Self.escape(Self.readable(cell))
                if let href = cellLink?(index, cell) { text = "<a href=\"\(Self.escape(href))\">\(text)</a>" }
                if let name = cellClass?(rowIndex, index) { text = "<span class=\"\(name)\">\(text)</span>" }
                out += "<td\(table.numericColumns.contains(index) ? " class=\"n\"" : "")>\(text)</td>"
            }
            out += "</tr>"
        }
        out += "</tbody>"
        if let totals {
            out += "<tfoot><tr>" + totals.enumerated().map { index, cell in
                "<th scope=\"row\"\(table.numericColumns.contains(index) ? " class=\"n\"" : "")>\(Self.escape(Self.readable(cell)))</th>"
            }.joined() + "</tr></tfoot>"
        }
        return out + "</table></div>"
    }

    /// Series of `metric` per period, one per group key (the largest `top`, the rest as "other").
    /// The time axis is proportional: every period between the first and the last with data gets
    /// its slot (empty ones show as gaps), and a period the window cuts short is marked partial.
    /// `link` turns a series name into the URL it drills down to.
    func chart(_ report: Report, metric: Metric, title: String, top: Int = 8,
               link: ((String) -> String)? = nil) -> String {
        // Report rows come in period order (periods are the distinct runs) and by name within a
        // period, so a name usually follows the one that followed the previous row's name in an
        // earlier period: that guess is checked before hashing (a year of days has 180,000 rows).
        var periods: [Period] = []
        var names: [String] = [], indexOfName: [String: Int] = [:], following: [Int] = []
        var values: [[Double]] = []
        var previous = -1
        let rows = report.rows
        for position in rows.indices {
            let period = rows[position].period
            if periods.last?.start != period.start || periods.last?.end != period.end {
                periods.append(period)
                previous = -1
            }
            let name = rows[position].keys.first.map { $0.isEmpty ? "(none)" : $0 } ?? "all"
            var index = previous >= 0 ? following[previous] : (names.isEmpty ? -1 : 0)
            if index < 0 || names[index] != name {
                if let known = indexOfName[name] {
                    index = known
                } else {
                    index = names.count
                    names.append(name)
                    indexOfName[name] = index
                    following.append(-1)
                    values.append([])
                }
            }
            if previous >= 0 { following[previous] = index }
            previous = index
            let slot = periods.count - 1
            if values[index].count <= slot {
                values[index].append(contentsOf: repeatElement(0, count: slot + 1 - values[index].count))
            }
            values[index][slot] += metric.value(rows[position].amounts, unit: .hours) ?? 0
        }
        for index in values.indices where values[index].count < periods.count {
            values[index].append(contentsOf: repeatElement(0, count: periods.count - values[index].count))
        }
        // Every period from the first to the last, so empty stretches take the room they had.
        let kind = report.query.period
        let calendar = PeriodCalendar(timeZone: report.query.timeZone)
        if kind != .total, let first = periods.first, let last = periods.last {
            let all = calendar.periods(kind, covering: first.start..<last.end)
            if all.count > periods.count, all.count <= 5000 {
                var position: [Int64: Int] = [:]
                for (index, period) in all.enumerated() { position[period.start] = index }
                for index in values.indices {
                    var spread = [Double](repeating: 0, count: all.count)
                    for (slot, value) in values[index].enumerated() { spread[position[periods[slot].start] ?? slot] += value }
                    values[index] = spread
                }
                periods = all
            }
        }
        let partial = Set(periods.indices.filter { index in
            kind != .total && (periods[index].start != calendar.periodStart(kind, containing: periods[index].start)
                || periods[index].end != calendar.periodEnd(kind, containing: periods[index].start))
        })
        let ranked = names.indices.map { (key: names[$0], value: values[$0], total: values[$0].reduce(0, +)) }
            .sorted { ($0.total, $1.key) > ($1.total, $0.key) }
        var series = ranked.prefix(top).map { (name: $0.key, values: $0.value) }
        if ranked.count > top {
            var rest = Array(repeating: 0.0, count: periods.count)
            for entry in ranked.dropFirst(top) { for (i, value) in entry.value.enumerated() { rest[i] += value } }
            series.append((name: "other (\(ranked.count - top))", values: rest))
        }
        let measure = metric.title(unit: .hours, benchmark: report.benchmarkKind).replacingOccurrences(of: "_", with: " ")
        var chart = StackedBarChart(title: title, measure: measure, categories: periods.map(\.label), series: series)
        chart.partial = partial
        chart.link = link
        return "<div class=\"scroll\">" + chart.svg + "</div>"
    }

    // MARK: Controls

    static func select(_ name: String, label: String, options: [(value: String, text: String)], selected: String,
                       id: String? = nil) -> String {
        "<label for=\"\(id ?? "f-" + name)\">\(label)<select id=\"\(id ?? "f-" + name)\" name=\"\(name)\">"
            + options.map { "<option value=\"\(escape($0.value))\"\($0.value == selected ? " selected" : "")>\(escape($0.text))</option>" }
                .joined() + "</select></label>"
    }

    static func input(_ name: String, label: String, value: String?, placeholder: String) -> String {
        "<label for=\"f-\(name)\">\(label)<input id=\"f-\(name)\" name=\"\(name)\" value=\"\(escape(value ?? ""))\" "
            + "placeholder=\"\(escape(placeholder))\"></label>"
    }

    /// Pick lists (several names each) for the keys the data has few names of.
    static func pickLists(_ choices: [(ReportDimension, [String])], _ parameters: Parameters) -> String {
        choices.map { dimension, names in
            let name = "in-" + dimension.rawValue
            let picked = Set(parameters.getAll(name))
            return "<label for=\"f-\(name)\">\(escape(dimension.rawValue)) (any of)<select multiple size=\"3\" id=\"f-\(name)\" "
                + "name=\"\(name)\">" + names.map {
                    "<option value=\"\(escape($0))\"\(picked.contains($0) ? " selected" : "")>\(escape($0))</option>"
                }.joined() + "</select></label>"
        }.joined()
    }

    /// The query parameters a view keeps when its window or grouping changes.
    static func keptFilters(_ parameters: Parameters, except dimension: ReportDimension? = nil) -> [String] {
        parameters.getAll("where").filter { filter in
            !filter.isEmpty && !(dimension.map { filter.hasPrefix($0.rawValue + "=") } ?? false)
        }.map { "where=\(queryEscape($0))" }
            + FilterChoices.dimensions.filter { $0 != dimension }.flatMap { d in
                parameters.getAll("in-" + d.rawValue).filter { !$0.isEmpty }.map { "in-\(d.rawValue)=\(queryEscape($0))" }
            }
    }

    static func form(_ action: String, _ parameters: Parameters, byDefault: String, metricDefault: String,
                     zone: TimeZone, choices: [(ReportDimension, [String])] = []) -> String {
        func value(_ name: String) -> String? { parameters.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        let chosen = parameters.getAll("by").flatMap { $0.split(separator: ",").map(String.init) }
        let by = chosen.first ?? byDefault
        let then = chosen.count > 1 ? chosen[1] : ""
        let filters = parameters.getAll("where").filter { !$0.isEmpty }
        return "<form method=\"get\" action=\"\(action)\" aria-label=\"View options\">"
            + input("from", label: "From", value: value("from"), placeholder: "e.g. 2024-01-01 (all data)")
            + input("to", label: "To", value: value("to"), placeholder: "e.g. 2024-12-31 (now)")
            + select("period", label: "Granularity", options: ["day", "week", "month", "quarter", "year"].map { ($0, $0) },
                     selected: value("period") ?? "month")
            + select("by", label: "Group by", options: dimensions.map { ($0.rawValue, $0.rawValue) }, selected: by)
            + select("by", label: "then by", options: [("", "—")] + dimensions.map { ($0.rawValue, $0.rawValue) },
                     selected: then, id: "f-by2")
            + select("metric", label: "Metric", options: metrics.map { ($0.rawValue, $0.title(unit: .hours)) },
                     selected: value("metric") ?? metricDefault)
            + input("where", label: "Filter (key=value[,value])", value: filters.first, placeholder: "e.g. partition=gpu")
            + filters.dropFirst().map { "<input type=\"hidden\" name=\"where\" value=\"\(escape($0))\">" }.joined()
            + pickLists(choices, parameters)
            + input("top", label: "Series shown", value: value("top"), placeholder: "8")
            + input("timezone", label: "Time zone", value: value("timezone"), placeholder: zone.identifier)
            + "<button type=\"submit\">Show</button></form>"
            + presets(action, parameters, zone: zone)
    }

    /// Links to common windows: last 30 and 90 days, this month, quarter and year, year to date.
    static func presets(_ action: String, _ parameters: Parameters, zone: TimeZone) -> String {
        let calendar = PeriodCalendar(timeZone: zone)
        let now = Int64(Date().timeIntervalSince1970)
        func day(_ instant: Int64) -> String { String(calendar.formatDateTime(instant).prefix(10)) }
        let today = calendar.periodStart(.day, containing: now)
        let windows: [(String, Int64, Int64?)] = [
            ("last 30 days", today - 29 * 86_400, nil), ("last 90 days", today - 89 * 86_400, nil),
            ("this month", calendar.periodStart(.month, containing: now), nil),
            ("last month", calendar.periodStart(.month, containing: calendar.periodStart(.month, containing: now) - 1),
             calendar.periodStart(.month, containing: now) - 86_400),
            ("this quarter", calendar.periodStart(.quarter, containing: now), nil),
            ("year to date", calendar.periodStart(.year, containing: now), nil),
            ("last year", calendar.periodStart(.year, containing: calendar.periodStart(.year, containing: now) - 1),
             calendar.periodStart(.year, containing: now) - 86_400),
        ]
        let kept = (parameters.getAll("by").map { "by=\($0)" } + keptFilters(parameters)
            + ["metric", "period", "timezone", "top"].compactMap { name in parameters.get(name).map { "\(name)=\($0)" } })
        return "<p class=\"presets\" aria-label=\"Time presets\">" + windows.map { name, from, to in
            let query = kept + ["from=\(day(from))"] + (to.map { ["to=\(day($0))"] } ?? [])
            return "<a href=\"\(escape(action + "?" + query.joined(separator: "&")))\">\(name)</a>"
        }.joined() + "</p>"
    }

    /// How many series a chart shows before the rest become "other" (`top=`, 1–50, default 8).
    static func top(_ parameters: Parameters) throws -> Int {
        guard let text = parameters.get("top"), !text.isEmpty else { return 8 }
        guard let value = Int(text), (1...50).contains(value) else {
            throw APIError(.badRequest, "top '\(text)' is not a number of series from 1 to 50")
        }
        return value
    }

    /// Where a chart's series drills down to: the explorer filtered to it, regrouped one level finer.
    static func drillDown(_ parameters: Parameters, dimension: ReportDimension) -> (String) -> String {
        let finer: ReportDimension = switch dimension {
        case .account, .group, .organisation: .user
        case .user: .account
        case .cluster: .partition
        case .gpuClass: .gpuModel
        default: .account
        }
        let kept = keptFilters(parameters, except: dimension)
            + ["from", "to", "period", "metric", "timezone"].compactMap { name in
                parameters.get(name).flatMap { $0.isEmpty ? nil : "\(name)=\($0)" }
            }
        return { name in
            let value = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
            return "/explore?" + (kept + ["by=\(finer.rawValue)", "where=\(dimension.rawValue)=\(value)"]).joined(separator: "&")
        }
    }

    /// The summary request for a view, with a default grouping.
    static func request(_ parameters: Parameters, by fallback: ReportDimension, site: SiteSettings,
                        principal: Principal) throws -> (SummaryRequest, Metric) {
        var summary = try SummaryRequest(parameters, site: site)
        FilterChoices.apply({ parameters.getAll($0) }, to: &summary.query.filters)
        summary.query.filters = principal.limit(summary.query.filters)
        if summary.query.groupBy.isEmpty { summary.query.groupBy = [fallback] }
        var metric = Metric.coreHours
        if let name = parameters.get("metric"), !name.isEmpty {
            guard let chosen = Metric(name: name), Self.metrics.contains(chosen) else {
                throw APIError(.badRequest, "metric '\(name)' is not one of \(Self.metrics.map(\.rawValue).joined(separator: ", "))")
            }
            metric = chosen
        }
        return (summary, metric)
    }

    // MARK: Pages

    func overview(_ request: Request, _ principal: Principal) async throws -> ByteBuffer {
        let parameters = request.uri.queryParameters
        let (summary, metric) = try Self.request(parameters, by: .account, site: await store.currentConfiguration().site, principal: principal)
        // The chart and the two top tables are three small reports. (One report by key × group ×
        // user, summed down, answers all three but is as large as there are combinations: on
        // high-cardinality data that is 10× slower than the three.)
        let report = try await store.report(summary.query)
        let total = report.total
        var figures: [(String, String)] = [
            ("jobs", "\(total.jobs)"), ("core hours", fixedPoint(Double(total.coreSeconds) / 3600, places: 1)),
            ("GPU hours", fixedPoint(Double(total.gpuSeconds) / 3600, places: 1)),
        ]
        if report.metrics.contains(.serviceUnits) {
            figures.append(("SU", fixedPoint(Metric.serviceUnits.value(total, unit: .hours) ?? 0, places: 1)))
        }
        if report.metrics.contains(.benchmarkHours) {
            figures.append(("\(report.benchmarkKind)-hours",
                            fixedPoint(Metric.benchmarkHours.value(total, unit: .hours) ?? 0, places: 1)))
        }
        var body = "<section aria-label=\"Totals\" class=\"totals\">"
            + figures.map { "<div><b data-figure=\"\(Self.escape($0.0))\">\($0.1)</b>\($0.0)</div>" }.joined() + "</section>"
        body += Self.form("/", parameters, byDefault: "account", metricDefault: metric.rawValue, zone: summary.query.timeZone,
                              choices: try await choices.choices(for: principal))
        let dimension = summary.query.groupBy[0].rawValue
        body += chart(report, metric: metric, title: "\(metric.title(unit: .hours)) by \(dimension) per \(summary.query.period.rawValue)",
                      top: try Self.top(parameters), link: Self.drillDown(parameters, dimension: summary.query.groupBy[0]))
        body += Self.downloads(request, page: "/explore")
        for (dimension, caption) in [(ReportDimension.group, "Top groups"), (.user, "Top users")] {
            var query = summary.query
            query.groupBy = [dimension]
            query.period = .total
            var top = try await store.report(query)
            top.rows.sort { left, right in
                left.amounts.coreSeconds != right.amounts.coreSeconds
                    ? left.amounts.coreSeconds > right.amounts.coreSeconds
                    : left.keys.lexicographicallyPrecedes(right.keys)
            }
            let link = Self.drillDown(parameters, dimension: dimension)
            body += table(top.table(unit: .hours, metrics: [.jobs, .coreHours, .gpuHours]), caption: caption + " by core hours",
                          limit: 10, cellLink: { column, cell in column == 1 && !cell.plain.isEmpty ? link(cell.plain) : nil })
        }
        body += "<p>\(Self.escape(report.basisSentence))</p>"
        return page("Overview", current: "/", body)
    }

    /// Rows of the explorer's table shown on the page.
    static let shownRows = 2000

    func explorer(_ request: Request, _ principal: Principal) async throws -> ByteBuffer {
        let parameters = request.uri.queryParameters
        let (summary, metric) = try Self.request(parameters, by: .account, site: await store.currentConfiguration().site, principal: principal)
        let report = try await store.report(summary.query)
        let sort = parameters.get("sort").flatMap(Int.init)
        // Unsorted, only the rows shown need cells (a year of days per user has 180,000 rows).
        var head = report
        if sort == nil { head.rows = Array(report.rows.prefix(Self.shownRows)) }
        var shown = head.table(unit: .hours, metrics: summary.metrics)
        // Sort by a column (a link per header: the URL keeps the whole view).
        if let sort, shown.columns.indices.contains(sort) {
            let descending = parameters.get("order") != "asc"
            shown.rows.sort { left, right in
                switch (left[sort], right[sort]) {
                case let (.integer(a), .integer(b)): return descending ? a > b : a < b
                case let (.decimal(a, _), .decimal(b, _)): return descending ? a > b : a < b
                default: return descending ? left[sort].plain > right[sort].plain : left[sort].plain < right[sort].plain
                }
            }
        }
        let query = request.uri.query ?? ""
        func sortLink(_ column: Int) -> String {
            let kept = query.split(separator: "&").filter { !$0.hasPrefix("sort=") && !$0.hasPrefix("order=") }
            let order = parameters.get("sort") == String(column) && parameters.get("order") != "asc" ? "asc" : "desc"
            return "/explore?" + (kept + ["sort=\(column)", "order=\(order)"]).joined(separator: "&")
        }
        var body = Self.form("/explore", parameters, byDefault: "account", metricDefault: metric.rawValue, zone: summary.query.timeZone,
                              choices: try await choices.choices(for: principal))
        let dimension = summary.query.groupBy.map(\.rawValue).joined(separator: ", ")
        body += chart(report, metric: metric, title: "\(metric.title(unit: .hours)) by \(dimension) per \(summary.query.period.rawValue)",
                      top: try Self.top(parameters), link: Self.drillDown(parameters, dimension: summary.query.groupBy[0]))
        body += Self.downloads(request, page: "/explore")
        // Pages of rows: a browser cannot use hundreds of thousands at once; the CSV has them all.
        let pageNumber = max(1, parameters.get("page").flatMap(Int.init) ?? 1)
        let total = sort == nil ? report.rows.count : shown.rows.count
        let pages = max(1, (total + Self.shownRows - 1) / Self.shownRows)
        let first = (min(pageNumber, pages) - 1) * Self.shownRows
        if sort == nil, first > 0 {
            head.rows = Array(report.rows[first..<min(first + Self.shownRows, report.rows.count)])
            shown = head.table(unit: .hours, metrics: summary.metrics)
        }
        let range = sort == nil ? 0..<shown.rows.count : first..<min(first + Self.shownRows, shown.rows.count)
        if pages > 1 {
            func pageLink(_ number: Int) -> String {
                let kept = query.split(separator: "&").filter { !$0.hasPrefix("page=") }.map(String.init)
                return "/explore?" + (kept + ["page=\(number)"]).joined(separator: "&")
            }
            body += "<nav aria-label=\"Pages\" class=\"presets\">Rows \(StackedBarChart.grouped(Double(first + 1)))–"
                + "\(StackedBarChart.grouped(Double(first + range.count))) of "
                + "\(StackedBarChart.grouped(Double(total))): "
                + (pageNumber > 1 ? "<a href=\"\(Self.escape(pageLink(pageNumber - 1)))\">previous</a>" : "")
                + (pageNumber < pages ? "<a href=\"\(Self.escape(pageLink(pageNumber + 1)))\">next</a>" : "") + "</nav>"
        }
        var totalOnly = report
        totalOnly.rows = []
        let totalTable = totalOnly.table(unit: .hours, metrics: summary.metrics, includeTotal: true)
        let link = Self.drillDown(parameters, dimension: summary.query.groupBy[0])
        let keyColumn = 1
        body += table(shown, caption: "Usage by \(dimension) per \(summary.query.period.rawValue)", sortLink: sortLink,
                      sorted: sort.map { ($0, parameters.get("order") != "asc") }, totals: totalTable.rows.last,
                      cellLink: { column, cell in column == keyColumn && !cell.plain.isEmpty ? link(cell.plain) : nil },
                      rows: range)
        body += "<p>\(Self.escape(report.basisSentence))</p>"
        return page("Explorer", current: "/explore", body)
    }

    /// Downloads of what the page shows: the table as CSV, the chart as SVG and as PNG.
    static func downloads(_ request: Request, page: String) -> String {
        let query = escape(request.uri.query ?? "")
        return "<p class=\"presets\"><a href=\"\(page).csv?\(query)\" download>Download this table as CSV</a>"
            + "<a href=\"\(page).svg?\(query)\" download=\"tally-chart.svg\">Download the chart as SVG</a>"
            + pngLink + "</p>"
    }

    /// Shown once the script runs (a browser without scripts still has the SVG).
    static let pngLink = "<a href=\"#png\" data-png hidden>Download the chart as PNG</a>"

    func explorerSVG(_ request: Request, _ principal: Principal) async throws -> ByteBuffer {
        let parameters = request.uri.queryParameters
        let (summary, metric) = try Self.request(parameters, by: .account, site: await store.currentConfiguration().site,
                                                 principal: principal)
        let report = try await store.report(summary.query)
        let dimension = summary.query.groupBy.map(\.rawValue).joined(separator: ", ")
        let svg = chart(report, metric: metric, title: "\(metric.title(unit: .hours)) by \(dimension) per \(summary.query.period.rawValue)",
                        top: try Self.top(parameters))
        return ByteBuffer(string: svg.replacingOccurrences(of: "<div class=\"scroll\">", with: "")
            .replacingOccurrences(of: "</div>", with: ""))
    }

    func explorerCSV(_ request: Request, _ principal: Principal) async throws -> ByteBuffer {
        let (summary, _) = try Self.request(request.uri.queryParameters, by: .account, site: await store.currentConfiguration().site, principal: principal)
        let report = try await store.report(summary.query)
        return ByteBuffer(string: report.table(unit: .hours, metrics: summary.metrics).renderCSV())
    }

    /// Whether the same URL always shows the same figures for the same data (a window with a start
    /// but no end moves with the clock).
    static func isStable(_ request: Request) -> Bool {
        let parameters = request.uri.queryParameters
        return parameters.get("from").map { $0.isEmpty } ?? true || !(parameters.get("to") ?? "").isEmpty
    }

    func gpu(_ request: Request, _ principal: Principal) async throws -> ByteBuffer {
        let parameters = request.uri.queryParameters
        let (summary, _) = try Self.request(parameters, by: .gpuClass, site: await store.currentConfiguration().site, principal: principal)
        var overTime = summary.query
        overTime.groupBy = [.gpuClass]
        var models = summary.query
        models.groupBy = [.gpuModel, .gpuClass]
        models.period = .total
        models.filters[.gpuModel] = nil
        let byClass: Report, byModel: Report
        if summary.query.filters[.gpuModel] == nil {
            // One pass over the rollups for both: by model and class per period, summed down.
            var detailed = summary.query
            detailed.groupBy = [.gpuClass, .gpuModel]
            let report = try await store.report(detailed)
            byClass = report.regrouped(by: [.gpuClass], total: false)
            byModel = report.regrouped(by: [.gpuModel, .gpuClass], total: true)
        } else {
            byClass = try await store.report(overTime)
            byModel = try await store.report(models)
        }
        var body = chart(byClass, metric: .gpuHours, title: "GPU hours by GPU class per \(summary.query.period.rawValue)")
        body += "<p class=\"presets\">\(Self.pngLink)</p>"
        body += table(byModel.table(unit: .hours, metrics: [.jobs, .gpuHours, .normalisedGPUHours, .averageGPUs]),
                      caption: "GPU hours by model and class: raw and class-weighted, side by side")
        return page("GPUs", current: "/gpu", body)
    }

    /// Every allocation in one table (granted, used, remaining, burn rate, when it runs out, a
    /// status a person sees at a glance), each linking to its own page with the chart and users.
    func allocations(_ request: Request, _ principal: Principal) async throws -> ByteBuffer {
        let configuration = await store.currentConfiguration()
        let parameters = try PolicyParameters(request, site: configuration.site)
        let calendar = parameters.calendar
        let now = try parameters.instant("at")
        let engine = PolicyEngine(store: store, configuration: configuration)
        let allocations = try await store.allocations().filter(principal.mayRead)
        guard !allocations.isEmpty else {
            return page("Allocations", current: "/allocations", "<p>No allocations yet (<code>tally alloc create</code>).</p>")
        }
        var summary = Table(columns: ["allocation", "owner", "unit", "granted", "used", "remaining", "used %", "burn per day",
                                      "runs out", "status"], numericColumns: [3, 4, 5, 6, 7])
        var statuses: [AllocationStatus] = []
        for allocation in allocations {
            let (burn, _) = try await engine.burnDown(allocation, at: now)
            let status = AllocationStatus(burn, at: now)
            statuses.append(status)
            // Small grants (test allocations, GPU hours) keep three places; large ones one.
            let places = allocation.amount < 100 ? 3 : 1
            summary.rows.append([
                .text(allocation.name), .text("\(allocation.dimension.rawValue) \(allocation.owner)"), .text(allocation.unit.label),
                .decimal(allocation.amount, places: places), .decimal(burn.used, places: places),
                .decimal(burn.remaining, places: places), .decimal(burn.percentUsed, places: 1),
                .decimal(burn.burnRatePerDay, places: places),
                .text(burn.projectedExhaustion.map { String(calendar.formatDateTime($0).prefix(10)) } ?? "—"),
                .text(status.label),
            ])
        }
        let counts = Dictionary(grouping: statuses, by: \.self).mapValues(\.count)
        var body = "<section aria-label=\"Summary\" class=\"totals\">"
        for status in AllocationStatus.allCases {
            body += "<div><b data-figure=\"\(status.rawValue)\">\(counts[status] ?? 0)</b>\(status.label)</div>"
        }
        body += "</section>"
        let at = parameters.value("at").map { "&at=" + Self.queryEscape($0) } ?? ""
        body += table(summary, caption: "Allocations at \(Self.readable(.text(calendar.formatDateTime(now))))",
                      cellLink: { column, cell in column == 0 ? "/allocation?name=\(Self.queryEscape(cell.plain))\(at)" : nil },
                      cellClass: { row, column in column == 9 ? statuses[row].rawValue : nil })
        return page("Allocations", current: "/allocations", body)
    }

    /// One allocation: its burn-down chart, figures, warnings and the users who drew on it.
    func allocation(_ request: Request, _ principal: Principal) async throws -> ByteBuffer {
        let configuration = await store.currentConfiguration()
        let parameters = try PolicyParameters(request, site: configuration.site)
        let calendar = parameters.calendar
        let now = try parameters.instant("at")
        guard let name = parameters.value("name") else {
            throw APIError(.badRequest, "name: say which allocation (/allocation?name=…); /allocations lists them")
        }
        // An allocation the token may not read answers as one that does not exist.
        guard let allocation = try await store.allocations().first(where: { $0.name == name }), principal.mayRead(allocation) else {
            throw APIError(.notFound, "there is no allocation '\(name)'")
        }
        let (burn, _) = try await PolicyEngine(store: store, configuration: configuration).burnDown(allocation, at: now)
        let status = AllocationStatus(burn, at: now)
        let used = try await cumulativeUse(allocation, until: min(now, allocation.end), finalValue: burn.used)
        var projection: (Int64, Double)?
        if let instant = burn.projectedExhaustion {
            projection = (instant, allocation.amount)
        } else if burn.lastsPastEnd, burn.burnRatePerDay > 0 {
            let end = min(now, allocation.end)
            projection = (allocation.end, burn.used + burn.burnRatePerDay * Double(allocation.end - end) / 86_400)
        }
        var body = "<p><a href=\"/allocations\">All allocations</a> · status: <span class=\"\(status.rawValue)\">"
            + "\(status.label)</span></p>"
        body += "<div class=\"scroll\">" + BurnDownChart(title: "\(allocation.name): \(allocation.unit.label) used of \(StackedBarChart.label(allocation.amount))",
                              unit: allocation.unit.label, amount: allocation.amount, start: allocation.start, end: allocation.end,
                              used: used, projection: projection).svg + "</div>"
        body += "<p class=\"presets\">\(Self.pngLink)</p>"
        for warning in burn.warnings { body += "<p role=\"alert\">\(Self.escape(warning))</p>" }
        body += table(PolicyTables.burnDown(burn, calendar: calendar), caption: "Burn-down of \(allocation.name)")
        if !burn.users.isEmpty {
            let users = PolicyTables.allocationUsers(burn)
            let shown = parameters.value("users") == "all" ? users.rows.count : 25
            body += table(users, caption: "Use by user (\(users.rows.count))", limit: shown)
            if shown < users.rows.count {
                body += "<p><a href=\"/allocation?name=\(Self.queryEscape(name))&users=all\">Show all \(users.rows.count) users</a></p>"
            }
        }
        return page("Allocation \(allocation.name)", current: "/allocations", body)
    }

    /// Cumulative use from the allocation's start to `end`: daily for a few months, weekly beyond
    /// (a readable number of points), ending on the burn-down's own figure.
    private func cumulativeUse(_ allocation: Allocation, until end: Int64, finalValue: Double) async throws -> [(instant: Int64, value: Double)] {
        guard end > allocation.start else { return [] }
        let period: PeriodKind = end - allocation.start > 120 * 86_400 ? .week : .day
        let report = try await store.report(ReportQuery(window: allocation.start..<end, period: period,
                                                        filters: [allocation.dimension: [allocation.owner]]))
        let charges = try await store.allocationCharges(allocation: allocation.name)
        var total = 0.0
        var used: [(instant: Int64, value: Double)] = []
        for row in report.rows.sorted(by: { $0.period.start < $1.period.start }) {
            total += allocation.unit.metric.value(row.amounts, unit: .hours) ?? 0
            total += Double(charges.filter { $0.at >= row.period.start && $0.at < row.period.end }
                .reduce(0) { $0 + $1.amountMilli }) / 1000
            used.append((min(row.period.end, end), total))
        }
        if used.last.map({ abs($0.value - finalValue) > 1e-6 }) ?? true { used.append((end, finalValue)) }
        return used
    }

    static func queryEscape(_ text: some StringProtocol) -> String {
        // `=`, `,` and `:` stay readable: `where=partition=gpu,cpu` parses on its first `=`.
        String(text).addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~=,:"))) ?? String(text)
    }

    func quality(_ request: Request, _ principal: Principal) async throws -> ByteBuffer {
        guard principal.seesEverything else {
            throw APIError(.forbidden, "this token sees only accounts \(principal.accounts.sorted().joined(separator: ", ")): data quality covers all")
        }
        let status = try await store.status(includingCoverage: false)
        var body = "<section aria-label=\"Summary\" class=\"totals\">"
            + "<div><b data-figure=\"records\">\(status.records)</b>records</div>"
            + "<div><b data-figure=\"rejected\">\(status.rejectedLines)</b>rejected lines</div></section>"
        var coverage = Table(columns: ["site", "cluster", "first day", "last day", "days with data", "gap days", "gaps"],
                             numericColumns: [4, 5])
        for entry in try await store.coverage() {
            let gaps = entry.gaps.prefix(8).map { "\(UTCDay.label($0.lowerBound))…\(UTCDay.label($0.upperBound))" }
                .joined(separator: ", ") + (entry.gaps.count > 8 ? ", …" : "")
            coverage.rows.append([.text(entry.site), .text(entry.cluster), .text(UTCDay.label(entry.firstDay)),
                                  .text(UTCDay.label(entry.lastDay)), .integer(entry.daysWithData), .integer(entry.gapDays),
                                  .text(gaps)])
        }
        body += table(coverage, caption: "Coverage: days with usage per cluster, and the gaps between")
        var snapshots = Table(columns: ["site", "cluster", "source", "snapshots", "gaps"], numericColumns: [3, 4])
        for entry in try await store.snapshotCoverage() {
            snapshots.rows.append([.text(entry.site), .text(entry.cluster), .text(entry.format), .integer(Int64(entry.snapshots)),
                                   .integer(Int64(entry.gaps.count))])
        }
        if !snapshots.rows.isEmpty { body += table(snapshots, caption: "Snapshot sources") }
        var sources = Table(columns: ["format", "source", "runs", "records", "rejected", "last read (UTC)"],
                            numericColumns: [2, 3, 4])
        for source in status.sources {
            sources.rows.append([.text(source.format), .text(source.path), .integer(source.runs),
                                 .integer(Int64(source.totals.records)), .integer(Int64(source.totals.rejected)),
                                 .text(UTCDay.timestamp(source.lastSeen))])
        }
        body += table(sources, caption: "Sources and their last ingest")
        var rejections = Table(columns: ["where", "field", "reason"])
        for rejection in status.recentRejections {
            rejections.rows.append([.text(rejection.position.description), .text(rejection.field ?? ""), .text(rejection.reason)])
        }
        if !rejections.rows.isEmpty { body += table(rejections, caption: "Latest rejected lines") }
        return page("Data quality", current: "/quality", body)
    }
}

extension UTCDay {
    /// `2024-03-05` for a day number.
    static func label(_ day: Int64) -> String { String(timestamp(day * seconds).prefix(10)) }

    /// `2024-03-05T10:00:00` (UTC) for an instant.
    static func timestamp(_ instant: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(instant)))
    }
}
