//! cli: the `runbook` command line. Parses arguments (clap), sets up logging to stderr, calls the
//! library and maps outcomes to exit codes (`exit_code::Exit`, README's "Exit codes" table).
//! It holds no logic of its own beyond wiring and printing.

pub mod diagnostics_output;
pub mod dry_run;
pub mod exit_code;
pub mod graph_view;
pub mod how_to_continue;
pub mod kubectl_shim;
pub mod logging;
pub mod metrics;
pub mod rbac;
pub mod rehearse;
pub mod report;
pub mod report_doc;
pub mod report_html;
pub mod report_markdown;
pub mod request_view;
pub mod run;
pub mod run_output;
pub mod shell_docs;
pub(crate) mod shim_rbac;
pub mod sim;
pub mod sim_forwarding;
// Not yet narrowed to `pub(crate)` (another branch is editing these files; 43 items).
#[allow(unreachable_pub)]
pub mod sweep;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::exit_code::Exit;

use clap::{Args, Parser, Subcommand};

use crate::cli::graph_view::GraphFormat;
use crate::plan::diagnostic::FileDiagnostics;
use crate::plan::loader;
use crate::run::inputs::Inputs;
use diagnostics_output::Format;

/// `--max-parallel`: a positive count. 0 used to mean 1 silently; it is a usage error now
/// (clap prints it with the flag's name and exits 2).
pub(crate) fn parse_max_parallel(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1 (1 runs one step at a time)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number of steps")),
    }
}

/// `runbook --version`: the crate version and the commit it was built from (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("RUNBOOK_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(name = "runbook", version = VERSION, about = "Declarative workflow engine for operational procedures (Camunda 8 backup and restore)", long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log to stderr, secrets masked: `-v` every HTTP request (method, URL, status) and
    /// kubectl argv (info), `-vv` bodies too (debug). `RUST_LOG` (e.g. `runbook=trace`)
    /// overrides both.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Check plan files (and directories of them) and report every problem.
    Validate(ValidateArgs),
    /// Show a plan's steps by stage, its critical path, undo and finally edges.
    Graph(GraphArgs),
    /// Dry run: show every request and command a run would send, in order. Sends nothing.
    Plan(PlanArgs),
    /// Run a plan: steps in parallel by their needs, undo on failure, finally always.
    Run(crate::cli::run::RunArgs),
    /// List the runs in the state directory with their outcome.
    Runs(crate::cli::run::RunsArgs),
    /// Show an unfinished run; roll it back, resume it or abandon it.
    Recover(crate::cli::run::RecoverArgs),
    /// Rehearse backup and restore end to end against the built-in simulator; prints a verdict.
    Rehearse(crate::cli::rehearse::RehearseArgs),
    /// Start the built-in Camunda simulator on 127.0.0.1 and print its values file.
    Sim(crate::cli::sim::SimArgs),
    /// Generated fault and crash sweeps of the shipped plans against the simulator.
    Sweep(crate::cli::sweep::SweepArgs),
    /// A shell completion script: `source <(runbook completion bash)`.
    Completion(crate::cli::shell_docs::CompletionArgs),
    /// The man page (roff): `runbook man | man -l -`.
    Man,
    /// A run's report as a page people read: HTML (SVG timeline) or Markdown (Mermaid gantt).
    Report(crate::cli::report::ReportArgs),
    /// Print the least-privilege ServiceAccount, Role and RoleBinding for plans' kubectl calls.
    Rbac(crate::cli::rbac::RbacArgs),
    /// Print the JSON Schema of the plan format.
    Schema,
    /// `kubectl` for `rehearse --port-forward`: relays `port-forward` to the simulator, hands
    /// every other verb to the real kubectl.
    #[command(hide = true)]
    KubectlShim(crate::cli::kubectl_shim::ShimArgs),
}

#[derive(Args)]
struct ValidateArgs {
    /// Plan files or directories (searched for *.yaml / *.yml).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Treat warnings as errors (exit 1 if there are any).
    #[arg(long)]
    deny_warnings: bool,
    /// In directories, check files matching this glob (repeatable; replaces the default
    /// `*.yaml` and `*.yml`). A glob with `/` matches the path below the directory.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// In directories, skip files matching this glob (repeatable; replaces the default
    /// `values*`). Only files that say `apiVersion: runbook/...` or `kind: Plan` are plans.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
}

#[derive(Args)]
struct GraphArgs {
    plan: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    format: GraphFormat,
}

#[derive(Args, Clone, Default)]
pub struct ValueArgs {
    /// Set a param: `--set name=value` (Helm syntax: `a=1,b=2`, lists as `{x,y}`). Later wins.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
    /// Read params from a YAML values file (a mapping of param names). Later wins.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Set a param to a file's content (Helm's `--set-file`: a CA bundle, a token); wins over
    /// `--set`. A secret param's content is masked like any secret.
    #[arg(long = "set-file", value_name = "NAME=PATH")]
    pub set_files: Vec<String>,
    /// kubectl's `-n`: sets the plan's `namespace` param (wins over `-f` and `--set`); for
    /// `rbac`, also the namespace of the objects it prints.
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespace: Option<String>,
    /// kubectl's `--context`: sets the plan's `kube_context` param.
    #[arg(long = "context", value_name = "NAME")]
    pub context: Option<String>,
    /// kubectl's `--kubeconfig`: sets the plan's `kubeconfig` param.
    #[arg(long = "kubeconfig", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// The kubectl flags and the params they set (docs/plan-format.md, "Params").
pub const KUBECTL_FLAG_PARAMS: [(&str, &str); 3] = [
    ("-n/--namespace", "namespace"),
    ("--context", "kube_context"),
    ("--kubeconfig", "kubeconfig"),
];

impl ValueArgs {
    /// A kubectl flag given for a plan without the param it sets: what to do instead.
    pub fn unbound_kubectl_flag(&self, plan: &crate::plan::Plan) -> Option<String> {
        let given = [
            self.namespace.is_some(),
            self.context.is_some(),
            self.kubeconfig.is_some(),
        ];
        KUBECTL_FLAG_PARAMS
            .iter()
            .zip(given)
            .find(|((_, param), given)| *given && !plan.params.iter().any(|p| p.name == *param))
            .map(|((flag, param), _)| {
                format!(
                    "{flag} sets the param `{param}`, which plan `{}` does not have; pass the value with --set NAME=VALUE to the param its kubectl target reads",
                    plan.name
                )
            })
    }

    pub fn inputs(&self) -> Inputs {
        let flags = [
            self.namespace.clone(),
            self.context.clone(),
            self.kubeconfig.as_ref().map(|p| p.display().to_string()),
        ];
        let mut sets = self.sets.clone();
        // After every `--set`: an explicit kubectl flag wins, as it does for kubectl. `\,`
        // keeps a comma in the value from splitting it (`parse_set`).
        for ((_, param), value) in KUBECTL_FLAG_PARAMS.iter().zip(flags) {
            if let Some(v) = value {
                sets.push(format!(
                    "{param}={}",
                    v.replace('\\', "\\\\").replace(',', "\\,")
                ));
            }
        }
        Inputs {
            sets,
            files: self.files.clone(),
            set_files: self.set_files.clone(),
        }
    }
}

#[derive(Args)]
struct PlanArgs {
    plan: PathBuf,
    #[command(flatten)]
    values: ValueArgs,
    /// `text` for review, `json` for machines.
    #[arg(long, value_enum, default_value = "text")]
    format: PlanFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PlanFormat {
    Text,
    Json,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            });
        }
    };
    logging::init(cli.verbose, color());
    let code = dispatch(cli.command);
    report_peak_memory();
    code
}

/// `RUNBOOK_PEAK_RSS=1`: the process's peak resident memory (`VmHWM`) on stderr at exit, for
/// the README's measurement of a backup's memory (`/usr/bin/time` would count the largest
/// kubectl child instead, ~46 MB, not runbook). Linux only; prints nothing elsewhere.
fn report_peak_memory() {
    if std::env::var_os("RUNBOOK_PEAK_RSS").is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
        let kb = line.trim_start_matches("VmHWM:").trim();
        eprintln!("runbook peak RSS (VmHWM): {kb}");
    }
}

fn dispatch(command: Command) -> ExitCode {
    match command {
        Command::Validate(a) => validate(&a),
        Command::Graph(a) => graph(&a),
        Command::Plan(a) => plan(&a),
        Command::Run(a) => crate::cli::run::run(&a),
        Command::Runs(a) => crate::cli::run::runs(&a),
        Command::Report(a) => crate::cli::report::report(&a),
        Command::Recover(a) => crate::cli::run::recover(&a),
        Command::Sim(a) => crate::cli::sim::sim(&a),
        Command::Rehearse(a) => crate::cli::rehearse::rehearse(&a),
        Command::Sweep(a) => crate::cli::sweep::sweep(&a),
        Command::KubectlShim(a) => crate::cli::kubectl_shim::shim(&a),
        Command::Completion(a) => crate::cli::shell_docs::completion(&a),
        Command::Man => crate::cli::shell_docs::man(),
        Command::Rbac(a) => crate::cli::rbac::rbac(&a),
        Command::Schema => {
            print!("{}", crate::plan::schema::plan_schema_text());
            ExitCode::from(Exit::Ok)
        }
    }
}

/// Prints a usage or I/O problem as a miette report and returns exit code 2.
pub fn fail(e: impl miette::Diagnostic + Send + Sync + 'static) -> ExitCode {
    eprintln!("{:?}", miette::Report::new(e));
    ExitCode::from(Exit::Usage)
}

fn term_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn validate(a: &ValidateArgs) -> ExitCode {
    let mut filter = crate::plan::plan_files::PlanFilter::default();
    if !a.include.is_empty() {
        filter.include.clone_from(&a.include);
    }
    if !a.exclude.is_empty() {
        filter.exclude.clone_from(&a.exclude);
    }
    let paths = match loader::expand_with(&a.paths, &filter) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    // A file that cannot be read is reported and the others are still checked (and printed
    // in the chosen format); the exit code is then 2.
    let mut files = Vec::new();
    let mut unreadable = 0usize;
    for p in &paths {
        match loader::load(p) {
            Ok(l) => files.push(l.diagnostics()),
            Err(e) => {
                eprintln!("{:?}", miette::Report::new(e));
                unreadable += 1;
            }
        }
    }
    print_diagnostics(&files, a.format);
    let errors: usize = files.iter().map(FileDiagnostics::errors).sum();
    let warnings: usize = files.iter().map(FileDiagnostics::warnings).sum();
    if a.format == Format::Human {
        let valid = files.iter().filter(|f| f.errors() == 0).count();
        eprintln!(
            "{valid} of {} plan file(s) valid: {errors} error(s), {warnings} warning(s)",
            files.len()
        );
        if unreadable > 0 {
            eprintln!("{unreadable} file(s) could not be read");
        }
    }
    if unreadable > 0 {
        ExitCode::from(Exit::Usage)
    } else if errors > 0 || (a.deny_warnings && warnings > 0) {
        ExitCode::from(Exit::Failed)
    } else {
        ExitCode::from(Exit::Ok)
    }
}

fn print_diagnostics(files: &[FileDiagnostics], format: Format) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        Format::Human => {
            let text = diagnostics_output::human(files, color(), term_width());
            eprint!("{text}");
            Ok(())
        }
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&diagnostics_output::json(files)).unwrap_or_default()
        ),
        Format::Github => write!(out, "{}", diagnostics_output::github(files)),
        Format::Sarif => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&diagnostics_output::sarif(files)).unwrap_or_default()
        ),
    };
}

/// Loads a plan for a command that needs a valid one; prints diagnostics otherwise.
pub fn load_valid(
    path: &std::path::Path,
) -> Result<(crate::plan::Plan, crate::plan::graph::PlanGraphs), ExitCode> {
    let loaded = loader::load(path).map_err(fail)?;
    let diags = loaded.diagnostics();
    let shown: Vec<_> = diags
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    match (loaded.validated.plan, loaded.validated.graphs) {
        (Some(plan), Some(graphs)) => Ok((plan, graphs)),
        _ => {
            eprint!(
                "{}",
                diagnostics_output::human(
                    &[FileDiagnostics {
                        source: diags.source,
                        diagnostics: shown
                    }],
                    color(),
                    term_width()
                )
            );
            eprintln!(
                "{} is not a valid plan; run `runbook validate {}` for details",
                path.display(),
                path.display()
            );
            Err(ExitCode::from(Exit::Usage))
        }
    }
}

fn graph(a: &GraphArgs) -> ExitCode {
    match load_valid(&a.plan) {
        Ok((plan, graphs)) => {
            print!(
                "{}",
                crate::cli::graph_view::render(&plan, &graphs, a.format)
            );
            ExitCode::from(Exit::Ok)
        }
        Err(code) => code,
    }
}

/// Resolves params or prints why not (exit 2).
pub fn resolve_params(
    plan: &crate::plan::Plan,
    values: &ValueArgs,
) -> Result<crate::run::inputs::ResolvedParams, ExitCode> {
    if let Some(msg) = values.unbound_kubectl_flag(plan) {
        eprintln!("error: {msg}");
        return Err(ExitCode::from(Exit::Usage));
    }
    match crate::run::inputs::resolve(plan, &values.inputs(), &|k| std::env::var(k).ok()) {
        Ok(p) => {
            for w in &p.warnings {
                eprintln!("warning: {w}");
            }
            Ok(p)
        }
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            Err(ExitCode::from(Exit::Usage))
        }
    }
}

fn plan(a: &PlanArgs) -> ExitCode {
    let (plan, graphs) = match load_valid(&a.plan) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let params = match resolve_params(&plan, &a.values) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let dry = crate::cli::dry_run::dry_run(&plan, &graphs, &params);
    let text = match a.format {
        PlanFormat::Text => crate::cli::dry_run::text(&dry),
        PlanFormat::Json => serde_json::to_string_pretty(&dry).unwrap_or_default() + "\n",
    };
    // Secrets were masked in the scope; redact again in case a value leaked through a helper.
    print!(
        "{}",
        crate::run::redact::Redactor::new(params.secret_values()).apply(&text)
    );
    ExitCode::from(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::parse_max_parallel;

    #[test]
    fn max_parallel_must_be_a_positive_count() {
        assert_eq!(parse_max_parallel("1"), Ok(1));
        assert_eq!(parse_max_parallel("16"), Ok(16));
        let zero = parse_max_parallel("0").expect_err("0 is refused");
        assert!(zero.contains("at least 1"), "{zero}");
        assert!(parse_max_parallel("-1").is_err());
        assert!(parse_max_parallel("many").is_err());
    }

    /// Every command's flags are unique and well formed: clap checks this only when a command
    /// is parsed, so a clash would otherwise panic in a user's hands (a shared `-n` did).
    #[test]
    fn every_command_line_is_well_formed() {
        use clap::CommandFactory;
        crate::cli::Cli::command().debug_assert();
    }
}
