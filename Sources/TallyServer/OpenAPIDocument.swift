/// The OpenAPI 3.1 description of `tally serve`, kept by hand beside the routes; a test checks
/// that it lists every route the server registers, and nothing it does not.
enum OpenAPIDocument {
    static let json = """
    {
      "openapi": "3.1.0",
      "info": {"title": "Tally", "version": "1", "description": "Accounting records and summaries. See docs/api.md."},
      "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
          "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
          "Record": {
            "type": "object",
            "required": ["site", "cluster", "job_id", "state"],
            "properties": {
              "site": {"type": "string"}, "cluster": {"type": "string"}, "job_id": {"type": "string"},
              "local_job_id": {"type": "string"}, "natural_key": {"type": "string"},
              "source": {"type": "string", "enum": ["slurm", "swf", "pbs", "sge", "htcondor", "kubernetes", "nomad", "api"]},
              "name": {"type": "string"}, "user": {"type": "string"}, "group": {"type": "string"},
              "account": {"type": "string"}, "partition": {"type": "string"}, "qos": {"type": "string"},
              "nodes": {"type": "integer"}, "node_list": {"type": "string"},
              "submit": {"type": "integer", "description": "epoch seconds"},
              "eligible": {"type": "integer", "description": "epoch seconds"},
              "start": {"type": "integer", "description": "epoch seconds"},
              "end": {"type": "integer", "description": "epoch seconds"},
              "wall_seconds": {"type": "integer"}, "cores": {"type": "integer"}, "gpus": {"type": "integer"},
              "gpu_model": {"type": "string"}, "mem_alloc_bytes": {"type": "integer"},
              "mem_req_bytes": {"type": "integer"}, "mem_used_bytes": {"type": "integer"},
              "cpu_seconds": {"type": "integer"}, "energy_joules": {"type": "integer"}, "billing": {"type": "integer"},
              "state": {"type": "string"}, "raw_state": {"type": "string"},
              "exit_code": {"type": "integer"}, "exit_signal": {"type": "integer"},
              "milli_cores": {"type": "integer", "description": "exact CPU allocation in thousandths of a core, when fractional"},
              "disk_alloc_bytes": {"type": "integer"}
            }
          },
          "AuditorRecord": {
            "type": "object",
            "required": ["record_id", "start_time"],
            "properties": {
              "record_id": {"type": "string"},
              "meta": {"type": ["object", "null"], "additionalProperties": {"type": "array", "items": {"type": "string"}}},
              "components": {"type": "array", "items": {"type": "object", "required": ["name", "amount"], "properties": {
                "name": {"type": "string"}, "amount": {"type": "integer", "minimum": 0},
                "scores": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "number"}}}}}}},
              "start_time": {"type": "string", "format": "date-time"},
              "stop_time": {"type": ["string", "null"], "format": "date-time"},
              "runtime": {"type": ["integer", "null"], "description": "seconds, in answers"}
            }
          },
          "BatchOutcome": {
            "type": "object",
            "properties": {
              "received": {"type": "integer"}, "accepted": {"type": "integer"}, "inserted": {"type": "integer"},
              "updated": {"type": "integer"}, "unchanged": {"type": "integer"},
              "errors": {"type": "array", "items": {"type": "object", "properties": {
                "index": {"type": "integer"}, "reason": {"type": "string"}}}}
            }
          }
        },
        "responses": {
          "Unauthorized": {"description": "no or unknown token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Forbidden": {"description": "the token lacks the scope or the site", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "BadRequest": {"description": "a parameter or the body cannot be used", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      },
      "security": [{"bearer": []}],
      "paths": {
        "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "ok"}}}},
        "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        "/": {"get": {"summary": "Dashboard overview (HTML): totals, a chart over time by a dimension, top groups and users (read scope, or the login cookie, or --public-dashboard)", "responses": {
          "200": {"description": "text/html"}, "303": {"description": "to /login"}}}},
        "/explore": {"get": {"summary": "Dashboard explorer (HTML): from, to, period, by, where, in-cluster, in-partition, in-account, in-qos, metric, top, timezone, sort, order, page in the URL", "responses": {
          "200": {"description": "text/html"}, "303": {"description": "to /login"}}}},
        "/explore.csv": {"get": {"summary": "The explorer's table as CSV (same parameters)", "responses": {
          "200": {"description": "text/csv"}, "303": {"description": "to /login"}}}},
        "/explore.svg": {"get": {"summary": "The explorer's chart as SVG (same parameters)", "responses": {
          "200": {"description": "image/svg+xml"}, "303": {"description": "to /login"}}}},
        "/gpu": {"get": {"summary": "Dashboard GPU view (HTML): hours by GPU model and class, raw and weighted", "responses": {
          "200": {"description": "text/html"}, "303": {"description": "to /login"}}}},
        "/quality": {"get": {"summary": "Dashboard data quality (HTML): coverage and gaps, sources, rejected lines", "responses": {
          "200": {"description": "text/html"}, "303": {"description": "to /login"}}}},
        "/allocations": {"get": {"summary": "Dashboard allocations (HTML): one row per allocation (granted, used, remaining, burn rate, projected exhaustion, status), at= a date", "responses": {
          "200": {"description": "text/html"}, "303": {"description": "to /login"}}}},
        "/allocation": {"get": {"summary": "Dashboard allocation (HTML): name= one allocation's burn-down chart, figures, warnings and users (users=all for every user), at= a date", "responses": {
          "200": {"description": "text/html"}, "303": {"description": "to /login"}, "404": {"description": "no such allocation for this token"}}}},
        "/login": {
          "get": {"summary": "Dashboard sign-in form", "security": [], "responses": {"200": {"description": "text/html"}}},
          "post": {"summary": "Sign in with a read token (form fields token, next); sets a signed, expiring HttpOnly session cookie (not the token)", "security": [], "responses": {
            "303": {"description": "to next, else /"}, "401": {"description": "not a read token"}}}
        },
        "/logout": {
          "get": {"summary": "End the dashboard session", "security": [], "responses": {"303": {"description": "to /login"}}},
          "post": {"summary": "End the dashboard session", "security": [], "responses": {"303": {"description": "to /login"}}}
        },
        "/health_check": {"get": {"summary": "AUDITOR-compatible health check: 200 while the database answers, else 500", "security": [], "responses": {
          "200": {"description": "ok"}, "500": {"description": "database unreachable"}}}},
        "/record": {
          "post": {"summary": "AUDITOR-compatible: add one record (write scope; see docs/api.md for the mapping)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuditorRecord"}}}},
            "responses": {"200": {"description": "inserted, or an identical resend"},
              "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"},
              "409": {"description": "RECORD_EXISTS: the id is known with other content", "content": {"text/plain": {"schema": {"type": "string"}}}}}},
          "put": {"summary": "AUDITOR-compatible: set a record's stop time (write scope)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["record_id", "stop_time"],
              "properties": {"record_id": {"type": "string"}, "stop_time": {"type": "string", "format": "date-time"}}}}}},
            "responses": {"200": {"description": "updated"}, "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
              "404": {"description": "no such record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
        },
        "/record/{record_id}": {"get": {"summary": "AUDITOR-compatible: one record as it was sent, with its runtime (read scope)",
          "parameters": [{"name": "record_id", "in": "path", "required": true, "schema": {"type": "string"}}],
          "responses": {"200": {"description": "the record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuditorRecord"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "404": {"description": "no such record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}},
        "/records": {
          "post": {"summary": "AUDITOR-compatible bulk insert, with a result per record (write scope)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/AuditorRecord"}}}}},
            "responses": {"200": {"description": "every record inserted or unchanged"}, "207": {"description": "some failed: see results"},
              "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"}, "409": {"description": "every record conflicts"}}},
          "get": {"summary": "AUDITOR-compatible query: start_time[gt|gte|lt|lte], stop_time[…], runtime[…|equals], component[NAME][…], meta[KEY][c|dnc], record_id, sort_by[asc|desc], limit (read scope)",
            "responses": {"200": {"description": "records", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/AuditorRecord"}}}}},
              "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}}}
        },
        "/api/v1/metrics": {"get": {"summary": "Prometheus text: requests, latencies, records received, inserted, rejected; usage per cluster and account (top N), source freshness and rejects, coverage gaps, allocations (read scope, all accounts)", "responses": {
          "200": {"description": "text/plain; version=0.0.4"},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}},
        "/api/v1/status": {"get": {"summary": "What the database holds (read scope)", "responses": {
          "200": {"description": "records, sources, rejected lines, coverage"},
          "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}},
        "/api/v1/summaries": {"get": {
          "summary": "Usage per period and group, as tally report (read scope)",
          "parameters": [
            {"name": "from", "in": "query", "schema": {"type": "string"}}, {"name": "to", "in": "query", "schema": {"type": "string"}},
            {"name": "period", "in": "query", "schema": {"type": "string", "enum": ["day", "week", "month", "quarter", "year", "total"]}},
            {"name": "by", "in": "query", "schema": {"type": "string"}},
            {"name": "where", "in": "query", "schema": {"type": "string"}, "description": "key=v1,v2; repeatable"},
            {"name": "timezone", "in": "query", "schema": {"type": "string"}},
            {"name": "unit", "in": "query", "schema": {"type": "string", "enum": ["hours", "minutes", "seconds"]}},
            {"name": "metrics", "in": "query", "schema": {"type": "string"}}
          ],
          "responses": {
            "200": {"description": "rows", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}, "text/csv": {"schema": {"type": "string"}}}},
            "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"}}}},
        "/api/v1/allocations": {
          "get": {"summary": "Every allocation with its burn-down: used, remaining, burn rate, projected exhaustion, per-user usage (read scope)",
            "parameters": [{"name": "at", "in": "query", "schema": {"type": "string"}}, {"name": "rate_window", "in": "query", "schema": {"type": "string"}},
                           {"name": "timezone", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "[{burnDown, basis}]; text/csv: the allocation list"},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}},
          "post": {"summary": "Grant an allocation (admin scope); ?replace=true to change one",
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["name", "dimension", "owner", "unit", "amountMilli", "start", "end", "thresholds", "userLimitsMilli", "createdAt"]}}}},
            "responses": {"201": {"description": "the allocation"}, "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
              "409": {"description": "an allocation of that name exists"}}}},
        "/api/v1/allocations/{name}": {"get": {"summary": "One allocation's burn-down (read scope)",
          "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "at", "in": "query", "schema": {"type": "string"}}, {"name": "rate_window", "in": "query", "schema": {"type": "string"}}],
          "responses": {"200": {"description": "{burnDown, basis}; text/csv: per-user usage"}, "404": {"description": "no such allocation"},
            "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}},
        "/api/v1/allocations/{name}/charges": {"post": {"summary": "Debit (positive amountMilli) or credit an allocation by hand (admin scope)",
          "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
          "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["at", "amountMilli", "note"]}}}},
          "responses": {"201": {"description": "the charge"}, "404": {"description": "no such allocation"}, "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}},
        "/api/v1/fairshare": {"get": {"summary": "Slurm fair-share (sshare columns) or HTCondor user priorities (condor_userprio columns) from records (read scope)",
          "parameters": [{"name": "style", "in": "query", "schema": {"type": "string", "enum": ["sshare", "userprio"]}},
                         {"name": "algorithm", "in": "query", "schema": {"type": "string", "enum": ["fair-tree", "classic"]}},
                         {"name": "at", "in": "query", "schema": {"type": "string"}}, {"name": "half_life", "in": "query", "schema": {"type": "string"}},
                         {"name": "where", "in": "query", "schema": {"type": "string"}}, {"name": "timezone", "in": "query", "schema": {"type": "string"}}],
          "responses": {"200": {"description": "{rows, basis, …}; text/csv: the table tally fairshare prints"}, "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}},
        "/api/v1/quota": {"get": {"summary": "Hierarchical group quotas at an instant: quota, usage, demand, allocation, surplus (read scope)",
          "parameters": [{"name": "at", "in": "query", "schema": {"type": "string"}}, {"name": "pool", "in": "query", "schema": {"type": "number"}},
                         {"name": "lookahead", "in": "query", "schema": {"type": "string"}}, {"name": "where", "in": "query", "schema": {"type": "string"}}],
          "responses": {"200": {"description": "{at, pool, groups, basis}"}, "422": {"description": "no quota groups or no pool size configured"},
            "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}},
        "/api/v1/quota/report": {"get": {"summary": "Average and peak cores per group and period against quota (read scope)",
          "parameters": [{"name": "from", "in": "query", "schema": {"type": "string"}}, {"name": "to", "in": "query", "schema": {"type": "string"}},
                         {"name": "period", "in": "query", "schema": {"type": "string"}}, {"name": "pool", "in": "query", "schema": {"type": "number"}}],
          "responses": {"200": {"description": "{rows, basis}"}, "400": {"$ref": "#/components/responses/BadRequest"}, "422": {"description": "no quota groups or no pool size configured"},
            "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}},
        "/api/v1/preempt": {"get": {"summary": "Running jobs ranked for eviction under each strategy (priority, quota, badput) (read scope)",
          "parameters": [{"name": "need", "in": "query", "required": true, "schema": {"type": "integer"}},
                         {"name": "for", "in": "query", "required": true, "schema": {"type": "string"}},
                         {"name": "at", "in": "query", "schema": {"type": "string"}}, {"name": "min_runtime", "in": "query", "schema": {"type": "string"}},
                         {"name": "pool", "in": "query", "schema": {"type": "number"}}],
          "responses": {"200": {"description": "{plans, running, basis}"}, "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}}},
        "/api/v1/records": {
          "get": {
            "summary": "Records, filtered, in keyset pages (read scope)",
            "parameters": [
              {"name": "from", "in": "query", "schema": {"type": "integer"}}, {"name": "to", "in": "query", "schema": {"type": "integer"}},
              {"name": "site", "in": "query", "schema": {"type": "string"}}, {"name": "cluster", "in": "query", "schema": {"type": "string"}},
              {"name": "account", "in": "query", "schema": {"type": "string"}}, {"name": "group", "in": "query", "schema": {"type": "string"}},
              {"name": "user", "in": "query", "schema": {"type": "string"}}, {"name": "partition", "in": "query", "schema": {"type": "string"}},
              {"name": "qos", "in": "query", "schema": {"type": "string"}}, {"name": "state", "in": "query", "schema": {"type": "string"}},
              {"name": "gpu-model", "in": "query", "schema": {"type": "string"}},
              {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
              {"name": "cursor", "in": "query", "schema": {"type": "string"}}
            ],
            "responses": {
              "200": {"description": "a page", "content": {"application/json": {"schema": {"type": "object", "properties": {
                "records": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
                "next_cursor": {"type": ["string", "null"]}}}}}},
              "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"}}},
          "post": {
            "summary": "Add or update records (write scope, own sites only); resending changes nothing",
            "requestBody": {"required": true, "content": {
              "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}}},
              "application/x-ndjson": {"schema": {"type": "string"}}}},
            "responses": {
              "200": {"description": "every record accepted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchOutcome"}}}},
              "207": {"description": "some records accepted, errors by index", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchOutcome"}}}},
              "400": {"description": "no record accepted, or not JSON", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchOutcome"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
              "413": {"description": "body too large", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
        }
      }
    }
    """
}
