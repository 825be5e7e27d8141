// Browser tests of Suoja's web interface: real Chromium (Debian's, driven by playwright-core)
// against a running `suoja serve` on loopback. Every page is checked with axe-core, every request
// the browser makes must go to the server itself, and screenshots of the main pages are written
// to e2e/screenshots/ for people to look at.
//
// Usage: SUOJA_ADDR=127.0.0.1:PORT SUOJA_EMAIL=admin@… SUOJA_TOKEN=… SUOJA_ENGINE=sqlite node flows.mjs
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import assert from "node:assert/strict";

const ADDR = process.env.SUOJA_ADDR;
const BASE = `http://${ADDR}`;
const ADMIN = process.env.SUOJA_EMAIL;
const TOKEN = process.env.SUOJA_TOKEN;
const ENGINE = process.env.SUOJA_ENGINE || "sqlite";
const SHOTS = new URL("./screenshots/", import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });
const AXE = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
const auth = "Basic " + Buffer.from(`${ADMIN}/token:${TOKEN}`).toString("base64");

async function api(method, path, body) {
  const res = await fetch(`${BASE}/api/v2${path}`, {
    method,
    headers: { authorization: auth, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const stamp = Date.now().toString(36);
const PASSWORD = "correct horse battery staple";
const AGENT = `aino.${stamp}@example.fi`;
const PERSON = `eero.${stamp}@example.fi`;

const foreign = [];
const cspErrors = [];
const pageErrors = [];

async function newContext(browser, opts = {}) {
  const ctx = await browser.newContext({ locale: "en-GB", timezoneId: "Europe/Helsinki", acceptDownloads: true, ...opts });
  ctx.on("request", (r) => {
    const u = new URL(r.url());
    if (!["http:", "https:"].includes(u.protocol)) return;
    if (u.host !== ADDR) foreign.push(r.url());
  });
  ctx.on("page", watch);
  return ctx;
}

function watch(page) {
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
  });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("dialog", (d) => d.accept());
}

async function axe(page, name) {
  const result = await page.evaluate(
    async (src) => {
      // eslint-disable-next-line no-eval
      (0, eval)(src);
      const r = await window.axe.run(document, { resultTypes: ["violations"] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) }));
    },
    AXE,
  );
  const serious = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(serious, [], `${name}: serious accessibility violations: ${JSON.stringify(serious)}`);
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}${ENGINE}-${name}.png`, fullPage: true });
}

async function signIn(page, email, password = PASSWORD) {
  await page.goto(`${BASE}/signin`);
  await page.getByLabel(/E-mail address|Sähköpostiosoite/).fill(email);
  await page.getByLabel(/^Password$|^Salasana$/).fill(password);
  await page.getByRole("button", { name: /Sign in|Kirjaudu/ }).click();
}

async function main() {
  const agent = (await api("POST", "/users", { user: { name: "Aino Agentti", email: AGENT, role: "agent", password: PASSWORD } })).user;
  const person = (await api("POST", "/users", { user: { name: "Eero Esimerkki", email: PERSON, role: "end-user", password: PASSWORD } })).user;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    // --- Sign-in page in Finnish for a Finnish browser, and the same answer for unknown and wrong.
    const fiCtx = await newContext(browser, { locale: "fi-FI" });
    const fi = await fiCtx.newPage();
    await fi.goto(`${BASE}/signin`);
    assert.equal(await fi.locator("html").getAttribute("lang"), "fi");
    assert.match(await fi.locator("h1").innerText(), /Kirjaudu sisään/);
    await axe(fi, "signin-fi");
    await shot(fi, "signin-fi");
    await signIn(fi, `nobody.${stamp}@example.fi`, "whatever password");
    const unknown = await fi.locator("#signin-error").innerText();
    await signIn(fi, PERSON, "wrong password");
    const wrong = await fi.locator("#signin-error").innerText();
    assert.equal(unknown, wrong, "unknown user and wrong password must read the same");
    await fiCtx.close();

    // --- The end user submits a request with hostile content; nothing of it runs.
    const userCtx = await newContext(browser);
    const user = await userCtx.newPage();
    // Keyboard only: the first stop skips to the content, then e-mail, password, Enter.
    await user.goto(`${BASE}/signin`);
    await user.keyboard.press("Tab");
    assert.equal(await user.evaluate(() => document.activeElement.textContent), "Skip to content");
    await user.keyboard.press("Enter");
    await user.keyboard.press("Tab");
    assert.equal(await user.evaluate(() => document.activeElement.id), "email");
    await user.keyboard.type(PERSON);
    await user.keyboard.press("Tab");
    await user.keyboard.type(PASSWORD);
    await user.keyboard.press("Enter");
    await user.waitForURL(`${BASE}/portal`);
    await axe(user, "portal");
    await user.getByRole("link", { name: "Submit a request" }).click();
    const hostile = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> <a href="javascript:window.__pwned=3">link</a> <svg onload="window.__pwned=4"></svg>`;
    await user.getByLabel("Subject").fill(`Printer on fire <b onmouseover=alert(1)>now</b>`);
    await user.getByLabel("Describe what you need").fill(`My printer is on fire.\n${hostile}`);
    await user.getByLabel("Attach files").setInputFiles({ name: "printer-photo.txt", mimeType: "text/plain", buffer: Buffer.from("smoke everywhere") });
    await axe(user, "portal-new");
    await user.getByRole("button", { name: "Submit" }).click();
    await user.waitForURL(/\/portal\/requests\/\d+/);
    const ticketId = Number(new URL(user.url()).pathname.split("/").pop());
    assert.equal(await user.evaluate(() => window.__pwned), undefined, "hostile content ran");
    assert.equal(await user.locator("script:not([src])").count(), 0, "an inline script reached the page");
    assert.equal(await user.locator(".comment img, .comment svg, .comment a[href^=javascript]").count(), 0);
    assert.match(await user.locator(".comment .body").first().innerText(), /<script>window.__pwned=1<\/script>/);
    assert.equal(await user.getByRole("link", { name: "printer-photo.txt" }).count(), 1, "the attached file is not listed");
    await shot(user, "portal-request");

    // --- Bad input keeps what was typed and says what is wrong next to the field.
    await user.goto(`${BASE}/portal/requests/new`);
    await user.getByLabel("Subject").fill("x".repeat(151));
    await user.getByLabel("Describe what you need").fill("This text must survive the error.");
    await user.evaluate(() => document.querySelectorAll("[required]").forEach((e) => e.removeAttribute("required")));
    await user.getByRole("button", { name: "Submit" }).click();
    assert.match(await user.locator("#subject-error").innerText(), /at most 150/);
    assert.equal(await user.getByLabel("Describe what you need").inputValue(), "This text must survive the error.");
    assert.equal(await user.getByLabel("Subject").getAttribute("aria-invalid"), "true");

    // --- The agent finds it, replies, and adds an internal note.
    const agentCtx = await newContext(browser);
    const ag = await agentCtx.newPage();
    await signIn(ag, AGENT);
    await ag.waitForURL(`${BASE}/agent/views/mine`);
    await ag.getByRole("link", { name: /Unassigned tickets/ }).click();
    await axe(ag, "agent-view");
    await shot(ag, "agent-view");
    await ag.getByRole("link", { name: /Printer on fire/ }).first().click();
    await ag.waitForURL(`${BASE}/agent/tickets/${ticketId}`);
    assert.equal(await ag.evaluate(() => window.__pwned), undefined, "hostile content ran for the agent");
    await ag.getByRole("radio", { name: "Internal note" }).check();
    await ag.getByLabel("Message").fill("Internal: the requester sounded upset. secret-note-5531");
    await ag.getByRole("button", { name: "Send" }).click();
    await ag.waitForURL(/posted=/);
    await ag.getByRole("radio", { name: "Public reply" }).check();
    await ag.getByLabel("Message").fill("Hello Eero, unplug it first. Your case code is REDACTME4242 for reference.");
    await ag.getByRole("button", { name: "Send" }).click();
    await ag.waitForURL(/posted=/);
    assert.equal(await ag.locator(".comment.note").count(), 1);
    await axe(ag, "agent-ticket");
    await shot(ag, "agent-ticket");

    await ag.getByRole("button", { name: "Remove file printer-photo.txt" }).click();
    await ag.waitForURL(/done=file_removed/);
    assert.equal(await ag.getByRole("link", { name: "printer-photo.txt" }).count(), 0, "the removed file is still offered");
    assert.equal(await ag.locator(".files .mark").count(), 1);

    // --- The end user sees the reply and never the note.
    await user.goto(`${BASE}/portal/requests/${ticketId}`);
    const userView = await user.content();
    assert.ok(userView.includes("unplug it first"), "the reply is missing for the end user");
    assert.ok(!userView.includes("secret-note-5531"), "the internal note reached the end user");
    assert.ok(!userView.includes("Internal note"), "a note marker reached the end user");

    // --- Redaction by selecting text: gone from the page, the search and the API.
    const before = await api("GET", `/search?query=REDACTME4242`);
    assert.equal(before.count, 1, "the phrase should be searchable before redaction");
    await ag.goto(`${BASE}/agent/tickets/${ticketId}`);
    const body = ag.locator(".comment:not(.note) .body", { hasText: "REDACTME4242" });
    await body.evaluate((el) => {
      const text = el.firstChild;
      const i = text.textContent.indexOf("REDACTME4242");
      const range = document.createRange();
      range.setStart(text, i);
      range.setEnd(text, i + "REDACTME4242".length);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      el.dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
    });
    await ag.getByRole("button", { name: "Redact selection" }).click();
    assert.equal(await ag.locator("#redact-preview").innerText(), "REDACTME4242");
    await shot(ag, "agent-redact-dialog");
    await ag.locator("#redact-confirm").click();
    await ag.waitForURL(/done=redacted/);
    assert.ok(!(await ag.content()).includes("REDACTME4242"), "the phrase is still on the page");
    assert.ok((await ag.content()).includes("▇▇▇▇▇▇▇▇▇▇▇▇"), "the redaction mark is missing");
    const after = await api("GET", `/search?query=REDACTME4242`);
    assert.equal(after.count, 0, "the phrase is still searchable");
    const comments = await api("GET", `/tickets/${ticketId}/comments`);
    assert.ok(!JSON.stringify(comments).includes("REDACTME4242"), "the phrase is still in the API");

    // --- An expired session keeps a half-written reply.
    await ag.getByLabel("Message").fill("A long half-written answer that must not be lost");
    await ag.getByLabel("Message").dispatchEvent("input");
    const other = await (await newContext(browser)).newPage();
    await signIn(other, AGENT);
    await other.waitForURL(/\/agent\//);
    await other.goto(`${BASE}/account`);
    await other.getByRole("button", { name: "Sign out on every device" }).click();
    await ag.getByRole("button", { name: "Send" }).click();
    assert.match(await ag.locator("#unsent").inputValue(), /half-written answer/);
    await ag.getByLabel("E-mail address").fill(AGENT);
    await ag.getByLabel("Password").fill(PASSWORD);
    await ag.getByRole("button", { name: "Sign in" }).click();
    await ag.waitForURL(`${BASE}/agent/tickets/${ticketId}`);
    assert.equal(await ag.getByLabel("Message").inputValue(), "A long half-written answer that must not be lost");
    const notes = await api("GET", `/tickets/${ticketId}/comments`);
    assert.ok(!JSON.stringify(notes).includes("half-written"), "the reply was sent without a session");

    // --- Without JavaScript: sign in, submit a request, redact through the plain form.
    const plainCtx = await newContext(browser, { javaScriptEnabled: false });
    const plain = await plainCtx.newPage();
    await signIn(plain, AGENT);
    await plain.goto(`${BASE}/agent/tickets/${ticketId}`);
    await plain.getByLabel("Message").fill("Sent without JavaScript, with PLAINPHRASE77 inside");
    await plain.getByRole("button", { name: "Send" }).click();
    await plain.waitForURL(/posted=/);
    const last = plain.locator(".comment").last();
    await last.locator("summary").click();
    await last.getByLabel("Text to redact").fill("PLAINPHRASE77");
    await last.getByRole("button", { name: "Redact for good" }).click();
    await plain.waitForURL(/done=redacted/);
    assert.ok(!(await plain.content()).includes("PLAINPHRASE77"));

    // --- The end user downloads their data.
    await user.goto(`${BASE}/portal/privacy`);
    await axe(user, "privacy-centre");
    await user.getByRole("button", { name: "Prepare my data" }).click();
    await user.waitForURL(/done=export_ready/);
    const [download] = await Promise.all([user.waitForEvent("download"), user.getByRole("link", { name: /Download \(ZIP\)/ }).click()]);
    const zip = readFileSync(await download.path());
    assert.equal(zip.subarray(0, 2).toString(), "PK", "the export is not a ZIP");
    await shot(user, "privacy-centre");

    // --- The person's own language setting wins over the browser's: the privacy centre in Finnish.
    await user.goto(`${BASE}/account`);
    await user.getByLabel("Language").selectOption("fi");
    await user.getByLabel(/Time zone/).fill("Europe/Helsinki");
    await user.getByRole("button", { name: "Save" }).first().click();
    await user.waitForURL(/done=saved/);
    await user.goto(`${BASE}/portal/privacy`);
    assert.equal(await user.locator("html").getAttribute("lang"), "fi");
    assert.match(await user.locator("h1").innerText(), /Tietosuojakeskus/);
    assert.match(await user.content(), /\d+\.\d+\.2\d{3}/, "dates should be written the Finnish way");
    await axe(user, "privacy-centre-fi");
    await shot(user, "privacy-centre-fi");
    await user.goto(`${BASE}/account`);
    await user.getByLabel("Kieli").selectOption("en");
    await user.getByRole("button", { name: "Tallenna" }).first().click();
    await user.waitForURL(/done=saved/);
    await user.goto(`${BASE}/portal/privacy`);

    // --- ... and asks for deletion.
    await user.getByLabel("I understand this cannot be undone").check();
    await user.getByRole("button", { name: "Ask for deletion" }).click();
    await user.waitForURL(/done=erasure_requested/);
    assert.match(await user.content(), /Deletion/);

    // --- The privacy officer runs the erasure; the person can no longer sign in.
    const adminPw = `admin-${stamp}-password`;
    const me = (await api("GET", "/users/me")).user;
    await api("PUT", `/users/${me.id}`, { user: { password: adminPw } });
    const offCtx = await newContext(browser);
    const off = await offCtx.newPage();
    await signIn(off, ADMIN, adminPw);
    await off.goto(`${BASE}/privacy`);
    await axe(off, "privacy-inbox");
    await shot(off, "privacy-inbox");
    await off.getByRole("link", { name: "Deletion" }).first().click();
    assert.ok((await off.locator("#erasure-plan").innerText()).length > 0, "no erasure plan shown");
    await axe(off, "privacy-request");
    await shot(off, "privacy-request");
    await off.getByRole("button", { name: "Run the erasure" }).click();
    await off.waitForURL(/done=erased/);
    const cert = off.getByRole("link", { name: "Certificate (PDF)" });
    assert.equal(await cert.count(), 1, "no certificate link after the erasure");
    const pdf = await offCtx.request.get(`${BASE}${await cert.getAttribute("href")}`);
    assert.equal((await pdf.body()).subarray(0, 4).toString(), "%PDF");
    for (const path of ["/privacy/holds", "/privacy/retention", "/privacy/ledger", "/admin/mail", "/admin/security", "/admin/audit", "/privacy/dpa"]) {
      await off.goto(`${BASE}${path}`);
      await axe(off, path);
      await shot(off, path.split("/").pop());
    }
    // --- Security settings: a bad number is refused at its field and nothing is saved; a good
    // one is saved and shown.
    await off.goto(`${BASE}/admin/security`);
    const idle = off.getByLabel(/Sign out after this many minutes/);
    await idle.fill("2");
    await off.getByRole("button", { name: "Save" }).click();
    assert.match(await off.locator("#idle_minutes-error").innerText(), /5 to 1440/);
    await idle.fill("45");
    await off.getByRole("button", { name: "Save" }).click();
    await off.waitForURL(/done=saved/);
    assert.equal(await off.getByLabel(/Sign out after this many minutes/).inputValue(), "45");
    // --- Fields: the admin adds a drop-down requesters must fill in; the agent sets it on a
    //     ticket with the page's own input; a requester is asked for it on a new request.
    await off.goto(`${BASE}/admin/fields`);
    await axe(off, "admin-fields");
    await off.getByLabel("Type").selectOption("tagger");
    await off.getByLabel("Title").fill(`Plan ${stamp}`);
    await off.getByLabel("Options", { exact: true }).fill("Gold plan = gold\nSilver");
    for (const box of ["Requesters see it", "Requesters fill it in", "Requesters must fill it in"]) {
      await off.getByLabel(box).check();
    }
    await off.getByRole("button", { name: "Add the field" }).click();
    await off.waitForURL(/done=field_added/);
    assert.match(await off.locator("#fields-ticket-list").innerText(), new RegExp(`Plan ${stamp}[\\s\\S]*Gold plan, Silver`));
    await shot(off, "admin-fields");
    const asker = (await api("POST", "/users", { user: { name: "Kaisa Kysyjä", email: `kaisa.${stamp}@example.fi`, password: PASSWORD } })).user;
    const planned = (await api("POST", "/tickets", { ticket: { requester_id: asker.id, subject: "Which plan?", comment: { body: "Tell me" } } })).ticket;
    await ag.goto(`${BASE}/agent/tickets/${planned.id}`);
    await ag.getByLabel(`Plan ${stamp}`).selectOption("gold");
    await ag.getByRole("button", { name: "Save" }).click();
    await ag.waitForURL(/done=ticket_updated/);
    assert.equal(await ag.getByLabel(`Plan ${stamp}`).inputValue(), "gold");
    assert.ok((await api("GET", `/tickets/${planned.id}`)).ticket.tags.includes("gold"), "the option's tag is on the ticket");
    await axe(ag, "agent-ticket-fields");
    const askCtx = await newContext(browser);
    const ask = await askCtx.newPage();
    await signIn(ask, `kaisa.${stamp}@example.fi`);
    await ask.goto(`${BASE}/portal/requests/new`);
    assert.equal(await ask.getByLabel(new RegExp(`Plan ${stamp}`)).getAttribute("required"), "");
    await ask.getByLabel("Subject").fill("Upgrade");
    await ask.getByLabel("Describe what you need").fill("More seats, please.");
    await ask.getByLabel(new RegExp(`Plan ${stamp}`)).selectOption("silver");
    await axe(ask, "portal-new-fields");
    await ask.getByRole("button", { name: "Submit" }).click();
    await ask.waitForURL(/\/portal\/requests\/\d+/);
    assert.match(await ask.locator("dl.facts").innerText(), new RegExp(`Plan ${stamp}\\s+Silver`));
    await shot(ask, "portal-request-fields");
    // Solved, the request asks to be rated; the rating is shown back.
    const upgradeId = Number(new URL(ask.url()).pathname.split("/").pop());
    await api("PUT", `/tickets/${upgradeId}`, { ticket: { status: "solved" } });
    await ask.goto(`${BASE}/portal/requests/${upgradeId}`);
    await axe(ask, "portal-rating");
    await ask.getByLabel("Good, I'm satisfied").check();
    await ask.getByLabel("Anything to add? (optional)").fill("Quick and clear.");
    await ask.getByRole("button", { name: "Send the rating" }).click();
    await ask.waitForURL(/done=rated/);
    assert.match(await ask.locator("#rating-now").innerText(), /Good/);
    await shot(ask, "portal-rating");
    await askCtx.close();
    // --- Views and macros: the agent adds a personal view and a macro on their page; the view
    //     lists the ticket, and the macro changes it and replies in one step.
    await ag.goto(`${BASE}/agent/rules`);
    await axe(ag, "agent-rules");
    await ag.locator("#view-title").fill(`Plans ${stamp}`);
    await ag.locator("#view-all").fill("current_tags includes gold\nstatus less_than solved");
    await ag.getByRole("button", { name: "Add the view" }).click();
    await ag.waitForURL(/\/agent\/views\/\d+/);
    assert.match(await ag.locator("h1").innerText(), new RegExp(`Plans ${stamp}`));
    assert.equal(await ag.locator("main table a", { hasText: "Which plan?" }).count(), 1, "the view lists the ticket");
    await axe(ag, "agent-custom-view");
    await shot(ag, "agent-custom-view");
    await ag.goto(`${BASE}/agent/rules`);
    await ag.locator("#macro-title").fill(`Ask plan ${stamp}`);
    await ag.locator("#macro-actions").fill("status = pending");
    await ag.locator("#macro-reply").fill("Hello {{ticket.requester.first_name}}, which plan suits you?");
    await ag.getByRole("button", { name: "Add the macro" }).click();
    await ag.waitForURL(/done=saved/);
    await shot(ag, "agent-rules");
    await ag.goto(`${BASE}/agent/tickets/${planned.id}`);
    await ag.getByLabel("Macro", { exact: true }).selectOption({ label: `Ask plan ${stamp}` });
    await ag.getByRole("button", { name: "Apply macro" }).click();
    await ag.waitForURL(/done=macro_applied/);
    assert.match(await ag.locator(".conversation").innerText(), /Hello Kaisa, which plan suits you\?/);
    assert.equal((await api("GET", `/tickets/${planned.id}`)).ticket.status, "pending");
    await shot(ag, "agent-macro-applied");
    // --- Business hours: the admin types opening hours, is refused a range that ends before it
    //     starts (at its field, nothing saved), then saves a schedule and adds a holiday to it.
    await off.goto(`${BASE}/agent/rules#business-hours`);
    await off.locator("#schedule-name").fill(`Office ${stamp}`);
    await off.locator("#schedule-zone").fill("Europe/Helsinki");
    await off.locator("#schedule-hours").fill("mon-fri 17:00-09:00");
    await off.getByRole("button", { name: "Add the schedule" }).click();
    assert.match(await off.locator("#schedule-hours-error").innerText(), /one range a line/);
    assert.equal(await off.locator("#schedules-list").count(), 0, "a refused schedule was saved");
    await off.locator("#schedule-hours").fill("mon-fri 09:00-17:00\nsat 10:00-14:00");
    await off.getByRole("button", { name: "Add the schedule" }).click();
    await off.waitForURL(/done=saved/);
    await off.locator("#holiday-name").fill("Itsenäisyyspäivä");
    await off.locator("#holiday-start").fill("2026-12-06");
    await off.getByRole("button", { name: "Add the holiday" }).click();
    await off.waitForURL(/done=saved/);
    const schedulesText = await off.locator("#schedules-list").innerText();
    assert.match(schedulesText, new RegExp(`Office ${stamp}[\\s\\S]*Mon 09:00–17:00[\\s\\S]*Sat 10:00–14:00[\\s\\S]*Itsenäisyyspäivä: 2026-12-06`));
    await axe(off, "agent-rules-business-hours");
    await shot(off, "agent-rules-business-hours");

    await off.goto(`${BASE}/privacy/retention?preview=closed_tickets`);
    assert.match(await off.locator("#policy-closed_tickets").innerText(), /Would be removed now/);
    await off.goto(`${BASE}/privacy/ledger`);
    assert.match(await off.locator("#ledger-state").innerText(), /intact/);

    // --- A breach: recorded with its 72-hour clock, scoped to a ticket through the data map, the
    //     authority's notification refused until the contact point is named, then as a PDF.
    const maija = (await api("POST", "/users", { user: { name: "Maija Mallikas", email: `maija.${stamp}@example.fi` } })).user;
    const lost = (await api("POST", "/tickets", { ticket: { requester_id: maija.id, subject: "Lasku", comment: { body: "Laskussa on virhe" } } })).ticket;
    await off.goto(`${BASE}/privacy/breaches`);
    await axe(off, "breaches");
    await off.getByLabel("What happened (for the register and the authority)").fill("A printout of a ticket was left on a train.");
    await off.getByRole("button", { name: "Record a breach" }).click();
    await off.waitForURL(/done=breach_recorded/);
    assert.match(await off.locator("main").innerText(), /7[12] hours left/, "no clock on the breach");
    await off.locator("#scope-target").fill(String(lost.id));
    await off.getByRole("button", { name: "Add to the scope" }).click();
    await off.waitForURL(/done=breach_scoped/);
    assert.match(await off.locator("#people").innerText(), /People: 1/, "the ticket's requester is not counted");
    const breachUrl = off.url().split("?")[0];
    const early = await offCtx.request.get(`${breachUrl}/notification?locale=fi`);
    assert.equal(early.status(), 422, "a notification without a contact point");
    await off.locator("#breach-contact").fill("Pirjo Tietosuoja, dpo@example.fi");
    await off.getByRole("button", { name: "Save the record" }).click();
    await off.waitForURL(/done=saved/);
    const notice = await offCtx.request.get(`${breachUrl}/notification?locale=fi`);
    assert.equal((await notice.body()).subarray(0, 4).toString(), "%PDF");
    await axe(off, "breach");
    await shot(off, "breach");
    await off.goto(`${BASE}/privacy/breaches`);
    await shot(off, "breaches");

    // --- The public list of sub-processors, read without signing in.
    await api("POST", "/privacy/subprocessors", { subprocessor: { name: `Pilvi Oy ${stamp}`, service: "Hosting", location: "Finland", safeguard: "Within the EU" } });
    const visitor = await (await newContext(browser)).newPage();
    await visitor.goto(`${BASE}/subprocessors`);
    assert.match(await visitor.locator("main").innerText(), new RegExp(`Pilvi Oy ${stamp}`));
    await axe(visitor, "subprocessors");
    await shot(visitor, "subprocessors");

    const gone = await (await newContext(browser)).newPage();
    await signIn(gone, PERSON);
    assert.match(await gone.locator("#signin-error").innerText(), /wrong/, "the erased person could still sign in");

    // --- Search and the user page.
    await ag.goto(`${BASE}/agent/search?q=printer`);
    await axe(ag, "search");
    await shot(ag, "search");
    await ag.goto(`${BASE}/agent/users/${agent.id}`);
    await axe(ag, "user");
    const org = (await api("POST", "/organizations", { organization: { name: `Esimerkki Oy ${stamp}`, domain_names: ["esimerkki.fi"] } })).organization;
    await ag.goto(`${BASE}/agent/organizations/${org.id}`);
    assert.match(await ag.locator("h1").innerText(), /Esimerkki Oy/);
    await axe(ag, "organization");
    await ag.goto(`${BASE}/account`);
    await axe(ag, "account");
    await shot(ag, "account");

    // --- The help center and community: read signed out, written to without JavaScript,
    //     authored and moderated by staff, in English and Finnish.
    const category = (await api("POST", "/help_center/categories", { category: { name: "Getting started", description: "First steps" } })).category;
    const section = (await api("POST", `/help_center/categories/${category.id}/sections`, { section: { name: "Accounts" } })).section;
    const article = (await api("POST", `/help_center/sections/${section.id}/articles`, {
      article: { title: `Resetting your password ${stamp}`, body: `<h2>Steps</h2><ol><li>Open <b>Settings</b></li></ol>${hostile}`, promoted: true },
    })).article;
    const staffOnly = (await api("POST", `/help_center/sections/${section.id}/articles`, { article: { title: `Escalation ${stamp}`, body: "<p>internal</p>", user_segment_id: 2 } })).article;
    const fiSection = (await api("POST", `/help_center/fi/categories/${category.id}/sections`, { section: { name: "Tilit" } })).section;
    await api("POST", `/help_center/sections/${fiSection.id}/articles`, { article: { title: `Salasanan vaihto ${stamp}`, body: "<p>Avaa asetukset.</p>", locale: "fi" } });
    const topic = (await api("POST", "/community/topics", { topic: { name: "Feature requests", description: "Tell us what to build" } })).topic;

    const anonCtx = await newContext(browser);
    const anon = await anonCtx.newPage();
    await anon.goto(`${BASE}/hc`);
    assert.match(await anon.locator("main").innerText(), new RegExp(`Resetting your password ${stamp}`));
    assert.doesNotMatch(await anon.locator("main").innerText(), new RegExp(`Escalation ${stamp}`), "a staff-only article shown signed out");
    await axe(anon, "hc-home");
    await shot(anon, "hc-home");
    await anon.getByRole("link", { name: `Resetting your password ${stamp}` }).first().click();
    assert.equal(await anon.evaluate(() => window.__pwned), undefined, "hostile article HTML ran");
    assert.equal(await anon.locator(".hc-body script, .hc-body [onerror], .hc-body svg, .hc-body a[href^=javascript]").count(), 0);
    assert.equal(await anon.getByRole("button", { name: "Send" }).count(), 0, "a comment form for someone signed out");
    await axe(anon, "hc-article-anonymous");
    const hiddenPage = await anon.goto(`${BASE}/hc/articles/${staffOnly.id}`);
    assert.equal(hiddenPage.status(), 404);
    await anon.goto(`${BASE}/hc/search?q=${stamp}`);
    assert.equal(await anon.locator("main li").count(), 1, "signed-out search finds the public article only");
    await axe(anon, "hc-search");
    await anonCtx.close();

    // The person, with JavaScript off: comment, vote, follow, post, answer.
    const READER = `lukija.${stamp}@example.fi`;
    await api("POST", "/users", { user: { name: "Liisa Lukija", email: READER, role: "end-user", password: PASSWORD } });
    const nojsCtx = await newContext(browser, { javaScriptEnabled: false });
    const nojs = await nojsCtx.newPage();
    await signIn(nojs, READER);
    await nojs.waitForURL(`${BASE}/portal`);
    await nojs.goto(`${BASE}/hc/articles/${article.id}`);
    await nojs.getByLabel("Your comment").fill("Thanks, this <b>helped</b>.");
    await nojs.getByRole("button", { name: "Send" }).click();
    await nojs.waitForURL(/done=comment_added/);
    assert.match(await nojs.locator(".hc-comments").innerText(), /Thanks, this <b>helped<\/b>\./, "the comment is shown as the text written");
    await nojs.getByRole("button", { name: /Yes/ }).first().click();
    await nojs.waitForURL(/done=voted/);
    assert.match(await nojs.locator("article .meta").innerText(), /Votes: 1 \(1\)/);
    await nojs.getByRole("button", { name: "Follow" }).click();
    await nojs.waitForURL(/done=followed/);
    assert.equal(await nojs.getByRole("button", { name: "Stop following" }).count(), 1);
    await shot(nojs, "hc-article-nojs");
    await nojs.goto(`${BASE}/hc/community/topics/${topic.id}`);
    await nojs.getByLabel("Title").fill("Dark mode, please");
    await nojs.getByLabel("Details").fill("My eyes hurt at night.");
    await nojs.getByRole("button", { name: "Send" }).click();
    await nojs.waitForURL(/\/hc\/community\/posts\/\d+\?done=post_added/);
    const postId = Number(new URL(nojs.url()).pathname.split("/").pop());
    assert.equal(await nojs.getByRole("group", { name: "Moderation" }).count(), 0, "moderation for an end user");
    await shot(nojs, "hc-post-nojs");
    await nojsCtx.close();

    // The agent moderates the post and marks an official answer; the editor sanitises.
    // (axe runs here on the pages the person used: it needs JavaScript.)
    await ag.goto(`${BASE}/hc/articles/${article.id}`);
    await axe(ag, "hc-article");
    await shot(ag, "hc-article");
    await ag.goto(`${BASE}/hc/community/posts/${postId}`);
    await ag.getByLabel("Your comment").fill("It is on our list.");
    await ag.getByRole("button", { name: "Send" }).click();
    await ag.waitForURL(/done=comment_added/);
    await ag.getByLabel("Status").selectOption("planned");
    await ag.getByRole("group", { name: "Moderation" }).getByLabel("Pinned").check();
    await ag.locator("form[action$='/moderate'] button[type=submit]").first().click();
    await ag.waitForURL(/done=moderated/);
    await ag.locator(".hc-comments form[action$='/moderate'] input[name=official]").first().check();
    await ag.locator(".hc-comments form[action$='/moderate'] button").first().click();
    await ag.waitForURL(/done=moderated/);
    assert.match(await ag.locator("article .meta").innerText(), /Planned/);
    assert.match(await ag.locator(".hc-comments").innerText(), /Official answer/);
    await axe(ag, "hc-post-staff");
    await shot(ag, "hc-post-staff");
    await ag.goto(`${BASE}/hc/articles/new?section=${section.id}`);
    await ag.getByLabel("Title").fill(`Printers ${stamp}`);
    await ag.getByLabel("Body (HTML)").fill(`<p>Turn it off and on.</p>${hostile}`);
    await axe(ag, "hc-editor");
    await ag.getByRole("button", { name: "Save" }).click();
    await ag.waitForURL(/done=article_saved/);
    assert.equal(await ag.evaluate(() => window.__pwned), undefined, "hostile editor HTML ran");
    assert.match(await ag.locator(".hc-body").innerText(), /Turn it off and on\./);

    // Finnish: the interface and the Finnish content.
    const fiHc = await newContext(browser, { locale: "fi-FI" });
    const fip = await fiHc.newPage();
    await fip.goto(`${BASE}/hc`);
    assert.equal(await fip.locator("h1").innerText(), "Ohjekeskus");
    assert.match(await fip.locator("main").innerText(), new RegExp(`Salasanan vaihto ${stamp}`));
    await axe(fip, "hc-home-fi");
    await shot(fip, "hc-home-fi");
    await fip.goto(`${BASE}/hc/community`);
    assert.equal(await fip.locator("h1").innerText(), "Yhteisö");
    await axe(fip, "hc-community-fi");
    await fiHc.close();

    // --- The operator's pages: a wrong token refused, the right one opens the overview with
    // this tenant in this region, and a tenant is created in it (its admin's token shown once).
    const OPERATOR = process.env.SUOJA_OPERATOR_TOKEN;
    assert.ok(OPERATOR, "run.sh sets SUOJA_OPERATOR_TOKEN");
    const opCtx = await newContext(browser);
    const op = await opCtx.newPage();
    await op.goto(`${BASE}/operator`);
    assert.equal(await op.locator("h1").innerText(), "Operator sign-in");
    await axe(op, "operator-signin");
    await op.getByLabel("Operator token").fill("not the operator token, though long enough");
    await op.getByRole("button", { name: "Sign in" }).click();
    assert.match(await op.locator("#operator-error").innerText(), /not the operator token/);
    await op.getByLabel("Operator token").fill(OPERATOR);
    await op.getByRole("button", { name: "Sign in" }).click();
    await op.waitForURL(`${BASE}/operator`);
    assert.equal(await op.locator("h1").innerText(), "Tenants and regions");
    assert.match(await op.locator(`tr[data-subdomain="e2e-${ENGINE}"]`).innerText(), /this region/);
    await op.getByLabel("Subdomain").fill(`Op_${stamp}`);
    await op.getByLabel("Organisation").fill(`Operaattori ${stamp}`);
    await op.getByLabel("First admin's e-mail address").fill(`admin.${stamp}@operaattori.example`);
    await op.getByRole("button", { name: "Create the tenant" }).click();
    assert.match(await op.locator("#tenant-subdomain-error").innerText(), /lower-case letters/);
    await axe(op, "operator-home-error");
    await op.getByLabel("Subdomain").fill(`op-${stamp}`);
    await op.getByRole("button", { name: "Create the tenant" }).click();
    assert.equal(await op.locator("h1").innerText(), "Tenant created");
    assert.equal(await op.locator("#created-subdomain").innerText(), `op-${stamp}`);
    assert.ok((await op.locator("#created-token").innerText()).length >= 30);
    await axe(op, "operator-created");
    await op.getByRole("link", { name: "Back to the tenants" }).click();
    assert.match(await op.locator(`tr[data-subdomain="op-${stamp}"]`).innerText(), new RegExp(`Operaattori ${stamp}`));
    await axe(op, "operator-home");
    await shot(op, "operator-home");
    await opCtx.close();
    const opFi = await newContext(browser, { locale: "fi-FI" });
    const opf = await opFi.newPage();
    await opf.goto(`${BASE}/operator`);
    assert.equal(await opf.locator("h1").innerText(), "Ylläpitäjän kirjautuminen");
    await axe(opf, "operator-signin-fi");
    await opFi.close();

    assert.deepEqual(foreign, [], "the browser asked another site for something");
    assert.deepEqual(cspErrors, [], "the Content-Security-Policy blocked something");
    assert.deepEqual(pageErrors, [], "a page script failed");
    console.log(`browser flows on ${ENGINE}: all passed (person ${person.id}, ticket ${ticketId})`);
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
