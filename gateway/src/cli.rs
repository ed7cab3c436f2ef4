//! The `guichet` command line (DESIGN §2).

use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use catalog::import::{self, Format};
use catalog::{Actor, Role};
use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

use crate::config::{DEFAULT_DATA_DIR, DEFAULT_LISTEN, Settings};
use crate::{app, backup};

/// Guichet — guichet unique des financements publics des projets ruraux.
#[derive(Parser, Debug)]
#[command(name = "guichet", version, about, long_about = None)]
pub struct Cli {
    /// Dossier des données (base SQLite, courriels, pièces jointes).
    #[arg(long, global = true, env = "GUICHET_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Démarre le serveur web et l'API GraphQL.
    Serve {
        /// Adresse d'écoute.
        #[arg(long, env = "GUICHET_LISTEN", default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Ne pas charger le catalogue initial dans une base vide.
        #[arg(long)]
        no_seed: bool,
    },
    /// Importe des dispositifs depuis un fichier (ou /dev/stdin).
    Import {
        /// Fichier à importer.
        file: PathBuf,
        /// Format du fichier.
        #[arg(long, value_enum, default_value_t = ImportFormat::Guichet)]
        format: ImportFormat,
        /// Publier les dispositifs importés (sauf ceux dont le périmètre est illisible).
        #[arg(long)]
        publish: bool,
        /// Essai à blanc : dire ce que l'import ferait, sans rien enregistrer.
        #[arg(long)]
        dry_run: bool,
    },
    /// Gère les financeurs : leurs autres noms (alias) et la fusion des doublons.
    Funder {
        #[command(subcommand)]
        command: FunderCommand,
    },
    /// Écrit le catalogue sur la sortie standard.
    Export {
        /// Format de sortie.
        #[arg(long, value_enum, default_value_t = ExportFormat::Guichet)]
        format: ExportFormat,
    },
    /// Reconstruit l'index de recherche à partir de la base.
    Reindex,
    /// Gère les comptes.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Gère les jetons d'accès à l'API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Gère les synonymes de la recherche.
    Synonyms {
        #[command(subcommand)]
        command: SynonymsCommand,
    },
    /// Gère les zonages (listes nommées de communes : territoire d'un GAL LEADER, Petites
    /// villes de demain, FRR…) que le périmètre d'un dispositif peut citer.
    Zoning {
        #[command(subcommand)]
        command: ZoningCommand,
    },
    /// Sauvegarde la base SQLite et les pièces jointes, serveur en marche (sur PostgreSQL :
    /// les pièces jointes, et la commande pg_dump à lancer).
    Backup {
        /// Dossier de la sauvegarde, nouveau ou vide.
        dir: PathBuf,
    },
    /// Restaure une sauvegarde dans le dossier de données, serveur arrêté ; l'index de
    /// recherche est reconstruit au démarrage suivant.
    Restore {
        /// Dossier de la sauvegarde (avec son manifest.json).
        dir: PathBuf,
        /// Remplacer la base que le dossier de données contient déjà.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum FunderCommand {
    /// Gère les alias : les autres noms sous lesquels un import reconnaît un financeur.
    Alias {
        #[command(subcommand)]
        command: AliasCommand,
    },
    /// Fusionne un doublon dans un financeur : dispositifs, instructions, agents, services
    /// et alias passent au financeur gardé ; le nom du doublon devient un alias.
    Merge {
        /// Identifiant du financeur gardé.
        #[arg(long)]
        survivor: String,
        /// Identifiant du doublon, supprimé.
        #[arg(long)]
        duplicate: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AliasCommand {
    /// Fait d'un nom un alias du financeur.
    Add {
        /// Le nom, tel qu'un fichier l'écrit (ex. « ANCT »).
        alias: String,
        /// Identifiant du financeur.
        #[arg(long)]
        funder: String,
    },
    /// Retire un alias.
    Remove {
        /// Le nom.
        alias: String,
    },
    /// Liste les alias (« alias;financeur »).
    List,
}

#[derive(Subcommand, Debug)]
pub enum SynonymsCommand {
    /// Importe des groupes de synonymes (lignes « terme;synonyme, synonyme… ») ; chaque
    /// groupe remplace celui du même terme.
    Import {
        /// Fichier à importer (ou /dev/stdin).
        file: PathBuf,
    },
    /// Écrit les synonymes sur la sortie standard, dans le même format.
    Export,
}

#[derive(Subcommand, Debug)]
pub enum ZoningCommand {
    /// Importe la liste des communes d'un zonage (CSV avec une colonne de codes INSEE, ou un
    /// code par ligne) ; réimporter un zonage remplace sa liste.
    Import {
        /// Fichier à importer (ou /dev/stdin).
        file: PathBuf,
        /// Identifiant du zonage (ex. « petites-villes-de-demain »).
        #[arg(long)]
        slug: String,
        /// Nom du zonage, tel que les pages l'affichent.
        #[arg(long)]
        name: String,
        /// Adresse de la liste publique d'où viennent les communes.
        #[arg(long)]
        source: String,
        /// Date à laquelle la liste est valable (AAAA-MM-JJ).
        #[arg(long)]
        as_of: chrono::NaiveDate,
    },
    /// Liste les zonages connus et leur nombre de communes.
    List,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Crée un compte (ou change le rôle d'un compte existant).
    Add {
        /// Adresse électronique du compte.
        #[arg(long)]
        email: String,
        /// Rôle du compte.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Financeur dont le compte est agent (rôle funder).
        #[arg(long)]
        funder: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Crée un jeton d'accès ; il est affiché une seule fois, en dernière ligne.
    Issue {
        /// Adresse électronique du compte.
        #[arg(long)]
        email: String,
        /// Durée de validité en jours (sans limite si absent).
        #[arg(long)]
        ttl_days: Option<u32>,
    },
    /// Révoque un jeton, ou tous les jetons et sessions d'un compte.
    #[command(group = clap::ArgGroup::new("which").required(true))]
    Revoke {
        /// Le jeton à révoquer.
        #[arg(long, group = "which")]
        token: Option<String>,
        /// Révoquer tous les jetons et sessions de ce compte.
        #[arg(long, group = "which")]
        email: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ImportFormat {
    Guichet,
    AidesTerritoires,
    AidesTerritoiresCsv,
}

impl From<ImportFormat> for Format {
    fn from(f: ImportFormat) -> Self {
        match f {
            ImportFormat::Guichet => Format::Guichet,
            ImportFormat::AidesTerritoires => Format::AidesTerritoires,
            ImportFormat::AidesTerritoiresCsv => Format::AidesTerritoiresCsv,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportFormat {
    Guichet,
    Commongrants,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    Holder,
    Funder,
    Staff,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Holder => Role::Holder,
            RoleArg::Funder => Role::Funder,
            RoleArg::Staff => Role::Staff,
            RoleArg::Admin => Role::Admin,
        }
    }
}

fn init_tracing(default: &str) {
    let filter = EnvFilter::try_from_env("GUICHET_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only on a terminal: a log file or journal gets plain `key=value` fields.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_log = match cli.command {
        Command::Serve { .. } => "info,sqlx=warn,sea_orm=warn,tower_http=warn",
        _ => "warn",
    };
    init_tracing(default_log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("Erreur : {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Erreur : {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn settings(data_dir: &std::path::Path) -> Settings {
    Settings::new(data_dir, DEFAULT_LISTEN.parse().expect("default address"))
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { listen, no_seed } => {
            let state = app::prepare(Settings::for_server(&cli.data_dir, listen)?, no_seed).await?;
            app::serve(state).await
        }
        Command::Import {
            file,
            format,
            publish,
            dry_run,
        } => import_file(&cli.data_dir, &file, format.into(), publish, dry_run).await,
        Command::Funder { command } => {
            let (db, _) = app::open(&settings(&cli.data_dir)).await?;
            match command {
                FunderCommand::Alias {
                    command: AliasCommand::Add { alias, funder },
                } => {
                    let added =
                        catalog::funder_alias::set(&db, &Actor::Operator, &alias, &funder).await?;
                    println!(
                        "« {} » désigne désormais {}.",
                        added.alias, added.funder.record.slug
                    );
                }
                FunderCommand::Alias {
                    command: AliasCommand::Remove { alias },
                } => {
                    if catalog::funder_alias::delete(&db, &Actor::Operator, &alias).await? {
                        println!("Alias retiré : « {alias} ».");
                    } else {
                        anyhow::bail!("Aucun alias « {alias} ».");
                    }
                }
                FunderCommand::Alias {
                    command: AliasCommand::List,
                } => {
                    let mut out = String::from("alias;financeur\n");
                    for a in catalog::funder_alias::list(&db, &Actor::Operator).await? {
                        out.push_str(&format!("{};{}\n", a.alias, a.funder.record.slug));
                    }
                    std::io::stdout().lock().write_all(out.as_bytes())?;
                }
                FunderCommand::Merge {
                    survivor,
                    duplicate,
                } => {
                    let merged = dossier::funder_merge::merge(
                        &db,
                        &catalog::Effects::default(),
                        &Actor::Operator,
                        &survivor,
                        &duplicate,
                    )
                    .await?;
                    println!(
                        "« {duplicate} » fusionné dans {} ({}).",
                        merged.record.slug, merged.record.name
                    );
                }
            }
            Ok(())
        }
        Command::Export { format } => {
            let (db, _) = app::open(&settings(&cli.data_dir)).await?;
            let schemes = catalog::scheme::all(&db).await?;
            let out = match format {
                ExportFormat::Guichet => catalog::export::guichet(&schemes),
                ExportFormat::Commongrants => {
                    catalog::export::commongrants(&schemes, chrono::Utc::now().date_naive())
                }
            };
            std::io::stdout().lock().write_all(out.as_bytes())?;
            Ok(())
        }
        Command::Reindex => {
            let settings = settings(&cli.data_dir);
            let (db, territories) = app::open(&settings).await?;
            match catalog::search::SearchIndex::open(&settings.index_dir(), &db, territories).await
            {
                Ok(index) => {
                    let count = index.rebuild(&db).await?;
                    println!("Index de recherche reconstruit : {count} dispositifs.");
                }
                Err(catalog::Error::Conflict(_)) => {
                    catalog::search::request_rebuild(&db).await?;
                    println!(
                        "Un serveur Guichet utilise cet index : il le reconstruit dans les prochaines secondes."
                    );
                }
                Err(e) => return Err(e.into()),
            }
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    role,
                    funder,
                },
        } => {
            let settings = settings(&cli.data_dir);
            let (db, _) = app::open(&settings).await?;
            let (account, created) = catalog::account::add(
                &db,
                &Actor::Operator,
                &email,
                role.into(),
                funder.as_deref(),
            )
            .await?;
            let verb = if created { "créé" } else { "mis à jour" };
            println!(
                "Compte {verb} : {} ({})",
                account.email,
                account.role.label()
            );
            // An agent added after dossiers were routed to its service gets one digest of
            // them (the mail worker of a running server sends it).
            let links = dossier::notify::Links {
                public_url: settings.public_url.clone(),
            };
            let waiting = dossier::agent::send_digest(&db, &links, &account).await?;
            if waiting > 0 {
                println!(
                    "Récapitulatif envoyé : {waiting} dossier(s) en attente pour ce financeur."
                );
            }
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Issue { email, ttl_days },
        } => {
            let (db, _) = app::open(&settings(&cli.data_dir)).await?;
            let (account, secret, expires) =
                catalog::account::issue_api_token(&db, &email, ttl_days).await?;
            match expires {
                Some(at) => println!(
                    "Jeton créé pour {} ; il expire le {}.",
                    account.email,
                    at.format("%d/%m/%Y à %H:%M UTC")
                ),
                None => println!("Jeton créé pour {} ; il n'expire pas.", account.email),
            }
            println!("Conservez-le : il ne sera plus affiché.");
            println!("{secret}");
            Ok(())
        }
        Command::Synonyms {
            command: SynonymsCommand::Import { file },
        } => {
            let input = std::fs::read_to_string(&file)
                .with_context(|| format!("lecture de {} impossible", file.display()))?;
            let groups = catalog::synonym::parse_csv(&input).map_err(|e| anyhow::anyhow!(e))?;
            let settings = settings(&cli.data_dir);
            let (db, _) = app::open(&settings).await?;
            let fx = catalog::Effects::offline(&settings.public_url);
            let count = catalog::synonym::import(&db, &fx, &Actor::Operator, &groups).await?;
            println!("Groupes de synonymes importés : {count}");
            Ok(())
        }
        Command::Synonyms {
            command: SynonymsCommand::Export,
        } => {
            let (db, _) = app::open(&settings(&cli.data_dir)).await?;
            let mut out = String::from("terme;synonymes\n");
            for group in catalog::synonym::all(&db).await? {
                out.push_str(&format!("{};{}\n", group.term, group.synonyms.join(",")));
            }
            std::io::stdout().lock().write_all(out.as_bytes())?;
            Ok(())
        }
        Command::Zoning {
            command:
                ZoningCommand::Import {
                    file,
                    slug,
                    name,
                    source,
                    as_of,
                },
        } => {
            let content = std::fs::read(&file)
                .with_context(|| format!("lecture de {} impossible", file.display()))?;
            let settings = settings(&cli.data_dir);
            let (db, territories) = app::open(&settings).await?;
            let done = catalog::zoning::import_file(
                &db,
                &catalog::Effects::offline(&settings.public_url),
                &Actor::Operator,
                &territories,
                &slug,
                &name,
                &source,
                as_of,
                &content,
            )
            .await?;
            for unknown in &done.unknown {
                eprintln!(
                    "ligne {} : « {} » n'est pas un code de commune connu ; ignoré.",
                    unknown.line, unknown.code
                );
            }
            let imported = done.imported;
            println!(
                "Zonage {} : {} communes{}{}.",
                if imported.replaced {
                    "remplacé"
                } else {
                    "créé"
                },
                imported.communes,
                match imported.unknown.len() {
                    0 => String::new(),
                    n => format!(", {n} codes inconnus ignorés"),
                },
                match imported.schemes {
                    0 => String::new(),
                    n => format!(", {n} dispositifs concernés"),
                }
            );
            Ok(())
        }
        Command::Zoning {
            command: ZoningCommand::List,
        } => {
            let (db, _) = app::open(&settings(&cli.data_dir)).await?;
            let zonings = catalog::zoning::list(&db).await?;
            if zonings.is_empty() {
                println!("Aucun zonage.");
            }
            for z in zonings {
                println!(
                    "{}\t{}\t{} communes\tliste du {}\t{}",
                    z.slug, z.name, z.commune_count, z.as_of, z.source
                );
            }
            Ok(())
        }
        Command::Backup { dir } => {
            print!("{}", backup::backup(&settings(&cli.data_dir), &dir).await?);
            Ok(())
        }
        Command::Restore { dir, force } => {
            print!(
                "{}",
                backup::restore(&settings(&cli.data_dir), &dir, force).await?
            );
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Revoke { token, email },
        } => {
            let (db, _) = app::open(&settings(&cli.data_dir)).await?;
            let revoked = match (token, email) {
                (Some(token), _) => u64::from(catalog::account::revoke(&db, &token).await?),
                (None, Some(email)) => catalog::account::revoke_all(&db, &email).await?,
                (None, None) => 0,
            };
            if revoked == 0 {
                anyhow::bail!("aucun jeton actif ne correspond");
            }
            println!("Jetons révoqués : {revoked}");
            Ok(())
        }
    }
}

async fn import_file(
    data_dir: &std::path::Path,
    file: &std::path::Path,
    format: Format,
    publish: bool,
    dry_run: bool,
) -> anyhow::Result<()> {
    let mut input = String::new();
    std::fs::File::open(file)
        .and_then(|mut f| f.read_to_string(&mut input))
        .with_context(|| format!("lecture de {} impossible", file.display()))?;
    let (db, territories) = app::open(&settings(data_dir)).await?;
    let parsed = import::parse(format, &input, &territories).map_err(|e| anyhow::anyhow!(e))?;
    let bar = if std::io::stderr().is_terminal() && parsed.len() > 20 {
        let bar = indicatif::ProgressBar::new(parsed.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} dispositifs ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let summary = import::run_with(
        &db,
        &catalog::Effects::default(),
        &Actor::Operator,
        &territories,
        parsed,
        publish,
        dry_run,
        || bar.inc(1),
    )
    .await?;
    bar.finish_and_clear();
    print!("{}", summary.report());
    Ok(())
}
