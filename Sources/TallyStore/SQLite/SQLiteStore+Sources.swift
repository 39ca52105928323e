import GRDB
import TallyCore

extension SQLiteStore {
    /// Takes out what reading `path` added (a mistaken ingest): the records whose current version
    /// it wrote, its rejected and flagged lines, runs and checkpoint, in one transaction.
    public func removeSource(path: String, format: String?) async throws -> SourceRemoval {
        try await queue.write { db in
            var removal = SourceRemoval()
            let sources = try Row.fetchAll(db, sql: "SELECT id, format FROM source WHERE path = ? AND (? IS NULL OR format = ?)",
                                           arguments: [path, format, format])
            var changes = FactBlockChanges()
            for source in sources {
                let id: Int64 = source[0], sourceFormat: String = source[1]
                for jobID in try Int64.fetchAll(db, sql: "SELECT id FROM job WHERE source_id = ?", arguments: [id]) {
                    changes.remove(jobID: jobID)
                }
                try db.execute(sql: "DELETE FROM job WHERE source_id = ?", arguments: [id])
                removal.records += Int64(db.changesCount)
                try db.execute(sql: "DELETE FROM rejected_line WHERE source_id = ?", arguments: [id])
                removal.rejectedLines += Int64(db.changesCount)
                try db.execute(sql: "DELETE FROM flagged_line WHERE source_id = ?", arguments: [id])
                removal.flaggedLines += Int64(db.changesCount)
                try db.execute(sql: "DELETE FROM ingest_run WHERE source_id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM checkpoint WHERE path = ? AND format = ?", arguments: [path, sourceFormat])
                try db.execute(sql: "DELETE FROM source WHERE id = ?", arguments: [id])
                removal.sources += 1
            }
            guard removal.sources > 0 else { return removal }
            try changes.flush(db)
            try db.execute(sql: StateCounts.recount)
            try db.execute(sql: Schema.bumpGeneration)
            return removal
        }
    }
}
