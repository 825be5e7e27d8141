//! Tickets brought over in batches (imports and seeding) are written in a few multi-row
//! statements, with ids handed out before the rows exist. What lands must be what writing one
//! ticket at a time would have left: the same rows, comments in order, audits, tag rows and
//! index entries, and ids that no later ticket or comment collides with — on both engines, and
//! after a batch that was refused and written again one ticket at a time.

use reqwest::StatusCode;
use serde_json::json;
use suoja_core::{Personal, Timestamp, UserId};
use suoja_helpdesk::import::{ImportedComment, ImportedTicket, Landed};
use suoja_helpdesk::model::{Channel, CommentInput, RequesterRef, TicketInput};
use suoja_search::DocKind;

use crate::engine_test;
use crate::harness::TestApp;

fn comment(author: i64, body: &str, public: bool) -> CommentInput {
    CommentInput {
        body: Some(Personal::new(body.to_string())),
        html_body: None,
        public,
        author_id: Some(UserId(author)),
        uploads: Vec::new(),
        files: Vec::new(),
        via: Channel::Import,
    }
}

/// A conversation as another helpdesk would hand it over: the requester's question, an
/// agent's reply, the requester's answer, an internal note and a last reply.
fn conversation(source_id: i64, requester: i64, agent: i64, field: i64) -> ImportedTicket {
    let t0 = 1_700_000_000_000 + source_id * 86_400_000;
    let later = [
        (agent, "Hei Ted, the grinder started again after a reset?", true),
        (requester, "Kyllä, it started fine. Kiitos!", true),
        (agent, "Internal: firmware 2.1 on this unit, serial checked", false),
        (agent, "Closing this one; write again any time.", true),
    ];
    ImportedTicket {
        source_id,
        input: TicketInput {
            subject: Some(Personal::new(format!("Espresso grinder stalls ({source_id})"))),
            comment: Some(comment(requester, "My grinder stalls when the beans are oily. — Ted", true)),
            requester: Some(RequesterRef::Id(UserId(requester))),
            submitter_id: Some(UserId(requester)),
            assignee_id: Some(Some(UserId(agent))),
            status: Some(suoja_core::Status::Solved),
            tags: Some(vec!["grinder".into(), format!("batch{source_id}")]),
            custom_fields: Some(Personal::new(vec![(field, json!(format!("SN-{source_id}-Å")))])),
            external_id: Some(Some(Personal::new(format!("zd-{source_id}")))),
            ..Default::default()
        },
        later: later
            .iter()
            .enumerate()
            .map(|(k, (who, body, public))| ImportedComment {
                input: comment(*who, body, *public),
                created_at: Timestamp(t0 + (i64::try_from(k).unwrap() + 1) * 3_600_000),
            })
            .collect(),
        created_at: Timestamp(t0),
        updated_at: Timestamp(t0 + 5 * 3_600_000),
    }
}

/// A ticket's index entry as stored, sorted.
async fn entry(app: &TestApp, id: i64) -> (Vec<i64>, Vec<i64>) {
    let mut c = app.helpdesk().db().read().await.unwrap();
    let t = suoja_search::index::read(&mut c, app.admin_scope().tenant, DocKind::Ticket, id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("ticket {id} has no index entry"));
    let sorted = |mut v: Vec<i64>| {
        v.sort_unstable();
        v.dedup();
        v
    };
    (sorted(t.public), sorted(t.internal))
}

engine_test!(a_batch_writes_what_one_ticket_at_a_time_would, |app| async move {
    let hd = app.helpdesk();
    let scope = app.admin_scope();
    let field = app.text_field("Serial").await;
    let ted = app.user("Ted Virtanen", "ted@example.fi").await;
    let anna = app.agent("Anna Agent", "anna@example.fi").await;
    let tickets: Vec<ImportedTicket> = (1..=3).map(|i| conversation(i, ted, anna, field)).collect();
    let out = hd.import_conversations(&scope, "batch-test", tickets.clone()).await.unwrap();
    assert!(out.refused.is_empty(), "{:?}", out.refused);
    let ids: Vec<i64> = out.landed.iter().map(|(_, l)| l.id()).collect();
    assert_eq!(out.new_count(), 3);

    let mut comment_ids = Vec::new();
    for (t, id) in tickets.iter().zip(&ids) {
        let (s, v) = app.get(&format!("/api/v2/tickets/{id}.json")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let got = &v["ticket"];
        assert_eq!(got["subject"], format!("Espresso grinder stalls ({})", t.source_id));
        assert_eq!(got["status"], "solved");
        assert_eq!((got["requester_id"].as_i64(), got["assignee_id"].as_i64()), (Some(ted), Some(anna)));
        assert_eq!(got["external_id"], format!("zd-{}", t.source_id));
        assert_eq!(got["custom_fields"][0]["value"], format!("SN-{}-Å", t.source_id), "{got}");
        assert_eq!(got["via"]["channel"], "import");
        let mut tags: Vec<String> = got["tags"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
        tags.sort();
        assert_eq!(tags, vec![format!("batch{}", t.source_id), "grinder".to_string()]);
        assert_eq!(got["created_at"], Timestamp(t.created_at.0).to_iso());
        assert_eq!(
            got["updated_at"],
            Timestamp(t.updated_at.0).to_iso(),
            "the last comment's time, not the import's"
        );

        // The conversation in order, with its writers, visibility and times.
        let (_, cs) = app.get(&format!("/api/v2/tickets/{id}/comments.json")).await;
        let cs = cs["comments"].as_array().unwrap().clone();
        assert_eq!(cs.len(), 5);
        let authors: Vec<i64> = cs.iter().map(|c| c["author_id"].as_i64().unwrap()).collect();
        assert_eq!(authors, [ted, anna, ted, anna, anna]);
        let public: Vec<bool> = cs.iter().map(|c| c["public"].as_bool().unwrap()).collect();
        assert_eq!(public, [true, true, true, false, true]);
        assert_eq!(cs[3]["body"], "Internal: firmware 2.1 on this unit, serial checked");
        let these: Vec<i64> = cs.iter().map(|c| c["id"].as_i64().unwrap()).collect();
        assert!(these.windows(2).all(|w| w[0] < w[1]), "comment ids ascend in writing order: {these:?}");
        comment_ids.extend(these);

        // One audit for the creation and one for each later comment.
        let (_, audits) = app.get(&format!("/api/v2/tickets/{id}/audits.json")).await;
        assert_eq!(audits["audits"].as_array().unwrap().len(), 5, "{audits}");

        // The index entry is exactly what rebuilding it from the rows gives.
        let written = entry(&app, *id).await;
        {
            let mut c = hd.db().begin().await.unwrap();
            hd.reindex_ticket(&mut c, scope.tenant, suoja_core::TicketId(*id)).await.unwrap();
            c.commit().await.unwrap();
        }
        assert_eq!(written, entry(&app, *id).await, "ticket {id}'s index entry as a rebuild would write it");
    }
    let mut sorted = comment_ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 15, "every comment has its own id");

    // Tags, external ids, internal notes and words are found.
    let (_, found) = app.get("/api/v2/search.json?query=tags:grinder").await;
    assert_eq!(found["count"], 3, "{found}");
    let (_, found) = app.get("/api/v2/search.json?query=firmware").await;
    assert_eq!(found["count"], 3, "{found}");
    let (_, found) = app.get("/api/v2/tickets.json?external_id=zd-2").await;
    assert_eq!(found["tickets"][0]["id"].as_i64(), ids.get(1).copied(), "{found}");
    {
        let mut c = hd.db().read().await.unwrap();
        let mut tagged = hd.tickets_with_tag(&mut c, scope.tenant, "batch2").await.unwrap();
        tagged.sort_unstable();
        assert_eq!(tagged, vec![ids[1]], "the tag's row names only its ticket");
    }

    // A ticket and a comment made afterwards get ids of their own.
    let later = app.ticket(ted, "Made after the import", "A new question").await;
    assert!(ids.iter().all(|id| *id < later), "{later} after {ids:?}");
    let (_, cs) = app.get(&format!("/api/v2/tickets/{later}/comments.json")).await;
    let first = cs["comments"][0]["id"].as_i64().unwrap();
    assert!(comment_ids.iter().all(|c| *c < first), "{first} after {comment_ids:?}");

    // A batch with one ticket that cannot come over (its requester is not here) is refused
    // whole and written again one ticket at a time: the others land, with ids no one else
    // holds, and what comes after still gets fresh ones.
    let mut broken = conversation(5, 999_999, anna, field);
    broken.input.submitter_id = None;
    let again = vec![
        conversation(4, ted, anna, field),
        broken,
        conversation(6, ted, anna, field),
        conversation(2, ted, anna, field),
    ];
    let out = hd.import_conversations(&scope, "batch-test", again).await.unwrap();
    assert_eq!(out.refused.iter().map(|r| r.source_id).collect::<Vec<_>>(), vec![5], "{:?}", out.refused);
    assert_eq!(out.new_count(), 2);
    assert!(
        out.landed.iter().any(|(sid, l)| *sid == 2 && *l == Landed::Found(ids[1])),
        "a ticket brought over before is found, not made again: {:?}",
        out.landed
    );
    let mut all: Vec<i64> = ids.iter().copied().chain([later]).chain(out.landed.iter().map(|(_, l)| l.id())).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 6, "three, one made here, two more (the one found again counted once)");
    for (sid, l) in &out.landed {
        if let Landed::New(id) = l {
            let (s, v) = app.get(&format!("/api/v2/tickets/{id}.json")).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            assert_eq!(v["ticket"]["external_id"], format!("zd-{sid}"));
            let (_, cs) = app.get(&format!("/api/v2/tickets/{id}/comments.json")).await;
            assert_eq!(cs["comments"].as_array().unwrap().len(), 5);
        }
    }
    let last = app.ticket(ted, "And one more", "Another question").await;
    assert!(all.iter().all(|id| *id < last), "{last} after {all:?}");
});
