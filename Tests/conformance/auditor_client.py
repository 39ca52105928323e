"""AUDITOR conformance: drives `tally serve`'s AUDITOR-compatible routes with AUDITOR's own Python
client (python-auditor, from PyPI) and checks every answer against AUDITOR's documented semantics,
then checks that the same records read through Tally's own API (/api/v1/records) carry the same
usage.

    python auditor_client.py PORT READ_TOKEN

Exits 0 when every check passes; prints each failure otherwise.
"""
import asyncio
import datetime as dt
import json
import sys
import urllib.request

from pyauditor import (AuditorClientBuilder, Component, ComponentQuery, Meta, MetaOperator, MetaQuery,
                       Operator, QueryBuilder, Record, Score, SortBy, Value)

PORT = int(sys.argv[1])
READ_TOKEN = sys.argv[2]
UTC = dt.timezone.utc
BASE = dt.datetime(2024, 3, 1, 0, 0, 0, tzinfo=UTC)
failures = []
checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def make(index, cores, group, user, start_hours, run_hours, stop=True, site="siteA"):
    meta = Meta()
    meta.insert("site_id", [site])
    meta.insert("group_id", [group])
    meta.insert("user_id", [user])
    if index % 3 == 0:
        meta.insert("features", ["ssd", "gpu"])
    record = Record(f"rec-{index}", BASE + dt.timedelta(hours=start_hours))
    record.with_meta(meta)
    record.with_component(Component("Cores", cores).with_score(Score("HEPscore23", 10.0 + index)))
    record.with_component(Component("Memory", cores * 2 * 1024**3))
    if stop:
        record.with_stop_time(BASE + dt.timedelta(hours=start_hours + run_hours))
    return record


class Client:
    """The async client, called synchronously. (python-auditor 0.11.2's blocking client reads an
    empty list from every streamed `GET /records` answer, whatever the server sends: its own bug,
    seen against a plain stub server too. The async client, which its collectors use, is the
    reference here.)"""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.inner = self.loop.run_until_complete(self._build())

    @staticmethod
    async def _build():
        return AuditorClientBuilder().address("127.0.0.1", PORT).timeout(20).build()

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        async def call(*args):
            return await method(*args)
        return lambda *args: self.loop.run_until_complete(call(*args))


client = Client()
check(client.health_check(), "health_check is true")

# Expected records as (id, cores, group, user, start, runtime or None, features).
specs = []
singles = [make(i, 1 + i % 8, "g1" if i % 2 else "g2", f"u{i % 3}", i * 5, 1 + i % 4) for i in range(6)]
for index, record in enumerate(singles):
    client.add(record)
bulk = [make(i, 1 + i % 8, "g1" if i % 2 else "g2", f"u{i % 3}", i * 5, 1 + i % 4) for i in range(6, 20)]
client.bulk_insert(bulk)
running = make(20, 16, "g3", "u9", 2, 0, stop=False)
client.add(running)
for i in range(20):
    specs.append((f"rec-{i}", 1 + i % 8, "g1" if i % 2 else "g2", f"u{i % 3}", BASE + dt.timedelta(hours=i * 5),
                  (1 + i % 4) * 3600, i % 3 == 0))

# An identical resend succeeds and changes nothing; other content under a known id is refused.
client.add(singles[0])
client.bulk_insert(bulk[:3])
try:
    client.add(make(1, 64, "g1", "u1", 5, 2))
    check(False, "a different record under a known id raises")
except Exception as error:  # the client's RecordExists
    check("exist" in str(error).lower() or "409" in str(error), f"conflict says the record exists: {error}")

# Update: the running record gets its stop time.
stop = BASE + dt.timedelta(hours=8)
running.with_stop_time(stop)
client.update(running)
specs.append(("rec-20", 16, "g3", "u9", BASE + dt.timedelta(hours=2), 6 * 3600, False))

everything = client.get()
check(len(everything) == 21, f"get() returns every record: {len(everything)}")
one = client.get_single_record("rec-7")
check(one.record_id == "rec-7", "get_single_record returns the record")
check(one.runtime == 4 * 3600, f"runtime of rec-7: {one.runtime}")
check([c.name for c in one.components] == ["Cores", "Memory"], "components as sent")
check(one.components[0].amount == 8, "Cores amount")
check(one.components[0].scores[0].name == "HEPscore23" and abs(one.components[0].scores[0].value - 17.0) < 1e-9,
      "score as sent")
check(one.meta.get("group_id") == ["g1"], f"meta as sent: {one.meta.get('group_id')}")
updated = client.get_single_record("rec-20")
check(updated.stop_time is not None and updated.runtime == 6 * 3600, "update set the stop time")


def ids(records):
    return [r.record_id for r in records]


def expect(query, predicate, key=None, reverse=False, limit=None, what=""):
    rows = [s for s in specs if predicate(s)]
    rows.sort(key=key or (lambda s: (s[4] + dt.timedelta(seconds=s[5]), s[0])), reverse=reverse)
    if limit is not None:
        rows = rows[:limit]
    got = ids(client.advanced_query(query))
    want = [s[0] for s in rows]
    if key is None and not reverse:
        check(got == want, f"{what}: {got} != {want}")
    else:
        check(got == want, f"{what}: {got} != {want}")


def when(hours):
    return Value.set_datetime(BASE + dt.timedelta(hours=hours))


stop_of = lambda s: s[4] + dt.timedelta(seconds=s[5])
for name, op, test in [("gt", Operator().gt, lambda a, b: a > b), ("gte", Operator().gte, lambda a, b: a >= b),
                       ("lt", Operator().lt, lambda a, b: a < b), ("lte", Operator().lte, lambda a, b: a <= b)]:
    expect(QueryBuilder().with_start_time(op(when(25))).build(), lambda s: test(s[4], BASE + dt.timedelta(hours=25)),
           what=f"start_time[{name}]")
    expect(QueryBuilder().with_stop_time(op(when(27))).build(), lambda s: test(stop_of(s), BASE + dt.timedelta(hours=27)),
           what=f"stop_time[{name}]")
    expect(QueryBuilder().with_runtime(op(Value.set_runtime(7200))).build(), lambda s: test(s[5], 7200),
           what=f"runtime[{name}]")
    expect(QueryBuilder().with_component_query(ComponentQuery().component_operator("Cores", op(Value.set_count(4)))).build(),
           lambda s: test(s[1], 4), what=f"component[Cores][{name}]")
expect(QueryBuilder().with_runtime(Operator().equals(Value.set_runtime(10800))).build(), lambda s: s[5] == 10800,
       what="runtime[equals]")
expect(QueryBuilder().with_component_query(ComponentQuery().component_operator("Cores", Operator().equals(Value.set_count(3)))).build(),
       lambda s: s[1] == 3, what="component[Cores][equals]")
expect(QueryBuilder().with_start_time(Operator().gte(when(10)).lt(when(60))).build(),
       lambda s: BASE + dt.timedelta(hours=10) <= s[4] < BASE + dt.timedelta(hours=60), what="start_time range")
expect(QueryBuilder().with_meta_query(MetaQuery().meta_operator("group_id", MetaOperator().contains(["g1"]))).build(),
       lambda s: s[2] == "g1", what="meta[group_id][c]")
expect(QueryBuilder().with_meta_query(MetaQuery().meta_operator("group_id", MetaOperator().does_not_contain(["g1"]))).build(),
       lambda s: s[2] != "g1", what="meta[group_id][dnc]")
expect(QueryBuilder().with_meta_query(MetaQuery().meta_operator("features", MetaOperator().contains(["gpu"]))).build(),
       lambda s: s[6], what="meta[features][c] on a list")
for column, key in [("start_time", lambda s: (s[4], s[0])), ("stop_time", lambda s: (stop_of(s), s[0])),
                    ("runtime", lambda s: (s[5], s[0])), ("record_id", lambda s: s[0])]:
    expect(QueryBuilder().sort_by(SortBy().ascending(column)).build(), lambda s: True, key=key, what=f"sort_by[asc]={column}")
    got = ids(client.advanced_query(QueryBuilder().sort_by(SortBy().descending(column)).build()))
    values = {s[0]: key(s)[0] if column != "record_id" else s[0] for s in specs}
    check([values[i] for i in got] == sorted(values.values(), reverse=True), f"sort_by[desc]={column}: {got}")
expect(QueryBuilder().sort_by(SortBy().ascending("start_time")).limit(5).build(), lambda s: True,
       key=lambda s: (s[4], s[0]), limit=5, what="limit")
expect(QueryBuilder().with_meta_query(MetaQuery().meta_operator("group_id", MetaOperator().contains(["g2"])))
       .with_component_query(ComponentQuery().component_operator("Cores", Operator().gte(Value.set_count(3))))
       .with_stop_time(Operator().lt(when(80))).build(),
       lambda s: s[2] == "g2" and s[1] >= 3 and stop_of(s) < BASE + dt.timedelta(hours=80), what="combined filters")

# The same records through Tally's own API carry the same usage.
request = urllib.request.Request(f"http://127.0.0.1:{PORT}/api/v1/records?site=siteA&limit=1000",
                                 headers={"Authorization": f"Bearer {READ_TOKEN}"})
tally = {r["job_id"]: r for r in json.load(urllib.request.urlopen(request))["records"]}
check(len(tally) == 21, f"Tally's API lists the {len(specs)} records: {len(tally)}")
for record_id, cores, group, user, start, runtime, _ in specs:
    row = tally.get(record_id, {})
    check(row.get("cores") == cores and row.get("group") == group and row.get("user") == user,
          f"{record_id}: cores, group and user in Tally's API")
    check(row.get("start") == int(start.timestamp()) and row.get("end") == int(start.timestamp()) + runtime
          and row.get("wall_seconds") == runtime and row.get("state") == "completed",
          f"{record_id}: times in Tally's API")
    check(row.get("mem_alloc_bytes") == cores * 2 * 1024**3, f"{record_id}: memory in bytes")

print(f"{checks} checks, {len(failures)} failed")
sys.exit(1 if failures else 0)
