/// Size and wall-time classes for `--by job-size` and `--by wall-bucket` (Open XDMoD's bins).
public enum JobBuckets {
    /// Upper bounds (inclusive) of core-count bins and their labels.
    static let sizes: [(limit: Int64, label: String)] = [
        (0, "0"), (1, "1"), (4, "2-4"), (8, "5-8"), (16, "9-16"), (32, "17-32"), (64, "33-64"), (128, "65-128"),
        (256, "129-256"), (512, "257-512"), (1024, "513-1024"), (4096, "1025-4096"), (Int64.max, "4097+"),
    ]

    /// Upper bounds (exclusive, seconds) of wall-time bins.
    static let walls: [(limit: Int64, label: String)] = [
        (1, "0s"), (30, "1-30s"), (1800, "30s-30m"), (3600, "30-60m"), (5 * 3600, "1-5h"), (10 * 3600, "5-10h"),
        (18 * 3600, "10-18h"), (24 * 3600, "18-24h"), (48 * 3600, "1-2d"), (7 * 86400, "2-7d"), (Int64.max, "7d+"),
    ]

    public static func sizeIndex(cores: Int64) -> Int { sizes.firstIndex { cores <= $0.limit }! }
    public static func wallIndex(seconds: Int64) -> Int { walls.firstIndex { seconds < $0.limit }! }
    public static func sizeLabel(_ index: Int) -> String { sizes[index].label }
    public static func wallLabel(_ index: Int) -> String { walls[index].label }
    public static var sizeCount: Int { sizes.count }
    public static var wallCount: Int { walls.count }

    /// The position of a label, so bucketed rows sort by size rather than alphabetically.
    public static func order(of label: String) -> Int? {
        sizes.firstIndex { $0.label == label } ?? walls.firstIndex { $0.label == label }
    }
}

/// Host names in a scheduler node list (`c[001-003,007],gpu01`).
public enum HostList {
    /// The first host of a node list: what host-matched rules look at.
    public static func first(_ nodeList: String?) -> String {
        guard let nodeList, !nodeList.isEmpty, nodeList != "None" && nodeList != "(null)" else { return "" }
        var prefix = ""
        var index = nodeList.startIndex
        while index < nodeList.endIndex {
            let character = nodeList[index]
            if character == "," || character == "+" || character == " " { return prefix }
            if character == "/" { return prefix } // PBS exec_host: host/0*4
            if character == "[" {
                let rest = nodeList[nodeList.index(after: index)...]
                let first = rest.prefix { $0 != "-" && $0 != "," && $0 != "]" }
                return prefix + first
            }
            prefix.append(character)
            index = nodeList.index(after: index)
        }
        return prefix
    }
}
