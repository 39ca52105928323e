import ArgumentParser

@main
struct Tally: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "Accounting for shared research computing: who used what, exactly.",
        discussion: """
            Tally reads scheduler accounting (Slurm sacct output today), stores every job once in a
            database (SQLite by default: --db PATH, $TALLY_DB, else ./tally.db), and reports usage per
            period and per site, cluster, account, group, user, partition, QOS, state or GPU model.
            Jobs that span a period boundary are split to the second.
            """,
        subcommands: [Ingest.self, Report.self, Jobs.self, Status.self, Coverage.self])
}
