//! `kpss`: serve the API, migrate, load seeds, sign tokens, print the schema.

use clap::{Parser, Subcommand};
use kpss::telemetry::LogFormat;
use kpss::{Config, Error, parse_ttl, prepare_database, start};
use kpss_api::auth::TokenRequest;
use kpss_domain::access::Role;

/// Answers are trees of many small values: mimalloc makes and frees them
/// with less work than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "kpss",
    version,
    about = "KPSS API: community plans of social services of Czech regions"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    /// Log lines as `text` or `json`.
    #[arg(long, env = "KPSS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default): migrates, loads seeds into an empty database, prints a ready token.
    Serve,
    /// Apply the database migrations.
    Migrate,
    /// Load `seeds/` into the database (a region already imported unchanged is skipped).
    Seed {
        /// Re-import regions changed through the API; their records are archived, not deleted.
        #[arg(long)]
        replace: bool,
    },
    /// Write a region's current data, or one plan's, in the seed format (to stdout, or a file).
    Export {
        #[arg(long, required_unless_present = "plan", conflicts_with = "plan")]
        region: Option<String>,
        /// A plan's id: the plan as a file to edit and import again.
        #[arg(long)]
        plan: Option<i64>,
        /// The file's format: `yaml` (the seed format) or, for a plan, `xlsx` (a workbook).
        #[arg(long, default_value = "yaml", value_parser = ["yaml", "xlsx"])]
        format: String,
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Import a plan file (as `kpss export --plan` writes it; `.yaml`, `.xlsx` or `.ods`,
    /// by its name) into a region: prints what changes; `--dry-run` changes nothing.
    Import {
        file: std::path::PathBuf,
        #[arg(long)]
        region: String,
        #[arg(long)]
        dry_run: bool,
        /// Archive the priorities, measures and activities the file leaves out.
        #[arg(long)]
        archive_missing: bool,
    },
    /// Write a plan's council document (the plan, or its evaluation of a year) as DOCX or PDF.
    Document {
        /// The plan's id (as the API names it).
        plan_id: i64,
        #[arg(long, value_parser = parse_format)]
        format: kpss_documents::Format,
        /// The evaluation of this year instead of the plan.
        #[arg(long)]
        evaluation: Option<i32>,
        /// Add an appendix with each record's source lines.
        #[arg(long)]
        sources: bool,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Print a token signed with the configured secret.
    Token {
        #[arg(long)]
        sub: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A region code, or `*` for every region (repeatable).
        #[arg(long = "region")]
        regions: Vec<String>,
        /// A NUTS 3 kraj code: read access to its regions (repeatable).
        #[arg(long = "kraj")]
        kraje: Vec<String>,
        #[arg(long, default_value = "8h", value_parser = parse_ttl)]
        ttl: u64,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Write the workbook template offices fill in (`docs/templates/akcni-plan.xlsx`).
    Template {
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn parse_format(s: &str) -> Result<kpss_documents::Format, String> {
    kpss_documents::Format::parse(s).ok_or_else(|| format!("`{s}` is not docx or pdf"))
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let logs = kpss::telemetry::init(cli.log_format);
    let result = run(cli).await;
    drop(logs);
    if let Err(e) = result {
        eprintln!("kpss: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), Error> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let db = prepare_database(&config).await?;
            let running = start(&config, db).await?;
            let addr = running.addr;
            // The signal handler first: whoever reads the banner may stop the server at once.
            let stopped = running.until_signal();
            banner(&config, addr)?;
            stopped.await
        }
        Command::Migrate => {
            let db = kpss_persistence::Db::connect(&config.owner_url()?).await?;
            db.exclusively(|| db.migrate()).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Seed { replace } => {
            let db = kpss_persistence::Db::connect(&config.owner_url()?).await?;
            let outcomes = db
                .exclusively(|| async {
                    db.migrate().await?;
                    kpss_persistence::seed::load(&db, &config.seed_files(), replace).await
                })
                .await?;
            for outcome in outcomes {
                println!("{outcome:?}");
            }
            Ok(())
        }
        Command::Export {
            region,
            plan,
            out,
            format,
        } => {
            let db = kpss_persistence::Db::connect(&config.database_url()?).await?;
            let scoped = db.scoped(kpss_domain::access::Ctx::system("export"));
            if format == "xlsx" {
                let (Some(id), Some(path)) = (plan, out) else {
                    return Err("--format xlsx writes one plan (--plan) to a file (--out)".into());
                };
                let data = kpss_persistence::plan_file::export_data(&scoped, id).await?;
                let bytes = kpss_workbook::plan(&data.region, &data.plans[0])?;
                kpss::write_private(&path, &bytes, true)?;
                return Ok(());
            }
            let yaml = match (plan, region) {
                (Some(id), _) => kpss_persistence::plan_file::export(&scoped, id).await?,
                (None, region) => {
                    let region = region.unwrap_or_default();
                    let code = kpss_domain::region::RegionCode::parse("--region", &region)?;
                    let data = kpss_persistence::export::region(&scoped, &code).await?;
                    kpss_persistence::export::to_yaml(&data)?
                }
            };
            match out {
                // A region's data: readable by the one who exported it.
                Some(path) => kpss::write_private(&path, yaml.as_bytes(), true)?,
                None => print!("{yaml}"),
            }
            Ok(())
        }
        Command::Import {
            file,
            region,
            dry_run,
            archive_missing,
        } => {
            let db = kpss_persistence::Db::connect(&config.database_url()?).await?;
            let code = kpss_domain::region::RegionCode::parse("--region", &region)?;
            let format = kpss_api::plan_files::FileFormat::of_name(&file.to_string_lossy())
                .ok_or_else(|| {
                    format!("{}: a plan file is .yaml, .xlsx or .ods", file.display())
                })?;
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let read = kpss_api::plan_files::read(&code, format, &bytes, &config.limits());
            let (parsed, kept) = match read {
                Err(kpss_persistence::Error::Problems(problems)) => {
                    for p in &problems {
                        eprintln!("{}: {}: {}", file.display(), p.field, p.czech());
                    }
                    return Err(format!("{} problem(s); nothing imported", problems.len()).into());
                }
                parsed => parsed?,
            };
            let options = kpss_persistence::plan_file::ImportOptions {
                dry_run,
                expected_version: None,
                archive_missing,
            };
            let scoped = db.scoped(kpss_domain::access::Ctx::system("import"));
            let result =
                kpss_persistence::plan_file::import(&scoped, &code, &parsed, &kept, options)
                    .await?;
            for c in &result.changes {
                use kpss_persistence::plan_file::ImportAction::Unchanged;
                if c.action != Unchanged {
                    let fields: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
                    let code = c.code.as_deref().unwrap_or("");
                    println!(
                        "{:?} {} {code} {}",
                        c.action,
                        c.kind.as_str(),
                        fields.join(", ")
                    );
                }
            }
            let verb = if result.applied {
                "applied"
            } else {
                "dry run, nothing changed"
            };
            println!(
                "{} record(s); {verb}; plan version {}",
                result.changes.len(),
                result.version
            );
            Ok(())
        }
        Command::Document {
            plan_id,
            format,
            evaluation,
            sources,
            out,
        } => {
            let db = kpss_persistence::Db::connect(&config.database_url()?).await?;
            let scoped = db.scoped(kpss_domain::access::Ctx::system("document"));
            let request = kpss_api::documents::Request {
                plan_id,
                format,
                evaluation,
                sources,
            };
            let today = kpss_api::documents::today()?;
            let made = kpss_api::documents::make(&scoped, &request, today).await?;
            // A region's data: readable by the one who made it, as `export` writes.
            kpss::write_private(&out, &made.bytes, true)?;
            Ok(())
        }
        Command::Token {
            sub,
            role,
            regions,
            kraje,
            ttl,
        } => {
            let token = config.auth()?.issue(&TokenRequest {
                subject: &sub,
                role,
                regions: &regions,
                kraje: &kraje,
                ttl_secs: ttl,
            })?;
            println!("{token}");
            Ok(())
        }
        Command::Schema => {
            print!("{}", kpss_api::graphql::sdl());
            Ok(())
        }
        Command::Template { out } => {
            std::fs::write(&out, kpss_workbook::template()?)
                .map_err(|e| format!("{}: {e}", out.display()))?;
            Ok(())
        }
    }
}

fn banner(config: &Config, addr: std::net::SocketAddr) -> Result<(), Error> {
    println!("KPSS API is ready.");
    println!("  Dashboard: http://{addr}/");
    println!("  GraphiQL:  http://{addr}/graphql");
    // Logs must not become credentials: a token only in the zero set-up case.
    if !config.prints_ready_token() {
        println!("  Tokens: `kpss token --sub NAME --role viewer|editor|admin --region CODE`");
        return Ok(());
    }
    let token = config.auth()?.issue(&TokenRequest {
        subject: "admin",
        role: Role::Admin,
        regions: &["*".into()],
        kraje: &[],
        ttl_secs: 8 * 3600,
    })?;
    println!("  Admin token (all regions, 8 h):\n{token}\n");
    println!("  Try it:");
    println!(
        "  curl -s http://{addr}/graphql -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n    -d '{{\"query\":\"{{ me {{ subject role }} regions {{ code name kraj {{ code }} }} }}\"}}'"
    );
    Ok(())
}
