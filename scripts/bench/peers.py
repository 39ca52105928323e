#!/usr/bin/env python3
"""What a site would do without Tally: core hours per account x UTC month from a `sacct -P` file,
split exactly at month boundaries (the same answer as `tally report --period month --by account`).

    peers.py duckdb-file SACCT        DuckDB scanning the raw file
    peers.py duckdb-load SACCT DB     DuckDB loading job rows into a persisted table (timed)
    peers.py duckdb-table DB          DuckDB answering from that table
    peers.py pandas SACCT             pandas reading the file

Each prints one line: rows, total core hours, seconds. tally-bench runs each in a child process
so its peak RSS is its own. Needs duckdb and pandas (scripts/bench/peers-venv.sh installs them).
"""
import sys
import time

# Job rows only: steps (JobID with a '.') fold into their job in Tally and carry no extra core time.
# Usage runs over [Start, Start + ElapsedRaw), NCPUS cores; times are UTC wall clock (the bench
# writes UTC). Jobs never started (Start = 'Unknown') carry none.
DUCK_JOBS = """
    SELECT Account AS account, epoch(strptime(Start, '%Y-%m-%dT%H:%M:%S'))::BIGINT AS t0,
           ElapsedRaw::BIGINT AS wall, NCPUS::BIGINT AS cores
    FROM read_csv('{path}', delim='|', header=true, all_varchar=true, quote='', escape='')
    WHERE JobID NOT LIKE '%.%' AND Start <> 'Unknown' AND Start <> 'None'
"""

DUCK_REPORT = """
    WITH jobs AS ({jobs}),
    bounds AS (SELECT min(t0) AS lo, max(t0 + wall) AS hi FROM jobs),
    months AS (
        SELECT epoch(m)::BIGINT AS m0, epoch(m + INTERVAL 1 MONTH)::BIGINT AS m1, strftime(m, '%Y-%m') AS label
        FROM bounds, range(date_trunc('month', to_timestamp(lo)), to_timestamp(hi) + INTERVAL 1 MONTH,
                           INTERVAL 1 MONTH) AS r(m)
    )
    SELECT label, account,
           sum((least(t0 + wall, m1) - greatest(t0, m0)) * cores) / 3600.0 AS core_hours
    FROM jobs JOIN months ON t0 < m1 AND t0 + wall > m0
    GROUP BY label, account ORDER BY label, account
"""


def report_line(rows, total, seconds):
    print(f"rows={rows} core_hours={total:.2f} seconds={seconds:.3f}")


def duckdb_file(path):
    import duckdb
    clock = time.perf_counter()
    con = duckdb.connect()
    rows = con.execute(DUCK_REPORT.format(jobs=DUCK_JOBS.format(path=path))).fetchall()
    report_line(len(rows), sum(r[2] for r in rows), time.perf_counter() - clock)


def duckdb_load(path, db):
    import duckdb
    clock = time.perf_counter()
    con = duckdb.connect(db)
    con.execute("DROP TABLE IF EXISTS jobs")
    con.execute("CREATE TABLE jobs AS " + DUCK_JOBS.format(path=path))
    count = con.execute("SELECT count(*) FROM jobs").fetchone()[0]
    con.close()
    print(f"rows={count} core_hours=0 seconds={time.perf_counter() - clock:.3f}")


def duckdb_table(db):
    import duckdb
    clock = time.perf_counter()
    con = duckdb.connect(db, read_only=True)
    rows = con.execute(DUCK_REPORT.format(jobs="SELECT * FROM jobs")).fetchall()
    report_line(len(rows), sum(r[2] for r in rows), time.perf_counter() - clock)


def pandas_file(path):
    import numpy as np
    import pandas as pd
    clock = time.perf_counter()
    frame = pd.read_csv(path, sep="|", dtype=str, usecols=["JobID", "Account", "Start", "ElapsedRaw", "NCPUS"],
                        quoting=3, keep_default_na=False)
    frame = frame[~frame["JobID"].str.contains(".", regex=False)]
    frame = frame[~frame["Start"].isin(["Unknown", "None", ""])]
    t0 = pd.to_datetime(frame["Start"], format="%Y-%m-%dT%H:%M:%S").astype("int64") // 10**9
    wall = frame["ElapsedRaw"].astype("int64").to_numpy()
    cores = frame["NCPUS"].astype("int64").to_numpy()
    t0 = t0.to_numpy()
    t1 = t0 + wall
    accounts = frame["Account"].to_numpy()
    first = pd.Timestamp(t0.min(), unit="s").to_period("M")
    last = pd.Timestamp(t1.max(), unit="s").to_period("M")
    pieces = []
    month = first
    while month <= last:
        m0 = month.start_time.value // 10**9
        m1 = (month + 1).start_time.value // 10**9
        overlap = np.clip(np.minimum(t1, m1) - np.maximum(t0, m0), 0, None) * cores
        mask = overlap > 0
        if mask.any():
            part = pd.DataFrame({"account": accounts[mask], "seconds": overlap[mask]})
            sums = part.groupby("account", sort=True)["seconds"].sum() / 3600.0
            pieces.append(sums.rename(str(month)))
        month += 1
    rows = sum(len(p) for p in pieces)
    total = sum(float(p.sum()) for p in pieces)
    report_line(rows, total, time.perf_counter() - clock)


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    {"duckdb-file": duckdb_file, "duckdb-load": duckdb_load, "duckdb-table": duckdb_table,
     "pandas": pandas_file}[command](*rest)
