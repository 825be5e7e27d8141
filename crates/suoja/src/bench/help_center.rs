//! The help center's and community's pages at size: 10 000 articles and 100 000 posts, an
//! article and a post with 50 comments each, timed signed out over loopback (one request at a
//! time) against `GET /healthz` on the same server, and article search through the index.

use std::time::Duration;

use anyhow::Context as _;
use suoja_config::Settings;
use suoja_core::{Email, Personal, Role, Scope, Timestamp, UserId};
use suoja_helpdesk::Helpdesk;
use suoja_helpdesk::help_center::{ArticleCommentInput, ArticleInput, GroupingInput, PostCommentInput, TopicInput};
use suoja_helpdesk::model::UserInput;
use suoja_store::community::PostRow;

use suoja_privacy::export::{Format, Options, no_progress, package};

use super::web::{PageFigures, time};

/// What the benchmark measured on one engine.
#[derive(Debug, Clone, Default)]
pub struct HcFigures {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// Articles and posts in the database.
    pub articles: usize,
    /// Posts in the database.
    pub posts: usize,
    /// Seconds to seed them (articles through the library, posts in batches).
    pub seed_secs: f64,
    /// `GET /healthz`.
    pub baseline: PageFigures,
    /// `GET /hc`.
    pub home: PageFigures,
    /// An article page with 50 comments.
    pub article: PageFigures,
    /// A topic page (the first 30 of 10 000 posts).
    pub topic: PageFigures,
    /// A post page with 50 comments.
    pub post: PageFigures,
    /// `GET /hc/search` for a word in 1 % of the articles.
    pub search: PageFigures,
    /// A person with 1 000 posts and 1 000 comments on others' posts: their export as JSON, ms.
    pub export_json_ms: f64,
    /// The same as a PDF, ms.
    pub export_pdf_ms: f64,
    /// Privacy staff's inspection of the person, which searches every other person's posts and
    /// comments for them (what an access request's mention search and an erasure plan also do), ms.
    pub inspect_ms: f64,
    /// Their erasure (plan, every step, read-back), ms.
    pub erase_ms: f64,
    /// The erasure's read-back found nothing left.
    pub erase_verified: bool,
}

const SECTIONS: usize = 20;
const TOPICS: usize = 10;

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Seeds and measures on one engine (`pg`: a PostgreSQL server's admin URL).
pub async fn measure(engine: &str, pg: Option<&str>, articles: usize, posts: usize, samples: usize) -> anyhow::Result<HcFigures> {
    let dir = std::env::temp_dir().join(format!("suoja-bench-hc-{engine}-{}", super::hex_suffix()));
    std::fs::create_dir_all(&dir)?;
    let mut settings = Settings {
        data_dir: dir.clone(),
        rate_limit_per_minute: 1_000_000,
        ..Settings::default()
    };
    if let Some(admin) = pg {
        settings.database_url = Some(super::create_pg_database(admin).await?);
    }
    let hd = crate::app::open(&settings).await?;
    let boot = super::bench_tenant(&hd, "bench@example.fi").await?;
    let started = std::time::Instant::now();
    let (article, topic, post) = seed(&hd, &boot.admin, articles, posts).await?;
    let seed_secs = started.elapsed().as_secs_f64();
    let person = poster(&hd, &boot.admin, 1_000).await?;
    let privacy = crate::app::privacy(hd.clone(), &settings)?;
    let t = std::time::Instant::now();
    let export = privacy
        .export(&boot.admin, person, None, &Options::default(), &no_progress)
        .await
        .map_err(err)?;
    let mut json = package::InMemory::default();
    privacy.write_package(boot.admin.tenant, &export, Format::Json, &mut json).await.map_err(err)?;
    let export_json_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = std::time::Instant::now();
    let export = privacy
        .export(&boot.admin, person, None, &Options::default(), &no_progress)
        .await
        .map_err(err)?;
    let mut pdf = package::InMemory::default();
    privacy.write_package(boot.admin.tenant, &export, Format::Pdf, &mut pdf).await.map_err(err)?;
    let export_pdf_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = std::time::Instant::now();
    privacy.inspect(&boot.admin, person, "benchmark").await.map_err(err)?;
    let inspect_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = std::time::Instant::now();
    let row = privacy.erase(&boot.admin, person, suoja_privacy::erasure::Origin::Api).await.map_err(err)?;
    let erase_ms = t.elapsed().as_secs_f64() * 1000.0;
    let erase_verified = row.state == suoja_core::ErasureState::Completed;
    if pg.is_some() {
        sqlx::query("VACUUM ANALYZE").execute(hd.db().write_pool()).await?;
    }
    hd.db().close().await;

    let port = super::free_port()?;
    let server = super::ChildGuard {
        child: super::serve_command(&dir, port, &settings)?.spawn().context("starting suoja serve")?,
    };
    super::wait_port(port).await?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let figures = HcFigures {
        engine: engine.into(),
        articles,
        posts,
        seed_secs,
        baseline: time(&client, &format!("{base}/healthz"), "", samples).await?,
        home: time(&client, &format!("{base}/hc"), "", samples).await?,
        article: time(&client, &format!("{base}/hc/articles/{article}"), "", samples).await?,
        topic: time(&client, &format!("{base}/hc/community/topics/{topic}"), "", samples).await?,
        post: time(&client, &format!("{base}/hc/community/posts/{post}"), "", samples).await?,
        search: time(&client, &format!("{base}/hc/search?q=lighthouse"), "", samples).await?,
        export_json_ms,
        export_pdf_ms,
        inspect_ms,
        erase_ms,
        erase_verified,
    };
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(figures)
}

/// Seeds the help center and community; returns (an article, a topic, a post) to time, the
/// article and post with 50 comments each.
async fn seed(hd: &Helpdesk, admin: &Scope, articles: usize, posts: usize) -> anyhow::Result<(i64, i64, i64)> {
    let bar = indicatif::ProgressBar::new((articles + posts) as u64);
    bar.set_style(indicatif::ProgressStyle::with_template("seeding the help center {bar:40} {pos}/{len} ({eta})")?);
    let category = hd
        .create_category(
            admin,
            &GroupingInput {
                name: Some("Getting started".into()),
                ..GroupingInput::default()
            },
            None,
        )
        .await
        .map_err(err)?;
    let mut sections = Vec::new();
    for i in 0..SECTIONS {
        let input = GroupingInput {
            name: Some(format!("Section {i}")),
            ..GroupingInput::default()
        };
        sections.push(hd.create_section(admin, category.id, &input, None).await.map_err(err)?.id);
    }
    let mut first_article = 0;
    for i in 0..articles {
        let rare = if i % 100 == 7 { " lighthouse" } else { "" };
        let input = ArticleInput {
            title: Some(format!("How to change setting {i}{rare}")),
            body: Some(format!(
                "<h2>Steps</h2><ol><li>Open <b>Settings</b> and choose page {i}.</li><li>Change the value and save.</li></ol>\
                 <p>If the change does not show, sign out and in again. Reference {i:05}.{rare}</p>"
            )),
            promoted: Some(i < 5),
            ..ArticleInput::default()
        };
        let section = sections.get(i % SECTIONS).copied().unwrap_or_default();
        let a = hd.create_article(admin, section, &input, None, false).await.map_err(err)?;
        if i == 0 {
            first_article = a.row.id;
        }
        bar.inc(1);
    }
    // People who comment.
    let mut people = Vec::new();
    for i in 0..10 {
        let u = hd
            .create_user(
                admin,
                UserInput {
                    name: Some(Personal::new(format!("Reader {i}"))),
                    email: Some(Some(Email::parse(&format!("reader{i}@example.fi")).map_err(|e| err(e.0))?)),
                    role: Some(Role::EndUser),
                    ..Default::default()
                },
            )
            .await
            .map_err(err)?;
        people.push(u.id);
    }
    let as_person = |id: UserId| Scope {
        tenant: admin.tenant,
        actor: id,
        role: Role::EndUser,
        privacy_officer: false,
        token: None,
    };
    for i in 0..50 {
        let who = as_person(people.get(i % people.len()).copied().unwrap_or(admin.actor));
        let input = ArticleCommentInput {
            body: Some(format!("<p>Comment {i}: this helped, thank you. The second step was the one I missed.</p>")),
            ..ArticleCommentInput::default()
        };
        hd.create_article_comment(&who, first_article, &input, false).await.map_err(err)?;
    }
    let mut topics = Vec::new();
    for i in 0..TOPICS {
        let input = TopicInput {
            name: Some(format!("Topic {i}")),
            ..TopicInput::default()
        };
        topics.push(hd.create_topic(admin, &input).await.map_err(err)?.id);
    }
    // Posts in batches through the store, each sealed under its author's key as the service
    // seals them (the title and details are sealed once per author and reused: reading them
    // costs the same).
    let mut sealed = Vec::new();
    {
        let mut tx = hd.db().begin().await?;
        for p in &people {
            let key = suoja_store::users::by_id(&mut tx, admin.tenant, *p).await?.context("a reader")?.key_id;
            let title = hd.vault().encrypt_str(&mut tx, admin.tenant, key, "Please add a dark mode to the app").await?;
            let details = hd
                .vault()
                .encrypt_str(
                    &mut tx,
                    admin.tenant,
                    key,
                    "<p>Reading at night hurts my eyes; a dark mode would help a lot.</p>",
                )
                .await?;
            sealed.push((*p, key, title, details));
        }
        tx.commit().await?;
    }
    let now = Timestamp(suoja_core::Clock::now(&suoja_core::clock::SystemClock).0);
    let mut last_post = 0;
    for chunk in (0..posts).collect::<Vec<_>>().chunks(1_000) {
        let mut tx = hd.db().begin().await?;
        for i in chunk {
            let Some((author, key, title, details)) = sealed.get(i % sealed.len()) else {
                continue;
            };
            let row = PostRow {
                id: 0,
                topic_id: topics.get(i % TOPICS).copied().unwrap_or_default(),
                author_id: *author,
                key_id: Some(*key),
                status: "none".into(),
                featured: false,
                pinned: false,
                closed: false,
                hidden: false,
                created_at: Timestamp(now.0 - suoja_core::num::to_i64(posts - i) * 1_000),
                updated_at: Timestamp(now.0 - suoja_core::num::to_i64(posts - i) * 1_000),
                non_author_editor_id: None,
                non_author_updated_at: None,
                title_enc: Some(title.clone()),
                details_enc: Some(details.clone()),
            };
            last_post = suoja_store::community::insert_post(&mut tx, admin.tenant, &row).await?;
        }
        tx.commit().await?;
        bar.inc(chunk.len() as u64);
    }
    for i in 0..50 {
        let who = as_person(people.get(i % people.len()).copied().unwrap_or(admin.actor));
        let input = PostCommentInput {
            body: Some(format!("<p>Answer {i}: me too, and on the tablet as well.</p>")),
            ..PostCommentInput::default()
        };
        hd.create_post_comment(&who, last_post, &input, false).await.map_err(err)?;
    }
    bar.finish_and_clear();
    let busiest = topics.get((posts.saturating_sub(1)) % TOPICS).copied().unwrap_or_default();
    Ok((first_article, busiest, last_post))
}

/// A person with `n` posts and `n` comments on the posts of others (sealed under their key, as
/// the service seals them), for the export and erasure figures.
async fn poster(hd: &Helpdesk, admin: &Scope, n: usize) -> anyhow::Result<UserId> {
    let u = hd
        .create_user(
            admin,
            UserInput {
                name: Some(Personal::new("Paula Poster".into())),
                email: Some(Some(Email::parse("paula.poster@example.fi").map_err(|e| err(e.0))?)),
                role: Some(Role::EndUser),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
    let mut tx = hd.db().begin().await?;
    let key = suoja_store::users::by_id(&mut tx, admin.tenant, u.id).await?.context("the poster")?.key_id;
    let topic: i64 = sqlx::query_scalar("SELECT id FROM hc_topics WHERE tenant_id = $1 ORDER BY id LIMIT 1")
        .bind(admin.tenant.0)
        .fetch_one(&mut *tx)
        .await?;
    let others: Vec<i64> = sqlx::query_scalar("SELECT id FROM hc_posts WHERE tenant_id = $1 ORDER BY id LIMIT 1000")
        .bind(admin.tenant.0)
        .fetch_all(&mut *tx)
        .await?;
    let now = Timestamp(suoja_core::Clock::now(&suoja_core::clock::SystemClock).0);
    for i in 0..n {
        let title = hd.vault().encrypt_str(&mut tx, admin.tenant, key, &format!("Paula's idea number {i}")).await?;
        let details = hd
            .vault()
            .encrypt_str(
                &mut tx,
                admin.tenant,
                key,
                &format!("<p>Idea {i}: it would help if the app remembered my last search.</p>"),
            )
            .await?;
        let row = PostRow {
            id: 0,
            topic_id: topic,
            author_id: u.id,
            key_id: Some(key),
            status: "none".into(),
            featured: false,
            pinned: false,
            closed: false,
            hidden: false,
            created_at: now,
            updated_at: now,
            non_author_editor_id: None,
            non_author_updated_at: None,
            title_enc: Some(title),
            details_enc: Some(details),
        };
        suoja_store::community::insert_post(&mut tx, admin.tenant, &row).await?;
        let body = hd
            .vault()
            .encrypt_str(&mut tx, admin.tenant, key, &format!("<p>Paula agrees ({i}).</p>"))
            .await?;
        let comment = suoja_store::community::PostCommentRow {
            id: 0,
            post_id: others.get(i % others.len().max(1)).copied().unwrap_or_default(),
            author_id: u.id,
            key_id: Some(key),
            official: false,
            hidden: false,
            created_at: now,
            updated_at: now,
            non_author_editor_id: None,
            non_author_updated_at: None,
            body_enc: Some(body),
        };
        suoja_store::community::insert_comment(&mut tx, admin.tenant, &comment).await?;
    }
    tx.commit().await?;
    Ok(u.id)
}
