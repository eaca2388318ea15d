//! schema: the JSON Schema (draft 2020-12) of the plan format, for editors and CI. This is
//! the single source: `runbook schema` prints it and a test checks that the committed
//! `schemas/plan.schema.json` equals it. It mirrors `raw`'s key lists; it validates nothing
//! itself.

use serde_json::{Value as Json, json};

/// The schema's `$id`.
pub const SCHEMA_ID: &str = "https://runbook.dev/schemas/plan.schema.json";

fn duration() -> Json {
    json!({"description": "A duration: `250ms`, `30s`, `5m`, `1h30m`, or an integer number of seconds.",
        "oneOf": [{"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$"}, {"type": "integer", "minimum": 0}]})
}

/// A step's or a wait's timeout: a duration, or `{{params.NAME}}` of a `duration` param.
fn timeout() -> Json {
    json!({"description": "A duration (`30s`, `5m`, ...) or `{{params.NAME}}` of a `type: duration` param.",
        "oneOf": [{"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$"}, {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": "^\\{\\{\\s*params\\.[A-Za-z_][A-Za-z0-9_-]*\\s*\\}\\}$"}]})
}

fn template(desc: &str) -> Json {
    json!({"type": "string", "description": format!("{desc} (handlebars template: `{{{{params.x}}}}`, `{{{{steps.<id>.outputs.<name>}}}}`, `{{{{targets.x.url}}}}`, `{{{{run.id}}}}`, `{{{{item}}}}`)")})
}

/// One authentication scheme of an HTTP target (exactly one key).
fn auth_scheme() -> Json {
    json!({"type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1, "properties": {
        "basic": {"type": "object", "additionalProperties": false, "required": ["username", "password"],
            "properties": {"username": template("User"), "password": template("Password (use a secret param)")}},
        "bearer": template("Token (use a secret param)"),
        "api_key": template("Encoded API key, sent as `Authorization: ApiKey <key>` (use a secret param)"),
        "aws_sigv4": {"type": "object", "additionalProperties": false, "required": ["region"],
            "description": "AWS Signature Version 4 (Amazon OpenSearch Service, OpenSearch Serverless); credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (IRSA)",
            "properties": {"region": template("AWS region; empty = this alternative is not configured"), "service": template("`es` (default) or `aoss`")}},
        "oauth2": {"type": "object", "additionalProperties": false, "required": ["token_url", "client_id", "client_secret"],
            "description": "OAuth2 client credentials: a bearer token from the token URL, fetched at run time, kept in memory, renewed before it expires or after a 401; never stored",
            "properties": {"token_url": template("The identity provider's token endpoint"), "client_id": template("Client id; empty = this alternative is not configured"),
                "client_secret": template("Client secret (use a secret param)"), "scope": template("Scope to request (optional)"), "audience": template("Audience to request (optional)")}}}})
}

fn jq(desc: &str) -> Json {
    json!({"type": "string", "description": format!("{desc} (jq expression; variables $params, $steps, $run, $item, $targets)")})
}

fn string_map(desc: &str) -> Json {
    json!({"type": "object", "description": desc, "additionalProperties": {"type": ["string", "number", "boolean"]}})
}

fn statuses() -> Json {
    json!({"description": "Accepted HTTP statuses (default: any 2xx).",
        "oneOf": [{"type": "integer", "minimum": 100, "maximum": 599}, {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599}}]})
}

fn actions() -> Json {
    json!({
        "http": {"$ref": "#/$defs/http"},
        "kubectl": {"$ref": "#/$defs/kubectl"},
        "exec": {"$ref": "#/$defs/exec"},
    })
}

fn retry() -> Json {
    json!({"type": "object", "additionalProperties": false, "description": "Retry retryable failures (connection errors, timeouts, 429, 5xx) with exponential backoff.",
    "properties": {
        "attempts": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Total attempts including the first (default 3 when `retry` is given)."},
        "backoff": {"type": "object", "additionalProperties": false, "properties": {
            "initial": duration(), "max": duration(), "multiplier": {"type": "number", "minimum": 1, "maximum": 100}}},
        "jitter": {"type": "boolean", "description": "Randomise delays (default true)."}
    }})
}

fn step() -> Json {
    let mut props = json!({
        "id": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]*$", "description": "Unique step id."},
        "description": {"type": "string"},
        "needs": {"description": "Steps that must succeed first.", "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "when": jq("Run only if this holds; otherwise the step is skipped"),
        "wait": {"$ref": "#/$defs/wait"},
        "retry": retry(),
        "timeout": timeout(),
        "outputs": {"type": "object", "description": "Values this step publishes, each a jq expression over the action's result.",
            "additionalProperties": {"oneOf": [jq("Extraction"), {"type": "object", "additionalProperties": false, "required": ["jq"],
                "properties": {"jq": jq("Extraction"), "secret": {"type": "boolean", "description": "Mask this value in every output."}}}]}},
        "undo": {"$ref": "#/$defs/undo"},
        "before_retry": {"$ref": "#/$defs/before_retry"},
        "destructive": {"type": "boolean", "description": "Deletes data: shown in dry runs, needs --yes."},
        "idempotent": {"type": "boolean", "description": "Safe to re-run on `recover --resume`."},
        "for_each": jq("Fan out over the list this yields; `{{item}}` is each element"),
        "parallelism": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "At most this many `for_each` items at once (default: the run's --max-parallel)."},
        "check": jq("The action succeeded only if this holds over its result; a string or a list of strings names the problems (\"\" and [] pass)"),
        "check_message": template("Message when `check` fails"),
        "version": {"type": "object", "additionalProperties": false, "required": ["app", "from"],
            "description": "The version the result reports must satisfy `requires` for `app`; a mismatch fails the step.",
            "properties": {"app": {"type": "string"}, "from": jq("Extracts the version string from the result")}},
    });
    if let (Some(p), Some(a)) = (props.as_object_mut(), actions().as_object()) {
        p.extend(a.clone());
    }
    json!({"type": "object", "additionalProperties": false, "required": ["id"], "properties": props,
        "oneOf": [{"required": ["http"]}, {"required": ["kubectl"]}, {"required": ["exec"]}, {"required": ["wait"]}]})
}

fn defs() -> Json {
    json!({
        "param": {"type": "object", "additionalProperties": false, "properties": {
            "type": {"enum": ["string", "integer", "number", "boolean", "duration", "url", "list"], "default": "string"},
            "default": {"description": "Default value; a string with `{{...}}` (e.g. `{{now \"unix\"}}`) is computed once per run and frozen."},
            "required": {"type": "boolean"},
            "description": {"type": "string"},
            "enum": {"type": "array", "description": "Allowed values."},
            "secret": {"type": "boolean", "description": "Never shown in logs, journals, reports or dry runs."},
            "env": {"type": "string", "pattern": "^[A-Za-z0-9_]+$", "description": "Environment variable to read the value from."}
        }},
        "target": {"type": "object", "additionalProperties": false, "properties": {
            "description": {"type": "string"},
            "http": {"type": "object", "additionalProperties": false, "required": ["url"], "properties": {
                "url": template("Base URL"),
                "headers": string_map("Headers sent with every request"),
                "auth": {
                    "description": "One scheme, or a list of alternatives: the first whose credential is not empty is sent; none when all are empty.",
                    "oneOf": [auth_scheme(), {"type": "array", "items": auth_scheme()}]},
                "tls": {"type": "object", "additionalProperties": false, "properties": {
                    "ca_file": template("PEM file of CA certificates to trust besides the system roots; empty = none"),
                    "ca_pem": template("PEM text of CA certificates to trust (e.g. a param given with `--set-file`); empty = none"),
                    "client_cert_file": template("PEM file of the client certificate chain for mutual TLS (with `client_key_file`)"),
                    "client_key_file": template("PEM file of the client certificate's private key"),
                    "server_name": template("Name the server certificate is checked against instead of the URL's host (e.g. the service name behind a port-forward)"),
                    "insecure": {"type": "boolean", "description": "Accept any certificate (explicit opt-in; flagged in dry runs and at run start)."}}},
                "timeout": duration(),
                "connect_timeout": duration(),
                "port_forward": {"type": "object", "additionalProperties": false, "required": ["via", "resource", "remote_port"], "properties": {
                    "via": {"type": "string", "description": "kubectl target to forward through"},
                    "resource": template("e.g. services/camunda-zeebe-gateway"),
                    "remote_port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "local_port": {"type": "integer", "minimum": 0, "maximum": 65535},
                    "enabled": {"type": ["boolean", "string"], "description": "false (or a template rendering to false) uses `url` directly"}}}
            }},
            "kubectl": {"type": "object", "additionalProperties": false, "properties": {
                "context": template("kubeconfig context"), "namespace": template("Namespace"), "kubeconfig": template("kubeconfig path")}}
        }, "oneOf": [{"required": ["http"]}, {"required": ["kubectl"]}]},
        "http": {"type": "object", "additionalProperties": false, "required": ["target"], "properties": {
            "target": {"type": "string"},
            "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "post", "put", "patch", "delete", "head", "options"]},
            "path": template("Path appended to the target URL"),
            "query": string_map("Query parameters"),
            "headers": string_map("Extra headers"),
            "json": {"description": "JSON body; a string that is exactly `{{path}}` keeps the value's type"},
            "body": template("Raw body"),
            "expect": statuses(),
            "max_response_bytes": {"type": "integer", "minimum": 1}
        }},
        "kubectl": {"type": "object", "additionalProperties": false, "required": ["target", "args"], "properties": {
            "target": {"type": "string"},
            "args": {"type": "array", "items": {"type": ["string", "number", "boolean"]}, "description": "argv after `kubectl` (no shell)"},
            "stdin": template("Standard input"),
            "expect_exit": {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}
        }},
        "exec": {"type": "object", "additionalProperties": false, "required": ["executor"], "properties": {
            "executor": {"type": "string", "description": "Runs `runbook-executor-<executor>` from PATH"},
            "with": {"description": "Input sent to the executor (strings are templates)"}
        }},
        "wait": {"type": "object", "additionalProperties": false, "required": ["until"], "properties": {
            "http": {"$ref": "#/$defs/http"}, "kubectl": {"$ref": "#/$defs/kubectl"}, "exec": {"$ref": "#/$defs/exec"},
            "until": jq("Done when this holds over the probe's result"),
            "fail_if": jq("Fail at once when this holds; a string or a list of strings is the failure's message (\"\" and [] do not hold)"),
            "interval": duration(), "max_interval": duration(), "timeout": timeout()
        }, "oneOf": [{"required": ["http"]}, {"required": ["kubectl"]}, {"required": ["exec"]}]},
        "undo": {"type": "object", "additionalProperties": false, "properties": {
            "description": {"type": "string"},
            "http": {"$ref": "#/$defs/http"}, "kubectl": {"$ref": "#/$defs/kubectl"}, "exec": {"$ref": "#/$defs/exec"},
            "retry": retry(), "timeout": timeout()
        }, "oneOf": [{"required": ["http"]}, {"required": ["kubectl"]}, {"required": ["exec"]}]},
        "before_retry": {"type": "object", "additionalProperties": false,
            "description": "Runs before every attempt after the first, and before the first attempt of a step or item a resumed run left started: removes what the earlier attempt left.",
            "properties": {
            "description": {"type": "string"},
            "find": {"type": "object", "additionalProperties": false, "description": "A read-only call whose result `select` reads.",
                "properties": {"http": {"$ref": "#/$defs/http"}, "kubectl": {"$ref": "#/$defs/kubectl"}, "exec": {"$ref": "#/$defs/exec"}},
                "oneOf": [{"required": ["http"]}, {"required": ["kubectl"]}, {"required": ["exec"]}]},
            "select": jq("Over `find`'s result: the strings to clean up; the call runs once per string, as `{{leftover}}`"),
            "http": {"$ref": "#/$defs/http"}, "kubectl": {"$ref": "#/$defs/kubectl"}, "exec": {"$ref": "#/$defs/exec"}
        }, "oneOf": [{"required": ["http"]}, {"required": ["kubectl"]}, {"required": ["exec"]}]},
        "step": step()
    })
}

/// The plan schema.
pub fn plan_schema() -> Json {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "runbook plan",
        "description": "A runbook plan (apiVersion runbook/v1): params, targets, steps (a DAG) and finally steps.",
        "type": "object",
        "additionalProperties": false,
        "required": ["apiVersion", "kind", "name", "steps"],
        "properties": {
            "apiVersion": {"const": "runbook/v1"},
            "kind": {"const": "Plan"},
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "requires": {"type": "object", "description": "Version constraints, e.g. camunda: \">=8.8.0, <8.9.0\"", "additionalProperties": {"type": "string"}},
            "params": {"type": "object", "additionalProperties": {"$ref": "#/$defs/param"}},
            "targets": {"type": "object", "additionalProperties": {"$ref": "#/$defs/target"}},
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}},
            "finally": {"type": "array", "items": {"$ref": "#/$defs/step"}},
            "result": {"type": "object", "description": "What a run produced, by name: templates over params and step outputs, rendered at the end of the run for the summary, --output json and metrics, e.g. backup_id: \"{{params.backup_id}}\"", "additionalProperties": {"type": "string"}},
            "windows": {"type": "object", "description": "Named spans of a run for metrics, from the start of step `from` to the end of step `to`, e.g. exporting_paused: {from: soft-pause-exporting, to: resume-exporting}", "additionalProperties": {"type": "object", "additionalProperties": false, "required": ["from", "to"], "properties": {"from": {"type": "string"}, "to": {"type": "string"}}}}
        },
        "$defs": defs()
    })
}

/// The schema as committed: pretty JSON with a trailing newline.
pub fn plan_schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&plan_schema()).unwrap_or_default();
    s.push('\n');
    s
}
