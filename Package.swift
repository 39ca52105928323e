// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Tally",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tally", targets: ["tally"]),
        .executable(name: "tally-bench", targets: ["tally-bench"]),
        .library(name: "TallyCore", targets: ["TallyCore"]),
        .library(name: "TallyCollectors", targets: ["TallyCollectors"]),
        .library(name: "TallyStore", targets: ["TallyStore"]),
        .library(name: "TallyConfig", targets: ["TallyConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swiftcsv/SwiftCSV", from: "0.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.0.0"),
    ],
    targets: [
        .target(name: "TallyCore"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "TallyCollectors", dependencies: ["TallyCore", "CZlib"]),
        .target(
            name: "TallyStore",
            dependencies: [
                "TallyCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "TallyConfig",
            dependencies: [
                "TallyCore",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "SwiftCSV", package: "SwiftCSV"),
            ]),
        .target(
            name: "TallyApp",
            dependencies: [
                "TallyCore", "TallyCollectors", "TallyStore", "TallyConfig",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ]),
        .target(
            name: "TallyServer",
            dependencies: [
                "TallyCore", "TallyStore", "TallyConfig", "TallyApp",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        .target(
            name: "TallyShip",
            dependencies: [
                "TallyCore", "TallyStore", "TallyServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
            ]),
        .executableTarget(
            name: "tally",
            dependencies: [
                "TallyApp", "TallyCore", "TallyCollectors", "TallyStore", "TallyConfig", "TallyServer", "TallyShip",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            plugins: ["BuildInfo"]),
        .plugin(name: "BuildInfo", capability: .buildTool()),
        .executableTarget(
            name: "tally-bench",
            dependencies: [
                "TallyApp", "TallyCore", "TallyCollectors", "TallyStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(
            name: "TallyTestSupport",
            dependencies: [
                "TallyStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TallyTestSupport"),
        .testTarget(name: "TallyCoreTests", dependencies: ["TallyCore"]),
        .testTarget(name: "TallyConfigTests", dependencies: ["TallyConfig", "TallyCore", "TallyTestSupport"]),
        .testTarget(name: "TallyCollectorsTests", dependencies: ["TallyCollectors", "TallyCore", "TallyTestSupport"]),
        .testTarget(
            name: "TallyStoreTests",
            dependencies: [
                "TallyStore", "TallyCollectors", "TallyCore", "TallyApp", "TallyConfig", "TallyTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "TallyServerTests",
            dependencies: [
                "TallyServer", "TallyStore", "TallyCore", "TallyApp", "TallyCollectors", "TallyConfig", "TallyTestSupport", "TallyShip",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .testTarget(
            name: "TallyShipTests",
            dependencies: [
                "TallyShip", "TallyCore", "TallyTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
