import ArgumentParser

@main
struct Tally: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "Accounting for shared research computing: who used what, exactly.",
        discussion: """
            Tally reads scheduler accounting (Slurm, PBS, SGE, HTCondor, SWF, Kubernetes and Nomad
            snapshots), stores every job once in a database (SQLite by default: --db PATH, $TALLY_DB,
            else ./tally.db), and reports usage per period and per site, cluster, account, group, user,
            partition, QOS, state, GPU model or class, organisation, job size or wall-time bucket.
            Jobs that span a period boundary are split to the second. A configuration file (--config,
            $TALLY_CONFIG) adds benchmark-normalised hours, GPU classes, service units, aliases, a user
            directory and capacities; raw records are never changed by it.
            """,
        version: TallyVersion.description,
        subcommands: [Ingest.self, Report.self, Jobs.self, Status.self, Coverage.self, Config.self, Rebuild.self, Users.self, Serve.self, Token.self, Export.self, Ship.self, Keys.self, SiteCommand.self, SourceCommand.self, AllocCommand.self, QuotaCommand.self, FairShareCommand.self, PreemptCommand.self, CompletionCommand.self])
}
