"""Smoke flow of the unmodified zenpy client (PyPI, pinned) against a running Suoja.

Usage: SUOJA_ADDR=127.0.0.1:PORT SUOJA_EMAIL=... SUOJA_TOKEN=... python3 zenpy_smoke.py
"""
import os
import sys
import time

os.environ["ZENPY_FORCE_SCHEME"] = "http"
os.environ["ZENPY_FORCE_NETLOC"] = os.environ["SUOJA_ADDR"]

from zenpy import Zenpy  # noqa: E402
from zenpy.lib.api_objects import Automation, Comment, CustomField, CustomFieldOption, Macro, Request, Ticket, TicketField, TicketForm, Trigger, User, UserField, View  # noqa: E402
from zenpy.lib.exception import RecordNotFoundException  # noqa: E402

STEP = [0]


def step(name):
    STEP[0] += 1
    print(f"zenpy {STEP[0]:2d}. {name}", flush=True)


def check(cond, what):
    if not cond:
        print(f"zenpy FAILED: {what}", file=sys.stderr, flush=True)
        sys.exit(1)


z = Zenpy(subdomain="local", email=os.environ["SUOJA_EMAIL"], token=os.environ["SUOJA_TOKEN"], disable_cache=True)
run = str(int(time.time() * 1000))

step("authenticate")
me = z.users.me()
check(me.email == os.environ["SUOJA_EMAIL"], f"users.me returned {me.email}")

step("create a user")
requester = z.users.create(User(name="Zenpy Requester Åsa", email=f"zenpy-req-{run}@example.fi"))
cc = z.users.create(User(name="Zenpy CC", email=f"zenpy-cc-{run}@example.fi"))
check(requester.id and cc.id, "users created")

step("create a ticket with a CC")
word = f"zenpyword{run}"
audit = z.tickets.create(Ticket(subject=f"Zenpy ticket {word}", requester_id=requester.id, comment=Comment(body=f"Hello from zenpy {word}", public=True), collaborator_ids=[cc.id]))
ticket = audit.ticket
check(ticket.id and cc.id in ticket.collaborator_ids, "ticket with CC")

step("add an internal note")
ticket.comment = Comment(body="zenpy internal note", public=False)
z.tickets.update(ticket)

step("list comments")
comments = list(z.tickets.comments(ticket=ticket.id))
check(len(comments) == 2, f"two comments, got {len(comments)}")
check(comments[1].public is False and comments[1].body == "zenpy internal note", "the note is internal")
check(ticket.submitter_id == requester.id and comments[0].author_id == requester.id, "made for the requester: they submitted it and wrote its description")
check(comments[1].author_id != requester.id, "the note is the agent's")

step("read the ticket's audits, and every ticket's by cursor")
ticket = z.tickets(id=ticket.id)
ticket.priority = "high"
z.tickets.update(ticket)


def member(e, key):
    return e.get(key) if isinstance(e, dict) else getattr(e, key, None)


audits = list(z.tickets.audits(ticket=ticket.id))
check(len(audits) == 3, f"create, note, priority: {len(audits)} audits")
kinds = [member(e, "type") for a in audits for e in a.events]
check(kinds.count("Comment") == 2, f"two comment events: {kinds}")
changes = [e for e in audits[2].events if member(e, "field_name") == "priority"]
check(len(changes) == 1 and member(changes[0], "value") == "high", f"the priority change: {audits[2].events}")
check([member(e, "value") for e in audits[0].events if member(e, "field_name") == "subject"] == [f"Zenpy ticket {word}"], "the subject it was created with")
everyone = [a.id for a in z.tickets.audits()]
check(len(everyone) == len(set(everyone)) and {a.id for a in audits} <= set(everyone), f"the account's audits by cursor: {len(everyone)}, each once")

step("search for a word of the ticket")
found = list(z.search(word, type="ticket"))
check([t.id for t in found] == [ticket.id], f"search found {[t.id for t in found]}")

step("list the requester's tickets")
requested = list(z.users.requested(requester.id))
check([t.id for t in requested] == [ticket.id], f"requested {[t.id for t in requested]}")

step("create 250 tickets and page through them with cursor pagination")
before = {t.id for t in z.tickets()}
for chunk in range(3):
    n = 100 if chunk < 2 else 50
    job = z.tickets.create([Ticket(subject=f"bulk {chunk}-{i}", requester_id=requester.id, comment=Comment(body="bulk")) for i in range(n)])
    for _ in range(100):
        job = z.job_status(id=job.id)
        if job.status in ("completed", "failed", "killed"):
            break
        time.sleep(0.1)
    check(job.status == "completed", f"job {job.status}")
all_ids = [t.id for t in z.tickets()]
check(len(all_ids) == len(set(all_ids)), "no ticket twice")
check(len(set(all_ids) - before) == 250, f"paged through {len(set(all_ids) - before)} new tickets")

step("update the status")
t = z.tickets(id=ticket.id)
t.status = "pending"
z.tickets.update(t)
check(z.tickets(id=ticket.id).status == "pending", "status updated")

step("set, add and remove a ticket's tags")
z.tickets.set_tags(ticket.id, ["zenpy", "VIP"])
z.tickets.add_tags(ticket.id, ["billing"])
z.tickets.delete_tags(ticket.id, ["vip"])
tags = sorted(z.tickets(id=ticket.id).tags)
check(tags == ["billing", "zenpy"], f"tags {tags}")

step("delete and restore the ticket")
z.tickets.delete(t)
deleted = [d.id for d in z.tickets.deleted()]
check(ticket.id in deleted, "ticket in the trash")
z.tickets.restore(t)
check(z.tickets(id=ticket.id).status == "pending", "ticket restored")

step("redact text in a comment")
secret = f"card{run}"
fresh = z.tickets(id=ticket.id)
fresh.comment = Comment(body=f"my card is {secret}, thanks", public=True)
z.tickets.update(fresh)
last = list(z.tickets.comments(ticket=ticket.id))[-1]
redacted = z.tickets.comment_redact(ticket.id, last.id, secret)
check(secret not in redacted.body and "\u2587" in redacted.body, f"redacted body {redacted.body!r}")
check(all(secret not in c.body for c in z.tickets.comments(ticket=ticket.id)), "the text is gone from the comments")
check(list(z.search(secret, type="ticket")) == [], "search no longer finds the text")

step("an end user opens a request, reads its public comments and solves it (Requests API)")
import requests as http  # noqa: E402  (zenpy's own dependency)

base = f"http://{os.environ['SUOJA_ADDR']}/api/v2"
admin_auth = (f"{os.environ['SUOJA_EMAIL']}/token", os.environ["SUOJA_TOKEN"])
asker_email = f"zenpy-asker-{run}@example.fi"
made = http.post(f"{base}/users.json", auth=admin_auth, json={"user": {"name": "Zenpy Asker", "email": asker_email, "password": "zenpy asker password"}})
check(made.status_code == 201, f"end user created: {made.status_code} {made.text[:200]}")
# A person signs in with a password at their helpdesk's own address (the subdomain names it).
session = http.Session()
session.headers["Host"] = f"{os.environ['SUOJA_SUBDOMAIN']}.suoja.test"
ez = Zenpy(subdomain="local", email=asker_email, password="zenpy asker password", disable_cache=True, session=session)
req = ez.requests.create(Request(subject=f"Zenpy request {word}", comment=Comment(body="My parcel has not arrived.")))
check(req.id and req.requester_id == made.json()["user"]["id"], f"request opened: {req.id}")
z.tickets.update(Ticket(id=req.id, assignee_id=me.id, comment=Comment(body="zenpy private note", public=False)))
z.tickets.update(Ticket(id=req.id, comment=Comment(body="It is on its way.", public=True)))
bodies = [c.body for c in ez.requests.comments(req.id)]
check(bodies == ["My parcel has not arrived.", "It is on its way."], f"public comments only: {bodies}")
check([r.id for r in ez.requests.open()] == [req.id], "listed as open")
req = ez.requests(id=req.id)
req.comment = Comment(body="Arrived, thanks.")
req.solved = True
ez.requests.update(req)
check([r.id for r in ez.requests.solved()] == [req.id], "listed as solved")

step("help center: staff publish; an end user comments, votes and follows; search finds it")
from zenpy.lib.api_objects.help_centre_objects import Article, Category, Section, Subscription  # noqa: E402
from zenpy.lib.api_objects.help_centre_objects import Comment as ArticleComment  # noqa: E402

category = z.help_center.categories.create(Category(name=f"Zenpy category {run}", description="First steps"))
section = z.help_center.sections.create(Section(category_id=category.id, name="Zenpy section"))
article = z.help_center.articles.create(section=section.id, article=Article(title=f"Zenpy article {word}", body="<p>Open <b>Settings</b>.</p>", locale="en-us"))
check(article.id and article.section_id == section.id and article.draft is False, f"article created: {article.id}")
said = ez.help_center.comments.create(article.id, ArticleComment(body="<p>This helped, thanks.</p>", locale="en-us"))
check(said.id and said.author_id == made.json()["user"]["id"], f"comment by the end user: {said.id}")
ez.help_center.articles.vote_up(article.id)
followed = ez.help_center.articles.create_subscription(article.id, Subscription(source_locale="en-us"))
check(followed.id and followed.content_id == article.id, "the end user follows the article")
check([c.body for c in z.help_center.articles.comments(article.id)] == ["<p>This helped, thanks.</p>"], "the comment is listed")
check(z.help_center.articles(id=article.id).vote_sum == 1, "the vote is counted")
hits = z.help_center.articles.search(query=word)
check(any(getattr(a, "id", None) == article.id for a in hits), "article search finds it")
check([s.id for s in ez.help_center.articles.subscriptions(article.id)] == [followed.id], "the end user's subscription is listed")

step("community: staff open a topic; an end user posts, comments, votes and follows")
from zenpy.lib.api_objects.help_centre_objects import Post, Topic  # noqa: E402

topic = z.help_center.topics.create(Topic(name=f"Zenpy topic {run}", description="Ideas"))
post = ez.help_center.posts.create(Post(title="Dark mode, please", details="<p>My eyes hurt.</p>", topic_id=topic.id))
check(post.id and post.topic_id == topic.id and post.author_id == made.json()["user"]["id"], f"post created: {post.id}")
answer = z.help_center.posts.comments.create(post.id, ArticleComment(body="<p>It is on our list.</p>", official=True))
check(answer.id and answer.official is True, "an official answer")
z.help_center.posts.vote_up(post.id)
ez.help_center.posts.create_subscription(post.id, Subscription())
check([p.id for p in z.help_center.topics.posts(topic.id)] == [post.id], "the topic lists the post")
shown = z.help_center.posts(id=post.id)
check(shown.vote_sum == 1 and shown.comment_count == 1, f"counted: {shown.vote_sum} {shown.comment_count}")

step("bulk jobs: people, organisations and tickets many at a time")
from zenpy.lib.api_objects import Organization  # noqa: E402


def finished(job):
    for _ in range(100):
        job = z.job_status(id=job.id)
        if job.status in ("completed", "failed", "killed"):
            break
        time.sleep(0.1)
    check(job.status == "completed", f"job {job.status}")
    return job


job = finished(z.users.create([User(name="Zenpy Bulk Åsa", email=f"zenpy-bulk-a-{run}@example.fi", external_id=f"zb-{run}"), User(name="Zenpy Bulk Ted", email=f"zenpy-bulk-b-{run}@example.fi")]))
bulk_ids = [r.id for r in job.results]
check(len(bulk_ids) == 2, f"two people created: {job.results}")
found = [u.id for u in z.users(external_id=f"zb-{run}")]
check(found == [bulk_ids[0]], f"found by external id: {found}")
same = z.users.create_or_update(User(name="Zenpy Bulk Åsa", email=f"ZENPY-bulk-a-{run}@example.fi", phone="+358 40 1"))
check(same.id == bulk_ids[0] and same.phone == "+358 40 1", "create_or_update changed the person with that address")
job = finished(z.organizations.create([Organization(name=f"Zenpy Bulk Oy {run}"), Organization(name=f"Zenpy Toinen Oy {run}")]))
org_ids = [r.id for r in job.results]
check(sorted(o.id for o in z.organizations(ids=org_ids)) == sorted(org_ids), "organisations shown by ids")
pair = [z.tickets.create(Ticket(subject=f"zenpy bulk {i}", requester_id=bulk_ids[i], comment=Comment(body="bulk"))).ticket for i in range(2)]
for t in pair:
    t.priority = "high"
finished(z.tickets.update(pair))
check([z.tickets(id=t.id).priority for t in pair] == ["high", "high"], "both tickets changed")
finished(z.tickets.delete(pair))
trashed = {d.id for d in z.tickets.deleted()}
check({t.id for t in pair} <= trashed, "both in the trash")
finished(z.tickets.permanently_delete(pair))
trashed = {d.id for d in z.tickets.deleted()}
check(not ({t.id for t in pair} & trashed), "both deleted for good")

step("incremental exports of tickets, by cursor and by time")
exported = [t.id for t in z.tickets.incremental(start_time=0)]
check(ticket.id in exported and len(exported) == len(set(exported)), f"by cursor: {len(exported)} tickets, each once")
# By time, the newest minute is left for the next poll (a write stamps its time before it
# commits), so this run's tickets are not there yet; the generator ends at end_of_stream.
by_time = [t.id for t in z.tickets.incremental(start_time=0, paginate_by_time=True)]
check(ticket.id not in by_time and len(by_time) == len(set(by_time)), f"by time: {len(by_time)} tickets, none of this minute")

step("ticket fields, a ticket form and a user field; values checked against them")
plan = z.ticket_fields.create(TicketField(type="tagger", title="Zenpy plan", custom_field_options=[CustomFieldOption(name="Gold", value="zenpy_gold"), CustomFieldOption(name="Free", value="zenpy_free")]))
seats = z.ticket_fields.create(TicketField(type="integer", title="Zenpy seats", required=True))
types = [f.type for f in z.ticket_fields()]
check(types[:3] == ["subject", "description", "status"] and "tagger" in types, f"system fields first, then ours: {types}")
check([o.value for o in z.ticket_fields(id=plan.id).custom_field_options] == ["zenpy_gold", "zenpy_free"], "the drop-down's options")
form = z.ticket_forms.create(TicketForm(name="Zenpy form", ticket_field_ids=[plan.id, seats.id]))
check(form.id and form.ticket_field_ids == [plan.id, seats.id], f"a form with our fields: {form.ticket_field_ids}")
valued = z.tickets.create(Ticket(subject="zenpy fields", requester_id=requester.id, comment=Comment(body="fields"), ticket_form_id=form.id, custom_fields=[CustomField(id=plan.id, value="zenpy_gold"), CustomField(id=seats.id, value=12)])).ticket
check({(f["id"], f["value"]) for f in valued.custom_fields} == {(plan.id, "zenpy_gold"), (seats.id, "12")}, f"values as kept: {valued.custom_fields}")
try:
    z.tickets.create(Ticket(subject="zenpy bad field", requester_id=requester.id, comment=Comment(body="x"), custom_fields=[CustomField(id=plan.id, value="zenpy_platinum")]))
    check(False, "a value outside the drop-down was taken")
except Exception as e:  # zenpy raises APIException for a 422
    check("custom_fields" in str(e), f"the refusal names the field: {e}")
plan.title = "Zenpy plan level"
check(z.ticket_fields.update(plan).title == "Zenpy plan level", "a field renamed")
level = z.user_fields.create(UserField(type="text", key=f"zenpy_level_{run}", title="Zenpy level"))
requester.user_fields = {level.key: "expert"}
check(z.users.update(requester).user_fields.get(level.key) == "expert", "a user field's value")
z.user_fields.delete(level)

step("views and macros: a view's tickets and count, what a macro would do")
view_tag = f"zenpy_view_{run}"
vw = z.views.create(View(title="Zenpy view", all=[{"field": "status", "operator": "less_than", "value": "solved"}, {"field": "current_tags", "operator": "includes", "value": view_tag}], output={"columns": ["nice_id", "subject", "status"], "sort_by": "nice_id", "sort_order": "asc"}))
check(vw.id and len(vw.conditions.all) == 2, f"a view: {vw.conditions.to_dict()}")
in_view = z.tickets.create(Ticket(subject="zenpy view", requester_id=requester.id, comment=Comment(body="view me"), tags=[view_tag])).ticket
check([t.id for t in z.views.tickets(vw)] == [in_view.id], "the view lists exactly its ticket")
check(z.views.count(vw).value == 1, "the view's count")
check(vw.id in [v.id for v in z.views.active()], "the view is active")
mc = z.macros.create(Macro(title="Zenpy macro", actions=[{"field": "status", "value": "pending"}, {"field": "comment_value", "value": "Ticket {{ticket.id}} is waiting for you"}]))
effect = z.tickets.show_macro_effect(in_view, mc)
check(effect.ticket.status == "pending", f"the would-be status: {effect.ticket.status}")
check(effect.comment.body == f"Ticket {in_view.id} is waiting for you", f"the reply filled in: {effect.comment.to_dict()}")
check(z.tickets(id=in_view.id).status != "pending", "applying changes nothing")
try:
    z.macros.create(Macro(title="Zenpy bad", actions=[{"field": "comment_value", "value": "Hi {{ticket.nope}}"}]))
    check(False, "a macro with an unknown placeholder was taken")
except Exception as e:
    check("placeholder" in str(e), f"the refusal names the placeholder: {e}")
z.macros.delete(mc)
z.views.delete(vw)
auto = z.automations.create(Automation(title="Zenpy automation", all=[{"field": "status", "operator": "is", "value": "pending"}, {"field": "updated_at", "operator": "greater_than", "value": "240"}], actions=[{"field": "status", "value": "solved"}]))
check(auto.id and auto.id in [a.id for a in z.automations()], "an automation, listed")
check(any(a.default for a in z.automations()), "the default automation is listed")
z.automations.delete(auto)

step("triggers: one runs on a new ticket it names, in Zendesk's shapes")
trig_tag = f"zenpy_trig_{run}"
trig = z.triggers.create(Trigger(title="Zenpy trigger", conditions={"all": [{"field": "update_type", "operator": "is", "value": "Create"}, {"field": "current_tags", "operator": "includes", "value": trig_tag}], "any": []}, actions=[{"field": "current_tags", "value": "zenpy_triggered"}, {"field": "priority", "value": "high"}]))
check(trig.id and len(trig.conditions.all) == 2, f"a trigger: {trig.to_dict()}")
fired = z.tickets.create(Ticket(subject="zenpy trigger", requester_id=requester.id, comment=Comment(body="trigger me"), tags=[trig_tag])).ticket
shown = z.tickets(id=fired.id)
check("zenpy_triggered" in shown.tags and shown.priority == "high", f"the trigger ran: {shown.tags} {shown.priority}")
quiet = z.tickets.create(Ticket(subject="zenpy no trigger", requester_id=requester.id, comment=Comment(body="leave me"))).ticket
check("zenpy_triggered" not in z.tickets(id=quiet.id).tags, "a ticket it does not name is left alone")
listed = list(z.triggers())
check(trig.id in [t.id for t in listed] and sum(1 for t in listed if t.default) == 4, "the trigger and the four default notifications are listed")
trig.title = "Zenpy trigger, renamed"
check(z.triggers.update(trig).title == "Zenpy trigger, renamed", "a trigger updated as zenpy sends it back")
z.triggers.delete(trig)

step("SLA policies and schedules: a policy's clocks on a ticket, in Zendesk's shapes")
from zenpy.lib.api_objects import SlaPolicy  # noqa: E402

sla_tag = f"zenpy_sla_{run}"
z.sla_policies.create(SlaPolicy(title=f"Zenpy SLA {run}", filter={"all": [{"field": "current_tags", "operator": "includes", "value": sla_tag}], "any": []}, policy_metrics=[{"priority": "normal", "metric": "first_reply_time", "target": 60, "business_hours": False}, {"priority": "normal", "metric": "requester_wait_time", "target": 240, "business_hours": True}]))
pol = next(p for p in z.sla_policies() if p.title == f"Zenpy SLA {run}")
check(pol.policy_metrics[0].metric == "first_reply_time" and pol.policy_metrics[0].target == 60, f"a policy: {pol.to_dict()}")
check("first_reply_time" in z.sla_policies.definitions().metrics, "the definitions name the metrics")
week = [{"start_time": d * 1440 + 480, "end_time": d * 1440 + 960} for d in range(1, 6)]
made = http.post(f"{base}/business_hours/schedules.json", auth=admin_auth, json={"schedule": {"name": "Zenpy office", "time_zone": "Europe/Helsinki", "intervals": week}})
check(made.status_code == 201 and made.json()["schedule"]["intervals"][0] == {"start_time": 1920, "end_time": 2400}, f"a schedule: {made.text[:200]}")
clocked = z.tickets.create(Ticket(subject="zenpy sla", requester_id=requester.id, comment=Comment(body="clock me"), tags=[sla_tag])).ticket
slas = http.get(f"{base}/tickets/{clocked.id}.json?include=slas", auth=admin_auth).json()["ticket"]["slas"]
check(slas["policy"]["id"] == pol.id and {m["metric"] for m in slas["policy_metrics"]} == {"first_reply_time", "requester_wait_time"} and all(m["stage"] == "active" and m["breach_at"] for m in slas["policy_metrics"]), f"the ticket's clocks: {slas}")
clocked_at = int(time.time())
events = http.get(f"{base}/tickets/{clocked.id}.json?include=metric_events", auth=admin_auth).json()["ticket"]["metric_events"]
check(any(e["type"] == "activate" for e in events["reply_time"]) and any(e["type"] == "apply_sla" and e["sla"]["target"] == 60 for e in events["reply_time"]), f"the ticket's metric events: {events}")
# Fetched afresh: zenpy sends nested objects it handed out as empty ones on update.
pol = z.sla_policies(id=pol.id)
pol.title = f"Zenpy SLA {run}, renamed"
z.sla_policies.update(pol)
check(z.sla_policies(id=pol.id).title == f"Zenpy SLA {run}, renamed", "a policy updated as zenpy sends it back")
z.sla_policies.delete(pol)
check(http.delete(f"{base}/business_hours/schedules/{made.json()['schedule']['id']}.json", auth=admin_auth).status_code == 204, "the schedule removed")

step("popular tags: the tags of recent tickets, most used first")
popular = {t.name: t.count for t in z.tags()}
check(popular.get(sla_tag, 0) >= 1 and popular.get("zenpy_triggered", 0) >= 1, f"popular tags: {popular}")

step("erase a person: soft delete, then permanent deletion")
gone = z.users.create(User(name="Zenpy Erased", email=f"zenpy-erased-{run}@example.fi"))
their = z.tickets.create(Ticket(subject="to be erased", comment=Comment(body="erase me"), requester_id=gone.id)).ticket
z.users.delete(gone)
done = z.users.permanently_delete(gone)
check(done.id == gone.id and done.email is None, "permanent deletion answers with the deleted user, no e-mail")
for lookup in (lambda: z.users(id=gone.id), lambda: z.tickets(id=their.id)):
    try:
        lookup()
        check(False, "the erased person or their ticket is still there")
    except RecordNotFoundException:
        pass
check(list(z.search(f"zenpy-erased-{run}@example.fi", type="user")) == [], "search finds the erased person")

step("ticket metric events: the SLA ticket's clocks in the time-based export, once settled (a minute)")
time.sleep(max(0, clocked_at + 62 - time.time()))
exported = [e for e in z.ticket_metric_events(start_time=clocked_at - 2) if e.ticket_id == clocked.id]
kinds = {(e.metric, e.type) for e in exported}
check(("reply_time", "activate") in kinds and ("reply_time", "apply_sla") in kinds and ("requester_wait_time", "activate") in kinds, f"exported events: {kinds}")
check(next(e for e in exported if e.type == "apply_sla").sla["policy"]["id"] == pol.id, "apply_sla names the policy")

print("zenpy smoke flow: all steps passed")
